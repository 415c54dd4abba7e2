"""Candidate edits of a sentence and what each is judged by: its features, by name (FEATURES).

For every word, the longest spun n-gram the phrase table knows starting there proposes its commonest
originals, and the tagger proposes its own replacement (``propose``). Each candidate gets a few features:
how often the n-gram was an edit in training, how sure the tagger is the word should change, whether the
clean-text n-gram model prefers the replacement between its neighbours, how spun the rest of the sentence
looks, ... ``reread`` reads the context features again with other edits made, as a spun neighbour misleads
the n-grams, and ``relook`` gives the likeliest candidates the second look's features (SECOND_LOOK_FEATURES):
a language model's reading of their context.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from restore.case import recase
from restore.edits import Edit, apply, words
from restore.engine import Tags
from restore.phrases import MAX_N, NgramLM, PhraseTable
from restore.tags import decode

if TYPE_CHECKING:
    from restore.graph import SynonymGraph
    from restore.lm import ContextLM
    from restore.looks import Look

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
    # tagger's P(change), the spun-word head's P(spun) or the table's swap rate there, whichever is highest
    "trigram_gain",  # trigram log-probability of the replacement and the two words after it, given the two
    # before, minus the same for the spun words (on dev: +1 BLEU at the same clean damage over the bigrams alone)
    "in_graph",  # the synonym graph lists the spun words as a synonym of the replacement (any thesaurus family)
    "graph_margin",  # channel score of a one-word replacement minus that of the best other original the graph
    # offers for the word (its lead over the runner-up when it is the best; 0 when the graph offers none); an
    # original's channel score: its trigram score in the word's place minus the log of how many synonyms its
    # entry lists (P(original | context) P(spun word | original) for a spinner drawing uniformly from the entry)
    "log_rivals",  # log (1 + the number of one-word originals the graph offers for the word)
    "log_spun",  # log P(spun) of the first word by the spun-word head (trained on every family, ``restore.engine``)
    "log_synonyms",  # log (1 + how many synonyms the replacement's thesaurus entry lists; 0 when none lists the
    # spun words): a spinner drawing from an entry of n synonyms leaves a given one with probability 1/n
    "science_gain",  # context_gain read by the n-gram model of scientific prose: news n-grams take technical terms
    # for spun words ("This module accepts" -> "This will accept"), scientific ones know them
    "word_by_word",  # the replacement is two graph originals in a row for two spun words: a term spun word by word
    # ("counterfeit consciousness" for "artificial intelligence", ``_pairs``)
    "pair_seen",  # for such a pair: log (1 + how often news and science saw its two originals together; 0 else)
    "pair_spun",  # ... and log of how likely its second word is spun (tagger or spun-word head; 0 for others)
)
CONTEXT_FEATURES = ("context_gain", "left_gain", "right_gain", "trigram_gain", "science_gain")  # read again by reread
SECOND_LOOK_FEATURES = (  # what ``relook`` gives the second look
    "logit",  # the first look's log-odds
    "lm_gain",  # language model log-probability of the window with the replacement minus as it reads
    "lm_gain_vs_best",  # ... minus the best gain of any candidate starting at the same word (0 for the best)
)
SECOND_LOOK_FLOOR = 0.05  # candidates the first look finds less likely are not read again by the language model
# (on dev: 1 of 2,500 applied edits came from below it, and it halves the language model's work against 0.02)
TAGGER_FLOOR = 0.2  # the tagger's own proposals below this are not candidates
GRAPH_FLOOR = 0.1  # words at least this likely spun (the spun-word head or the tagger) get the graph's originals
GRAPH_TOP = 2  # ... the ones with the best channel score in place of the word (see graph_margin; on 600 one-word
# swaps of each lofo dev set the original is among them 1.2-2.0 points more often than by the trigram score alone)
GRAPH_WORDS = 4  # spun n-grams of 2 to this many words, one of them suspected, that news and science saw at most
# once and that are no headword, get the graph's one-word originals, the GRAPH_TOP best in their place ("talk over
# with" -> "visit")
PAIR_TOP = 2  # pairs of originals of two neighbouring spun words kept (``_pairs``), and the best of science's: on
# 1,344 WordNet two-word terms spun word by word whose originals the graph offers, the first two hold the term 52%
# of the time (count over the square root of each word's frequency and over the synonyms each entry lists; by
# count alone 43%)
PAIR_BLOCK = 64  # neighbouring words whose pairs of originals are counted together (a chunk's all at once: +90 MB peak)
READ_CHUNK = 256  # sentences whose graph originals are read together (all at once: +200 MB peak on 2,000 sentences)
MIN_EDIT_RATE = 0.003  # table n-grams swapped less often than this are not candidates: on dev they were
# 60% of all candidates and 1 of 3,900 applied edits, so skipping them makes deciding ~2x faster


@dataclass
class Candidate:
    """An edit and its features, in the order of the look that judges it."""

    edit: Edit
    features: list[float]


def _log(x: float) -> float:
    return math.log(max(x, 1e-6))


def _in_number(text: str, start: int, end: int) -> bool:
    """Does ``text[start:end]`` cut through a number ("following 5" of "following 5:30", "2" of "2,000")?"""
    if text[start : start + 1].isdigit() and start >= 2 and text[start - 1] in ":,./" and text[start - 2].isdigit():
        return True
    return text[end - 1 : end].isdigit() and end + 2 <= len(text) and text[end] in ":,./" and text[end + 1].isdigit()


def propose(
    texts: Sequence[str],
    tagged: Sequence[Tags],
    phrases: Sequence[str],
    table: PhraseTable,
    lm: NgramLM,
    graph: SynonymGraph | None = None,
    science: NgramLM | None = None,
) -> list[list[Candidate]]:
    """The candidate edits of each sentence with their features (order of FEATURES); ``graph`` adds the
    originals its thesauri list for the words the tagger or the spun-word head suspects, and says which
    candidates it relates (the n-gram model reads them for all the sentences at once); ``science``, the n-gram
    model of scientific prose, reads each candidate too (science_gain 0 without it)."""
    drafts = [_draft(text, tags, phrases, table) for text, tags in zip(texts, tagged)]
    suspected: list[list[int]] = [[] for _ in texts]  # per sentence: the words that get the graph's originals
    readings: list[dict[int, dict[str, float]]] = [{} for _ in texts]  # word -> original -> its trigram score
    multiword: list[dict[tuple[int, int], dict[str, float]]] = [{} for _ in texts]  # (first word, words) -> ...
    in_science: list[dict[int, dict[str, float]]] = [{} for _ in texts]  # ... read by the science n-grams
    pairs: list[dict[tuple[int, int, str], tuple[int, int]]] = [{} for _ in texts]  # terms spun word by word
    wanted = []  # the suspected words, and those with one-word table candidates (for the graph features)
    if graph is not None:
        for j, ((spans, _, found, _), (_, _, keep, spun)) in enumerate(zip(drafts, tagged)):
            suspected[j] = [i for i in range(min(len(spans), len(keep))) if max(spun[i], 1 - keep[i]) >= GRAPH_FLOOR]
            others = {i for i, k, _, _ in found.values() if k == 1}.difference(suspected[j])
            wanted.append([*suspected[j], *sorted(others)])
    out: list[list[Candidate]] = []
    for c in range(0, len(texts), READ_CHUNK):  # a chunk at a time: the arrays stay small, the calls few
        part = slice(c, c + READ_CHUNK)
        if graph is not None:
            readings[part] = _graph_readings(texts[part], drafts[part], wanted[part], graph, lm)
            multiword[part] = _multiword_readings(texts[part], drafts[part], suspected[part], graph, lm, science)
            if science is not None:
                in_science[part] = _graph_readings(texts[part], drafts[part], suspected[part], graph, lm, science)
            pairs[part] = _pairs(texts[part], drafts[part], suspected[part], graph, lm, science)
        windows: list[tuple] = []  # each candidate's (left2, right2, before, after), read together
        found = [
            _candidates(
                texts[j],
                tagged[j],
                *drafts[j],
                suspected[j],
                readings[j],
                multiword[j],
                in_science[j],
                pairs[j],
                lm,
                graph,
                windows,
            )
            for j in range(c, min(c + READ_CHUNK, len(texts)))
        ]
        for candidate, values in zip((x for cs in found for x in cs), _contexts(lm, windows, science)):
            for f, value in zip(_CONTEXT_INDEX, values):
                candidate.features[f] = value
        out += found
    return out


def _draft(
    text: str, tags: Tags, phrases: Sequence[str], table: PhraseTable
) -> tuple[Sequence[tuple[int, int]], list[str], dict[tuple[int, int, str], list], dict[tuple[int, int, str], float]]:
    """The word spans of ``text``, its words lowercased, the table's and the tagger's candidates ((start, end,
    after) -> [first word, words, swap rate, count]) and the tagger's own proposals with their probabilities."""
    labels, probs, keep, _ = tags
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
    return spans, [text[s:e].lower() for s, e in spans], found, tagger


