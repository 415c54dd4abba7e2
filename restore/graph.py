"""The synonym graph: for any word a spinner may have put in, the words whose thesaurus entries list it.

A spinner replaces an original word by a synonym from that word's entry, whatever the sense. Undoing a swap
needs the reverse relation: given the spun word, every headword whose entry lists it. ``SynonymGraph`` holds
that reverse index over the union of the thesaurus families (WordNet, all senses, with its similar-to and
also-see links; MyThes without antonyms; Moby), keyed by lemma or multi-word term (lowercase; names are left
out), as two arrays (how many originals each key has, and their ids). ``originals`` looks a spun word up by
its lemmas and inflects each original like it ("started" -> "began", "begun", ...), so candidates come for
the word as it is written. No family is named anywhere past the build.
"""

from __future__ import annotations

import lzma
import math
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property, lru_cache
from pathlib import Path
from types import MappingProxyType

import numpy as np

MAX_WORDS = 4  # longest term kept, either side
MAX_KNOWN = 100  # the most frequent one-word originals of a word are read in context (on 600 rows of each lofo dev
# set the original of a one-word swap is among them for 82.8% of Moby swaps, 90.6% WordNet, 87.8% MyThes; whole
# graph: 84.3%, 91.8%, 90.7%)
_GOOD = re.compile(r"^[a-z][a-z' -]*[a-z]$")
_MARK = re.compile(r" \(.*\)$")


def _usable(term: str) -> bool:
    return _GOOD.match(term) is not None and term.count(" ") < MAX_WORDS


def relations(folder: Path) -> Iterable[tuple[str, str]]:
    """(headword, synonym) pairs of every family in ``folder`` (the ``../shared/data/lexicon`` files):
    the synonym may replace the headword in a spinner's output."""

    def rows(name: str) -> Iterable[list[str]]:
        with lzma.open(folder / f"{name}.tsv.xz", "rt", encoding="utf-8") as f:
            for line in f:
                if not line.startswith("#"):
                    yield line.rstrip("\n").split("\t")

    for cols in rows("wordnet"):
        for syn in (cols[1].split("|") if cols[1] else []) + (cols[3].split("|") if len(cols) > 3 and cols[3] else []):
            yield cols[0], syn
    for cols in rows("mythes"):
        for syn in cols[1].split("|"):
            if syn and not syn.endswith("(antonym)"):
                yield cols[0], _MARK.sub("", syn)
    for cols in rows("moby"):
        for syn in cols[1].split("|"):
            yield cols[0], syn


