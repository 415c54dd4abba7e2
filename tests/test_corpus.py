"""restore-corpus: both engines give restore()'s output row for row, a killed job finishes on rerun, bad rows
are kept with a reason, and a wheel installed elsewhere restores out of the box."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from restore.corpus import main
from restore.restorer import Restorer
from tests.conftest import CORPUS, SWAPS

pytest.importorskip("datasets")
pq = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parents[1]


def spun_sentences() -> list[str]:
    """The fixture corpus's sentences, with SWAPS undone so the shipped model has spun words to restore."""
    out = []
    for line in dict.fromkeys(CORPUS.splitlines()):
        for before, after in SWAPS.items():
            line = re.sub(rf"\b{re.escape(after)}\b", before, line)
        out.append(line)
    return out + ["Washington's best diplomat said no nation can forget about the threats posed by means of war."]


BAD = {"null": None, "not a string": 5, "empty": "", "too long": "word " * 220_000}


def write_corpus(path: Path, texts: list, **extra_columns) -> list[dict]:
    rows = [{"id": i, "text": t, **{k: v[i] for k, v in extra_columns.items()}} for i, t in enumerate(texts)]
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps({k: v for k, v in row.items() if not (k == "text" and v is None)}) + "\n")
    return rows


def read_output(folder: Path) -> list[dict]:
    parts = sorted(folder.glob("part-*.parquet"))
    assert parts and not list(folder.glob(".*tmp"))
    return [row for p in parts for row in pq.read_table(p).to_pylist()]


@pytest.fixture(scope="module")
def shipped():
    return Restorer()


def check_matches_restore(rows: list[dict], out: list[dict], restorer: Restorer) -> None:
    """Every input row once, in order, its columns kept; restored and edits exactly restore() and explain()."""
    assert [r["id"] for r in out] == [r["id"] for r in rows]
    assert [r["source"] for r in out] == [r["source"] for r in rows]
    texts = [r["text"] for r in rows]
    assert [r["text"] for r in out] == texts
    assert [r["restored"] for r in out] == restorer.restore(texts)
    edits = [[(e.start, e.end, e.before, e.after, e.score) for e in es] for es in restorer.explain(texts)]
    assert [[tuple(e.values()) for e in r["edits"]] for r in out] == edits
    assert sum(map(len, edits)) >= 3 and all(r["error"] is None for r in out)


