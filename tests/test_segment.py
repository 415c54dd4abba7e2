import re

from hypothesis import example, given
from hypothesis import strategies as st

from restore.segment import MAX_CHARS, MAX_WORDS, split


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


def test_a_sentence_runs_across_single_line_breaks_and_a_blank_line_ends_a_paragraph():
    text = (
        "Washington's best\ndiplomat said no\r\nnation can forget. He left.\n \t\nA heading\n\n\nNext\u2028line,"
        " page\x0cbreak\u2029end"
    )
    assert [text[s:e] for s, e in split(text)] == [
        "Washington's best\ndiplomat said no\r\nnation can forget.", "He left.", "A heading", "Next\u2028line, page",
        "break", "end",
    ]  # fmt: skip
    crlf = "one\r\ntwo\r\rthree"
    assert [crlf[s:e] for s, e in split(crlf)] == ["one\r\ntwo", "three"]


def test_a_spun_phrase_at_the_piece_limit_is_not_cut():
    words = [f"w{i}" for i in range(MAX_WORDS + 20)]
    words[MAX_WORDS - 1 : MAX_WORDS + 1] = ["12", "months"]  # the 64th and 65th words: the limit falls between
    words[50] = "they"  # a clause opener: never inside a spun n-gram
    text = " ".join(words)
    pieces = [text[s:e] for s, e in split(text)]
    assert len(pieces) == 2 and any(" 12 months " in f" {p} " for p in pieces)
    assert " ".join(pieces) == text


def test_long_wrapped_text_is_cut_at_line_breaks_within_the_bounds():
    text = "\n".join(" ".join(f"w{i}x{j}" for j in range(9)) for i in range(40))  # no punctuation at all
    spans = split(text)
    assert len(spans) > 1 and all(len(text[s:e].split()) <= MAX_WORDS and e - s <= MAX_CHARS for s, e in spans)
    assert all(text[e] == "\n" for _, e in spans[:-1])  # each piece ends at the end of a line
    assert "\n".join(text[s:e] for s, e in spans) == text


@given(st.text())
@example("0\r\n0")  # one sentence across a CRLF line break
def test_spans_are_ordered_cover_every_word_and_hold_no_paragraph_end(text):
    spans = split(text)
    assert all(0 <= s < e <= len(text) for s, e in spans)
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(spans, spans[1:]))
    assert all(not PARAGRAPH_END.search(text[s:e]) for s, e in spans)
    assert all(
        len(text[s:e].split()) <= MAX_WORDS and (e - s <= MAX_CHARS or len(text[s:e].split()) == 1) for s, e in spans
    )
    covered = "".join(text[s:e] for s, e in spans)
    assert "".join(covered.split()) == "".join(text.split())


BREAK = r"(\r\n|\r(?!\n)|[\n\x0b\x85\u2028])"  # "\r\n" is one line break, so "0\r\n0" holds no paragraph end
PARAGRAPH_END = re.compile(rf"{BREAK}[ \t\u00a0]*{BREAK}|[\x0c\x1c-\x1e\u2029]")
