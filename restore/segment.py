"""Split text into the pieces the model sees, as character spans of the input (layout is never rebuilt).

Offsets are code points of the input. Text is split into paragraphs, then sentences with BlingFire, then any
piece longer than the model should see is cut at word boundaries.

- A sentence runs across single line breaks, so hard-wrapped text (PDF extractions, e-mail, plain-text
  archives) is read in whole sentences; the line breaks stay in the piece as they are (the tagger reads
  words only, and no edit changes a line break: ``restore.edits.KEPT``). A line break is ``\\n``, ``\\r\\n``
  (one break), ``\\r``, ``\\v`` (a word processor's manual line break), U+0085 or U+2028 LINE SEPARATOR.
- A paragraph ends at a blank line (a line break, then only spaces, tabs or other non-breaking whitespace,
  then another line break) and at a form feed (a page break: PDF extractions put headers and footers
  beside it), U+001C-U+001E (file, group, record separators) or U+2029 PARAGRAPH SEPARATOR. No piece
  spans a paragraph end, so a heading or list item on its own line after a blank one stays apart.
- A piece longer than MAX_WORDS words or about MAX_CHARS characters is cut after a word that ends in
  punctuation, else at a line break, else before a word no known spun phrase continues with
  (``_OPENERS``), else at the limit.

A text of one piece of at most TERM_WORDS words is a *term alone* (a keyword, an entry of a list of suspect
phrases): it has no context for the n-grams to read, so its own look restores it and its own threshold flags it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from restore.edits import BREAKS, standin, words

MAX_WORDS = 64
TERM_WORDS = 4  # a text of one sentence of at most this many words (with a letter) is a term alone
MAX_CHARS = 400
_BREAK = r"(?:\r\n|\r(?!\n)|[\n\x0b\x85\u2028])"  # a line break; \r\n is one
_BLANK = r"[^\S\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]*"  # whitespace that breaks no line
_PARAGRAPH_END = re.compile(rf"{_BREAK}{_BLANK}{_BREAK}|[\x0c\x1c-\x1e\u2029]")
_AS_SPACE = str.maketrans("\n\r\x0b\x85\u2028", "     ")  # what BlingFire reads for a line break
_WORD = re.compile(r"\S+")
# Pronouns, conjunctions and auxiliaries that, in the shipped phrase table (29,512 spun n-grams, 9,638 of several
# words), never stand past an n-gram's first word: a cut just before one splits no known spun phrase.
_OPENERS = frozenset(
    "which who whom whose when where while because although whether unless since until "
    "he she we they i his her their our its my were are has would could might must".split()
)


def _sentences(paragraph: str) -> list[tuple[int, int]]:
    """Sentence spans that tile ``paragraph``: BlingFire says where sentences end; nothing it skips is lost.
    It reads each line break as a space and each lone surrogate as U+FFFD (same length: offsets hold)."""
    import blingfire

    try:
        _, offsets = blingfire.text_to_sentences_and_offsets(standin(paragraph.translate(_AS_SPACE)))
    except Exception:  # BlingFire rejects some inputs; then the paragraph is one piece
        offsets = []
    cuts = sorted({e for _, e in offsets if 0 < e < len(paragraph)})
    return list(zip([0, *cuts], [*cuts, len(paragraph)]))


def _cut(text: str, spans: list[tuple[int, int]], n: int) -> int:
    """How many of the words ``spans`` (more than ``n``) to put in a piece of at most ``n`` words."""
    back = range(n, max(n // 2, 1) - 1, -1)  # never less than half the most a piece may hold
    for k in back:  # after a word that ends in punctuation
        if text[spans[k - 1][1] - 1] in ",;:)]}—–-":
            return k
    for k in back:  # at a line break: no edit crosses one anyway
        if BREAKS.search(text[spans[k - 1][1] : spans[k][0]]):
            return k
    for k in back:  # before a word no spun phrase continues with
        if text[spans[k][0] : spans[k][1]].lower() in _OPENERS:
            return k
    return n


def _chunks(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Cut ``text[start:end]`` into pieces of at most MAX_WORDS words and about MAX_CHARS characters."""
    spans = [(start + m.start(), start + m.end()) for m in _WORD.finditer(text[start:end])]
    while spans:
        n = 1
        while n < min(len(spans), MAX_WORDS) and spans[n][1] - spans[0][0] <= MAX_CHARS:
            n += 1
        if n < len(spans):
            n = _cut(text, spans, n)
        yield spans[0][0], spans[n - 1][1]
        spans = spans[n:]


def split(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``, in order; a sentence may hold single line breaks, never
    a paragraph end; the gaps between spans are layout."""
    out = []
    bounds = [0, *(b for m in _PARAGRAPH_END.finditer(text) for b in m.span()), len(text)]
    for base, stop in zip(bounds[::2], bounds[1::2]):
        paragraph = text[base:stop]
        for s, e in _sentences(paragraph):
            piece = paragraph[s:e]
            stripped = piece.strip()
            if not stripped:
                continue
            s = base + s + (len(piece) - len(piece.lstrip()))
            out.extend(_chunks(text, s, s + len(stripped)))
    return out


def term_alone(sentences: Sequence[str]) -> bool:
    """Is a text of these sentences (``split``'s pieces) a term alone: one of at most TERM_WORDS words with a letter?"""
    if len(sentences) != 1:
        return False
    (text,) = sentences
    return sum(any(c.isalpha() for c in text[a:b]) for a, b in words(text)) <= TERM_WORDS


def is_term_alone(text: str) -> bool:
    """Is ``text`` a term alone (``term_alone`` of its pieces)?"""
    return term_alone([text[s:e] for s, e in split(text)])


def pieces(texts: Sequence[str]) -> tuple[list[tuple[int, int, int]], list[str], list[bool]]:
    """Every piece (``split``) of ``texts``: (text index, start, end) of each, in order; its text; and which of the
    texts are terms alone (``term_alone``)."""
    located = [(t, s, e) for t, text in enumerate(texts) for s, e in split(text)]
    sentences = [texts[t][s:e] for t, s, e in located]
    per_text: list[list[str]] = [[] for _ in texts]
    for (t, _, _), sentence in zip(located, sentences):
        per_text[t].append(sentence)
    return located, sentences, [term_alone(p) for p in per_text]
