"""scripts/build_tech_terms.py: computing terms alone, spun word by word, a stand-in for tortured phrases."""

import pytest

from tests.conftest import script


@pytest.fixture(scope="module")
def tech():
    yield from script("build_tech_terms")


def test_two_word_lowercase_headwords_are_spun_alone_once_each_in_dev_or_test(tech):
    words = ["search", "engine", "named", "pipe", "load", "balancing", "touch", "screen", "light", "pen"]
    lexicon = {w: {"NOUN": [f"{w}x", f"{w}y"]} for w in words}
    lexicons = dict.fromkeys(tech.FAMILIES, lexicon)
    headwords = ["search engine", "named pipe", "load balancing", "touch screen", "light pen", "search engine",
                 "Named pipe", "abstract data type", "C++ compiler", "pipe-line"]  # fmt: skip
    dev, test = (tech.tech_term_rows(headwords, lexicons, name) for name in ("dev", "test"))
    originals = [r["original"] for r in dev + test]
    assert sorted(originals) == ["light pen", "load balancing", "named pipe", "search engine", "touch screen"]
    assert {r["original"] for r in dev}.isdisjoint(r["original"] for r in test)
    for rows, name in ((dev, "dev"), (test, "test")):
        assert [r["article"] for r in rows] == [f"tech-term-{name}-{i}" for i in range(len(rows))]
    for row in dev + test:
        spun, original = row["spun"].split(), row["original"].split()
        assert spun != original and not row["clean"] and row["family"] in tech.FAMILIES
        assert all(s == o or s in lexicon[o]["NOUN"] for s, o in zip(spun, original))
    unswappable = {w: {"NOUN": [w]} for w in words}  # no synonym but the word itself: nothing to spin
    assert tech.tech_term_rows(headwords, dict.fromkeys(tech.FAMILIES, unswappable), "dev") == []


def test_long_terms_are_the_headwords_of_three_or_four_words(tech):
    words = ["abstract", "data", "type", "domain", "name", "system", "least", "significant", "bit", "search", "engine"]
    lexicon = {w: {"NOUN": [f"{w}x"]} for w in words}
    lexicons = dict.fromkeys(tech.FAMILIES, lexicon)
    headwords = ["abstract data type", "domain name system", "least significant bit", "search engine",
                 "abstract data type system name", "domain name system bit"]  # fmt: skip
    rows = [r for name in ("dev", "test") for r in tech.tech_term_rows(headwords, lexicons, name, "long_tech_terms")]
    assert sorted(r["original"] for r in rows) == [
        "abstract data type", "domain name system", "domain name system bit", "least significant bit"
    ]  # fmt: skip
    assert all(r["article"].startswith("long-tech-term-") for r in rows)
