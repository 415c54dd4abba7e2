"""``restore-bench``: score a model on held-out (spun, original) pairs, against leaving the text alone.

    restore-bench --pairs data/pairs/test.jsonl [--model PATH] [--limit N] [--json]
    restore-bench --speed [--pairs FILE]      # speed, against plain transformers (eval/speed.py)
    restore-bench --phrases FILE.tsv         # real spun phrases: "# spun<TAB>original[...original_clean]"
    restore-bench --pairs FILE --ceiling     # also: what a perfect choice among the model's candidates closes
    restore-bench --detect --pairs FILE      # spin detection: articles as spun vs their originals
    restore-bench --detect --phrases FILE.tsv  # spin detection: each spun phrase vs its original

Pairs are JSON Lines with "spun" and "original"; rows with "clean": true (spun == original) measure the
damage done to text that was never spun. Reports sacreBLEU corpus BLEU (with its signature) and chrF
for the model and for the unchanged input, the share of the BLEU gap closed, exact matches, word-edit
precision and recall against the reference edits, words changed on clean text, and words per second.
``--ceiling`` adds the gap a perfect decider would close with the same candidates (the non-overlapping ones that
bring each sentence closest to its reference), and its exact matches: what is left to gain by deciding better, and
what only new candidates can bring. Edit precision is undefined ("n/a", null in JSON) when the model edits nothing.
"""

from __future__ import annotations

import argparse
import collections
import difflib
import hashlib
import json
import sys
import time
from pathlib import Path

from restore.edits import Edit, words
from restore.engine import BATCH_SIZE
from restore.lm import NAME as LM_NAME


def _tokens(text: str) -> list[str]:
    return [text[s:e] for s, e in words(text)]


def word_edits(source: str, target: str) -> set[tuple[int, int, tuple[str, ...]]]:
    """The word-level changes from source to target: (first word, end word, replacement words)."""
    a, b = _tokens(source), _tokens(target)
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    return {(i1, i2, tuple(b[j1:j2])) for tag, i1, i2, j1, j2 in ops if tag != "equal"}


def words_changed(source: str, target: str) -> int:
    """How many words a change touched: replaced, deleted or inserted (the larger side of each)."""
    a, b = _tokens(source), _tokens(target)
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal")


def kept(spun: list[str], hyp: list[str], ref: list[str]) -> dict[str, float]:
    """Share of the input's numbers (words with a digit) and names (capitalised words after the first)
    that come back unchanged, counting only those the reference keeps."""
    totals = {"numbers": [0, 0], "names": [0, 0]}
    for s, h, r in zip(spun, hyp, ref):
        toks = _tokens(s)
        hc, rc = collections.Counter(_tokens(h)), collections.Counter(_tokens(r))
        groups = {
            "numbers": collections.Counter(t for t in toks if any(c.isdigit() for c in t)),
            "names": collections.Counter(t for t in toks[1:] if t[:1].isupper()),
        }
        for name, counts in groups.items():
            for tok, n in counts.items():
                need = min(n, rc[tok])
                totals[name][0] += min(need, hc[tok])
                totals[name][1] += need
    return {f"{name}_kept": k / n if n else 1.0 for name, (k, n) in totals.items()}


