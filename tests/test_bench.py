import json

import pytest

from restore.edits import Edit
from restore.pipeline import Pipeline
from restore_eval.bench import best_choice, candidate_edits, kept, main, score, table, word_edits, words_changed
from tests.conftest import fake_decide, fake_edit_sentences

SPUN = ["the best diplomat of the country", "it was a 12 months ago today", "no change here at all today"]
REF = ["the top diplomat of the country", "it was a year ago today", "no change here at all today"]


def test_copy_closes_nothing_and_the_reference_closes_everything():
    copy, perfect = score(SPUN, SPUN, REF), score(SPUN, REF, REF)
    assert copy["gap_closed"] == 0 and copy["edit_recall"] == 0
    assert perfect["gap_closed"] == pytest.approx(1) and perfect["edit_precision"] == perfect["edit_recall"] == 1
    assert perfect["exact_match"] == 1 and copy["exact_match_input"] == pytest.approx(1 / 3)
    assert perfect["bleu_signature"].startswith("nrefs:1")


def test_edit_precision_counts_wrong_edits():
    s = score(
        SPUN, ["the top diplomat of the country", "it was a 12 weeks ago today", "no change there at all today"], REF
    )
    assert s["edit_precision"] == pytest.approx(1 / 3) and s["edit_recall"] == pytest.approx(1 / 2)


def test_numbers_and_names_kept_counts_only_what_the_reference_keeps():
    spun = ["In 2019 Smith met Jones 3 times today"]
    hyp = ["In 2019 Smith met Bones three times today"]
    ref = ["In 2019 Smith met Jones three times today"]  # the reference itself changes "3"
    assert kept(spun, hyp, ref) == {"numbers_kept": 1.0, "names_kept": 0.5}


def test_word_counts():
    assert word_edits("a b c", "a x c") == {(1, 2, ("x",))}
    assert words_changed("a b c d", "a x y c d") == 2


