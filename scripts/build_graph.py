"""Build the synonym graph (``restore.graph``) from the thesaurus families in ``../shared/data/lexicon``.

python scripts/build_graph.py --out /tmp/graph.npz.xz          # ~1 min; 3.1M relations, 4.3 MB
"""

from __future__ import annotations

import argparse
from pathlib import Path

from restore.graph import SynonymGraph, relations

LEXICON = Path(__file__).resolve().parents[1] / "../shared/data/lexicon"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lexicon", type=Path, default=LEXICON)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    graph = SynonymGraph.build(relations(args.lexicon))
    graph.save(args.out)
    print(f"{args.out}: {len(graph.terms)} terms, {len(graph)} relations, {args.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
