"""Fixtures: a tiny randomly initialised model folder (no download, no ../shared) and a rule-based fake."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from restore.detect import WORD_FEATURES
from restore.edits import Edit
from restore.engine import READER_WIDTH

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

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def script(name: str) -> Iterator:
    """``scripts/{name}.py`` as a module, with scripts/ on sys.path for the neighbours it imports, while a fixture
    that yields from this is in use."""
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    mp.undo()


SCIENCE = """The support vector machine separates the classes with a margin.
A random forest averages many decision trees.
Artificial intelligence and machine learning fit a model to the training data.
"""  # the tiny model's scientific prose
SWAPS = {"best": "top", "sentence": "condemn", "12 months": "year", "financial strengthen": "economic support"}


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A randomly initialised two-layer T5 tagger with a small SentencePiece vocabulary, saved like the real one."""
    import sentencepiece as spm
    import torch
    from transformers import T5Config, T5ForTokenClassification

    folder = tmp_path_factory.mktemp("tiny-model")
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS.splitlines()),
        model_prefix=str(folder / "spiece"),
        vocab_size=600,
        byte_fallback=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    torch.manual_seed(0)
    vocab = spm.SentencePieceProcessor(model_file=str(folder / "spiece.model")).get_piece_size()
    labels = ["<keep>", "<delete>", *SWAPS.values(), "was"]
    config = T5Config(
        vocab_size=vocab, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=0, num_heads=4,
        is_encoder_decoder=False, pad_token_id=0, eos_token_id=1, num_labels=len(labels),
        id2label=dict(enumerate(labels)),
    )  # fmt: skip
    T5ForTokenClassification(config).save_pretrained(folder)
    write_spun_head(folder, config.d_model + READER_WIDTH)
    write_decider_files(folder)
    return folder


def write_spun_head(folder: Path, width: int) -> None:
    """A random spun-word head for an encoding of ``width``."""
    import numpy as np
    from safetensors.numpy import save_file

    from restore.engine import HEAD_FILE

    rng = np.random.default_rng(0)
    weights = {"w1": rng.normal(size=(width, 8)), "b1": np.zeros(8), "w2": rng.normal(size=8), "b2": np.zeros(1)}
    save_file({k: v.astype(np.float32) for k, v in weights.items()}, str(folder / HEAD_FILE))


def write_decider_files(folder: Path) -> None:
    """What the tagger needs beside it: counts from pairs spun with SWAPS, and fixed weights that trust
    the phrase table and the bigram context about equally (one weight per feature, by name)."""
    from restore.features import FEATURES
    from restore.graph import SynonymGraph
    from restore.looks import Look, save_looks
    from restore.phrases import NgramLM, PhraseTable
    from restore.restorer import GRAPH_FILE, NGRAMS_FILE, PHRASES_FILE, SCIENCE_FILE, SETTINGS_FILE

    originals = CORPUS.splitlines()
    spun = list(originals)
    for before, after in SWAPS.items():
        spun = [re.sub(rf"\b{re.escape(after)}\b", before, s) for s in spun]
    PhraseTable.build(zip(spun, originals)).save(folder / PHRASES_FILE)
    NgramLM.build(originals).save(folder / NGRAMS_FILE)
    NgramLM.build(SCIENCE.splitlines()).save(folder / SCIENCE_FILE)
    SynonymGraph.build((after, before) for before, after in SWAPS.items()).save(folder / GRAPH_FILE)
    weights = [1.0, 1.0] + [0.0] * (len(FEATURES) - 2)
    look = Look(FEATURES, weights, bias=0.0, min_confidence=0.5)
    save_looks(folder / SETTINGS_FILE, look, None, look)  # terms alone are judged as running text
    settings = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    (folder / SETTINGS_FILE).write_text(json.dumps(settings | {"detect": TINY_DETECT}), encoding="utf-8")


TINY_DETECT = {  # spin detection that trusts the phrase table's swap rate alone: "best" and "12 months" are flagged
    "word_trees": {  # one tree: a word swapped more than a quarter of the time is spun (log-odds +15), else -5
        "features": list(WORD_FEATURES), "baseline": -5.0, "depth": 1, "roots": [0],
        "feature": [WORD_FEATURES.index("swap_rate"), 0, 0], "threshold": [0.25, 0.0, 0.0],
        "left": [1, 1, 2], "right": [2, 1, 2], "value": [0.0, 0.0, 20.0],
    },
    "sentence_weights": {
        "top_logit": 1.0, "second_logit": 0.0, "third_logit": 0.0, "mean_logit": 0.0, "log_words": 0.0,
    },
    "sentence_bias": 0.0,  # a sentence's score is its most suspicious word's
    "doc_weights": {"top_logit": 1.0, "mean_logit": 0.0, "flagged_share": 0.0},
    "doc_bias": 0.0,
    "threshold": 0.5,
    "term_threshold": 0.5,
}  # fmt: skip


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory) -> Path:
    """A randomly initialised two-layer Llama over the words of CORPUS, converted to CTranslate2 like the real
    SmolLM2 (folder ``ct2``), beside its transformers original (folder ``hf``, the reference)."""
    pytest.importorskip("ctranslate2")
    import shutil

    import ctranslate2.converters
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from restore.lm import DOC_START, PRECISION

    folder = tmp_path_factory.mktemp("tiny-lm")
    words = sorted(set(re.findall(r"\w+|[^\w\s]", CORPUS)))
    vocab = {DOC_START: 0, "<unk>": 1, **{w: i + 2 for i, w in enumerate(words)}}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens([DOC_START])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", bos_token=DOC_START, eos_token=DOC_START
    )
    fast.save_pretrained(folder / "hf")
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=4, max_position_embeddings=256, tie_word_embeddings=True, bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(folder / "hf")
    ctranslate2.converters.TransformersConverter(str(folder / "hf")).convert(
        str(folder / "ct2"), quantization=PRECISION
    )
    shutil.copy(folder / "hf" / "tokenizer.json", folder / "ct2" / "tokenizer.json")
    return folder


