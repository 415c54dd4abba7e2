"""Spin detection: how likely a text is machine-spun, which sentences, and which words.

Every word gets a suspicion: small gradient-boosted trees (fitted on dev pairs by ``scripts/fit_detect.py``)
over what the restorer already knows there (the tagger's P(change), the spun-word head's P(spun), the
likeliest candidate edit covering the word, the phrase table's swap rate) and what an n-gram model of clean
news says about the word between its neighbours, which needs no spinner's dictionary: "counterfeit
consciousness" is two common words never seen together. A sentence's score is its most suspicious word's; a
text's score comes from its sentence scores (a small logistic model). Runs of words at least ``threshold``
suspicious are the flagged spans, each with the restorer's replacement when it would make one there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from restore.edits import Edit, apply, words
from restore.features import FEATURES, Candidate
from restore.looks import Look, choose

if TYPE_CHECKING:
    from restore.engine import Tags
    from restore.phrases import NgramLM
    from restore.pipeline import Pipeline

WORD_FEATURES = (
    "log_change",  # log (1 - the tagger's P(keep))
    "candidate",  # the first look's probability of the likeliest candidate edit covering the word (0: none)
    "swap_rate",  # the phrase table's swap rate of the likeliest table n-gram covering it (0: none)
    "assoc_left",  # association of the word with its left neighbour in clean news: log (count(a b) / expected)
    "assoc_right",  # ... with its right neighbour
    "assoc_min",  # the lower of the two: a word that fits neither neighbour
    "log_freq",  # log unigram frequency of the word (spinners pick common synonyms; names are rare)
    "capitalised",  # a capitalised word after the first (names are never spun)
    "density",  # mean tagger P(change) over the sentence's other words (spun sentences have many swaps)
    "spun_logit",  # log-odds of the spun-word head (trained on text spun by every thesaurus family)
    "spun_density",  # mean P(spun) over the sentence's other words
    "best_gain",  # how much better the n-gram model reads the best candidate replacing the word (0: none better)
)
DOC_FEATURES = (
    "top_logit",  # mean log-odds of the (up to) three highest sentence scores
    "mean_logit",  # mean log-odds of all sentence scores
    "flagged_share",  # share of sentences holding a flagged span
)
_ASSOC_CLIP = 12.0


@dataclass(frozen=True)
class WordTrees:
    """Gradient-boosted trees over WORD_FEATURES: a word's log-odds of being spun is ``baseline`` plus the value
    of the leaf it reaches in each tree. The nodes of all trees are in flat lists (``roots``: each tree's first);
    a node sends a word left when its ``feature`` is at most ``threshold``; a leaf points to itself, so every tree
    is walked ``depth`` steps. Exact comparisons and a sum in tree order: a word's score never depends on the
    other words scored with it."""

    baseline: float
    depth: int
    roots: tuple[int, ...]
    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    value: tuple[float, ...]

    @cached_property
    def _arrays(self) -> tuple:
        import numpy as np

        return (
            np.array(self.roots, np.int64),
            np.array(self.feature, np.int64),
            np.array(self.threshold, np.float64),
            np.array(self.left, np.int64),
            np.array(self.right, np.int64),
            np.array(self.value, np.float64),
        )

    def logits(self, x) -> list[float]:
        """The log-odds of each row of ``x`` (words by WORD_FEATURES)."""
        import numpy as np

        roots, feature, threshold, left, right, value = self._arrays
        x = np.asarray(x, np.float64).reshape(-1, len(WORD_FEATURES))
        out = []
        for start in range(0, len(x), 4096):  # words by trees at a time: memory stays bounded
            part = x[start : start + 4096]
            node = np.repeat(roots[None], len(part), axis=0)
            rows = np.arange(len(part))[:, None]
            for _ in range(self.depth):
                node = np.where(part[rows, feature[node]] <= threshold[node], left[node], right[node])
            out += (self.baseline + value[node].cumsum(axis=1)[:, -1]).tolist()
        return out

    def to_json(self) -> dict:
        return {"features": list(WORD_FEATURES)} | {
            k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()
        }

    @classmethod
    def from_json(cls, data: dict) -> WordTrees:
        """Read what ``to_json`` wrote; trees over other features than WORD_FEATURES are a ValueError naming them."""
        names = list(data.get("features", []))
        if names != list(WORD_FEATURES):
            missing = [n for n in WORD_FEATURES if n not in names] or ["(their order)"]
            raise ValueError(f'"detect" word_trees are not over this version\'s word features: {", ".join(missing)}')
        nodes = len(data["feature"])
        if not all(len(data[k]) == nodes for k in ("threshold", "left", "right", "value")):
            raise ValueError('"detect" word_trees: feature, threshold, left, right and value differ in length')
        return cls(
            float(data["baseline"]),
            int(data["depth"]),
            tuple(int(i) for i in data["roots"]),
            tuple(int(i) for i in data["feature"]),
            tuple(float(t) for t in data["threshold"]),
            tuple(int(i) for i in data["left"]),
            tuple(int(i) for i in data["right"]),
            tuple(float(v) for v in data["value"]),
        )


@dataclass(frozen=True)
class DetectSettings:
    """The fitted numbers: the word trees, per-document weights, and the flagging threshold."""

    word_trees: WordTrees
    doc_weights: dict[str, float]
    doc_bias: float
    threshold: float  # a word at least this suspicious is flagged (chosen on dev: <= 5 false flags per 1,000
    # clean sentences)

    @classmethod
    def from_json(cls, data: dict) -> DetectSettings:
        """Read the "detect" object of restore.json; a missing feature or weight is a ValueError naming it."""
        if "word_trees" not in data:
            raise ValueError('"detect" has no word_trees (fit them with scripts/fit_detect.py)')
        missing = [n for n in DOC_FEATURES if n not in data.get("doc_weights", {})]
        if missing:
            raise ValueError(f'"detect" has no doc_weights for {", ".join(missing)}')
        return cls(
            WordTrees.from_json(data["word_trees"]),
            {n: float(data["doc_weights"][n]) for n in DOC_FEATURES},
            float(data["doc_bias"]),
            float(data["threshold"]),
        )

    def to_json(self) -> dict:
        return {
            "word_trees": self.word_trees.to_json(),
            "doc_weights": self.doc_weights,
            "doc_bias": self.doc_bias,
            "threshold": self.threshold,
        }


@dataclass(frozen=True)
class Span:
    """Flagged words ``text == input[start:end]``; ``suggestion``: the restorer's wording, or None."""

    start: int
    end: int
    text: str
    score: float
    suggestion: str | None


@dataclass(frozen=True)
class SentenceScore:
    start: int
    end: int
    score: float  # its most suspicious word's score


@dataclass(frozen=True)
class Report:
    """How likely a text is machine-spun (``score``, 0-1), per sentence, and the flagged spans."""

    score: float
    sentences: list[SentenceScore]
    spans: list[Span]

    @property
    def flagged(self) -> bool:
        """Does any span reach the threshold?"""
        return bool(self.spans)


def _assoc(lm: NgramLM, lowered: Sequence[str]) -> list[float]:
    """For each neighbouring pair ``a b`` of ``lowered``: the log of how much more often it was seen in clean news
    than chance predicts (smoothed, clipped), read in one lookup."""
    import numpy as np

    from restore.graph import bigram_indices, unigram_counts

    ids = np.array([lm.ids.get(w, -1) for w in lowered], np.int64)
    a, b = ids[:-1], ids[1:]
    k = bigram_indices(lm, a, b)
    seen = np.where(k >= 0, lm.counts[k], 0)
    uni = unigram_counts(lm)
    expected = (np.where(a >= 0, uni[a], 0) + 1.0) * (np.where(b >= 0, uni[b], 0) + 1.0) / lm.total
    return np.clip(np.log((seen + 0.1) / expected), -_ASSOC_CLIP, _ASSOC_CLIP).tolist()


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-max(min(z, 50.0), -50.0)))


