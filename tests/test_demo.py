"""The classroom demo: its controls without a display, its files, and legibility on a projector."""

import io
import itertools
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from tinynet.apps import cli, demo
from tinynet.apps.demo import DemoSession
from tinynet.apps.demo import record as demo_record
from tinynet.plot import palette
from tinynet.plot.demo_figure import DemoFigure, new_figure

ROOT = Path(__file__).resolve().parent.parent


def _copy_weights(session, k):
    return [w[k].copy() for w in session.model.get_weights()]


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


# --- the controls, headless -----------------------------------------------------------
def test_copies_start_equal_and_see_the_same_batches():
    session = DemoSession("0.05,0.05", dataset="blobs", epochs=3)
    assert _same(_copy_weights(session, 0), _copy_weights(session, 1))
    session.run(2)  # same start, same rate, same batches: the same network
    assert np.allclose(session.loss[:, 0], session.loss[:, 1])


def test_set_rate_is_the_rate_of_the_next_update():
    changed = DemoSession("0.05,0.5", dataset="blobs", epochs=5)
    changed.set_rate(1, 0.05)  # before the first update: copy B now trains exactly as A
    assert changed.model.optimizer.current_learning_rate[1] == pytest.approx(0.05)
    changed.step()
    assert np.allclose(changed.loss[-1, 0], changed.loss[-1, 1])
    assert changed.rates[1] == 0.05 and changed.rate_changes == [(1, 0, 0.05)]


def test_set_rate_mid_run_changes_only_that_copy():
    changed, kept = (DemoSession("0.05,0.5", dataset="blobs", epochs=5) for _ in range(2))
    for session in (changed, kept):
        session.step()
    changed.set_rate(1, 0.2)
    for session in (changed, kept):
        session.step()
    assert _same(_copy_weights(changed, 0), _copy_weights(kept, 0))
    assert not np.allclose(changed.loss[-1, 1], kept.loss[-1, 1])
    with pytest.raises(ValueError, match="rate"):
        changed.set_rate(1, -1.0)


def test_fork_copies_weights_and_state_then_parts_ways():
    session = DemoSession("0.01", dataset="moons", optimizer="adam", epochs=10, spares=2)
    session.run(2)
    same = session.fork(0)  # same rate: stays the same network
    other = session.fork(0, rate=0.3)  # thirty times the rate: parts ways
    assert (same, other) == (1, 2) and session.selected == 2
    for j in (same, other):
        assert _same(_copy_weights(session, j), _copy_weights(session, 0))
        for slots in session.model.optimizer.get_state()["slots"]:
            for value in slots.values():
                assert np.array_equal(value[j], value[0])
    assert session.born[other] == 2 and session.parent[other] == (0, 2)
    assert session.loss[-1, other] == session.loss[-1, 0]
    assert np.isnan(session.loss[0, other])  # not drawn before the fork
    session.run(3)
    assert np.allclose(session.loss[-1, same], session.loss[-1, 0], rtol=1e-4)
    assert not np.allclose(session.loss[-1, other], session.loss[-1, 0], rtol=1e-3)
    with pytest.raises(ValueError, match="free copy"):
        session.fork(0)


def test_fork_and_set_rate_refuse_free_and_diverged_copies():
    session = DemoSession("0.05,1e20", dataset="spirals", epochs=5, spares=1)
    session.run(3)
    with pytest.raises(ValueError, match="diverged"):
        session.fork(1)
    with pytest.raises(ValueError, match="diverged"):
        session.set_rate(1, 0.1)
    with pytest.raises(ValueError, match="free"):
        session.set_rate(2, 0.1)
    with pytest.raises(ValueError, match="copy number"):
        session.set_rate(7, 0.1)


def test_pause_step_and_the_planned_end():
    session = DemoSession("0.05,0.5", dataset="blobs", epochs=2)
    session.pause()
    assert session.advance() is False and session.epoch == 0
    session.step()  # Step trains one epoch while paused
    assert session.epoch == 1 and session.paused
    assert session.toggle_pause() is False
    assert session.advance() is True and session.epoch == 2 and session.done
    assert session.advance() is False  # the planned run is over
    session.pause()
    session.resume()  # at the end, Resume plans as many epochs again
    assert session.epochs == 4 and session.advance() is True
    session.run(3)  # stepped past the plan: Resume still plans as many again from here
    session.resume()
    assert session.epochs == session.epoch + 2 and session.advance() is True


