"""The network: sentences in, per word the likeliest change and its probability and P(KEEP) out, in
length-sorted batches (``tag_sentences``), or a chunk at a time while the tagger works ahead in threads
(``tag_chunks``). What becomes of them is ``restore.pipeline``'s.

The model is a T5 encoder with a token-classification head (``T5ForTokenClassification``): one pass
tags every word ``KEEP``, ``DELETE`` or ``REPLACE by phrase k`` (see ``restore.tags``); the head runs on
each word's first token only. A second, small head (``SpunHead``, ``spun.safetensors``) reads the same
encoding and says how likely the word is a thesaurus swap by any spinner: it was trained on text spun from
every thesaurus family in several styles, where the label head knows only the swaps of our own spinner.

Two backends run the same weights in fp32: ``TorchBackend`` (transformers: the reference) and
``OnnxBackend`` (ONNX Runtime: the graph in ``tagger.onnx``, made by ``export_onnx``, with its weights read
from ``model.safetensors`` at load), used when ``onnxruntime`` is installed and the graph exists. They agree
within 4e-6, and fp32 kernels differ by CPU only in rounding; an int8 copy tagged 1.2x faster but moved P(KEEP)
by 0.014 on average, differently on different CPUs, and so changed results from one machine to the next.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from restore.tags import encode

MAX_TOKENS = 256  # words past this many tokens of one piece are kept as they are
CHUNK = 256  # the most sentences tag_chunks hands over at a time (the pipeline proposes for as many at once)
FIRST_CHUNK = 16  # ... and the fewest: its first chunk, so the caller's work overlaps the tagger's within an article
BATCH_SIZE = 32  # sentences tagged together by default: 16 tagged faster alone but restored 6-12% slower in three
# interleaved rounds over the 2,054 spun test sentences (its peak RSS was 200 MB lower); 64 and 128 tagged slower
ONNX_FILE = "tagger.onnx"  # the graph alone (~0.2 MB); its weights are model.safetensors'
WEIGHTS_FILE = "model.safetensors"
HEAD_FILE = "spun.safetensors"  # SpunHead's weights
GRAPH_PREFIX = "model."  # _tagger holds the model as .model, so the graph names a weight model.<parameter>
SUPPLIED = "supplied-at-load-from-" + WEIGHTS_FILE  # the graph's weights' "file": absent, so one not supplied fails

Tags = tuple[list[int], list[float], list[float], list[float]]  # per word: likeliest label but KEEP, its
# probability, P(KEEP), P(spun) by the SpunHead


class SpunHead:
    """P(a word is a thesaurus swap) from the encoder's reading of its first token: a two-layer perceptron in
    numpy (``w1`` d x h, ``b1``, ``w2`` h, ``b2``), trained by scripts/train_spun_head.py."""

    def __init__(self, weights: dict) -> None:
        from threadpoolctl import ThreadpoolController

        self.w1, self.b1, self.w2, self.b2 = (weights[k].astype("float64") for k in ("w1", "b1", "w2", "b2"))
        self._blas = ThreadpoolController()
        self._lock = threading.Lock()  # BLAS's thread count is the process's: one tagging thread sets it at a time

    @classmethod
    def load(cls, path: Path) -> SpunHead:
        """Read ``path``; an unreadable file or a missing weight is a one-line ValueError naming it."""
        from safetensors.numpy import load_file

        try:
            return cls(load_file(path))
        except FileNotFoundError:
            raise
        except Exception as e:
            raise ValueError(f"{path}: not a spun-word head ({type(e).__name__}: {str(e)[:200]})") from None

    def __call__(self, hidden) -> list[float]:
        """P(spun) for each row of ``hidden`` (words x d). Computed in float64 and rounded to float32, so that a
        word's value does not depend on how many rows BLAS multiplies with it (its blocking changes the rounding)."""
        import numpy as np

        with self._lock, self._blas.limit(limits=1, user_api="blas"):  # spinning BLAS threads slowed the tagger 25%
            z = np.maximum(hidden.astype(np.float64) @ self.w1 + self.b1, 0) @ self.w2 + self.b2
        z = z.astype(np.float32)
        return (1 / (1 + np.exp(-np.clip(z.astype(np.float64), -50, 50)))).tolist()


def _phrases(id2label: dict) -> list[str]:
    """Label ``k + 2`` replaces by ``phrases[k]`` (labels 0 and 1 are KEEP and DELETE)."""
    return [id2label[i] for i in range(2, len(id2label))]


def _inputs(batch: list[list[int]], firsts: list[list[int]]):
    """Padded ids, their mask, and the (row, column) of every word's first token, as numpy arrays."""
    import numpy as np

    ids = np.zeros((len(batch), max(len(x) for x in batch)), dtype=np.int64)
    for r, x in enumerate(batch):
        ids[r, : len(x)] = x
    rows = np.array([r for r, f in enumerate(firsts) for _ in f], dtype=np.int64)
    cols = np.array([c for f in firsts for c in f], dtype=np.int64)
    return ids, (ids != 0).astype(np.int64), rows, cols


