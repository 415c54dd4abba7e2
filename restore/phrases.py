"""What spinners did, counted from training pairs: each spun word n-gram, how often it was an edit, and
the originals it replaced most often; plus a bigram and trigram model of clean text to judge a replacement in context.

Both are plain counts, built by ``scripts/train.py --export`` from the training split and stored in the
model folder (``phrases.tsv.xz``, ``ngrams.npz.xz``).
"""

from __future__ import annotations

import io
import lzma
import math
import re
import unicodedata
import zipfile
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np

from restore.case import fold, lower_initial, recase
from restore.edits import KEPT, diff, words

MAX_N = 5  # longest spun n-gram looked up
TOP = 3  # originals kept per n-gram
BACKOFF = 0.4  # stupid backoff weight of the unigram estimate
FILTER_BITS = 26  # a KeyFilter's bitmap: 2^26 bits (8 MB) for the ~4M bigrams or trigrams of news, ~6% of them set
_SPACES = re.compile(r"\s+")


class PhraseTable:
    """spun n-gram -> (times seen in spun text, [(original, times it replaced the n-gram)], commonest first)."""

    def __init__(self, entries: dict[str, tuple[int, list[tuple[str, int]]]]) -> None:
        self.entries = entries

    @classmethod
    def build(cls, pairs: Iterable[tuple[str, str]], min_count: int = 2) -> PhraseTable:
        pairs = list(pairs)
        edits: dict[str, Counter] = defaultdict(Counter)
        for spun, original in pairs:
            for e in diff(spun, original):
                if e.before.count(" ") < MAX_N:
                    before, after = fold(e.before, e.after)
                    edits[before][after] += 1
        edits = {g: c for g, c in edits.items() if sum(c.values()) >= min_count}
        seen: Counter = Counter()
        for spun, _ in pairs:
            spans = words(spun)
            for i in range(len(spans)):
                for n in range(1, min(MAX_N, len(spans) - i) + 1):
                    gram = spun[spans[i][0] : spans[i + n - 1][1]]
                    gram = lower_initial(gram) if i == 0 else gram
                    if gram in edits:
                        seen[gram] += 1
        return cls({g: (max(seen[g], 1), c.most_common(TOP)) for g, c in edits.items()})

    def lookup(self, gram: str, sentence_start: bool = False) -> tuple[int, list[tuple[str, int]]] | None:
        """(times seen, originals) for a spun n-gram as it reads in the text: each whitespace run read as one
        space (a tab, two spaces, a no-break space) and the text as NFC. None for an n-gram holding a line
        break or a lone surrogate (no edit changes those, ``restore.edits.KEPT``). At a sentence start a
        capitalised n-gram falls back to its lowercase entry (mid-sentence, a capital marks a name: no fallback)."""
        if KEPT.search(gram):
            return None
        gram = _SPACES.sub(" ", gram)
        if not unicodedata.is_normalized("NFC", gram):
            gram = unicodedata.normalize("NFC", gram)
        if gram in self.entries:
            return self.entries[gram]
        folded = lower_initial(gram)
        if sentence_start and folded != gram and folded in self.entries:
            seen, afters = self.entries[folded]
            return seen, [(recase(gram, a), c) for a, c in afters]
        return None

    def save(self, path: Path) -> None:
        with lzma.open(path, "wt", encoding="utf-8") as f:
            for gram, (seen, afters) in sorted(self.entries.items()):
                f.write("\t".join([gram, str(seen), *(f"{a}\t{c}" for a, c in afters)]) + "\n")

    @classmethod
    def load(cls, path: Path) -> PhraseTable:
        """Read what ``save`` wrote; anything else is a one-line ValueError naming the file (and the line)."""
        entries, number = {}, 0
        try:
            with lzma.open(path, "rt", encoding="utf-8") as f:
                for line in f:
                    number += 1
                    gram, seen, *rest = line.rstrip("\n").split("\t")
                    if len(rest) % 2:
                        raise IndexError
                    entries[gram] = (int(seen), [(rest[k], int(rest[k + 1])) for k in range(0, len(rest), 2)])
        except (OSError, EOFError, lzma.LZMAError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
            raise ValueError(f"{path}: not a phrase table written by PhraseTable.save ({reason})") from None
        except (ValueError, IndexError):
            row = "n-gram, count, then original and count pairs, tab-separated"
            raise ValueError(f"{path}: line {number}: not a phrase table row ({row})") from None
        return cls(entries)


def _lowered_words(text: str) -> tuple[str, ...]:
    return tuple(text[s:e].lower() for s, e in words(text))


_tokens = lru_cache(maxsize=1 << 16)(_lowered_words)  # candidate phrases repeat; sentences do not


class NgramLM:
    """Lowercased word bigram and trigram counts of clean text with stupid backoff: is "top diplomat" likelier
    than "best diplomat" between these neighbours?

    Every bigram is kept (the rarest carry the most signal about sense), and every trigram seen at least
    ``min_trigram_count`` times, so they are held as arrays, not dicts: the vocabulary with its counts, each
    bigram as the key ``id(a) * V + id(b)`` in one sorted array with its count alongside, and each trigram
    as ``index of its first two words' bigram * V + id(c)``. Stored as one xz-compressed ``.npz``: per word,
    how many words follow it, those words' ids and the counts; per bigram, how many words follow it, their
    ids and the counts.
    """

    def __init__(
        self,
        unigrams: dict[str, int],
        follows: np.ndarray,
        seconds: np.ndarray,
        counts: np.ndarray,
        continues: np.ndarray,
        thirds: np.ndarray,
        trigram_counts: np.ndarray,
    ) -> None:
        """``unigrams`` in id order; ``follows[i]``: how many bigrams start with word ``i``; ``seconds``: their
        second words' ids, ascending within each first word; ``counts``: each bigram's count; ``continues``,
        ``thirds``, ``trigram_counts``: the same for the trigrams, per bigram in bigram order."""
        self.unigrams = unigrams
        self.ids = {w: i for i, w in enumerate(unigrams)}
        size = len(unigrams)
        self.keys = _keys(follows, seconds, size)
        self.counts = counts
        self.trigram_keys = _keys(continues, thirds, size)
        self.trigram_counts = trigram_counts
        self.total = sum(unigrams.values())
        self.bigram_filter = KeyFilter(self.keys)
        self.trigram_filter = KeyFilter(self.trigram_keys)
        # the same phrases and word pairs come up in sentence after sentence: remember them
        self._bigram = lru_cache(maxsize=1 << 18)(self._bigram)  # shared by a context's trigrams
        self.logprob = lru_cache(maxsize=1 << 18)(self.logprob)
        self.trigram_logprob = lru_cache(maxsize=1 << 18)(self.trigram_logprob)
        self.unigram = lru_cache(maxsize=1 << 16)(self.unigram)

    def __len__(self) -> int:
        """The number of distinct bigrams."""
        return len(self.keys)

    @staticmethod
    def tokens(text: str) -> tuple[str, ...]:
        return _tokens(text)

    @classmethod
    def build(cls, sentences: Iterable[str], min_trigram_count: int = 2) -> NgramLM:
        """Count ``sentences``, each between ``<s>`` and ``</s>``, in one pass: ids as words first appear,
        renumbered in sorted order at the end."""
        first_seen: dict[str, int] = {"<s>": 0, "</s>": 1}
        flat = array("q")
        for s in sentences:
            flat.append(0)
            flat.extend(first_seen.setdefault(w, len(first_seen)) for w in _lowered_words(s))
            flat.append(1)
        vocabulary = sorted(first_seen)
        rank = np.empty(len(vocabulary), np.int64)
        rank[[first_seen[w] for w in vocabulary]] = np.arange(len(vocabulary))
        tokens = rank[np.frombuffer(flat, np.int64)]
        size, end = len(vocabulary), rank[1]
        a, b, c = tokens[:-2], tokens[1:-1], tokens[2:]
        pairs, pair_counts = np.unique((tokens[:-1] * size + tokens[1:])[tokens[:-1] != end], return_counts=True)
        triples, triple_counts = np.unique(((a * size + b) * size + c)[(a != end) & (b != end)], return_counts=True)
        common = triple_counts >= min_trigram_count
        triples, triple_counts = triples[common], triple_counts[common]
        pair_index = pairs.searchsorted(triples // size)  # every trigram's first two words are a bigram
        return cls(
            dict(zip(vocabulary, np.bincount(tokens, minlength=size).tolist())),
            np.bincount(pairs // size, minlength=size),
            (pairs % size).astype(np.uint32),
            pair_counts.astype(np.uint32),
            np.bincount(pair_index, minlength=len(pairs)),
            (triples % size).astype(np.uint32),
            triple_counts.astype(np.uint32),
        )

    def _bigram(self, a: str, b: str) -> int:
        """The index of the bigram ``a b``, or -1."""
        i, j = self.ids.get(a), self.ids.get(b)
        if i is None or j is None:
            return -1
        return _find(self.keys, i * len(self.ids) + j)

    def count(self, a: str, b: str) -> int:
        """How often the bigram ``a b`` was seen."""
        k = self._bigram(a, b)
        return self.counts.item(k) if k >= 0 else 0

    def _trigram(self, a: str, b: str, c: str) -> tuple[int, int]:
        """The indices of the bigram ``a b`` and of the trigram ``a b c`` (each -1 when not kept)."""
        k, j = self._bigram(a, b), self.ids.get(c)
        return k, _find(self.trigram_keys, k * len(self.ids) + j) if k >= 0 and j is not None else -1

    def trigram_count(self, a: str, b: str, c: str) -> int:
        """How often the trigram ``a b c`` was seen (0 when fewer than ``min_trigram_count`` times: not kept)."""
        _, t = self._trigram(a, b, c)
        return self.trigram_counts.item(t) if t >= 0 else 0

    def logprob(self, a: str, b: str) -> float:
        k = self._bigram(a, b)
        if k >= 0:
            return math.log(self.counts.item(k) / self.unigrams[a])
        return math.log(BACKOFF * (self.unigrams.get(b, 0) + 0.5) / self.total)

    def trigram_logprob(self, a: str, b: str, c: str) -> float:
        """log P(c | a b), backing off to BACKOFF * P(c | b)."""
        k, t = self._trigram(a, b, c)
        if t >= 0:
            return math.log(self.trigram_counts.item(t) / self.counts.item(k))
        return math.log(BACKOFF) + self.logprob(b, c)

    def unigram(self, text: str) -> float:
        """Mean log-frequency of the words of ``text``: spinners favour rarer synonyms."""
        w = self.tokens(text)
        return _added(math.log((self.unigrams.get(x, 0) + 0.5) / self.total) for x in w) / max(len(w), 1)

    def score(self, left: str, middle: str, right: str) -> float:
        """Log-probability of the bigrams from ``left`` through the words of ``middle`` to ``right``."""
        w = (left, *_tokens(middle), right)
        return _added(map(self.logprob, w, w[1:]))

    def trigram_score(self, left: tuple[str, ...], middle: str, right: tuple[str, ...]) -> float:
        """Log-probability of the words of ``middle`` and then ``right`` after ``left`` (two words, or
        ``("<s>",)`` at a sentence start, where the first word has only the bigram to go by)."""
        w = (*left, *_tokens(middle), *right)
        first = self.logprob(w[0], w[1]) if len(left) == 1 and len(w) > 1 else 0.0
        return first + _added(map(self.trigram_logprob, w, w[1:], w[2:]))

    def save(self, path: Path) -> None:
        size = len(self.ids)
        save_arrays(
            path,
            words=words_array(self.unigrams),
            word_counts=np.array(list(self.unigrams.values()), np.uint32),
            follows=np.bincount(self.keys // size, minlength=len(self.ids)).astype(np.uint32),
            seconds=(self.keys % size).astype(np.uint32),
            counts=self.counts,
            continues=np.bincount(self.trigram_keys // size, minlength=len(self.keys)).astype(np.uint32),
            thirds=(self.trigram_keys % size).astype(np.uint32),
            trigram_counts=self.trigram_counts,
        )

    @classmethod
    def load(cls, path: Path) -> NgramLM:
        """Read what ``save`` wrote; anything else (e.g. an older model's bigram table) is a one-line ValueError."""
        try:
            arrays = load_arrays(path)
            unigrams = dict(zip(array_words(arrays["words"]), arrays["word_counts"].tolist()))
            names = ("follows", "seconds", "counts", "continues", "thirds", "trigram_counts")
            return cls(unigrams, *(arrays[name] for name in names))
        except (lzma.LZMAError, zipfile.BadZipFile, ValueError, KeyError, EOFError) as e:
            raise ValueError(f"{path}: not an n-gram table written by NgramLM.save ({type(e).__name__})") from None


class KeyFilter:
    """Which int64 keys may be in a set of keys: one bit per hash of each key (a Bloom filter of one hash), so a key
    whose bit is clear is surely absent. Most bigrams a sentence's candidates make were never seen: their binary
    search in millions of keys is skipped."""

    _MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits of key * 2^64 / golden ratio

    def __init__(self, keys: np.ndarray) -> None:
        bits = np.zeros(1 << FILTER_BITS, bool)
        bits[self._hash(keys)] = True
        self.bits = np.packbits(bits, bitorder="little")

    @classmethod
    def _hash(cls, keys: np.ndarray) -> np.ndarray:
        return (np.asarray(keys).astype(np.uint64) * cls._MULTIPLIER) >> np.uint64(64 - FILTER_BITS)

    def __call__(self, keys: np.ndarray) -> np.ndarray:
        """False where a key is surely absent, True where it may be present."""
        h = self._hash(keys)
        return (self.bits[h >> np.uint64(3)] >> (h & np.uint64(7)).astype(np.uint8)) & 1 == 1


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Write named arrays as one xz-compressed ``.npz``: how the model folder stores counts and relations."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME))


def load_arrays(path: Path):
    """The arrays ``save_arrays`` wrote, by name (a corrupt file raises LZMAError, BadZipFile or ValueError)."""
    return np.load(io.BytesIO(lzma.decompress(path.read_bytes())))


def words_array(words) -> np.ndarray:
    """Words (none holding a newline) as one array of UTF-8 bytes, for ``save_arrays``."""
    return np.frombuffer("\n".join(words).encode("utf-8"), np.uint8)


def array_words(array: np.ndarray) -> list[str]:
    """The words ``words_array`` stored, in order."""
    return bytes(array).decode("utf-8").split("\n")


def _added(values: Iterable[float]) -> float:
    """The sum of ``values`` from left to right, as numpy's ``bincount`` and ``cumsum`` take it (``sum`` compensates
    rounding since Python 3.12: a feature would differ in its last digits by Python version)."""
    total = 0.0
    for value in values:
        total += value
    return total


def _find(keys: np.ndarray, key: int) -> int:
    """The index of ``key`` in the sorted int64 ``keys``, or -1. (A Python int goes in as it is; searching a
    uint64 array for one made numpy convert the whole array per call.)"""
    k = int(keys.searchsorted(key))
    return k if k < len(keys) and keys.item(k) == key else -1


def _keys(follows: np.ndarray, nexts: np.ndarray, size: int) -> np.ndarray:
    """Sorted int64 keys ``row * size + next`` from how many entries each row has and their ids."""
    rows = np.repeat(np.arange(len(follows), dtype=np.int64), follows)
    return rows * size + nexts.astype(np.int64)
