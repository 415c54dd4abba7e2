import dataclasses
import json
import shutil
import subprocess
from types import SimpleNamespace

import pytest

from restore.detect import (
    SENTENCE_FEATURES,
    TERM_LM_FEATURES,
    WORD_FEATURES,
    DetectSettings,
    Report,
    SentenceScore,
    Span,
    TermReading,
    WordTrees,
    join,
)
from restore.restorer import SETTINGS_FILE, Restorer
from restore.segment import split
from restore_eval.bench import main as bench_main
from restore_eval.bench import roc_auc

SPUN = "Washington’s best diplomat.\n\n\tÜnïcödé 😀 — a 12 months in the past…  \n"


def test_report_gives_scores_and_spans_with_character_offsets_into_the_input(tiny_restorer):
    report = tiny_restorer.score(SPUN)
    assert isinstance(report, Report) and 0 <= report.score <= 1
    assert [(s.start, s.end) for s in report.sentences] == split(SPUN)
    assert [(x.text, x.suggestion) for x in report.spans] == [("best", "top"), ("12 months", "year")]
    for x in report.spans:
        assert SPUN[x.start : x.end] == x.text and x.score >= tiny_restorer.detect.threshold
    assert report.flagged and report.score > 0.9


def test_a_phrase_the_model_cannot_restore_is_flagged_without_a_suggestion(tiny_restorer):
    restorer = Restorer(tiny_restorer.path)
    trees = dataclasses.replace(restorer.detect.word_trees, baseline=5.0)  # every word suspicious
    restorer.detect = dataclasses.replace(restorer.detect, word_trees=trees)
    restorer.pipeline.first.min_confidence = 1.01  # and no edit the restorer would make
    restorer.pipeline.term.min_confidence = 1.01  # (the text is a term alone: the term look's)
    report = restorer.score("counterfeit consciousness!")
    assert [(x.start, x.end, x.text, x.suggestion) for x in report.spans] == [
        (0, 25, "counterfeit consciousness", None)  # one span for the run; the "!" is never flagged
    ]


def test_a_list_gives_a_list_and_empty_or_whitespace_text_scores_zero(tiny_restorer):
    texts = [SPUN, "", "  \n\t ", "no change here"]
    reports = tiny_restorer.score(texts)
    assert isinstance(reports, list) and len(reports) == 4
    assert reports[0] == tiny_restorer.score(SPUN)
    for r in reports[1:3]:
        assert r.score == 0 and r.spans == [] and r.sentences == []
    assert tiny_restorer.score([]) == []


def test_scores_do_not_depend_on_batch_size(tiny_restorer):
    texts = [f"Sentence {i} is {'very ' * i}long and the best minister said so in 12 months." for i in range(12)]
    by_size = {bs: tiny_restorer.score(texts, batch_size=bs) for bs in (1, 5, 32)}
    spans = {bs: [[(x.start, x.end, x.suggestion) for x in r.spans] for r in rs] for bs, rs in by_size.items()}
    assert spans[1] == spans[5] == spans[32] and all(spans[1])
    for bs in (5, 32):
        assert [r.score for r in by_size[bs]] == pytest.approx([r.score for r in by_size[1]], abs=1e-5)


def test_word_features_of_sentences_read_together_are_those_of_each_read_alone(tiny_restorer):
    """The words of a call are read in one pass: no sentence's neighbours, candidates or sums leak into another's."""
    import numpy as np

    from restore.detect import word_features

    pipeline = tiny_restorer.pipeline
    sentences = ["Washington's best diplomat said so.", "", "...", "A", "The best minister arrived in 12 months."]
    tagged = pipeline.tag(sentences, 2)
    candidates = pipeline.propose(sentences, tagged)
    probabilities = [pipeline.first.probabilities(c) for c in candidates]
    together = word_features(sentences, tagged, candidates, probabilities, pipeline.ngrams, pipeline.science)
    for j, (spans, rows) in enumerate(together):
        (alone,) = word_features(
            [sentences[j]], [tagged[j]], [candidates[j]], [probabilities[j]], pipeline.ngrams, pipeline.science
        )
        assert spans == alone[0] and rows.shape == (len(spans), len(WORD_FEATURES))
        assert np.array_equal(rows, alone[1], equal_nan=True)
    assert np.isnan(together[2][1]).all() and np.isnan(together[0][1][-1]).all()  # "...", "." have no letter
    assert not np.isnan(together[0][1][:-1]).any()
    assert np.nanmax(together[4][1][:, WORD_FEATURES.index("candidate")]) > 0  # "best" has a likely candidate


