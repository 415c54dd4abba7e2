"""Split text into the pieces the model sees, as character spans of the input (layout is never rebuilt).

Lines are split first (no sentence spans a newline), then sentences with BlingFire, then any piece longer
than the model should see is cut at word boundaries, preferring a break after punctuation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

MAX_WORDS = 64
MAX_CHARS = 400
_LINE = re.compile(r"[^\n\r\u2028\u2029\x0b\x0c\x1c-\x1e\x85]+")
_WORD = re.compile(r"\S+")


def _sentences(line: str) -> list[tuple[int, int]]:
    """Sentence spans that tile ``line``: BlingFire says where sentences end; nothing it skips is lost."""
    import blingfire

    try:
        _, offsets = blingfire.text_to_sentences_and_offsets(line)
    except Exception:  # BlingFire rejects some inputs; then the line is one piece
        offsets = []
    cuts = sorted({e for _, e in offsets if 0 < e < len(line)})
    return list(zip([0, *cuts], [*cuts, len(line)]))


def _chunks(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Cut ``text[start:end]`` into pieces of at most MAX_WORDS words and about MAX_CHARS characters."""
    spans = [(start + m.start(), start + m.end()) for m in _WORD.finditer(text[start:end])]
    while spans:
        n = 1
        while n < min(len(spans), MAX_WORDS) and spans[n][1] - spans[0][0] <= MAX_CHARS:
            n += 1
        if n < len(spans):  # prefer to end the piece on a word that ends in punctuation
            for k in range(n, max(n // 2, 1) - 1, -1):
                if text[spans[k - 1][1] - 1] in ",;:)]}—–-":
                    n = k
                    break
        yield spans[0][0], spans[n - 1][1]
        spans = spans[n:]


def split(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``, in order, none holding a newline; gaps are layout."""
    out = []
    for line in _LINE.finditer(text):
        base = line.start()
        for s, e in _sentences(line.group()):
            piece = text[base + s : base + e]
            stripped = piece.strip()
            if not stripped:
                continue
            s = base + s + (len(piece) - len(piece.lstrip()))
            out.extend(_chunks(text, s, s + len(stripped)))
    return out
