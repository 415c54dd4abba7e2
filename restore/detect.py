"""Spin detection: how likely a text is machine-spun, which sentences, and which words.

Every word gets a suspicion: small gradient-boosted trees (fitted on dev pairs by ``scripts/fit_detect.py``)
over what the restorer already knows there (the tagger's P(change), the spun-word head's P(spun), the
likeliest candidate edit covering the word, the phrase table's swap rate) and what an n-gram model of clean
news says about the word between its neighbours, which needs no spinner's dictionary: "counterfeit
consciousness" is two common words never seen together. A sentence's score comes from its words' (a small
logistic model over the three most suspicious, their mean and the sentence's length), a text's from its sentences'
(another). Runs of words at least ``threshold`` suspicious are the flagged spans, each with the restorer's
replacement when it would make one there: only the sentences holding one are reread for it. A term alone
(a text of one sentence of at most TERM_WORDS words: a keyword, a list entry) has no context to read and few words
to raise false flags: it is judged at its own ``term_threshold``, fitted on terms alone. With the second look's
language model (``Restorer(lm=True)``) a term alone is also read by SmolLM2, which has seen far more technical
prose than our n-grams ("stack pointer", "lexical scope"): ``TermReading`` moves its words' scores together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from restore.edits import Edit, apply, words
from restore.features import FEATURES, Candidate

if TYPE_CHECKING:
    import numpy as np

    from restore.engine import Tags
    from restore.lm import ContextLM
    from restore.phrases import NgramLM
    from restore.pipeline import Pipeline

WORD_FEATURES = (
    "log_change",  # log (1 - the tagger's P(keep))
    "candidate",  # the probability of the likeliest candidate edit covering the word by the look that judges its
    # sentence (the term look for a term alone, else the first look; 0: none)
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
    "science_assoc_min",  # assoc_min in scientific prose (``Pipeline.science``): a technical term fits there
    "science_log_freq",  # log_freq in scientific prose
    "log_words",  # log of the sentence's number of words: a term alone has no context to fit
    "seen_min",  # log (1 + how often news and scientific prose saw the word with its neighbour), the lower of the
    # two neighbours within the sentence: a real term's words have been seen together, however rare they are
)
SENTENCE_FEATURES = (  # of the words with a letter; on dev, sentence AUC 0.946 against 0.942 for the top word alone
    "top_logit",  # log-odds of the most suspicious word
    "second_logit",  # ... of the second most suspicious (the sentence's least suspicious word when it has fewer)
    "third_logit",  # ... of the third
    "mean_logit",  # mean log-odds of all its words
    "log_words",  # log of its number of words: a long clean sentence has more chances of one odd word
)
DOC_FEATURES = (
    "top_logit",  # mean log-odds of the (up to) three highest sentence scores
    "mean_logit",  # mean log-odds of all sentence scores
    "flagged_share",  # share of sentences holding a flagged span
)
TERM_LM_FEATURES = (  # a term alone read by SmolLM2 (with the second look's language model)
    "top_logit",  # log-odds of its most suspicious word (the trees')
    "log_prob",  # SmolLM2's log-probability of the term as a text of its own: a term it knows reads likelier
    "framed_log_prob",  # ... after TERM_FRAME: a scientific term reads likelier there than a spun one
    "tokens",  # its number of SmolLM2 tokens (log-probabilities fall with length)
    "words",  # its number of words
)
TERM_FRAME = "In this paper, we study the"
_ASSOC_CLIP = 12.0
_SEEN_ALONE = 20.0  # seen_min of a one-word sentence: no neighbour, no evidence against it


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

    def logits(self, x) -> np.ndarray:
        """The log-odds of each row of ``x`` (words by WORD_FEATURES)."""
        import numpy as np

        roots, feature, threshold, left, right, value = self._arrays
        columns = np.ascontiguousarray(np.asarray(x, np.float64).reshape(-1, len(WORD_FEATURES)).T)  # by feature
        at = np.arange(columns.shape[1])
        total = np.zeros(columns.shape[1])
        for root in roots.tolist():  # a tree at a time, all words down it together; the sums run in tree order
            node = np.where(columns[feature[root]] <= threshold[root], left[root], right[root])  # a feature's column
            for _ in range(self.depth - 1):
                node = np.where(columns[feature[node], at] <= threshold[node], left[node], right[node])
            total += value[node]
        return self.baseline + total

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
class TermReading:
    """How a term alone is judged with SmolLM2 (fitted on dev terms alone by ``scripts/fit_detect.py --term-lm``):
    logistic weights over TERM_LM_FEATURES, and the score a term is flagged at (chosen on dev: <= 10% of clean
    terms alone flagged)."""

    weights: dict[str, float]
    bias: float
    threshold: float

    @classmethod
    def from_json(cls, data: dict) -> TermReading:
        missing = [n for n in TERM_LM_FEATURES if n not in data.get("weights", {})]
        if missing:
            raise ValueError(f'"detect" "term_lm" has no weights for {", ".join(missing)} (fit_detect.py --term-lm)')
        weights = {n: float(data["weights"][n]) for n in TERM_LM_FEATURES}
        return cls(weights, float(data["bias"]), float(data["threshold"]))

    def probabilities(self, lm: ContextLM, terms: Sequence[str], top_logits: Sequence[float]) -> list[float]:
        """How likely each term alone is spun, from its most suspicious word's log-odds and SmolLM2's reading."""
        weights = [self.weights[n] for n in TERM_LM_FEATURES]
        return [_probability(x, weights, self.bias) for x in term_lm_features(lm, terms, top_logits)]


@dataclass(frozen=True)
class DetectSettings:
    """The fitted numbers: the word trees, the per-sentence and per-document weights, and the flagging thresholds."""

    word_trees: WordTrees
    sentence_weights: dict[str, float]
    sentence_bias: float
    doc_weights: dict[str, float]
    doc_bias: float
    threshold: float  # a word at least this suspicious is flagged (chosen on dev: <= 5 false flags per 1,000
    # clean sentences)
    term_threshold: float  # the same in a term alone (chosen on dev: <= 10% of clean terms alone flagged)
    term_lm: TermReading | None = None  # a term alone read with the second look's language model, when fitted

    @classmethod
    def from_json(cls, data: dict) -> DetectSettings:
        """Read the "detect" object of restore.json; a missing feature or weight is a ValueError naming it."""
        if "word_trees" not in data:
            raise ValueError('"detect" has no word_trees (fit them with scripts/fit_detect.py)')
        for key, names in (("sentence_weights", SENTENCE_FEATURES), ("doc_weights", DOC_FEATURES)):
            missing = [n for n in names if n not in data.get(key, {})]
            if missing:
                raise ValueError(
                    f'"detect" has no {key} for {", ".join(missing)} (fit them with scripts/fit_detect.py)'
                )
        if "term_threshold" not in data:
            raise ValueError('"detect" has no term_threshold (fit it with scripts/fit_detect.py)')
        return cls(
            WordTrees.from_json(data["word_trees"]),
            {n: float(data["sentence_weights"][n]) for n in SENTENCE_FEATURES},
            float(data["sentence_bias"]),
            {n: float(data["doc_weights"][n]) for n in DOC_FEATURES},
            float(data["doc_bias"]),
            float(data["threshold"]),
            float(data["term_threshold"]),
            TermReading.from_json(data["term_lm"]) if "term_lm" in data else None,
        )

    def threshold_of(self, term_alone: bool, lm: bool = False) -> float:
        """The suspicion a word is flagged at: ``term_threshold`` in a term alone (``restore.segment.term_alone``;
        ``term_lm``'s read with the language model, ``lm``), else ``threshold``."""
        if term_alone and lm and self.term_lm is not None:
            return self.term_lm.threshold
        return self.term_threshold if term_alone else self.threshold

    def to_json(self) -> dict:
        return {
            "word_trees": self.word_trees.to_json(),
            "sentence_weights": self.sentence_weights,
            "sentence_bias": self.sentence_bias,
            "doc_weights": self.doc_weights,
            "doc_bias": self.doc_bias,
            "threshold": self.threshold,
            "term_threshold": self.term_threshold,
        } | ({"term_lm": asdict(self.term_lm)} if self.term_lm is not None else {})


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
    score: float  # how likely it is spun, from its words' scores (``sentence_score``)
    flagged: bool  # does it hold a flagged span


@dataclass(frozen=True)
class Report:
    """How likely a text is machine-spun (``score``, 0-1), per sentence, and the flagged spans: its words at least
    ``threshold`` suspicious (the model's, or its term_threshold for a term alone)."""

    score: float
    sentences: list[SentenceScore]
    spans: list[Span]
    threshold: float

    @property
    def flagged(self) -> bool:
        """Does any span reach the threshold?"""
        return bool(self.spans)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-max(min(z, 50.0), -50.0)))


