import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restore.edits import Edit, apply
from restore.restorer import Restorer
from tests.conftest import fake_edit_sentences, hostile_text, line_breaks

SPUN = "Washington’s best diplomat.\n\n\tHe will  sentence the invasion — a 12 months in the past…  \n"


def test_only_edited_spans_change_every_other_byte_is_kept(fake_restorer):
    assert (
        fake_restorer.restore(SPUN)
        == "Washington’s top diplomat.\n\n\tHe will  condemn the invasion — a year in the past…  \n"
    )


def test_explain_gives_character_offsets_into_the_input(fake_restorer):
    edits = fake_restorer.explain("Ünïcödé 😀 best and best")
    assert [(e.start, e.end, e.before, e.after) for e in edits] == [(10, 14, "best", "top"), (19, 23, "best", "top")]
    assert all("Ünïcödé 😀 best and best"[e.start : e.end] == e.before for e in edits)


def test_list_in_list_out_and_empty_text_returns_as_is(fake_restorer):
    assert fake_restorer.restore(["best", "", "  \n ", "no change"]) == ["top", "", "  \n ", "no change"]
    assert fake_restorer.restore("") == ""
    assert fake_restorer.restore([]) == []


def test_edits_below_the_confidence_threshold_are_not_applied(fake_restorer):
    fake_restorer.min_confidence = 0.95  # the fake is 0.9 sure of each edit
    assert fake_restorer.restore(SPUN) == SPUN


def test_tiny_random_model_runs_end_to_end_and_edits_are_real_spans(tiny_model):
    restorer = Restorer(tiny_model)  # at the threshold in its restore.json
    text = "Washington's best diplomat will sentence the invasion.\n\nPrices rose by 3% in March for 12 months."
    edits = restorer.explain(text)
    assert len(edits) >= 2 and ("best", "top") in [(e.before, e.after) for e in edits]
    for e in edits:
        assert isinstance(e, Edit) and text[e.start : e.end] == e.before
    assert restorer.restore(text) == apply(text, edits) != text


def test_a_term_alone_is_judged_by_the_term_look_and_running_text_by_the_first(tiny_model):
    import dataclasses

    restorer = Restorer(tiny_model)
    pipeline, detect = restorer.pipeline, restorer.detect
    trees = dataclasses.replace(detect.word_trees, baseline=0.0)  # every word 0.5 suspicious: all flagged
    restorer.detect = dataclasses.replace(detect, word_trees=trees, threshold=0.4, term_threshold=0.4)
    from restore.features import FEATURES

    weights = [10.0 * (f == "log_edit_rate") for f in FEATURES]  # the phrase table's swaps are made, nothing else
    sure, never = dict(weights=weights, bias=5.0, min_confidence=0.5), dict(min_confidence=1.01)
    term, running = "best diplomat", "Washington's best diplomat flew to the region on Tuesday."
    first, _ = pipeline.first, pipeline.term
    pipeline.first, pipeline.term = dataclasses.replace(first, **never), dataclasses.replace(first, **sure)
    assert restorer.restore([term, running]) == ["top diplomat", running]
    assert [x.suggestion for x in restorer.score(term).spans] == ["top diplomat"]  # the edit restore makes
    assert [x.suggestion for x in restorer.score(running).spans] == [None]
    pipeline.first, pipeline.term = dataclasses.replace(first, **sure), dataclasses.replace(first, **never)
    assert restorer.restore([term, running]) == [term, running.replace("best", "top")]
    assert [x.suggestion for x in restorer.score(term).spans] == [None]
    assert restorer.restore(f"{term}\n\n{term}") == "top diplomat\n\ntop diplomat"  # two pieces: not a term alone
    pipeline.term = None  # a pipeline without a term look (while scripts/train.py fits the looks): the first's
    assert restorer.restore(term) == "top diplomat"


def test_output_does_not_depend_on_batch_size(tiny_model):
    texts = [f"Sentence number {i} is {'very ' * i}long and the minister said so." for i in range(12)]
    restorer = Restorer(tiny_model, min_confidence=0.0)
    outputs = {bs: restorer.explain(texts, batch_size=bs) for bs in (1, 5, 32)}
    spans = {bs: [[(e.start, e.end, e.after) for e in es] for es in out] for bs, out in outputs.items()}
    assert spans[1] == spans[5] == spans[32] and any(spans[1])  # a random model edits something
    scores = {bs: [e.score for es in out for e in es] for bs, out in outputs.items()}
    assert scores[1] == pytest.approx(scores[32], abs=1e-5)


