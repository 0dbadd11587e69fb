"""The demo in a matplotlib window: the picture plus widgets that call a DemoSession.

Controls (bottom strip):
- "copy": RadioButtons, which copy the slider and the fork act on;
- "rate": a Slider over log10(rate), showing the rate itself; moving it sets the
  selected copy's rate for its next update;
- "Fork": copies the selected copy's weights and optimiser state into a free copy
  that trains on at the slider's rate ("same point, two rates");
- "Pause" / "Resume", and "Step" (one epoch, pausing first); keys: space, n.
Every handler is a method of DemoWindow, so tests can call them without a display.
"""

import math

from tinynet.plot.demo_figure import CONTROLS_HEIGHT, DemoFigure, new_figure
from tinynet.plot.palette import FONT_LABEL, FONT_LEGEND, FONT_TICK

LOG_MIN, LOG_MAX = -4.0, 1.5  # the slider's range of log10(rate): 1e-4 .. about 30


class DemoWindow:
    """The figure, its widgets and a timer that trains one epoch per tick.

    pyplot=False builds on a plain Figure (tests); show() needs pyplot=True.
    """

    def __init__(self, session, pyplot=True, interval_ms=30):
        from matplotlib.widgets import Button, RadioButtons, Slider

        self.session = session
        self.fig = new_figure(pyplot=pyplot)
        self.view = DemoFigure(self.fig, session, controls=True)
        h = CONTROLS_HEIGHT
        fig = self.fig
        ax_radio = fig.add_axes((0.02, 0.01, 0.22, h - 0.02))
        self.radio = RadioButtons(ax_radio, [session.label(k) for k in range(session.n_copies)],
                                  active=session.selected)
        for text in self.radio.labels:
            text.set_fontsize(FONT_TICK)
        ax_slider = fig.add_axes((0.36, h * 0.62, 0.36, h * 0.22))
        self.slider = Slider(ax_slider, "rate", LOG_MIN, LOG_MAX, valstep=0.1,
                             valinit=_log(session.rates[session.selected]))
        self.slider.label.set_fontsize(FONT_LABEL)
        self.slider.valtext.set_fontsize(FONT_LABEL)
        self._show_rate(self.slider.val)
        self.buttons = {}
        for i, name in enumerate(("Fork", "Pause", "Step")):
            ax = fig.add_axes((0.36 + 0.125 * i, h * 0.12, 0.11, h * 0.36))
            self.buttons[name] = Button(ax, name)
            self.buttons[name].label.set_fontsize(FONT_LABEL)
        self.message = fig.text(0.75, h * 0.30, "", fontsize=FONT_LEGEND, va="center",
                                wrap=True)
        self._quiet = False  # True while the code (not the user) moves the slider
        self.radio.on_clicked(self.on_select)
        self.slider.on_changed(self.on_slide)
        self.buttons["Fork"].on_clicked(self.on_fork)
        self.buttons["Pause"].on_clicked(self.on_pause)
        self.buttons["Step"].on_clicked(self.on_step)
        fig.canvas.mpl_connect("key_press_event", self.on_key)
        self.timer = None
        if pyplot:
            self.timer = fig.canvas.new_timer(interval=interval_ms)
            self.timer.add_callback(self.on_tick)

    # --- handlers -------------------------------------------------------------------
    def on_select(self, label):
        labels = [t.get_text() for t in self.radio.labels]
        k = labels.index(label) if label in labels else self.session.selected
        self.session.selected = k
        if self.session.active[k]:
            self._quiet = True
            self.slider.set_val(_log(self.session.rates[k]))
            self._quiet = False
        self._refresh()

    def on_slide(self, value):
        self._show_rate(value)
        if self._quiet:
            return
        self._try(self.session.set_rate, self.session.selected, slider_rate(value))

    def on_fork(self, _event=None):
        source = self.session.selected
        j = self._try(self.session.fork, source, slider_rate(self.slider.val))
        if j is not None:
            self.radio.set_active(j)  # calls on_select: the new copy is the selected one
            self.message.set_text(f"forked at epoch {self.session.epoch}")

    def on_pause(self, _event=None):
        paused = self.session.toggle_pause()
        self.buttons["Pause"].label.set_text("Resume" if paused else "Pause")
        self._refresh()

    def on_step(self, _event=None):
        self.session.pause()
        self.buttons["Pause"].label.set_text("Resume")
        self._try(self.session.step)

    def on_key(self, event):
        """Keys for a presenter with a clicker: space pauses/resumes, n steps one epoch."""
        if event.key == " ":
            self.on_pause()
        elif event.key == "n":
            self.on_step()

    def on_tick(self):
        if self.session.advance():
            self._refresh()
        elif not self.session.paused:  # the planned epochs are done: show it as paused
            self.session.pause()
            self.buttons["Pause"].label.set_text("Resume")
            self._refresh()

    def show(self):
        """Start the timer and block in the window until it is closed."""
        import matplotlib.pyplot as plt

        self.timer.start()
        plt.show()

    # --- helpers --------------------------------------------------------------------
    def _try(self, action, *args):
        """Run a session method; a refusal becomes the message line, not a traceback."""
        try:
            result = action(*args)
        except ValueError as exc:
            self.message.set_text(str(exc).removeprefix("demo: "))
            self.fig.canvas.draw_idle()
            return None
        self.message.set_text("")
        self._refresh()
        return result

    def _refresh(self):
        self._show_rate(self.slider.val)
        for text, k in zip(self.radio.labels, range(self.session.n_copies)):
            text.set_text(self.session.label(k))
        self.view.update()
        self.fig.canvas.draw_idle()

    def _show_rate(self, value):
        self.slider.valtext.set_text(f"{slider_rate(value):g}")
        name = self.session.label(self.session.selected).split()[0]
        self.slider.label.set_text(f"rate of {name}")


def slider_rate(value):
    """The rate a slider position log10(rate) stands for, rounded to 2 digits (0.05, not 0.0501)."""
    return float(f"{10.0 ** value:.2g}")


def _log(rate):
    return min(max(math.log10(rate), LOG_MIN), LOG_MAX)
