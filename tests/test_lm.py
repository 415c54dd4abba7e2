"""The language model's second look: windows around edits, scores that match the model, choices it swings."""

import json
import math
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restore.edits import Edit
from restore.features import SECOND_LOOK_FEATURES, Candidate, relook
from restore.lm import DOC_START, ContextLM, window
from restore.looks import Look
from restore.pipeline import Pipeline

TEXT = "The minister said the economic support would continue for a year and officials condemned the invasion ."


def edit_of(text: str, before: str, after: str) -> Edit:
    start = text.index(before)
    return Edit(start, start + len(before), before, after)


def test_the_window_takes_words_either_side_and_marks_a_sentence_start():
    old, new = window(TEXT, edit_of(TEXT, "a year", "12 months"))  # 8 words before, 4 after
    assert old == "minister said the economic support would continue for a year and officials condemned the"
    assert new == "minister said the economic support would continue for 12 months and officials condemned the"
    old, _ = window(TEXT, edit_of(TEXT, "condemned", "sentenced"))  # fewer than 4 words after
    assert old == "support would continue for a year and officials condemned the invasion ."
    old, new = window(TEXT, edit_of(TEXT, "minister", "priest"))
    assert (
        old == DOC_START + "The minister said the economic support"
        and new == DOC_START + "The priest said the economic support"
    )


def reference_logprob(folder, text: str) -> float:
    """log P(text after its first token) from the transformers original of the tiny model, in fp32."""
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(folder / "hf")
    model = LlamaForCausalLM.from_pretrained(folder / "hf").eval()
    ids = torch.tensor([tok.encode(text, add_special_tokens=False)])
    with torch.no_grad():
        logp = model(ids).logits.log_softmax(-1)[0, :-1].gather(-1, ids[0, 1:, None])
    return float(logp.sum())


def test_scores_are_the_models_log_probabilities(tiny_lm):
    lm = ContextLM(tiny_lm / "ct2")
    texts = [DOC_START + "The minister said", "officials condemned the invasion ."]
    for text, got in zip(texts, lm.logprobs(texts)):
        want = reference_logprob(tiny_lm, text)
        assert got == pytest.approx(want, abs=1e-3)  # int8 scores were 0.006 nats off here
    old, new = window(TEXT, edit_of(TEXT, "year", "minister"))
    [gain] = lm.gains([(TEXT, edit_of(TEXT, "year", "minister"))])
    assert gain == pytest.approx(reference_logprob(tiny_lm, new) - reference_logprob(tiny_lm, old), abs=1e-3)


class FixedLM:
    """Stands in for ContextLM: a fixed gain per replacement."""

    def __init__(self, gains: dict[str, float]) -> None:
        self.table = gains

    def gains(self, items):
        return [self.table[e.after] for _, e in items]


def test_the_second_look_rescores_likely_candidates_and_drops_the_rest():
    first = Look(["x"], [1.0], bias=0.0, min_confidence=0.9)
    candidates = [
        [
            Candidate(Edit(4, 8, "best", "top"), [0.0]),  # first look: 50%
            Candidate(Edit(4, 8, "best", "good"), [1.0]),  # 73%
            Candidate(Edit(9, 12, "foo", "bar"), [-5.0]),  # 0.7%: below SECOND_LOOK_FLOOR
        ]
    ]
    [rescored] = relook(FixedLM({"top": 3.0, "good": -1.0}), ["The best foo."], candidates, first)
    assert [c.edit.after for c in rescored] == ["top", "good"]
    assert [len(c.features) for c in rescored] == [len(SECOND_LOOK_FEATURES)] * 2
    assert rescored[0].features == [0.0, 3.0, 0.0]
    assert rescored[1].features == pytest.approx([math.log(0.7310585786 / 0.2689414214), -1.0, -4.0])
    second = Look(SECOND_LOOK_FEATURES, [0.0, 1.0, 1.0], bias=0.0, min_confidence=0.5)
    pipeline = Pipeline(None, None, None, None, first=first, second=second)
    pipeline.tag_chunks = lambda sentences, batch_size: iter([(0, [None])])
    pipeline.candidates = lambda sentences, tagged, terms: [rescored]  # the first look's output, fixed
    [decision] = pipeline.decide(["The best foo."])
    assert [e.after for e in decision.edits] == ["top"]  # the first look preferred "good"
    assert {e.after for e in decision.candidates} == {"top", "good"}