def _candidates(
    text: str,
    tags: Tags,
    spans: Sequence[tuple[int, int]],
    lowered: list[str],
    found: dict[tuple[int, int, str], list],
    tagger: dict[tuple[int, int, str], float],
    suspected: Sequence[int],
    readings: dict[int, dict[str, float]],
    multiword: dict[tuple[int, int], dict[str, float]],
    in_science: dict[int, dict[str, float]],
    pairs: dict[tuple[int, int, str], tuple[int, int]],
    lm: NgramLM,
    graph: SynonymGraph | None,
    windows: list[tuple],
) -> list[Candidate]:
    """One sentence's candidates with their features: the drafted ones, for each ``suspected`` word the
    GRAPH_TOP originals with the best channel score in its place (``readings``: word -> original -> score) and
    the best by the science n-grams (``in_science``), the same for each multi-word n-gram read in ``multiword``
    ((first word, words) -> original -> score), and for two neighbouring words, one of them suspected, the
    ``pairs`` of their originals (``_pairs``). Their CONTEXT_FEATURES are left 0: each candidate's (left2, right2,
    before, after) is added to ``windows`` for ``_contexts`` to read with the other sentences' candidates."""
    _, _, keep, spun = tags
    for i in suspected:
        best = sorted(readings[i], key=readings[i].__getitem__, reverse=True)[:GRAPH_TOP]
        science_reading = in_science.get(i, {})
        best += sorted(science_reading, key=science_reading.__getitem__, reverse=True)[:1]
        for after in best:
            found.setdefault((spans[i][0], spans[i][1], after), [i, 1, 0.0, 0])
    for (i, k), reading in multiword.items():
        for after in sorted(reading, key=reading.__getitem__, reverse=True)[:GRAPH_TOP]:
            found.setdefault((spans[i][0], spans[i + k - 1][1], after), [i, k, 0.0, 0])
    for key, (i, _) in pairs.items():
        found.setdefault(key, [i, 2, 0.0, 0])
    looks_spun = [max(1 - keep[j], spun[j]) if j < len(keep) else 0.0 for j in range(len(spans))]
    flagged = looks_spun.copy()  # by the tagger or the spun-word head alone
    for i, _, rate, _ in found.values():
        looks_spun[i] = max(looks_spun[i], rate)
    total = sum(looks_spun)
    leaders = {(i, 1): _leaders(reading) for i, reading in readings.items()}
    leaders |= {key: _leaders(reading) for key, reading in multiword.items()}
    out = []
    around: dict[tuple[int, int], tuple] = {}  # (first word, words) -> its _window, shared by its candidates
    for (start, end, after), (i, k, rate, count) in found.items():
        before = text[start:end]
        if before == after or _in_number(text, start, end):
            continue
        if (i, k) not in around:
            around[i, k] = _window(lowered, i, k)
        windows.append((*around[i, k], before, after))
        p_keep = keep[i] if i < len(keep) else 1.0
        reading = readings.get(i, {}) if k == 1 else multiword.get((i, k), {})
        low = after.lower()
        listed = graph.originals(before.lower()) if graph is not None else {}
        t = tagger.get((start, end, after))
        pair = pairs.get((start, end, after))
        features = [
            0.0,  # context_gain, left_gain and right_gain: read by _contexts
            0.0,
            0.0,
            lm.unigram(after) - lm.unigram(before),
            _log(rate),
            _log(1 - p_keep),
            _log(p_keep),
            math.log(count) if count else 0.0,
            float(k),
            float(t is not None),
            t or 0.0,
            math.log(0.01 + (total - looks_spun[i]) / len(spans)),
            0.0,  # trigram_gain
            float(low in listed),
            _margin(reading, leaders[i, k], low) if reading else 0.0,
            math.log(1 + len(reading)),
            _log(spun[i] if i < len(spun) else 0.0),
            math.log(1 + listed.get(low, 0)),
            0.0,  # science_gain
            float(pair is not None),
            math.log(1 + pair[1]) if pair is not None else 0.0,
            _log(flagged[i + 1]) if pair is not None else 0.0,
        ]
        out.append(Candidate(Edit(start, end, before, recase(before, after, sentence_start=i == 0)), features))
    return out


