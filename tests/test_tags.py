from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from restore.edits import apply, diff
from restore.tags import DELETE, FIRST_PHRASE, IGNORE, KEEP, decode, encode, labels, phrase_key

PHRASES = ["top", "began", "visit", "year", "ago", "the", "was"]
INDEX = {p: i for i, p in enumerate(PHRASES)}


def restored(spun: str, original: str) -> str:
    tags = labels(spun, original, INDEX)
    return apply(spun, decode(spun, tags, [1.0] * len(tags), PHRASES))


def test_tags_of_a_spun_sentence_restore_it():
    spun = "Washington's best diplomat started a talk over with to Kazakhstan."
    original = "Washington's top diplomat began a visit to Kazakhstan."
    tags = labels(spun, original, INDEX)
    assert tags[:4] == [KEEP, FIRST_PHRASE + INDEX["top"], KEEP, FIRST_PHRASE + INDEX["began"]]
    assert tags[4:] == [KEEP, FIRST_PHRASE + INDEX["visit"], DELETE, DELETE, KEEP, KEEP, KEEP]
    assert restored(spun, original) == original


def test_deletions_take_one_space_with_them():
    assert restored("threats posed by means of Russia", "threats posed by Russia") == "threats posed by Russia"
    assert restored("Business the firm said", "the firm said") == "the firm said"
    assert restored("he is (once again right)", "he is (again right)") == "he is (again right)"


def test_a_phrase_replacing_a_capitalised_word_is_capitalised():
    assert phrase_key("Best", "Top") == "top" and phrase_key("best", "US") == "US"
    assert restored("Best diplomat", "Top diplomat") == "Top diplomat"


def test_a_change_the_vocabulary_cannot_express_teaches_nothing():
    assert labels("a fine day", "a grand day", INDEX) == [KEEP, IGNORE, KEEP]


def test_weakest_tag_is_the_edit_score_and_line_breaks_are_never_crossed():
    text = "started a talk over with to"
    (edit,) = decode(text, [KEEP, KEEP, FIRST_PHRASE + 2, DELETE, DELETE, KEEP], [1, 1, 0.9, 0.6, 0.8, 1], PHRASES)
    assert (edit.before, edit.after, edit.score) == ("talk over with", "visit", 0.6)
    assert decode("a talk\nover", [KEEP, FIRST_PHRASE + 2, DELETE], [1.0] * 3, PHRASES) == []


words = st.lists(
    st.sampled_from("the a cat sat on mat best top year 12 months , . by means of was".split()), max_size=10
)
SPUN_FORMS = {"top": ["best", "finest"], "year": ["12 months"], "began": ["started"], "visit": ["talk over with"]}
SPUN_IN = ["by means of", "really", "once"]  # words a spinner adds that the original lacks


@st.composite
def spun_pairs(draw) -> tuple[str, str]:
    """(spun, original): an original from the vocabulary's words, spun by swapping and adding words."""
    original = draw(
        st.lists(st.sampled_from([*SPUN_FORMS, "the", "cat", "sat", "ago", "was", ",", "."]), min_size=1, max_size=10)
    )
    spun = []
    for word in original:
        how = draw(st.sampled_from(["keep", "swap", "add"]))
        if how == "swap" and word in SPUN_FORMS:
            spun.append(draw(st.sampled_from(SPUN_FORMS[word])))
        else:
            spun += [word, draw(st.sampled_from(SPUN_IN))] if how == "add" else [word]
    return " ".join(spun), " ".join(original)


def test_any_pair_expressible_in_the_vocabulary_round_trips():
    seen = Counter()

    any_pair = st.tuples(words.map(" ".join), words.map(" ".join))

    @given(st.one_of(spun_pairs(), spun_pairs(), spun_pairs(), any_pair))  # 3 in 4 draws a spun original
    @settings(deadline=None)  # round trips, not timing: a draw slowed by a busy machine is not a failure
    def check(pair):
        spun, original = pair
        seen["draws"] += 1
        if not spun.strip() or not original.strip():
            return
        tags = labels(spun, original, INDEX)
        expressible = all(
            phrase_key(e.before, e.after) in INDEX or e.before.startswith(e.after) for e in diff(spun, original)
        )
        if IGNORE not in tags and expressible:
            assert restored(spun, original) == original
            seen["round trips"] += 1
            seen["with a change"] += spun != original

    check()
    assert seen["with a change"] >= seen["draws"] // 4, seen


def test_a_lone_surrogate_reaches_the_tokenizer_as_a_replacement_character(tiny_model):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(tiny_model / "spiece.model"))
    assert encode(sp, ["abc \ud800 best\udfff"], 256) == encode(sp, ["abc \ufffd best\ufffd"], 256)
