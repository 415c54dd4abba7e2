"""Clean text outside news, to measure how much of it the model changes (it should change nothing):

    apt-get install -y python3.11-doc fortunes dict-foldoc  # Python docs, quotations, FOLDOC (Debian)
    python scripts/build_domains.py --out data/domains      # then: restore-bench --pairs data/domains/legal.jsonl

Writes pairs files (spun == original, all ``"clean": true``) of up to ``--sentences`` prose sentences each. Test
files: ``technical.jsonl`` from the Python tutorial, HOWTOs and FAQs (reStructuredText sources: prose paragraphs
only, no code, tables or directives), ``legal.jsonl`` from the licence texts in /usr/share/common-licenses,
``quotations.jsonl`` from the fortune files of literature, wisdom, people and science (quotations and short prose,
attributions dropped) and ``encyclopedia.jsonl`` from the first half of the Free On-line Dictionary of Computing's
entries (encyclopedic prose; cross-reference braces and URLs dropped). Dev files, other documents of the same
kinds, for fitting the looks (``scripts/train.py --domains``; never the test files): ``dev_technical.jsonl`` from
the Python library and language reference, ``dev_quotations.jsonl`` from other fortune files and
``dev_encyclopedia.jsonl`` from the second half of FOLDOC. Sentences are kept as ``build_data.py`` keeps news
sentences (6-50 words, prose-like); a file's sentences are taken in order.
"""

from __future__ import annotations

import argparse
import gzip
import re
from collections.abc import Iterator
from pathlib import Path

from build_data import clean_sentences, write  # scripts/ is on sys.path when this file runs

PYTHON_DOCS = Path("/usr/share/doc/python3.11/html/_sources")
LICENCES = Path("/usr/share/common-licenses")
FORTUNES = Path("/usr/share/games/fortunes")
FOLDOC = Path("/usr/share/dictd/foldoc.dict.dz")
_MARKUP = re.compile(r"(?::\w+)+:`([^`<]*)(?:<[^>]*>)?`|``([^`]*)``|`([^`<]*)(?:<[^>]*>)?`_*|\*\*?([^*]+)\*\*?")


def rst_paragraphs(text: str) -> Iterator[str]:
    """Prose paragraphs of a reStructuredText file: not indented (code, directives' bodies), not a directive,
    title, list, table or comment; inline markup reduced to its text."""
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        if not lines or lines[0][:1].isspace() or re.match(r"\.\.|[-=*+#|]|\d+\.|\w\)", lines[0]):
            continue
        if any(re.fullmatch(r"[-=~^\"'`#*+]{3,}", line.strip()) for line in lines) or block.rstrip().endswith("::"):
            continue
        yield _MARKUP.sub(lambda m: next(g for g in m.groups() if g is not None), " ".join(x.strip() for x in lines))


def plain_paragraphs(text: str) -> Iterator[str]:
    """Paragraphs of a plain-text file, lines joined."""
    for block in re.split(r"\n\s*\n", text):
        yield " ".join(line.strip() for line in block.splitlines())


def fortunes(text: str) -> Iterator[str]:
    """The entries of a fortune file (separated by "%" lines), without their attribution lines ("-- Author")."""
    for entry in text.split("\n%\n"):
        lines = [line.strip() for line in entry.splitlines() if not re.match(r"\s*(--|~)", line)]
        yield " ".join(line for line in lines if line)


def _dictd_blocks(path: Path) -> Iterator[list[str]]:
    """The lines of each blank-line separated block of a dictd dictionary: an entry's headword (and its aliases) is
    a block whose first line is not indented, its body the indented blocks that follow."""
    for block in re.split(r"\n\s*\n", gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")):
        lines = block.splitlines()
        if lines:
            yield lines


def dictd_entries(path: Path) -> list[list[str]]:
    """The entries of a dictd dictionary in the order it lists them, each as its prose paragraphs: a headword line
    starts an entry, its body is indented; cross-reference braces are reduced to their text, the leading
    ``<category>`` dropped, and paragraphs holding a URL or only a date left out."""
    entries: list[list[str]] = []
    for lines in _dictd_blocks(path):
        if not lines[0][:1].isspace():  # a headword (and its aliases): a new entry
            entries.append([])
            continue
        text = " ".join(line.strip() for line in lines)
        if entries and "://" not in text and not re.fullmatch(r"\(\d{4}-\d\d-\d\d\)", text):
            entries[-1].append(re.sub(r"^<[^>]*>\s*", "", re.sub(r"[{}]", "", text)))
    return entries[1:]  # the first is the file's 00-database header (where the halves split depends on it)


def dictd_headwords(path: Path) -> list[str]:
    """The headwords of a dictd dictionary in the order it lists them (each entry's first line)."""
    return [lines[0].strip() for lines in _dictd_blocks(path) if not lines[0][:1].isspace()][1:]  # [0]: the header


def sentences(paragraphs: Iterator[str], limit: int) -> list[dict]:
    out: list[dict] = []
    for paragraph in paragraphs:
        out += [{"article": "-", "family": "none", "rate": 0.0, "spun": s, "original": s, "clean": True}
                for s in clean_sentences(paragraph)]  # fmt: skip
        if len(out) >= limit:
            break
    return out[:limit]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("data/domains"))
    ap.add_argument("--sentences", type=int, default=1000, help="per domain")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, folders in (("technical", ("tutorial", "howto", "faq")), ("dev_technical", ("library", "reference"))):
        docs = sorted(p for folder in folders for p in (PYTHON_DOCS / folder).glob("*.rst.txt"))
        technical = (p for path in docs for p in rst_paragraphs(path.read_text(encoding="utf-8")))
        write(args.out / f"{name}.jsonl", sentences(technical, args.sentences))
    licences = sorted(p for p in LICENCES.iterdir() if p.is_file())
    legal = (p for path in licences for p in plain_paragraphs(path.read_text(encoding="utf-8", errors="replace")))
    write(args.out / "legal.jsonl", sentences(legal, args.sentences))
    for name, books in (
        ("quotations", ("literature", "wisdom", "people", "science")),
        ("dev_quotations", ("education", "work", "politics", "medicine", "love", "humorists")),
    ):
        files = [FORTUNES / book for book in books]
        quotes = (p for path in files for p in fortunes(path.read_text(encoding="utf-8", errors="replace")))
        write(args.out / f"{name}.jsonl", sentences(quotes, args.sentences))
    entries = dictd_entries(FOLDOC)
    half = len(entries) // 2
    for name, part in (("encyclopedia", entries[:half]), ("dev_encyclopedia", entries[half:])):
        write(args.out / f"{name}.jsonl", sentences((p for entry in part for p in entry), args.sentences))


if __name__ == "__main__":
    main()