def _pairs(
    texts: Sequence[str],
    drafts: Sequence[tuple],
    suspected: Sequence[Sequence[int]],
    graph: SynonymGraph,
    lm: NgramLM,
    science: NgramLM | None,
) -> list[dict[tuple[int, int, str], tuple[int, int]]]:
    """Terms spun word by word ("counterfeit consciousness" for "artificial intelligence"), in each sentence (its
    ``_draft``): for two neighbouring plain words, one of them ``suspected``, that news and science each saw together
    at most once, the PAIR_TOP pairs of their graph originals seen together (at least twice in news and science) most
    often for how common each word is (count / sqrt(frequency of each) / synonyms of each entry), and the best so by
    science's counts alone: (start, end, replacement) -> (first word, times news and science saw the pair). The
    pairs of PAIR_BLOCK neighbouring words at a time, across sentences, are counted in one lookup per n-gram model."""
    import numpy as np

    from restore.graph import unigram_counts

    counts = unigram_counts(lm)
    freq = unigram_counts(science) if science is not None else None
    wanted = []  # (sentence, first word, the originals of both words: names, ids, log synonyms)
    for j, (text, (spans, lowered, _, _), marked) in enumerate(zip(texts, drafts, suspected)):
        marked = set(marked)
        plain: dict[int, bool] = {}
        for i in range(len(spans) - 1):
            if not (i in marked or i + 1 in marked):
                continue
            for x in (i, i + 1):
                if x not in plain:
                    plain[x] = _plain(text, spans, x)
            if not (plain[i] and plain[i + 1]):
                continue
            a, b = lowered[i], lowered[i + 1]
            if lm.count(a, b) > 1 or (science is not None and science.count(a, b) > 1):
                continue
            originals_a, originals_b = graph.known_originals(a, lm), graph.known_originals(b, lm)
            if originals_a[0] and originals_b[0]:
                wanted.append((j, i, originals_a, originals_b))
    out: list[dict[tuple[int, int, str], tuple[int, int]]] = [{} for _ in texts]
    for b in range(0, len(wanted), PAIR_BLOCK):  # PAIR_BLOCK words' pairs counted together
        block = wanted[b : b + PAIR_BLOCK]
        news_seen = _pair_counts(lm, [(x[1], y[1]) for _, _, x, y in block])
        if science is not None:
            in_science = [(_ids_in(science, x[0]), _ids_in(science, y[0])) for _, _, x, y in block]
            science_seen = _pair_counts(science, in_science)
        for k, (j, i, (names_a, ids_a, syn_a), (names_b, ids_b, syn_b)) in enumerate(block):
            seen = news_seen[k]
            picks = []
            if science is not None:
                (in_a, in_b), seen_there = in_science[k], science_seen[k]
                seen = seen + seen_there
                freq_a, freq_b = np.where(in_a >= 0, freq[in_a], 1), np.where(in_b >= 0, freq[in_b], 1)
                picks += _associated(seen_there, freq_a, freq_b, syn_a, syn_b, 1)
            picks = _associated(seen, counts[ids_a], counts[ids_b], syn_a, syn_b, PAIR_TOP) + picks
            spans = drafts[j][0]
            for x, y in picks:
                out[j][(spans[i][0], spans[i + 1][1], f"{names_a[x]} {names_b[y]}")] = (i, int(seen[x, y]))
    return out


