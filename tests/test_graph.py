"""The synonym graph: reverse relations, inflection like the spun word, storage, and the batched n-gram reading."""

from __future__ import annotations

import lzma

import numpy as np
import pytest

from restore.graph import SynonymGraph, relations, trigram_scores
from restore.phrases import NgramLM
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