def score(spun: list[str], hyp: list[str], ref: list[str]) -> dict:
    """Corpus scores of ``hyp`` and of the unchanged input ``spun`` against ``ref``."""
    import sacrebleu

    bleu, chrf = sacrebleu.BLEU(), sacrebleu.CHRF()
    model_bleu = bleu.corpus_score(hyp, [ref]).score
    input_bleu = bleu.corpus_score(spun, [ref]).score
    tp = n_hyp = n_ref = 0
    for s, h, r in zip(spun, hyp, ref):
        he, re_ = word_edits(s, h), word_edits(s, r)
        tp, n_hyp, n_ref = tp + len(he & re_), n_hyp + len(he), n_ref + len(re_)
    return {
        "pairs": len(spun),
        "bleu": model_bleu,
        "bleu_input": input_bleu,
        "gap_closed": (model_bleu - input_bleu) / (100 - input_bleu) if input_bleu < 100 else 0.0,
        "chrf": chrf.corpus_score(hyp, [ref]).score,
        "chrf_input": chrf.corpus_score(spun, [ref]).score,
        "exact_match": sum(h == r for h, r in zip(hyp, ref)) / max(len(ref), 1),
        "exact_match_input": sum(s == r for s, r in zip(spun, ref)) / max(len(ref), 1),
        "edit_precision": tp / n_hyp if n_hyp else None,  # undefined when nothing is edited
        "edit_recall": tp / n_ref if n_ref else 1.0,
        **kept(spun, hyp, ref),
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
    }


def candidate_edits(restorer, texts: list[str]) -> list[list[Edit]]:
    """Every candidate edit the restorer weighs in each text, overlapping ones included, with offsets into the
    text and ``score`` = the probability the restorer's final look gives it."""
    return [d.candidates for d in restorer.pipeline.run(texts, restorer.batch_size)]


def best_choice(spun: str, original: str, candidates: list[Edit]) -> str:
    """``spun`` with the non-overlapping candidates that bring it closest to ``original`` made (the most words
    gained in all, then the likelier) and no other: the most a decider could make of these candidates."""
    from bisect import bisect_right

    from restore.edits import apply, diff
    from restore_eval.targets import gain

    gold = diff(spun, original)
    helpful = sorted(((g, c) for c in candidates if (g := gain(spun, gold, c)) > 0), key=lambda x: x[1].end)
    ends = [c.end for _, c in helpful]
    best: list[tuple[tuple[int, float], list[Edit]]] = [((0, 0.0), [])]  # the best over the first i candidates
    for i, (g, c) in enumerate(helpful):
        (total, likely), made = best[bisect_right(ends, c.start, 0, i)]  # with the ones that end before it
        best.append(max(best[i], ((total + g, likely + c.score), [*made, c]), key=lambda x: x[0]))
    return apply(spun, sorted(best[-1][1], key=lambda e: e.start))


def run(
    pairs_path: Path, model: str | None, limit: int | None, batch_size: int, lm: bool = False, ceiling: bool = False
) -> dict:
    from restore.restorer import Restorer

    rows = _read(pairs_path)[:limit]
    digest = hashlib.sha256(pairs_path.read_bytes()).hexdigest()[:12]
    t0 = time.perf_counter()
    restorer = Restorer(model, batch_size=batch_size, lm=lm)
    load_s = time.perf_counter() - t0
    spun_rows = [r for r in rows if not r.get("clean")]
    clean_rows = [r for r in rows if r.get("clean")]
    timed = spun_rows or clean_rows  # clean text alone (another domain): how much of it changes, and how fast
    t0 = time.perf_counter()
    hyp = restorer.restore([r["spun"] for r in timed], show_progress_bar=sys.stderr.isatty())
    seconds = time.perf_counter() - t0
    n_words = sum(len(r["spun"].split()) for r in timed)
    spun, ref = [r["spun"] for r in spun_rows], [r["original"] for r in spun_rows]
    report = score(spun, hyp, ref) if spun_rows else {"pairs": 0}
    if ceiling and spun_rows:
        best = [best_choice(s, r, cs) for s, r, cs in zip(spun, ref, candidate_edits(restorer, spun))]
        best_report = score(spun, best, ref)
        report["ceiling_bleu"], report["ceiling_gap_closed"] = best_report["bleu"], best_report["gap_closed"]
        report["ceiling_exact_match"] = best_report["exact_match"]  # what counts for phrases too short for BLEU
    if clean_rows:
        clean_hyp = hyp if not spun_rows else restorer.restore([r["original"] for r in clean_rows])
        total = sum(len(_tokens(r["original"])) for r in clean_rows)
        report["clean_sentences"] = len(clean_rows)
        report["clean_words_changed"] = (
            sum(words_changed(r["original"], h) for r, h in zip(clean_rows, clean_hyp)) / total
        )
        report["clean_sentences_changed"] = sum(r["original"] != h for r, h in zip(clean_rows, clean_hyp)) / len(
            clean_rows
        )
    report["words_per_second"] = n_words / seconds if seconds else 0.0
    report["model_load_seconds"] = load_s
    confidence = "model" if restorer.min_confidence is None else restorer.min_confidence  # model: each look's own
    report["signature"] = (
        f"restore-bench|pairs:{pairs_path.name}@{digest}|n:{len(rows)}|model:{restorer.path.name}"
        f"|min_confidence:{confidence}|batch:{batch_size}|lm:{LM_NAME if lm else 'no'}"
    )
    return report


