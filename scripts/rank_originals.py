"""How far the synonym graph and the n-gram model reach into a family: at the true one-word swaps of a pairs
file, is the original among the graph's candidates, and where does the n-gram model rank it; on the clean
originals, how often some candidate reads better than the author's own word (what detection is up against).

    python scripts/build_graph.py --out /tmp/graph.npz.xz
    python scripts/rank_originals.py --pairs data/pairs/dev_moby.jsonl --graph /tmp/graph.npz.xz --rows 300
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from restore.edits import diff, words
from restore.features import _window
from restore.graph import SynonymGraph, trigram_scores
from restore.phrases import NgramLM
from restore.restorer import NGRAMS_FILE, default_model


def scores(lm: NgramLM, graph: SynonymGraph, lowered: list[str], i: int) -> tuple[list[str], np.ndarray, float]:
    """The graph's one-word candidates for word ``i`` that the n-gram model knows, their trigram scores in
    place of it, and the score of the word itself."""
    candidates = [c for c in graph.originals(lowered[i]) if " " not in c and c in lm.ids]
    ids = np.array([lm.ids[c] for c in candidates] + [lm.ids.get(lowered[i], -1)], np.int64)
    left, right = _window(lowered, i, 1)
    found = trigram_scores(lm, left, ids, right)
    return candidates, found[:-1], float(found[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--graph", type=Path, required=True)
    ap.add_argument("--model", type=Path, default=default_model())
    ap.add_argument("--rows", type=int, default=300)
    args = ap.parse_args()
    graph, lm = SynonymGraph.load(args.graph), NgramLM.load(args.model / NGRAMS_FILE)
    with args.pairs.open(encoding="utf-8") as f:
        rows = [r for r in map(json.loads, f) if not r["clean"]][: args.rows]
    swaps, covered, ranks = 0, 0, []
    for r in rows:
        spans = words(r["spun"])
        lowered = [r["spun"][s:e].lower() for s, e in spans]
        index = {s: i for i, (s, _) in enumerate(spans)}
        for e in diff(r["spun"], r["original"]):
            if " " in e.before or " " in e.after or not e.before.isalpha():
                continue
            swaps += 1
            candidates, found, _ = scores(lm, graph, lowered, index[e.start])
            if e.after.lower() in candidates:
                covered += 1
                ranks.append(1 + int((found > found[candidates.index(e.after.lower())]).sum()))
    share = covered / swaps
    print(f"{args.pairs.name}: {swaps} one-word swaps; the original among the graph's one-word candidates: {share:.1%}")
    for k in (1, 3, 5, 10, 20):
        print(f"  ranked in the n-gram model's top {k}: {sum(x <= k for x in ranks) / swaps:.1%} of the swaps")
    gains = []
    for r in rows:
        text = r["original"]
        spans = words(text)
        lowered = [text[s:e].lower() for s, e in spans]
        for i, (s, e) in enumerate(spans):
            if text[s:e].isalpha() and (i == 0 or not text[s].isupper()) and lowered[i] in lm.ids:
                candidates, found, own = scores(lm, graph, lowered, i)
                if candidates:
                    gains.append(float(found.max()) - own)
    print(f"clean originals: {len(gains)} words with candidates")
    for margin in (0, 1, 2, 3, 4, 6, 8):
        share = sum(g > margin for g in gains) / len(gains)
        print(f"  some candidate reads better than the author's word by > {margin} nats: {share:.1%}")


if __name__ == "__main__":
    main()
