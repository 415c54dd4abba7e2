"""The ``restore`` command: restore files or standard input, and say clearly what went wrong.

Every input is processed even when another fails; each failure is one line on stderr naming the input,
and the exit status is 1 if any input failed (2 for bad usage). Inputs are never modified unless
``--in-place`` is given; outputs are written to a temporary file and renamed, so a crash never leaves
half a file, and an existing output is not replaced without ``--force``.
"""

from __future__ import annotations

import argparse
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from restore.engine import BATCH_SIZE

BLOCK_CHARS = 200_000  # text is restored in blocks of at most this many characters, so memory stays bounded
SENTENCE_WINDOW = 10_000  # characters before a block's end searched for a sentence start when it has no newline
_SPACE = re.compile(r"\s+")


class InputError(Exception):
    """A problem with one input or output, reported as one line naming it."""


def read_text(path: str) -> str:
    """The UTF-8 text of ``path`` ('-' for stdin); binary or undecodable input is an InputError."""
    name = "<stdin>" if path == "-" else path
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory") from None
    except OSError as e:
        raise InputError(f"{name}: cannot read ({e.strerror})") from None
    nul = data.find(b"\x00")
    if nul != -1:
        raise InputError(f"{name}: binary file (NUL byte at offset {nul})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{name}: not UTF-8 text (invalid byte at offset {e.start})") from None


def blocks(text: str, size: int = BLOCK_CHARS) -> Iterator[str]:
    """``text`` in pieces of at most ``size`` characters, whatever its layout; joined, they give ``text`` back.

    Each piece ends at the last paragraph end in the second half of its window (a blank line, a form feed: see
    ``restore.segment``), else the last line break there, else the last sentence start that
    ``restore.segment.split`` finds near the limit, else the last whitespace, else at ``size`` characters. A last
    piece of at most ``size // 2`` characters that would be a term alone (``restore.segment.term_alone``: at most
    four words) joins the one before it, so that no block of a longer text is restored or scored as a term alone.
    """
    from restore.segment import is_term_alone

    ends, start = [], 0
    while len(text) - start > size:
        start += _cut(text[start : start + size])
        ends.append(start)
    tail = text[start:]
    if ends and len(tail) <= size // 2 and is_term_alone(tail):
        ends.pop()
    yield from (text[a:b] for a, b in zip([0, *ends], [*ends, len(text)]))


def _cut(window: str) -> int:
    """Where to end a block that must fit in ``window``: an offset in its second half (see ``blocks``)."""
    from restore.segment import _BREAK, _PARAGRAPH_END, split

    half = len(window) // 2
    for pattern in (_PARAGRAPH_END, re.compile(_BREAK)):
        found = _last(pattern, window, half)
        if found:
            return found
    near = max(half, len(window) - SENTENCE_WINDOW)
    starts = [s for s, _ in split(window[near:])][1:]  # the first may begin mid-sentence, at the window's edge
    if starts:
        return near + starts[-1]
    return _last(_SPACE, window, half) or len(window)


def _last(pattern: re.Pattern, text: str, start: int) -> int | None:
    """The end of the last match of ``pattern`` in ``text`` from ``start`` on, or None."""
    ends = [m.end() for m in pattern.finditer(text, start)]
    return ends[-1] if ends else None


def write_atomic(path: Path, text: str, force: bool) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed over it: a symbolic link's target is written
    (the link stays), a replaced file keeps its permissions, and on failure the temporary file is removed."""
    if path.exists() and not force:
        raise InputError(f"{path}: exists (use --force to replace it)")
    real = Path(os.path.realpath(path))
    tmp = None
    try:
        mode = stat.S_IMODE(real.stat().st_mode) if real.exists() else 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, real)
        tmp = None
    except OSError as e:
        raise InputError(f"{path}: cannot write ({e.strerror})") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _umask() -> int:
    """The process's file-creation mask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def render_diff(text: str, edits) -> str:
    """Inline markup of the changes: ``[-old-]{+new+}``, everything else as is."""
    out, cursor = [], 0
    for e in edits:
        out += [text[cursor : e.start], f"[-{e.before}-]{{+{e.after}+}}"]
        cursor = e.end
    return "".join(out) + text[cursor:]


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="restore",
        description="Restore spun English to its original wording. Reads FILEs (or stdin) and writes to stdout.",
        epilog="Each input is processed even if another fails; the exit status is 1 if any failed.",
    )
    ap.add_argument("files", nargs="*", metavar="FILE", help="UTF-8 text files; '-' or none reads stdin")
    ap.add_argument("-o", "--output", metavar="PATH", help="output file, or a folder when there are several FILEs")
    ap.add_argument("--in-place", action="store_true", help="rewrite each FILE with its restored text")
    ap.add_argument("--force", action="store_true", help="replace existing output files")
    ap.add_argument("--diff", action="store_true", help="show the changes as [-old-]{+new+} instead")
    ap.add_argument("--score", action="store_true", help="say how spun each input is, and where, instead")
    ap.add_argument("--json", action="store_true", help="with --score: one JSON line per input (implies --score)")
    ap.add_argument("--html", metavar="PATH", help="with --score: also write one HTML report (implies --score)")
    ap.add_argument("--model", metavar="PATH", help="model folder (default: the bundled model)")
    ap.add_argument(
        "--engine", choices=("auto", "onnx", "torch"), default="auto", help="inference engine (default: auto)"
    )
    ap.add_argument(
        "--lm",
        action="store_true",
        help="a second look by the SmolLM2 language model: more right edits, ~30x slower; with --score, a term alone"
        " is read by it too (pip install restore[lm])",
    )
    help_batch = f"sentences per model call (default {BATCH_SIZE})"
    ap.add_argument("--batch-size", type=int, default=BATCH_SIZE, metavar="N", help=help_batch)
    ap.add_argument(
        "--min-confidence", type=float, metavar="P", help="apply only edits at least this sure (default: the model's)"
    )
    bar = ap.add_mutually_exclusive_group()
    bar.add_argument("--progress", action="store_true", default=None, help="always show a progress bar on stderr")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show a progress bar")
    return ap


