import json

import pytest

import restore.engine
from restore_eval.bench import kept, main, score, table, word_edits, words_changed
from tests.conftest import fake_edit_sentences

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
    monkeypatch.setattr(restore.engine, "edit_sentences", fake_edit_sentences)
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


def test_speed_report_has_the_figures_the_issue_asks_for(tiny_model, tmp_path, capsys):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"spun": s, "original": r}) + "\n" for s, r in zip(SPUN, REF)))
    assert main(["--speed", "--pairs", str(pairs), "--model", str(tiny_model), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("words_per_second", "article_seconds", "peak_rss_mb", "model_load_seconds", "bleu_torch_engine"):
        assert report[key] > 0
    assert report["article_words"] > 750 and report["speedup_vs_plain_transformers"] > 0
    assert report["outputs_identical_to_torch_engine"] == 1  # no converted copy: the torch engine both times


def test_phrase_lists_report_exact_restorations(tiny_model, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(restore.engine, "edit_sentences", fake_edit_sentences)
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
