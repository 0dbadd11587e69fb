"""The demo written to a file: an animated GIF, an MP4 video or the final frame as a PNG.

The suffix of the path picks the format; anything else is refused before any
training starts, as is an .mp4 on a machine without ffmpeg. A progress bar over
the epochs goes to stderr. Frames are drawn every few epochs (at most
``max_frames``), since drawing, not training, is what takes the time.
"""

import math
import os
import sys

from tinynet import _files
from tinynet.plot.demo_figure import DPI, DemoFigure, new_figure

FORMATS = {".gif": "an animated GIF", ".mp4": "an MP4 video, needs ffmpeg",
           ".png": "the final frame as a still image"}
DEFAULT_PATH = os.path.join("tinynet-out", "demo", "demo.gif")
MAX_FRAMES = 20  # every 3rd epoch of the default 60: drawing is what costs


def check_path(path):
    """(path, suffix) for a file the demo can write; ValueError/OSError saying what to change."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        choices = "; ".join(f"{k} ({v})" for k, v in FORMATS.items())
        raise ValueError(f"demo: --save {path!r} has the suffix {ext or '(none)'!r}, which is "
                         f"not a format the demo writes. Choose one of: {choices}.")
    if os.path.isdir(path):
        raise ValueError(f"demo: --save must name a file, got the folder {path!r}.")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        if os.path.exists(parent):  # a path like afile/x.png
            raise OSError(f"demo: --save {path!r} puts the file inside {parent!r}, which is a "
                          "file, not a folder. Choose a path in a folder.")
        raise OSError(f"demo: the folder {parent!r} for --save does not exist.")
    if ext == ".mp4":
        from matplotlib import animation

        if not animation.writers.is_available("ffmpeg"):
            raise ValueError(
                "demo: writing .mp4 needs ffmpeg, which was not found on the PATH. Install it "
                "(Debian/Ubuntu: sudo apt install ffmpeg; macOS: brew install ffmpeg; conda: "
                "conda install -c conda-forge ffmpeg) or save a .gif instead.")
    return path, ext


def frame_epochs(epochs, max_frames=MAX_FRAMES):
    """The epochs (1..epochs) that get a frame: every k-th, the last always included."""
    every = max(1, math.ceil(epochs / max(1, max_frames)))
    return [e for e in range(1, epochs + 1) if e % every == 0 or e == epochs]


def write_file(session, path, fps=5, max_frames=MAX_FRAMES, progress=True):
    """Train ``session`` to its planned epochs and write the frames to ``path``; returns path."""
    path, ext = check_path(path)
    fig = new_figure()
    view = DemoFigure(fig, session)
    remaining = session.epochs - session.epoch
    wanted = {session.epoch + e for e in frame_epochs(remaining, max_frames)}
    bar = _bar(remaining, progress)
    try:
        if ext == ".png":
            _train(session, remaining, bar)
            view.update()
            _files.save_figure(fig, path, dpi=DPI)
            return path
        from matplotlib import animation

        writer = (_gif_writer(fps) if ext == ".gif"
                  else animation.FFMpegWriter(fps=fps, codec="h264"))  # + yuv420p: plays anywhere
        with _files.atomic_path(path, suffix=ext) as tmp, writer.saving(fig, tmp, dpi=DPI):
            if not wanted:
                writer.grab_frame()
            for _ in range(remaining):
                if not _train(session, 1, bar):
                    view.update()
                    writer.grab_frame()
                    break
                if session.epoch in wanted:
                    view.update()
                    writer.grab_frame()
    finally:
        if bar is not None:
            bar.close()
    return path


def _train(session, n, bar):
    """n epochs (fewer if every copy diverged); False when nothing was left to train."""
    for _ in range(n):
        if not session.running.any():
            return False
        session.step()
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(_summary(session), refresh=False)
    return True


def _summary(session):
    last = session.loss[-1]
    return " ".join(f"lr {session.rates[k]:g}: " + ("diverged" if session.diverged[k]
                                                    else f"{last[k]:.3g}"
                                                    + (" grew" if session.grew[k] else ""))
                    for k in range(session.n_copies) if session.active[k])


def _bar(total, progress):
    if not progress or total == 0:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is a dependency, but a bare line per epoch still helps
        return _Lines(total)
    return tqdm(total=total, desc="tinynet demo", unit="epoch", file=sys.stderr)


class _Lines:
    """A one-line-per-10-epochs stand-in for tqdm."""

    def __init__(self, total):
        self.total, self.n = total, 0

    def update(self, n):
        self.n += n
        if self.n % 10 == 0 or self.n == self.total:
            print(f"tinynet demo: epoch {self.n}/{self.total}", file=sys.stderr, flush=True)

    def set_postfix_str(self, text, refresh=False):
        pass

    def close(self):
        pass


def _gif_writer_class():
    from matplotlib.animation import PillowWriter

    class GifWriter(PillowWriter):
        """PillowWriter, with every frame mapped onto one palette (3-6x faster to save).

        The palette is taken from the first and last frames together, which hold
        every colour the demo draws; no dithering, so flat regions stay flat.
        """

        def finish(self):
            frames = getattr(self, "_frames", None)
            if not frames or any(f.mode != "RGB" for f in frames):
                return super().finish()  # transparency or a new matplotlib: the plain way
            from PIL import Image

            w, h = frames[0].size
            sample = Image.new("RGB", (w, 2 * h))
            sample.paste(frames[0], (0, 0))
            sample.paste(frames[-1], (0, h))
            colors = sample.quantize(colors=255, method=Image.Quantize.MEDIANCUT).getpalette()
            entries = [colors[i:i + 3] for i in range(0, min(len(colors), 3 * 255), 3)]
            # Pillow maps onto a palette approximately: snap near-whites to white, or the
            # background comes out (252, 252, 251)
            entries = [[255, 255, 255] if min(c) >= 248 else c for c in entries]
            palette = Image.new("P", (1, 1))
            palette.putpalette([v for c in entries for v in c] + [0, 0, 0])
            mapped = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
            mapped[0].save(self.outfile, save_all=True, append_images=mapped[1:],
                           duration=int(1000 / self.fps), loop=0)

    return GifWriter


def _gif_writer(fps):
    return _gif_writer_class()(fps=fps)
