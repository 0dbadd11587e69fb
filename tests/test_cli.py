"""The tinynet command line: commands run, outputs parse, bad input ends in one line and 2."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinynet.apps import cli, reproduce

ROOT = Path(__file__).resolve().parent.parent


def _env():
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def test_python_m_tinynet_help_runs_in_a_subprocess():
    done = subprocess.run([sys.executable, "-m", "tinynet", "--help"], capture_output=True,
                          text=True, env=_env(), timeout=60)
    assert done.returncode == 0
    for command in ("reproduce", "demo", "lessons"):
        assert command in done.stdout


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 0
    assert "reproduce" in capsys.readouterr().out


def test_reproduce_quick_writes_its_outputs(tmp_path, capsys):
    out = tmp_path / "rep"
    assert cli.main(["reproduce", "--quick", "--no-progress", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "REPORT.md" in printed
    assert json.loads((out / "results.json").read_text())["config"]["epochs"] == 4
    assert (out / "regions.png").read_bytes()[:4] == b"\x89PNG"


def test_demo_save_writes_an_animated_gif(tmp_path, capsys):
    gif = tmp_path / "demo.gif"
    code = cli.main(["demo", "--save", str(gif), "--epochs", "2", "--rates", "0.01,0.5",
                     "--dataset", "blobs", "--schedule", "cosine"])
    assert code == 0
    assert gif.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    from PIL import Image

    with Image.open(gif) as im:
        assert im.n_frames == 2
    assert os.listdir(tmp_path) == ["demo.gif"]
    assert "lr 0.5" in capsys.readouterr().out


def _bad(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    return {
        "out is a file": ["reproduce", "--quick", "--out", str(a_file)],
        "out below a file": ["reproduce", "--quick", "--out", str(a_file / "sub")],
        "zero seeds": ["reproduce", "--quick", "--seeds", "0", "--out", str(tmp_path / "o")],
        "unknown backend": ["reproduce", "--quick", "--backend", "tpu",
                            "--out", str(tmp_path / "o")],
        "non-numeric rate": ["demo", "--rates", "0.1,fast", "--save", str(tmp_path / "d.gif")],
        "negative rate": ["demo", "--rates", "-1", "--save", str(tmp_path / "d.gif")],
        "missing gif folder": ["demo", "--epochs", "1", "--save", str(tmp_path / "no" / "d.gif")],
        "repeated rate": ["demo", "--rates", "0.1,0.1", "--save", str(tmp_path / "d.gif")],
        "save below a file": ["demo", "--epochs", "1", "--save", str(a_file / "d.png")],
        "unknown lesson": ["lessons", "99"],
    }


@pytest.mark.parametrize("case", sorted(_bad(Path("/tmp"))))
def test_bad_input_gives_one_line_and_exit_code_2(case, tmp_path, capsys):
    argv = _bad(tmp_path)[case]
    if case == "unknown lesson" and cli.lessons_dir() is None:
        pytest.skip("no lessons/ folder in this checkout")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_parse_errors_exit_with_2():
    with pytest.raises(SystemExit) as info:
        cli.main(["reproduce", "--seeds", "many"])
    assert info.value.code == 2


def test_ctrl_c_exits_130_with_one_line(monkeypatch, capsys, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(reproduce, "run", interrupted)
    assert cli.main(["reproduce", "--out", str(tmp_path)]) == 130
    assert capsys.readouterr().err.count("\n") == 1


def test_lessons_lists_numbered_scripts_with_their_titles(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "01_first.py").write_text('"""Lesson 1: the first one.\n\nMore."""\n')
    (folder / "02_second.py").write_text('"""Lesson 2: the second."""\nimport sys\n'
                                         'print("ran", sys.argv[1:])\n')
    (folder / "_common.py").write_text('"""not a lesson"""\n')
    monkeypatch.setattr(cli, "lessons_dir", lambda: folder)
    assert cli.main(["lessons"]) == 0
    out = capsys.readouterr().out
    assert "01  Lesson 1: the first one." in out and "02  Lesson 2: the second." in out
    assert "_common" not in out


def test_lessons_runs_one_with_the_same_python(tmp_path, monkeypatch, capfd):
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "02_second.py").write_text('"""Lesson 2."""\nimport sys\n'
                                         'print("ran", sys.argv[1:])\n')
    monkeypatch.setattr(cli, "lessons_dir", lambda: folder)
    assert cli.main(["lessons", "2", "--quick", "--out", "somewhere"]) == 0
    assert "ran ['--quick', '--out', 'somewhere']" in capfd.readouterr().out


def test_lessons_without_the_folder_says_so_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(cli, "lessons_dir", lambda: None)
    assert cli.main(["lessons"]) == 1
    assert capsys.readouterr().out.count("\n") == 1


def test_threads_option_limits_the_array_library(monkeypatch):
    calls = []
    monkeypatch.setattr("tinynet.threads.set_threads", calls.append)
    monkeypatch.setattr(cli, "_reproduce", lambda args: 0)
    parser_args = ["--threads", "1", "reproduce", "--quick"]
    cli.build_parser().parse_args(parser_args)  # the option exists before the command
    assert cli.main(parser_args) == 0 and calls == [1]


def test_bad_threads_count_is_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_reproduce", lambda args: 0)
    assert cli.main(["--threads", "0", "reproduce"]) == 2
    assert "set_threads: n must be a positive int" in capsys.readouterr().err


def test_demo_save_below_a_file_and_repeated_rates_say_what_is_wrong(tmp_path, capsys):
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    assert cli.main(["demo", "--epochs", "1", "--save", str(a_file / "x.png")]) == 2
    assert "which is a file, not a folder" in capsys.readouterr().err
    assert cli.main(["demo", "--rates", "0.1,0.1", "--save", str(tmp_path / "d.gif")]) == 2
    assert "holds 0.1 more than once" in capsys.readouterr().err
