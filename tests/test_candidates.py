"""The phrase table, the n-gram model and the choice of edits: counts and context decide, nothing else."""

import math

import pytest

from restore.edits import Edit, diff, words
from restore.features import FEATURES, Candidate, in_context, reread
from restore.features import propose as propose_all
from restore.looks import Look
from restore.phrases import NgramLM, PhraseTable
from restore_eval.targets import helps

PAIRS = [
    ("Washington's best diplomat arrived.", "Washington's top diplomat arrived."),
    ("Best diplomat in town.", "Top diplomat in town."),
    ("The best food is here.", "The best food is here."),
    ("He will sentence the invasion.", "He will condemn the invasion."),
    ("They sentence the attack.", "They condemn the attack."),
]
CLEAN = [o for _, o in PAIRS] * 3


def propose(text: str, tags, *args) -> list[Candidate]:
    """One sentence's candidates."""
    (found,) = propose_all([text], [tags], *args)
    return found


def test_phrase_table_counts_edits_and_occurrences_sentence_initial_case_folded(tmp_path):
    table = PhraseTable.build(PAIRS)
    assert table.lookup("best") == (3, [("top", 2)])  # seen 3 times, twice an edit ("Best" folded in)
    assert table.lookup("Best", sentence_start=True) == (3, [("Top", 2)])
    assert table.lookup("Best") is None  # mid-sentence a capital marks a name
    table.save(tmp_path / "p.tsv.xz")
    assert PhraseTable.load(tmp_path / "p.tsv.xz").entries == table.entries


def test_ngram_model_prefers_the_clean_wording_in_context():
    lm = NgramLM.build(CLEAN)
    assert lm.score("washington's", "top", "diplomat") > lm.score("washington's", "best", "diplomat")


def test_trigram_model_sees_two_words_back_where_the_bigrams_cannot_tell():
    lm = NgramLM.build(["The central bank raised rates.", "The river bank lifted rates."] * 2)
    # "bank raised rates" and "bank lifted rates": the same bigram counts; "central bank" tells them apart
    assert lm.score("bank", "raised", "rates") == lm.score("bank", "lifted", "rates")
    central = ("central", "bank"), ("rates", ".")
    assert lm.trigram_score(central[0], "raised", central[1]) > lm.trigram_score(central[0], "lifted", central[1])
    assert lm.trigram_logprob("central", "bank", "raised") == math.log(2 / 2)
    assert lm.trigram_logprob("central", "bank", "lifted") == math.log(0.4) + lm.logprob("bank", "lifted")
    start = lm.trigram_score(("<s>",), "The central", ("bank",))  # at a sentence start: the bigram, then trigrams
    assert start == lm.logprob("<s>", "the") + sum(
        lm.trigram_logprob(*w) for w in [("<s>", "the", "central"), ("the", "central", "bank")]
    )


def test_ngram_model_keeps_every_bigram_and_repeated_trigrams_through_save_and_load(tmp_path):
    lm = NgramLM.build([o for _, o in PAIRS] + ["Zürich’s café opened.", "Zürich’s café opened."])
    assert lm.logprob("the", "attack") == math.log(1 / 3)  # seen once: kept ("the" 3 times)
    assert lm.logprob("zürich’s", "café") == math.log(2 / 2)
    assert lm.logprob("attack", "the") == math.log(0.4 * 3.5 / lm.total)  # never seen: backs off to "the"
    assert lm.logprob("unheard", "of") == math.log(0.4 * 0.5 / lm.total)
    assert lm.trigram_logprob("zürich’s", "café", "opened") == math.log(2 / 2)  # seen twice: kept
    assert lm.trigram_logprob("the", "attack", ".") == math.log(0.4) + lm.logprob("attack", ".")  # once: not
    lm.save(tmp_path / "n.npz.xz")
    again = NgramLM.load(tmp_path / "n.npz.xz")
    assert len(again) == len(lm) == 30 and again.unigrams == lm.unigrams and len(again.trigram_keys) == 4
    vocabulary = list(lm.unigrams)
    assert [again.logprob(a, b) for a in vocabulary for b in vocabulary] == [
        lm.logprob(a, b) for a in vocabulary for b in vocabulary
    ]
    assert [again.trigram_logprob(a, b, c) for a in vocabulary for b in vocabulary for c in vocabulary] == [
        lm.trigram_logprob(a, b, c) for a in vocabulary for b in vocabulary for c in vocabulary
    ]


