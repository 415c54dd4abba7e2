"""scripts/build_science.py: the scientific prose behind the science n-grams, from docstrings of scientific wheels."""

import zipfile

import pytest

from tests.conftest import script

DOCSTRING = """Fit a random forest to the training data.

The estimator averages many decision trees, each grown on a bootstrap sample of the rows,
which lowers the variance of the prediction.

Parameters
----------
n_estimators : int
    The number of trees in the forest.

>>> forest = RandomForest(n_estimators=10).fit(x, y)

.. versionadded:: 1.2
"""


@pytest.fixture(scope="module")
def science():
    yield from script("build_science")


def test_only_the_prose_of_a_docstring_is_kept_with_its_lines_joined(science):
    assert list(science.prose(DOCSTRING)) == [
        "Fit a random forest to the training data.",
        "The estimator averages many decision trees, each grown on a bootstrap sample of the rows, which lowers the "
        "variance of the prediction.",
    ]  # the parameter list, the doctest and the directive are not prose
    assert list(science.prose("Returns the mean.\n\nx_0, x_1 = f(a, b) + g(c, d) / h(e)")) == []  # short; code


def test_docstrings_come_from_every_module_class_and_function_of_a_wheel_but_its_tests(science, tmp_path):
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    source = f'"""Module docs."""\nclass A:\n    """Class docs."""\n    def f(self):\n        """{DOCSTRING}"""\n'
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("pkg/core.py", source)
        z.writestr("pkg/tests/test_core.py", '"""Test docs."""\n')
        z.writestr("pkg/broken.py", "def (:\n")  # not Python: skipped
    found = list(science.docstrings(wheel))
    assert sorted(found) == ["Class docs.", DOCSTRING.strip(), "Module docs."]  # not the tests' docs


def test_a_noun_term_is_spun_word_by_word_and_nothing_else(science):
    """As tortured phrases are made: each word of a two-word WordNet noun swapped for a one-word synonym."""
    entries = {
        "standard deviation": {"NOUN": ["sd"]},
        "standard": {"ADJ": ["customary", "received wisdom"], "NOUN": ["criterion"]},
        "deviation": {"NOUN": ["divergence", "straying-off"]},
        "mean value": {"ADJ": ["average"]},  # not a noun: not a term
        "mean": {"ADJ": ["average"]},
        "value": {"NOUN": ["worth"]},
    }
    lexicons = dict.fromkeys(science.FAMILIES, entries)
    sentences = {
        "The standard deviation of the sample is computed from its variance.": "a",
        "The mean value of the sample is computed from its sum.": "a",
        "Both standard deviations of the samples are computed from their variances.": "b",
    }
    rows = {row["original"]: row for row in science.term_rows(sentences, lexicons)}
    assert set(rows) == {s for s in sentences if "mean" not in s}
    spun = rows["The standard deviation of the sample is computed from its variance."]["spun"]
    first, second, rest = spun.split(" ", 3)[1:]
    assert first in ("customary", "criterion") and second == "divergence"
    assert rest == "of the sample is computed from its variance."
    row = rows["Both standard deviations of the samples are computed from their variances."]
    assert row["spun"].split(" ")[2] == "divergences" and row["article"] == "b" and not row["clean"]


def test_terms_in_use_are_spun_alone_and_go_to_dev_or_test_never_both(science):
    """Tortured phrases as lists hold them: the term alone, one or both of its words swapped."""
    entries = {
        "standard deviation": {"NOUN": ["sd"]},
        "standard": {"ADJ": ["customary"], "NOUN": ["criterion"]},
        "deviation": {"NOUN": ["divergence"]},
        "mean value": {"ADJ": ["average"]},  # not a noun: not a term
        "mean": {"ADJ": ["average"]},
        "value": {"NOUN": ["worth"]},
        "deviation criterion": {"NOUN": ["x"]},  # never seen together: not a term in use
    }
    entries |= {f"standard {w}": {"NOUN": ["x"]} for w in ("error", "model", "score", "form", "time", "unit")}
    entries |= {w: {"NOUN": [f"{w}s"]} for w in ("error", "model", "score", "form", "time", "unit")}
    lexicons = dict.fromkeys(science.FAMILIES, entries)

    class Counts:
        def count(self, a: str, b: str) -> int:
            return 3 if b != "criterion" else 0  # two models: 6 in all, PHRASE_MIN_COUNT is 5

    dev, test = (science.phrase_rows(lexicons, (Counts(), Counts()), name) for name in ("dev", "test"))
    assert dev and test
    originals = [r["original"] for r in dev + test]
    assert len(originals) == len(set(originals)) == 7  # each term once; neither "mean value" nor the unseen one
    for row in dev + test:
        spun, original = row["spun"].split(), row["original"].split()
        assert len(spun) == 2 and spun != original and not row["clean"]
        assert all(s == o or s in entries[o]["NOUN"] + entries[o].get("ADJ", []) for s, o in zip(spun, original))


def test_clean_terms_are_an_adjective_or_noun_then_a_noun_as_text_uses_them_once_in_dev_or_test(science):
    entries = {
        "sliding": {"ADJ": ["x"]},
        "window": {"NOUN": ["x"]},
        "loss": {"NOUN": ["x"]},
        "function": {"NOUN": ["x"], "VERB": ["x"]},
        "will": {"NOUN": ["x"]},  # "will return": a word that does not start a term
        "return": {"NOUN": ["x"], "VERB": ["x"]},
        "quickly": {"ADV": ["x"]},
    }
    sentences = {
        "A sliding window moves; the loss function will return quickly.": "a",
        "Sliding window, loss-function and loss function again.": "b",  # capitalised, hyphenated: not kept again
    }
    lexicons = {"wordnet": entries}
    dev, test = (science.clean_term_rows(sentences, lexicons, name) for name in ("dev", "test"))
    assert sorted(r["original"] for r in dev + test) == ["loss function", "sliding window"]
    assert all(r["clean"] and r["spun"] == r["original"] for r in dev + test)