@pytest.fixture(scope="session")
def tiny_onnx_model(tiny_model, tmp_path_factory) -> Path:
    """The tiny model with its ONNX graph beside it (``Restorer`` then runs it on ONNX Runtime)."""
    import shutil

    from restore.engine import export_onnx

    folder = tmp_path_factory.mktemp("tiny-onnx") / "model"
    shutil.copytree(tiny_model, folder)
    export_onnx(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_restorer(tiny_onnx_model):
    """One Restorer on the tiny random model (ONNX Runtime), shared by property tests (tests set min_confidence)."""
    from restore.restorer import Restorer

    return Restorer(tiny_onnx_model)


def line_breaks(text: str) -> list[str]:
    """Every line break of ``text``, in order (what ``str.splitlines`` splits at, CRLF as one)."""
    return re.findall("\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", text)


def hostile_text(surrogates: bool = True, max_pieces: int = 10):
    """Text that has broken tokenizers and segmenters: any Unicode, lone surrogates (when ``surrogates``),
    decomposed (NFD) accents and stray combining marks, right-to-left scripts and marks, emoji joined by
    ZWJ, every kind of line break, lines thousands of characters long, and the words the models swap."""
    import unicodedata

    from hypothesis import strategies as st

    pieces = [
        "best", "12 months", "sentence", "financial strengthen", "the ", ". ", " ", "\t", "  ",
        "\n", "\r\n", "\r", "\n\n", "\r\n\r\n", "\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x85",
        unicodedata.normalize("NFD", "Café naïve Ångström señor Zürich. "), "e\u0301", "\u0301", "\u0301\u0327",
        "مرحبا بالعالم، قال الوزير. ", "שלום עולם. ", "\u200f", "\u200e", "\u202e", "\u2066best\u2069",
        "👩\u200d👩\u200d👧", "👍🏽", "🇫🇷", "❤\ufe0f", "😀", "\ufeff", "\u200b", "\x00",
    ]  # fmt: skip
    short = [
        st.text(max_size=20),
        st.sampled_from(pieces),
        st.characters(categories=["Mn", "Me"]),  # combining marks
        st.characters(categories=["Zl", "Zp", "Cc"]),  # line and paragraph separators, control characters
    ]
    draws = short * 4 + [  # one piece in 18 is long
        st.text(st.characters(categories=["L", "M", "N", "P", "Zs", "So"]), min_size=20, max_size=400),
        st.integers(50, 600).map(lambda n: "the best of times " * n),  # a line of up to 10,800 characters
    ]
    if surrogates:
        draws.append(st.characters(categories=["Cs"]))  # lone surrogates: only a Python str can hold them
    return st.lists(st.one_of(draws), max_size=max_pieces).map("".join)


def fake_edit_sentences(sentences, min_confidence=0.5):
    """Stands in for the model: the SWAPS found in each sentence, 0.9 sure of each."""
    out = []
    for s in sentences:
        found = sorted((m.start(), m.end(), k) for k in SWAPS for m in re.finditer(rf"\b{re.escape(k)}\b", s))
        out.append([Edit(a, b, k, SWAPS[k], 0.9) for a, b, k in found if min_confidence <= 0.9])
    return out


def fake_decide(self, sentences, batch_size=32, min_confidence=None, progress=None, candidates=True, terms=None):
    """Stands in for ``Pipeline.decide``: each sentence's SWAPS as its candidates, made when likely enough."""
    from restore.pipeline import Decision

    threshold = 0.5 if min_confidence is None else min_confidence
    out = [Decision(c, [e for e in c if e.score >= threshold]) for c in fake_edit_sentences(sentences, 0.0)]
    if progress:
        for _ in sentences:
            progress(1)
    return out


@pytest.fixture
def fake_restorer(tiny_model, monkeypatch):
    """A Restorer whose model call is replaced by fixed swaps, to test everything around the model."""
    from restore.pipeline import Pipeline
    from restore.restorer import Restorer

    monkeypatch.setattr(Pipeline, "decide", fake_decide)
    return Restorer(tiny_model)


@pytest.fixture
def run(tiny_model, monkeypatch, capsys):
    """The CLI in-process on the tiny model, restoring with the fake edits (scoring runs the tiny model);
    returns (exit code, stdout, stderr)."""
    import io
    import sys

    from restore.cli import main
    from restore.pipeline import Pipeline

    monkeypatch.setattr(Pipeline, "decide", fake_decide)

    def _run(*args, stdin: str = ""):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
        code = main([*args, "--model", str(tiny_model), "--no-progress"])
        out, err = capsys.readouterr()
        return code, out, err

    return _run