def test_the_local_engine_gives_restore_output_row_for_row(tmp_path, shipped):
    texts = spun_sentences() * 3
    rows = write_corpus(tmp_path / "in.jsonl", texts, source=[f"s{i}" for i in range(len(texts))])
    assert main([str(tmp_path / "in.jsonl"), str(tmp_path / "out"), "--workers", "2", "--shard-rows", "7"]) == 0
    assert len(list((tmp_path / "out").glob("part-*.parquet"))) == -(-len(rows) // 7)
    check_matches_restore(rows, read_output(tmp_path / "out"), shipped)


def test_the_ray_engine_gives_restore_output_row_for_row(tmp_path, shipped):
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    texts = spun_sentences() * 3
    rows = write_corpus(tmp_path / "in.jsonl", texts, source=[f"s{i}" for i in range(len(texts))])
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        args = [str(tmp_path / "in.jsonl"), str(tmp_path / "out"), "--engine", "ray", "--workers", "2"]
        assert main([*args, "--shard-rows", "7"]) == 0
    finally:
        ray.shutdown()
    check_matches_restore(rows, read_output(tmp_path / "out"), shipped)


@pytest.mark.parametrize("kind", ["parquet", "folder", "save_to_disk"])
def test_every_input_kind_gives_the_same_output(tmp_path, tiny_model, kind):
    import datasets

    texts = spun_sentences()
    rows = write_corpus(tmp_path / "in.jsonl", texts, source=[f"s{i}" for i in range(len(texts))])
    ds = datasets.Dataset.from_list(rows)
    if kind == "parquet":
        ds.to_parquet(str(tmp_path / "in.parquet"))
        given = tmp_path / "in.parquet"
    elif kind == "folder":
        (tmp_path / "folder").mkdir()
        ds.select(range(3)).to_json(str(tmp_path / "folder" / "a.jsonl"))
        ds.select(range(3, len(ds))).to_json(str(tmp_path / "folder" / "b.jsonl"))
        given = tmp_path / "folder"
    else:
        ds.save_to_disk(str(tmp_path / "saved"))
        given = tmp_path / "saved"
    assert main([str(tmp_path / "in.jsonl"), str(tmp_path / "a"), "--model", str(tiny_model)]) == 0
    assert main([str(given), str(tmp_path / "b"), "--model", str(tiny_model)]) == 0
    assert read_output(tmp_path / "b") == read_output(tmp_path / "a")
    assert [r["restored"] for r in read_output(tmp_path / "b")] == Restorer(tiny_model).restore(texts)


def test_bad_rows_come_back_as_they_were_with_the_reason(tmp_path, tiny_model, capsys):
    good = spun_sentences()[:3]
    texts = [good[0], *BAD.values(), '"A quoted sentence, which is valid JSON."', good[1], ["a", "list"], good[2]]
    rows = write_corpus(tmp_path / "in.jsonl", texts)
    assert main([str(tmp_path / "in.jsonl"), str(tmp_path / "out"), "--model", str(tiny_model)]) == 0
    out = read_output(tmp_path / "out")
    assert [r["id"] for r in out] == [r["id"] for r in rows]
    # a column mixing strings with other values comes back as JSON text (the value exactly, in JSON)
    assert [None if r["text"] is None else json.loads(r["text"]) for r in out] == texts
    errors = [r["error"] for r in out]
    assert [e.split(" (")[0] if e else None for e in errors] == [None, *BAD, None, None, "not a string", None]
    assert errors[4].startswith("too long (1,100,000 characters")
    assert all(r["restored"] is None and r["edits"] is None for r, e in zip(out, errors) if e)
    ok = [t for t, e in zip(texts, errors) if e is None]
    assert [r["restored"] for r in out if r["error"] is None] == Restorer(tiny_model).restore(ok)
    summary = json.loads((tmp_path / "out" / "job.json").read_text())["summary"]
    assert summary["rows"] == len(texts) and summary["bad_rows"] == 5
    assert summary["bad_by_reason"] == {"null": 1, "not a string": 2, "empty": 1, "too long": 1}
    assert "5 bad rows (empty 1, not a string 2, null 1, too long 1)" in capsys.readouterr().err


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def running(pid: int) -> bool:
    """Is ``pid`` a process that has not ended (a zombie has)?"""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_killed_job_rerun_finishes_with_every_row_once(tmp_path, tiny_model):
    texts = [f"Row {i}: " + s for i in range(150) for s in spun_sentences()[:4]]
    rows = write_corpus(tmp_path / "in.jsonl", texts)
    args = [str(tmp_path / "in.jsonl"), str(tmp_path / "out"), "--model", str(tiny_model), "--shard-rows", "20"]
    args += ["--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", "from restore.corpus import run; run()", *args]
    job = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list((tmp_path / "out").glob("part-*.parquet"))) < 3 and time.time() < deadline:
        time.sleep(0.05)
    workers = children(job.pid)
    while sys.platform == "linux" and len(workers) < 3 and time.time() < deadline:  # a shard's pool and manager
        workers = children(job.pid)
    job.send_signal(signal.SIGKILL)
    job.wait()
    if sys.platform == "linux":  # its workers end with it, not left waiting with a model loaded
        assert len(workers) >= 3
        deadline = time.time() + 10
        while any(map(running, workers)) and time.time() < deadline:
            time.sleep(0.05)
        assert not any(map(running, workers))
    finished = len(list((tmp_path / "out").glob("part-*.parquet")))
    assert 3 <= finished < len(rows) // 20  # killed part way
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"({len(rows) // 20 - finished} written now" in done.stderr
    out = read_output(tmp_path / "out")
    assert [r["id"] for r in out] == [r["id"] for r in rows]
    assert [r["restored"] for r in out] == Restorer(tiny_model).restore(texts)