def test_candidates_come_from_the_table_with_one_feature_each():
    text = "Washington's best diplomat arrived."
    keep = [1.0, 0.1, 1.0, 1.0]
    found = propose(
        text,
        ([0] * 4, [0.0] * 4, keep, [0.0] * 4),
        ["<keep>", "<delete>"],
        PhraseTable.build(PAIRS),
        NgramLM.build(CLEAN),
    )
    assert [(c.edit.start, c.edit.end, c.edit.after) for c in found] == [(13, 17, "top")]
    assert len(found[0].features) == len(FEATURES) and found[0].features[0] > 0  # the context likes "top"


def test_the_trigram_gain_reads_two_words_either_side_and_the_sentence_edges():
    pairs = PAIRS + [("They saw the best", "They saw the top")] * 2
    table, lm = PhraseTable.build(pairs), NgramLM.build(CLEAN)
    gain = FEATURES.index("trigram_gain")
    for text, left, right in [
        ("Washington's best diplomat arrived.", ("<s>", "washington's"), ("diplomat", "arrived")),
        ("Best diplomat in town.", ("<s>",), ("diplomat", "in")),
        ("They saw the best.", ("saw", "the"), (".", "</s>")),  # punctuation is a word
        ("They saw the best", ("saw", "the"), ("</s>",)),
    ]:
        n = len(words(text))
        (found,) = propose(text, ([0] * n, [0.0] * n, [1.0] * n, [0.0] * n), [], table, lm)
        expected = lm.trigram_score(left, found.edit.after, right) - lm.trigram_score(left, found.edit.before, right)
        assert found.features[gain] == expected != 0, text


def test_candidates_are_reread_with_the_other_edits_of_the_first_pass_made():
    lm = NgramLM.build(CLEAN)
    text = "Washington's best ambassador arrived in the city on a Monday."
    top, good = Edit(13, 17, "best", "top"), Edit(13, 17, "best", "good")
    diplomat, day = Edit(18, 28, "ambassador", "diplomat"), Edit(54, 60, "Monday", "day")
    raw = [Candidate(e, [0.5] * len(FEATURES)) for e in (top, good, diplomat, day)]
    (again,) = reread([text], [raw], [[top, diplomat]], lm)  # the first pass made "top" and "diplomat"
    by_edit = {c.edit: dict(zip(FEATURES, c.features)) for c in again}
    for edit in (top, good):  # "best" reads between "washington's" and "diplomat" now, "ambassador" never
        left, right = ("<s>", "washington's"), ("diplomat", "arrived")
        assert by_edit[edit]["context_gain"] == lm.score(left[-1], edit.after, right[0]) - lm.score(
            left[-1], "best", right[0]
        )
        assert by_edit[edit]["trigram_gain"] == lm.trigram_score(left, edit.after, right) - lm.trigram_score(
            left, "best", right
        )
        assert by_edit[edit]["log_edit_rate"] == 0.5  # what the context does not touch stays
    left, right = ("washington's", "top"), ("arrived", "in")  # "diplomat" is read after "top", not itself
    assert by_edit[diplomat]["trigram_gain"] == lm.trigram_score(left, "diplomat", right) - lm.trigram_score(
        left, "ambassador", right
    )
    assert by_edit[day]["trigram_gain"] == 0.5  # nothing made within two words: not read again
    assert reread([text], [raw], [[]], lm) == [raw]
    joined = [Candidate(Edit(2, 3, "b", "c"), [0.5] * len(FEATURES))]  # "a-b" is one word: read as it was
    assert reread(["a,b"], [joined], [[Edit(1, 2, ",", "-")]], lm) == [joined]