def _probability(features: Sequence[float], weights: Sequence[float], bias: float) -> float:
    return _sigmoid(bias + sum(w * f for w, f in zip(weights, features)))


def word_features(
    sentences: Sequence[str],
    tagged: Sequence[Tags],
    candidates: Sequence[Sequence[Candidate]],
    probabilities: Sequence[Sequence[float]],
    lm: NgramLM,
    science: NgramLM,
) -> list[tuple[Sequence[tuple[int, int]], np.ndarray]]:
    """For each sentence: its word spans and their WORD_FEATURES, a row per word (NaN for a word without a letter,
    which is never flagged); ``probabilities``: the probability of each of its ``candidates`` by the look judging
    it (``Look.probabilities``); ``lm``, ``science``: the n-gram models of news and of scientific prose. The words of
    all the sentences are read together; each sentence's numbers are its own."""
    import numpy as np

    spans = [words(text) for text in sentences]
    sizes = np.array([len(x) for x in spans], np.int64)
    first = np.concatenate([[0], np.cumsum(sizes)])  # each sentence's first word among all words
    n = int(first[-1])
    sentence = np.repeat(np.arange(len(spans)), sizes)
    change, spun = np.zeros(n), np.zeros(n)
    for j, tags in enumerate(tagged):
        m = min(int(sizes[j]), len(tags[2]))
        change[first[j] : first[j] + m] = 1 - np.asarray(tags[2][:m], np.float64)
        m = min(int(sizes[j]), len(tags[3]))
        spun[first[j] : first[j] + m] = tags[3][:m]

    # the likeliest candidate covering each word, its table swap rate, its trigram gain
    best, rate, gain = np.zeros(n), np.zeros(n), np.zeros(n)
    flat = [c for cands in candidates for c in cands]
    if flat and n:
        owner = np.repeat(np.arange(len(candidates)), [len(cands) for cands in candidates])
        rate_index, gain_index = FEATURES.index("log_edit_rate"), FEATURES.index("trigram_gain")
        start, end = np.array([(c.edit.start, c.edit.end) for c in flat], np.int64).T
        log_rates, gains = np.array([(c.features[rate_index], c.features[gain_index]) for c in flat], np.float64).T
        width = max(len(text) for text in sentences) + 1  # (sentence, offset) as one sorted key
        word_keys = sentence * width + np.array([s for x in spans for s, _ in x], np.int64)
        begin_at = np.minimum(np.searchsorted(word_keys, owner * width + start), n - 1)
        at_word = word_keys[begin_at] == owner * width + start  # the candidates that start at a word (all of them)
        stop_at = np.searchsorted(word_keys, owner * width + end)  # the first word at or after its end
        values = (
            np.array([p for ps in probabilities for p in ps], np.float64),
            np.where(log_rates > math.log(1e-6), np.exp(log_rates), 0.0),
            gains,
        )
        begin_at, stop_at, values = begin_at[at_word], stop_at[at_word], [v[at_word] for v in values]
        for t in range(int((stop_at - begin_at).max(initial=0))):
            at = begin_at + t < stop_at
            for out, value in zip((best, rate, gain), values):
                np.maximum.at(out, begin_at[at] + t, value[at])

    # association with each neighbour in clean news and in scientific prose, and frequency
    written = [text[a:b] for text, x in zip(sentences, spans) for a, b in x]
    lowered = [w.lower() for w in written]
    left, right, log_freq, seen_left, seen_right = _associations(lm, lowered, first, sizes)
    science_left, science_right, science_log_freq, science_seen_left, science_seen_right = _associations(
        science, lowered, first, sizes
    )
    position = np.arange(n) - first[sentence]
    inner_left, inner_right = np.log1p(seen_left + science_seen_left), np.log1p(seen_right + science_seen_right)
    has_left, has_right = position > 0, position < sizes[sentence] - 1
    inner_left = np.where(has_left, inner_left, np.where(has_right, inner_right, _SEEN_ALONE))
    inner_right = np.where(has_right, inner_right, inner_left)
    others = np.maximum(sizes - 1, 1)[sentence]
    clipped = np.clip(spun, 1e-6, 1 - 1e-6)
    table = np.stack(
        [
            np.log(np.maximum(change, 1e-6)),
            best,
            rate,
            left,
            right,
            np.minimum(left, right),
            log_freq,
            (np.fromiter((w[:1].isupper() for w in written), bool, n) & (position > 0)).astype(np.float64),
            (np.bincount(sentence, change, len(spans))[sentence] - change) / others,
            np.log(clipped / (1 - clipped)),
            (np.bincount(sentence, spun, len(spans))[sentence] - spun) / others,
            gain,
            np.minimum(science_left, science_right),
            science_log_freq,
            np.log(np.maximum(sizes, 1))[sentence],
            np.minimum(inner_left, inner_right),
        ],
        axis=1,
    )
    table[[not any(ch.isalpha() for ch in w) for w in written]] = np.nan
    return [(x, table[first[j] : first[j + 1]]) for j, x in enumerate(spans)]