def test_a_large_rate_grows_and_trains_on_an_absurd_one_goes_non_finite():
    # under the clipped cross-entropy, lr 50 makes the loss jump past 4x its best but it
    # stays finite: the copy is marked "grew" and trains on (observe, don't intervene);
    # only a loss that goes non-finite (lr 1e20) ends a copy
    session = DemoSession("0.05,50,0.0001", dataset="spirals", epochs=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the session keeps the engine's warnings quiet
        session.run(8)
    assert session.diverged.tolist() == [False, False, False]
    assert session.grew.tolist() == [False, True, False] and session.grew_epoch[1] >= 1
    assert np.all(np.isfinite(session.loss[1:, 1]))  # it kept training, all epochs drawn
    assert session.stuck[2] and not session.stuck[0]
    absurd = DemoSession("0.05,1e20", dataset="spirals", epochs=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        absurd.run(4)
    assert absurd.diverged.tolist() == [False, True] and absurd.diverged_epoch[1] >= 1
    assert np.all(np.isnan(absurd.loss[absurd.diverged_epoch[1] + 1:, 1]))
    fig = new_figure()
    view = DemoFigure(fig, absurd)
    assert "diverged" in view._regions[1]["title"].get_text()
    xs, ys = view._curves["loss"]["x"][1].get_data()
    assert list(xs) == [absurd.diverged_epoch[1]] and np.isfinite(ys[0])
    assert len(view._curves["loss"]["x"][0].get_data()[0]) == 0
    assert not view._regions[1]["image"].get_visible()
    view = DemoFigure(new_figure(), session)
    titles = [view._regions[k]["title"].get_text() for k in range(3)]
    assert "stuck" in titles[1] or "grew" in titles[1]
    assert "stuck" in titles[2] and "stuck" not in titles[0]
    assert view._regions[1]["image"].get_visible()  # a copy that grew is still drawn


# --- legibility -------------------------------------------------------------------------
def _texts(fig):
    from matplotlib.text import Text

    fig.savefig(io.BytesIO(), format="png")  # lay out: ticks exist only after a draw
    return [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]


def test_every_text_is_at_least_14_points():
    session = DemoSession("0.001,0.05,0.5,3.0", dataset="spirals", epochs=3)
    session.run(3)
    fig = new_figure()
    DemoFigure(fig, session)
    texts = _texts(fig)
    assert len(texts) > 20  # titles, labels, ticks, legend
    small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < 14]
    assert not small


def test_the_window_and_its_widgets_are_legible_too():
    from tinynet.apps.demo.window import DemoWindow

    window = DemoWindow(DemoSession("0.05,0.5", dataset="blobs", epochs=3, spares=2),
                        pyplot=False)
    small = [(t.get_text(), t.get_fontsize()) for t in _texts(window.fig)
             if t.get_fontsize() < 14]
    assert not small


def test_frames_are_projector_sized():
    fig = new_figure()
    width, height = fig.get_size_inches() * fig.dpi
    assert width >= 1280 and height >= 720 and abs(width / height - 16 / 9) < 0.01


def _srgb_to_lab(hex_color, simulate=None):
    rgb = np.array([int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    if simulate is not None:
        lin = np.clip(simulate @ lin, 0.0, 1.0)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ lin / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB
DEUTAN = np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                   [-0.011820, 0.042940, 0.968881]])
PROTAN = np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]])


def _closest(colors, simulate=None):
    labs = [_srgb_to_lab(c, simulate) for c in colors]
    return min(np.linalg.norm(a - b) for a, b in itertools.combinations(labs, 2))


@pytest.mark.parametrize("colors", [palette.RATE_COLORS, palette.CLASS_COLORS[:4]],
                         ids=["rates", "classes"])
