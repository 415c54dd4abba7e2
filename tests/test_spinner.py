import pytest

from restore.lexicon import load_lexicon, merge
from restore.spinner import Spinner

LEXICON = {
    "top": {"ADJ": ["best"]},
    "begin": {"VERB": ["start"]},
    "visit": {"NOUN": ["talk over with"], "VERB": ["call on"]},
    "condemn": {"VERB": ["sentence"]},
    "support": {"NOUN": ["strengthen"]},
    "economic": {"ADJ": ["financial"]},
    "country": {"NOUN": ["nation"]},
    "diplomat": {"NOUN": ["envoy"]},
    "kazakhstan": {"NOUN": ["steppe"]},
    "said": {"VERB": ["stated"]},
    "in the past": {"ADV": ["formerly"]},
}
SENTENCE = "Washington's top diplomat began a visit to Kazakhstan, where countries condemn the invasion."


@pytest.fixture(scope="module")
def spinner():
    return Spinner(LEXICON, rate=1.0, pos_blind=0.0, seed=1)


def test_swaps_words_and_inflects_the_replacement(spinner):
    out = spinner.spin(SENTENCE)
    assert "best envoy started" in out  # "begin" -> "start", put in the past tense like "began"
    assert "nations" in out  # plural kept
    assert "sentence the invasion" in out


def test_names_and_numbers_and_quotes_are_left_alone(spinner):
    out = spinner.spin("Kazakhstan's diplomat said “the top diplomat began it” on 25 March 2023.")
    assert out.startswith("Kazakhstan's envoy")
    assert "“the top diplomat began it”" in out and "25 March 2023" in out


def test_periphrases_and_number_words():
    spinner = Spinner({}, rate=1.0, seed=0)
    out = spinner.spin("He was hit by three cars because of the rain.")
    assert "three" not in out and "3" in out
    assert "by means of" in out or "by way of" in out


def test_multi_word_entries_are_replaced_whole(spinner):
    assert "formerly" in spinner.spin("It happened in the past and again today.")


def test_rate_zero_changes_nothing_and_seeds_reproduce():
    assert Spinner(LEXICON, rate=0.0).spin(SENTENCE) == SENTENCE
    a, b = Spinner(LEXICON, rate=0.5, seed=3), Spinner(LEXICON, rate=0.5, seed=3)
    assert a.spin_many([SENTENCE, "The top diplomat."]) == b.spin_many([SENTENCE, "The top diplomat."])
    assert a.spin(SENTENCE) == a.spin_many(["other text first", SENTENCE])[1]  # independent of the batch


def test_casing_of_the_first_word_is_kept(spinner):
    assert spinner.spin("Top diplomats said so.").startswith("Best envoys stated")


def test_families_are_chosen_by_name(tmp_path):
    import lzma

    with lzma.open(tmp_path / "moby.tsv.xz", "wt") as f:
        f.write("# headword\tsynonyms\ntop\tbest|peak|summit\n")
    assert load_lexicon("moby", tmp_path) == {"top": {"*": ["best", "peak", "summit"]}}
    with pytest.raises(ValueError, match="unknown lexicon family 'thesaurus.com'"):
        load_lexicon("thesaurus.com", tmp_path)
    assert merge({"a": {"*": ["b"]}}, {"a": {"*": ["b", "c"]}}) == {"a": {"*": ["b", "c"]}}