class SynonymGraph:
    """spun term -> the terms whose thesaurus entries list it (its candidate originals)."""

    def __init__(self, terms: list[str], counts: np.ndarray, originals: np.ndarray, keys: np.ndarray) -> None:
        """``terms`` in id order; ``keys``: the ids that have originals, ascending; ``counts[k]``: how many
        originals ``keys[k]`` has; ``originals``: their ids, key after key."""
        self.terms = terms
        self.ids = {t: i for i, t in enumerate(terms)}
        self.keys = keys
        self.starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.targets = originals
        self.synonyms = np.bincount(originals.astype(np.int64), minlength=len(terms))  # how many terms each lists
        self.originals = lru_cache(maxsize=1 << 16)(self.originals)
        self._known: dict[str, tuple[tuple[str, ...], np.ndarray, np.ndarray]] = {}
        self._known_to = None  # the n-gram model _known was read for

    def __len__(self) -> int:
        """The number of relations."""
        return len(self.targets)

    @classmethod
    def build(cls, pairs: Iterable[tuple[str, str]]) -> SynonymGraph:
        """The reverse index of (headword, synonym) pairs; a pair with a term that is not plain lowercase words
        (up to MAX_WORDS; names are capitalised) is dropped."""
        ids: dict[str, int] = {}
        edges = set()
        for head, syn in pairs:
            if head != syn and _usable(head) and _usable(syn):
                edges.add((ids.setdefault(syn, len(ids)), ids.setdefault(head, len(ids))))
        terms = sorted(ids)
        rank = np.empty(len(terms), np.int64)
        rank[[ids[t] for t in terms]] = np.arange(len(terms))
        pairs_arr = rank[np.array(sorted(edges), np.int64)]
        pairs_arr = pairs_arr[np.lexsort((pairs_arr[:, 1], pairs_arr[:, 0]))]
        keys, counts = np.unique(pairs_arr[:, 0], return_counts=True)
        return cls(terms, counts, pairs_arr[:, 1].astype(np.uint32), keys)

    def lookup(self, term: str) -> list[str]:
        """The originals listed for a lowercased lemma or term, as stored (uninflected)."""
        i = self.ids.get(term)
        if i is None:
            return []
        k = int(self.keys.searchsorted(i))
        if k == len(self.keys) or self.keys.item(k) != i:
            return []
        return [self.terms[j] for j in self.targets[self.starts[k] : self.starts[k + 1]].tolist()]

    def originals(self, word: str) -> Mapping[str, int]:
        """Candidate originals of a spun word or term as written (lowercase): for each of its readings (lemma and
        inflection), the terms listing the lemma, inflected the same way; the word's own entry as well. Each maps
        to how many synonyms its entry lists (the most of the terms it inflects): a spinner drawing uniformly
        from an entry of n synonyms puts ``word`` for that original 1 time in n."""
        out: dict[str, int] = {}
        for lemma, tag in _readings(word):
            for term in self.lookup(lemma):
                form = _inflect(term, tag)
                if form and form != word:
                    out[form] = max(out.get(form, 0), int(self.synonyms[self.ids[term]]))
        return MappingProxyType(out)  # cached: read-only

    def may_list(self, words: Sequence[str]) -> bool:
        """Could a term of these (lowercased, at least two) words have originals? A cheap first check before
        ``originals``: some multi-word term with originals has the same words but for the first (which ``originals``
        may read as a lemma) or the last (a plural)."""
        heads, tails = self._ends
        return tuple(words[1:]) in tails or tuple(words[:-1]) in heads

    def has_entry(self, term: str) -> bool:
        """Does a thesaurus entry of its own list synonyms for ``term`` (lowercase; as written, or read as a lemma as
        ``originals`` reads it)? A multi-word term with an entry ("magnetic tape", "crossword puzzle") is a term in
        its own right, which clean text uses as it is."""
        for lemma, _ in _readings(term):
            i = self.ids.get(lemma)
            if i is not None and self.synonyms.item(i) > 0:
                return True
        return False

    @cached_property
    def _ends(self) -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
        """The multi-word terms with originals: each without its last word (heads), and without its first (tails)."""
        heads, tails = set(), set()
        for i in self.keys.tolist():
            parts = self.terms[i].split(" ")
            if len(parts) > 1:
                heads.add(tuple(parts[:-1]))
                tails.add(tuple(parts[1:]))
        return heads, tails

    def known_originals(self, word: str, lm) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
        """The one-word ``originals`` of ``word`` that the n-gram model ``lm`` knows, the MAX_KNOWN most frequent,
        their ids in ``lm`` and the log of how many synonyms each one's entry lists (remembered per word for the
        last ``lm`` asked about)."""
        if self._known_to is not lm or len(self._known) > 1 << 16:
            self._known, self._known_to = {}, lm
        found = self._known.get(word)
        if found is None:
            originals = self.originals(word)
            names = [c for c in originals if " " not in c and c in lm.ids]
            names = sorted(names, key=lambda c: (-lm.unigrams[c], c))[:MAX_KNOWN]
            found = self._known[word] = (
                tuple(names),
                np.array([lm.ids[c] for c in names], np.int64),
                np.log(np.array([max(originals[c], 1) for c in names], np.float64)),
            )
        return found

    def save(self, path: Path) -> None:
        from restore.phrases import save_arrays, words_array

        save_arrays(
            path,
            terms=words_array(self.terms),
            keys=self.keys.astype(np.uint32),
            counts=np.diff(self.starts).astype(np.uint32),
            originals=self.targets,
        )

    @classmethod
    def load(cls, path: Path) -> SynonymGraph:
        """Read what ``save`` wrote; anything else is a one-line ValueError naming the file."""
        from restore.phrases import array_words, load_arrays

        try:
            arrays = load_arrays(path)
            terms = array_words(arrays["terms"])
            return cls(terms, arrays["counts"], arrays["originals"], arrays["keys"].astype(np.int64))
        except (OSError, lzma.LZMAError, zipfile.BadZipFile, ValueError, KeyError, EOFError) as e:
            raise ValueError(f"{path}: not a synonym graph written by SynonymGraph.save ({type(e).__name__})") from None