def test_palette_colours_stay_apart_for_colour_blind_viewers(colors):
    # CIE76 distances; the old rate colours (#9467bd beside #e377c2) had 27.7 and, for a
    # deutan viewer, 7.6
    assert _closest(colors) > 30
    assert _closest(colors, DEUTAN) > 15
    assert _closest(colors, PROTAN) > 15
    assert len(set(palette.RATE_STYLES)) == len(palette.RATE_STYLES)  # not colour alone


# --- files ------------------------------------------------------------------------------
def _run_cli(argv):
    return cli.main(argv + ["--no-progress"])


def test_save_gif_is_a_projector_sized_animation(tmp_path, capsys):
    from PIL import Image

    gif = tmp_path / "class.gif"
    assert _run_cli(["demo", "--save", str(gif), "--epochs", "3", "--rates", "0.05,50",
                     "--dataset", "spirals"]) == 0
    assert gif.read_bytes()[:6] == b"GIF89a"
    with Image.open(gif) as im:
        assert im.size[0] >= 1280 and im.size[1] >= 720 and im.n_frames == 3
        im.seek(2)
        assert im.convert("RGB").getpixel((3, 3)) == (255, 255, 255)  # one palette, still white
    out = capsys.readouterr().out
    assert str(gif) in out and "lr 50: loss" in out and "grew" in out
    assert os.listdir(tmp_path) == ["class.gif"]


