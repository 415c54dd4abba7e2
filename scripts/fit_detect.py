"""Fit spin detection (``restore.detect``) on dev pairs and store it in the model folder's restore.json.

    python scripts/fit_detect.py --data data/pairs [--model models/restore-t5-tagger] [--write]
    python scripts/fit_detect.py --data data/pairs --term-lm [--write]   # then the term reading with SmolLM2

Dev is our spinner's dev pairs and the same sentences spun by each thesaurus family alone (the looks' NEWS_DEV_FILES,
``scripts/build_lofo.py``), plus the --extra files of other text (scientific sentences, terms in use, terms alone;
``scripts/build_science.py``). Words of spun dev sentences inside a reference edit are the positives; every other
word of them, and every word of the dev originals (clean text), the negatives. The per-word trees (scikit-learn's
gradient boosting, TREES trees of DEPTH levels, stored as ``restore.detect.WordTrees``) are fitted on half of the
dev articles; the threshold is the lowest that flags at most TARGET_FLAGS of every 1,000 clean news sentences of
the other half (for a term alone, the lowest that flags at most TARGET_TERM_FLAGS of the clean terms alone of the
other half); then the sentence model on that half's news sentences, spun and clean, and the
document model on its news articles (spun: the article as each file spins it, clean: their originals).
``--term-lm`` fits the reading of a term alone with the second look's language model (``restore.detect.TermReading``)
on the model's stored detection, from the terms alone in TERM_LM_FILES; rerun it after a full fit, which drops it.
Only dev data: test and ../shared/data/real are never read.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from train import NEWS_DEV_FILES, fit  # scripts/train.py: the looks' news dev files and logistic fit

from restore.detect import (
    DOC_FEATURES,
    SENTENCE_FEATURES,
    TERM_LM_FEATURES,
    DetectSettings,
    TermReading,
    WordTrees,
    _logit,
    doc_features,
    read_words,
    sentence_features,
    sentence_score,
    term_lm_features,
    word_scores,
)
from restore.edits import diff
from restore.restorer import SETTINGS_FILE, Restorer, default_model
from restore.segment import is_term_alone, pieces

TARGET_FLAGS = 5  # per 1,000 clean dev sentences: a margin under the 10 allowed on test (8 on dev gave 12.7 on test)
TARGET_TERM_FLAGS = 0.10  # of clean terms alone (the --extra texts that are terms alone: dev_phrases')
EXTRA_FILES = ("dev_science.jsonl", "dev_terms.jsonl", "dev_phrases.jsonl", "dev_clean_terms.jsonl")
TERM_LM_FILES = ("dev_phrases.jsonl", "dev_clean_terms.jsonl", "dev_tech_terms.jsonl", "dev_long_tech_terms.jsonl")
# the term reading's fit: two-word nouns in use spun and clean, terms as prose uses them, FOLDOC's computing terms of
# two words and of three or four (few seen by our n-grams; scripts/build_tech_terms.py)
TREES, DEPTH = 150, 3  # on the dev halves: sentence AUC 0.941 against 0.930 for a logistic model over the same
# features (300 trees of 31 leaves: 0.942)


def fit_trees(x: list[list[float]], y: list[int]) -> WordTrees:
    """Gradient-boosted trees on words ``x`` (WORD_FEATURES) labelled ``y`` (1: spun), as ``WordTrees``."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=TREES, max_depth=DEPTH, max_leaf_nodes=2**DEPTH, early_stopping=False, random_state=0
    ).fit(np.array(x), np.array(y))
    roots, feature, threshold, left, right, value = [], [], [], [], [], []
    for (tree,) in model._predictors:  # one tree per iteration for a binary task
        nodes, base = tree.nodes, len(feature)
        roots.append(base)
        for i, node in enumerate(nodes):
            leaf = bool(node["is_leaf"])
            feature.append(0 if leaf else int(node["feature_idx"]))
            threshold.append(0.0 if leaf else float(node["num_threshold"]))  # a leaf's branches are itself
            left.append(base + (i if leaf else int(node["left"])))
            right.append(base + (i if leaf else int(node["right"])))
            value.append(float(node["value"]) if leaf else 0.0)
    arrays = (roots, feature, threshold, left, right, value)
    trees = WordTrees(float(model._baseline_prediction.ravel()[0]), DEPTH, *map(tuple, arrays))
    check = np.array(x[:2000])
    if not np.allclose(trees.logits(check), model.decision_function(check), rtol=0, atol=1e-9):
        raise RuntimeError("the exported trees do not reproduce scikit-learn's")
    return trees