def _associated(seen, freq_a, freq_b, syn_a, syn_b, top: int) -> list[tuple[int, int]]:
    """The (row, column) of the ``top`` pairs seen together at least twice (``seen``), best first: each count over
    the square roots of its words' frequencies and over the synonyms their entries list (log ``syn_a``, ``syn_b``)."""
    import numpy as np

    kept = np.flatnonzero(seen >= 2)  # only these are ranked (ties: in row-major order)
    rows, columns = np.divmod(kept, seen.shape[1])
    log_a, log_b = np.log(freq_a) / 2 + syn_a, np.log(freq_b) / 2 + syn_b
    score = np.log(seen.ravel()[kept]) - log_a[rows] - log_b[columns]
    best = np.argsort(-score, kind="stable")[:top]
    return list(zip(rows[best].tolist(), columns[best].tolist()))


@lru_cache(maxsize=1 << 16)
def _ids_in(lm: NgramLM, names: tuple[str, ...]):
    """The ids of ``names`` in ``lm``'s vocabulary (-1: unknown), remembered: a word's graph originals are read by
    the science n-grams both for its own candidates and for its pairs."""
    import numpy as np

    return np.array([lm.ids.get(name, -1) for name in names], np.int64)


def _pair_counts(lm: NgramLM, grids: Sequence[tuple]) -> list:
    """For each grid (``ids_a``, ``ids_b``: word ids, -1 unknown), how often ``lm`` saw each word of ``ids_a``
    followed by each of ``ids_b``, as a len(ids_a) x len(ids_b) array; all the grids are looked up together."""
    import numpy as np

    from restore.graph import bigram_indices

    if not grids:
        return []
    first = np.concatenate([np.repeat(a, len(b)) for a, b in grids])
    second = np.concatenate([np.tile(b, len(a)) for a, b in grids])
    k = bigram_indices(lm, first, second)
    seen = np.where(k >= 0, lm.counts[np.maximum(k, 0)], 0).astype(np.int64)
    sizes = np.cumsum([len(a) * len(b) for a, b in grids])[:-1]
    return [x.reshape(len(a), len(b)) for x, (a, b) in zip(np.split(seen, sizes), grids)]


