"""Deciding the edits: candidates from the phrase table and the tagger, scored by a logistic model.

For every word, the longest spun n-gram the table knows starting there proposes its commonest
originals, and the tagger proposes its own replacement. Each candidate gets a few features (how often
the n-gram was an edit in training, how sure the tagger is the word should change, whether the clean
text n-gram model prefers the replacement between its neighbours, how spun the rest of the sentence
looks, ...) and a probability from a logistic model fitted on dev pairs and their clean originals, with
``helps`` as the target. Candidates at least ``min_confidence`` likely are applied, best first, never
overlapping: everything else is left alone. The first look decides twice: the edits its first pass makes are
the context its second pass reads each candidate's neighbours in (``reread``), as a spun neighbour misleads the
n-grams. The optional ``SecondLook`` rescores the candidates the first look finds at least SECOND_LOOK_FLOOR
likely with a language model's reading of their context, also with the first look's other edits made.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from restore.edits import Edit, apply, words
from restore.engine import Tags
from restore.phrases import MAX_N, NgramLM, PhraseTable
from restore.tags import decode

if TYPE_CHECKING:
    from restore.lm import ContextLM

FEATURES = (
    "context_gain",  # bigram log-probability with the replacement minus with the spun words
    "left_gain",  # ... of the bigram with the left neighbour only
    "right_gain",  # ... with the right neighbour only
    "rarity_gain",  # mean unigram log-frequency of the replacement minus of the spun words
    "log_edit_rate",  # log share of the n-gram's occurrences in spun training text that were this edit
    "log_change_prob",  # log (1 - the tagger's probability of keeping the first word)
    "log_keep_prob",
    "log_count",  # log times the table saw this edit (0 for the tagger's own proposals)
    "words",  # n-gram length
    "from_tagger",  # the tagger proposed exactly this replacement ...
    "tagger_prob",  # ... with this probability
    "log_density",  # log of how spun the rest of the sentence looks: the mean over its other words of the
    # tagger's P(change) or the table's swap rate there, whichever is higher (clean text has few such words)
    "trigram_gain",  # trigram log-probability of the replacement and the two words after it, given the two
    # before, minus the same for the spun words (on dev: +1 BLEU at the same clean damage over the bigrams alone)
)
CONTEXT_FEATURES = ("context_gain", "left_gain", "right_gain", "trigram_gain")  # read again by ``reread``
SECOND_LOOK_FEATURES = (
    "logit",  # the first look's log-odds
    "lm_gain",  # language model log-probability of the window with the replacement minus as it reads
    "lm_gain_vs_best",  # ... minus the best gain of any candidate starting at the same word (0 for the best)
)
SECOND_LOOK_FLOOR = 0.05  # candidates the first look finds less likely are not rescored (on dev: 1 of 2,500
# applied edits came from below it, and it halves the language model's work against 0.02)
TAGGER_FLOOR = 0.2  # the tagger's own proposals below this are not candidates
MIN_EDIT_RATE = 0.003  # table n-grams swapped less often than this are not candidates: on dev they were
# 60% of all candidates and 1 of 3,900 applied edits, so skipping them makes deciding ~2x faster


@dataclass
class SecondLook:
    """A language model's verdict on the likeliest candidates, and the weights that combine it with the first."""

    lm: ContextLM
    weights: Sequence[float]
    bias: float

    def rescore(
        self, sentences: Sequence[str], candidates: list[list[Candidate]], first: Decider
    ) -> list[list[Candidate]]:
        """The candidates at least SECOND_LOOK_FLOOR likely at first look, with SECOND_LOOK_FEATURES."""
        kept = [[(c, p) for c in cs if (p := first.probability(c)) >= SECOND_LOOK_FLOOR] for cs in candidates]
        contexts = [first.choose(cs) for cs in candidates]
        items = [in_context(s, c.edit, made) for s, cs, made in zip(sentences, kept, contexts) for c, _ in cs]
        gains = iter(self.lm.gains(items))
        out = []
        for cs in kept:
            scored = [(c, p, next(gains)) for c, p in cs]
            best: dict[int, float] = {}
            for c, _, g in scored:
                best[c.edit.start] = max(best.get(c.edit.start, -math.inf), g)
            out.append([Candidate(c.edit, [math.log(p / (1 - p)), g, g - best[c.edit.start]]) for c, p, g in scored])
        return out


