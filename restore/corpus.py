"""``restore-corpus``: restore a corpus of any size into Parquet shards, on one machine or a Ray cluster.

The input (JSON Lines, Parquet, a folder of them, or a ``datasets`` ``save_to_disk`` folder) is read with
``datasets`` (memory-mapped Arrow) and cut into shards of ``--shard-rows`` rows; each shard becomes
``OUTPUT/part-NNNNN.parquet``: every input column, in input order, plus ``restored``, ``edits`` (what ``explain``
returns), ``error`` (why a row was left alone, else null) and with ``--score`` ``spin_score``. A shard is written
under a temporary name and renamed, so a rerun of an interrupted job skips the shards already there.

Engines: ``local`` is ``datasets`` ``map(batched=True, num_proc=N)``; ``ray`` is Ray Data ``map_batches`` with one
model per actor, on the cluster ``RAY_ADDRESS`` names or a local one. Each worker runs the tagger on one thread.
On Linux a local worker dies with the job, so a killed job leaves none behind holding a model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

SHARD_ROWS = 10_000
MAX_CHARS = 200_000  # longer texts are left alone with an error: one row must not hold a worker for hours
BATCH_ROWS = 256  # rows per model call: the restorer batches their sentences by length
RAY_BLOCK_ROWS = 4 * BATCH_ROWS  # rows per Ray block: what one actor takes at a time
JOB_FILE = "job.json"  # the job's arguments (a rerun must match them) and, once done, its summary
NEW_COLUMNS = ("restored", "edits", "error", "spin_score")
INSTALL_CORPUS = 'pip install "restore[corpus]"'
INSTALL_CLUSTER = 'pip install "restore[cluster]"'

_restorers: dict = {}  # one Restorer per process, per model folder
_tying = {"on": False, "hooked": False, "parent": 0}  # local workers forked meanwhile die with the process forking them
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when the thread that forked it ends


class UsageError(Exception):
    """Bad arguments, a missing extra or a bad model folder: exit 2."""


class InputError(Exception):
    """An input that cannot be read: exit 1."""


def _restorer(model: str | None, score: bool):
    """This process's Restorer for ``model`` (loaded on first use; a worker forked after it shares it)."""
    if model not in _restorers:
        from restore.restorer import Restorer

        _restorers[model] = Restorer(model, threads=1)
    restorer = _restorers[model]
    if score and not hasattr(restorer, "score"):
        raise UsageError("--score needs Restorer.score, which this version of restore does not have")
    return restorer


def check_text(value, max_chars: int = MAX_CHARS) -> str | None:
    """Why ``value`` cannot be restored (null, not a string, empty, too long), or None when it can."""
    if value is None:
        return "null"
    if not isinstance(value, str):
        return f"not a string ({type(value).__name__})"
    if not value.strip():
        return "empty"
    if len(value) > max_chars:
        return f"too long ({len(value):,} characters; the limit is {max_chars:,}: --max-chars)"
    return None


def restore_rows(restorer, values: list, score: bool = False, max_chars: int = MAX_CHARS) -> dict[str, list]:
    """The new columns for ``values``: bad rows get ``error`` and nulls; a row the model fails on does too."""
    from restore.edits import apply

    n = len(values)
    out: dict[str, list] = {"restored": [None] * n, "edits": [None] * n, "error": [None] * n}
    if score:
        out["spin_score"] = [None] * n
    good = []
    for i, value in enumerate(values):
        out["error"][i] = check_text(value, max_chars)
        if out["error"][i] is None:
            good.append(i)

    def run(rows: list[int]) -> None:
        texts = [values[i] for i in rows]
        found = restorer.explain(texts)
        scores = [r.score for r in restorer.score(texts)] if score else None
        for k, (i, text, edits) in enumerate(zip(rows, texts, found)):
            out["restored"][i] = apply(text, edits)
            out["edits"][i] = [
                {"start": e.start, "end": e.end, "before": e.before, "after": e.after, "score": e.score} for e in edits
            ]
            if score:
                out["spin_score"][i] = float(scores[k])

    try:
        run(good)
    except Exception:  # one text broke the batch: find it, and keep the others
        for i in good:
            try:
                run([i])
            except Exception as e:
                out["error"][i] = f"failed: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
    return out


def _map_batch(
    batch: dict, column: str, json_text: bool, model: str | None, score: bool, max_chars: int
) -> dict[str, list]:
    """``datasets`` ``map`` function: the new columns of one batch."""
    values = [json.loads(v) if json_text and v is not None else v for v in batch[column]]
    return restore_rows(_restorer(model, score), values, score, max_chars)


