import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from restore.edits import Edit, apply, diff, standin, words


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


word_lists = st.lists(
    st.sampled_from("the a cat dog sat on mat best top year 12 months , . by means of".split()), max_size=12
)


@given(word_lists, word_lists)
def test_applying_the_diff_gives_the_target(a, b):
    source, target = " ".join(a), " ".join(b)
    if source.strip() and target.strip():
        assert apply(source, diff(source, target)) == target


def test_a_word_keeps_its_combining_marks():
    text = unicodedata.normalize("NFD", "Le café était très bon ❤️")
    assert [text[s:e] for s, e in words(text)] == text.split()
    (edit,) = diff(text, unicodedata.normalize("NFD", "Le thé était très bon ❤️"))
    assert (edit.before, edit.after) == (unicodedata.normalize("NFD", "café"), unicodedata.normalize("NFD", "thé"))


@given(
    st.text(st.sampled_from(["a", "é", "\u0301", "\u0308", "\u093f", "\ufe0f", " ", "-", "'", ".", "😀"])) | st.text()
)
def test_no_word_ends_between_a_character_and_its_combining_marks(text):
    for _, e in words(text):
        assert not unicodedata.category(text[e : e + 1] or "x").startswith("M")


def test_a_stand_in_for_lone_surrogates_keeps_every_offset():
    assert standin("a\ud800b\udfff 😀") == "a\ufffdb\ufffd 😀"