def _split(
    labels: list[int], probs: list[float], keep: list[float], spun: list[float], firsts: list[list[int]]
) -> list[Tags]:
    out, k = [], 0
    for f in firsts:
        out.append((labels[k : k + len(f)], probs[k : k + len(f)], keep[k : k + len(f)], spun[k : k + len(f)]))
        k += len(f)
    return out


def _tagger(model):
    """The model as one graph: ids, mask, first-token positions -> per word, the likeliest label other
    than KEEP, its probability, the probability of KEEP, and the encoding the SpunHead reads."""
    import torch

    class Tagger(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, rows, cols):
            hidden = self.model.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            firsts = hidden[rows, cols]
            probs = self.model.classifier(firsts).float().softmax(-1)  # 2-D: one Gemm with its bias in ONNX
            top, label = probs.topk(2, -1)  # one TopK op: cheaper than slicing off KEEP for an ArgMax
            first_is_keep = label[:, 0] == 0  # then the likeliest change is the runner-up
            change = torch.where(first_is_keep, label[:, 1], label[:, 0])
            best = torch.where(first_is_keep, top[:, 1], top[:, 0])
            return change, best, probs[:, 0], firsts.float()  # the likeliest change, whether or not KEEP beats it

    return Tagger().eval()


class TorchBackend:
    """transformers ``T5ForTokenClassification`` in fp32: the reference implementation."""

    name = "torch"
    workers = 1  # torch spreads each batch over its own threads

    def __init__(self, model, head: SpunHead | None) -> None:
        """``head`` None (a tagger still in training has none): every word P(spun) 0."""
        self.phrases = _phrases(model.config.id2label)
        self.tagger = _tagger(model)
        self.head = head

    @classmethod
    def load(cls, path: Path) -> TorchBackend:
        import torch
        from transformers import T5ForTokenClassification
        from transformers.utils import logging

        logging.disable_progress_bar()  # the CLI's stderr is for its own progress and errors
        model = T5ForTokenClassification.from_pretrained(path, dtype=torch.float32).eval()
        return cls(model, SpunHead.load(path / HEAD_FILE))

    def tag(self, batch: list[list[int]], firsts: list[list[int]]) -> list[Tags]:
        import torch

        device = self.tagger.model.device  # CPU here; a GPU when scripts/train.py scores dev there
        with torch.inference_mode():
            label, best, keep, hidden = self.tagger(*(torch.from_numpy(a).to(device) for a in _inputs(batch, firsts)))
        spun = self.head(hidden.cpu().numpy()) if self.head else [0.0] * len(keep)
        return _split(label.tolist(), best.tolist(), keep.tolist(), spun, firsts)


