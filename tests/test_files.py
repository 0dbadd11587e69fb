"""tinynet._files: atomic writes."""

import os
import signal
import stat
import subprocess
import sys
import textwrap

import pytest

from tinynet import _files


def test_atomic_path_leaves_nothing_when_interrupted(tmp_path):
    target = tmp_path / "results.csv"
    with pytest.raises(KeyboardInterrupt):
        with _files.atomic_path(target) as tmp:
            with open(tmp, "w") as f:
                f.write("half a fi")
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []
    _files.write_text(target, "done\n")
    assert target.read_text() == "done\n" and os.listdir(tmp_path) == ["results.csv"]


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_file_gets_the_umask_mode_not_0600(tmp_path, umask_022):
    _files.write_text(tmp_path / "a.txt", "x")
    assert _mode(tmp_path / "a.txt") == 0o644


def test_a_replaced_file_keeps_its_mode(tmp_path, umask_022):
    path = tmp_path / "a.txt"
    path.write_text("old")
    os.chmod(path, 0o640)
    _files.write_text(path, "new")
    assert path.read_text() == "new" and _mode(path) == 0o640


def test_model_save_uses_the_same_rules(tmp_path, umask_022):
    import tinynet as tn

    model = tn.Sequential([tn.layers.Dense(2, input_dim=3)], seed=0)
    model.save(tmp_path / "m.npz")
    assert _mode(tmp_path / "m.npz") == 0o644
    os.chmod(tmp_path / "m.npz", 0o600)
    model.save(tmp_path / "m.npz")
    assert _mode(tmp_path / "m.npz") == 0o600
    assert os.listdir(tmp_path) == ["m.npz"]


def test_a_symlink_is_written_through(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "data.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    _files.write_text(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["link.csv", "real"]
    assert os.listdir(tmp_path / "real") == ["data.csv"]


def test_a_missing_folder_names_the_users_path(tmp_path):
    path = tmp_path / "no" / "such" / "file.csv"
    with pytest.raises(FileNotFoundError) as info:
        _files.write_text(path, "x")
    assert str(path) in str(info.value) and _files.TMP_MARK not in str(info.value)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root can write anywhere")
def test_an_unwritable_folder_names_the_users_path(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    os.chmod(folder, 0o500)
    try:
        with pytest.raises(PermissionError) as info:
            _files.write_text(folder / "file.csv", "x")
    finally:
        os.chmod(folder, 0o700)
    assert str(folder / "file.csv") in str(info.value)
    assert _files.TMP_MARK not in str(info.value)
    assert os.listdir(folder) == []


def test_a_process_killed_mid_save_leaves_a_temporary_that_can_be_found(tmp_path):
    target = tmp_path / "results.csv"
    target.write_text("previous\n")
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from tinynet import _files
        with _files.atomic_path({str(target)!r}) as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            print("writing", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert target.read_text() == "previous\n"
    stale = _files.stale_temporaries(tmp_path)
    assert len(stale) == 1 and os.path.basename(stale[0]).startswith(".results.csv" +
                                                                        _files.TMP_MARK)
    assert _files.stale_temporaries(tmp_path / "elsewhere") == []
    for path in stale:
        os.remove(path)
    assert os.listdir(tmp_path) == ["results.csv"]


def test_a_permission_error_names_the_users_path_even_as_root(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".x.tinynet-tmp-1"))

    monkeypatch.setattr(_files.tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError) as info:
        _files.write_text(tmp_path / "file.csv", "x")
    assert str(tmp_path / "file.csv") in str(info.value)
    assert _files.TMP_MARK not in str(info.value)


@pytest.mark.parametrize("name", ["adir", "adir/"])
def test_a_folder_as_the_path_is_refused_naming_it(tmp_path, name):
    (tmp_path / "adir").mkdir()
    path = os.path.join(tmp_path, name)
    with pytest.raises(IsADirectoryError) as info:
        _files.write_text(path, "x")
    assert path in str(info.value) and _files.TMP_MARK not in str(info.value)
    assert os.listdir(tmp_path) == ["adir"]


def test_staged_files_move_in_together_or_not_at_all(tmp_path):
    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "b.txt").write_text("old b")
    with pytest.raises(KeyboardInterrupt):
        with _files.staged_files(tmp_path) as stage:
            _files.write_text(os.path.join(stage, "a.txt"), "new a")
            assert _files.stale_temporaries(tmp_path) == [stage]  # found if killed now
            raise KeyboardInterrupt
    assert (tmp_path / "a.txt").read_text() == "old a"
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt"]
    with _files.staged_files(tmp_path) as stage:
        _files.write_text(os.path.join(stage, "a.txt"), "new a")
        _files.write_text(os.path.join(stage, "c.txt"), "new c")
    assert [(tmp_path / n).read_text() for n in ("a.txt", "b.txt", "c.txt")] == [
        "new a", "old b", "new c"]
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt", "c.txt"]


def test_writing_below_a_file_says_it_is_a_file(tmp_path):
    from tinynet import _files

    a_file = tmp_path / "afile"
    a_file.write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        _files.write_text(a_file / "x.txt", "hello")


def _fifo(path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs os.mkfifo")
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("how", ["write_text", "model.save", "a link to it"])
def test_a_fifo_is_refused_and_left_a_fifo(tmp_path, how):
    import tinynet as tn

    fifo = _fifo(tmp_path / "out.npz")
    path = fifo
    if how == "a link to it":
        path = tmp_path / "link.npz"
        path.symlink_to(fifo)
    with pytest.raises(ValueError, match="is not a regular file .*FIFO") as info:
        if how == "model.save":
            tn.Sequential([tn.layers.Dense(2, input_dim=3)], seed=0).save(path)
        else:
            _files.write_text(path, "x")
    assert str(path) in str(info.value)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(os.listdir(tmp_path)) == sorted({"out.npz", path.name})


def test_staged_files_refuse_a_fifo_before_moving_any(tmp_path):
    (tmp_path / "a.txt").write_text("old a")
    _fifo(tmp_path / "b.txt")
    with pytest.raises(ValueError, match="is not a regular file .*FIFO"):
        with _files.staged_files(tmp_path) as stage:
            _files.write_text(os.path.join(stage, "a.txt"), "new a")
            _files.write_text(os.path.join(stage, "b.txt"), "new b")
    assert (tmp_path / "a.txt").read_text() == "old a"
    assert stat.S_ISFIFO(os.lstat(tmp_path / "b.txt").st_mode)
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt"]