def phrases(path: Path, model: str | None, batch_size: int, lm: bool = False) -> dict:
    """Real spun phrases without context (e.g. tortured phrases): how many come back as the original."""
    from restore.restorer import Restorer

    spun, ref = _read_phrases(path)
    hyp = Restorer(model, batch_size=batch_size, lm=lm).restore(spun)
    return {
        "phrases": len(spun),
        "restored_exactly": sum(h.strip().lower() == r for h, r in zip(hyp, ref)) / len(spun),
        "changed": sum(h != s for h, s in zip(hyp, spun)) / len(spun),
        "examples": [f"{s} -> {h} (original: {r})" for s, h, r in zip(spun, hyp, ref) if h != s][:15],
    }


def roc_auc(positives: list[float], negatives: list[float]) -> float:
    """ROC AUC: the chance that a random positive scores above a random negative (ties count half)."""
    import numpy as np

    scores = np.asarray([*positives, *negatives], dtype=float)
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # ties share their mean rank
        tied = scores == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    n, m = len(positives), len(negatives)
    return float((ranks[:n].sum() - n * (n + 1) / 2) / (n * m)) if n and m else float("nan")


def _line_scores(text: str, report) -> list[tuple[int, int, float, bool]]:
    """(start, end, score, flagged) of each line of ``text``: the highest score of the report's sentences that
    overlap it (a sentence may run on over a line break: the segmenter reads a single newline as a wrap), and
    whether a flagged span lies in it."""
    out, start = [], 0
    for line in text.split("\n"):
        end = start + len(line)
        over = [s.score for s in report.sentences if s.start < end and start < s.end]
        flagged = any(x.start < end and start < x.end for x in report.spans)
        out.append((start, end, max(over, default=0.0), flagged))
        start = end + 1
    return out


