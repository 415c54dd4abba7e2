"""restore.json: each weight under its feature's name, so weights for other features never load."""

import json
import shutil

import pytest

from restore.features import FEATURES, SECOND_LOOK_FEATURES
from restore.looks import Look, load_looks, save_looks
from restore.restorer import SETTINGS_FILE, Restorer


def test_the_looks_come_back_as_they_were_saved(tmp_path):
    first = Look(FEATURES, [float(i) for i in range(len(FEATURES))], -1.5, 0.42)
    second = Look(SECOND_LOOK_FEATURES, [0.5, 0.25, 0.125], 0.1, 0.36)
    term = Look(FEATURES, [-float(i) for i in range(len(FEATURES))], -2.5, 0.3)
    save_looks(tmp_path / SETTINGS_FILE, first, second, term, {"detect": {"kept": 1}})
    assert load_looks(tmp_path / SETTINGS_FILE, FEATURES, SECOND_LOOK_FEATURES) == (first, second, term)
    assert load_looks(tmp_path / SETTINGS_FILE, FEATURES) == (first, None, term)
    assert json.loads((tmp_path / SETTINGS_FILE).read_text())["detect"] == {"kept": 1}
    weights = json.loads((tmp_path / SETTINGS_FILE).read_text())["weights"]
    assert weights["trigram_gain"] == FEATURES.index("trigram_gain") and weights["pair_spun"] == len(FEATURES) - 1


@pytest.mark.parametrize(
    "change",
    [
        lambda w: w.update(context_gain_v2=w.pop("context_gain")),  # a renamed feature
        lambda w: w.pop("trigram_gain"),  # a dropped one
        lambda w: w.update(new_feature=1.0),  # one this version does not compute
    ],
)
def test_weights_for_other_features_fail_to_load_with_one_line(tiny_model, tmp_path, change):
    folder = shutil.copytree(tiny_model, tmp_path / "model")
    settings = json.loads((folder / SETTINGS_FILE).read_text())
    change(settings["weights"])
    (folder / SETTINGS_FILE).write_text(json.dumps(settings))
    with pytest.raises(ValueError) as e:
        Restorer(folder)
    assert str(e.value).count("\n") == 0 and str(e.value).startswith(str(folder / SETTINGS_FILE))


def test_weights_by_position_fail_to_load(tiny_model, tmp_path):
    folder = shutil.copytree(tiny_model, tmp_path / "model")
    (folder / SETTINGS_FILE).write_text(json.dumps({"weights": [0.0] * len(FEATURES), "bias": 0, "min_confidence": 1}))
    with pytest.raises(ValueError, match="restore.json: weights must map each feature's name"):
        Restorer(folder)


def test_a_model_without_a_term_look_fails_to_load_with_one_line(tiny_model, tmp_path):
    folder = shutil.copytree(tiny_model, tmp_path / "model")
    settings = json.loads((folder / SETTINGS_FILE).read_text())
    del settings["term_look"]
    (folder / SETTINGS_FILE).write_text(json.dumps(settings))
    with pytest.raises(ValueError, match="no term_look settings") as e:
        Restorer(folder)
    assert str(e.value).count("\n") == 0 and str(e.value).startswith(str(folder / SETTINGS_FILE))


def test_a_candidates_probability_is_its_own_weighted_sum_whatever_is_scored_with_it_in_one_call_or_by_sentence():
    import math
    import random

    from restore.edits import Edit
    from restore.features import Candidate

    rng = random.Random(0)
    look = Look(FEATURES, [rng.uniform(-2, 2) for _ in FEATURES], -0.7, 0.5)
    cands = [Candidate(Edit(i, i + 1, "a", "b"), [rng.uniform(-30, 30) for _ in FEATURES]) for i in range(50)]
    expected = []
    for c in cands:  # the logistic model, one feature after another
        z = 0.0
        for w, f in zip(look.weights, c.features):
            z += w * f
        expected.append(1 / (1 + math.exp(-max(min(look.bias + z, 50.0), -50.0))))
    assert look.probabilities(cands) == expected
    assert [look.probabilities([c])[0] for c in cands] == expected  # alone or with 49 others: the same number
    assert [e.score for e in look.scored(cands)] == expected and look.probabilities([]) == []
    groups = [cands[:10], [], cands[10:11], cands[11:]]  # sentences' candidates weighed in one call
    assert look.grouped_probabilities(groups) == [expected[:10], [], expected[10:11], expected[11:]]
    assert look.grouped_probabilities([]) == []