@dataclass
class Decider:
    """What turns the tagger's output into edits: the label phrases, the counts, the fitted weights and
    threshold of the first look, and optionally a second look by a language model."""

    phrases: Sequence[str]
    table: PhraseTable
    lm: NgramLM
    weights: Sequence[float]
    bias: float
    min_confidence: float  # the first look's own threshold: what its first pass makes is the context it rereads in
    second_look: SecondLook | None = None

    def candidates(self, sentences: Sequence[str], tagged: Sequence[Tags]) -> list[list[Candidate]]:
        """Each sentence's candidates with the features the final weights expect."""
        cands = [propose(s, tags, self.phrases, self.table, self.lm) for s, tags in zip(sentences, tagged)]
        cands = [reread(s, cs, self.choose(cs), self.lm) for s, cs in zip(sentences, cands)]
        return self.second_look.rescore(sentences, cands, self) if self.second_look else cands

    def probability(self, candidate: Candidate) -> float:
        """How likely the first look finds ``candidate``."""
        return probability(candidate.features, self.weights, self.bias)

    def choose(self, candidates: list[Candidate]) -> list[Edit]:
        """The edits the first look makes among ``candidates`` at its own threshold."""
        return choose(candidates, self.weights, self.bias, self.min_confidence)

    def edits(self, sentences: Sequence[str], tagged: Sequence[Tags], min_confidence: float) -> list[list[Edit]]:
        """The edits of each sentence: its candidates at least ``min_confidence`` likely, never overlapping."""
        final = self.second_look or self
        return [choose(cs, final.weights, final.bias, min_confidence) for cs in self.candidates(sentences, tagged)]


@dataclass
class Candidate:
    edit: Edit
    features: list[float]


def _log(x: float) -> float:
    return math.log(max(x, 1e-6))


def _in_number(text: str, start: int, end: int) -> bool:
    """Does ``text[start:end]`` cut through a number ("following 5" of "following 5:30", "2" of "2,000")?"""
    left, right = text[max(start - 2, 0) : start], text[end : end + 2]
    cut_left = text[start : start + 1].isdigit() and len(left) == 2 and left[0].isdigit() and left[1] in ":,./"
    cut_right = text[end - 1 : end].isdigit() and len(right) == 2 and right[0] in ":,./" and right[1].isdigit()
    return cut_left or cut_right


def propose(
    text: str,
    tags: Tags,
    phrases: Sequence[str],
    table: PhraseTable,
    lm: NgramLM,
) -> list[Candidate]:
    """The candidate edits of one sentence with their features (order of FEATURES)."""
    labels, probs, keep = tags
    spans = words(text)
    n = min(len(spans), len(keep))
    tagger = {(e.start, e.end, e.after): e.score for e in decode(text, labels, probs, phrases, TAGGER_FLOOR)}
    found: dict[tuple[int, int, str], list] = {}
    starts = {s: i for i, (s, _) in enumerate(spans)}
    for i in range(n):
        for k in range(min(MAX_N, n - i), 0, -1):
            gram = text[spans[i][0] : spans[i + k - 1][1]]
            entry = table.lookup(gram, sentence_start=i == 0)
            if entry:
                seen, afters = entry
                for after, count in afters:
                    if count >= MIN_EDIT_RATE * seen:
                        found[(spans[i][0], spans[i + k - 1][1], after)] = [i, k, count / seen, count]
                break
    for (start, end, after), _ in tagger.items():
        if (start, end, after) not in found and start in starts:
            i = starts[start]
            k = sum(1 for _, e in spans[i:] if e <= end)
            found[(start, end, after)] = [i, k, 0.0, 0]
    looks_spun = [1 - keep[j] if j < len(keep) else 0.0 for j in range(len(spans))]
    for i, _, rate, _ in found.values():
        looks_spun[i] = max(looks_spun[i], rate)
    total = sum(looks_spun)
    out = []
    lowered = [text[s:e].lower() for s, e in spans]
    spun_side: dict = {}  # the spun words' scores, shared by up to 3 replacements
    for (start, end, after), (i, k, rate, count) in found.items():
        before = text[start:end]
        if before == after or _in_number(text, start, end):
            continue
        gain, left_gain, right_gain, trigram_gain = _context(lm, *_window(lowered, i, k), before, after, spun_side)
        p_keep = keep[i] if i < len(keep) else 1.0
        t = tagger.get((start, end, after))
        features = [
            gain,
            left_gain,
            right_gain,
            lm.unigram(after) - lm.unigram(before),
            _log(rate),
            _log(1 - p_keep),
            _log(p_keep),
            math.log(count) if count else 0.0,
            float(k),
            float(t is not None),
            t or 0.0,
            math.log(0.01 + (total - looks_spun[i]) / len(spans)),
            trigram_gain,
        ]
        if i == 0 and before[:1].isdigit() and after[:1].islower():  # "2 ..." was "Two ..." at a sentence start
            after = after[0].upper() + after[1:]
        out.append(Candidate(Edit(start, end, before, after), features))
    return out