def _associations(lm: NgramLM, lowered: list[str], first, sizes) -> tuple[np.ndarray, ...]:
    """Each word's association with its left and right neighbours in ``lm`` (<s> and </s> at a sentence's ends):
    log (count(a b) / expected), clipped; its log frequency; and the counts of the left and right bigrams.
    ``first``, ``sizes``: each sentence's first word among all the words and its number of words."""
    import numpy as np

    from restore.graph import bigram_indices, unigram_counts

    ids = np.array([lm.ids.get(w, -1) for w in lowered], np.int64)
    left_ids, right_ids = np.roll(ids, 1), np.roll(ids, -1)
    left_ids[first[:-1][sizes > 0]] = lm.ids.get("<s>", -1)
    right_ids[first[1:][sizes > 0] - 1] = lm.ids.get("</s>", -1)
    uni = unigram_counts(lm)

    def count(x: np.ndarray) -> np.ndarray:
        return np.where(x >= 0, uni[np.maximum(x, 0)], 0)

    def seen(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        k = bigram_indices(lm, a, b)
        return np.where(k >= 0, lm.counts[np.maximum(k, 0)], 0)

    def assoc(a: np.ndarray, b: np.ndarray, seen: np.ndarray) -> np.ndarray:
        expected = (count(a) + 1.0) * (count(b) + 1.0) / lm.total
        return np.clip(np.log((seen + 0.1) / expected), -_ASSOC_CLIP, _ASSOC_CLIP)

    seen_left, seen_right = seen(left_ids, ids), seen(ids, right_ids)
    log_freq = np.log((count(ids) + 0.5) / lm.total)
    return assoc(left_ids, ids, seen_left), assoc(ids, right_ids, seen_right), log_freq, seen_left, seen_right


def word_scores(sentences: Sequence[np.ndarray], settings: DetectSettings) -> list[list[float]]:
    """Each word's suspicion, sentence by sentence (``word_features``' rows; 0 for words without a letter); the
    words of all the sentences go through the trees together."""
    import numpy as np

    width = len(WORD_FEATURES)
    rows = np.concatenate([np.zeros((0, width)), *(np.asarray(x, np.float64).reshape(-1, width) for x in sentences)])
    letter = ~np.isnan(rows[:, 0])
    scores = np.zeros(len(rows))
    scores[letter] = 1 / (1 + np.exp(-np.clip(settings.word_trees.logits(rows[letter]), -50.0, 50.0)))
    out, k = [], 0
    for x in sentences:
        out.append(scores[k : k + len(x)].tolist())
        k += len(x)
    return out


def term_lm_features(lm: ContextLM, terms: Sequence[str], top_logits: Sequence[float]) -> list[list[float]]:
    """TERM_LM_FEATURES of each term alone (as written; ``top_logits``: its most suspicious word's log-odds)."""
    from restore.lm import DOC_START

    texts = [t.strip() for t in terms]
    alone = lm.logprobs([DOC_START + t for t in texts])
    *framed, frame = lm.logprobs([f"{DOC_START}{TERM_FRAME} {t}" for t in texts] + [DOC_START + TERM_FRAME])
    tokens = [len(e.tokens) for e in lm.tokenizer.encode_batch(texts, add_special_tokens=False)]
    return [[top, a, f - frame, n, len(words(t))] for top, a, f, n, t in zip(top_logits, alone, framed, tokens, texts)]


def sentence_features(scores: Sequence[float]) -> list[float]:
    """SENTENCE_FEATURES of the scores of a sentence's words with a letter (at least one)."""
    logits = sorted((_logit(s) for s in scores), reverse=True)
    top = (logits + logits[-1:] * 2)[:3]
    return [*top, sum(logits) / len(logits), math.log(len(logits))]


def sentence_score(scores: Sequence[float], settings: DetectSettings) -> float:
    """How likely a sentence is spun, from the scores of its words with a letter (0 for a sentence without one)."""
    if not scores:
        return 0.0
    weights = [settings.sentence_weights[n] for n in SENTENCE_FEATURES]
    return _probability(sentence_features(scores), weights, settings.sentence_bias)


def doc_features(sentence_scores: Sequence[float], flagged: Sequence[bool]) -> list[float]:
    """DOC_FEATURES of a text's sentence scores and whether each holds a flagged span (zeros without sentences)."""
    if not sentence_scores:
        return [0.0] * len(DOC_FEATURES)
    logits = sorted((_logit(s) for s in sentence_scores), reverse=True)
    top = logits[:3]
    return [sum(top) / len(top), sum(logits) / len(logits), sum(flagged) / len(flagged)]


def doc_score(sentences: Sequence[SentenceScore], settings: DetectSettings) -> float:
    """How likely a text with these sentences is spun (0 for a text without sentences)."""
    if not sentences:
        return 0.0
    weights = [settings.doc_weights[n] for n in DOC_FEATURES]
    features = doc_features([s.score for s in sentences], [s.flagged for s in sentences])
    return _probability(features, weights, settings.doc_bias)


def sentence_spans(
    text: str, spans: Sequence[tuple[int, int]], scores: Sequence[float], edits: Sequence[Edit], threshold: float
) -> list[Span]:
    """Runs of words at least ``threshold`` suspicious in sentence ``text``, widened to the ``edits`` the restorer
    makes that overlap them, with the run's text after those edits as the suggestion (None when it makes none
    there)."""
    if max(scores, default=0.0) < threshold:
        return []
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


def read_words(
    sentences: Sequence[str], tagged: Sequence[Tags], pipeline: Pipeline, terms: Sequence[bool] | None = None
) -> tuple[list[list[Candidate]], list[list[float]], list[tuple[Sequence[tuple[int, int]], np.ndarray]]]:
    """Each sentence's candidates as proposed (step 3: the words are read before any edit is made), the first look's
    probability of each (all the sentences' weighed together), and the sentence's ``word_features``, which read a
    sentence marked in ``terms`` (a term alone) by the term look's probabilities, as the restorer judges it."""
    candidates = pipeline.propose(sentences, tagged)
    probabilities = pipeline.first.grouped_probabilities(candidates)
    judged = list(probabilities)
    alone = [j for j, term in enumerate(terms or []) if term] if pipeline.term is not None else []
    for j, ps in zip(alone, pipeline.term.grouped_probabilities([candidates[j] for j in alone]) if alone else []):
        judged[j] = ps
    read = word_features(sentences, tagged, candidates, judged, pipeline.ngrams, pipeline.science)
    return candidates, probabilities, read


def score_sentences(
    sentences: Sequence[str],
    tagged: Sequence[Tags],
    pipeline: Pipeline,
    settings: DetectSettings,
    terms: Sequence[bool],
) -> list[tuple[float, list[Span]]]:
    """Each sentence's score and its flagged spans (offsets into the sentence); a sentence marked in ``terms`` is a
    term alone, flagged at ``settings.term_threshold`` (``threshold_of``) with the term look's suggestions. The
    suggestions are the restorer's edits: the sentences holding a flagged word are reread (step 4) for them."""
    import numpy as np

    from restore.looks import made

    candidates, probabilities, read = read_words(sentences, tagged, pipeline, terms)
    scores = word_scores([features for _, features in read], settings)
    lm = pipeline.lm is not None and settings.term_lm is not None
    if lm:  # a term alone's words move together: its most suspicious one to what SmolLM2's reading says
        alone = [j for j, term in enumerate(terms) if term and max(scores[j], default=0.0) > 0]
        tops = [_logit(max(scores[j])) for j in alone]
        readings = settings.term_lm.probabilities(pipeline.lm, [sentences[j] for j in alone], tops)
        for j, top, p in zip(alone, tops, readings):
            letter = ~np.isnan(read[j][1][:, 0])
            scores[j] = [_sigmoid(_logit(x) + _logit(p) - top) if k else x for x, k in zip(scores[j], letter)]
    thresholds = [settings.threshold_of(alone, lm) for alone in terms]
    flagged = [j for j, (s, t) in enumerate(zip(scores, thresholds)) if max(s, default=0.0) >= t]
    first = pipeline.first
    again = pipeline.reread(  # with read_words' probabilities: its contexts are the edits first.choose makes
        [sentences[j] for j in flagged], [candidates[j] for j in flagged], first, [probabilities[j] for j in flagged]
    )
    edits: list[list[Edit]] = [[] for _ in sentences]
    for j, cands, (look, ps) in zip(flagged, again, pipeline.judged(again, [terms[j] for j in flagged], first)):
        edits[j] = made(cands, ps, look.min_confidence)
    out = []
    for text, (spans, rows), s, found, threshold in zip(sentences, read, scores, edits, thresholds):
        lettered = [x for x, letter in zip(s, ~np.isnan(rows[:, 0])) if letter]
        out.append((sentence_score(lettered, settings), sentence_spans(text, spans, s, found, threshold)))
    return out


def reports(
    texts: Sequence[str],
    located: Sequence[tuple[int, int, int]],
    scored: Sequence[tuple[float, list[Span]]],
    settings: DetectSettings,
    terms: Sequence[bool],
    lm: bool = False,
) -> list[Report]:
    """One Report per text from its sentences' scores and spans; ``located``: (text index, start, end) of each
    scored sentence, in order; ``terms``: whether each text is a term alone (``restore.segment.pieces``); ``lm``:
    whether they were read with the language model."""
    sentences: list[list[SentenceScore]] = [[] for _ in texts]
    spans: list[list[Span]] = [[] for _ in texts]
    for (t, start, end), (score, found) in zip(located, scored):
        sentences[t].append(SentenceScore(start, end, score, bool(found)))
        spans[t] += [Span(start + x.start, start + x.end, x.text, x.score, x.suggestion) for x in found]
    return [
        Report(doc_score(ss, settings), ss, sp, threshold)
        for ss, sp, threshold in zip(sentences, spans, (settings.threshold_of(t, lm) for t in terms))
    ]


def join(parts: Sequence[tuple[int, Report]], settings: DetectSettings) -> Report:
    """One Report for a text scored in pieces: (offset of the piece in the text, its report)."""
    sentences = [SentenceScore(o + s.start, o + s.end, s.score, s.flagged) for o, r in parts for s in r.sentences]
    spans = [Span(o + x.start, o + x.end, x.text, x.score, x.suggestion) for o, r in parts for x in r.spans]
    alone = [r.threshold for _, r in parts if r.sentences]  # a term alone stays one beside pieces of no sentence
    threshold = alone[0] if len(sentences) == 1 else settings.threshold
    return Report(doc_score(sentences, settings), sentences, spans, threshold)