def featurise(restorer: Restorer, texts: list[str], batch_size: int = 64) -> list[list[tuple[tuple[int, int], list]]]:
    """Per text: (word span in the text, its WORD_FEATURES row: NaN for a word without a letter) for every word of
    its sentences."""
    pipeline = restorer.pipeline
    located, sentences, alone = pieces(texts)
    terms = [alone[t] for t, _, _ in located]
    _, _, read = read_words(sentences, pipeline.tag(sentences, batch_size), pipeline, terms)
    out: list[list] = [[] for _ in texts]
    for (t, s, _), (spans, feats) in zip(located, read):
        out[t] += [((s + a, s + b), f) for (a, b), f in zip(spans, feats)]
    return out


def half(article: str) -> int:
    return hashlib.sha256(article.encode()).digest()[0] % 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="folder with the --dev files")
    ap.add_argument("--dev", nargs="+", default=list(NEWS_DEV_FILES), help="pairs files of one dev set's sentences")
    ap.add_argument("--extra", nargs="*", default=list(EXTRA_FILES), help="pairs files of other dev sentences")
    ap.add_argument("--model", type=Path, default=default_model())
    ap.add_argument("--cache", type=Path, help="keep the dev features here between runs (a .npz file)")
    ap.add_argument("--write", action="store_true", help="store the fit in the model's restore.json")
    ap.add_argument("--term-lm", action="store_true", help="fit only the term reading with SmolLM2 (needs [lm])")
    args = ap.parse_args()
    if args.term_lm:
        reading = fit_term_lm(args.model, args.data)
        settings = dataclasses.replace(Restorer(args.model).detect, term_lm=reading)
        if args.write:
            write(args.model, settings)
        else:
            print(json.dumps({"term_lm": settings.to_json()["term_lm"]}, indent=1))
        return
    restorer = Restorer(args.model)
    files = [[json.loads(line) for line in (args.data / name).open(encoding="utf-8")] for name in args.dev]
    rows = files[0]  # the originals, once
    if any([r["original"] for r in f] != [r["original"] for r in rows] for f in files):
        raise SystemExit(f"fit_detect: {', '.join(args.dev)} are not spins of the same sentences")
    spun_rows = [
        dict(r, file=k) for k, f in enumerate(files) for r in f if not r["clean"] and r["spun"] != r["original"]
    ]
    extra = [
        dict(json.loads(line), file=name) for name in args.extra for line in (args.data / name).open(encoding="utf-8")
    ]
    extra_spun = [r for r in extra if not r["clean"] and r["spun"] != r["original"]]
    extra_clean = list({r["original"]: r for r in extra}.values())  # each original once
    t0 = time.perf_counter()
    if args.cache and args.cache.is_file():
        cached = np.load(args.cache, allow_pickle=True)
        spun_feats, clean_feats = cached["spun"].tolist(), cached["clean"].tolist()
        extra_spun_feats, extra_clean_feats = cached["extra_spun"].tolist(), cached["extra_clean"].tolist()
    else:
        spun_feats = featurise(restorer, [r["spun"] for r in spun_rows])
        clean_feats = featurise(restorer, [r["original"] for r in rows])
        extra_spun_feats = featurise(restorer, [r["spun"] for r in extra_spun])
        extra_clean_feats = featurise(restorer, [r["original"] for r in extra_clean])
        if args.cache:
            kept = (spun_feats, clean_feats, extra_spun_feats, extra_clean_feats)
            names = ("spun", "clean", "extra_spun", "extra_clean")
            np.savez(args.cache, **{k: np.array(v, dtype=object) for k, v in zip(names, kept)})
    print(
        f"features of {len(spun_rows)} spun + {len(rows)} clean news and {len(extra_spun)} spun + {len(extra_clean)}"
        f" clean other dev texts: {time.perf_counter() - t0:.0f} s"
    )

    def words_of(subset: int) -> tuple[list[list[float]], list[int]]:
        x, y = [], []
        for r, feats in [*zip(spun_rows, spun_feats), *zip(extra_spun, extra_spun_feats)]:
            if half(r["article"]) != subset:
                continue
            gold = diff(r["spun"], r["original"])
            for (s, e), f in feats:
                if not np.isnan(f[0]):
                    x.append(f)
                    y.append(int(any(g.start < e and s < g.end for g in gold)))
        for r, feats in [*zip(rows, clean_feats), *zip(extra_clean, extra_clean_feats)]:
            if half(r["article"]) == subset:
                kept = [f for _, f in feats if not np.isnan(f[0])]
                x += kept
                y += [0] * len(kept)
        return x, y

    x, y = words_of(0)
    t0 = time.perf_counter()
    trees = fit_trees(x, y)
    unfitted = dict.fromkeys(SENTENCE_FEATURES, 0.0), 0.0, dict.fromkeys(DOC_FEATURES, 0.0), 0.0
    settings = DetectSettings(trees, *unfitted, 0.5, 0.5)
    print(f"word trees on {len(y)} words ({sum(y)} spun): {time.perf_counter() - t0:.0f} s")

    def lettered(texts: list) -> list[list[float]]:
        """The scores of each text's words with a letter."""
        scores = word_scores([[f for _, f in feats] for feats in texts], settings)
        return [[x for x, (_, f) in zip(xs, feats) if not np.isnan(f[0])] for xs, feats in zip(scores, texts)]

    def top_scores(texts: list) -> list[float]:
        """Each text's most suspicious word's score: a text is flagged when it reaches the threshold."""
        return [max(xs, default=0.0) for xs in lettered(texts)]

    def half_two(texts: list[dict], feats: list) -> list:
        """The features of the texts of dev half 2 (the half the trees were not fitted on)."""
        return [f for r, f in zip(texts, feats) if half(r["article"]) == 1]

    clean_scores = top_scores(half_two(rows, clean_feats))
    spun_scores = top_scores(half_two(spun_rows, spun_feats))
    ranked = sorted(clean_scores, reverse=True)
    allowed = int(TARGET_FLAGS * len(ranked) / 1000)
    threshold = float(ranked[allowed]) + 1e-6  # flags ranked[:allowed] only
    flags = 1000 * sum(s >= threshold for s in clean_scores) / len(clean_scores)
    recall = np.mean([s >= threshold for s in spun_scores])
    print(
        f"threshold {threshold:.4f}: {flags:.1f} false flags per 1,000 of {len(clean_scores)} clean sentences, recall"
        f" {recall:.3f} of {len(spun_scores)} spun (dev half 2)"
    )
    settings = DetectSettings(trees, *unfitted, threshold, 0.5)

    def second_half(texts: list[dict], feats: list, key: str) -> list[tuple[str, float, bool]]:
        """(file, score, is it a term alone) of each text of dev half 2 (``key``: its spun text or original)."""
        kept = [(r, f) for r, f in zip(texts, feats) if half(r["article"]) == 1]
        return [(r["file"], s, is_term_alone(r[key])) for (r, _), s in zip(kept, top_scores([f for _, f in kept]))]

    other_spun = second_half(extra_spun, extra_spun_feats, "spun")
    other_clean = second_half(extra_clean, extra_clean_feats, "original")
    spun_terms = [s for _, s, term in other_spun if term]
    clean_terms = sorted((s for _, s, term in other_clean if term), reverse=True)
    if not clean_terms:
        raise SystemExit("fit_detect: no clean term alone among the --extra files (dev_phrases.jsonl has them)")
    term_threshold = float(clean_terms[int(TARGET_TERM_FLAGS * len(clean_terms))]) + 1e-6
    print(
        f"term threshold {term_threshold:.4f}: {np.mean([s >= term_threshold for s in clean_terms]):.3f} of"
        f" {len(clean_terms)} clean terms alone flagged, recall"
        f" {np.mean([s >= term_threshold for s in spun_terms]):.3f} of {len(spun_terms)} spun (dev half 2)"
    )
    settings = DetectSettings(trees, *unfitted, threshold, term_threshold)
    for name in args.extra:  # how each other kind of text fares, each text at its own threshold
        spun, clean = ([(s, term) for f, s, term in texts if f == name] for texts in (other_spun, other_clean))
        flags = [[s >= (term_threshold if term else threshold) for s, term in texts] for texts in (spun, clean)]
        found = f"recall {np.mean(flags[0]):.3f} of {len(spun)} spun, " if spun else ""
        found += f"{np.mean(flags[1]):.3f} of {len(clean)} originals flagged"
        found += f", AUC {auc([s for s, _ in spun], [s for s, _ in clean]):.4f}" if spun else ""
        print(f"{name} (dev half 2): {found}")

    # the sentence model: every dev half 2 news sentence with a word, spun (1) and clean (0). Fitted on the --extra
    # texts too, it read news and scientific prose worse (dev half 2 in two folds by article: news sentence AUC 0.9502
    # against 0.9527, scientific prose 0.9235 against 0.9273; terms alone 0.9578 against 0.9544)
    sx, sy = [], []
    for texts, spun in ((half_two(spun_rows, spun_feats), 1), (half_two(rows, clean_feats), 0)):
        found = [sentence_features(xs) for xs in lettered(texts) if xs]
        sx += found
        sy += [spun] * len(found)
    sentence_weights, sentence_bias = fit(sx, sy)
    settings = DetectSettings(
        trees, dict(zip(SENTENCE_FEATURES, sentence_weights)), sentence_bias, *unfitted[2:], threshold, term_threshold
    )

    def sentence_scores(texts: list) -> list[tuple[float, bool]]:
        """Each text's sentence score and whether a word of it is flagged (at the running-text threshold)."""
        return [(sentence_score(xs, settings), max(xs, default=0.0) >= threshold) for xs in lettered(texts)]

    spun_model, clean_model = (
        [score for score, _ in sentence_scores(half_two(r, f))]
        for r, f in ((spun_rows, spun_feats), (rows, clean_feats))
    )
    print(
        f"sentence model on {len(sy)} dev half 2 sentences ({sum(sy)} spun): "
        + ", ".join(f"{n} {w:+.3f}" for n, w in zip(SENTENCE_FEATURES, sentence_weights))
        + f"; news sentence AUC {auc(spun_model, clean_model):.4f} (the top word alone:"
        f" {auc(spun_scores, clean_scores):.4f})"
    )
    for name in args.extra:
        spun, clean = (
            [(r, f) for r, f in zip(*texts) if r["file"] == name]
            for texts in ((extra_spun, extra_spun_feats), (extra_clean, extra_clean_feats))
        )
        if spun and clean:
            found = [[score for score, _ in sentence_scores(half_two(*zip(*texts)))] for texts in (spun, clean)]
            print(f"{name} (dev half 2): sentence AUC {auc(*found):.4f}")

    by_article: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if half(r["article"]) == 1:
            by_article[r["article"]].append(i)
    row_index = {r["original"]: i for i, r in enumerate(rows)}
    spun_scores_of = [dict() for _ in files]  # per file: row index -> its spun sentence's score
    spun_half = [(r, feats) for r, feats in zip(spun_rows, spun_feats) if half(r["article"]) == 1]
    for (r, _), score in zip(spun_half, sentence_scores([feats for _, feats in spun_half])):
        spun_scores_of[r["file"]][row_index[r["original"]]] = score
    clean_ids = [i for article in by_article.values() for i in article]
    scores_clean = dict(zip(clean_ids, sentence_scores([clean_feats[i] for i in clean_ids])))
    dx, dy = [], []
    for spun_scores in spun_scores_of:
        for ids in by_article.values():
            for scored in ([spun_scores.get(i, scores_clean[i]) for i in ids], [scores_clean[i] for i in ids]):
                dx.append(doc_features([score for score, _ in scored], [flagged for _, flagged in scored]))
            dy += [1, 0]
    doc_weights, doc_bias = fit(dx, dy)
    settings = dataclasses.replace(settings, doc_weights=dict(zip(DOC_FEATURES, doc_weights)), doc_bias=doc_bias)
    p = [1 / (1 + np.exp(-(np.dot(f, doc_weights) + doc_bias))) for f in dx]
    print(
        f"document model on {len(dy) // 2} dev documents: "
        + ", ".join(f"{n} {w:+.3f}" for n, w in zip(DOC_FEATURES, doc_weights))
        + f"; dev document AUC {auc([a for a, t in zip(p, dy) if t], [a for a, t in zip(p, dy) if not t]):.4f}"
    )
    if args.write:
        write(args.model, settings)
        print(
            f"then the term reading with SmolLM2: python scripts/fit_detect.py --data {args.data} --model"
            f" {args.model} --term-lm --write"
        )
    else:
        print(json.dumps({"detect": settings.to_json()}, indent=1))