def _plain(text: str, spans: Sequence[tuple[int, int]], i: int) -> bool:
    """Is word ``i`` letters only (hyphens and apostrophes inside) and not capitalised mid-sentence (a name)?"""
    word = text[spans[i][0] : spans[i][1]]
    return word.replace("-", "").replace("'", "").isalpha() and not (i > 0 and word[:1].isupper())


def _graph_readings(
    texts: Sequence[str],
    drafts: Sequence[tuple],
    wanted: Sequence[Sequence[int]],
    graph: SynonymGraph,
    lm: NgramLM,
    reader: NgramLM | None = None,
    k: int = 1,
) -> list[dict[int, dict[str, float]]]:
    """For each sentence (its ``_draft``), for each of its ``wanted`` words (the first of ``k`` words): the one-word
    originals ``graph`` offers for it, that the n-gram model ``lm`` knows, each with its channel score in its place
    (its trigram score by ``reader``, ``lm`` by default, read together in a call per window shape for all the
    sentences, minus the log of its entry's synonyms); none for a word without a letter, inside a number or
    capitalised mid-sentence, nor for words apart other than by a space."""
    import numpy as np

    from restore.graph import trigram_scores

    reader = reader or lm
    out: list[dict[int, dict[str, float]]] = [{} for _ in texts]
    shapes: dict[tuple[int, int], list] = {}  # window shape -> (sentence, word, originals, ids, window ids) rows
    for j, (text, (sentence, lowered, _, _), indices) in enumerate(zip(texts, drafts, wanted)):
        for i in indices:
            out[j][i] = {}
            start, end = sentence[i][0], sentence[i + k - 1][1]
            written = [text[a:b] for a, b in sentence[i : i + k]]
            if (
                not all(any(ch.isalpha() for ch in w) for w in written)
                or any(w[:1].isupper() for w in written[i == 0 :])  # a sentence's first word may be capitalised
                or _in_number(text, start, end)
                or text[start:end] != " ".join(written)
            ):
                continue
            names, ids, log_synonyms = graph.known_originals(" ".join(lowered[i : i + k]), lm)
            if k > 1:  # "wooden legs" -> "legs", "heating plant" -> "heat": a compound, far likelier than a spin
                kept = [x for x, name in enumerate(names) if not any(_same_stem(name, w) for w in lowered[i : i + k])]
                names, ids, log_synonyms = tuple(names[x] for x in kept), ids[kept], log_synonyms[kept]
            if names:
                if reader is not lm:
                    ids = _ids_in(reader, names)
                left2, right2 = _window(lowered, i, k)
                context = [reader.ids.get(w, -1) for w in (*left2, *right2)]
                shapes.setdefault((len(left2), len(right2)), []).append((j, i, names, ids, log_synonyms, context))
    for (left_size, _), rows in shapes.items():
        counts = [len(row[3]) for row in rows]
        window = np.array([row[-1] for row in rows], np.int64).T
        ids = np.concatenate([row[3] for row in rows])
        scores = trigram_scores(reader, tuple(window[:left_size]), ids, tuple(window[left_size:]), counts)
        scores = (scores - np.concatenate([row[4] for row in rows])).tolist()
        k = 0
        for (j, i, names, *_), count in zip(rows, counts):
            out[j][i] = dict(zip(names, scores[k : k + count]))
            k += count
    return out


