"""``Restorer``: load the bundled model once, restore any text, and keep every byte of layout.

Text is split into sentences as character spans of the input; only the spans the model edits change,
so paragraph breaks, spacing, quote marks and dashes come back exactly as they were.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, overload

from restore.edits import Edit, apply
from restore.engine import BATCH_SIZE
from restore.segment import split

if TYPE_CHECKING:
    from restore.detect import Report

SETTINGS_FILE = "restore.json"  # in the model folder: the looks' weights by feature name (``restore.looks``),
# and spin detection's under "detect" (``restore.detect.DetectSettings``)
PHRASES_FILE = "phrases.tsv.xz"
NGRAMS_FILE = "ngrams.npz.xz"
GRAPH_FILE = "graph.npz.xz"  # the synonym graph (``restore.graph``), made by scripts/build_graph.py
SCIENCE_FILE = "science.npz.xz"  # n-grams of scientific prose, made by scripts/build_science.py


def default_model() -> Path:
    """The model folder named by the ``RESTORE_MODEL`` environment variable, else the shipped one: beside the
    package in a checkout, or installed from a wheel as the ``restore_model`` data folder next to it."""
    if os.environ.get("RESTORE_MODEL"):
        return Path(os.environ["RESTORE_MODEL"])
    root = Path(__file__).resolve().parent.parent
    checkout = root / "models" / "restore-t5-tagger"
    return checkout if checkout.is_dir() else root / "restore_model"


class Restorer:
    """Restore spun English: a T5 tagger flags spun words, counted phrase pairs and an n-gram model of clean
    text propose and judge replacements, and only likely edits are made. With ``lm=True`` a language model
    (SmolLM2, see ``restore.lm``) takes a second look at the likeliest ones: more right edits, ~30x slower.

    >>> r = Restorer()                       # the bundled model
    >>> r.restore("Washington's best diplomat ...")
    """

    def __init__(
        self,
        model: str | Path | None = None,
        batch_size: int = BATCH_SIZE,
        min_confidence: float | None = None,
        engine: str = "auto",
        lm: bool | str | Path = False,
        threads: int = 0,
    ) -> None:
        """``min_confidence``: how likely an edit must be to be made (None: each look's own threshold, fitted on
        dev). ``lm``: True for the second look by SmolLM2 (converted into the cache on first use), or the path of
        a CTranslate2 language model folder. ``threads``: the batches the tagger runs at once, each on one CPU
        thread, while the rest of the pipeline works on the sentences already tagged (0: one per core)."""
        import sentencepiece as spm

        from restore.detect import DetectSettings
        from restore.engine import HEAD_FILE, WEIGHTS_FILE, load_backend
        from restore.features import FEATURES, SECOND_LOOK_FEATURES
        from restore.graph import SynonymGraph
        from restore.looks import load_looks
        from restore.phrases import NgramLM, PhraseTable
        from restore.pipeline import Pipeline

        path = Path(model) if model is not None else default_model()
        needed = ["config.json", WEIGHTS_FILE, HEAD_FILE, "spiece.model", SETTINGS_FILE]
        needed += [PHRASES_FILE, NGRAMS_FILE, GRAPH_FILE, SCIENCE_FILE]
        missing = [name for name in needed if not (path / name).is_file()]
        if missing:
            raise FileNotFoundError(f"{path}: not a restore model folder (missing {', '.join(missing)})")
        self.path = path
        with _reading(path / "config.json"):
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
            if not isinstance(config, dict) or not isinstance(config.get("id2label"), dict):
                raise ValueError("not a tagger's config (no id2label)")
        with _reading(path / WEIGHTS_FILE):
            from safetensors import safe_open

            with safe_open(path / WEIGHTS_FILE, "np"):
                pass
        with _reading(path):  # config and weights read on their own: what is left is whether they fit each other
            self.backend = load_backend(path, engine, threads)
        with _reading(path / "spiece.model"):
            self.sp = spm.SentencePieceProcessor(model_file=str(path / "spiece.model"))
        with _reading(path / SETTINGS_FILE):
            first, second, term = load_looks(path / SETTINGS_FILE, FEATURES, SECOND_LOOK_FEATURES if lm else None)
            detect = json.loads((path / SETTINGS_FILE).read_text(encoding="utf-8")).get("detect")
        self.detect: DetectSettings | None = None  # spin detection; a model without (or with stale) settings restores
        self._no_detect = f"{path / SETTINGS_FILE}: no detect settings (fit them with scripts/fit_detect.py)"
        try:
            self.detect = DetectSettings.from_json(detect) if detect is not None else None
        except (ValueError, KeyError, TypeError) as e:
            reason = e if isinstance(e, ValueError) else "unreadable detect settings"
            self._no_detect = f"{path / SETTINGS_FILE}: {reason}"
        context_lm = None
        if lm:
            from restore.lm import ContextLM

            context_lm = ContextLM(None if lm is True else lm)
        with _reading(path / PHRASES_FILE):
            phrases = PhraseTable.load(path / PHRASES_FILE)
        with _reading(path / NGRAMS_FILE):
            ngrams = NgramLM.load(path / NGRAMS_FILE)
        with _reading(path / SCIENCE_FILE):
            science = NgramLM.load(path / SCIENCE_FILE)
        graph = SynonymGraph.load(path / GRAPH_FILE)  # its own errors name the file
        self.pipeline = Pipeline(
            self.backend, self.sp, phrases, ngrams, context_lm, graph, science, first, second, term
        )
        self.min_confidence = min_confidence  # None: each look's own
        self.batch_size = batch_size

    def explain(
        self, texts: str | list[str], batch_size: int | None = None, show_progress_bar: bool = False
    ) -> list[Edit] | list[list[Edit]]:
        """The edits ``restore`` would make, with character offsets into the input text."""
        single, docs = _as_list(texts)
        bar = _progress(sum(len(split(text)) for text in docs)) if show_progress_bar else None
        found = self.pipeline.run(
            docs, batch_size or self.batch_size, self.min_confidence, bar.update if bar else None, candidates=False
        )
        if bar:
            bar.close()
        out = [d.edits for d in found]
        return out[0] if single else out

    @overload
    def restore(self, texts: str, batch_size: int | None = ..., show_progress_bar: bool = ...) -> str: ...
    @overload
    def restore(self, texts: list[str], batch_size: int | None = ..., show_progress_bar: bool = ...) -> list[str]: ...
    def restore(
        self, texts: str | list[str], batch_size: int | None = None, show_progress_bar: bool = False
    ) -> str | list[str]:
        """Restore one text or a list of texts (sentences batched across all of them)."""
        single, docs = _as_list(texts)
        edits = self.explain(docs, batch_size, show_progress_bar)
        out = [apply(text, es) for text, es in zip(docs, edits)]
        return out[0] if single else out

    @overload
    def score(self, texts: str, batch_size: int | None = ..., show_progress_bar: bool = ...) -> Report: ...
    @overload
    def score(self, texts: list[str], batch_size: int | None = ..., show_progress_bar: bool = ...) -> list[Report]: ...
    def score(
        self, texts: str | list[str], batch_size: int | None = None, show_progress_bar: bool = False
    ) -> Report | list[Report]:
        """How likely each text is machine-spun, per sentence, and the flagged spans (see ``restore.detect``)."""
        from restore.detect import reports, score_sentences
        from restore.segment import pieces

        if self.detect is None:
            raise ValueError(self._no_detect)
        single, docs = _as_list(texts)
        located, sentences, alone = pieces(docs)
        bar = _progress(len(sentences)) if show_progress_bar else None
        found = []
        for c, tagged in self.pipeline.tag_chunks(sentences, batch_size or self.batch_size):  # tagging ahead
            part = slice(c, c + len(tagged))
            terms = [alone[d] for d, _, _ in located[part]]
            found += score_sentences(sentences[part], tagged, self.pipeline, self.detect, terms)
            if bar:
                bar.update(len(tagged))
        if bar:
            bar.close()
        out = reports(docs, located, found, self.detect, alone, self.pipeline.lm is not None)
        return out[0] if single else out


def _as_list(texts: str | list[str]) -> tuple[bool, list[str]]:
    """(was it a single string, the texts as a list); anything but str or a list of str is a TypeError."""
    if isinstance(texts, str):
        return True, [texts]
    docs = list(texts)
    for i, d in enumerate(docs):
        if not isinstance(d, str):
            raise TypeError(f"restore() takes a str or a list of str; item {i} is {type(d).__name__}")
    return False, docs


def _progress(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="sent", file=None, leave=False)


@contextmanager
def _reading(file: Path) -> Iterator[None]:
    """Any failure to load ``file`` (a file of the model folder, or the folder) as a one-line ValueError naming it;
    a missing extra (ImportError) and a missing file (FileNotFoundError) go through as they are."""
    try:
        yield
    except (ImportError, FileNotFoundError):
        raise
    except Exception as e:
        reason = next((line.strip() for line in str(e).splitlines() if line.strip()), type(e).__name__)[:300]
        raise ValueError(reason if reason.startswith(str(file)) else f"{file}: {reason}") from None