class RayRestorer:
    """Ray Data ``map_batches`` callable: the model is loaded once per actor."""

    def __init__(self, settings: dict, features) -> None:
        self.settings, self.features = settings, features
        _restorer(settings["model"], settings["score"])

    def __call__(self, batch):
        import pyarrow as pa

        column = self.settings["column"]
        values = self.features.decode_column(batch.column(column).to_pylist(), column)
        new = _map_batch({column: values}, **self.settings)
        types = _new_features(self.settings["score"])
        for name, data in new.items():
            batch = batch.append_column(name, pa.array(data, type=types[name].pa_type))
        return batch


def _new_features(score: bool):
    from datasets import Features, List, Value

    edit = {"start": Value("int64"), "end": Value("int64"), "before": Value("string"), "after": Value("string")}
    edit["score"] = Value("float64")
    features = {"restored": Value("string"), "edits": List(edit), "error": Value("string")}
    if score:
        features["spin_score"] = Value("float64")
    return Features(features)


def load_input(path: Path, column: str = "text"):
    """The input as one ``datasets.Dataset`` (memory-mapped, so a corpus of any size fits), and whether ``column``
    holds JSON text (JSON Lines whose ``column`` mixes strings with other values)."""
    import datasets

    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir() and ((path / "state.json").is_file() or (path / "dataset_dict.json").is_file()):
        ds = datasets.load_from_disk(str(path))
        if isinstance(ds, datasets.DatasetDict):
            raise UsageError(f"{path}: holds several splits ({', '.join(ds)}); name one: {path}/{next(iter(ds))}")
        return (ds.flatten_indices() if ds._indices is not None else ds), False
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    kinds = {_kind(p) for p in files} - {None}
    if len(kinds) != 1 or any(_kind(p) is None for p in files if not p.name.startswith(".")):
        raise UsageError(f"{path}: give JSON Lines (.jsonl, .json) or Parquet (.parquet) files, one kind")
    kind, files = kinds.pop(), [p for p in files if _kind(p)]
    try:
        ds = datasets.load_dataset(kind, data_files=[str(p) for p in files], split="train")
        if kind == "json" and column in ds.features and isinstance(ds.features[column], datasets.Json):
            # datasets stores the strings of a mixed column that are valid JSON (a quoted sentence, "5") as
            # that JSON, so they would not come back as they were: the column is read again as JSON text
            features = datasets.Features({**ds.features, column: datasets.Value("string")})
            stamps = [(p.stat().st_size, p.stat().st_mtime_ns) for p in files]  # a changed file is read again
            kwargs = {"files": [str(p) for p in files], "column": column, "stamps": stamps}
            return datasets.Dataset.from_generator(_json_rows, features=features, gen_kwargs=kwargs), True
    except Exception as e:  # the readers' messages run long: the first line, once
        reason = str(e).splitlines()[0][:300] if str(e) else type(e).__name__
        raise InputError(f"{path}: cannot read it: {reason}") from None
    return ds, False