def _multiword_readings(
    texts: Sequence[str],
    drafts: Sequence[tuple],
    suspected: Sequence[Sequence[int]],
    graph: SynonymGraph,
    lm: NgramLM,
    science: NgramLM | None,
) -> list[dict[tuple[int, int], dict[str, float]]]:
    """For each sentence: the ``_graph_readings`` of its n-grams of 2 to GRAPH_WORDS words holding a ``suspected``
    word, (first word, words) -> original -> channel score, for those the graph lists (multi-word thesaurus entries:
    "talk over with" for "visit") that news and science (``_unseen``) saw at most once and that have no entry of
    their own: a phrase clean text uses ("look at", "social welfare") or a term ("magnetic tape") is no spin."""
    out: list[dict[tuple[int, int], dict[str, float]]] = [{} for _ in texts]
    for k in range(2, GRAPH_WORDS + 1):
        wanted = []
        for (spans, lowered, _, _), marked in zip(drafts, suspected):
            near = {x for i in marked for x in range(i - k + 1, i + 1)}  # n-grams holding a suspected word
            wanted.append(
                [
                    i
                    for i in sorted(near)
                    if 0 <= i <= len(spans) - k
                    and graph.may_list(lowered[i : i + k])
                    and _unseen(lowered[i : i + k], lm, science)
                    and not graph.has_entry(" ".join(lowered[i : i + k]))
                ]
            )
        for j, read in enumerate(_graph_readings(texts, drafts, wanted, graph, lm, k=k)):
            out[j] |= {(i, k): reading for i, reading in read.items() if reading}
    return out


def _same_stem(a: str, b: str) -> bool:
    """Are ``a`` and ``b`` the same word or do they share their first four letters ("heat", "heating")?"""
    return a == b or (len(a) >= 4 and len(b) >= 4 and a[:4] == b[:4])


def _unseen(words: Sequence[str], lm: NgramLM, science: NgramLM | None) -> bool:
    """Did news (``lm``) and science each see these words together at most once: two words as a bigram, more as
    some trigram inside them (a trigram seen once is not kept)?"""
    models = [lm] if science is None else [lm, science]
    if len(words) == 2:
        return all(m.count(*words) <= 1 for m in models)
    return any(all(m.trigram_count(*words[t : t + 3]) <= 1 for m in models) for t in range(len(words) - 2))


def _leaders(reading: dict[str, float]) -> tuple[str | None, float, float]:
    """The best-read original of a word's ``reading``, its score and the runner-up's (-inf when none)."""
    best, first, second = None, -math.inf, -math.inf
    for name, value in reading.items():
        if value > first:
            best, first, second = name, value, first
        elif value > second:
            second = value
    return best, first, second


def _margin(reading: dict[str, float], leaders: tuple[str | None, float, float], after: str) -> float:
    """``after``'s score minus the best other original's (0 when the graph offers no rival or not ``after``);
    ``leaders``: ``_leaders(reading)``."""
    if after not in reading or len(reading) < 2:
        return 0.0
    best, first, second = leaders
    return reading[after] - (second if after == best else first)


