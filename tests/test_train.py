"""scripts/train.py's fitting helpers: what it ships must be what it measured."""

import math

import pytest

from tests.conftest import script


@pytest.fixture(scope="module")
def train():
    yield from script("train")


def test_the_threshold_is_the_best_bleu_within_the_damage_cap(train):
    results = [(0.3, 40.0, (0.006,)), (0.4, 39.0, (0.004,)), (0.5, 39.0, (0.003,)), (0.6, 38.0, (0.001,))]
    assert train.pick_threshold(results, [0.0043]) == 0.4  # 0.3 damages too much; ties: the lower


def test_the_threshold_keeps_every_set_of_clean_text_within_its_own_cap(train):
    # news within 0.3% from 0.4 on, but technical prose only from 0.6 on
    results = [(0.4, 40.0, (0.002, 0.008)), (0.5, 39.0, (0.002, 0.006)), (0.6, 38.0, (0.001, 0.004))]
    assert train.pick_threshold(results, [0.003, 0.0045]) == 0.6


def test_no_threshold_within_the_damage_cap_is_an_error_not_a_look_that_does_nothing(train):
    with pytest.raises(ValueError, match="no threshold keeps clean-text damage under its caps"):
        train.pick_threshold([(0.3, 40.0, (0.006,)), (0.9, 38.0, (0.005,))], [0.0043])


def test_fit_separates_what_it_is_shown(train):
    x = [[float(i), 1.0] for i in range(-10, 11)]
    y = [int(i > 0) for i in range(-10, 11)]
    w, b = train.fit(x, y)
    p = lambda f: 1 / (1 + math.exp(-(b + w[0] * f[0] + w[1] * f[1])))  # noqa: E731
    assert p([5.0, 1.0]) > 0.9 > 0.1 > p([-5.0, 1.0])
    assert p([0.5, 1.0]) == pytest.approx(0.5, abs=0.3)


def test_an_averaged_checkpoint_that_does_not_fit_the_model_is_an_error(train):
    import torch
    from transformers import T5Config, T5ForTokenClassification

    config = T5Config(vocab_size=20, d_model=8, d_kv=4, d_ff=16, num_layers=1, num_decoder_layers=0, num_heads=2,
                      is_encoder_decoder=False, num_labels=3)  # fmt: skip
    model = T5ForTokenClassification(config)
    state = {k: v.clone() for k, v in model.state_dict().items() if k != "transformer.encoder.embed_tokens.weight"}
    train.load_all(model, state)  # the tied embeddings stored once: fine
    del state["classifier.weight"]
    with pytest.raises(ValueError, match="classifier.weight"):
        train.load_all(model, state)
    with pytest.raises(ValueError, match="unexpected"):
        train.load_all(model, {**model.state_dict(), "extra.weight": torch.zeros(1)})


def test_the_first_look_also_learns_the_helpful_swaps_as_a_spinner_we_never_saw_would_present_them(train):
    from restore.features import FEATURES, SECOND_LOOK_FEATURES

    def row(**values):
        out = [0.5] * len(FEATURES)  # every other feature: some reading of the context, the graph, the head
        for name, value in ({"words": 1.0, "in_graph": 1.0, "log_count": 2.0, "from_tagger": 1.0} | values).items():
            out[FEATURES.index(name)] = value
        return out

    helpful = row(log_edit_rate=-1.0, tagger_prob=0.9)
    x = [
        helpful,
        row(),  # wrong: no copy
        row(words=2.0),  # a two-word edit: the graph's one-word relation does not say it is any spinner's
        row(in_graph=0.0),  # a swap the synonym graph does not relate: an unseen spinner's would not be proposed
        row(log_count=0.0, from_tagger=0.0),  # already what an unseen spinner's swap reads
        row(log_count=0.0),  # the tagger's own proposal
    ]
    y = [1, 0, 1, 1, 1, 1]
    copies = train.as_unseen(FEATURES, x, y)
    assert len(copies) == 2
    first = copies[0]
    for name, value in train.UNSEEN_ABSENT.items():
        assert first[FEATURES.index(name)] == value
    assert first[FEATURES.index("log_edit_rate")] == math.log(1e-6)  # the rate of a table n-gram never seen
    kept = [i for i, name in enumerate(FEATURES) if name not in train.UNSEEN_ABSENT]
    assert [first[i] for i in kept] == [helpful[i] for i in kept]
    assert x[0] == helpful  # the candidate itself is fitted on as it is
    assert train.as_unseen(SECOND_LOOK_FEATURES, [[0.0] * len(SECOND_LOOK_FEATURES)], [1]) == []


@pytest.fixture(scope="module")
def train_reader():
    yield from script("train_reader")


def test_the_readers_adapters_as_trained_are_what_the_engine_reads(train_reader, tmp_path):
    """scripts/train_reader.py trains low-rank updates inside the reader; the file it writes must give the model
    folder's reader exactly the trained reader's outputs (same names, same scale), and new adapters change nothing."""
    import torch

    from restore.engine import READER_ADAPTERS_FILE, READER_LAYERS, _reader_model

    reader = _reader_model()
    ids = torch.tensor([[101, 1996, 2350, 2056, 102]])
    plain = reader(input_ids=ids, output_hidden_states=True).hidden_states[max(READER_LAYERS)]
    adapters = train_reader.adapt(reader)
    assert len(adapters) == 6 * max(READER_LAYERS)  # query, key, value, attention output, intermediate, output
    assert torch.equal(reader(input_ids=ids, output_hidden_states=True).hidden_states[max(READER_LAYERS)], plain)
    torch.manual_seed(0)
    for m in adapters.values():
        torch.nn.init.normal_(m.b, std=0.02)
    trained = reader(input_ids=ids, output_hidden_states=True).hidden_states[max(READER_LAYERS)]
    head = torch.nn.Linear(384 * len(READER_LAYERS), 1)
    train_reader.save(adapters, head, 7, tmp_path)
    assert (tmp_path / READER_ADAPTERS_FILE).exists() and (tmp_path / train_reader.TRAINING_HEAD_FILE).exists()
    shipped = _reader_model(tmp_path)(input_ids=ids, output_hidden_states=True).hidden_states[max(READER_LAYERS)]
    assert (trained - plain).abs().max() > 1e-2
    assert torch.allclose(shipped, trained, atol=1e-4)