def test_a_text_with_no_edits_comes_back_identical(tiny_model):
    restorer = Restorer(tiny_model, min_confidence=1.01)  # nothing can pass: the model edits nothing
    text = "  Para one — “quoted”.\r\n\r\n\n\tIndented…  trailing  \nÜnï 😀\n"
    assert restorer.restore(text) == text


def test_arbitrary_unicode_never_raises_and_keeps_paragraphs(fake_restorer):
    """Hostile text (lone surrogates included) through everything around the model: the swaps in it are
    made, every line break is kept, and text without a swap comes back identical."""
    seen = Counter()

    @settings(max_examples=200, deadline=None)
    @given(hostile_text())
    def check(text):
        out = fake_restorer.restore(text)
        assert line_breaks(out) == line_breaks(text)
        if not fake_edit_sentences([text])[0]:
            assert out == text
        seen["draws"] += 1
        seen["changed"] += out != text
        seen["surrogate"] += any("\ud800" <= c <= "\udfff" for c in text)

    check()
    assert seen["changed"] >= seen["draws"] // 4 and seen["surrogate"] >= seen["draws"] // 10, seen


def test_a_2000_word_sentence_without_punctuation_comes_back_whole(fake_restorer):
    text = " ".join(["the best of times"] * 500)
    assert fake_restorer.restore(text) == text.replace("best", "top")


@pytest.fixture(scope="module")
def onnx_model(tiny_onnx_model):
    """The tiny model with its ONNX graph."""
    return tiny_onnx_model


def test_onnx_backend_tags_what_transformers_tags(onnx_model):
    from restore.engine import OnnxBackend, TorchBackend
    from restore.tags import encode

    torch_r, onnx_r = Restorer(onnx_model, engine="torch"), Restorer(onnx_model)
    assert isinstance(torch_r.backend, TorchBackend) and isinstance(onnx_r.backend, OnnxBackend)
    sentences = ["The minister said the economic support would continue", "Prices rose by 3% in March", "Ünï 😀"]
    ids, firsts = zip(*encode(torch_r.sp, sentences, 64))
    a = torch_r.backend.tag(list(ids), list(firsts), sentences)
    b = onnx_r.backend.tag(list(ids), list(firsts), sentences)
    assert [labels for labels, *_ in a] == [labels for labels, *_ in b]
    for (_, p1, k1, s1), (_, p2, k2, s2) in zip(a, b):
        assert p1 == pytest.approx(p2, abs=1e-5) and k1 == pytest.approx(k2, abs=1e-5)
        assert s1 == pytest.approx(s2, abs=1e-5) and len(s1) == len(k1)


def _with_weights(model: Path, folder: Path, change) -> Path:
    """A copy of ``model`` whose model.safetensors ``change`` (a function of the weights dict) has edited."""
    import shutil

    from safetensors.numpy import load_file, save_file

    from restore.engine import WEIGHTS_FILE

    shutil.copytree(model, folder)
    weights = load_file(folder / WEIGHTS_FILE)
    change(weights)
    save_file(weights, folder / WEIGHTS_FILE, metadata={"format": "pt"})
    return folder


def test_the_onnx_graph_runs_on_the_weights_in_model_safetensors(onnx_model, tmp_path):
    """One copy of the weights: retrained weights saved over model.safetensors are what ONNX Runtime runs."""
    from restore.tags import encode

    def keep_wins_everywhere(weights: dict) -> None:
        weights["classifier.bias"][0] = 30.0

    folder = _with_weights(onnx_model, tmp_path / "model", keep_wins_everywhere)
    r = Restorer(folder, engine="onnx")
    sentence = "The minister said the economic support would continue"
    ids, firsts = encode(r.sp, [sentence], 64)[0]
    torch_keep = Restorer(folder, engine="torch").backend.tag([ids], [firsts], [sentence])[0][2]
    assert r.backend.tag([ids], [firsts], [sentence])[0][2] == pytest.approx(torch_keep, abs=1e-5)
    assert min(torch_keep) > 0.99