def _window(lowered: Sequence[str], i: int, k: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The two words before words ``i .. i+k-1`` (``<s>`` at a sentence start) and the two after (``</s>``)."""
    left2 = tuple(lowered[i - 2 : i]) if i >= 2 else ("<s>", *lowered[:i])
    right2 = tuple(lowered[i + k : i + k + 2]) + (("</s>",) if i + k + 2 > len(lowered) else ())
    return left2, right2


def _context(
    lm: NgramLM, left2: tuple[str, ...], right2: tuple[str, ...], before: str, after: str, spun_side: dict
) -> tuple[float, float, float, float]:
    """The CONTEXT_FEATURES of replacing ``before`` by ``after`` between ``left2`` and ``right2``."""
    left, right = left2[-1], right2[0]
    key = left2, before, right2
    if key not in spun_side:
        spun_side[key] = lm.score(left, before, right), lm.trigram_score(left2, before, right2)
    spun, spun_trigrams = spun_side[key]
    gain = lm.score(left, after, right) - spun
    new, old = lm.tokens(after), lm.tokens(before) or [left]
    if new:
        left_gain = lm.logprob(left, new[0]) - lm.logprob(left, old[0])
        right_gain = lm.logprob(new[-1], right) - lm.logprob(old[-1], right)
    else:  # a deletion: the left neighbour now meets the right one
        left_gain, right_gain = gain, 0.0
    return gain, left_gain, right_gain, lm.trigram_score(left2, after, right2) - spun_trigrams


def in_context(text: str, edit: Edit, context: Sequence[Edit]) -> tuple[str, Edit]:
    """``text`` with the ``context`` edits (ordered, non-overlapping) that do not overlap ``edit`` made, and
    ``edit`` moved to where its words now are."""
    made = [e for e in context if e.end <= edit.start or e.start >= edit.end]
    shift = sum(len(e.after) - (e.end - e.start) for e in made if e.end <= edit.start)
    return apply(text, made), Edit(edit.start + shift, edit.end + shift, edit.before, edit.after, edit.score)


_CONTEXT_INDEX = [FEATURES.index(f) for f in CONTEXT_FEATURES]


def reread(text: str, candidates: list[Candidate], context: Sequence[Edit], lm: NgramLM) -> list[Candidate]:
    """``candidates`` with their CONTEXT_FEATURES read again where the ``context`` edits (the first pass's) they
    do not overlap are made: in "a good deal chancy and ferocious one" each spun word misleads the n-grams
    judging its neighbours (on dev: +0.3 BLEU at the same clean damage)."""
    if not context:
        return candidates
    spans = words(text)
    starts = {s: i for i, (s, _) in enumerate(spans)}
    readings: dict[str, tuple[list[tuple[int, int]], list[str], dict[int, int]]] = {}
    spun_side: dict = {}
    out = []
    for c in candidates:
        i = starts[c.edit.start]
        k = sum(1 for s, _ in spans[i:] if s < c.edit.end)
        start, end = spans[max(i - 2, 0)][0], spans[min(i + k + 1, len(spans) - 1)][1]  # its window as it reads
        made = [e for e in context if e.end <= c.edit.start or e.start >= c.edit.end]
        if not any(e.start < end and start < e.end for e in made):  # nothing made there: it reads the same
            out.append(c)
            continue
        moved_text, moved = in_context(text, c.edit, made)
        if moved_text not in readings:
            moved_spans = words(moved_text)
            readings[moved_text] = (
                moved_spans,
                [moved_text[s:e].lower() for s, e in moved_spans],
                {s: j for j, (s, _) in enumerate(moved_spans)},
            )
        moved_spans, moved_lowered, moved_starts = readings[moved_text]
        j = moved_starts.get(moved.start, -1)
        if j < 0 or j + k > len(moved_spans) or moved_spans[j + k - 1][1] != moved.end:  # a made edit ran into it
            out.append(c)
            continue
        features = list(c.features)
        window = _window(moved_lowered, j, k)
        for f, value in zip(_CONTEXT_INDEX, _context(lm, *window, c.edit.before, c.edit.after, spun_side)):
            features[f] = value
        out.append(Candidate(c.edit, features))
    return out


def probability(features: Sequence[float], weights: Sequence[float], bias: float) -> float:
    z = bias + sum(map(operator.mul, weights, features))
    return 1 / (1 + math.exp(-max(min(z, 50.0), -50.0)))


def choose(candidates: list[Candidate], weights: Sequence[float], bias: float, min_confidence: float) -> list[Edit]:
    """The likeliest non-overlapping candidates at least ``min_confidence`` likely, in text order."""
    scored = [
        Edit(c.edit.start, c.edit.end, c.edit.before, c.edit.after, probability(c.features, weights, bias))
        for c in candidates
    ]
    return likeliest_apart([e for e in scored if e.score >= min_confidence])


def likeliest_apart(edits: Iterable[Edit]) -> list[Edit]:
    """The edits by ``score``, likeliest first, each kept unless it overlaps one kept before; in text order."""
    chosen: list[Edit] = []
    for e in sorted(edits, key=lambda e: (-e.score, e.start)):
        if all(e.end <= c.start or e.start >= c.end for c in chosen):
            chosen.append(e)
    return sorted(chosen, key=lambda e: e.start)


def fit(
    features: list[list[float]], targets: list[int], steps: int = 3000, l2: float = 1e-3
) -> tuple[list[float], float]:
    """Logistic regression by gradient descent on standardised features; weights for the raw features."""
    import numpy as np

    x, y = np.asarray(features, dtype=float), np.asarray(targets, dtype=float)
    mean, std = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / std
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        g = 1 / (1 + np.exp(-(z @ w + b))) - y
        w -= 0.5 * (z.T @ g / len(y) + l2 * w)
        b -= 0.5 * g.mean()
    raw = w / std
    return raw.tolist(), float(b - (raw * mean).sum())


def _distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Word-level Levenshtein distance."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def helps(spun: str, gold: Sequence[Edit], edit: Edit) -> bool:
    """Does ``edit`` bring ``spun`` closer to the original (``gold``: its edits, as ``diff`` finds them)? The
    training target of a candidate: "arm" -> "gun" is right inside the gold edit "arm jurisprudence" -> "gun laws"."""
    near = [g for g in gold if g.start < edit.end and edit.start < g.end]
    if not near:
        return False
    start, end = min(edit.start, near[0].start), max(edit.end, near[-1].end)
    region = spun[start:end]

    def tokens(edits: Sequence[Edit]) -> list[str]:
        text = apply(region, [Edit(e.start - start, e.end - start, e.before, e.after) for e in edits])
        return [text[s:e] for s, e in words(text)]

    target = tokens(near)
    return _distance(tokens([edit]), target) < _distance(tokens([]), target)