@lru_cache(maxsize=1)
def _lemminflect():
    """The lemminflect module, imported without spaCy: when spaCy is installed, lemminflect's package imports it
    (3 s, and torch with it) only to offer spaCy extensions, which restore does not use."""
    import importlib.abc
    import sys

    if "lemminflect" in sys.modules or "spacy" in sys.modules:
        import lemminflect

        return lemminflect

    class NoSpacy(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "spacy":
                raise ImportError("not needed by restore.graph")
            return None

    blocker = NoSpacy()
    sys.meta_path.insert(0, blocker)
    try:
        import lemminflect
    finally:
        sys.meta_path.remove(blocker)
    return lemminflect


@lru_cache(maxsize=1 << 16)
def _readings(word: str) -> tuple[tuple[str, str | None], ...]:
    """(lemma, Penn tag or None for "as is") pairs a spun word can be read as: "started" -> ("start", "VBD"),
    ("start", "VBN"), ("started", None). A multi-word term is read by its first word (its last for a plural)."""
    lemminflect = _lemminflect()
    parts = word.split(" ")
    out: dict[tuple[str, str | None], None] = {(word, None): None}
    for k in {0, len(parts) - 1}:
        for upos, lemmas in lemminflect.getAllLemmas(parts[k]).items():
            for lemma in lemmas:
                for tag, forms in lemminflect.getAllInflections(lemma, upos).items():
                    if parts[k] in forms and lemma != parts[k] and (k == 0) == (tag != "NNS" or len(parts) == 1):
                        out[(" ".join([*parts[:k], lemma, *parts[k + 1 :]]), tag)] = None
    return tuple(out)


@lru_cache(maxsize=1 << 18)
def _inflect(term: str, tag: str | None) -> str | None:
    """``term`` with its first word inflected as ``tag`` (None: as it is); None when it cannot be."""
    if tag is None:
        return term
    parts = term.split(" ")
    k = len(parts) - 1 if tag == "NNS" and "of" not in parts else 0  # "buffer states", "bodies of water"
    forms = _inflection(parts[k], tag)
    if not forms:
        return None
    return " ".join([*parts[:k], forms[0], *parts[k + 1 :]])


def _inflection(word: str, tag: str) -> tuple[str, ...]:
    """lemminflect's ``getInflection(word, tag, inflect_oov=False)``, from ``_inflections(word)``: lemminflect
    deep-copies its tables on every call, and the graph inflects one word for several tags."""
    from lemminflect.core.LexicalUtils import pennTagAlts, tagToUPos

    if tagToUPos(tag) == "PROPN":  # its own lookup (never asked: lemminflect tags its lexicon's nouns NN, NNS)
        return _lemminflect().getInflection(word, tag, inflect_oov=False)
    forms = _inflections(word)
    form = forms.get(tag)
    if form is None:
        for alt in pennTagAlts(tag):
            form = forms.get(alt)
            if form:
                break
    return form or ()


@lru_cache(maxsize=1 << 16)
def _inflections(word: str) -> Mapping[str, tuple[str, ...]]:
    """lemminflect's inflections of ``word`` (any part of speech) by Penn tag, read once per word."""
    return MappingProxyType(_lemminflect().getAllInflections(word))


def trigram_scores(lm, left: tuple, ids: np.ndarray, right: tuple, repeats: np.ndarray | None = None) -> np.ndarray:
    """``lm.trigram_score(left, w, right)`` for every one-word candidate ``w`` at once, given its id in ``lm``'s
    vocabulary: the n-gram model's reading of each candidate between its neighbours. A neighbour is a word shared
    by every candidate or an array of word ids (-1: unknown), so that the candidates of many words with windows
    of the same shape are read in one call: one id per candidate, or, with ``repeats``, one per word whose
    ``repeats[r]`` candidates follow each other in ``ids``. Each bigram of the window is looked up once."""
    mid = len(left)

    def word(x) -> np.ndarray:
        return x if isinstance(x, np.ndarray) else np.int64(lm.ids.get(x, -1))

    w = [word(x) for x in left] + [ids] + [word(x) for x in right]
    w_rows = w  # the neighbours per word (per candidate without ``repeats``)
    if repeats is not None:
        w = [x if j == mid or not np.ndim(x) else np.repeat(x, repeats) for j, x in enumerate(w)]

    bigrams: dict[int, np.ndarray] = {}

    def bigram(j: int) -> np.ndarray:
        """bigram_indices of words j, j + 1 of the window, per candidate (a pair beside the candidate per word)."""
        if j not in bigrams:
            if repeats is not None and (j + 1 < mid or j > mid):
                k = bigram_indices(lm, w_rows[j], w_rows[j + 1])
                bigrams[j] = np.repeat(k, repeats) if np.ndim(k) else k
            else:
                bigrams[j] = bigram_indices(lm, w[j], w[j + 1])
        return bigrams[j]

    def bigram_logprob(j: int) -> np.ndarray:
        return bigram_logprobs(lm, w[j], w[j + 1], bigram(j))

    total = np.zeros(len(ids))
    if len(left) == 1:
        total += bigram_logprob(0)
    for j in range(len(w) - 2):
        total += trigram_logprobs(lm, bigram(j), w[j + 2], bigram_logprob(j + 1))
    return total


def bigram_indices(lm, ia, ib) -> np.ndarray:
    """The index in ``lm.keys`` of each bigram (a, b) of word ids (-1: unknown), or -1 where it was never seen."""
    return _indices(lm.keys, lm.bigram_filter, ia * len(lm.ids) + ib, (ia >= 0) & (ib >= 0))


def trigram_indices(lm, kab, ic) -> np.ndarray:
    """The index in ``lm.trigram_keys`` of each trigram: the bigram of index ``kab`` (``bigram_indices``) followed by
    word id ``ic`` (-1: unknown), or -1 where it was not kept."""
    if not len(lm.trigram_keys):  # a model whose every trigram was too rare to keep
        return np.full(np.shape(kab), -1, np.int64)
    return _indices(lm.trigram_keys, lm.trigram_filter, kab * len(lm.ids) + ic, (kab >= 0) & (ic >= 0))


def bigram_logprobs(lm, ia, ib, k) -> np.ndarray:
    """``lm.logprob`` of each bigram (a, b) of word ids (-1: unknown), given its ``bigram_indices`` ``k``."""
    from restore.phrases import BACKOFF

    uni = unigram_counts(lm)
    seen = lm.counts[np.maximum(k, 0)] / np.maximum(uni[np.maximum(ia, 0)], 1)
    unseen = BACKOFF * (np.where(ib >= 0, uni[np.maximum(ib, 0)], 0) + 0.5) / lm.total
    return np.log(np.where(k >= 0, seen, unseen))


def trigram_logprobs(lm, kab, ic, backoff) -> np.ndarray:
    """``lm.trigram_logprob`` of each trigram: the bigram of ``bigram_indices`` ``kab`` followed by word id ``ic``,
    given ``backoff``, the ``lm.logprob`` of its last two words (``bigram_logprobs``)."""
    from restore.phrases import BACKOFF

    backed_off = math.log(BACKOFF) + backoff
    if not len(lm.trigram_keys):  # a model whose every trigram was too rare to keep
        return backed_off
    t = trigram_indices(lm, kab, ic)
    seen = np.log(lm.trigram_counts[np.maximum(t, 0)] / lm.counts[np.maximum(kab, 0)])
    return np.where(t >= 0, seen, backed_off)


def _indices(keys: np.ndarray, maybe, queries, known) -> np.ndarray:
    """The index of each of ``queries`` in the sorted ``keys``, or -1 where it is absent or not ``known``; only the
    queries the KeyFilter ``maybe`` lets through are searched for."""
    if np.ndim(queries) == 0:
        k = min(int(keys.searchsorted(queries)), len(keys) - 1)
        return np.int64(k if known and keys[k] == queries else -1)
    queries, known = np.broadcast_arrays(queries, known)
    out = np.full(queries.shape, -1, np.int64)
    at = np.flatnonzero(known & maybe(queries))
    wanted = queries.ravel()[at]
    k = np.minimum(_search(keys, wanted), len(keys) - 1)
    found = keys[k] == wanted
    out.ravel()[at[found]] = k[found]
    return out


def _search(keys: np.ndarray, queries) -> np.ndarray:
    """``keys.searchsorted(queries)``, many queries looked up in ascending order: neighbouring lookups share the
    table's cache lines (2-3x faster on the n-gram tables)."""
    if np.ndim(queries) == 0 or len(queries) < 64:
        return keys.searchsorted(queries)
    order = np.argsort(queries)
    found = np.empty(len(queries), np.int64)
    found[order] = keys.searchsorted(queries[order])
    return found


@lru_cache(maxsize=4)
def unigram_counts(lm) -> np.ndarray:
    """``lm``'s word counts as an array indexed by word id."""
    return np.fromiter(lm.unigrams.values(), np.int64, len(lm.unigrams))
