"""The looks that decide: logistic weights over named features, and the confidence a candidate needs.

The first look judges each candidate by FEATURES; the optional second look by SECOND_LOOK_FEATURES, the
first look's log-odds with a language model's reading of the context (both in ``restore.features``). A term
alone (a text of one short sentence: a keyword, an entry of a list of suspect phrases; ``restore.segment``) has
no context for the n-grams to read, and is judged by the term look, over FEATURES too, fitted on terms alone.
All are stored in the model folder's ``restore.json``, each weight under its feature's name, so a model whose
features were renamed, added or dropped fails to load instead of its weights meaning something else::

    {"weights": {"context_gain": 0.036, ...}, "bias": -1.09, "min_confidence": 0.42,
     "second_look": {"weights": {"logit": 0.655, ...}, "bias": -0.69, "min_confidence": 0.36},
     "term_look": {"weights": {"context_gain": 0.13, ...}, "bias": -2.1, "min_confidence": 0.44}}
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from restore.edits import Edit

if TYPE_CHECKING:
    from restore.features import Candidate


@dataclass
class Look:
    """Logistic weights over ``features`` (in that order), a bias, and the look's own confidence threshold."""

    features: Sequence[str]
    weights: Sequence[float]
    bias: float
    min_confidence: float

    def probabilities(self, candidates: Sequence[Candidate]) -> list[float]:
        """How likely this look finds each candidate (its features in the order of ``features``). The weighted sum
        runs feature by feature over all the candidates at once, in the same order for each, so a candidate's
        probability does not depend on the others."""
        import numpy as np

        if not candidates:
            return []
        size = len(candidates) * len(self.weights)
        x = np.fromiter(chain.from_iterable(c.features for c in candidates), np.float64, size)
        x = x.reshape(len(candidates), len(self.weights))
        z = np.zeros(len(candidates))
        for j, w in enumerate(self.weights):
            z += w * x[:, j]
        return [1 / (1 + math.exp(-max(min(self.bias + v, 50.0), -50.0))) for v in z.tolist()]

    def grouped_probabilities(self, groups: Sequence[Sequence[Candidate]]) -> list[list[float]]:
        """``probabilities`` of each group of candidates (a sentence's), the groups' candidates weighed in one call:
        the same numbers as a call per group, without each call's cost."""
        flat = self.probabilities([c for cs in groups for c in cs])
        out, k = [], 0
        for cs in groups:
            out.append(flat[k : k + len(cs)])
            k += len(cs)
        return out

    def scored(self, candidates: Sequence[Candidate]) -> list[Edit]:
        """The candidates' edits with ``score`` = this look's probability."""
        return with_scores(candidates, self.probabilities(candidates))

    def choose(self, candidates: Sequence[Candidate], min_confidence: float | None = None) -> list[Edit]:
        """The likeliest non-overlapping candidates at least ``min_confidence`` (default: the look's own) likely."""
        threshold = self.min_confidence if min_confidence is None else min_confidence
        return made(candidates, self.probabilities(candidates), threshold)

    def to_json(self) -> dict:
        """The look as ``restore.json`` holds it: each weight under its feature's name."""
        weights = dict(zip(self.features, self.weights, strict=True))
        return {"weights": weights, "bias": self.bias, "min_confidence": self.min_confidence}

    @classmethod
    def from_json(cls, features: Sequence[str], settings: dict, where: str) -> Look:
        """Read what ``to_json`` wrote; weights for other features than ``features`` are a one-line ValueError
        naming ``where``."""
        weights = settings.get("weights") if isinstance(settings, dict) else None
        if not isinstance(weights, dict):
            raise ValueError(f"{where}: weights must map each feature's name to its weight")
        missing = [f for f in features if f not in weights]
        unknown = [f for f in weights if f not in features]
        if missing or unknown:
            raise ValueError(
                f"{where}: its weights are not for this version's features"
                f" (no weight for: {', '.join(missing) or '-'}; unknown: {', '.join(unknown) or '-'})"
            )
        numbers = [weights[f] for f in features] + [settings.get("bias"), settings.get("min_confidence")]
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in numbers):
            raise ValueError(f"{where}: weights, bias and min_confidence must be numbers")
        return cls(tuple(features), [float(x) for x in numbers[:-2]], float(numbers[-2]), float(numbers[-1]))


def choose(scored: Iterable[Edit], min_confidence: float) -> list[Edit]:
    """The edits at least ``min_confidence`` likely (their ``score``), likeliest first, each kept unless it
    overlaps one kept before; in text order."""
    kept: list[Edit] = []
    for e in sorted((e for e in scored if e.score >= min_confidence), key=lambda e: (-e.score, e.start)):
        if all(e.end <= c.start or e.start >= c.end for c in kept):
            kept.append(e)
    return sorted(kept, key=lambda e: e.start)


def with_scores(candidates: Sequence[Candidate], probabilities: Sequence[float]) -> list[Edit]:
    """The candidates' edits with ``score`` = a look's ``probabilities`` of them."""
    return [Edit(c.edit.start, c.edit.end, c.edit.before, c.edit.after, p) for c, p in zip(candidates, probabilities)]


def made(candidates: Sequence[Candidate], probabilities: Sequence[float], min_confidence: float) -> list[Edit]:
    """The edits ``choose`` makes of ``candidates`` given a look's ``probabilities`` of them; only those at least
    ``min_confidence`` likely become edits."""
    likely = [(c.edit, p) for c, p in zip(candidates, probabilities) if p >= min_confidence]
    return choose([Edit(e.start, e.end, e.before, e.after, p) for e, p in likely], min_confidence)


def load_looks(
    path: Path, features: Sequence[str], second_features: Sequence[str] | None = None
) -> tuple[Look, Look | None, Look]:
    """The first look over ``features``, with ``second_features`` the second look (else None), and the term look
    over ``features``, from ``restore.json`` at ``path``."""
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not readable as JSON ({type(e).__name__})") from None
    first = Look.from_json(features, settings, str(path))
    if not isinstance(settings.get("term_look"), dict):
        raise ValueError(f"{path}: no term_look settings (fit them with scripts/train.py --refit)")
    term = Look.from_json(features, settings["term_look"], f"{path} (term_look)")
    if second_features is None:
        return first, None, term
    if not isinstance(settings.get("second_look"), dict):
        raise ValueError(f"{path}: no second_look settings (fit them with scripts/train.py)")
    return first, Look.from_json(second_features, settings["second_look"], f"{path} (second_look)"), term


def save_looks(path: Path, first: Look, second: Look | None, term: Look, keep: dict | None = None) -> None:
    """Write ``restore.json``: the first look, the second under ``second_look`` (when there is one), the term look
    under ``term_look``, and the other settings in ``keep`` (e.g. spin detection's) as they are."""
    settings = (keep or {}) | first.to_json() | {"term_look": term.to_json()}
    settings |= {"second_look": second.to_json()} if second else {}
    path.write_text(json.dumps(settings, indent=1) + "\n", encoding="utf-8")