def test_a_term_alone_skips_the_second_look_and_is_judged_by_the_term_look_on_its_first_features():
    first = Look(["x"], [1.0], bias=0.0, min_confidence=0.9)
    term = Look(["x"], [1.0], bias=0.0, min_confidence=0.6)
    second = Look(SECOND_LOOK_FEATURES, [0.0, 1.0, 1.0], bias=0.0, min_confidence=0.5)
    pipeline = Pipeline(None, None, None, None, first=first, second=second, term=term)
    read = [[Candidate(Edit(0, 4, "best", "top"), [1.0])], [Candidate(Edit(4, 8, "best", "top"), [1.0])]]
    looked = []
    pipeline.tag_chunks = lambda sentences, batch_size: iter([(0, [None] * len(sentences))])
    pipeline.propose = lambda sentences, tagged: read
    pipeline.reread = lambda sentences, candidates, look: candidates
    pipeline.relook = lambda sentences, candidates, look: (
        looked.append(sentences) or [[Candidate(c.edit, [0.0, -9.0, 0.0]) for c in cs] for cs in candidates]
    )
    alone, running = pipeline.decide(["best job", "The best foo was a long one."], terms=[True, False])
    assert looked == [["The best foo was a long one."]]  # the language model reads the running text alone
    assert [(e.after, round(e.score, 4)) for e in alone.edits] == [("top", 0.7311)]  # the term look, at 0.6
    assert running.edits == []  # the second look's features: -9 nats


def test_a_model_without_second_look_settings_says_so(tiny_model, tiny_lm):
    from restore.restorer import Restorer

    with pytest.raises(ValueError, match="restore.json: no second_look settings"):
        Restorer(tiny_model, lm=tiny_lm / "ct2")


@pytest.fixture(scope="module")
def lm_model(tiny_model, tiny_lm, tmp_path_factory):
    """The tiny model folder with second-look settings."""
    from restore.restorer import SETTINGS_FILE

    folder = shutil.copytree(tiny_model, tmp_path_factory.mktemp("lm-model") / "model")
    settings = json.loads((folder / SETTINGS_FILE).read_text())
    settings["second_look"] = Look(SECOND_LOOK_FEATURES, [1.0, 0.2, 0.5], 0.0, 0.3).to_json()
    (folder / SETTINGS_FILE).write_text(json.dumps(settings))
    return folder


def test_the_second_look_runs_end_to_end_whatever_the_batch_size(lm_model, tiny_lm):
    from restore.restorer import Restorer

    text = "Washington's best diplomat began a visit. Officials sentence the invasion for 12 months.\n\nPrices rose."
    outs = [Restorer(lm_model, batch_size=b, lm=tiny_lm / "ct2").explain(text) for b in (1, 3, 32)]
    assert outs[0] == outs[1] == outs[2]
    assert all(text[e.start : e.end] == e.before for e in outs[0])


@settings(max_examples=40, deadline=None)
@given(text=st.text(max_size=200))
def test_arbitrary_unicode_through_the_second_look_never_raises(lm_model, tiny_lm, text):
    from restore.restorer import Restorer

    restorer = Restorer(lm_model, lm=tiny_lm / "ct2", min_confidence=0.0)  # a random model applies junk
    assert restorer.restore(text).count("\n") == text.count("\n")


def test_progress_moves_through_the_second_look_and_ends_at_the_total(lm_model, tiny_lm):
    from restore.engine import CHUNK, FIRST_CHUNK
    from restore.restorer import Restorer

    r = Restorer(lm_model, lm=tiny_lm / "ct2")
    sentences = ["Officials sentence the invasion for 12 months."] * (2 * CHUNK + 5)
    steps: list[int] = []
    edits = [d.edits for d in r.pipeline.decide(sentences, 32, r.min_confidence, progress=steps.append)]
    sizes = [FIRST_CHUNK * 2**k for k in range(5) if FIRST_CHUNK * 2**k < CHUNK]  # 16, 32, 64, 128 ... then CHUNK
    assert steps[: len(sizes)] == sizes and set(steps[len(sizes) : -1]) == {CHUNK} and sum(steps) == len(sentences)
    assert len(edits) == len(sentences)
    assert all(e == edits[0] for e in edits)  # the same sentence gets the same edits in every chunk


class RecordingLM:
    """Stands in for ContextLM: no gain, but keeps what it was asked to read."""

    def gains(self, items):
        self.items = list(items)
        return [0.0] * len(self.items)


def test_the_second_look_reads_each_candidate_with_the_first_looks_other_edits_made():
    first = Look(["x"], [1.0], bias=0.0, min_confidence=0.6)
    candidates = [
        [
            Candidate(Edit(4, 8, "best", "top"), [1.0]),  # 73%: the first look makes it
            Candidate(Edit(9, 19, "ambassador", "diplomat"), [0.0]),  # 50%: not made, but rescored
        ]
    ]
    lm = RecordingLM()
    relook(lm, ["The best ambassador left."], candidates, first)
    assert lm.items == [
        ("The best ambassador left.", Edit(4, 8, "best", "top")),  # its own edit is not context
        ("The top ambassador left.", Edit(8, 18, "ambassador", "diplomat")),
    ]