def test_seen_min_says_whether_news_or_science_saw_the_word_beside_its_neighbours(tiny_restorer):
    from restore.detect import word_features

    pipeline = tiny_restorer.pipeline
    sentences = ["artificial intelligence", "counterfeit consciousness", "top diplomat began", "Kazakhstan"]
    tagged = pipeline.tag(sentences, 4)
    candidates = pipeline.propose(sentences, tagged)
    probabilities = [pipeline.first.probabilities(c) for c in candidates]
    read = word_features(sentences, tagged, candidates, probabilities, pipeline.ngrams, pipeline.science)
    seen = [rows[:, WORD_FEATURES.index("seen_min")].tolist() for _, rows in read]
    assert min(seen[0]) > 0 and seen[1] == [0.0, 0.0]  # science saw the first pair together; nobody the second
    assert min(seen[2]) > 0  # news saw both pairs: the sentence's ends do not count against a word
    assert seen[3] == [20.0]  # a word alone has no neighbour to be unseen with


def test_a_term_alone_is_judged_at_the_term_threshold_and_running_text_at_the_threshold(tiny_restorer):
    restorer = Restorer(tiny_restorer.path)
    trees = dataclasses.replace(restorer.detect.word_trees, baseline=0.0)  # every word 0.5 suspicious
    restorer.detect = dataclasses.replace(restorer.detect, word_trees=trees, threshold=0.9, term_threshold=0.4)
    term, running = "counterfeit consciousness", "Counterfeit consciousness grew fast in the labs of many firms."
    reports = restorer.score([term, running, "counterfeit consciousness. It grew."])
    assert [r.threshold for r in reports] == [0.4, 0.9, 0.9]
    assert [x.text for x in reports[0].spans] == [term] and not reports[1].spans and not reports[2].spans
    assert join([(0, reports[0])], restorer.detect) == reports[0]  # a term alone stays one when joined
    whole = join([(0, reports[0]), (len(term), restorer.score(" It grew."))], restorer.detect)
    assert whole.threshold == 0.9


