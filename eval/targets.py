"""What counts as a right edit: the training target of a candidate and what ``restore-bench --ceiling`` makes."""

from __future__ import annotations

from collections.abc import Sequence

from restore.edits import Edit, apply, words


def distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Word-level Levenshtein distance."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def gain(spun: str, gold: Sequence[Edit], edit: Edit) -> int:
    """How many words closer to the original (``gold``: its edits, as ``diff`` finds them) ``edit`` brings
    ``spun`` in the region it shares with the gold edits it overlaps (0 when it overlaps none)."""
    near = [g for g in gold if g.start < edit.end and edit.start < g.end]
    if not near:
        return 0
    start, end = min(edit.start, near[0].start), max(edit.end, near[-1].end)
    region = spun[start:end]

    def tokens(edits: Sequence[Edit]) -> list[str]:
        text = apply(region, [Edit(e.start - start, e.end - start, e.before, e.after) for e in edits])
        return [text[s:e] for s, e in words(text)]

    target = tokens(near)
    return distance(tokens([]), target) - distance(tokens([edit]), target)


def helps(spun: str, gold: Sequence[Edit], edit: Edit) -> bool:
    """Does ``edit`` bring ``spun`` closer to the original? The training target of a candidate: "arm" ->
    "gun" is right inside the gold edit "arm jurisprudence" -> "gun laws"."""
    return gain(spun, gold, edit) > 0
