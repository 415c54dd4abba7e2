"""The synonym graph: reverse relations, inflection like the spun word, storage, and the batched n-gram reading."""

from __future__ import annotations

import lzma

import numpy as np
import pytest

from restore.graph import SynonymGraph, bigram_indices, relations, trigram_indices, trigram_scores
from restore.phrases import KeyFilter, NgramLM
from tests.conftest import CORPUS

PAIRS = [
    ("begin", "start"),  # the spinner may put "start" (and "started") for "begin"
    ("top", "best"),
    ("visit", "talk over"),
    ("support", "strengthen"),
    ("economic", "financial"),
    ("buffer state", "buffer"),
    ("Paris", "capital"),  # capitalised terms (names) are not plain words: dropped
    ("big", "big"),
]


@pytest.fixture(scope="module")
def graph() -> SynonymGraph:
    return SynonymGraph.build(PAIRS)


def test_a_spun_word_gives_the_words_whose_entries_list_it(graph):
    assert graph.lookup("best") == ["top"]
    assert graph.lookup("financial") == ["economic"]
    assert graph.lookup("top") == []  # one way: "top" was never put for "best"
    assert graph.lookup("capital") == [] and graph.lookup("big") == []


def test_originals_are_inflected_like_the_spun_word(graph):
    assert "began" in graph.originals("started")  # past tense for past tense
    assert "begins" in graph.originals("starts")
    assert "visited" in graph.originals("talked over")  # a multi-word term inflects its first word
    assert "supporting" in graph.originals("strengthening")
    assert graph.originals("started") == graph.originals("started")  # cached, same answer


def test_inflections_read_once_per_word_are_lemminflects_own():
    """``_inflection`` reads a word's inflections once for every tag: it must give what lemminflect's getInflection
    gives, for each tag, alternate tags ("VBD" for a missing "VBN", "RB" for "JJ") and unknown words included."""
    import lemminflect

    from restore.graph import _inflection

    tags = ["NN", "NNS", "VB", "VBD", "VBG", "VBN", "VBP", "VBZ", "JJ", "JJR", "JJS", "RB", "RBR", "RBS", "RP", "MD"]
    for word in ["begin", "visit", "support", "economic", "late", "good", "fast", "data", "zzzq", "talk over", "be"]:
        for tag in [*tags, "NNP", "NNPS"]:
            assert _inflection(word, tag) == lemminflect.getInflection(word, tag, inflect_oov=False), (word, tag)


def test_may_list_is_a_cheap_check_that_never_misses_a_multi_word_term(graph):
    for words in (["talk", "over"], ["talked", "over"], ["talk", "overs"]):
        assert graph.may_list(words)  # "talked over" is read as "talk over"
    assert "visited" in graph.originals("talked over")
    assert not graph.may_list(["big", "dog"]) and not graph.originals("big dog")


def test_each_original_says_how_many_synonyms_its_entry_lists():
    graph = SynonymGraph.build([("top", "finest"), ("good", "finest"), ("good", "fine"), ("good", "nice")])
    # "finest" read as "fine" + superlative gives "good" as "best"; a spinner puts "finest" for "good" 1 time in 3
    assert graph.originals("finest") == {"top": 1, "good": 3, "best": 3}


def test_saved_and_loaded_graphs_agree(graph, tmp_path):
    graph.save(tmp_path / "graph.npz.xz")
    loaded = SynonymGraph.load(tmp_path / "graph.npz.xz")
    assert len(loaded) == len(graph) == 6
    for word in ("started", "best", "talked over", "financial", "buffer"):
        assert loaded.originals(word) == graph.originals(word)


def test_a_file_that_is_not_a_graph_is_one_line_naming_it(tmp_path):
    bad = tmp_path / "graph.npz.xz"
    bad.write_bytes(lzma.compress(b"not an npz"))
    with pytest.raises(ValueError, match="graph.npz.xz: not a synonym graph"):
        SynonymGraph.load(bad)