def _probability(features: Sequence[float], weights: Sequence[float], bias: float) -> float:
    return _sigmoid(bias + sum(w * f for w, f in zip(weights, features)))


def word_features(
    text: str, tags: Tags, candidates: Sequence[Candidate], scored: Sequence[Edit], lm: NgramLM
) -> tuple[list[tuple[int, int]], list[list[float] | None]]:
    """The word spans of sentence ``text`` and each word's WORD_FEATURES (None for words without a letter,
    which are never flagged); ``scored``: the candidates' edits with the first look's probability
    (``Look.scored``)."""
    spans = words(text)
    keep, spun = tags[2], tags[3]
    change = [1 - keep[i] if i < len(keep) else 0.0 for i in range(len(spans))]
    spun = [spun[i] if i < len(spun) else 0.0 for i in range(len(spans))]
    best = [0.0] * len(spans)
    rate = [0.0] * len(spans)
    gain = [0.0] * len(spans)
    starts = {s: i for i, (s, _) in enumerate(spans)}
    rate_index, gain_index = FEATURES.index("log_edit_rate"), FEATURES.index("trigram_gain")
    for c, edit in zip(candidates, scored):
        i = starts.get(c.edit.start)
        if i is None:
            continue
        p = edit.score
        r = math.exp(c.features[rate_index]) if c.features[rate_index] > math.log(1e-6) else 0.0
        for j in range(i, len(spans)):
            if spans[j][0] >= c.edit.end:
                break
            best[j], rate[j], gain[j] = max(best[j], p), max(rate[j], r), max(gain[j], c.features[gain_index])
    lowered = ["<s>", *(text[s:e].lower() for s, e in spans), "</s>"]
    assoc = _assoc(lm, lowered)
    total_change, total_spun, others = sum(change), sum(spun), max(len(spans) - 1, 1)
    out: list[list[float] | None] = []
    for i, (s, e) in enumerate(spans):
        word = text[s:e]
        if not any(ch.isalpha() for ch in word):
            out.append(None)
            continue
        left, right = assoc[i], assoc[i + 1]
        out.append(
            [
                math.log(max(change[i], 1e-6)),
                best[i],
                rate[i],
                left,
                right,
                min(left, right),
                math.log((lm.unigrams.get(lowered[i + 1], 0) + 0.5) / lm.total),
                float(i > 0 and word[:1].isupper()),
                (total_change - change[i]) / others,
                _logit(spun[i]),
                (total_spun - spun[i]) / others,
                gain[i],
            ]
        )
    return spans, out