def _json_rows(files: list[str], column: str, stamps: list):
    """The rows of JSON Lines files, ``column`` as JSON text (null when missing or null); ``stamps`` (the files'
    sizes and times) only make ``datasets`` cache the result under a new name when a file changes."""
    import bz2
    import gzip
    import lzma

    opener = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}
    for name in files:
        with opener.get(Path(name).suffix, open)(name, "rt", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    value = row.get(column)
                    yield {**row, column: None if value is None else json.dumps(value, ensure_ascii=False)}


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    for suffix in (".gz", ".xz", ".bz2"):
        name = name.removesuffix(suffix)
    return "json" if name.endswith((".jsonl", ".json")) else "parquet" if name.endswith(".parquet") else None


def _part(output: Path, shard: int) -> Path:
    return output / f"part-{shard:05d}.parquet"


def _write(tables, path: Path, schema) -> None:
    """Write the tables as one Parquet file: under a temporary name, then renamed."""
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        for table in tables:
            writer.write_table(table.cast(schema))
    os.replace(tmp, path)


def run_job(
    input: str | Path,
    output: str | Path,
    column: str = "text",
    score: bool = False,
    workers: int = 1,
    engine: str = "local",
    shard_rows: int = SHARD_ROWS,
    max_chars: int = MAX_CHARS,
    model: str | None = None,
    progress: bool = False,
) -> dict:
    """Restore ``column`` of every row of ``input`` into Parquet shards in ``output``; the job's summary."""
    try:
        import datasets
        import pyarrow  # noqa: F401
    except ImportError:
        raise UsageError(f"datasets and pyarrow are not installed: {INSTALL_CORPUS}") from None
    if engine == "ray":
        try:
            import ray  # noqa: F401
            import ray.data  # noqa: F401
        except ImportError:
            raise UsageError(f"--engine ray needs Ray: {INSTALL_CLUSTER}") from None
    elif engine != "local":
        raise UsageError(f"unknown engine {engine!r}; choose local or ray")
    if workers < 1 or shard_rows < 1 or max_chars < 1:
        raise UsageError("--workers, --shard-rows and --max-chars must be at least 1")
    datasets.disable_progress_bars()
    start = time.perf_counter()
    input, output = Path(input), Path(output)
    ds, json_text = load_input(input, column)
    if column not in ds.column_names:
        raise UsageError(f"{input}: no column {column!r} (it has {', '.join(ds.column_names)}): --column")
    clash = [c for c in NEW_COLUMNS if c in ds.column_names]
    if clash:
        raise UsageError(f"{input}: already has a column {clash[0]!r}, which the output adds")
    model = str(Path(model).resolve()) if model else None
    restorer = _restorer(model, score)  # a bad model folder stops the job here, before any worker starts
    if score:
        restorer.score(["A model without detect settings stops here."])  # ValueError: one line, exit 2
    job = {"input": str(input.resolve()), "column": column, "score": score, "rows": len(ds), "shard_rows": shard_rows}
    job |= {"max_chars": max_chars, "model": model}
    output.mkdir(parents=True, exist_ok=True)
    job_file = output / JOB_FILE
    if job_file.is_file():
        before = json.loads(job_file.read_text())
        changed = [k for k in job if before.get(k) != job[k]]
        if changed:
            differ = ", ".join(changed)
            raise UsageError(f"{output}: holds another job's output ({differ} differ); choose another folder")
    else:
        _atomic_text(job_file, json.dumps(job, indent=1))
    shards = range((len(ds) + shard_rows - 1) // shard_rows)
    todo = [i for i in shards if not _part(output, i).is_file()]
    features = datasets.Features({**ds.features, **_new_features(score)})
    from tqdm.auto import tqdm

    done_rows = len(ds) - sum(min(shard_rows, len(ds) - i * shard_rows) for i in todo)
    bar = tqdm(total=len(ds), initial=done_rows, unit="row", file=sys.stderr, disable=not progress, smoothing=0.1)
    settings = {"column": column, "json_text": json_text, "model": model, "score": score, "max_chars": max_chars}
    if engine == "local":
        _run_local(ds, output, todo, shard_rows, workers, features, settings, bar)
    else:
        _run_ray(ds, output, todo, shard_rows, workers, features, settings, bar)
    bar.close()
    summary = _summary(output, len(shards))
    summary |= {"shards_written": len(todo), "seconds": round(time.perf_counter() - start, 1)}
    _atomic_text(job_file, json.dumps(job | {"summary": summary}, indent=1))
    return summary


def _noting_parent() -> None:
    _tying["parent"] = os.getpid()  # read in the child: the process that forked it


def _tie_to_parent() -> None:
    """In a child forked while the local engine runs (Linux): get SIGKILL when the parent ends. A ``datasets`` pool
    worker otherwise outlives a killed job, waiting on its task pipe for ever with a model loaded."""
    if not _tying["on"]:
        return
    import ctypes
    import signal

    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != _tying["parent"]:  # the parent ended before the line above
        os._exit(1)


def _run_local(ds, output, todo, shard_rows, workers, features, settings, bar) -> None:
    if workers > 1 and sys.platform == "linux" and not _tying["hooked"]:
        os.register_at_fork(before=_noting_parent, after_in_child=_tie_to_parent)
        _tying["hooked"] = True
    _tying["on"] = True
    try:
        _run_shards(ds, output, todo, shard_rows, workers, features, settings, bar)
    finally:
        _tying["on"] = False


def _run_shards(ds, output, todo, shard_rows, workers, features, settings, bar) -> None:
    for i in todo:
        rows = ds.select(range(i * shard_rows, min((i + 1) * shard_rows, len(ds))))
        done = rows.map(
            _map_batch,
            batched=True,
            batch_size=BATCH_ROWS,
            num_proc=workers if workers > 1 else None,
            fn_kwargs=settings,
            features=features,
            keep_in_memory=True,
            load_from_cache_file=False,
        )
        _write([done.data.table], _part(output, i), features.arrow_schema)
        bar.update(len(rows))


def _run_ray(ds, output, todo, shard_rows, workers, features, settings, bar) -> None:
    import logging

    import ray

    if not ray.is_initialized():
        ray.init(logging_level=logging.ERROR, log_to_driver=False)  # joins RAY_ADDRESS's cluster when set
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # stderr is for the job's progress and errors
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    table = ds.data.table
    sizes = [min(shard_rows, len(ds) - i * shard_rows) for i in todo]
    if not todo:
        return
    # blocks of a few batches, so that every actor gets work however few shards are left
    blocks = [
        (i * shard_rows + k, min(RAY_BLOCK_ROWS, n - k))
        for i, n in zip(todo, sizes)
        for k in range(0, n, RAY_BLOCK_ROWS)
    ]
    pieces = ray.data.from_arrow([table.slice(start, n) for start, n in blocks])
    restored = pieces.map_batches(
        RayRestorer,
        fn_constructor_kwargs={"settings": settings, "features": ds.features},
        batch_format="pyarrow",
        batch_size=BATCH_ROWS,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=1,
    )
    schema = features.arrow_schema
    batches = iter(restored.iter_batches(batch_format="pyarrow", batch_size=None))
    pending = None
    for shard, size in zip(todo, sizes):
        parts, have = [], 0
        while have < size:
            batch = pending if pending is not None else next(batches)
            take = min(size - have, batch.num_rows)
            parts.append(batch.slice(0, take))
            pending = batch.slice(take) if take < batch.num_rows else None
            have += take
            bar.update(take)
        _write(parts, _part(output, shard), schema)


def _summary(output: Path, shards: int) -> dict:
    """Rows and bad rows (by reason) over every shard of ``output``."""
    import collections

    import pyarrow.parquet as pq

    rows, bad = 0, collections.Counter()
    for i in range(shards):
        errors = pq.read_table(_part(output, i), columns=["error"]).column("error").to_pylist()
        rows += len(errors)
        bad.update(e.split(" (")[0].split(":")[0] for e in errors if e is not None)
    return {"rows": rows, "bad_rows": sum(bad.values()), "bad_by_reason": dict(bad), "shards": shards}


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text + "\n")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    """The ``restore-corpus`` command."""
    p = argparse.ArgumentParser(
        prog="restore-corpus",
        description="Restore every row of a corpus (JSON Lines, Parquet, a folder of them, or a datasets "
        "save_to_disk folder) into OUTPUT/part-NNNNN.parquet; rerun the same command to finish an interrupted job.",
    )
    p.add_argument("input", metavar="INPUT")
    p.add_argument("output", metavar="OUTPUT", help="a folder of Parquet shards")
    p.add_argument("--column", default="text", help="the column to restore (default: text)")
    p.add_argument("--score", action="store_true", help="add spin_score: how spun each text looks (0-1)")
    p.add_argument("--workers", type=int, default=1, help="processes (local) or actors (ray), one thread each")
    p.add_argument("--engine", choices=("local", "ray"), default="local", help="local: datasets; ray: Ray Data")
    p.add_argument("--shard-rows", type=int, default=SHARD_ROWS, help=f"rows per output shard ({SHARD_ROWS:,})")
    p.add_argument("--max-chars", type=int, default=MAX_CHARS, help=f"longer texts are left alone ({MAX_CHARS:,})")
    p.add_argument("--model", help="a model folder (default: $RESTORE_MODEL, else the bundled model)")
    bars = p.add_mutually_exclusive_group()
    bars.add_argument("--progress", action="store_true", default=None, help="progress bar (default: on a terminal)")
    bars.add_argument("--no-progress", action="store_false", dest="progress")
    args = p.parse_args(argv)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    try:
        s = run_job(
            args.input,
            args.output,
            args.column,
            args.score,
            args.workers,
            args.engine,
            args.shard_rows,
            args.max_chars,
            args.model,
            progress,
        )
    except (UsageError, ValueError) as e:
        print(f"restore-corpus: error: {e}", file=sys.stderr)
        return 2
    except (InputError, OSError) as e:
        code = 2 if "not a restore model folder" in str(e) else 1
        print(f"restore-corpus: error: {e}", file=sys.stderr)
        return code
    reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(s["bad_by_reason"].items()))
    print(
        f"restore-corpus: {s['rows']:,} rows in {s['shards']} shards ({s['shards_written']} written now, "
        f"{s['seconds']} s); {s['bad_rows']:,} bad rows{f' ({reasons})' if reasons else ''}; output in {args.output}",
        file=sys.stderr,
    )
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