def test_relations_read_every_family_without_antonyms_or_markers(tmp_path):
    files = {
        "wordnet": "# h\ts\tpos\trel\ntop\t\ta\tbest|upper\nbegin\tstart|commence\tv\t\n",
        "mythes": "# h\ts\tpos\tsense\nbig\tlarge|small (antonym)|size (generic term)\tadj\t1\n",
        "moby": "# h\ts\nvisit\ttalk over|call\n",
    }
    for name, text in files.items():
        (tmp_path / f"{name}.tsv.xz").write_bytes(lzma.compress(text.encode()))
    found = set(relations(tmp_path))
    assert {("top", "best"), ("top", "upper"), ("begin", "commence"), ("big", "size"), ("visit", "talk over")} <= found
    assert ("big", "small (antonym)") not in found and ("big", "small") not in found


def test_the_batched_reading_is_the_n_gram_models_own():
    lm = NgramLM.build(CORPUS.splitlines())
    candidates = ["top", "economic", "the", "unknownword", "diplomat"]
    ids = np.array([lm.ids.get(c, -1) for c in candidates], np.int64)
    contexts = [
        (("washington's", "top"), ("began", "a")),
        (("<s>",), ("diplomat", "began")),
        (("the", "economic"), ("</s>",)),
        (("<s>", "the"), ("support", "</s>")),
    ]
    for left, right in contexts:
        expected = [lm.trigram_score(left, c, right) for c in candidates]
        assert np.allclose(trigram_scores(lm, left, ids, right), expected, rtol=0, atol=1e-9)
    # the neighbours as arrays, one per candidate: each candidate read in its own window in one call
    windows = [contexts[0], contexts[3], contexts[3], contexts[0], contexts[0]]
    left = tuple(np.array([lm.ids.get(x[0][j], -1) for x in windows]) for j in range(2))
    right = tuple(np.array([lm.ids.get(x[1][j], -1) for x in windows]) for j in range(2))
    expected = [lm.trigram_score(*window[:1], c, window[1]) for window, c in zip(windows, candidates)]
    assert np.allclose(trigram_scores(lm, left, ids, right), expected, rtol=0, atol=1e-9)
    # ... or one array entry per word, its candidates following each other (``repeats``): the same readings
    rows = [contexts[0], contexts[3], contexts[0]]
    counts = np.array([2, 2, 1])
    left = tuple(np.array([lm.ids.get(x[0][j], -1) for x in rows]) for j in range(2))
    right = tuple(np.array([lm.ids.get(x[1][j], -1) for x in rows]) for j in range(2))
    windows = [rows[0], rows[0], rows[1], rows[1], rows[2]]
    expected = [lm.trigram_score(window[0], c, window[1]) for window, c in zip(windows, candidates)]
    assert np.allclose(trigram_scores(lm, left, ids, right, counts), expected, rtol=0, atol=1e-9)


def test_a_key_filter_lets_every_key_through_and_stops_nearly_all_others():
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 1 << 40, 100_000))
    others = np.setdiff1d(rng.integers(0, 1 << 40, 100_000), keys)
    maybe = KeyFilter(keys)
    assert maybe(keys).all()
    assert maybe(others).mean() < 0.01  # 100k keys set at most 100k of the 2^26 bits


def test_bigrams_and_trigrams_looked_up_in_bulk_are_found_as_one_at_a_time():
    lm = NgramLM.build(CORPUS.splitlines())
    vocabulary = [*lm.ids, "unknownword"]
    ids = np.array([lm.ids.get(w, -1) for w in vocabulary], np.int64)
    a, b = np.repeat(ids, len(ids)), np.tile(ids, len(ids))
    k = bigram_indices(lm, a, b)
    assert k.tolist() == [lm._bigram(x, y) for x in vocabulary for y in vocabulary]
    assert bigram_indices(lm, ids[:, None], ids[None, :]).ravel().tolist() == k.tolist()  # a grid, as _pairs asks
    assert bigram_indices(lm, ids[3], ids[4]) == k[3 * len(ids) + 4]  # one pair
    t = trigram_indices(lm, np.repeat(k, len(ids)), np.tile(ids, len(k)))
    assert (t >= 0).sum() == len(lm.trigram_keys)  # every trigram kept is found, each once
    found = lm.trigram_keys[t[t >= 0]]
    assert (found == np.repeat(k, len(ids))[t >= 0] * len(lm.ids) + np.tile(ids, len(k))[t >= 0]).all()
