"""tinynet._files: atomic writes."""

import os

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