class OnnxBackend:
    """ONNX Runtime on the same weights: ``model.safetensors`` cast to fp32 and handed to the graph."""

    name = "onnx"

    def __init__(self, path: Path, threads: int = 0) -> None:
        import json

        import numpy as np
        import onnxruntime
        from safetensors.numpy import load_file

        self.workers = threads or os.cpu_count() or 1  # batches tagged at once, each on one thread (tag_chunks)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        weights = {GRAPH_PREFIX + k: v.astype(np.float32) for k, v in load_file(path / WEIGHTS_FILE).items()}
        # ORT uses these buffers in place: they live as long as the backend
        self._weights = [onnxruntime.OrtValue.ortvalue_from_numpy(w) for w in weights.values()]
        options.add_external_initializers(list(weights), self._weights)
        try:
            self.session = onnxruntime.InferenceSession(
                str(path / ONNX_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # ORT's message can run to pages of graph detail: its first line, once
            reason = str(e).splitlines()[0][:300]
            raise ValueError(f"{path / ONNX_FILE}: cannot run it on {WEIGHTS_FILE}: {reason}") from None
        id2label = json.loads((path / "config.json").read_text(encoding="utf-8"))["id2label"]
        self.phrases = _phrases({int(k): v for k, v in id2label.items()})  # no transformers: it imports torch
        self.head = SpunHead.load(path / HEAD_FILE)

    def tag(self, batch: list[list[int]], firsts: list[list[int]]) -> list[Tags]:
        ids, mask, rows, cols = _inputs(batch, firsts)
        feed = {"input_ids": ids, "attention_mask": mask, "rows": rows, "cols": cols}
        label, best, keep, hidden = self.session.run(None, feed)
        return _split(label.tolist(), best.tolist(), keep.tolist(), self.head(hidden), firsts)


def load_backend(path: Path, engine: str = "auto", threads: int = 0) -> TorchBackend | OnnxBackend:
    """``auto``: ONNX Runtime when it is installed and the model has its graph, else torch. ``threads``: how many
    batches ONNX Runtime tags at once, each on one thread (0: one per core); torch keeps its own setting."""
    if engine not in ("auto", "torch", "onnx"):
        raise ValueError(f"unknown engine {engine!r}; choose auto, onnx or torch")
    if engine != "torch" and (path / ONNX_FILE).is_file():
        try:
            return OnnxBackend(path, threads)
        except ImportError:
            if engine == "onnx":
                raise
    elif engine == "onnx":
        raise FileNotFoundError(f"{path / ONNX_FILE}: no ONNX graph (scripts/train.py --export makes one)")
    return TorchBackend.load(path)


def export_onnx(path: Path) -> Path:
    """Write ``path/tagger.onnx``: the model in ``path`` as one ONNX graph without its weights, which
    ``OnnxBackend`` reads from ``model.safetensors`` (the repository keeps one copy of them). Not folded
    into the graph, so each weight keeps its parameter's name."""
    import tempfile

    import onnx
    import torch
    from transformers import T5ForTokenClassification

    model = T5ForTokenClassification.from_pretrained(path, dtype=torch.float32).eval()
    weights = {GRAPH_PREFIX + k: p for k, p in model.named_parameters()}
    with torch.no_grad():  # the exporter merges weights of equal value (e.g. untrained layer norms, all
        for p in weights.values():  # ones); the graph keeps no values, so each gets a distinct one
            p.normal_()
    example = _inputs([[5, 6, 7, 1], [5, 1]], [[0, 2], [0]])
    with tempfile.TemporaryDirectory() as tmp:
        torch.onnx.export(
            _tagger(model),
            tuple(torch.from_numpy(a) for a in example),
            str(Path(tmp) / ONNX_FILE),
            input_names=["input_ids", "attention_mask", "rows", "cols"],
            output_names=["label", "prob", "keep", "hidden"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "rows": {0: "words"},
                "cols": {0: "words"},
            },
            opset_version=17,
            dynamo=False,
            do_constant_folding=False,  # folding would store transposed weights under new names
        )
        graph = onnx.load(str(Path(tmp) / ONNX_FILE))
    external = [init for init in graph.graph.initializer if init.name in weights]
    if len(external) != len(weights):
        raise RuntimeError(f"{path}: the ONNX exporter dropped or merged weights")
    for init in external:
        init.ClearField("raw_data")
        init.data_location = onnx.TensorProto.EXTERNAL
        entry = init.external_data.add()
        entry.key, entry.value = "location", SUPPLIED
    onnx.save(graph, str(path / ONNX_FILE))
    return path / ONNX_FILE


def tag_sentences(
    backend: TorchBackend | OnnxBackend,
    sp,
    sentences: Sequence[str],
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> list[Tags]:
    """The model's proposal for each word of each sentence, in length-sorted batches."""
    out: list[Tags] = []
    for _, tags in tag_chunks(backend, sp, sentences, batch_size):
        out += tags
        if progress:
            progress(len(tags))
    return out


def tag_chunks(
    backend: TorchBackend | OnnxBackend,
    sp,
    sentences: Sequence[str],
    batch_size: int = BATCH_SIZE,
    chunk: int = CHUNK,
) -> Iterator[tuple[int, list[Tags]]]:
    """The tags of the sentences a chunk at a time, in order, each chunk's first index with them: FIRST_CHUNK
    sentences, then twice as many each time up to ``chunk``. Each chunk is cut into length-sorted batches (into one
    per worker when it has too few to go round). With several workers
    (``backend.workers``), every batch is tagged in a pool of threads while the caller works on the chunks
    already yielded: on 2 cores the tagger's work and the caller's Python overlap. A sentence's tags do not depend
    on its batch."""
    if not sentences:
        return
    encoded = encode(sp, sentences, MAX_TOKENS)
    workers = backend.workers
    starts, size = [0], FIRST_CHUNK  # chunks of 16, 32, 64, ... sentences up to ``chunk``: the caller starts soon
    while starts[-1] + size < len(sentences):
        starts.append(starts[-1] + size)
        size = min(2 * size, chunk)
    chunks = list(zip(starts, [*starts[1:], len(sentences)]))  # (first sentence, the one after the last)

    def batches(c: int, e: int) -> list[list[int]]:
        todo = [i for i in range(c, e) if encoded[i][1]]
        order = sorted(todo, key=lambda i: (len(encoded[i][0]), i))
        size = max(min(batch_size, -(-len(order) // workers)), 1)  # 40 sentences on 2 workers: 2 batches of 20
        return [order[b : b + size] for b in range(0, len(order), size)]

    def tag(rows: list[int]) -> list[Tags]:
        return backend.tag([encoded[i][0] for i in rows], [encoded[i][1] for i in rows])

    def tagged(c: int, e: int, found: Iterator[tuple[list[int], list[Tags]]]) -> list[Tags]:
        out: list[Tags] = [([], [], [], []) for _ in range(c, e)]
        for rows, tags in found:
            for i, t in zip(rows, tags):
                out[i - c] = t
        return out

    if workers == 1:
        for c, e in chunks:
            yield c, tagged(c, e, ((rows, tag(rows)) for rows in batches(c, e)))
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:  # a pool per call: nothing left running, e.g. across a fork
        pending = [(c, e, [(rows, pool.submit(tag, rows)) for rows in batches(c, e)]) for c, e in chunks]
        try:
            for c, e, futures in pending:
                yield c, tagged(c, e, ((rows, f.result()) for rows, f in futures))
        finally:  # the caller stopped early (or failed): drop the batches not started
            for _, _, futures in pending:
                for _, f in futures:
                    f.cancel()
