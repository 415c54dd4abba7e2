from hypothesis import given
from hypothesis import strategies as st

from restore.edits import Edit, apply, diff


def test_diff_finds_only_the_changed_words():
    edits = diff("Washington's best diplomat started a talk over with to Kazakhstan.",
                 "Washington's top diplomat began a visit to Kazakhstan.")  # fmt: skip
    assert [(e.before, e.after) for e in edits] == [("best", "top"), ("started", "began"), ("talk over with", "visit")]


def test_diff_spans_are_character_offsets_of_the_source():
    source = "Ünï 😀 best of times"
    (e,) = diff(source, "Ünï 😀 top of times")
    assert (e.start, e.end, source[e.start : e.end]) == (6, 10, "best")


def test_apply_keeps_every_other_byte():
    text = "  “best”\t—  best\n\n"
    assert apply(text, [Edit(3, 7, "best", "top"), Edit(12, 16, "best", "top")]) == "  “top”\t—  top\n\n"


words = st.lists(
    st.sampled_from("the a cat dog sat on mat best top year 12 months , . by means of".split()), max_size=12
)


@given(words, words)
def test_applying_the_diff_gives_the_target(a, b):
    source, target = " ".join(a), " ".join(b)
    if source.strip() and target.strip():
        assert apply(source, diff(source, target)) == target
