"""``Restorer``: load the bundled model once, restore any text, and keep every byte of layout.

Text is split into sentences as character spans of the input; only the spans the model edits change,
so paragraph breaks, spacing, quote marks and dashes come back exactly as they were.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import overload

from restore.edits import Edit, apply
from restore.segment import split

SETTINGS_FILE = "restore.json"  # in the model folder: {"weights": [...], "bias": float, "min_confidence": float,
# "second_look": {the same three for the language model's second look}}
PHRASES_FILE = "phrases.tsv.xz"
NGRAMS_FILE = "ngrams.npz.xz"


def default_model() -> Path:
    """The shipped model: next to the package in a checkout or editable install."""
    return Path(__file__).resolve().parent.parent / "models" / "restore-t5-tagger"


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
        batch_size: int = 32,
        min_confidence: float | None = None,
        engine: str = "auto",
        lm: bool | str | Path = False,
    ) -> None:
        """``lm``: True for the second look by SmolLM2 (converted into the cache on first use), or the path of
        a CTranslate2 language model folder."""
        import sentencepiece as spm

        from restore.candidates import FEATURES, SECOND_LOOK_FEATURES, Decider, SecondLook
        from restore.engine import load_backend
        from restore.phrases import NgramLM, PhraseTable

        path = Path(model) if model is not None else default_model()
        needed = ["config.json", "spiece.model", SETTINGS_FILE, PHRASES_FILE, NGRAMS_FILE]
        missing = [name for name in needed if not (path / name).is_file()]
        if missing:
            raise FileNotFoundError(f"{path}: not a restore model folder (missing {', '.join(missing)})")
        self.path = path
        self.backend = load_backend(path, engine)
        self.sp = spm.SentencePieceProcessor(model_file=str(path / "spiece.model"))
        settings = json.loads((path / SETTINGS_FILE).read_text())
        final = settings
        if lm:
            final = settings.get("second_look")
            if final is None:
                raise ValueError(f"{path / SETTINGS_FILE}: no second_look settings (fit them with scripts/train.py)")
        for part, features in ((settings, FEATURES), (final, SECOND_LOOK_FEATURES if lm else FEATURES)):
            if len(part["weights"]) != len(features):
                raise ValueError(f"{path / SETTINGS_FILE}: {len(part['weights'])} weights for {len(features)} features")
        second_look = None
        if lm:
            from restore.lm import ContextLM

            second_look = SecondLook(ContextLM(None if lm is True else lm), final["weights"], final["bias"])
        self.decider = Decider(
            self.backend.phrases,
            PhraseTable.load(path / PHRASES_FILE),
            NgramLM.load(path / NGRAMS_FILE),
            settings["weights"],
            settings["bias"],
            settings["min_confidence"],
            second_look,
        )
        self.min_confidence = min_confidence if min_confidence is not None else final["min_confidence"]
        self.batch_size = batch_size

    def explain(
        self, texts: str | list[str], batch_size: int | None = None, show_progress_bar: bool = False
    ) -> list[Edit] | list[list[Edit]]:
        """The edits ``restore`` would make, with character offsets into the input text."""
        from restore.engine import edit_sentences

        single, docs = _as_list(texts)
        spans = [(d, s, e) for d, text in enumerate(docs) for s, e in split(text)]
        sentences = [docs[d][s:e] for d, s, e in spans]
        bar = _progress(len(sentences), show_progress_bar)
        found = edit_sentences(
            self.backend,
            self.sp,
            self.decider,
            sentences,
            batch_size or self.batch_size,
            self.min_confidence,
            progress=bar.update if bar else None,
        )
        if bar:
            bar.close()
        out: list[list[Edit]] = [[] for _ in docs]
        for (d, s, _), edits in zip(spans, found):
            out[d] += [Edit(s + x.start, s + x.end, x.before, x.after, x.score) for x in edits]
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


def _as_list(texts: str | list[str]) -> tuple[bool, list[str]]:
    """(was it a single string, the texts as a list); anything but str or a list of str is a TypeError."""
    if isinstance(texts, str):
        return True, [texts]
    docs = list(texts)
    for i, d in enumerate(docs):
        if not isinstance(d, str):
            raise TypeError(f"restore() takes a str or a list of str; item {i} is {type(d).__name__}")
    return False, docs


def _progress(total: int, show: bool):
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="sent", file=None, leave=False)