def write(model: Path, settings: DetectSettings) -> None:
    """Store ``settings`` as the "detect" object of the model's restore.json."""
    path = model / SETTINGS_FILE
    data = json.loads(path.read_text())
    data["detect"] = settings.to_json()
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {path}")


def fit_term_lm(model: Path, data: Path) -> TermReading:
    """The term reading with SmolLM2: a logistic model over TERM_LM_FEATURES fitted on the spun terms alone in
    TERM_LM_FILES (1) against their originals and the clean terms (0), those of EXTRA_FILES from dev half 2 only (the
    word trees were fitted on half 1), flagging at the lowest score that flags at most TARGET_TERM_FLAGS of the clean
    terms alone of dev half 2 in EXTRA_FILES (term_threshold's rule)."""
    restorer = Restorer(model, lm=True)
    if restorer.detect is None:
        raise SystemExit(f"fit_detect: {model} has no detection to read terms with: fit it first")
    rows = [
        dict(json.loads(line), file=name)
        for name in TERM_LM_FILES
        for line in (data / name).open(encoding="utf-8")
        if name not in EXTRA_FILES or half(json.loads(line)["article"]) == 1
    ]
    spun = {r["spun"]: r["file"] for r in rows if not r["clean"] and r["spun"] != r["original"]}
    clean = {r["original"]: r["file"] for r in rows}
    texts = [t for t in [*spun, *clean] if is_term_alone(t)]
    y = [int(t in spun and t not in clean) for t in texts]
    words = word_scores([[f for _, f in feats] for feats in featurise(restorer, texts)], restorer.detect)
    tops = [_logit(max(xs)) for xs in words]  # as restore.detect.score_sentences reads them
    x = term_lm_features(restorer.pipeline.lm, texts, tops)
    weights, bias = fit(x, y)
    reading = TermReading(dict(zip(TERM_LM_FEATURES, weights)), bias, 0.5)
    p = reading.probabilities(restorer.pipeline.lm, texts, tops)
    pool = sorted((s for t, s in zip(texts, p) if t in clean and clean[t] in EXTRA_FILES), reverse=True)
    threshold = float(pool[int(TARGET_TERM_FLAGS * len(pool))]) + 1e-6
    print(
        f"term reading on {len(y)} dev terms alone ({sum(y)} spun): "
        + ", ".join(f"{n} {w:+.3f}" for n, w in zip(TERM_LM_FEATURES, weights))
        + f"; threshold {threshold:.4f}: {np.mean([s >= threshold for s in pool]):.3f} of {len(pool)} clean terms"
    )
    by = {t: (max(xs), q) for t, xs, q in zip(texts, words, p)}  # each term's top word score, and the reading's
    for name in TERM_LM_FILES:
        mine = [(t, label) for t, label in zip(texts, y) if (spun if label else clean)[t] == name]
        if any(label for _, label in mine):
            pos, neg = [by[t] for t, label in mine if label], [by[t] for t, label in mine if not label]
            print(
                f"{name}: AUC {auc([a for a, _ in pos], [a for a, _ in neg]):.4f} without SmolLM2,"
                f" {auc([b for _, b in pos], [b for _, b in neg]):.4f} with; recall"
                f" {np.mean([b >= threshold for _, b in pos]):.3f}, originals flagged"
                f" {np.mean([b >= threshold for _, b in neg]):.3f}"
            )
    return dataclasses.replace(reading, threshold=threshold)


def auc(positives: list[float], negatives: list[float]) -> float:
    """ROC AUC: the chance a random positive scores above a random negative (ties count half)."""
    from restore_eval.bench import roc_auc

    return roc_auc(positives, negatives)


if __name__ == "__main__":
    main()