def test_an_edit_in_context_moves_with_the_edits_made_before_it():
    text = "one two three four five six"
    context = [Edit(0, 3, "one", "1"), Edit(4, 13, "two three", ""), Edit(19, 23, "five", "five and a half")]
    for edit in (Edit(14, 18, "four", "4"), Edit(24, 27, "six", "6"), Edit(8, 18, "three four", "x")):
        moved_text, moved = in_context(text, edit, context)
        assert moved_text[moved.start : moved.end] == edit.before, edit
    overlapping = in_context(text, Edit(8, 18, "three four", "x"), context)  # "two three" is not made
    assert overlapping[0] == "1 two three four five and a half six"
    assert in_context(text, Edit(14, 18, "four", "4"), context)[0] == "1  four five and a half six"


def test_choose_keeps_the_likeliest_of_overlapping_edits_and_drops_unlikely_ones():
    look = Look(["x"], [1.0], bias=0.0, min_confidence=0.5)
    candidates = [
        Candidate(Edit(0, 10, "a b", "x"), [2.0]),
        Candidate(Edit(4, 8, "b", "y"), [3.0]),  # overlaps the first, more likely
        Candidate(Edit(12, 14, "c", "z"), [-3.0]),  # too unlikely
    ]
    chosen = look.choose(candidates)
    assert [(e.after, round(e.score, 3)) for e in chosen] == [("y", round(1 / (1 + math.exp(-3.0)), 3))]


def test_a_periphrasis_and_a_deletion_are_candidates_with_finite_features():
    pairs = [("It was made by means of hand.", "It was made by hand."), ("He said so, all right.", "He said so.")] * 2
    table, lm = PhraseTable.build(pairs), NgramLM.build([o for _, o in pairs])
    text = "It was made by means of hand and so, all right."
    found = {
        (c.edit.before, c.edit.after): c.features
        for c in propose(text, ([0] * 12, [0.0] * 12, [1.0] * 12, [0.0] * 12), [], table, lm)
    }
    assert ("by means of", "by") in found
    assert all(abs(f) < 1e3 for fs in found.values() for f in fs)


def test_a_number_word_put_back_at_a_sentence_start_is_capitalised():
    pairs = [("He saw 2 cats.", "He saw two cats."), ("2 cats sat.", "Two cats sat.")] * 2
    found = propose(
        "2 dogs barked.", ([0] * 3, [0.0] * 3, [1.0] * 3, [0.0] * 3), [], PhraseTable.build(pairs), NgramLM.build(CLEAN)
    )
    assert {c.edit.after for c in found} == {"Two"}


def test_a_candidate_helps_when_it_brings_the_sentence_closer_to_the_original():
    spun = "a debate on arm jurisprudence that stalled"
    gold = diff(spun, "a debate on gun laws that stalled")
    assert [(g.before, g.after) for g in gold] == [("arm jurisprudence", "gun laws")]
    assert helps(spun, gold, Edit(12, 15, "arm", "gun"))  # half of the gold edit is still right
    assert helps(spun, gold, Edit(12, 29, "arm jurisprudence", "gun laws"))
    assert not helps(spun, gold, Edit(12, 15, "arm", "weapon"))  # the wrong synonym
    assert not helps(spun, gold, Edit(2, 8, "debate", "discussion"))  # a word the original has


def test_digits_inside_a_larger_number_are_never_candidates():
    pairs = [("He saw 5 cats.", "He saw five cats."), ("It came following 5 pm.", "It came after five pm.")] * 2
    table, lm = PhraseTable.build(pairs), NgramLM.build(CLEAN)
    for text in (
        "It passed following 5:30 in the morning.",  # the n-gram "following 5" would cut "5:30"
        "It cost 5,000 dollars.",
        "It rose 2.5 points.",
        "Then 12/5 came.",
    ):
        n = len(words(text))
        assert propose(text, ([0] * n, [0.0] * n, [1.0] * n, [0.0] * n), [], table, lm) == [], text
    found = propose("It passed following 5 in the morning.", ([0] * 8, [0.0] * 8, [1.0] * 8, [0.0] * 8), [], table, lm)
    assert {(c.edit.before, c.edit.after) for c in found} == {("following 5", "after five"), ("5", "five")}


