"""Train the restorer: a small T5 that reads a spun sentence and writes only the edits that undo it.

    python scripts/train.py --data data/pairs --run ~/.cache/restore/runs/t5-edits      # resumes if the run exists
    nohup python scripts/train.py ... > train.log 2>&1 &                                # in the background
    python scripts/train.py --run ~/.cache/restore/runs/t5-edits --export models/restore-t5-edits

Everything is in this file (nanoGPT style): config on top, a SentencePiece tokenizer trained on the
first run, length-bucketed batches, bf16 autocast on CPU, a checkpoint every ``save_every`` steps (the
last ``keep`` are kept for averaging), dev loss and dev BLEU in the log. ``--export`` averages the last
checkpoints and writes a Hugging Face folder in fp16, a CTranslate2 int8 copy of it, and the edit
confidence threshold tuned on dev.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import torch

from restore.edits import SEP, TO, diff, serialize

# ---- config -------------------------------------------------------------------------------------
CONFIG = dict(
    vocab_size=8000,
    d_model=256,
    d_kv=64,
    d_ff=1024,
    num_layers=6,  # encoder: it has to spot the odd word in context
    num_decoder_layers=3,  # decoder: writes a few short edits
    num_heads=4,
    dropout_rate=0.0,
    feed_forward_proj="relu",
)
BATCH_SIZE = 64
LR = 1.5e-3
WARMUP = 400
MAX_SOURCE_TOKENS = 96
MAX_TARGET_TOKENS = 64
EVAL_EVERY = 500
SAVE_EVERY = 500
KEEP = 5
DEV_SIZE = 400
THREADS = 2
SEED = 0


# ---- tokenizer ----------------------------------------------------------------------------------
def train_tokenizer(rows: list[dict], prefix: Path) -> None:
    """Unigram SentencePiece with byte fallback (no character is ever unknown) and no normalisation."""
    import sentencepiece as spm

    text = [r["original"] for r in rows[:150_000]] + [r["spun"] for r in rows[:150_000] if not r["clean"]]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(text),
        model_prefix=str(prefix),
        vocab_size=CONFIG["vocab_size"],
        model_type="unigram",
        byte_fallback=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        split_digits=True,
        user_defined_symbols=[TO, SEP],
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        character_coverage=0.9995,
        input_sentence_size=300_000,
        shuffle_input_sentence=True,
        num_threads=THREADS,
        hard_vocab_limit=False,
        minloglevel=2,
    )


def load_split(data: Path, name: str, sp, limit: int | None = None) -> tuple[list[dict], list]:
    """Rows of one split (``datasets`` caches the tokenised form) and their (source ids, target ids),
    targets being the serialised edits then EOS; pairs over the length limits are left out."""
    from datasets import load_dataset

    ds = load_dataset("json", data_files=str(data / f"{name}.jsonl"), split="train")
    if limit:
        ds = ds.select(range(min(limit, len(ds))))

    def tokenise(batch: dict) -> dict:
        targets = [serialize(diff(s, o)) for s, o in zip(batch["spun"], batch["original"])]
        return {"src": sp.encode(batch["spun"]), "tgt": sp.encode(targets)}

    ds = ds.map(tokenise, batched=True, batch_size=2000, desc=f"tokenising {name}")
    pairs = [
        (s + [1], t + [1])
        for s, t in zip(ds["src"], ds["tgt"])
        if len(s) < MAX_SOURCE_TOKENS and len(t) < MAX_TARGET_TOKENS
    ]
    return ds.remove_columns(["src", "tgt"]).to_list(), pairs


def batches(pairs: list, rng: random.Random):
    """Endless length-bucketed batches: shuffle, sort within pools of 50 batches, shuffle the batches."""
    while True:
        order = pairs[:]
        rng.shuffle(order)
        pool = BATCH_SIZE * 50
        chunk = []
        for i in range(0, len(order), pool):
            part = sorted(order[i : i + pool], key=lambda p: len(p[0]))
            chunk += [part[j : j + BATCH_SIZE] for j in range(0, len(part), BATCH_SIZE)]
        rng.shuffle(chunk)
        yield from chunk


def collate(batch: list) -> dict[str, torch.Tensor]:
    n_src, n_tgt = max(len(s) for s, _ in batch), max(len(t) for _, t in batch)
    ids = torch.zeros(len(batch), n_src, dtype=torch.long)
    labels = torch.full((len(batch), n_tgt), -100, dtype=torch.long)
    for i, (s, t) in enumerate(batch):
        ids[i, : len(s)] = torch.tensor(s)
        labels[i, : len(t)] = torch.tensor(t)
    return {"input_ids": ids, "attention_mask": (ids != 0).long(), "labels": labels}


# ---- evaluation ---------------------------------------------------------------------------------
@torch.no_grad()
def dev_scores(model, sp, dev_rows: list[dict], dev_pairs: list) -> dict[str, float]:
    import sacrebleu

    from restore.edits import apply
    from restore.engine import TorchBackend, edit_sentences

    model.eval()
    losses = []
    for i in range(0, len(dev_pairs), BATCH_SIZE):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            losses.append(model(**collate(dev_pairs[i : i + BATCH_SIZE])).loss.item())
    spun = [r["spun"] for r in dev_rows]
    hyp = [apply(s, es) for s, es in zip(spun, edit_sentences(TorchBackend(model), sp, spun, BATCH_SIZE))]
    refs = [[r["original"] for r in dev_rows]]
    model.train()
    return {
        "dev_loss": sum(losses) / len(losses),
        "dev_bleu": sacrebleu.corpus_bleu(hyp, refs).score,
        "dev_bleu_input": sacrebleu.corpus_bleu(spun, refs).score,
    }


# ---- checkpoints --------------------------------------------------------------------------------
def save(run: Path, model, opt, step: int) -> None:
    from safetensors.torch import save_model

    save_model(model, str(run / f"weights-{step:07d}.safetensors"))  # tied embeddings stored once
    tmp = run / "state.pt.tmp"
    torch.save({"step": step, "opt": opt.state_dict(), "model": model.state_dict()}, tmp)
    tmp.replace(run / "state.pt")
    for old in sorted(run.glob("weights-*.safetensors"))[:-KEEP]:
        old.unlink()


def tune_threshold(model_dir: Path, dev: Path, max_clean_damage: float) -> float:
    """The edit-confidence threshold with the most BLEU on dev whose clean-text damage stays under the cap."""
    import sacrebleu

    from restore.edits import apply
    from restore.engine import edit_sentences
    from restore.restorer import Restorer
    from restore_eval.bench import words_changed

    with dev.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f][DEV_SIZE : DEV_SIZE + 2000]  # not the rows logged in training
    r = Restorer(model_dir, engine="torch")
    found = edit_sentences(r.backend, r.sp, [x["spun"] for x in rows], BATCH_SIZE)
    clean_words = sum(len(x["original"].split()) for x in rows if x["clean"])
    best = (-1.0, 1.0)
    for t in [i / 20 for i in range(20)]:
        hyp = [apply(x["spun"], [e for e in es if e.score >= t]) for x, es in zip(rows, found)]
        bleu = sacrebleu.corpus_bleu(hyp, [[x["original"] for x in rows]]).score
        damage = sum(words_changed(x["original"], h) for x, h in zip(rows, hyp) if x["clean"]) / clean_words
        print(f"min_confidence {t:.2f}: dev BLEU {bleu:.2f}, clean words changed {100 * damage:.2f}%")
        if damage <= max_clean_damage and bleu > best[0]:
            best = (bleu, t)
    return best[1]


def export(run: Path, out: Path, average: int, dev: Path) -> None:
    """Average the last ``average`` checkpoints, write a from_pretrained-ready fp16 folder, tune its threshold."""
    import shutil

    from safetensors.torch import load_file
    from transformers import T5Config, T5ForConditionalGeneration

    from restore.restorer import SETTINGS_FILE

    paths = sorted(run.glob("weights-*.safetensors"))[-average:]
    states = [load_file(p) for p in paths]
    avg = {k: sum(s[k].float() for s in states) / len(states) for k in states[0]}
    model = T5ForConditionalGeneration(T5Config.from_pretrained(run))
    model.load_state_dict(avg, strict=False)  # tied embeddings are stored once
    model.half().save_pretrained(out)
    shutil.copy(run / "spiece.model", out / "spiece.model")
    print(f"exported the average of {[p.name for p in paths]} to {out}")
    from restore.engine import convert_to_ct2

    print(f"CTranslate2 int8 copy: {convert_to_ct2(out)}")
    threshold = tune_threshold(out, dev, max_clean_damage=0.005)
    (out / SETTINGS_FILE).write_text(json.dumps({"min_confidence": threshold}) + "\n")
    print(f"min_confidence = {threshold}")


# ---- main ---------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("data/pairs"))
    ap.add_argument("--run", type=Path, default=Path.home() / ".cache/restore/runs/t5-edits")
    ap.add_argument("--max-steps", type=int, default=1_000_000)
    ap.add_argument("--max-hours", type=float, default=100.0)
    ap.add_argument("--export", type=Path, help="write the averaged model here and exit")
    ap.add_argument("--average", type=int, default=3)
    args = ap.parse_args()
    if args.export:
        return export(args.run, args.export, args.average, args.data / "dev.jsonl")

    import sentencepiece as spm
    from transformers import T5Config, T5ForConditionalGeneration

    torch.set_num_threads(THREADS)
    torch.manual_seed(SEED)
    args.run.mkdir(parents=True, exist_ok=True)
    if not (args.run / "spiece.model").exists():
        with (args.data / "train.jsonl").open(encoding="utf-8") as f:
            train_tokenizer([json.loads(line) for line in f], args.run / "spiece")
    sp = spm.SentencePieceProcessor(model_file=str(args.run / "spiece.model"))
    t0 = time.time()
    _, pairs = load_split(args.data, "train", sp)
    dev_rows, dev_pairs = load_split(args.data, "dev", sp, limit=DEV_SIZE)
    print(f"{len(pairs)} train pairs, {len(dev_rows)} dev, encoded in {time.time() - t0:.0f}s", flush=True)

    config = T5Config(**CONFIG, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    config.save_pretrained(args.run)
    model = T5ForConditionalGeneration(config)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01, betas=(0.9, 0.98))
    step = 0
    if (args.run / "state.pt").exists():
        state = torch.load(args.run / "state.pt", weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        print(f"resumed at step {step}", flush=True)
    resumed_at = step
    print(f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters", flush=True)
    model.train()
    stream = batches(pairs, random.Random(SEED))
    for _ in range(step):  # replay the seeded data stream to where the run stopped
        next(stream)
    start, seen, loss_sum = time.time(), 0, 0.0
    while step < args.max_steps and time.time() - start < args.max_hours * 3600:
        batch = collate(next(stream))
        ramp = min(1.0, (step - resumed_at + 1) / WARMUP)  # also after a resume (the optimizer may be new)
        lr = LR * min(ramp, math.sqrt(WARMUP / (step + 1)))  # warm-up, then inverse square root decay
        for group in opt.param_groups:
            group["lr"] = lr
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        seen += len(batch["input_ids"])
        loss_sum += loss.item()
        if step % 50 == 0:
            rate = seen / (time.time() - start) * 3600
            print(f"step {step} loss {loss_sum / 50:.4f} lr {lr:.2e} {rate:.0f} pairs/h", flush=True)
            loss_sum = 0.0
        if step % SAVE_EVERY == 0:
            save(args.run, model, opt, step)
        if step % EVAL_EVERY == 0:
            scores = dev_scores(model, sp, dev_rows, dev_pairs)
            print(json.dumps({"step": step, **{k: round(v, 4) for k, v in scores.items()}}), flush=True)
    save(args.run, model, opt, step)


if __name__ == "__main__":
    main()