def _window(lowered: Sequence[str], i: int, k: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The two words before words ``i .. i+k-1`` (``<s>`` at a sentence start) and the two after (``</s>``)."""
    left2 = tuple(lowered[i - 2 : i]) if i >= 2 else ("<s>", *lowered[:i])
    right2 = tuple(lowered[i + k : i + k + 2]) + (("</s>",) if i + k + 2 > len(lowered) else ())
    return left2, right2


def _contexts(
    lm: NgramLM, items: Sequence[tuple[tuple[str, ...], tuple[str, ...], str, str]], science: NgramLM | None = None
) -> list[tuple[float, float, float, float, float]]:
    """The CONTEXT_FEATURES of each item (left2, right2, before, after): replacing ``before`` by ``after`` between
    the two words before and the two after. All are read at once, and each number is the one ``lm.score``,
    ``lm.trigram_score`` and ``lm.logprob`` give: the same logarithms, each sum taken in the same order."""
    import numpy as np

    if not items:
        return []
    windows: list[tuple[str, ...]] = []  # each read as lm.trigram_score reads it, its middle as lm.score does
    shapes: list[tuple[int, int]] = []  # (words before the middle, words of the middle)
    spun_of: dict[tuple, int] = {}  # each spun side once: it is shared by up to 3 replacements
    rows = []
    for left2, right2, before, after in items:
        key = (left2, before, right2)
        if key not in spun_of:
            spun_of[key] = len(windows)
            old = lm.tokens(before)
            windows.append((*left2, *old, *right2))
            shapes.append((len(left2), len(old)))
        new = lm.tokens(after)
        rows.append((spun_of[key], len(windows)))
        windows.append((*left2, *new, *right2))
        shapes.append((len(left2), len(new)))
    local: dict[str, int] = {}
    flat = np.fromiter((local.setdefault(w, len(local)) for window in windows for w in window), np.int64)
    lengths = np.fromiter(map(len, windows), np.int64, len(windows))
    lefts, middles = np.array(shapes, np.int64).T
    owner = np.repeat(np.arange(len(windows)), lengths)
    begin = np.cumsum(lengths) - lengths  # each window's first word in ``flat``
    position = np.arange(len(flat)) - begin[owner]
    # the bigrams lm.score reads: from the word before the middle to the word after it
    middle = np.flatnonzero((position >= lefts[owner] - 1) & (position < (lefts + middles)[owner]))
    scores, trigrams, bigrams = (x.tolist() for x in _ngram_logprobs(lm, local, flat, lengths, middle, lefts))
    in_science = None if science is None else _ngram_logprobs(science, local, flat, lengths, middle)[0].tolist()
    edge = (begin + lefts - 1).tolist()  # where the bigram of the word before the middle and its first word starts
    last = (begin + lefts + middles - 1).tolist()  # ... of its last word (the word before, for none) and the next
    middles = middles.tolist()
    out = []
    for spun, new in rows:
        gain = scores[new] - scores[spun]
        if middles[new]:
            if middles[spun]:
                old_first = bigrams[edge[spun]]
            else:  # no old words: the left word is read after itself, as lm.logprob(left, old[0]) did
                left = windows[spun][shapes[spun][0] - 1]
                old_first = lm.logprob(left, left)
            left_gain, right_gain = bigrams[edge[new]] - old_first, bigrams[last[new]] - bigrams[last[spun]]
        else:  # a deletion: the left neighbour now meets the right one
            left_gain, right_gain = gain, 0.0
        science_gain = in_science[new] - in_science[spun] if in_science is not None else 0.0
        out.append((gain, left_gain, right_gain, trigrams[new] - trigrams[spun], science_gain))
    return out


def _ngram_logprobs(lm: NgramLM, local: dict[str, int], flat, lengths, middle, lefts=None) -> tuple:
    """For windows of words one after another in ``flat`` (each word's index in ``local``; ``lengths``: each
    window's number of words): the sum of ``lm.logprob`` over the bigrams starting at the words ``middle`` (each
    window's ``lm.score``); with ``lefts`` (the words before each window's middle), also each window's
    ``lm.trigram_score`` (the first bigram, then the trigrams, in order) and ``lm.logprob`` of the bigram starting
    at each word (0 at a window's last)."""
    import numpy as np

    from restore.graph import bigram_indices, bigram_logprobs, trigram_logprobs

    ids = np.array([lm.ids.get(w, -1) for w in local], np.int64)[flat]
    windows = len(lengths)
    owner = np.repeat(np.arange(windows), lengths)
    position = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)

    def bigrams_at(at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # lm.logprob, and the bigrams' indices
        k = bigram_indices(lm, ids[at], ids[at + 1])
        return bigram_logprobs(lm, ids[at], ids[at + 1], k), k

    if lefts is None:
        return (np.bincount(owner[middle], bigrams_at(middle)[0], windows),)
    at = np.flatnonzero(position < lengths[owner] - 1)
    bigrams, k = np.zeros(len(flat)), np.full(len(flat), -1, np.int64)
    bigrams[at], k[at] = bigrams_at(at)
    scores = np.bincount(owner[middle], bigrams[middle], windows)
    at = np.flatnonzero(position < lengths[owner] - 2)
    logprobs = trigram_logprobs(lm, k[at], ids[at + 2], bigrams[at + 1])
    first = np.where((lefts == 1) & (lengths > 1), bigrams[np.cumsum(lengths) - lengths], 0.0)
    return scores, first + np.bincount(owner[at], logprobs, windows), bigrams


def in_context(text: str, edit: Edit, context: Sequence[Edit]) -> tuple[str, Edit]:
    """``text`` with the ``context`` edits (ordered, non-overlapping) that do not overlap ``edit`` made, and
    ``edit`` moved to where its words now are."""
    made = [e for e in context if e.end <= edit.start or e.start >= edit.end]
    shift = sum(len(e.after) - (e.end - e.start) for e in made if e.end <= edit.start)
    return apply(text, made), Edit(edit.start + shift, edit.end + shift, edit.before, edit.after, edit.score)


_CONTEXT_INDEX = [FEATURES.index(f) for f in CONTEXT_FEATURES]


def reread(
    texts: Sequence[str],
    candidates: Sequence[list[Candidate]],
    contexts: Sequence[Sequence[Edit]],
    lm: NgramLM,
    science: NgramLM | None = None,
) -> list[list[Candidate]]:
    """Each sentence's ``candidates`` with their CONTEXT_FEATURES read again where its ``contexts`` edits (the first
    pass's) they do not overlap are made: in "a good deal chancy and ferocious one" each spun word misleads the
    n-grams judging its neighbours (on dev: +0.3 BLEU at the same clean damage). The candidates of all the
    sentences are read together."""
    out: list[list[Candidate]] = []
    changed: list[Candidate] = []
    windows: list[tuple] = []
    for text, cands, context in zip(texts, candidates, contexts):
        if not context:
            out.append(cands)
            continue
        spans = words(text)
        starts = {s: i for i, (s, _) in enumerate(spans)}
        readings: dict[str, tuple[Sequence[tuple[int, int]], list[str], dict[int, int]]] = {}
        row = []
        for c in cands:
            i = starts[c.edit.start]
            k = sum(1 for s, _ in spans[i:] if s < c.edit.end)
            start, end = spans[max(i - 2, 0)][0], spans[min(i + k + 1, len(spans) - 1)][1]  # its window as it reads
            made = [e for e in context if e.end <= c.edit.start or e.start >= c.edit.end]
            if not any(e.start < end and start < e.end for e in made):  # nothing made there: it reads the same
                row.append(c)
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
                row.append(c)
                continue
            again = Candidate(c.edit, list(c.features))
            row.append(again)
            changed.append(again)
            windows.append((*_window(moved_lowered, j, k), c.edit.before, c.edit.after))
        out.append(row)
    for candidate, values in zip(changed, _contexts(lm, windows, science)):
        for f, value in zip(_CONTEXT_INDEX, values):
            candidate.features[f] = value
    return out


def relook(
    lm: ContextLM, sentences: Sequence[str], candidates: Sequence[list[Candidate]], first: Look
) -> list[list[Candidate]]:
    """The candidates at least SECOND_LOOK_FLOOR likely at ``first`` look, with SECOND_LOOK_FEATURES: the
    language model reads each with the first look's other edits made."""
    from restore.looks import made

    probabilities = first.grouped_probabilities(candidates)
    kept = [[(c, p) for c, p in zip(cs, ps) if p >= SECOND_LOOK_FLOOR] for cs, ps in zip(candidates, probabilities)]
    contexts = [made(cs, ps, first.min_confidence) for cs, ps in zip(candidates, probabilities)]
    items = [in_context(s, c.edit, context) for s, cs, context in zip(sentences, kept, contexts) for c, _ in cs]
    gains = iter(lm.gains(items))
    out = []
    for cs in kept:
        scored = [(c, p, next(gains)) for c, p in cs]
        best: dict[int, float] = {}
        for c, _, g in scored:
            best[c.edit.start] = max(best.get(c.edit.start, -math.inf), g)
        out.append([Candidate(c.edit, [math.log(p / (1 - p)), g, g - best[c.edit.start]]) for c, p, g in scored])
    return out
