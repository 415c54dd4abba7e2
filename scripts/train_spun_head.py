"""Train the spun-word head (``restore.engine.SpunHead``): does this word come from a thesaurus swap, by any
spinner? It reads the tagger's encoding of each word (the encoder stays as it is) and learns from text spun by
every thesaurus family in several styles (``scripts/build_lofo.py --splits train dev``), where the tagger's own
labels know only the swaps of our spinner.

    python scripts/build_lofo.py --pairs data/pairs --splits train
    python scripts/train_spun_head.py --model models/restore-t5-tagger        # ~15 min on 2 cores
    python scripts/train_spun_head.py --model M --families wordnet mythes   # leave Moby out (the LOFO measure)

Prints word and sentence ROC AUC on each family's dev set (lofo_dev_*), beside the tagger's P(change).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

# ---- config -------------------------------------------------------------------------------------
FAMILIES = ("wordnet", "mythes", "moby")
TRAIN_ROWS = 8_000  # per family
DEV_ROWS = 1_500  # per family
HIDDEN = 64
EPOCHS = 4
BATCH = 512
LR = 1e-3
SEED = 0


def encodings(backend, sp, rows: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per word of each row's spun side: the encoding the head reads at inference (``backend.run``: the tagger and
    the reader, so training and use agree), in fp16; whether the word lies in a swap (the diff to the original);
    P(change) by the label head; and its row."""
    from restore.edits import diff, words
    from restore.engine import MAX_TOKENS
    from restore.tags import encode

    texts = [r["spun"] for r in rows]
    encoded = encode(sp, texts, MAX_TOKENS)
    hidden, labels, change, row_of = [], [], [], []
    order = sorted((i for i in range(len(texts)) if encoded[i][1]), key=lambda i: len(encoded[i][0]))
    for b in range(0, len(order), 64):
        batch = order[b : b + 64]
        _, _, keep, firsts = backend.run(
            [encoded[i][0] for i in batch], [encoded[i][1] for i in batch], [texts[i] for i in batch]
        )
        k = 0
        for i in batch:
            spans = words(texts[i])[: len(encoded[i][1])]
            gold = diff(texts[i], rows[i]["original"])
            hidden.append(firsts[k : k + len(spans)].numpy().astype(np.float16))
            change.append(1 - keep[k : k + len(spans)].numpy())
            labels += swapped(spans, gold)
            row_of += [i] * len(spans)
            k += len(encoded[i][1])
    return np.concatenate(hidden), np.array(labels), np.concatenate(change), np.array(row_of)


def swapped(spans: Sequence[tuple[int, int]], gold: Sequence) -> list[bool]:
    """Whether each word span of a spun text lies in one of its ``gold`` edits (``restore.edits.diff`` to the
    original): the label the head (and scripts/train_reader.py) learns."""
    return [any(e.start < end and start < e.end for e in gold) for start, end in spans]


def train(x: np.ndarray, y: np.ndarray) -> torch.nn.Sequential:
    """A two-layer perceptron on the encodings, trained with binary cross-entropy."""
    torch.manual_seed(SEED)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 1))
    opt = torch.optim.Adam(net.parameters(), LR)
    xs, ys = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32))
    for epoch in range(EPOCHS):
        perm, total = torch.randperm(len(ys)), 0.0
        for b in range(0, len(ys), BATCH):
            i = perm[b : b + BATCH]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xs[i])[:, 0], ys[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(i)
        print(f"epoch {epoch + 1}: loss {total / len(ys):.4f}", flush=True)
    return net


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC (ties count half)."""
    from restore_eval.bench import roc_auc

    return roc_auc(scores[labels].tolist(), scores[~labels].tolist())


def fit_head(model_dir: Path, data: Path, families: Sequence[str] = FAMILIES, out: Path | None = None) -> Path:
    """Train the head on ``families``' lofo_train files in ``data``, write it (default: into ``model_dir``), and
    print its word and sentence AUC on each family's dev set beside the tagger's P(change)."""
    import sentencepiece as spm
    from safetensors.numpy import save_file
    from transformers import T5ForTokenClassification

    from restore.engine import HEAD_FILE, SpunHead, TorchBackend, _reader_model

    torch.set_num_threads(2)
    model = T5ForTokenClassification.from_pretrained(model_dir, dtype=torch.float32).eval()
    # no head: the encodings it reads (the reader with the folder's adapters) are what it learns from
    backend = TorchBackend(model, None, _reader_model(model_dir))
    sp = spm.SentencePieceProcessor(model_file=str(model_dir / "spiece.model"))

    def read(name: str, limit: int) -> list[dict]:
        with (data / name).open(encoding="utf-8") as f:
            return [json.loads(line) for line, _ in zip(f, range(limit))]

    t0 = time.time()
    parts = [encodings(backend, sp, read(f"lofo_train_{f}.jsonl", TRAIN_ROWS)) for f in families]
    x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    print(f"{len(y)} words ({y.mean():.1%} swapped) from {list(families)}, {time.time() - t0:.0f}s", flush=True)
    net = train(x, y)
    weights = {
        "w1": net[0].weight.detach().numpy().T.copy(),
        "b1": net[0].bias.detach().numpy(),
        "w2": net[2].weight.detach().numpy()[0],
        "b2": net[2].bias.detach().numpy(),
    }
    out = out or model_dir / HEAD_FILE
    save_file(weights, str(out))
    head = SpunHead.load(out)
    for family in FAMILIES:
        rows = read(f"lofo_dev_{family}.jsonl", DEV_ROWS)
        h, labels, change, row_of = encodings(backend, sp, rows)
        spun = np.array(head(h.astype(np.float32)))
        clean = np.array([r["clean"] for r in rows])
        print(
            f"dev {family}{'' if family in families else ' (held out)'}: word AUC head {auc(labels, spun):.3f} "
            f"tagger {auc(labels, change):.3f}; sentence AUC (most suspicious word) head "
            f"{auc(*_sentences(spun, row_of, clean)):.3f} tagger {auc(*_sentences(change, row_of, clean)):.3f}"
        )
    print(f"{out}: written, {time.time() - t0:.0f}s")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="the model folder: reads its encoder, writes its head")
    ap.add_argument("--data", type=Path, default=Path("data/pairs"))
    ap.add_argument("--families", nargs="+", default=list(FAMILIES), help="the families to train on")
    ap.add_argument("--out", type=Path, help="where to write the head (default: the model folder's)")
    args = ap.parse_args()
    fit_head(args.model, args.data, args.families, args.out)


def _sentences(scores: np.ndarray, row_of: np.ndarray, clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    best = np.full(len(clean), -np.inf)
    np.maximum.at(best, row_of, scores)
    seen = np.isfinite(best)
    return ~clean[seen], best[seen]


if __name__ == "__main__":
    main()
