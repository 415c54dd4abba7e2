"""Thesaurus families for the synthetic spinner: read once, keep a fixed small synonym list per word.

A real spinner's dictionary offers a handful of synonyms per word, not a whole thesaurus entry, so each
family is cut to ``max_synonyms`` per (headword, part of speech) by a stable rule: sense order where the
source has one (WordNet, MyThes), a seeded choice where it is alphabetical (Moby).
"""

from __future__ import annotations

import lzma
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

FAMILIES = ("wordnet", "mythes", "moby")
ANY_POS = "*"  # Moby has no parts of speech
_WN_POS = {"n": "NOUN", "v": "VERB", "a": "ADJ", "r": "ADV"}
_MYTHES_POS = {"noun": "NOUN", "verb": "VERB", "adj": "ADJ", "adv": "ADV"}
_MARK = re.compile(r" \(.*\)$")
_GOOD = re.compile(r"^[a-z][a-z' -]*[a-z]$")

# headword -> part of speech (spaCy UPOS, or ANY_POS) -> synonyms
Lexicon = dict[str, dict[str, list[str]]]


def _rows(path: Path) -> Iterator[list[str]]:
    with lzma.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                yield line.rstrip("\n").split("\t")


def _usable(head: str, syn: str) -> bool:
    return syn != head and _GOOD.match(syn) is not None and syn.count(" ") < 3


def load_lexicon(family: str, folder: str | Path, max_synonyms: int = 4) -> Lexicon:
    """Load one thesaurus family (``wordnet``, ``mythes`` or ``moby``) from ``folder``."""
    if family not in FAMILIES:
        raise ValueError(f"unknown lexicon family {family!r}; choose from {', '.join(FAMILIES)}")
    path = Path(folder) / f"{family}.tsv.xz"
    full: Lexicon = {}
    for cols in _rows(path):
        head = cols[0]
        if not _GOOD.match(head):
            continue
        if family == "wordnet":
            pos, syns = _WN_POS[cols[2]], cols[1].split("|") if cols[1] else []
            syns += cols[3].split("|") if len(cols) > 3 and cols[3] else []
        elif family == "mythes":
            pos = _MYTHES_POS.get(cols[2])
            if pos is None:
                continue
            syns = [_MARK.sub("", s) for s in cols[1].split("|") if not s.endswith("(antonym)")]
        else:
            pos, syns = ANY_POS, cols[1].split("|")
        bucket = full.setdefault(head, {}).setdefault(pos, [])
        bucket.extend(s for s in syns if _usable(head, s) and s not in bucket)
    lexicon: Lexicon = {}
    for head, by_pos in full.items():
        for pos, syns in by_pos.items():
            if family == "moby" and len(syns) > max_synonyms:
                step = zlib.crc32(head.encode()) % len(syns)  # stable, not alphabetical
                syns = (syns[step:] + syns[:step])[:: max(1, len(syns) // max_synonyms)]
            if syns[:max_synonyms]:
                lexicon.setdefault(head, {})[pos] = syns[:max_synonyms]
    return lexicon


def merge(*lexicons: Lexicon) -> Lexicon:
    """Union of several families: synonyms of each (headword, pos) in the order given."""
    out: Lexicon = {}
    for lex in lexicons:
        for head, by_pos in lex.items():
            for pos, syns in by_pos.items():
                bucket = out.setdefault(head, {}).setdefault(pos, [])
                bucket.extend(s for s in syns if s not in bucket)
    return out
