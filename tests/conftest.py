"""Fixtures: a tiny randomly initialised model folder (no download, no ../shared) and a rule-based fake."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from restore.edits import SEP, TO

CORPUS = (
    """Washington's top diplomat began a visit to Kazakhstan on Tuesday.
The minister said the economic support would continue for a year.
Officials condemned the invasion and promised help to the region.
She was born in 1970 and moved to Paris — then to “New York”.
Prices rose by 3% in March, the statistics office said.
Ünïcödé täxt, emoji 😀 and tabs\tstay as they are.
"""
    * 20
)

SWAPS = {"best": "top", "sentence": "condemn", "12 months": "year", "financial strengthen": "economic support"}


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A randomly initialised two-layer T5 with a small SentencePiece vocabulary, saved like the real one."""
    import sentencepiece as spm
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    folder = tmp_path_factory.mktemp("tiny-model")
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS.splitlines()),
        model_prefix=str(folder / "spiece"),
        vocab_size=600,
        byte_fallback=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        user_defined_symbols=[TO, SEP],
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    torch.manual_seed(0)
    vocab = spm.SentencePieceProcessor(model_file=str(folder / "spiece.model")).get_piece_size()
    config = T5Config(
        vocab_size=vocab, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4,
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    )  # fmt: skip
    T5ForConditionalGeneration(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_restorer(tiny_model):
    """One Restorer on the tiny random model, shared by property tests (tests set min_confidence)."""
    from restore.restorer import Restorer

    return Restorer(tiny_model)


def fake_edit_sentences(model, sp, sentences, batch_size=32, progress=None):
    """Stands in for the model: proposes the SWAPS found in each sentence, as the engine would."""
    from restore.edits import parse

    out = []
    for s in sentences:
        found = [(m.start(), k) for k in SWAPS for m in re.finditer(rf"\b{re.escape(k)}\b", s)]
        out.append(parse(s, [f"{k} {TO} {SWAPS[k]}" for _, k in sorted(found)], [0.9] * len(found)))
        if progress:
            progress(1)
    return out


@pytest.fixture
def fake_restorer(tiny_model, monkeypatch):
    """A Restorer whose model call is replaced by fixed swaps, to test everything around the model."""
    import restore.engine
    from restore.restorer import Restorer

    monkeypatch.setattr(restore.engine, "edit_sentences", fake_edit_sentences)
    return Restorer(tiny_model)