def test_a_candidate_among_spun_looking_words_has_a_higher_density_than_in_clean_looking_text():
    pairs = [("Washington's best diplomat spoke.", "Washington's top diplomat spoke.")] * 2
    table, lm = PhraseTable.build(pairs), NgramLM.build(CLEAN)
    text = "Washington's best diplomat spoke today."
    density = FEATURES.index("log_density")
    (calm,) = propose(text, ([0] * 6, [0.0] * 6, [1.0] * 6, [0.0] * 6), [], table, lm)
    (busy,) = propose(text, ([0] * 6, [0.0] * 6, [1.0, 0.9, 0.2, 0.3, 1.0, 1.0], [0.0] * 6), [], table, lm)
    assert busy.features[density] > calm.features[density]
    assert calm.features[density] == pytest.approx(math.log(0.01))  # nothing else looks spun


def test_a_word_the_spun_head_suspects_gets_the_graphs_originals_that_read_best_with_their_standing():
    """Any thesaurus relation is a candidate, not only the swaps our spinner made: "finest" was never in the
    phrase table, but the graph lists it under "top", "best" and "good", and "top" reads best there."""
    from restore.graph import SynonymGraph

    relations = [("top", "finest"), ("best", "finest"), ("good", "finest"), ("arrive", "land"), ("capital", "paris")]
    graph = SynonymGraph.build(relations)
    lm = NgramLM.build(CLEAN + ["The good food is here.", "The capital is here."])
    table = PhraseTable.build([])
    text, n = "Washington's finest diplomat landed. Paris", 7
    suspected = ([0] * n, [0.0] * n, [1.0] * n, [0.0, 0.9, 0.0, 0.9, 0.0, 0.0, 0.9])
    found = {(c.edit.before, c.edit.after): c.features for c in propose(text, suspected, [], table, lm, graph)}
    assert set(found) == {("finest", "top"), ("finest", "best"), ("landed", "arrived")}  # the top 2; not a name
    in_graph, margin, rivals = (FEATURES.index(f) for f in ("in_graph", "graph_margin", "log_rivals"))
    top, best = found["finest", "top"], found["finest", "best"]
    assert top[in_graph] == best[in_graph] == 1.0 and top[rivals] == pytest.approx(math.log(4))
    assert top[margin] == -best[margin] > 0  # "top" leads the runner-up by what "best" trails it
    assert top[FEATURES.index("log_synonyms")] == pytest.approx(math.log(2))  # its entry lists one synonym
    assert found["landed", "arrived"][margin] == 0.0  # no rival
    calm = ([0] * n, [0.0] * n, [1.0] * n, [0.0] * n)
    assert propose(text, calm, [], table, lm, graph) == []  # words nothing suspects get none