def test_weights_that_do_not_fit_the_graph_are_refused_in_one_line(onnx_model, tmp_path):
    folder = _with_weights(onnx_model, tmp_path / "model", lambda w: w.pop("classifier.weight"))
    with pytest.raises(ValueError, match=r"tagger\.onnx: cannot run it on model\.safetensors") as e:
        Restorer(folder, engine="onnx")
    assert "\n" not in str(e.value)


def test_the_readers_adapters_in_the_model_folder_change_what_both_engines_read(onnx_model, tmp_path):
    """A fine-tuned reader ships as low-rank updates (reader.safetensors, scripts/train_reader.py): ONNX Runtime and
    transformers must both read the updated reader, and an update for a weight the reader lacks is a clear error."""
    import shutil

    import numpy as np
    from safetensors.numpy import save_file

    from restore.engine import READER_ADAPTERS_FILE, _reader_model
    from restore.tags import encode

    folder = tmp_path / "model"
    shutil.copytree(onnx_model, folder)
    rng = np.random.default_rng(0)
    name = "encoder.layer.3.output.dense"
    a, b = rng.normal(size=(4, 1536)).astype(np.float32), rng.normal(size=(384, 4)).astype(np.float32)
    save_file({f"{name}.a": a, f"{name}.b": b}, folder / READER_ADAPTERS_FILE, metadata={"rank": "4", "alpha": "2"})
    sentence = "The minister said the economic support would continue"
    plain = Restorer(onnx_model, engine="onnx")
    ids, firsts = encode(plain.sp, [sentence], 64)[0]
    before = plain.backend.tag([ids], [firsts], [sentence])[0][3]
    after = Restorer(folder, engine="onnx").backend.tag([ids], [firsts], [sentence])[0][3]
    by_torch = Restorer(folder, engine="torch").backend.tag([ids], [firsts], [sentence])[0][3]
    logit = np.log(after) - np.log1p(-np.array(after))  # the tiny head is sure: compare log-odds
    assert logit == pytest.approx(np.log(by_torch) - np.log1p(-np.array(by_torch)), abs=1e-3)
    assert np.abs(logit - (np.log(before) - np.log1p(-np.array(before)))).max() > 0.1
    weight = f"{name}.weight"
    update = _reader_model(folder).get_parameter(weight) - _reader_model().get_parameter(weight)
    assert np.allclose(update.detach().numpy(), 0.5 * b @ a, atol=1e-4)
    wrong = {"encoder.layer.5.output.dense.a": a, "encoder.layer.5.output.dense.b": b}  # a 6-layer reader's
    save_file(wrong, folder / READER_ADAPTERS_FILE, metadata={"rank": "4", "alpha": "2"})
    for engine in ("onnx", "torch"):
        with pytest.raises(ValueError, match=r"reader\.safetensors: updates weights the reader lacks") as e:
            Restorer(folder, engine=engine)
        assert "\n" not in str(e.value)
    save_file(wrong, folder / READER_ADAPTERS_FILE)  # no scale: a file of something else
    with pytest.raises(ValueError, match=r"reader\.safetensors: not reader adapters"):
        Restorer(folder, engine="onnx")