def test_save_png_is_the_final_frame_as_a_png(tmp_path):
    from PIL import Image

    png = tmp_path / "final.png"
    assert _run_cli(["demo", "--save", str(png), "--epochs", "2", "--dataset", "blobs"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as im:
        assert im.size[0] >= 1280 and im.size[1] >= 720


def test_an_unknown_suffix_is_refused_with_the_choices(tmp_path, capsys):
    assert _run_cli(["demo", "--save", str(tmp_path / "x.txt"), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ".gif" in err and ".mp4" in err and ".png" in err
    assert os.listdir(tmp_path) == []


def test_mp4_without_ffmpeg_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    from matplotlib import animation

    monkeypatch.setattr(animation.writers, "is_available", lambda name: False)
    assert _run_cli(["demo", "--save", str(tmp_path / "x.mp4"), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "ffmpeg" in err and "install" in err and ".gif" in err


def test_without_a_display_the_default_goes_to_the_output_folder(tmp_path, monkeypatch,
                                                                 capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(os, "name", "posix")
    assert _run_cli(["demo", "--epochs", "2", "--dataset", "blobs"]) == 0
    target = tmp_path / "tinynet-out" / "demo" / "demo.gif"
    assert target.read_bytes()[:6] == b"GIF89a"
    assert str(target) in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path)) == ["tinynet-out"]


def test_progress_goes_to_stderr(tmp_path, capsys):
    assert cli.main(["demo", "--save", str(tmp_path / "p.png"), "--epochs", "3",
                     "--dataset", "blobs"]) == 0
    err = capsys.readouterr().err
    assert "3/3" in err and "epoch" in err


def test_frames_are_drawn_every_few_epochs_and_always_at_the_end():
    assert demo_record.frame_epochs(2) == [1, 2]
    frames = demo_record.frame_epochs(60)
    assert len(frames) <= demo_record.MAX_FRAMES and frames[-1] == 60
    assert demo_record.frame_epochs(7, max_frames=3) == [3, 6, 7]


# --- the window and the notebook ---------------------------------------------------------
def test_window_handlers_drive_the_session():
    from tinynet.apps.demo.window import DemoWindow

    session = DemoSession("0.05,0.5", dataset="blobs", epochs=5, spares=1)
    window = DemoWindow(session, pyplot=False)
    window.on_step()
    assert session.epoch == 1 and session.paused
    window.radio.set_active(1)
    assert session.selected == 1
    window.slider.set_val(-1.0)  # log10(rate)
    assert session.rates[1] == pytest.approx(0.1)
    assert window.slider.valtext.get_text() == "0.1"
    window.on_fork()
    assert session.active[2] and session.selected == 2 and session.rates[2] == pytest.approx(0.1)
    window.on_fork()  # no free copy left: a message, not a traceback
    assert "free copy" in window.message.get_text()
    window.on_pause()
    assert not session.paused and window.buttons["Pause"].label.get_text() == "Pause"
    window.on_tick()
    assert session.epoch == 2


def test_notebook_demo_object_without_a_kernel():
    pytest.importorskip("ipywidgets")
    nb = demo.notebook("0.05,0.5", dataset="blobs", epochs=2, display=False)
    assert nb.session.n_copies == 6 and nb.image.value[:4] == b"\x89PNG"
    nb.buttons["step"].click()
    nb.copy.value = 1
    nb.rate.value = 0.2
    assert nb.session.rates[1] == pytest.approx(0.2)
    nb.buttons["fork"].click()
    assert nb.session.active[2] and nb.copy.value == 2
    nb.run(1)
    assert nb.session.epoch == 2
    nb.buttons["play"].click()  # no event loop here: Play trains the planned epochs at once
    assert nb.session.epoch == 4 and nb.session.paused


def test_notebook_demo_runs_in_a_real_kernel(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("ipywidgets")
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "from tinynet.apps.demo import notebook\n"
            "tn_demo = notebook('0.05,0.5', dataset='blobs', epochs=2)\n"
            "tn_demo.buttons['step'].click()\n"
            "tn_demo.run(1)\n"
            "print('epochs', tn_demo.session.epoch)")
    play = ("import asyncio\n"
            "tn_demo.buttons['play'].click()  # Play: trains in the background, 2 more epochs\n"
            "for _ in range(400):\n"
            "    if tn_demo.session.paused:\n"
            "        break\n"
            "    await asyncio.sleep(0.05)\n"
            "print('played', tn_demo.session.epoch)")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code),
                                         nbformat.v4.new_code_cell(play)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    client = nbclient.NotebookClient(nb, timeout=60, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = nb.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "epochs 2" in text
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for o in outputs if o.get("output_type") == "display_data")
    played = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert "played 4" in played


def test_set_rate_goes_through_the_schedule():
    import tinynet as tn

    session = DemoSession("0.1,0.1", dataset="blobs", schedule="cosine", epochs=4)
    session.step()
    session.set_rate(1, 0.3)
    opt = session.model.optimizer
    expected = tn.schedules.CosineDecay(0.3, session.total_steps)(opt.iterations)
    assert opt.current_learning_rate[1] == pytest.approx(expected)
    session.step()
    assert not np.allclose(session.loss[-1, 0], session.loss[-1, 1])


def test_save_mp4_when_ffmpeg_is_there(tmp_path):
    from matplotlib import animation

    if not animation.writers.is_available("ffmpeg"):
        pytest.skip("ffmpeg is not installed here")
    mp4 = tmp_path / "class.mp4"
    assert _run_cli(["demo", "--save", str(mp4), "--epochs", "2", "--dataset", "blobs"]) == 0
    assert mp4.read_bytes()[4:8] == b"ftyp"


def test_window_keys_pause_and_step():
    from types import SimpleNamespace

    from tinynet.apps.demo.window import DemoWindow

    window = DemoWindow(DemoSession("0.05,0.5", dataset="blobs", epochs=3), pyplot=False)
    window.on_key(SimpleNamespace(key=" "))
    assert window.session.paused
    window.on_key(SimpleNamespace(key="n"))
    assert window.session.epoch == 1


def test_resume_after_a_cosine_plan_trains_and_a_new_rate_takes_effect():
    """A cosine schedule ends at 0: Resume plans its schedules again (a restart from each
    copy's rate), so the training that goes on is not frozen at rate 0, and a rate set
    afterwards is the one the next update uses."""
    session = DemoSession("0.05,0.5", dataset="blobs", schedule="cosine", epochs=2)
    session.run(2)
    assert session.done
    session.resume()
    before = session.model.get_weights()
    session.set_rate(1, 2.0)
    assert session.model.optimizer.current_learning_rate[1] == pytest.approx(2.0)
    session.run(1)  # half of the new plan: the restarted cosine is half way down
    rates = session.model.optimizer.current_learning_rate
    assert 0 < rates[0] < 0.05 and 0 < rates[1] < 2.0
    after = session.model.get_weights()
    assert all(np.any(a[i] != b[i]) for a, b in zip(after, before) for i in (0, 1))