def detect(pairs_path: Path, model: str | None, limit: int | None, batch_size: int, lm: bool = False) -> dict:
    """Spin detection on pairs grouped into articles: each article as spun against its originals."""
    from restore.edits import diff
    from restore.restorer import Restorer

    rows = _read(pairs_path)[:limit]
    digest = hashlib.sha256(pairs_path.read_bytes()).hexdigest()[:12]
    restorer = Restorer(model, batch_size=batch_size, lm=lm)
    articles: dict[str, list[dict]] = collections.defaultdict(list)
    for i, r in enumerate(rows):
        articles[str(r.get("article", i))].append(r)
    groups = [g for g in articles.values() if any(r["spun"] != r["original"] for r in g)]
    if not groups:
        raise ValueError(
            f"{pairs_path}: no spun rows: --detect scores spun articles against their originals "
            "(clean text alone: Restorer.score it and count what is flagged)"
        )
    spun_docs = ["\n".join(r["spun"] for r in g) for g in groups]
    clean_docs = ["\n".join(r["original"] for r in g) for g in groups]
    t0 = time.perf_counter()
    reports = restorer.score(spun_docs + clean_docs, show_progress_bar=sys.stderr.isatty())
    seconds = time.perf_counter() - t0
    threshold, term_threshold = restorer.detect.threshold, restorer.detect.threshold_of(True, lm)
    spun_sentences, clean_sentences = [], []
    flagged_spun = flagged_clean = 0  # sentences holding a flagged span (a term alone's threshold is its own)
    n_spans = spans_right = n_swaps = swaps_found = 0
    for g, text, report in zip(groups, spun_docs, reports):
        gold = []  # the article's true swaps
        for r, (start, _, score, flagged) in zip(g, _line_scores(text, report)):
            if r["spun"] == r["original"]:
                continue
            spun_sentences.append(score)
            flagged_spun += flagged
            swaps = [(start + e.start, start + e.end) for e in diff(r["spun"], r["original"])]
            n_swaps += len(swaps)
            swaps_found += sum(any(x.start < b and a < x.end for x in report.spans) for a, b in swaps)
            gold += swaps
        n_spans += len(report.spans)
        spans_right += sum(any(x.start < b and a < x.end for a, b in gold) for x in report.spans)
    for text, report in zip(clean_docs, reports[len(groups) :]):
        lines = _line_scores(text, report)
        clean_sentences += [score for _, _, score, _ in lines]
        flagged_clean += sum(flagged for _, _, _, flagged in lines)
    spun_doc_scores = [r.score for r in reports[: len(groups)]]
    clean_doc_scores = [r.score for r in reports[len(groups) :]]
    n_words = sum(len(d.split()) for d in spun_docs + clean_docs)
    return {
        "documents": len(groups),
        "spun_sentences": len(spun_sentences),
        "clean_sentences": len(clean_sentences),
        "document_auc": roc_auc(spun_doc_scores, clean_doc_scores),
        "document_recall": sum(s >= 0.5 for s in spun_doc_scores) / len(groups),
        "document_false_positive_rate": sum(s >= 0.5 for s in clean_doc_scores) / len(groups),
        "sentence_auc": roc_auc(spun_sentences, clean_sentences),
        "threshold": threshold,
        "term_threshold": term_threshold,
        "sentence_precision": flagged_spun / max(flagged_spun + flagged_clean, 1),
        "sentence_recall": flagged_spun / len(spun_sentences),
        "false_flags_per_1000_clean": 1000 * flagged_clean / len(clean_sentences),
        "span_precision": spans_right / n_spans if n_spans else 1.0,
        "span_recall": swaps_found / n_swaps if n_swaps else 1.0,
        "words_per_second": n_words / seconds if seconds else 0.0,
        "signature": f"restore-bench|detect|pairs:{pairs_path.name}@{digest}|n:{len(rows)}"
        f"|model:{restorer.path.name}|threshold:{threshold:.4f}"
        f"|term_threshold:{term_threshold:.4f}|lm:{LM_NAME if lm else 'no'}",
    }


def detect_phrases(path: Path, model: str | None, batch_size: int, lm: bool = False) -> dict:
    """Each real spun phrase scored out of context against its original: flagged (any span) and AUC."""
    from restore.restorer import Restorer

    spun, ref = _read_phrases(path)
    pairs = [(s, r) for s, r in zip(spun, ref) if s.strip().lower() != r]
    if not pairs:
        raise ValueError(f"{path}: no phrase differs from its original: nothing spun to score against it")
    restorer = Restorer(model, batch_size=batch_size, lm=lm)
    reports = restorer.score([s for s, _ in pairs] + [r for _, r in pairs])
    spun_reports, clean_reports = reports[: len(pairs)], reports[len(pairs) :]
    hits = sum(r.flagged for r in spun_reports)
    false = sum(r.flagged for r in clean_reports)
    return {
        "phrases": len(pairs),
        "recall": hits / len(pairs),
        "precision": hits / max(hits + false, 1),
        "originals_flagged": false / len(pairs),
        "auc": roc_auc([r.score for r in spun_reports], [r.score for r in clean_reports]),
        "with_suggestion": sum(any(x.suggestion for x in r.spans) for r in spun_reports) / len(pairs),
        "examples": [
            f"{s}: "
            + ", ".join(f"[{x.text}] {x.score:.2f}" + (f" -> {x.suggestion}" if x.suggestion else "") for x in r.spans)
            for (s, _), r in zip(pairs, spun_reports)
            if r.spans
        ][:10],
        "missed": [s for (s, _), r in zip(pairs, spun_reports) if not r.flagged][:10],
        "signature": f"restore-bench|detect|phrases:{path.name}|model:{restorer.path.name}"
        f"|threshold:{restorer.detect.threshold:.4f}|term_threshold:{restorer.detect.threshold_of(True, lm):.4f}"
        f"|lm:{LM_NAME if lm else 'no'}",
    }