def test_each_word_gets_its_likeliest_change_and_the_probability_of_keep(tiny_model):
    """What the graph returns per word, against the definition on the plain model's logits: the best
    label other than KEEP (whether or not KEEP wins), its probability, P(KEEP), and P(spun) by the spun-word head
    on the encoder's reading of the word's first token beside the reader's layers 2 and 4 at its first piece."""
    import torch

    from restore.engine import READER_LAYERS, reader_tokenizer
    from restore.tags import encode

    r = Restorer(tiny_model, engine="torch")
    model = r.backend.tagger.model
    sentence = "The minister said the economic support would continue in 2024"
    ids, firsts = encode(r.sp, [sentence], 64)[0]
    pieces = reader_tokenizer().encode(sentence)  # the whole sentence at once: [CLS] the minister ... [SEP]
    word_starts = [m.start() for m in re.finditer(r"\S+", sentence)]
    first_pieces = [[s for s, _ in pieces.offsets].index(start) for start in word_starts]
    assert READER_LAYERS == (2, 4) and len(first_pieces) == len(firsts)
    with torch.no_grad():
        read = r.backend.tagger.reader(input_ids=torch.tensor([pieces.ids]), output_hidden_states=True)
        reader_part = torch.cat([read.hidden_states[2][0, first_pieces], read.hidden_states[4][0, first_pieces]], -1)
    for keep_bias in (20.0, -20.0):  # KEEP the likeliest label of every word, then of none
        with torch.no_grad():
            model.classifier.bias[0] = keep_bias
            probs = model(input_ids=torch.tensor([ids])).logits[0, firsts].softmax(-1)
            hidden = model.transformer(input_ids=torch.tensor([ids])).last_hidden_state[0, firsts]
        hidden = torch.cat([hidden, reader_part], -1).double()
        head = r.backend.head
        w1, b1, w2, b2 = (torch.from_numpy(a) for a in (head.w1, head.b1, head.w2, head.b2))
        spun = torch.sigmoid(torch.relu(hidden @ w1 + b1) @ w2 + b2)
        labels, best, keep, spun_probs = r.backend.tag([ids], [firsts], [sentence])[0]
        assert spun_probs == pytest.approx(spun.tolist(), abs=1e-6) and 0 < min(spun_probs) < max(spun_probs) < 1
        assert (probs.argmax(-1) == 0).all() == (keep_bias > 0)
        assert labels == (probs[:, 1:].argmax(-1) + 1).tolist()
        assert best == pytest.approx(probs[:, 1:].max(-1).values.tolist(), abs=1e-6)
        assert keep == pytest.approx(probs[:, 0].tolist(), abs=1e-6)


def test_the_reader_reads_each_word_at_its_first_piece_and_long_sentences_at_cls():
    """The reader's tokenizer splits words its own way ("Washington's" is three pieces, a lone combining mark none):
    the head must read each of restore's words at that word's first piece, in order, and a sentence longer than
    the reader's 512 positions must not overflow them."""
    from restore.edits import words
    from restore.engine import READER_PIECES, reader_inputs, reader_tokenizer

    tokenizer = reader_tokenizer()
    text = "Washington's best diplomat \u0301 visited Ünï 😀"
    long = "economic " * 600
    counts = [len(words(text)), len(words(long)), 1]
    ids, mask, cols = reader_inputs(tokenizer, [text, long, "a"], counts)
    assert ids.shape == (3, READER_PIECES + 2) and mask.sum(1).tolist() == [12, READER_PIECES + 2, 3]
    mine = cols[: counts[0]].tolist()
    firsts = [tokenizer.encode(text[s:e], add_special_tokens=False).ids[:1] or [100] for s, e in words(text)]
    assert [ids[0, c] for c in mine] == [f[0] for f in firsts] and mine == sorted(set(mine))  # [100]: [UNK]
    theirs = cols[counts[0] : counts[0] + counts[1]].tolist()
    assert theirs[:READER_PIECES] == list(range(1, READER_PIECES + 1)) and set(theirs[READER_PIECES:]) == {0}
    assert cols[-1] == 1 and len(cols) == sum(counts)


def test_onnx_tags_do_not_depend_on_the_batch(onnx_model):
    """A dynamic int8 copy once scaled activations per batch: a sentence's tags changed with its batch-mates."""
    from restore.engine import tag_sentences

    sentences = [f"The minister said {'very ' * i}much about the economic support in {1990 + i}." for i in range(40)]
    r = Restorer(onnx_model, engine="onnx")
    one, many = tag_sentences(r.backend, r.sp, sentences, 1), tag_sentences(r.backend, r.sp, sentences, 32)
    assert one == many


