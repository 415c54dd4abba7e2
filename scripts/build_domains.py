"""Clean text outside news, to measure how much of it the model changes (it should change nothing):

    apt-get install -y python3.11-doc fortunes              # the Python documentation, quotations (Debian)
    python scripts/build_domains.py --out data/domains      # then: restore-bench --pairs data/domains/legal.jsonl

Writes pairs files (spun == original, all ``"clean": true``) of up to ``--sentences`` prose sentences each:
``technical.jsonl`` from the Python tutorial, HOWTOs and FAQs (reStructuredText sources: prose paragraphs only,
no code, tables or directives), ``legal.jsonl`` from the licence texts in /usr/share/common-licenses and
``quotations.jsonl`` from the fortune files of literature, wisdom, people and science (quotations and short prose,
attributions dropped). Sentences are kept as ``build_data.py`` keeps news sentences (6-50 words, prose-like); a
file's sentences are taken in order.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

from build_data import clean_sentences, write  # scripts/ is on sys.path when this file runs

PYTHON_DOCS = Path("/usr/share/doc/python3.11/html/_sources")
LICENCES = Path("/usr/share/common-licenses")
FORTUNES = Path("/usr/share/games/fortunes")
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
    docs = sorted(p for folder in ("tutorial", "howto", "faq") for p in (PYTHON_DOCS / folder).glob("*.rst.txt"))
    technical = (p for path in docs for p in rst_paragraphs(path.read_text(encoding="utf-8")))
    write(args.out / "technical.jsonl", sentences(technical, args.sentences))
    licences = sorted(p for p in LICENCES.iterdir() if p.is_file())
    legal = (p for path in licences for p in plain_paragraphs(path.read_text(encoding="utf-8", errors="replace")))
    write(args.out / "legal.jsonl", sentences(legal, args.sentences))
    files = [FORTUNES / name for name in ("literature", "wisdom", "people", "science")]
    quotes = (p for path in files for p in fortunes(path.read_text(encoding="utf-8", errors="replace")))
    write(args.out / "quotations.jsonl", sentences(quotes, args.sentences))


if __name__ == "__main__":
    main()