def test_a_multi_word_entry_holding_a_suspected_word_gets_the_graphs_one_word_originals():
    """Broad thesauri list phrases: a spinner puts "talk over with" for "visit" or "held in restraint" for "kept". The
    phrase table never saw them; the graph's entries give the one-word originals, read in the n-gram's place."""
    from restore.graph import SynonymGraph

    relations = [("visit", "talk over with"), ("discuss", "talk over with"), ("meet", "talk over with")]
    relations += [("kept", "held in restraint"), ("say", "talk"), ("talk", "talk over with")]
    graph = SynonymGraph.build(relations)
    lm = NgramLM.build(
        CLEAN + ["She will visit Paris.", "He will visit Paris.", "He will meet Paris.", "We discuss it.", "We talk."]
    )
    text, n = "She will talk over with Paris.", 7
    suspected = ([0] * n, [0.0] * n, [1.0] * n, [0.0, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0])  # only "over"
    found = {
        (c.edit.before, c.edit.after): c.features
        for c in propose(text, suspected, [], PhraseTable.build([]), lm, graph)
    }
    assert {("talk over with", "visit"), ("talk over with", "meet")} <= set(found)  # the GRAPH_TOP best read
    assert ("talk over with", "discuss") not in found
    visit = found["talk over with", "visit"]
    assert visit[FEATURES.index("words")] == 3.0 and visit[FEATURES.index("in_graph")] == 1.0
    # three originals: "talk", a word of the n-gram itself, is none ("wooden legs" is a compound, not "legs" spun)
    assert visit[FEATURES.index("log_rivals")] == pytest.approx(math.log(1 + 3))
    assert visit[FEATURES.index("graph_margin")] > 0  # "visit" reads best there
    calm = ([0] * n, [0.0] * n, [1.0] * n, [0.0] * n)
    assert propose(text, calm, [], PhraseTable.build([]), lm, graph) == []  # no suspected word, no n-gram read
    seen = ["She will visit Paris.", "He will meet Paris.", "We talk over with friends.", "They talk over with us."]
    used = NgramLM.build(CLEAN + seen * 2)  # a phrase clean text uses
    assert not [c for c in propose(text, suspected, [], PhraseTable.build([]), used, graph) if " " in c.edit.before]
    headword = SynonymGraph.build([*relations, ("talk over with", "confer")])  # an entry of its own: a term
    assert not [c for c in propose(text, suspected, [], PhraseTable.build([]), lm, headword) if " " in c.edit.before]
    apart = "She will talk over, with Paris."  # words apart other than by a space are no term
    assert not [
        c
        for c in propose(
            apart,
            ([0] * 8, [0.0] * 8, [1.0] * 8, [0.0, 0.0, 0.0, 0.9] + [0.0] * 4),
            [],
            PhraseTable.build([]),
            lm,
            graph,
        )
        if c.edit.before.count(" ") > 1
    ]


def test_of_originals_that_read_alike_the_one_whose_entry_lists_fewer_synonyms_leads():
    """A spinner drawing from an entry of n synonyms puts a given one for the original 1 time in n: "top" (one
    synonym) is likelier behind "finest" than "good" (nine) or "great" (twenty), the n-grams being equal."""
    from restore.graph import SynonymGraph

    relations = [("top", "finest"), ("good", "finest"), ("great", "finest")]
    relations += [("good", f"g{c}") for c in "abcdefgh"] + [("great", f"h{c}") for c in "abcdefghijklmnopqrs"]
    graph = SynonymGraph.build(relations)
    lm = NgramLM.build(["the top one", "the good one", "the great one"] * 3)
    text, n = "the finest one", 3
    suspected = ([0] * n, [0.0] * n, [1.0] * n, [0.0, 0.9, 0.0])
    found = {c.edit.after: c.features for c in propose(text, suspected, [], PhraseTable.build([]), lm, graph)}
    assert set(found) == {"top", "good"}  # the two best channel scores
    margin = FEATURES.index("graph_margin")
    assert found["top"][margin] == pytest.approx(math.log(9)) == -found["good"][margin]


def test_sentences_proposed_together_get_what_each_gets_alone():
    from restore.graph import SynonymGraph

    relations = [("top", "finest"), ("best", "finest"), ("good", "finest"), ("arrive", "land")]
    graph = SynonymGraph.build([*relations, ("visit", "talk over with"), ("meet", "talk over with")])
    lm = NgramLM.build(CLEAN + ["The good food is here.", "She will visit Paris.", "He will meet Paris."])
    table = PhraseTable.build(PAIRS)
    texts = ["Washington's finest diplomat landed.", "The best food landed here.", "Washington's best diplomat."]
    texts.append("She will talk over with Paris.")  # a multi-word entry, read with the others' one-word originals
    tagged = [
        ([0] * 5, [0.0] * 5, [1.0, 0.1, 1.0, 1.0, 1.0], [0.0, 0.9, 0.0, 0.9, 0.0]),
        ([0] * 6, [0.0] * 6, [1.0] * 6, [0.0, 0.5, 0.0, 0.9, 0.0, 0.0]),
        ([0] * 4, [0.0] * 4, [1.0, 0.1, 1.0, 1.0], [0.0] * 4),
        ([0] * 7, [0.0] * 7, [1.0] * 7, [0.0, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0]),
    ]
    together = propose_all(texts, tagged, [], table, lm, graph)
    assert together == [propose(t, tags, [], table, lm, graph) for t, tags in zip(texts, tagged)]
    assert all(together) and any(c.edit.before == "talk over with" for c in together[3])