def test_tags_from_the_threads_are_those_of_one_thread_in_order_and_nothing_is_left_running(onnx_model):
    """tag_chunks tags the batches of later chunks in threads while the caller works on earlier ones."""
    import threading

    from restore import engine

    sentences = [f"The minister said {'very ' * (i % 7)}much about support in {1990 + i}." for i in range(58)]
    sentences[5] = sentences[30] = ""  # nothing to tag
    one, two = Restorer(onnx_model, threads=1), Restorer(onnx_model, threads=2)
    assert (one.backend.workers, two.backend.workers) == (1, 2)
    expected = engine.tag_sentences(one.backend, one.sp, sentences, 4)  # one thread, one batch at a time
    chunks = list(engine.tag_chunks(two.backend, two.sp, sentences, 4, chunk=16))
    assert [c for c, _ in chunks] == [0, 16, 32, 48] and [len(tags) for _, tags in chunks] == [16, 16, 16, 10]
    chunks = list(engine.tag_chunks(two.backend, two.sp, sentences, 4))  # chunks of 16, then 32, ... up to CHUNK
    assert [c for c, _ in chunks] == [0, 16, 48] and [t for _, tags in chunks for t in tags] == expected
    assert [t for _, tags in chunks for t in tags] == expected
    before = threading.active_count()
    for _ in engine.tag_chunks(two.backend, two.sp, sentences * 10, 4, chunk=16):
        break  # a caller that stops early: the batches not started are dropped, the pool is gone
    assert threading.active_count() == before
    assert two.restore(sentences) == one.restore(sentences)
    assert [r.score for r in two.score(sentences)] == [r.score for r in one.score(sentences)]


def test_the_spun_head_runs_blas_on_one_thread_and_leaves_the_process_as_it_was():
    """BLAS threads that the head's matrix product woke went on spinning through the next tagger run: tagging
    took 4.4 s instead of 3.4 s for 600 sentences on 2 cores. The head limits BLAS to one thread while it runs."""
    import numpy as np
    from threadpoolctl import threadpool_info

    from restore.engine import SpunHead

    rng = np.random.default_rng(0)
    head = SpunHead(
        {"w1": rng.normal(size=(256, 64)), "b1": rng.normal(size=64), "w2": rng.normal(size=64), "b2": np.array(0.1)}
    )
    seen = []
    real = head._blas.limit

    def watched(**kwargs):
        limiter = real(**kwargs)
        seen.append([lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"])
        return limiter

    before = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    head._blas.limit = watched
    hidden = rng.normal(size=(700, 256)).astype(np.float32)
    probs = head(hidden)
    assert seen and all(n == 1 for n in seen[0])  # one BLAS thread during the product
    assert [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"] == before
    assert probs[:7] == head(hidden[:7])  # a word's P(spun) does not depend on its batch


def test_the_onnx_engine_never_loads_torch(onnx_model):
    """torch alone costs ~300 MB of memory and seconds of start-up: the fast path must not import it."""
    import subprocess
    import sys

    code = f"import sys; from restore.restorer import Restorer; Restorer({str(onnx_model)!r}).restore('best'); "
    code += "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_without_a_converted_copy_the_torch_engine_is_used(tiny_model):
    from restore.engine import TorchBackend

    assert isinstance(Restorer(tiny_model).backend, TorchBackend)


def test_wrong_types_get_a_clear_error(fake_restorer):
    import pytest

    with pytest.raises(TypeError, match="item 1 is int"):
        fake_restorer.restore(["fine", 3])


@pytest.mark.parametrize("surrogate", [False, True])
def test_arbitrary_unicode_through_the_real_engine_never_raises(tiny_restorer, surrogate):
    """Hostile text through the tiny model's tagger: with nothing allowed to pass it comes back identical;
    with everything allowed, the random model's junk edits are real spans and every line break survives."""
    text = hostile_text(surrogates=False, max_pieces=6)
    if surrogate:  # every draw holds one
        text = st.tuples(text, st.characters(categories=["Cs"]), text).map("".join)
    seen = Counter()

    @settings(max_examples=60, deadline=None)
    @given(text)
    def check(text):
        tiny_restorer.min_confidence = 1.01  # nothing can pass: the text must come back identical
        assert tiny_restorer.restore(text) == text
        tiny_restorer.min_confidence = 0.0  # a random model proposes junk; whatever it applies, lines survive
        edits = tiny_restorer.explain(text)
        assert all(text[e.start : e.end] == e.before for e in edits)
        out = apply(text, edits)
        assert tiny_restorer.restore(text) == out and line_breaks(out) == line_breaks(text)
        seen["draws"] += 1
        seen["changed"] += out != text

    check()
    assert seen["changed"] >= seen["draws"] // 2, seen
