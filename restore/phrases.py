"""What spinners did, counted from training pairs: each spun word n-gram, how often it was an edit, and
the originals it replaced most often; plus a bigram model of clean text to judge a replacement in context.

Both are plain counts, built by ``scripts/train.py --export`` from the training split and stored in the
model folder (``phrases.tsv.xz``, ``bigrams.npz.xz``).
"""

from __future__ import annotations

import io
import lzma
import math
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np

from restore.edits import diff, words

MAX_N = 5  # longest spun n-gram looked up
TOP = 3  # originals kept per n-gram
BACKOFF = 0.4  # stupid backoff weight of the unigram estimate


def _lower_initial(text: str) -> str:
    """A capitalised (not all-caps) word's first letter lowercased: "Best" -> "best", "NATO" stays."""
    return text[0].lower() + text[1:] if text[:1].isupper() and not text[:2].isupper() else text


def _fold(before: str, after: str) -> tuple[str, str]:
    """Sentence-initial case folded out of an edit, so "Best"/"best" share counts."""
    if before[:1].isupper() and after[:1].isupper() and not before[:2].isupper():
        return _lower_initial(before), _lower_initial(after)
    return before, after


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
                    before, after = _fold(e.before, e.after)
                    edits[before][after] += 1
        edits = {g: c for g, c in edits.items() if sum(c.values()) >= min_count}
        seen: Counter = Counter()
        for spun, _ in pairs:
            spans = words(spun)
            for i in range(len(spans)):
                for n in range(1, min(MAX_N, len(spans) - i) + 1):
                    gram = spun[spans[i][0] : spans[i + n - 1][1]]
                    gram = _lower_initial(gram) if i == 0 else gram
                    if gram in edits:
                        seen[gram] += 1
        return cls({g: (max(seen[g], 1), c.most_common(TOP)) for g, c in edits.items()})

    def lookup(self, gram: str, sentence_start: bool = False) -> tuple[int, list[tuple[str, int]]] | None:
        """(times seen, originals) for a spun n-gram; at a sentence start a capitalised one falls back to
        its lowercase entry (mid-sentence, a capital marks a name: no fallback)."""
        if gram in self.entries:
            return self.entries[gram]
        folded = _lower_initial(gram)
        if sentence_start and folded != gram and folded in self.entries:
            seen, afters = self.entries[folded]
            return seen, [(a[:1].upper() + a[1:], c) for a, c in afters]
        return None

    def save(self, path: Path) -> None:
        with lzma.open(path, "wt", encoding="utf-8") as f:
            for gram, (seen, afters) in sorted(self.entries.items()):
                f.write("\t".join([gram, str(seen), *(f"{a}\t{c}" for a, c in afters)]) + "\n")

    @classmethod
    def load(cls, path: Path) -> PhraseTable:
        entries = {}
        with lzma.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                gram, seen, *rest = line.rstrip("\n").split("\t")
                entries[gram] = (int(seen), [(rest[k], int(rest[k + 1])) for k in range(0, len(rest), 2)])
        return cls(entries)


def _lowered_words(text: str) -> tuple[str, ...]:
    return tuple(text[s:e].lower() for s, e in words(text))


_tokens = lru_cache(maxsize=1 << 16)(_lowered_words)  # candidate phrases repeat; sentences do not


