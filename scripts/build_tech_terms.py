"""Computing terms alone, spun word by word: a held-out stand-in for the scientific terms of tortured phrases.

    apt-get install -y dict-foldoc                            # FOLDOC (Debian)
    python scripts/build_tech_terms.py --pairs data/pairs     # {dev,test}_tech_terms.jsonl, {dev,test}_long_...

The two-word lowercase headwords of the Free On-line Dictionary of Computing ("search engine", "named pipe", "load
balancing"; ``*_tech_terms.jsonl``), and those of three or four words ("domain name system";
``*_long_tech_terms.jsonl``), dev or test by a hash of the term, each spun word by word in one family as
``build_science.py`` spins WordNet's terms in use for ``dev_phrases.jsonl`` (``spun_term``). Unlike those, three
quarters of them are pairs our news and science n-grams saw fewer than twice, as the scientific terms of tortured
phrases often are. For ``restore-bench --pairs`` (restoration) and ``--detect --pairs`` (each spun term against its
original); ``scripts/fit_detect.py --term-lm`` fits on the dev files.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from build_data import LEXICON, write  # noqa: E402 (scripts/ is on sys.path when this file runs)
from build_domains import FOLDOC, dictd_headwords  # noqa: E402
from build_science import TERM_SYNONYMS, _bucket, _split_of, spun_term  # noqa: E402

from restore.lexicon import FAMILIES, Lexicon, load_lexicon  # noqa: E402

SETS = {  # output name: (the headwords it takes, its rows' article prefix)
    "tech_terms": (re.compile(r"[a-z]{2,} [a-z]{2,}"), "tech-term"),
    "long_tech_terms": (re.compile(r"[a-z]{2,}(?: [a-z]{2,}){2,3}"), "long-tech-term"),
}


def tech_term_rows(
    headwords: list[str], lexicons: dict[str, Lexicon], split_name: str, kind: str = "tech_terms"
) -> list[dict]:
    """The lowercase ``headwords`` of ``kind`` (SETS: two words, or three or four) in ``split_name`` (dev or test,
    by a hash of the term), once each in hash order, those whose words have synonyms to swap, spun alone
    (``spun_term``)."""
    pattern, prefix = SETS[kind]
    terms = sorted({h for h in headwords if pattern.fullmatch(h) and _split_of(h) == split_name},
                   key=lambda t: (_bucket(f"tech:{t}"), t))  # fmt: skip
    rows: list[dict] = []
    for term in terms:
        row = spun_term(term, lexicons, f"{prefix}-{split_name}-{len(rows)}")
        rows += [row] if row else []
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=Path, default=Path("data/pairs"), help="folder for the four files")
    args = ap.parse_args()
    if not FOLDOC.is_file():
        raise SystemExit(f"{FOLDOC}: missing: apt-get install -y dict-foldoc")
    headwords = dictd_headwords(FOLDOC)
    lexicons = {family: load_lexicon(family, LEXICON, max_synonyms=TERM_SYNONYMS) for family in FAMILIES}
    for kind in SETS:
        for split_name in ("dev", "test"):
            write(args.pairs / f"{split_name}_{kind}.jsonl", tech_term_rows(headwords, lexicons, split_name, kind))


if __name__ == "__main__":
    main()