def test_a_term_spun_word_by_word_gets_the_pair_of_originals_science_saw_together():
    """ "counterfeit consciousness" is "artificial intelligence" spun a word at a time: no single original reads
    well beside the other spun word, but the pair of originals is a term the scientific prose knows."""
    from restore.graph import SynonymGraph

    graph = SynonymGraph.build(
        [
            ("artificial", "counterfeit"),
            ("fake", "counterfeit"),
            ("intelligence", "consciousness"),
            ("mind", "consciousness"),
        ]
    )
    news = NgramLM.build(["The fake watch and the mind game.", "An artificial lake.", "Intelligence agencies."] * 3)
    science = NgramLM.build(["Artificial intelligence learns from data.", "The artificial intelligence of agents."])
    text, n = "We study counterfeit consciousness here.", 5
    tags = ([0] * n, [0.0] * n, [1.0] * n, [0.0, 0.0, 0.9, 0.0, 0.0])  # only "counterfeit" is suspected
    table = PhraseTable.build([])
    found = {c.edit.after: c.features for c in propose(text, tags, [], table, news, graph, science)}
    pair = found["artificial intelligence"]
    assert pair[FEATURES.index("word_by_word")] == 1.0 and pair[FEATURES.index("words")] == 2.0
    assert pair[FEATURES.index("science_gain")] > 0  # science reads the term far better than the spun words
    assert pair[FEATURES.index("pair_seen")] == pytest.approx(math.log(1 + 2))  # seen together twice, in science
    assert pair[FEATURES.index("pair_spun")] == pytest.approx(math.log(1e-6))  # "consciousness" is not flagged
    for after, f in found.items():
        if " " not in after:
            assert f[FEATURES.index("word_by_word")] == f[FEATURES.index("pair_seen")] == 0.0
            assert f[FEATURES.index("pair_spun")] == 0.0
    without = {c.edit.after for c in propose(text, tags, [], table, news, graph)}
    assert "artificial intelligence" not in without  # news never saw the pair together


def test_the_pairs_of_many_sentences_counted_in_blocks_are_those_counted_one_at_a_time(monkeypatch):
    """_pairs counts the pairs of originals of PAIR_BLOCK neighbouring words at a time, across sentences: however the
    blocks fall, every sentence must get the same candidates with the same features."""
    from restore import features
    from restore.graph import SynonymGraph

    graph = SynonymGraph.build(
        [("artificial", "counterfeit"), ("fake", "counterfeit"), ("intelligence", "consciousness")]
        + [("mind", "consciousness"), ("big", "large"), ("data", "information"), ("large", "big")]
    )
    news = NgramLM.build(["Big data and artificial intelligence.", "The fake mind of big data."] * 3)
    science = NgramLM.build(["Artificial intelligence learns from big data.", "Large data sets."] * 2)
    texts = ["We study counterfeit consciousness here.", "It is large information.", "No spin at all."] * 3
    tagged = [([0] * 5, [0.0] * 5, [1.0] * 5, [0.0, 0.0, 0.9, 0.9, 0.0])] * len(texts)

    def proposed() -> list:
        found = features.propose(texts, tagged, [], PhraseTable.build([]), news, graph, science)
        return [[(c.edit, c.features) for c in cs] for cs in found]

    whole = proposed()
    assert any(e.after == "artificial intelligence" for e, _ in whole[3]) and any(" " in e.after for e, _ in whole[4])
    for block in (1, 2, 5):
        monkeypatch.setattr(features, "PAIR_BLOCK", block)
        assert proposed() == whole