class BigramLM:
    """Lowercased word bigram counts of clean text with stupid backoff: is "top diplomat" likelier than
    "best diplomat" between these neighbours?

    Every bigram is kept (the rarest carry the most signal about sense), so they are held as arrays, not
    a dict: the vocabulary with its counts, and each bigram as the key ``id(a) * V + id(b)`` in one sorted
    array with its count alongside. Stored as one xz-compressed ``.npz``: per word, how many words follow
    it, then those words' ids and the counts.
    """

    def __init__(self, unigrams: dict[str, int], follows: np.ndarray, seconds: np.ndarray, counts: np.ndarray) -> None:
        """``unigrams`` in id order; ``follows[i]``: how many bigrams start with word ``i``; ``seconds``: their
        second words' ids, ascending within each first word; ``counts``: each bigram's count."""
        self.unigrams = unigrams
        self.ids = {w: i for i, w in enumerate(unigrams)}
        firsts = np.repeat(np.arange(len(unigrams), dtype=np.uint64), follows)
        self.keys = firsts * np.uint64(len(unigrams)) + seconds.astype(np.uint64)
        self.counts = counts
        self.total = sum(unigrams.values())
        # the same phrases and word pairs come up in sentence after sentence: remember them
        self.logprob = lru_cache(maxsize=1 << 18)(self.logprob)
        self.unigram = lru_cache(maxsize=1 << 16)(self.unigram)

    def __len__(self) -> int:
        """The number of distinct bigrams."""
        return len(self.keys)

    @staticmethod
    def tokens(text: str) -> tuple[str, ...]:
        return _tokens(text)

    @classmethod
    def build(cls, sentences: Iterable[str]) -> BigramLM:
        uni: Counter = Counter()
        bi: Counter = Counter()
        for s in sentences:
            w = ["<s>", *_lowered_words(s), "</s>"]
            uni.update(w)
            bi.update(zip(w, w[1:]))
        unigrams = {w: uni[w] for w in sorted(uni)}
        ids = {w: i for i, w in enumerate(unigrams)}
        firsts = np.fromiter((ids[a] for a, _ in bi), np.int64, len(bi))
        seconds = np.fromiter((ids[b] for _, b in bi), np.int64, len(bi))
        counts = np.fromiter(bi.values(), np.int64, len(bi))
        order = np.lexsort((seconds, firsts))
        follows = np.bincount(firsts, minlength=len(unigrams))
        return cls(unigrams, follows, seconds[order].astype(np.uint32), counts[order].astype(np.uint32))

    def logprob(self, a: str, b: str) -> float:
        i, j = self.ids.get(a), self.ids.get(b)
        if i is not None and j is not None:
            key = np.uint64(i * len(self.ids) + j)  # a Python int would make numpy convert the whole array
            k = int(self.keys.searchsorted(key))
            if k < len(self.keys) and self.keys[k] == key:
                return math.log(int(self.counts[k]) / self.unigrams[a])
        return math.log(BACKOFF * (self.unigrams.get(b, 0) + 0.5) / self.total)

    def unigram(self, text: str) -> float:
        """Mean log-frequency of the words of ``text``: spinners favour rarer synonyms."""
        w = self.tokens(text)
        return sum(math.log((self.unigrams.get(x, 0) + 0.5) / self.total) for x in w) / max(len(w), 1)

    def score(self, left: str, middle: str, right: str) -> float:
        """Log-probability of the bigrams from ``left`` through the words of ``middle`` to ``right``."""
        w = (left, *_tokens(middle), right)
        return sum(map(self.logprob, w, w[1:]))

    def save(self, path: Path) -> None:
        size = np.uint64(len(self.ids))
        buffer = io.BytesIO()
        np.savez(
            buffer,
            words=np.frombuffer("\n".join(self.unigrams).encode("utf-8"), np.uint8),
            word_counts=np.array(list(self.unigrams.values()), np.uint32),
            follows=np.bincount((self.keys // size).astype(np.int64), minlength=len(self.ids)).astype(np.uint32),
            seconds=(self.keys % size).astype(np.uint32),
            counts=self.counts,
        )
        path.write_bytes(lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME))

    @classmethod
    def load(cls, path: Path) -> BigramLM:
        """Read what ``save`` wrote; anything else (e.g. the text table of older models) is a one-line ValueError."""
        try:
            arrays = np.load(io.BytesIO(lzma.decompress(path.read_bytes())))
            words = bytes(arrays["words"]).decode("utf-8").split("\n")
            unigrams = dict(zip(words, arrays["word_counts"].tolist()))
            return cls(unigrams, arrays["follows"], arrays["seconds"], arrays["counts"])
        except (lzma.LZMAError, zipfile.BadZipFile, ValueError, KeyError, EOFError) as e:
            raise ValueError(f"{path}: not a bigram table written by BigramLM.save ({type(e).__name__})") from None