def test_a_rerun_with_other_arguments_is_refused(tmp_path, tiny_model, capsys):
    write_corpus(tmp_path / "in.jsonl", spun_sentences())
    args = [str(tmp_path / "in.jsonl"), str(tmp_path / "out"), "--model", str(tiny_model)]
    assert main(args) == 0
    before = read_output(tmp_path / "out")
    capsys.readouterr()
    assert main([*args, "--shard-rows", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds another job's output (shard_rows differ)" in err
    assert read_output(tmp_path / "out") == before


def test_usage_errors_are_one_line(tmp_path, tiny_model, capsys, monkeypatch):
    write_corpus(tmp_path / "in.jsonl", spun_sentences())
    given = [str(tmp_path / "in.jsonl"), str(tmp_path / "out"), "--model", str(tiny_model)]
    cases = [
        ([*given, "--column", "body"], 2, "no column 'body' (it has id, text): --column"),
        ([str(tmp_path / "nothing.jsonl"), str(tmp_path / "out")], 1, "nothing.jsonl: no such file or folder"),
        ([*given[:2], "--model", str(tmp_path)], 2, "not a restore model folder"),
    ]
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    cases.append(([*given, "--engine", "ray"], 2, '--engine ray needs Ray: pip install "restore[cluster]"'))
    for args, code, message in cases:
        assert main(args) == code
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    monkeypatch.setitem(sys.modules, "datasets", None)
    assert main(given) == 2
    assert (
        capsys.readouterr().err
        == 'restore-corpus: error: datasets and pyarrow are not installed: pip install "restore[corpus]"\n'
    )
    assert not list((tmp_path / "out").glob("part-*"))


@pytest.mark.skipif(not hasattr(Restorer, "score"), reason="Restorer.score (the spin detector) is not there yet")
def test_score_adds_each_texts_spin_score(tmp_path, shipped):
    texts = spun_sentences()
    write_corpus(tmp_path / "in.jsonl", texts)
    assert main([str(tmp_path / "in.jsonl"), str(tmp_path / "out"), "--score"]) == 0
    out = read_output(tmp_path / "out")
    assert [r["spin_score"] for r in out] == pytest.approx([r.score for r in shipped.score(texts)])
    assert all(0 <= r["spin_score"] <= 1 for r in out)


def test_score_with_a_model_that_cannot_score_is_a_one_line_error(tmp_path, tiny_model, capsys):
    import shutil

    model = shutil.copytree(tiny_model, tmp_path / "model")
    settings = json.loads((model / "restore.json").read_text())
    settings.pop("detect", None)
    (model / "restore.json").write_text(json.dumps(settings))
    write_corpus(tmp_path / "in.jsonl", spun_sentences())
    assert main([str(tmp_path / "in.jsonl"), str(tmp_path / "out"), "--model", str(model), "--score"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("--score needs Restorer.score" in err or "no detect settings" in err), err
    assert not list((tmp_path / "out").glob("part-*"))


@pytest.mark.slow
def test_a_wheel_installed_elsewhere_restores_out_of_the_box(tmp_path, shipped):
    """pip wheel . and a fresh venv (reaching this one's dependencies, not its editable restore) restore."""
    import site
    import sysconfig

    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels)]
    subprocess.run([*build, str(ROOT)], check=True, cwd=tmp_path)
    (wheel,) = wheels.glob("restore-*.whl")
    assert wheel.stat().st_size <= 60_000_000  # the model inside it once, no stray build folders
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True
    ).stdout.strip()
    ours = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    (Path(purelib) / "deps.pth").write_text("\n".join(dict.fromkeys(ours)) + "\n")  # paths only: no editable finder
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RESTORE_MODEL", "VIRTUAL_ENV")}
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, env=env, cwd=tmp_path)
    sentence = "Washington's best diplomat said no nation can forget about the threats posed by means of war."
    done = subprocess.run(
        [venv / "bin" / "restore"], input=sentence, capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip("\n") == shipped.restore(sentence) != sentence
    show = "import restore.restorer as r; print(r.default_model())"
    where = subprocess.run([python, "-c", show], capture_output=True, text=True, env=env, cwd=tmp_path).stdout
    assert where.startswith(purelib)
