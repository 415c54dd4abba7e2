"""A context-free phrase-table baseline, to put the seq2seq model's scores in perspective.

    python scripts/phrase_table_baseline.py --data data/pairs [--train-rows 150000]

Counts, over the training pairs, how often each spun word n-gram (n <= 5) was the "before" side of an
edit and what it most often replaced, and how often the n-gram occurs in spun text at all. At test time
it replaces, longest first, every n-gram that was an edit in at least ``tau`` of its occurrences. It
sees no context, so it cannot tell a spun "state" from a real one: the clean-text damage it does is the
price of that. Scored the same way as restore-bench (sacreBLEU, gap closed, clean sentences changed).
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

import sacrebleu

from restore.edits import diff, words

MAX_N = 5


def ngrams(text: str):
    """(start word, n, text) of every word n-gram of ``text``, n <= MAX_N."""
    spans = words(text)
    for i in range(len(spans)):
        for n in range(1, min(MAX_N, len(spans) - i) + 1):
            yield i, n, text[spans[i][0] : spans[i + n - 1][1]]


def train(rows: list[dict]) -> tuple[dict[str, collections.Counter], collections.Counter]:
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in rows:
        for e in diff(r["spun"], r["original"]):
            if e.before.count(" ") < MAX_N:
                table[e.before][e.after] += 1
    seen = collections.Counter(g for r in rows for _, _, g in ngrams(r["spun"]) if g in table)
    return table, seen


def restore(text: str, table, seen, tau: float, min_count: int) -> str:
    spans, out, cursor, i = words(text), [], 0, 0
    while i < len(spans):
        for n in range(min(MAX_N, len(spans) - i), 0, -1):
            gram = text[spans[i][0] : spans[i + n - 1][1]]
            if gram in table:
                after, count = table[gram].most_common(1)[0]
                if sum(table[gram].values()) >= min_count and count / seen[gram] >= tau:
                    out += [text[cursor : spans[i][0]], after]
                    cursor, i = spans[i + n - 1][1], i + n
                    break
        else:
            i += 1
    return "".join(out) + text[cursor:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("data/pairs"))
    ap.add_argument("--train-rows", type=int, default=150_000)
    ap.add_argument("--test", default="test.jsonl")
    args = ap.parse_args()
    with (args.data / "train.jsonl").open(encoding="utf-8") as f:
        rows = [json.loads(line) for _, line in zip(range(args.train_rows), f)]
    table, seen = train(rows)
    with (args.data / args.test).open(encoding="utf-8") as f:
        test = [json.loads(line) for line in f]
    spun, clean = [r for r in test if not r["clean"]], [r for r in test if r["clean"]]
    refs = [[r["original"] for r in spun]]
    base = sacrebleu.corpus_bleu([r["spun"] for r in spun], refs).score
    print(f"input BLEU {base:.2f} ({len(spun)} spun, {len(clean)} clean sentences)")
    for tau in (0.3, 0.5, 0.7):
        for min_count in (3, 10):
            hyp = [restore(r["spun"], table, seen, tau, min_count) for r in spun]
            bleu = sacrebleu.corpus_bleu(hyp, refs).score
            changed = sum(restore(r["original"], table, seen, tau, min_count) != r["original"] for r in clean)
            print(
                f"tau {tau} min_count {min_count}: BLEU {bleu:.2f}, gap closed {(bleu - base) / (100 - base):.1%}, "
                f"clean sentences changed {changed / max(len(clean), 1):.1%}"
            )


if __name__ == "__main__":
    main()
