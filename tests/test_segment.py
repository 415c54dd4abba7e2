from hypothesis import given
from hypothesis import strategies as st

from restore.segment import MAX_WORDS, split


def test_sentences_are_spans_of_the_input():
    text = "Mr. Smith went to Washington D.C. on Jan. 5. He said: “It’s fine.”\n\n  Next — para…\tend!"
    spans = split(text)
    assert [text[s:e] for s, e in spans] == [
        "Mr. Smith went to Washington D.C. on Jan. 5.", "He said: “It’s fine.”", "Next — para…\tend!",
    ]  # fmt: skip


def test_long_unpunctuated_text_is_cut_into_pieces_and_nothing_is_lost():
    text = " ".join(f"word{i}" for i in range(2000))
    spans = split(text)
    assert all(len(text[s:e].split()) <= MAX_WORDS for s, e in spans)
    assert " ".join(text[s:e] for s, e in spans) == text


@given(st.text())
def test_spans_are_ordered_cover_every_word_and_hold_no_newline(text):
    spans = split(text)
    assert all(0 <= s < e <= len(text) for s, e in spans)
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(spans, spans[1:]))
    assert all("\n" not in text[s:e] for s, e in spans)
    covered = "".join(text[s:e] for s, e in spans)
    assert "".join(covered.split()) == "".join(text.split())