def _targets(args: argparse.Namespace, files: list[str]) -> list[Path | None]:
    """Where each input's result goes (None: stdout), or a usage error."""
    if args.in_place:
        if args.output or "-" in files:
            raise InputError("--in-place works on named files only, without -o")
        if args.diff:
            raise InputError("--in-place and --diff do not go together: the markup would replace the text")
        return [Path(f) for f in files]
    if not args.output:
        return [None] * len(files)
    out = Path(args.output)
    if len(files) > 1 or out.is_dir():
        if out.exists() and not out.is_dir():
            raise InputError(f"{out}: not a folder (several inputs need -o FOLDER)")
        out.mkdir(parents=True, exist_ok=True)
        names = [Path(f).name if f != "-" else "stdin.txt" for f in files]
        if len(set(names)) < len(names):
            raise InputError(f"{out}: two inputs have the same file name")
        targets = [out / n for n in names]
    else:
        targets = [out]
    for f, t in zip(files, targets):
        if f != "-" and Path(f).exists() and t.exists() and t.resolve() == Path(f).resolve():
            raise InputError(f"{t}: is an input file (use --in-place to rewrite inputs)")
    return targets


def score_line(name: str, text: str, report) -> str:
    """One line: the input's spin score, its flagged spans (the first ten) and its worst sentence."""
    shown = [f'"{x.text}" ({x.score:.2f}' + (f" -> {x.suggestion})" if x.suggestion else ")") for x in report.spans]
    more = f", ... {len(shown) - 10} more" if len(shown) > 10 else ""
    spans = f"{len(shown)} flagged spans: {', '.join(shown[:10])}{more}" if shown else "no flagged spans"
    worst = max(report.sentences, key=lambda s: s.score, default=None)
    sentence = f'; worst sentence ({worst.score:.2f}): "{text[worst.start : worst.end]}"' if worst else ""
    return f"{name}: spin score {report.score:.2f}; {spans}{sentence}"


def score_files(restorer, files: list[str], args: argparse.Namespace, show: bool) -> int:
    """``--score``: a line (or JSON line) per input, and the HTML report; 1 if any input failed."""
    import json
    from dataclasses import asdict

    from restore.detect import join

    failed, items = False, []
    for path in files:
        name = "<stdin>" if path == "-" else path
        try:
            text = read_text(path)
        except InputError as e:
            print(f"restore: error: {e}", file=sys.stderr)
            failed = True
            continue
        parts, offset = [], 0
        for block in blocks(text):
            parts.append((offset, restorer.score(block, show_progress_bar=show)))
            offset += len(block)
        report = join(parts, restorer.detect)
        items.append((name, text, report))
        if args.json:
            print(json.dumps({"file": name, "flagged": report.flagged, **asdict(report)}, ensure_ascii=False))
        else:
            print(score_line(name, text, report))
        sys.stdout.flush()
    if args.html:
        from restore.report_html import render

        try:
            write_atomic(Path(args.html), render(items, restorer.detect), force=args.force)
        except InputError as e:
            print(f"restore: error: {e}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    files = args.files or ["-"]
    if args.batch_size < 1:
        print("restore: error: --batch-size must be at least 1", file=sys.stderr)
        return 2
    args.score = args.score or args.json or args.html is not None
    if args.score and (args.output or args.in_place or args.diff):
        print("restore: error: --score reports on its inputs: not with -o, --in-place or --diff", file=sys.stderr)
        return 2
    if args.html and Path(args.html).exists() and not args.force:
        print(f"restore: error: {args.html}: exists (use --force to replace it)", file=sys.stderr)
        return 2
    try:
        targets = _targets(args, files)
        from restore.restorer import Restorer

        restorer = Restorer(args.model, args.batch_size, args.min_confidence, engine=args.engine, lm=args.lm)
    except (InputError, FileNotFoundError, ImportError, ValueError) as e:
        print(f"restore: error: {e}", file=sys.stderr)
        return 2
    show = sys.stderr.isatty() if args.progress is None else args.progress
    if args.score:
        if restorer.detect is None:
            print(f"restore: error: {restorer.path}: no detect settings in restore.json", file=sys.stderr)
            return 2
        return score_files(restorer, files, args, show)
    failed = False
    for path, target in zip(files, targets):
        try:
            text = read_text(path)
            pieces = []
            for block in blocks(text):
                if args.diff:
                    pieces.append(render_diff(block, restorer.explain(block, show_progress_bar=show)))
                else:
                    pieces.append(restorer.restore(block, show_progress_bar=show))
            result = "".join(pieces)
            if target is None:
                sys.stdout.write(result)
                sys.stdout.flush()
            else:
                write_atomic(target, result, force=args.force or args.in_place)
        except InputError as e:
            print(f"restore: error: {e}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


def run() -> None:
    """Console entry point: ``main`` with a quiet exit when stdout is closed early (``restore x | head``)."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    run()