def test_science_gain_tells_a_technical_term_from_a_spun_word():
    """News reads "This will accepts" no worse than "This module accepts"; scientific prose knows the module."""
    from restore.graph import SynonymGraph

    graph = SynonymGraph.build([("will", "module")])
    news = NgramLM.build(["This will accept it.", "This will help."] * 3)
    science = NgramLM.build(["This module accepts a list.", "The module accepts arrays."] * 3)
    text, n = "This module accepts a list.", 5
    tags = ([0] * n, [0.0] * n, [1.0] * n, [0.0, 0.9, 0.0, 0.0, 0.0])
    (found,) = propose(text, tags, [], PhraseTable.build([]), news, graph, science)
    assert found.edit.after == "will" and found.features[FEATURES.index("science_gain")] < -3


def test_pair_counts_give_each_pair_its_count_whatever_the_order_of_the_words_and_unknown_ones():
    """The pairs of neighbouring words of several sentences are counted together: each grid must get its own counts
    back."""
    import numpy as np

    from restore.features import _associated, _pair_counts

    lm = NgramLM.build(["artificial intelligence is artificial light", "natural intelligence and natural light"] * 2)
    a, b = ["natural", "zzz", "artificial", "light"], ["light", "intelligence", "zzz", "and"]
    grids = [(a, b), (b[:1], a), (a[2:], b[1:2]), (["and"], [])]  # counted together, each its own shape
    ids = [tuple(np.array([lm.ids.get(w, -1) for w in ws], np.int64) for ws in grid) for grid in grids]
    counted = _pair_counts(lm, ids)
    assert [c.tolist() for c in counted] == [[[lm.count(x, y) for y in ys] for x in xs] for xs, ys in grids]
    seen = counted[0]
    assert seen[2, 1] == 2 and seen[0, 3] == 0 and seen[1].tolist() == [0, 0, 0, 0]  # "zzz" is unknown
    ones = np.ones(4)
    # seen at least twice, best first; ties in row-major order
    assert _associated(seen, ones, ones, np.zeros(4), np.zeros(4), 9) == [(0, 0), (0, 1), (2, 0), (2, 1)]
    assert _associated(seen, ones, ones, np.zeros(4), np.zeros(4), 3) == [(0, 0), (0, 1), (2, 0)]


def test_context_features_read_together_are_those_read_one_at_a_time():
    """_contexts reads every candidate's window in one go: each number must be what lm.score, lm.trigram_score and
    lm.logprob give for it alone, deletions, unknown words, phrases and sentence ends included."""
    import random

    from restore.features import _contexts

    news = NgramLM.build(CLEAN)
    science = NgramLM.build(["the module accepts an integer", "an integer encoding of the arithmetic mean"] * 2)
    rng = random.Random(0)
    vocabulary = sorted(news.ids)[:60] + ["zzzunknown", "the", "diplomat"]
    items = []
    for _ in range(400):
        sentence = [rng.choice(vocabulary) for _ in range(rng.randint(1, 7))]
        i = rng.randrange(len(sentence))
        k = rng.randint(1, min(3, len(sentence) - i))
        left2 = tuple(sentence[i - 2 : i]) if i >= 2 else ("<s>", *sentence[:i])
        right2 = tuple(sentence[i + k : i + k + 2]) + (("</s>",) if i + k + 2 > len(sentence) else ())
        after = " ".join(rng.choice(vocabulary) for _ in range(rng.choice([0, 1, 1, 2, 3])))
        items.append((left2, right2, " ".join(sentence[i : i + k]), after))
    items += items[:50]  # the same spun side for several replacements
    for model in (science, None):
        for (left2, right2, before, after), found in zip(items, _contexts(news, items, model)):
            left, right = left2[-1], right2[0]
            gain = news.score(left, after, right) - news.score(left, before, right)
            new, old = news.tokens(after), news.tokens(before)
            edges = (
                (
                    news.logprob(left, new[0]) - news.logprob(left, old[0]),
                    news.logprob(new[-1], right) - news.logprob(old[-1], right),
                )
                if new
                else (gain, 0.0)
            )
            trigram = news.trigram_score(left2, after, right2) - news.trigram_score(left2, before, right2)
            in_science = (
                science.score(left, after, right) - science.score(left, before, right) if model is not None else 0.0
            )
            assert found == (gain, *edges, trigram, in_science), (left2, right2, before, after)
    assert _contexts(news, [], science) == []
