"""The model call: sentences in, located edits with confidences out, in length-sorted batches.

Two backends run the same weights: ``TorchBackend`` (transformers ``generate``, the reference) and
``CT2Backend`` (CTranslate2 int8, several times faster on CPU), used when ``ctranslate2`` is installed
and the model folder holds a converted copy in ``ct2-int8/``. Decoding is greedy; an edit's confidence
is the lowest probability the model gave to any of its tokens.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path

from restore.edits import SEP, Edit, parse

MAX_SOURCE_TOKENS = 256  # longer pieces (only odd, unsegmentable text) are left unchanged
MAX_NEW_TOKENS = 64
CT2_DIR = "ct2-int8"

Steps = list[tuple[int, float]]  # generated (token id, probability), EOS excluded


class TorchBackend:
    """transformers ``generate`` on padded batches: the reference implementation."""

    name = "torch"

    def __init__(self, model) -> None:
        self.model = model
        self.eos, self.pad = model.config.eos_token_id, model.config.pad_token_id

    @classmethod
    def load(cls, path: Path) -> TorchBackend:
        import torch
        from transformers import T5ForConditionalGeneration
        from transformers.utils import logging

        logging.disable_progress_bar()  # the CLI's stderr is for its own progress and errors
        return cls(T5ForConditionalGeneration.from_pretrained(path, dtype=torch.float32).eval())

    def generate(self, batch: list[list[int]]) -> list[Steps]:
        import torch

        width = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), width), self.pad, dtype=torch.long)
        for r, ids in enumerate(batch):
            input_ids[r, : len(ids)] = torch.tensor(ids)
        with torch.inference_mode():
            gen = self.model.generate(
                input_ids=input_ids,
                attention_mask=(input_ids != self.pad).long(),
                max_new_tokens=MAX_NEW_TOKENS,
                do_sample=False,
                num_beams=1,
                output_scores=True,
                return_dict_in_generate=True,
            )
            probs = self.model.compute_transition_scores(gen.sequences, gen.scores, normalize_logits=True).exp()
        out = []
        for seq, p in zip(gen.sequences[:, 1:].tolist(), probs.tolist()):
            steps = []
            for tok, prob in zip(seq, p):
                if tok in (self.eos, self.pad):
                    break
                steps.append((tok, prob))
            out.append(steps)
        return out


class CT2Backend:
    """CTranslate2 int8 on the CPU: the same model, converted by ``convert_to_ct2``."""

    name = "ctranslate2"

    def __init__(self, path: Path, threads: int = 0) -> None:
        import ctranslate2

        self.translator = ctranslate2.Translator(
            str(path / CT2_DIR), device="cpu", intra_threads=threads or os.cpu_count() or 1
        )
        vocab = (path / CT2_DIR / "shared_vocabulary.json").read_text(encoding="utf-8")
        self.pieces: list[str] = json.loads(vocab)
        self.index = {p: i for i, p in enumerate(self.pieces)}
        self.eos = self.index["</s>"]

    def generate(self, batch: list[list[int]]) -> list[Steps]:
        steps: list[Steps] = [[] for _ in batch]
        eos = self.eos

        def record(step) -> bool:  # must not hold ``self``: CTranslate2 may drop it in its own thread
            if step.token_id != eos:
                steps[step.batch_id].append((step.token_id, math.exp(step.log_prob)))
            return False

        self.translator.translate_batch(
            [[self.pieces[i] for i in ids] for ids in batch],
            beam_size=1,
            max_decoding_length=MAX_NEW_TOKENS,
            min_decoding_length=0,  # "no edit" (EOS first) is the commonest answer
            return_scores=True,
            callback=record,
        )
        return steps


def load_backend(path: Path, engine: str = "auto") -> TorchBackend | CT2Backend:
    """``auto``: CTranslate2 when it is installed and the model has a converted copy, else torch."""
    if engine not in ("auto", "torch", "ctranslate2"):
        raise ValueError(f"unknown engine {engine!r}; choose auto, torch or ctranslate2")
    if engine != "torch" and (path / CT2_DIR / "model.bin").is_file():
        try:
            return CT2Backend(path)
        except ImportError:
            if engine == "ctranslate2":
                raise
    elif engine == "ctranslate2":
        raise FileNotFoundError(f"{path / CT2_DIR}: no CTranslate2 model (scripts/train.py --export makes one)")
    return TorchBackend.load(path)


def convert_to_ct2(path: Path, quantization: str = "int8_float32") -> Path:
    """Write ``path/ct2-int8``: the Hugging Face model in ``path`` converted for CTranslate2."""
    import sentencepiece as spm
    from ctranslate2.converters import TransformersConverter

    sp = spm.SentencePieceProcessor(model_file=str(path / "spiece.model"))

    class Vocabulary:  # what the converter reads of a tokenizer; ours is plain SentencePiece
        pad_token, eos_token, unk_token = sp.id_to_piece(0), sp.id_to_piece(1), sp.id_to_piece(2)

        def get_vocab(self) -> dict[str, int]:
            return {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}

        def convert_ids_to_tokens(self, i: int) -> str:
            return sp.id_to_piece(i)

    class Converter(TransformersConverter):
        def load_tokenizer(self, *args, **kwargs):
            return Vocabulary()

    out = path / CT2_DIR
    Converter(str(path)).convert(str(out), quantization=quantization, force=True)
    return out


def _batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def edit_sentences(
    backend: TorchBackend | CT2Backend,
    sp,
    sentences: list[str],
    batch_size: int = 32,
    progress: Callable[[int], None] | None = None,
) -> list[list[Edit]]:
    """Edits the model proposes for each sentence, with ``Edit.score`` set to its confidence."""
    sep_id, eos = sp.piece_to_id(SEP), sp.eos_id()
    ids = [s + [eos] for s in sp.encode(sentences)]
    out: list[list[Edit]] = [[] for _ in sentences]
    todo = [i for i, s in enumerate(ids) if len(s) <= MAX_SOURCE_TOKENS and sentences[i].strip()]
    for batch in _batches([len(ids[i]) for i in todo], batch_size):
        rows = [todo[b] for b in batch]
        for i, steps in zip(rows, backend.generate([ids[i] for i in rows])):
            segments, scores, cur, low = [], [], [], 1.0
            for tok, p in [*steps, (sep_id, 1.0)]:
                if tok == sep_id:
                    if cur:
                        segments.append(sp.decode(cur))
                        scores.append(low)
                    cur, low = [], 1.0
                else:
                    cur.append(tok)
                    low = min(low, p)
            out[i] = parse(sentences[i], segments, scores)
        if progress:
            progress(len(rows))
    return out
