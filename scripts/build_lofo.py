"""Spin the dev and test sentences once per thesaurus family, in several spinner styles: the data of the
leave-one-family-out protocol (fit on two families, measure on the third) and of the all-family model.

    python scripts/build_lofo.py --pairs data/pairs          # after build_data.py; ~10 min on 2 cores
    python scripts/build_lofo.py --pairs data/pairs --splits train   # the spun-word head's training data

Reads ``dev.jsonl`` and ``test.jsonl`` (or the ``--splits`` named) of ``--pairs`` (their originals only) and writes,
per split and family,
``lofo_{split}_{family}.jsonl``: every sentence spun by that family alone, each in one style drawn by a hash of the
sentence: a dictionary of the first-listed synonym (``first``), of 4 synonyms per word and part of speech as real
spinners keep (``few``), or of up to 30 (``broad``, sense-blind across the whole entry), at a rate drawn from
RATES; a third of the test rows and a tenth of dev and train stay clean (``"clean": true``), as in ``build_data.py``.
"""

from __future__ import annotations

import argparse
import json
import zlib
from multiprocessing import Pool
from pathlib import Path

from build_data import LEXICON, write  # scripts/ is on sys.path when this file runs

from restore.lexicon import FAMILIES, load_lexicon
from restore.spinner import Spinner

STYLES = {"first": 1, "few": 4, "broad": 30}  # synonyms kept per word and part of speech
RATES = (0.1, 0.2, 0.3, 0.45, 0.6, 0.7)
SEED = 29
CLEAN = {"train": 0.1, "dev": 0.1, "test": 1 / 3}

_spinners: dict = {}


def _draw(text: str, salt: str, n: int) -> int:
    return zlib.crc32(f"{SEED}:{salt}:{text}".encode()) % n


def _init(family: str) -> None:
    nlp = None
    for style, size in STYLES.items():
        lexicon = load_lexicon(family, LEXICON, max_synonyms=size)
        for rate in RATES:
            _spinners[style, rate] = Spinner(lexicon, rate=rate, seed=SEED, pos_blind=0.15, nlp=nlp)
            nlp = _spinners[style, rate].nlp


def _spin(job: tuple[tuple[str, float], list[str]]) -> list[str]:
    key, sentences = job
    return _spinners[key].spin_many(sentences)


def spin_family(family: str, rows: list[dict], workers: int) -> list[dict]:
    """``rows`` (dicts with "original" and "split") spun by ``family``, each in its drawn style and rate."""
    out = []
    for r in rows:
        text = r["original"]
        clean = _draw(text, "clean", 1000) < CLEAN[r["split"]] * 1000
        style = list(STYLES)[_draw(text, "style", len(STYLES))]
        rate = RATES[_draw(text, "rate", len(RATES))]
        out.append(
            {"article": r["article"], "family": "none" if clean else family, "style": None if clean else style,
             "rate": 0.0 if clean else rate, "original": text, "spun": text, "clean": clean}
        )  # fmt: skip
    groups: dict = {}
    for row in out:
        if not row["clean"]:
            groups.setdefault((row["style"], row["rate"]), []).append(row)
    jobs = [(key, group[i : i + 500]) for key, group in sorted(groups.items()) for i in range(0, len(group), 500)]
    with Pool(workers, initializer=_init, initargs=(family,)) as pool:
        results = pool.map(_spin, [(key, [r["original"] for r in chunk]) for key, chunk in jobs], chunksize=1)
    for (_, chunk), spun in zip(jobs, results):
        for row, s in zip(chunk, spun):
            row["spun"] = s
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=Path, default=Path("data/pairs"))
    ap.add_argument("--families", nargs="+", default=list(FAMILIES))
    ap.add_argument("--splits", nargs="+", choices=list(CLEAN), default=["dev", "test"])
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    rows = []
    for split in args.splits:
        with (args.pairs / f"{split}.jsonl").open(encoding="utf-8") as f:
            rows += [{"split": split, **json.loads(line)} for line in f]
    for family in args.families:
        spun = spin_family(family, rows, args.workers)
        for split in args.splits:
            write(args.pairs / f"lofo_{split}_{family}.jsonl", [s for s, r in zip(spun, rows) if r["split"] == split])


if __name__ == "__main__":
    main()