def word_scores(sentences: Sequence[Sequence[list[float] | None]], settings: DetectSettings) -> list[list[float]]:
    """Each word's suspicion, sentence by sentence (0 for words without a letter); the words of all the sentences
    go through the trees together."""
    rows = [f for features in sentences for f in features if f is not None]
    logits = iter(settings.word_trees.logits(rows))
    return [[0.0 if f is None else _sigmoid(next(logits)) for f in features] for features in sentences]


def doc_features(sentence_scores: Sequence[float], threshold: float) -> list[float]:
    """DOC_FEATURES of a text's sentence scores (all zero for a text without sentences)."""
    if not sentence_scores:
        return [0.0] * len(DOC_FEATURES)
    logits = sorted((_logit(s) for s in sentence_scores), reverse=True)
    top = logits[:3]
    return [
        sum(top) / len(top),
        sum(logits) / len(logits),
        sum(s >= threshold for s in sentence_scores) / len(sentence_scores),
    ]


def doc_score(sentence_scores: Sequence[float], settings: DetectSettings) -> float:
    """How likely a text with these sentence scores is spun (0 for a text without sentences)."""
    if not sentence_scores:
        return 0.0
    weights = [settings.doc_weights[n] for n in DOC_FEATURES]
    return _probability(doc_features(sentence_scores, settings.threshold), weights, settings.doc_bias)


def sentence_spans(
    text: str,
    spans: Sequence[tuple[int, int]],
    scores: Sequence[float],
    scored: Sequence[Edit],
    look: Look,
    threshold: float,
) -> list[Span]:
    """Runs of words at least ``threshold`` suspicious in sentence ``text``, widened to the edits ``look`` makes of
    the ``scored`` candidates that overlap them, with the run's text after those edits as the suggestion (None
    when it makes none there)."""
    if max(scores, default=0.0) < threshold:
        return []
    edits = choose(scored, look.min_confidence)
    ranges: list[list[int]] = []
    for i, (start, end) in enumerate(spans):
        if scores[i] < threshold:
            continue
        for e in edits:
            if e.start < end and start < e.end:
                start, end = min(start, e.start), max(end, e.end)
        if ranges and (scores[i - 1] >= threshold or start < ranges[-1][1]):  # the run goes on, or an edit joins them
            ranges[-1][1] = max(ranges[-1][1], end)
        else:
            ranges.append([start, end])
    out = []
    for start, end in ranges:
        mine = [Edit(e.start - start, e.end - start, e.before, e.after) for e in edits if start <= e.start < end]
        score = max(x for (s, e), x in zip(spans, scores) if s < end and start < e)
        out.append(Span(start, end, text[start:end], score, apply(text[start:end], mine) if mine else None))
    return out


def score_sentences(
    sentences: Sequence[str], tagged: Sequence[Tags], pipeline: Pipeline, settings: DetectSettings
) -> list[tuple[float, list[Span]]]:
    """Each sentence's score and its flagged spans (offsets into the sentence), from the first look's candidates
    (the second look, when there is one, only rescores them)."""
    look = pipeline.first
    candidates = pipeline.reread(sentences, pipeline.propose(sentences, tagged), look)
    scored = [look.scored(cands) for cands in candidates]
    read = [word_features(*x, pipeline.ngrams) for x in zip(sentences, tagged, candidates, scored)]
    scores = word_scores([features for _, features in read], settings)
    return [
        (max(s, default=0.0), sentence_spans(text, spans, s, edits, look, settings.threshold))
        for text, (spans, _), s, edits in zip(sentences, read, scores, scored)
    ]


def reports(
    texts: Sequence[str],
    located: Sequence[tuple[int, int, int]],
    scored: Sequence[tuple[float, list[Span]]],
    settings: DetectSettings,
) -> list[Report]:
    """One Report per text from its sentences' scores and spans; ``located``: (text index, start, end) of each
    scored sentence, in order."""
    sentences: list[list[SentenceScore]] = [[] for _ in texts]
    spans: list[list[Span]] = [[] for _ in texts]
    for (t, start, end), (score, found) in zip(located, scored):
        sentences[t].append(SentenceScore(start, end, score))
        spans[t] += [Span(start + x.start, start + x.end, x.text, x.score, x.suggestion) for x in found]
    return [Report(doc_score([s.score for s in ss], settings), ss, sp) for ss, sp in zip(sentences, spans)]


def join(parts: Sequence[tuple[int, Report]], settings: DetectSettings) -> Report:
    """One Report for a text scored in pieces: (offset of the piece in the text, its report)."""
    sentences = [SentenceScore(o + s.start, o + s.end, s.score) for o, r in parts for s in r.sentences]
    spans = [Span(o + x.start, o + x.end, x.text, x.score, x.suggestion) for o, r in parts for x in r.spans]
    return Report(doc_score([s.score for s in sentences], settings), sentences, spans)
