"""The model call: sentences in, located edits with confidences out, in length-sorted batches.

Greedy decoding of short edit lists; each edit's confidence is the lowest probability the model gave to
any of its tokens, so a caller can keep only edits the model is sure of.
"""

from __future__ import annotations

from collections.abc import Callable

from restore.edits import SEP, Edit, apply, parse

MAX_SOURCE_TOKENS = 256  # longer pieces are left unchanged rather than cut
MAX_NEW_TOKENS = 64


def _batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def edit_sentences(
    model,
    sp,
    sentences: list[str],
    batch_size: int = 32,
    progress: Callable[[int], None] | None = None,
) -> list[list[Edit]]:
    """Edits the model proposes for each sentence, with ``Edit.score`` set to its confidence."""
    import torch

    sep_id = sp.piece_to_id(SEP)
    eos, pad = model.config.eos_token_id, model.config.pad_token_id
    ids = [s + [eos] for s in sp.encode(sentences)]
    out: list[list[Edit]] = [[] for _ in sentences]
    todo = [i for i, s in enumerate(ids) if len(s) <= MAX_SOURCE_TOKENS and sentences[i].strip()]
    for batch in _batches([len(ids[i]) for i in todo], batch_size):
        rows = [todo[b] for b in batch]
        width = max(len(ids[i]) for i in rows)
        input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
        for r, i in enumerate(rows):
            input_ids[r, : len(ids[i])] = torch.tensor(ids[i])
        with torch.inference_mode():
            gen = model.generate(
                input_ids=input_ids,
                attention_mask=(input_ids != pad).long(),
                max_new_tokens=MAX_NEW_TOKENS,
                do_sample=False,
                num_beams=1,
                output_scores=True,
                return_dict_in_generate=True,
            )
            probs = model.compute_transition_scores(gen.sequences, gen.scores, normalize_logits=True).exp()
        for r, i in enumerate(rows):
            segments, scores, cur, low = [], [], [], 1.0
            for tok, p in zip(gen.sequences[r, 1:].tolist(), probs[r].tolist()):
                if tok in (eos, pad) or tok == sep_id:
                    if cur:
                        segments.append(sp.decode(cur))
                        scores.append(low)
                    cur, low = [], 1.0
                    if tok != sep_id:
                        break
                else:
                    cur.append(tok)
                    low = min(low, p)
            out[i] = parse(sentences[i], segments, scores)
        if progress:
            progress(len(rows))
    return out


def restore_sentences(model, sp, sentences: list[str], batch_size: int = 32, min_confidence: float = 0.0) -> list[str]:
    """Each sentence with the edits the model is at least ``min_confidence`` sure of applied."""
    edits = edit_sentences(model, sp, sentences, batch_size)
    return [apply(s, [e for e in es if e.score >= min_confidence]) for s, es in zip(sentences, edits)]