def test_a_model_folder_without_detect_settings_is_a_clear_error(tiny_model, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    settings = json.loads((folder / SETTINGS_FILE).read_text())
    del settings["detect"]
    (folder / SETTINGS_FILE).write_text(json.dumps(settings))
    with pytest.raises(ValueError, match="no detect settings"):
        Restorer(folder).score("text")


def test_join_shifts_pieces_into_the_whole_text(tiny_restorer):
    a, b = "The best one.\n", "A 12 months ago.\n"
    whole = join([(0, tiny_restorer.score(a)), (len(a), tiny_restorer.score(b))], tiny_restorer.detect)
    assert [(x.start, x.end) for x in whole.spans] == [(x.start, x.end) for x in tiny_restorer.score(a + b).spans]
    assert whole == tiny_restorer.score(a + b)


def test_roc_auc_counts_ties_as_half():
    assert roc_auc([0.9, 0.8], [0.1]) == 1.0
    assert roc_auc([0.1], [0.9, 0.8]) == 0.0
    assert roc_auc([0.5, 0.9], [0.5, 0.1]) == pytest.approx(0.875)


def test_cli_score_prints_a_line_per_input_and_names_files_it_cannot_read(run, tmp_path):
    spun, clean, bad = tmp_path / "spun.txt", tmp_path / "clean.txt", tmp_path / "bad.txt"
    spun.write_text(SPUN)
    clean.write_text("   \n")
    bad.write_bytes(b"ok \xff here")
    code, out, err = run("--score", str(spun), str(tmp_path / "missing.txt"), str(bad), str(clean))
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{spun}: spin score 1.00; 2 flagged spans:")
    assert '"best" (1.00 -> top)' in lines[0] and 'worst sentence (1.00): "Washington’s best diplomat."' in lines[0]
    assert lines[1] == f"{clean}: spin score 0.00; no flagged spans"
    errors = err.strip().splitlines()
    assert len(errors) == 2 and "missing.txt: no such file" in errors[0] and "bad.txt: not UTF-8" in errors[1]


def test_cli_json_lines_carry_the_whole_report(run):
    code, out, _ = run("--json", stdin=SPUN)
    assert code == 0
    (line,) = out.splitlines()
    report = json.loads(line)
    assert report["file"] == "<stdin>" and report["flagged"] is True and report["score"] > 0.9
    assert [(x["start"], x["end"], x["text"], x["suggestion"]) for x in report["spans"]] == [
        (13, 17, "best", "top"),
        (SPUN.index("12"), SPUN.index("12") + 9, "12 months", "year"),
    ]
    assert all(set(s) == {"start", "end", "score", "flagged"} for s in report["sentences"]) and report["sentences"]
    for s in report["sentences"]:  # a sentence is flagged when it holds a flagged span
        assert s["flagged"] == any(s["start"] <= x["start"] < s["end"] for x in report["spans"])


def test_cli_score_refuses_output_options_and_an_existing_html_file(run, tmp_path):
    assert run("--score", "--diff", stdin="best")[0] == 2
    assert run("--score", "-o", str(tmp_path / "x.txt"), stdin="best")[0] == 2
    page = tmp_path / "report.html"
    page.write_text("keep me")
    code, out, err = run("--html", str(page), stdin="best")
    assert code == 2 and out == "" and "report.html: exists (use --force" in err and page.read_text() == "keep me"
    assert run("--html", str(page), "--force", stdin="best")[0] == 0 and "<mark" in page.read_text()


def test_html_report_is_self_contained_and_marks_each_span_with_its_score_and_suggestion(run, tmp_path):
    page = tmp_path / "report.html"
    source = tmp_path / "a<b>.txt"
    source.write_text(SPUN)
    code, out, _ = run("--html", str(page), str(source))
    assert code == 0 and out.startswith(str(source))
    html = page.read_text()
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")  # no network, no scripts
    assert 'title="spin score 1.00; suggestion: top"' in html and ">best</mark>" in html
    assert "a&lt;b&gt;.txt" in html  # names and text are escaped


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt-get install chromium; .ci/run installs it)")
def test_html_report_in_a_real_headless_browser(run, tmp_path):
    page, shot = tmp_path / "report.html", tmp_path / "shot.png"
    source = tmp_path / "spun.txt"
    source.write_text(SPUN)
    assert run("--html", str(page), str(source))[0] == 0
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    flags += ["--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'p'}"]

    def browse(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [CHROMIUM, *flags, *extra, page.as_uri()], capture_output=True, text=True, timeout=120, check=True
        )

    dom = browse("--dump-dom").stdout
    assert dom.count('<mark class="flag"') == 2
    assert 'title="spin score 1.00; suggestion: top"' in dom and 'title="spin score 1.00; suggestion: year"' in dom
    assert "likely spun" in dom and "spun.txt" in dom
    browse(f"--screenshot={shot}", "--window-size=1000,700")
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000  # a rendered page, not an empty canvas


