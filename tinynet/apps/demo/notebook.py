"""The demo in Jupyter: the same picture, with ipywidgets controls calling a DemoSession.

    from tinynet.apps.demo import notebook
    demo = notebook("0.001,0.05,0.5", dataset="spirals", epochs=60)   # shows it; press Play

Controls: a FloatLogSlider for the rate of the copy picked in the Dropdown,
Play/Pause (trains in the background, so the other buttons stay live), Step
(one epoch), Fork (the selected copy's weights and optimiser state go into a
free copy at the slider's rate) and "Run N" epochs. The figure is redrawn as a
PNG into an Image widget, so no matplotlib widget backend (ipympl) is needed.
``demo.session`` is the DemoSession; ``demo.run(n)`` trains n epochs from code.

ipywidgets is imported when ``notebook()`` is called, not with tinynet.
"""

import asyncio
import io

from tinynet.apps.demo.session import DemoSession
from tinynet.apps.demo.setup import DEFAULT_RATES, MAX_COPIES, parse_rates
from tinynet.plot.demo_figure import DPI, DemoFigure, new_figure

_BIG = {"font_size": "18px"}  # buttons and the status line (the figure has its own sizes)


def notebook(rates=DEFAULT_RATES, dataset="spirals", optimizer="sgd", schedule="constant",
             epochs=60, batch_size=32, seed=0, spares=None, display=True):
    """Build the widget demo (and display it); returns a NotebookDemo.

    The arguments are DemoSession's; spares defaults to filling the stack to six
    copies, so there is room to fork. display=False builds without showing.
    """
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        raise ImportError("tinynet's notebook demo needs ipywidgets: pip install ipywidgets "
                          "(in the kernel's environment), then restart the kernel.") from None
    rates = parse_rates(rates)
    spares = MAX_COPIES - len(rates) if spares is None else spares
    session = DemoSession(rates, dataset=dataset, optimizer=optimizer, schedule=schedule,
                          epochs=epochs, batch_size=batch_size, seed=seed, spares=spares)
    demo = NotebookDemo(session)
    if display:
        from IPython.display import display as show

        show(demo.widget)
    return demo


class NotebookDemo:
    """The widgets around one DemoSession; every handler is a method (callable from code)."""

    def __init__(self, session):
        import ipywidgets as w

        self.session = session
        session.pause()  # the class starts it with Play
        self.fig = new_figure()
        self.view = DemoFigure(self.fig, session, panels=range(session.n_copies),
                               show_selected=True)
        self.image = w.Image(format="png", layout=w.Layout(width="100%"))
        self.copy = w.Dropdown(options=self._options(), value=session.selected,
                               description="copy")
        self.rate = w.FloatLogSlider(value=session.rates[session.selected], base=10, min=-4,
                                     max=1.5, step=0.05, description="rate",
                                     readout_format=".3g", continuous_update=False,
                                     layout=w.Layout(width="45%"))
        self.n_epochs = w.BoundedIntText(value=10, min=1, max=10000, description="N",
                                         layout=w.Layout(width="9em"))
        self.buttons = {name: w.Button(description=label, style=_BIG,
                                       layout=w.Layout(width="9em", height="2.5em"))
                        for name, label in (("play", "Play"), ("step", "Step"),
                                            ("fork", "Fork"), ("run", "Run N"))}
        self.status = w.HTML(value="", style=_BIG)
        self.widget = w.VBox([self.image, w.HBox([self.copy, self.rate]),
                              w.HBox([*self.buttons.values(), self.n_epochs]), self.status])
        self._quiet = False  # True while code (not the user) moves the slider or dropdown
        self._task = None
        self.copy.observe(self.on_select, names="value")
        self.rate.observe(self.on_rate, names="value")
        self.buttons["play"].on_click(self.on_play)
        self.buttons["step"].on_click(self.on_step)
        self.buttons["fork"].on_click(self.on_fork)
        self.buttons["run"].on_click(lambda _b: self.run(self.n_epochs.value))
        self.redraw()

    # --- handlers -------------------------------------------------------------------
    def on_select(self, change):
        if self._quiet:
            return
        k = change["new"]
        self.session.selected = k
        if self.session.active[k]:
            self._set_quietly(self.rate, "value", self.session.rates[k])
        self.redraw()

    def on_rate(self, change):
        if not self._quiet:
            self._try(self.session.set_rate, self.session.selected, change["new"])

    def on_fork(self, _button=None):
        j = self._try(self.session.fork, self.session.selected, self.rate.value)
        if j is not None:
            self.status.value = f"<b>forked into copy {self.session.label(j)}</b>"

    def on_step(self, _button=None):
        self.session.pause()
        self._try(self.session.step)

    def on_play(self, _button=None):
        """Play: train in the background until Pause, the planned epochs, or no copy left."""
        if not self.session.paused:
            self.session.pause()
            return
        self.session.resume()
        try:
            loop = asyncio.get_running_loop()  # Jupyter's: train between widget events
        except RuntimeError:  # plain Python, no event loop: train to the end now
            self.run(self.session.epochs - self.session.epoch)
            return
        self.buttons["play"].description = "Pause"
        self._task = loop.create_task(self._play())

    def run(self, n):
        """Train n epochs now (blocking), redrawing after each."""
        self.session.pause()
        for _ in range(n):
            if not self.session.running.any():
                break
            if self._try(self.session.step) is None:
                break
        return self.session

    # --- helpers --------------------------------------------------------------------
    async def _play(self):
        try:
            while self.session.advance():
                self.redraw()
                await asyncio.sleep(0.01)  # let button clicks in
        finally:
            self.session.pause()
            self.buttons["play"].description = "Play"

    def redraw(self):
        self._set_quietly(self.copy, "options", self._options())
        self._set_quietly(self.copy, "value", self.session.selected)
        self.view.update()
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=DPI)
        self.image.value = buffer.getvalue()

    def _options(self):
        return [(self.session.label(k), k) for k in range(self.session.n_copies)]

    def _set_quietly(self, widget, name, value):
        self._quiet = True
        try:
            setattr(widget, name, value)
        finally:
            self._quiet = False

    def _try(self, action, *args):
        """Run a session method; a refusal goes to the status line, not a traceback."""
        try:
            result = action(*args)
        except ValueError as exc:
            self.status.value = f"<b>{str(exc).removeprefix('demo: ')}</b>"
            return None
        self.status.value = ""
        self.redraw()
        return self.session if result is None else result