def detect_table(report: dict) -> str:
    """The detection figures, one a line."""
    lines = []
    for key, value in report.items():
        if isinstance(value, list):
            lines += [f"{key}:"] + [f"  {v}" for v in value]
        elif isinstance(value, float):
            lines.append(f"{key:32}{value:.4f}")
        else:
            lines.append(f"{key:32}{value}")
    return "\n".join(lines)


def _pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def table(report: dict) -> str:
    lines = [] if "bleu" not in report else _restoration_lines(report)
    if "clean_words_changed" in report:
        damage = _pct(report["clean_words_changed"], 2)  # the target is 0.5%: 0.47 and 0.54 must differ
        lines.append(f"{'clean words changed':24}{damage:>10}")
        lines.append(f"{'clean sentences changed':24}{_pct(report['clean_sentences_changed']):>10}")
    lines += [f"{'words/s':24}{report['words_per_second']:>10.0f}", f"{'spun pairs':24}{report['pairs']:>10}"]
    if "bleu" in report:
        lines += [f"BLEU: {report['bleu_signature']}", f"chrF: {report['chrf_signature']}"]
    return "\n".join([*lines, report["signature"]])


def _restoration_lines(report: dict) -> list[str]:
    precision = "n/a" if report["edit_precision"] is None else _pct(report["edit_precision"])  # nothing edited
    perfect = "  by a perfect decider"  # with --ceiling
    ceiling = {
        k: [f"{perfect:24}{_pct(report[k]):>10}"] if k in report else []
        for k in ("ceiling_exact_match", "ceiling_gap_closed")
    }
    return [
        f"{'':24}{'model':>10}{'input':>10}",
        f"{'BLEU':24}{report['bleu']:>10.2f}{report['bleu_input']:>10.2f}",
        f"{'chrF':24}{report['chrf']:>10.2f}{report['chrf_input']:>10.2f}",
        f"{'exact match':24}{_pct(report['exact_match']):>10}{_pct(report['exact_match_input']):>10}",
        *ceiling["ceiling_exact_match"],
        f"{'BLEU gap closed':24}{_pct(report['gap_closed']):>10}",
        *ceiling["ceiling_gap_closed"],
        f"{'edit precision':24}{precision:>10}",
        f"{'edit recall':24}{_pct(report['edit_recall']):>10}",
        f"{'numbers kept':24}{_pct(report['numbers_kept']):>10}",
        f"{'names kept':24}{_pct(report['names_kept']):>10}",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="restore-bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=Path, help="JSON Lines of {spun, original[, clean]}")
    ap.add_argument("--model", help="model folder (default: the bundled model)")
    ap.add_argument("--limit", type=int, help="use only the first N rows")
    ap.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    ap.add_argument("--speed", action="store_true", help="measure speed (the corpus sample is --pairs' spun text)")
    ap.add_argument("--phrases", type=Path, help="TSV of real spun phrases and their originals")
    ap.add_argument("--lm", action="store_true", help="with the language model's second look (not with --speed)")
    ap.add_argument("--ceiling", action="store_true", help="also the gap a perfect choice among the candidates closes")
    ap.add_argument("--detect", action="store_true", help="score spin detection instead (with --pairs or --phrases)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)
    if args.lm and args.speed:
        ap.error("--speed measures the default engine; --pairs with --lm reports its words/s")
    if args.ceiling and (args.speed or args.phrases or args.pairs is None):
        ap.error("--ceiling goes with --pairs alone: it needs each sentence's reference")
    for path in (args.pairs, args.phrases):
        if path is not None and not path.is_file():
            print(f"restore-bench: error: {path}: no such file", file=sys.stderr)
            return 2
    if args.detect and (args.speed or args.ceiling or (args.pairs is None) == (args.phrases is None)):
        ap.error("--detect goes with one of --pairs or --phrases (not --speed or --ceiling)")
    if args.pairs is None and not args.speed and not args.phrases:
        ap.error("--pairs is required (except with --speed or --phrases)")
    try:
        if args.detect:
            if args.phrases:
                report = detect_phrases(args.phrases, args.model, args.batch_size, args.lm)
            else:
                report = detect(args.pairs, args.model, args.limit, args.batch_size, args.lm)
            print(json.dumps(report, indent=2) if args.json else detect_table(report))
            return 0
        if args.phrases:
            print(json.dumps(phrases(args.phrases, args.model, args.batch_size, args.lm), indent=2))
            return 0
        if args.speed:
            from restore_eval.speed import ARTICLE, speed, speed_table

            if args.pairs:
                rows = [r for r in _read(args.pairs)[: args.limit] if not r.get("clean")]
                sentences, refs = [r["spun"] for r in rows], [r["original"] for r in rows]
            else:
                sentences, refs = ARTICLE.read_text(encoding="utf-8").split("\n\n") * 10, None
            report = speed(args.model, sentences, refs, args.batch_size)
            print(json.dumps(report, indent=2) if args.json else speed_table(report))
            return 0
        report = run(args.pairs, args.model, args.limit, args.batch_size, args.lm, args.ceiling)
    except (ValueError, FileNotFoundError, ImportError) as e:  # a bad input file or model folder: one line naming it
        print(f"restore-bench: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else table(report))
    return 0


def _lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of each line of ``path`` that is not blank; text that is not UTF-8 is a ValueError."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ValueError(f"{path}: line {line}: not UTF-8 text (invalid byte at offset {e.start})") from None
    return [(n, line.rstrip("\r")) for n, line in enumerate(text.split("\n"), 1) if line.strip()]


def _read(path: Path) -> list[dict]:
    """The rows of a JSON Lines pairs file: objects with "spun" and "original" text; else a one-line ValueError."""
    rows = []
    for n, line in _lines(path):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: line {n}: not JSON ({e.msg})") from None
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("spun", "original")):
            raise ValueError(f'{path}: line {n}: not an object with "spun" and "original" text')
        rows.append(row)
    return rows


def _read_phrases(path: Path) -> tuple[list[str], list[str]]:
    """Spun phrases and their lowercased originals (``original_clean`` where given) from a TSV whose first
    line is the header ``# spun<TAB>original[...]``; anything else is a one-line ValueError."""
    lines = _lines(path) or [(1, "")]
    first, header = lines[0][0], lines[0][1].split("\t")
    if not header[0].startswith("#") or header[0].lstrip("# ") != "spun" or "original" not in header:
        raise ValueError(f"{path}: line {first}: not the header '# spun<TAB>original[<TAB>...]'")
    col = header.index("original_clean") if "original_clean" in header else header.index("original")
    spun, ref = [], []
    for n, line in lines[1:]:
        fields = line.split("\t")
        if len(fields) <= col:
            raise ValueError(f"{path}: line {n}: {len(fields)} tab-separated fields, the header has {len(header)}")
        spun.append(fields[0])
        ref.append(fields[col].strip().lower())
    if not spun:
        raise ValueError(f"{path}: no phrases after the header")
    return spun, ref


if __name__ == "__main__":
    sys.exit(main())
