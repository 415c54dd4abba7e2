from hypothesis import given
from hypothesis import strategies as st

from restore.edits import Edit, apply, diff, parse, serialize


def roundtrip(source: str, target: str) -> str:
    return apply(source, parse(source, serialize(diff(source, target)).split("<sep>")))


def test_diff_writes_only_the_changed_words():
    edits = diff("Washington's best diplomat started a talk over with to Kazakhstan.",
                 "Washington's top diplomat began a visit to Kazakhstan.")  # fmt: skip
    assert [(e.before, e.after) for e in edits] == [("best", "top"), ("started", "began"), ("talk over with", "visit")]


def test_repeated_word_is_widened_until_it_is_the_first_match():
    source, target = "the cat sat on the cat mat", "the cat sat on the dog mat"
    assert serialize(diff(source, target)) == "on the cat <to> on the dog"
    assert roundtrip(source, target) == target


def test_deletions_and_insertions_keep_spacing():
    assert roundtrip("a 12 months in the past", "a year ago") == "a year ago"
    assert roundtrip("threats posed by means of Russia", "threats posed by Russia") == "threats posed by Russia"
    assert roundtrip("He said", "He said it") == "He said it"


def test_parse_drops_what_it_cannot_locate():
    text = "The best diplomat."
    edits = parse(text, ["worst <to> top", "best <to> top", "no arrow here", "diplomat <to> diplomat"])
    assert edits == [Edit(4, 8, "best", "top")]


def test_parse_refuses_edits_that_would_break_a_line():
    assert parse("The best diplomat.", ["best <to> top\n\nsecret", "diplomat <to> envoy\u2028today"]) == []


def test_parse_matches_whole_words_only():
    assert parse("bestow the best", ["best <to> top"]) == [Edit(11, 15, "best", "top")]


def test_apply_keeps_every_other_byte():
    text = "  “best”\t—  best\n\n"
    assert apply(text, parse(text, ["best <to> top", "best <to> top"])) == "  “top”\t—  top\n\n"


words = st.lists(
    st.sampled_from("the a cat dog sat on mat best top year 12 months , . by means of".split()), max_size=12
)


@given(words, words)
def test_any_pair_round_trips(a, b):
    source, target = " ".join(a), " ".join(b)
    if source.strip() and target.strip():
        assert roundtrip(source, target) == target
