"""Tags: one label per word of a sentence, so the model classifies instead of writing (LaserTagger style).

Each word of the spun sentence gets ``KEEP``, ``DELETE``, or ``REPLACE by phrase k`` (label ``2 + k``) from
a phrase vocabulary learned from training pairs. A replacement starts a span; the ``DELETE`` words right
after it belong to the same span. Copying is the default label, so leaving text alone costs nothing, and
decoding is one encoder pass: no autoregressive loop.

A phrase that replaces a capitalised word is stored with its first letter lowercased and capitalised
again on use, so "The"/"the" share one label.
"""

from __future__ import annotations

from collections.abc import Sequence

from restore.case import fold, recase
from restore.edits import KEPT, Edit, diff, standin, words

KEEP, DELETE, FIRST_PHRASE = 0, 1, 2
IGNORE = -100  # a word whose change the vocabulary cannot express: no training signal either way


def phrase_key(before: str, after: str) -> str:
    """The vocabulary form of ``after`` replacing ``before`` (sentence-initial case folded: ``restore.case``)."""
    return fold(before, after)[1]


def labels(spun: str, original: str, index: dict[str, int]) -> list[int]:
    """The label of each word of ``spun`` (``words(spun)``) that turns it into ``original``."""
    spans = words(spun)
    first = {s: i for i, (s, _) in enumerate(spans)}
    last = {e: i for i, (_, e) in enumerate(spans)}
    out = [KEEP] * len(spans)
    for edit in diff(spun, original):
        i, j = first[edit.start], last[edit.end] + 1
        before = [spun[s:e] for s, e in spans[i:j]]
        after = [edit.after[s:e] for s, e in words(edit.after)]
        if after and before[: len(after)] == after:  # a deletion widened to its left neighbour
            out[i : i + len(after)] = [KEEP] * len(after)
            out[i + len(after) : j] = [DELETE] * (j - i - len(after))
            continue
        if after and before[-len(after) :] == after:  # ... or to its right neighbour
            out[i : j - len(after)] = [DELETE] * (j - i - len(after))
            continue
        k = index.get(phrase_key(edit.before, edit.after))
        out[i:j] = [IGNORE] * (j - i) if k is None else [FIRST_PHRASE + k] + [DELETE] * (j - i - 1)
    return out


def decode(
    text: str, tags: Sequence[int], scores: Sequence[float], phrases: Sequence[str], min_confidence: float = 0.0
) -> list[Edit]:
    """Edits for ``text`` from one tag and its probability per word; a tag less likely than
    ``min_confidence`` counts as KEEP, and an edit's score is its weakest tag.

    A run of deletions takes the space before it with it (or the one after it, when none precedes it or
    the one before holds a line break); an edit whose span would change a line break or a lone surrogate
    (``restore.edits.KEPT``) is dropped."""
    spans = words(text)
    tags = [KEEP if p < min_confidence else t for t, p in zip(tags, scores)]
    edits, i, n = [], 0, min(len(spans), len(tags))
    while i < n:
        tag = tags[i]
        if tag == KEEP:
            i += 1
            continue
        j = i + 1
        while j < n and tags[j] == DELETE:
            j += 1
        score = min(scores[i:j])
        if tag == DELETE:
            gap = text[spans[i - 1][1] : spans[i][0]] if i > 0 else ""
            if gap and not KEPT.search(gap):  # take the space before the run
                start, end = spans[i - 1][1], spans[j - 1][1]
            else:  # first word, glued to the one before (an opening bracket), or after a line break: the space after
                start, end = spans[i][0], spans[j][0] if j < len(spans) else spans[j - 1][1]
            after = ""
        else:
            start, end = spans[i][0], spans[j - 1][1]
            after = recase(text[start:end], phrases[tag - FIRST_PHRASE])
        before = text[start:end]
        if before != after and not KEPT.search(before):
            edits.append(Edit(start, end, before, after, score))
        i = j
    return edits


def encode(sp, sentences: Sequence[str], max_tokens: int) -> list[tuple[list[int], list[int]]]:
    """(token ids ending in EOS, index of each word's first token) per sentence; words past
    ``max_tokens`` get no index (they are kept). A lone surrogate is read as U+FFFD."""
    spans = [words(sentence) for sentence in sentences]
    texts = [standin(sentence) for sentence in sentences]  # SentencePiece takes no lone surrogate
    flat = sp.encode([text[s:e] for text, ws in zip(texts, spans) for s, e in ws])  # one call
    out, k = [], 0
    for ws in spans:
        pieces, k = flat[k : k + len(ws)], k + len(ws)
        ids, firsts = [], []
        for p in pieces:
            if len(ids) + len(p) >= max_tokens:
                break
            firsts.append(len(ids))
            ids += p
        out.append((ids + [1], firsts))
    return out
