"""Edits: character spans of a text and what replaces them, so that leaving text alone costs nothing.

``diff`` finds the word-level edits between a spun sentence and its original (training labels and the
benchmark's edit precision/recall come from it); ``apply`` makes edits and never touches the characters
between them.

A word keeps its combining marks (Unicode category M: accents of decomposed text, vowel signs, variation
selectors), so no edit starts or ends between a letter and its accent. No edit the restorer makes changes a
line break or a lone surrogate (``KEPT``): ``restore.tags.decode`` drops such edits and
``restore.phrases.PhraseTable.lookup`` knows no n-gram holding one.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

BREAKS = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")  # \r\n is one line break
SURROGATES = re.compile(r"[\ud800-\udfff]")  # a str can hold them; UTF-8 and the tokenizers cannot
KEPT = re.compile(f"{BREAKS.pattern}|{SURROGATES.pattern}")  # what no edit may change


def _mark_ranges() -> str:
    """The code points of Unicode category M as regex class ranges (all lie below U+20000 or in U+E0100-E01EF)."""
    marks = [c for c in [*range(0x20000), *range(0xE0100, 0xE01F0)] if unicodedata.category(chr(c))[0] == "M"]
    runs = [[marks[0], marks[0]]]
    for c in marks[1:]:
        if c == runs[-1][1] + 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in runs)


_MARKS = _mark_ranges()
_WORD = re.compile(rf"[\w{_MARKS}]+(?:[-'’.][\w{_MARKS}]+)*|[^\w\s][{_MARKS}]*")


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` (which reads ``before``) by ``after``; offsets are in characters."""

    start: int
    end: int
    before: str
    after: str
    score: float = 1.0


@lru_cache(maxsize=1024)  # every step asks for a sentence's words (a chunk is 256): found once, shared, immutable
def words(text: str) -> tuple[tuple[int, int], ...]:
    """Character spans of the words and punctuation marks of ``text``, each with its combining marks."""
    return tuple(m.span() for m in _WORD.finditer(text))


def _find(text: str, span: str, cursor: int, bounds: set[int]) -> int:
    """First start >= cursor where ``span`` occurs as whole words (both ends on word boundaries)."""
    i = text.find(span, cursor)
    while i != -1 and not (i in bounds and i + len(span) in bounds):
        i = text.find(span, i + 1)
    return i


def _bounds(text: str) -> set[int]:
    return {b for s, e in words(text) for b in (s, e)}


def diff(source: str, target: str) -> list[Edit]:
    """Word-level edits that turn ``source`` into ``target``, whole words each, left to right."""
    sw, tw = words(source), words(target)
    matcher = difflib.SequenceMatcher(None, [source[s:e] for s, e in sw], [target[s:e] for s, e in tw], autojunk=False)
    bounds = _bounds(source)
    spans: list[list[int]] = []  # [i1, i2, j1, j2] word ranges, source then target
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i1 == i2 or j1 == j2:  # insertion or deletion: take in a neighbouring word so no span is empty
            if i1 > 0:
                i1, j1 = i1 - 1, j1 - 1
            else:
                i2, j2 = i2 + 1, j2 + 1
        cursor = sw[spans[-1][1] - 1][1] if spans else 0
        while i1 > 0 and _find(source, source[sw[i1][0] : sw[i2 - 1][1]], cursor, bounds) != sw[i1][0]:
            i1, j1 = i1 - 1, j1 - 1  # widen left until the first match after the cursor is this one
        if spans and i1 < spans[-1][1]:  # widening (or anchoring) reached the previous edit: merge
            i1, j1 = spans.pop()[0::2]
        spans.append([i1, i2, j1, j2])
    return [
        Edit(sw[i1][0], sw[i2 - 1][1], source[sw[i1][0] : sw[i2 - 1][1]], target[tw[j1][0] : tw[j2 - 1][1]])
        for i1, i2, j1, j2 in spans
    ]


def standin(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD: same length, so offsets still hold, and encodable."""
    return SURROGATES.sub("\ufffd", text)


def apply(text: str, edits: list[Edit]) -> str:
    """``text`` with non-overlapping, ordered edits applied; everything between them is kept byte for byte."""
    out, cursor = [], 0
    for e in edits:
        out += [text[cursor : e.start], e.after]
        cursor = e.end
    out.append(text[cursor:])
    return "".join(out)
