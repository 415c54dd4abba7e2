"""Build (spun, original) sentence pairs from the news corpus, split by article.

    python scripts/build_data.py --out data/pairs            # ~10 min on 2 cores

Writes, as JSON Lines of {"article", "family", "rate", "spun", "original", "clean"}:
  train.jsonl  dev.jsonl    spun with the training families (wordnet + mythes) at several rates,
                            plus a share of clean sentences (spun == original) so the model learns to
                            leave text alone
  test.jsonl                unseen articles, same families at rate 0.3, plus unspun sentences (clean)
  test_moby.jsonl           the same test sentences spun with Moby, a family training never saw
  dev_moby.jsonl            the same for dev: to choose between models by how they do on a family
                            they never saw, without looking at test_moby
Articles go to one split by a hash of their id, so no article is in two splits.
"""

from __future__ import annotations

import argparse
import json
import lzma
import random
import re
import zlib
from collections.abc import Iterator
from multiprocessing import Pool
from pathlib import Path

from restore.lexicon import load_lexicon, merge
from restore.segment import split
from restore.spinner import Spinner

NEWS = Path(__file__).resolve().parents[1] / "../shared/data/news"
LEXICON = Path(__file__).resolve().parents[1] / "../shared/data/lexicon"
TRAIN_FAMILIES = ("wordnet", "mythes")
HELD_OUT_FAMILY = "moby"
TRAIN_RATES = (0.15, 0.3, 0.45)
TEST_RATE = 0.3
CLEAN_SHARE = 0.1
SEED = 13

_BAD = re.compile(r"https?://|www\.|@\w|\.com\b|\s{2}|[|<>{}\[\]]|^\W")


def split_of(article_id: str) -> str:
    """'test' for 2% of articles, 'dev' for 1%, else 'train': stable across runs and machines."""
    bucket = zlib.crc32(article_id.encode()) % 100
    return "test" if bucket < 2 else "dev" if bucket == 2 else "train"


def clean_sentences(text: str) -> Iterator[str]:
    """Sentences worth training on: whole, prose-like, 6-50 words, no URLs, handles or markup."""
    for s, e in split(text):
        sent = text[s:e]
        n = sent.count(" ") + 1
        if 6 <= n <= 50 and sent[-1] in '.!?"”’)' and sent[0].isupper() and not _BAD.search(sent):
            yield sent


def articles(max_articles: int | None) -> Iterator[dict]:
    count = 0
    for name in ("bbc.jsonl.xz", "allsides.jsonl.xz"):
        with lzma.open(NEWS / name, "rt", encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)
                count += 1
                if max_articles and count >= max_articles:
                    return


_spinners: dict = {}


def _init(families: tuple[str, ...], rates: tuple[float, ...]) -> None:
    lexicon = merge(*(load_lexicon(f, LEXICON) for f in families))
    nlp = None
    for rate in rates:
        _spinners[rate] = Spinner(lexicon, rate=rate, seed=SEED, nlp=nlp)
        nlp = _spinners[rate].nlp


def _spin(job: tuple[float, list[str]]) -> list[str]:
    rate, sentences = job
    return _spinners[rate].spin_many(sentences)


def spin_rows(rows: list[dict], families: tuple[str, ...], workers: int) -> None:
    """Fill row['spun'] for rows whose row['rate'] > 0, in parallel chunks."""
    todo = [r for r in rows if r["rate"] > 0]
    jobs = []
    for rate in sorted({r["rate"] for r in todo}):
        group = [r for r in todo if r["rate"] == rate]
        jobs += [(rate, group[i : i + 2000]) for i in range(0, len(group), 2000)]
    rates = tuple(sorted({r["rate"] for r in todo}))
    with Pool(workers, initializer=_init, initargs=(families, rates)) as pool:
        results = pool.map(_spin, [(rate, [r["original"] for r in chunk]) for rate, chunk in jobs], chunksize=1)
    for (_, chunk), spun in zip(jobs, results):
        for row, s in zip(chunk, spun):
            row["spun"] = s
    for r in rows:
        r.setdefault("spun", r["original"])
        r["clean"] = r["rate"] == 0


def write(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)
    print(f"{path}: {len(rows)} rows", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("data/pairs"))
    ap.add_argument("--max-articles", type=int, default=None)
    ap.add_argument("--train-sentences", type=int, default=300_000)
    ap.add_argument("--test-sentences", type=int, default=2_000, help="spun test pairs (and half as many clean)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    splits: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    limits = {"train": args.train_sentences, "dev": 3_000, "test": args.test_sentences * 3 // 2}
    for art in articles(args.max_articles):
        name = split_of(art["id"])
        if len(splits[name]) < limits[name]:
            splits[name] += [{"article": art["id"], "original": s} for s in clean_sentences(art["text"])]
        if all(len(splits[k]) >= limits[k] for k in splits):
            break
    for name, rows in splits.items():
        del rows[limits[name] :]
        rng = random.Random(f"{SEED}:{name}")  # each split's draws are independent of the others' sizes
        for r in rows:
            if name == "test":
                r["rate"] = 0.0 if rng.random() < 1 / 3 else TEST_RATE
            else:
                r["rate"] = 0.0 if rng.random() < CLEAN_SHARE else rng.choice(TRAIN_RATES)
            r["family"] = "+".join(TRAIN_FAMILIES) if r["rate"] else "none"
    held_out = {f"{n}_moby": [dict(r, family=HELD_OUT_FAMILY) for r in splits[n] if r["rate"]] for n in ("dev", "test")}
    for families, parts in ((TRAIN_FAMILIES, splits), ((HELD_OUT_FAMILY,), held_out)):
        # one pool per family: each worker loads the thesaurus and spaCy once (a sentence spins the same in any batch)
        spin_rows([r for rows in parts.values() for r in rows], families, args.workers)
        for name, rows in parts.items():
            write(args.out / f"{name}.jsonl", rows)


if __name__ == "__main__":
    main()