def test_bench_detect_reports_the_issue_figures(tiny_model, tmp_path, capsys):
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {"article": "a", "spun": "The best diplomat spoke.", "original": "The top diplomat spoke."},
        {"article": "a", "spun": "Prices rose by 3%.", "original": "Prices rose by 3%.", "clean": True},
        {"article": "b", "spun": "It was a 12 months ago.", "original": "It was a year ago."},
    ]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert bench_main(["--detect", "--pairs", str(pairs), "--model", str(tiny_model), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["documents"] == 2 and report["spun_sentences"] == 2 and report["clean_sentences"] == 3
    assert report["document_auc"] == 1.0 and report["sentence_auc"] == 1.0
    assert report["false_flags_per_1000_clean"] == 0 and report["span_precision"] == report["span_recall"] == 1.0
    phrases = tmp_path / "phrases.tsv"
    phrases.write_text("# spun\toriginal\nbest\ttop\n12 months\tyear\n")
    assert bench_main(["--detect", "--phrases", str(phrases), "--model", str(tiny_model), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["phrases"] == 2 and report["recall"] == 1.0 and report["precision"] == 1.0
    with pytest.raises(SystemExit) as e:
        bench_main(["--detect", "--speed"])
    assert e.value.code == 2 and "--detect goes with one of" in capsys.readouterr().err
    clean = tmp_path / "clean.jsonl"  # clean rows alone: there is nothing spun to score (was a ZeroDivisionError)
    clean.write_text(json.dumps({"spun": "Prices rose.", "original": "Prices rose.", "clean": True}) + "\n")
    assert bench_main(["--detect", "--pairs", str(clean), "--model", str(tiny_model)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"restore-bench: error: {clean}: no spun rows") and err.count("\n") == 1, err
    phrases.write_text("# spun\toriginal\ntop\ttop\n")  # the same for phrases (was a ZeroDivisionError too)
    assert bench_main(["--detect", "--phrases", str(phrases), "--model", str(tiny_model)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"restore-bench: error: {phrases}: no phrase differs") and err.count("\n") == 1, err


def test_bench_detect_gives_a_line_the_score_of_a_sentence_running_on_into_it():
    from restore_eval.bench import _line_scores

    text = "Rap star to head a label\nafter a long career. He spoke.\nIt rose."  # line 1 runs on: one sentence
    report = Report(
        score=0.9,
        sentences=[
            SentenceScore(0, 45, 0.97, True),
            SentenceScore(46, 55, 0.2, False),
            SentenceScore(56, 64, 0.1, False),
        ],
        spans=[Span(33, 37, "long", 0.97, None)],
        threshold=0.9,
    )
    lines = _line_scores(text, report)  # the second line scored 0 and unflagged: no sentence began in it
    assert [(a, b) for a, b, _, _ in lines] == [(0, 24), (25, 55), (56, 64)]
    assert [score for _, _, score, _ in lines] == [0.97, 0.97, 0.1]
    assert [flagged for _, _, _, flagged in lines] == [False, True, False]


def test_bench_detect_judges_a_term_alone_at_the_term_threshold(tiny_model, tmp_path, capsys):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    settings = json.loads((folder / SETTINGS_FILE).read_text())
    settings["detect"] |= {"threshold": 0.9, "term_threshold": 0.4}
    settings["detect"]["word_trees"]["baseline"] = 0.0  # every word 0.5 suspicious
    (folder / SETTINGS_FILE).write_text(json.dumps(settings))
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {"article": "t", "spun": "counterfeit consciousness", "original": "artificial intelligence"},
        {"article": "n", "spun": "The minister spoke at length about the plans.", "original": "The minister spoke at "
         "length about the proposals."},
    ]  # fmt: skip
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert bench_main(["--detect", "--pairs", str(pairs), "--model", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["term_threshold"] == 0.4 and "term_threshold:0.4000" in report["signature"]
    assert report["sentence_recall"] == 0.5  # the term (0.5 >= 0.4), not the sentence (0.5 < 0.9)
    assert report["false_flags_per_1000_clean"] == 500.0  # the clean term reads 0.5 too


def test_dataclasses_are_plain_values():
    r = Report(0.5, [SentenceScore(0, 3, 0.5, True)], [Span(0, 3, "abc", 0.5, None)], 0.5)
    assert r == Report(0.5, [SentenceScore(0, 3, 0.5, True)], [Span(0, 3, "abc", 0.5, None)], 0.5) and r.flagged


def test_word_trees_walk_each_tree_to_its_leaf_and_add_the_leaves():
    # tree 1 splits on swap_rate then on capitalised; tree 2 is a single leaf
    rate, cap = WORD_FEATURES.index("swap_rate"), WORD_FEATURES.index("capitalised")
    trees = WordTrees(
        baseline=-1.0,
        depth=2,
        roots=(0, 5),
        feature=(rate, cap, 0, 0, 0, 0),
        threshold=(0.5, 0.5, 0.0, 0.0, 0.0, 0.0),
        left=(1, 3, 2, 3, 4, 5),
        right=(2, 4, 2, 3, 4, 5),
        value=(0.0, 0.0, 3.0, 1.0, -2.0, 0.25),
    )
    words = [[0.0] * len(WORD_FEATURES) for _ in range(3)]
    words[1][rate] = 0.9  # right: leaf 2
    words[2][cap] = 1.0  # left, then right: leaf 4
    assert trees.logits(words).tolist() == [-1.0 + 1.0 + 0.25, -1.0 + 3.0 + 0.25, -1.0 - 2.0 + 0.25]
    # a word's value does not depend on the others
    assert trees.logits(words[2:]).tolist() == trees.logits(words)[2:].tolist()
    assert WordTrees.from_json(json.loads(json.dumps(trees.to_json()))) == trees


def test_detect_settings_over_other_word_features_are_a_clear_error(tiny_model, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    settings = json.loads((folder / SETTINGS_FILE).read_text())
    settings["detect"]["word_trees"]["features"] = ["log_change"]
    (folder / SETTINGS_FILE).write_text(json.dumps(settings))
    restorer = Restorer(folder)  # restoring needs no detection
    assert isinstance(restorer.restore("no change here"), str)
    with pytest.raises(ValueError, match="word features: candidate"):
        restorer.score("text")


def test_detect_settings_without_sentence_weights_are_a_clear_error(tiny_model, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    settings = json.loads((folder / SETTINGS_FILE).read_text())
    del settings["detect"]["sentence_weights"]["log_words"]  # restore.json of 0.13.0 had none at all
    (folder / SETTINGS_FILE).write_text(json.dumps(settings))
    restorer = Restorer(folder)
    with pytest.raises(ValueError, match="no sentence_weights for log_words") as e:
        restorer.score("text")
    assert "\n" not in str(e.value)


def test_a_sentence_is_scored_by_the_sentence_model_and_flagged_by_its_words(tiny_restorer):
    import math

    restorer = Restorer(tiny_restorer.path)
    trees = dataclasses.replace(restorer.detect.word_trees, baseline=-10.0)  # "best" has log-odds +10, others -10
    weights = dict.fromkeys(SENTENCE_FEATURES, 0.0) | {"top_logit": 0.2, "mean_logit": 0.1, "log_words": -1.0}
    restorer.detect = dataclasses.replace(restorer.detect, word_trees=trees, sentence_weights=weights, sentence_bias=0)
    short, long = "The best one.", "The best one said so in the town hall of our city."
    reports = restorer.score([short, long])
    for report, words in zip(reports, (3, 12)):  # the words with a letter count
        (sentence,) = report.sentences
        mean = (10 - 10 * (words - 1)) / words
        assert sentence.score == pytest.approx(1 / (1 + math.exp(-(2 + 0.1 * mean - math.log(words)))), abs=1e-6)
        assert sentence.flagged and [x.text for x in report.spans] == ["best"]
    assert reports[1].sentences[0].score < restorer.detect.threshold < reports[0].sentences[0].score


def test_scoring_rereads_only_the_sentences_it_flags(tiny_restorer, monkeypatch):
    restorer = Restorer(tiny_restorer.path)
    pipeline, reread = restorer.pipeline, restorer.pipeline.reread
    seen, given = [], []

    def spy(sentences, candidates, first, probabilities=None):
        seen.extend(sentences)
        given.append((first.grouped_probabilities(candidates), probabilities))
        return reread(sentences, candidates, first, probabilities)

    monkeypatch.setattr(pipeline, "reread", spy)
    text = "No change here. The best one. Nothing to see."
    report = restorer.score(text)
    assert seen == ["The best one."]  # for its suggestion, which is the restorer's edit
    assert [ours == theirs for ours, theirs in given] == [True]  # the probabilities scoring weighed are its own
    (span,) = report.spans
    assert span.text == "best"
    made = {(e.start, e.end): e.after for e in restorer.explain(text)}
    assert span.suggestion == made[span.start, span.end]
    assert [s.flagged for s in report.sentences] == [False, True, False]


class LengthLM:
    """Stands in for SmolLM2: a text's log-probability is minus its length in characters; a word is a token."""

    def __init__(self) -> None:
        self.tokenizer = self

    def logprobs(self, texts: list[str]) -> list[float]:
        return [-float(len(t)) for t in texts]

    def encode_batch(self, texts: list[str], add_special_tokens: bool = False) -> list:
        return [SimpleNamespace(tokens=t.split()) for t in texts]


def test_with_the_language_model_a_term_alones_words_move_together_to_its_reading(tiny_restorer):
    restorer = Restorer(tiny_restorer.path)
    trees = dataclasses.replace(restorer.detect.word_trees, baseline=0.0)  # every word 0.5 suspicious
    weights = dict.fromkeys(TERM_LM_FEATURES, 0.0) | {"log_prob": 0.1}  # the longer, the less likely spun
    reading = TermReading(weights, bias=4.0, threshold=0.7)
    restorer.detect = dataclasses.replace(
        restorer.detect, word_trees=trees, threshold=0.9, term_threshold=0.4, term_lm=reading
    )
    texts = ["heap indicator", "counterfeit consciousness", "Counterfeit consciousness grew fast in many labs."]
    before = restorer.score(texts)
    assert [r.threshold for r in before] == [0.4, 0.4, 0.9]  # without the language model: the term threshold
    assert [x.score for x in before[0].spans] == [0.5]
    restorer.pipeline.lm = LengthLM()
    after = restorer.score(texts)
    assert [r.threshold for r in after] == [0.7, 0.7, 0.9]
    short, long = (reading.probabilities(LengthLM(), [t], [0.0])[0] for t in texts[:2])
    assert 0.7 < short and long < 0.7  # 4 - 0.1 * (13 + 14) against 4 - 0.1 * (13 + 25)
    assert [(x.text, x.score) for x in after[0].spans] == [("heap indicator", pytest.approx(short))]
    assert before[1].spans and not after[1].spans
    assert after[2] == before[2]  # running text is read as before
    assert restorer.score(texts, batch_size=1) == after


def test_the_term_reading_is_stored_with_detection_and_a_missing_weight_is_a_clear_error(tiny_restorer):
    reading = TermReading(dict.fromkeys(TERM_LM_FEATURES, 0.5), bias=-1.0, threshold=0.3)
    settings = dataclasses.replace(tiny_restorer.detect, term_lm=reading)
    assert DetectSettings.from_json(json.loads(json.dumps(settings.to_json()))) == settings
    assert "term_lm" not in tiny_restorer.detect.to_json()
    data = settings.to_json()
    del data["term_lm"]["weights"]["framed_log_prob"]
    with pytest.raises(ValueError, match="term_lm.*framed_log_prob"):
        DetectSettings.from_json(data)


def test_a_term_alones_words_read_the_term_looks_probabilities_as_the_restorer_judges_it(tiny_restorer):
    from restore.detect import read_words
    from restore.features import FEATURES

    restorer = Restorer(tiny_restorer.path)
    pipeline = restorer.pipeline
    weights = [10.0 * (f == "log_edit_rate") for f in FEATURES]  # the phrase table's swaps, surely
    pipeline.first = dataclasses.replace(pipeline.first, weights=[0.0] * len(FEATURES), bias=-50.0)
    pipeline.term = dataclasses.replace(pipeline.term, weights=weights, bias=5.0)
    texts = ["best diplomat", "best diplomat"]
    tagged = pipeline.tag(texts)
    candidates, probabilities, read = read_words(texts, tagged, pipeline, [True, False])
    column = WORD_FEATURES.index("candidate")
    as_term, as_running = (features[0, column] for _, features in read)  # "best": "top" is the table's swap
    assert as_term > 0.99 and as_running < 1e-6
    assert probabilities == pipeline.first.grouped_probabilities(candidates)  # the reread's contexts stay the first's
    assert [f.tolist() for _, f in read_words(texts, tagged, pipeline)[2]][0][0][column] < 1e-6  # no terms: first
