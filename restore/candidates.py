"""Deciding the edits: candidates from the phrase table and the tagger, scored by a logistic model.

For every word, the longest spun n-gram the table knows starting there proposes its commonest
originals, and the tagger proposes its own replacement. Each candidate gets a few features (how often
the n-gram was an edit in training, how sure the tagger is the word should change, whether the clean
text n-gram model prefers the replacement between its neighbours, how spun the rest of the sentence
looks, ...) and a probability from a logistic model fitted on dev pairs and their clean originals, with
``helps`` as the target. Candidates at least ``min_confidence`` likely are applied, best first, never
overlapping: everything else is left alone. The optional ``SecondLook`` rescores the candidates the first
look finds at least SECOND_LOOK_FLOOR likely with a language model's reading of their context.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
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
        gains = iter(self.lm.gains([(s, c.edit) for s, cs in zip(sentences, kept) for c, _ in cs]))
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
    """What turns the tagger's output into edits: the label phrases, the counts, the fitted weights, and
    optionally a second look by a language model."""

    phrases: Sequence[str]
    table: PhraseTable
    lm: NgramLM
    weights: Sequence[float]
    bias: float
    second_look: SecondLook | None = None

    def candidates(self, sentences: Sequence[str], tagged: Sequence[Tags]) -> list[list[Candidate]]:
        """Each sentence's candidates with the features the final weights expect."""
        cands = [propose(s, tags, self.phrases, self.table, self.lm) for s, tags in zip(sentences, tagged)]
        return self.second_look.rescore(sentences, cands, self) if self.second_look else cands

    def probability(self, candidate: Candidate) -> float:
        """How likely the first look finds ``candidate``."""
        return probability(candidate.features, self.weights, self.bias)

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
    spun_score: dict[tuple[int, int], tuple[float, float]] = {}  # the spun words' side, shared by up to 3 replacements
    for (start, end, after), (i, k, rate, count) in found.items():
        before = text[start:end]
        if before == after or _in_number(text, start, end):
            continue
        left2 = tuple(lowered[i - 2 : i]) if i >= 2 else ("<s>", *lowered[:i])
        right2 = tuple(lowered[i + k : i + k + 2]) + (("</s>",) if i + k + 2 > len(spans) else ())
        left, right = left2[-1], right2[0]
        if (i, k) not in spun_score:
            spun_score[i, k] = lm.score(left, before, right), lm.trigram_score(left2, before, right2)
        gain = lm.score(left, after, right) - spun_score[i, k][0]
        new, old = lm.tokens(after), lm.tokens(before) or [left]
        if new:
            left_gain = lm.logprob(left, new[0]) - lm.logprob(left, old[0])
            right_gain = lm.logprob(new[-1], right) - lm.logprob(old[-1], right)
        else:  # a deletion: the left neighbour now meets the right one
            left_gain, right_gain = gain, 0.0
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
            lm.trigram_score(left2, after, right2) - spun_score[i, k][1],
        ]
        if i == 0 and before[:1].isdigit() and after[:1].islower():  # "2 ..." was "Two ..." at a sentence start
            after = after[0].upper() + after[1:]
        out.append(Candidate(Edit(start, end, before, after), features))
    return out


def probability(features: Sequence[float], weights: Sequence[float], bias: float) -> float:
    z = bias + sum(map(operator.mul, weights, features))
    return 1 / (1 + math.exp(-max(min(z, 50.0), -50.0)))


def choose(candidates: list[Candidate], weights: Sequence[float], bias: float, min_confidence: float) -> list[Edit]:
    """The likeliest non-overlapping candidates at least ``min_confidence`` likely, in text order."""
    scored = [(probability(c.features, weights, bias), c.edit) for c in candidates]
    chosen: list[Edit] = []
    for p, e in sorted(scored, key=lambda x: (-x[0], x[1].start)):
        if p < min_confidence:
            break
        if all(e.end <= c.start or e.start >= c.end for c in chosen):
            chosen.append(Edit(e.start, e.end, e.before, e.after, p))
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
