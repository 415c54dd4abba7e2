"""Edits: what the model emits instead of a whole sentence, so that leaving text alone costs nothing.

A sentence's target is a list of ``spun span <to> original span`` joined by `` <sep> ``; an empty target
means "no change". Spans are whole words, listed left to right, each the first match after the previous
one (``diff`` widens a span leftwards until that holds), so applying edits is exact and never touches
the characters between them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

TO, SEP = "<to>", "<sep>"
_BREAKS = re.compile(r"[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_WORD = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` (which reads ``before``) by ``after``; offsets are in characters."""

    start: int
    end: int
    before: str
    after: str
    score: float = 1.0


def words(text: str) -> list[tuple[int, int]]:
    """Character spans of the words and punctuation marks of ``text``."""
    return [m.span() for m in _WORD.finditer(text)]


def _find(text: str, span: str, cursor: int, bounds: set[int]) -> int:
    """First start >= cursor where ``span`` occurs as whole words (both ends on word boundaries)."""
    i = text.find(span, cursor)
    while i != -1 and not (i in bounds and i + len(span) in bounds):
        i = text.find(span, i + 1)
    return i


def _bounds(text: str) -> set[int]:
    return {b for s, e in words(text) for b in (s, e)}


def diff(source: str, target: str) -> list[Edit]:
    """Word-level edits that turn ``source`` into ``target``, each locatable by ``parse``."""
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


def serialize(edits: list[Edit]) -> str:
    """The model's target string for these edits."""
    return f" {SEP} ".join(f"{e.before} {TO} {e.after}" for e in edits)


def parse(text: str, segments: list[str], scores: list[float] | None = None) -> list[Edit]:
    """Locate in ``text`` the edits a model wrote (one ``before <to> after`` per segment); edits that
    cannot be located, or change nothing, are dropped."""
    bounds, edits, cursor = _bounds(text), [], 0
    for k, item in enumerate(segments):
        before, sep, after = item.partition(TO)
        before, after = before.strip(), after.strip()
        if not sep or not before or before == after or _BREAKS.search(after):
            continue  # malformed, a no-op, or it would break a line: layout is never the model's to change
        i = _find(text, before, cursor, bounds)
        if i == -1:
            continue
        edits.append(Edit(i, i + len(before), before, after, scores[k] if scores else 1.0))
        cursor = i + len(before)
    return edits


def apply(text: str, edits: list[Edit]) -> str:
    """``text`` with non-overlapping, ordered edits applied; everything between them is kept byte for byte."""
    out, cursor = [], 0
    for e in edits:
        out += [text[cursor : e.start], e.after]
        cursor = e.end
    out.append(text[cursor:])
    return "".join(out)
