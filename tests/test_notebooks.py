"""The lessons open as notebooks: one is converted with jupytext and executed
headless with nbclient on a real Python kernel, so the notebook path cannot rot."""

import os
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"


def test_every_lesson_is_a_percent_notebook_with_narrative_cells():
    for path in sorted(LESSONS.glob("[0-9][0-9]_*.py")):
        nb = jupytext.read(path)
        kinds = [cell.cell_type for cell in nb.cells]
        assert kinds[0] == "markdown" and kinds.count("markdown") >= 3, path.name
        assert nb.cells[0].source.startswith("# Lesson"), path.name
        assert "_common.cli(main)" in nb.cells[-1].source, path.name


def test_every_lesson_ends_with_a_takeaway_computed_from_its_run():
    # the closing takeaway goes through _common.takeaway, fed by the lesson's own
    # numbers; no lesson filters warnings to hide what the engine reports.
    paths = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
    assert len(paths) >= 22
    for path in paths:
        source = path.read_text(encoding="utf-8")
        assert "_common.takeaway(" in source, path.name
        assert "filterwarnings" not in source, path.name


def test_a_lesson_runs_as_a_notebook_and_shows_its_figures(tmp_path, monkeypatch):
    nb = jupytext.read(LESSONS / "02_schedule_gallery.py")
    out = tmp_path / "figures"
    monkeypatch.setenv("TINYNET_LESSON_ARGS", f"--quick --out {out}")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(LESSONS)}})
    client.execute()
    images = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
              if "image/png" in o.get("data", {})]
    saved = sorted(out.glob("*.png"))
    assert saved and len(images) == len(saved)