def test_cli_reports_json(tiny_model, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(Pipeline, "decide", fake_decide)
    pairs = tmp_path / "pairs.jsonl"
    rows = [{"spun": s, "original": r} for s, r in zip(SPUN, REF)] + [
        {"spun": "best of all", "original": "best of all", "clean": True}
    ]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["--pairs", str(pairs), "--model", str(tiny_model), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["edit_precision"] == report["edit_recall"] == 1 and report["gap_closed"] == pytest.approx(1)
    assert report["clean_words_changed"] == pytest.approx(1 / 3)  # "best" -> "top" in clean text is damage
    assert report["signature"].endswith("|lm:no")  # scores with and without the second look never mix
    assert main(["--pairs", str(tmp_path / "nope.jsonl")]) == 2
    with pytest.raises(SystemExit) as e:
        main(["--speed", "--lm"])
    assert e.value.code == 2


def test_clean_text_alone_reports_what_changed_without_a_bleu(tiny_model, tmp_path, monkeypatch, capsys):
    """Clean text of another domain (nothing spun): the damage and the speed, not a traceback over no pairs."""
    monkeypatch.setattr(Pipeline, "decide", fake_decide)
    pairs = tmp_path / "clean.jsonl"
    rows = [{"spun": t, "original": t, "clean": True} for t in ("best of all", "The minister spoke.")]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["--pairs", str(pairs), "--model", str(tiny_model), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pairs"] == 0 and "bleu" not in report and report["words_per_second"] > 0
    assert report["clean_words_changed"] == pytest.approx(1 / 7) and report["clean_sentences_changed"] == 0.5  # "." too
    assert main(["--pairs", str(pairs), "--model", str(tiny_model)]) == 0
    assert "clean words changed         14.29%" in capsys.readouterr().out


def test_speed_report_has_the_figures_the_issue_asks_for(tiny_onnx_model, tmp_path, capsys):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"spun": s, "original": r}) + "\n" for s, r in zip(SPUN, REF)))
    assert main(["--speed", "--pairs", str(pairs), "--model", str(tiny_onnx_model), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("words_per_second", "words_per_second_first_pass", "article_seconds", "score_words_per_second",
                "score_article_seconds", "peak_rss_mb", "model_load_seconds", "bleu_torch_engine"):  # fmt: skip
        assert report[key] > 0
    assert report["article_words"] > 750 and report["speedup_vs_plain_transformers"] > 0
    assert report["engine"] == "onnx"  # so the agreement below is ONNX Runtime's with torch, not torch's with itself
    assert report["outputs_identical_to_torch_engine"] == 1


def test_phrase_lists_report_exact_restorations(tiny_model, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(Pipeline, "decide", fake_decide)
    tsv = tmp_path / "phrases.tsv"
    tsv.write_text("# spun\toriginal\tsource\toriginal_clean\nbest man\ttop man (?)\tx\ttop man\nfoo\tbar\tx\tbar\n")
    assert main(["--phrases", str(tsv), "--model", str(tiny_model)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["phrases"] == 2 and report["restored_exactly"] == 0.5 and report["changed"] == 0.5


def test_the_table_tells_clean_damage_apart_on_either_side_of_the_half_percent_target():
    report = score(SPUN, REF, REF) | {"words_per_second": 1.0, "signature": "restore-bench|test"}
    rows = {}
    for damage in (0.0047, 0.0054):
        report |= {"clean_words_changed": damage, "clean_sentences_changed": 0.06}
        rows[damage] = next(line for line in table(report).splitlines() if line.startswith("clean words changed"))
    assert rows[0.0047].endswith("0.47%") and rows[0.0054].endswith("0.54%")


def test_a_perfect_decider_makes_every_candidate_that_helps_and_no_other():
    spun = "Washington's best diplomat will sentence the invasion in financial strengthen talks"
    ref = "Washington's top diplomat will condemn the invasion in economic support talks"
    at = lambda w, after, p: Edit(spun.index(w), spun.index(w) + len(w), w, after, p)  # noqa: E731
    candidates = [
        at("best", "good", 0.9),  # wrong, and likelier than the right one at the same word
        at("best", "top", 0.3),
        at("sentence", "condemn", 0.05),  # right, however unlikely
        at("the", "a", 0.95),  # wrong
        at("financial", "economic", 0.4),  # half of a two-word swap still helps
    ]
    assert best_choice(spun, ref, candidates) == (
        "Washington's top diplomat will condemn the invasion in economic strengthen talks"
    )
    assert best_choice(spun, ref, []) == spun
    assert best_choice(ref, ref, [Edit(0, 12, "Washington's", "Seattle's", 1.0)]) == ref


def test_the_ceiling_weighs_every_candidate_the_restorer_weighs(tiny_model):
    from restore.restorer import Restorer

    restorer = Restorer(tiny_model, min_confidence=0.0)
    texts = ["Washington's best diplomat came.\nThey sentence the invasion for 12 months.", "The best of all."]
    found = candidate_edits(restorer, texts)
    assert len(found) == 2 and all(found)
    for text, cands in zip(texts, found):
        assert all(text[c.start : c.end] == c.before and 0 <= c.score <= 1 for c in cands)
    for made, cands in zip(restorer.explain(texts), found):
        assert {(e.start, e.end, e.after) for e in made} <= {(c.start, c.end, c.after) for c in cands}


def test_cli_reports_the_ceiling(tiny_model, tmp_path, monkeypatch, capsys):
    import restore_eval.bench

    monkeypatch.setattr(Pipeline, "decide", fake_decide)
    every_swap = lambda restorer, texts: [fake_edit_sentences([t])[0] for t in texts]  # noqa: E731
    monkeypatch.setattr(restore_eval.bench, "candidate_edits", every_swap)
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"spun": s, "original": r}) + "\n" for s, r in zip(SPUN, REF)))
    assert main(["--pairs", str(pairs), "--model", str(tiny_model), "--ceiling", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ceiling_gap_closed"] == pytest.approx(1) and report["ceiling_bleu"] == pytest.approx(100)
    assert report["ceiling_exact_match"] == 1.0  # every sentence comes back whole
    assert main(["--pairs", str(pairs), "--model", str(tiny_model)]) == 0
    assert "perfect decider" not in capsys.readouterr().out  # only asked for: it costs a second pass
    for other in (["--speed"], ["--phrases", str(pairs)], []):
        with pytest.raises(SystemExit) as e:
            main([*other, "--ceiling"])
        assert e.value.code == 2


def test_bad_pairs_phrases_or_model_are_one_line_naming_the_file_and_exit_2(tiny_model, tmp_path, capsys):
    import shutil

    good = json.dumps({"spun": SPUN[0], "original": REF[0]}) + "\n"
    header = "# spun\toriginal\tsource\n"
    cases = [
        ("--pairs", "pairs.jsonl", good + "[1, 2]\n", "line 2: not an object"),
        ("--pairs", "pairs.jsonl", good + '{"spun": "a"}\n', 'line 2: not an object with "spun" and "original"'),
        ("--pairs", "pairs.jsonl", good + good[:-3] + "\n", "line 2: not JSON"),
        ("--pairs", "pairs.jsonl", good.encode() + b'{"spun": "\xff"}\n', "line 2: not UTF-8 text"),
        ("--phrases", "phrases.tsv", "best man\ttop man\n", "line 1: not the header"),
        ("--phrases", "phrases.tsv", header + "best man\ttop man\tx\nfoo\n", "line 3: 1 tab-separated fields"),
        ("--phrases", "phrases.tsv", header.encode() + b"b\xe9st\ttop\tx\n", "line 2: not UTF-8 text"),
        ("--phrases", "phrases.tsv", header, "no phrases"),
    ]
    for option, name, content, message in cases:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        assert main([option, str(path), "--model", str(tiny_model)]) == 2, message
        err = capsys.readouterr().err
        assert err.startswith(f"restore-bench: error: {path}: {message}") and err.count("\n") == 1, err
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(good)
    broken = shutil.copytree(tiny_model, tmp_path / "model")
    (broken / "phrases.tsv.xz").write_bytes(b"garbage")
    for model, named in ((tmp_path / "empty", "not a restore model folder"), (broken, "phrases.tsv.xz")):
        model.mkdir(exist_ok=True)
        assert main(["--pairs", str(pairs), "--model", str(model)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("restore-bench: error: ") and named in err and err.count("\n") == 1, err


def test_edit_precision_is_undefined_when_nothing_is_edited():
    report = score(SPUN, SPUN, REF)  # the model left every sentence alone
    assert report["edit_precision"] is None and report["edit_recall"] == 0
    lines = table(report | {"words_per_second": 1.0, "signature": "s"}).splitlines()
    assert [line.split()[-1] for line in lines if line.startswith("edit precision")] == ["n/a"]


def test_the_ceiling_takes_the_most_helpful_of_overlapping_candidates():
    spun, ref = "a debate on arm jurisprudence that stalled", "a debate on gun laws that stalled"
    candidates = [
        Edit(12, 15, "arm", "gun", 0.9),  # helps by one word, and likelier
        Edit(12, 29, "arm jurisprudence", "gun laws", 0.3),  # helps by two
    ]
    assert best_choice(spun, ref, candidates) == ref
