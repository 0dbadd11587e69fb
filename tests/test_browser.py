"""The classroom demo where a class sees it: JupyterLab in a real headless Chromium.

The kernel test (tests/test_demo.py) checks the Python side; this one checks what the
browser shows. A JupyterLab server starts on 127.0.0.1 with a token, Chromium (the
distribution's, driven by Playwright) opens a notebook that builds the demo, and the test
presses Play, moves the rate slider, presses Fork and Pause, reading the figure from
screenshots and the session's state from a probe cell run beside the demo. A lesson
notebook is opened the same way and its figures must appear. Screenshots go to the test's
output folder (printed; ``TINYNET_TEST_OUTPUT`` chooses it).

Skips with the reason when JupyterLab, Playwright or Chromium is missing
(``apt-get install chromium``; ``pip install -e ".[test,notebook]"``).
"""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
jupytext = pytest.importorskip("jupytext")
pytest.importorskip("jupyterlab",
                    reason="the browser test needs JupyterLab: pip install jupyterlab")
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="the browser test needs Playwright: pip install playwright")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = next((p for p in (os.environ.get("TINYNET_CHROMIUM"), shutil.which("chromium"),
                             shutil.which("chromium-browser")) if p), None)
if CHROMIUM is None:
    pytest.skip("no Chromium to drive: apt-get install chromium (Debian), or set "
                "TINYNET_CHROMIUM to a Chromium executable", allow_module_level=True)

# Chromium as a sandboxed root process on a closed network (no update checks, no sync).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
TOKEN = "tinynet-browser-test"
DEMO_CELL = ("from tinynet.apps.demo import notebook\n"
             "demo = notebook('0.001,0.05,0.5', dataset='spirals', epochs=400)")
PROBE_CELL = ("s = demo.session\n"
              "print('STATE', repr(float(s.rates[s.selected])), int(s.active.sum()), s.epoch)")
LESSON = "02_schedule_gallery.py"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_notebooks(folder, figures):
    cells = [nbformat.v4.new_code_cell(DEMO_CELL), nbformat.v4.new_code_cell(PROBE_CELL)]
    demo = nbformat.v4.new_notebook(cells=cells)
    demo.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                   "language": "python"}
    nbformat.write(demo, folder / "demo.ipynb")
    lesson = jupytext.read(ROOT / "lessons" / LESSON)
    lesson.metadata["kernelspec"] = demo.metadata["kernelspec"]
    nbformat.write(lesson, folder / "lesson.ipynb")
    return {"TINYNET_LESSON_ARGS": f"--quick --out {figures}"}


def _lab_settings(folder):
    """Start the notebook's kernel without asking, and no news pop-up over the widgets."""
    settings = {"docmanager-extension/plugin": {"autoStartDefaultKernel": True},
                "apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False}}
    for name, values in settings.items():
        path = folder / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return folder


@pytest.fixture(scope="module")
def output_folder(tmp_path_factory):
    chosen = os.environ.get("TINYNET_TEST_OUTPUT")
    folder = Path(chosen) / "browser" if chosen else tmp_path_factory.mktemp("browser")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving a folder with the two notebooks."""
    folder = tmp_path_factory.mktemp("lab")
    figures = folder / "figures"
    env = dict(os.environ, **_write_notebooks(folder, figures),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "lessons")]),
               JUPYTER_CONFIG_DIR=str(folder / ".config"),
               JUPYTER_RUNTIME_DIR=str(folder / ".runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(folder / ".workspaces"),
               JUPYTERLAB_SETTINGS_DIR=str(_lab_settings(folder / ".settings")))
    env.pop("MPLBACKEND", None)  # the kernel's inline backend shows the lesson's figures
    port = _free_port()
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
               f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={folder}",
               "--LabApp.news_url=None", "--ServerApp.open_browser=False"]
    with open(folder / "server.log", "w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(base, server, folder / "server.log")
        yield {"base": base, "figures": figures}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _wait_for_server(base, server, log, limit=120.0):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"JupyterLab did not answer within {limit:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _open(browser, lab, name):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.set_default_timeout(60_000)
    # a workspace of its own (reset): JupyterLab would otherwise reopen the tabs of the
    # previous page, and "Run All" or the kernel's "Idle" could be another notebook's
    workspace = name.replace(".", "-")
    page.goto(f"{lab['base']}/lab/workspaces/{workspace}/tree/{name}?reset&token={TOKEN}")
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()  # the kernel has started
    tabs = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab")
    assert tabs.count() == 1 and name in tabs.first.inner_text(), tabs.all_inner_texts()
    return page


@contextlib.contextmanager
def _screenshot_on_failure(page, folder, name):
    """Keep what the browser showed when a check failed (and the page's text)."""
    try:
        yield
    except Exception:
        page.screenshot(path=folder / f"failed_{name}.png", full_page=True)
        (folder / f"failed_{name}.txt").write_text(page.locator("body").inner_text())
        raise


def _run_all(page):
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).first.click()


class Demo:
    """The demo as the browser shows it: its figure, its buttons, its probe cell."""

    def __init__(self, page, folder):
        self.page, self.folder = page, folder
        self.widget = page.locator(".jp-Cell").nth(0).locator(".jupyter-widgets.widget-vbox")
        self.probe_cell = page.locator(".jp-Cell").nth(1)
        self.shots = 0

    def button(self, label):
        return self.widget.locator(f"button:has-text('{label}')")

    def figure(self, name):
        """The figure's pixels (a screenshot of the image widget), also saved."""
        self.shots += 1
        return self.widget.locator("img").first.screenshot(
            path=self.folder / f"{self.shots:02d}_{name}.png")

    def state(self):
        """(rate of the selected copy, active copies, epoch), as the session reports it."""
        before = self._prompt()  # "[n]:" -> "[*]:" -> "[n+1]:" once it has run
        self.probe_cell.locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Control+Enter")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            prompt, text = self._prompt(), self._output()
            if prompt != before and "*" not in prompt and text.startswith("STATE"):
                _, rate, active, epoch = text.split()
                return float(rate), int(active), int(epoch)
            time.sleep(0.2)
        raise AssertionError(f"the probe cell did not answer; its output: {self._output()!r}")

    def _output(self):
        outputs = self.probe_cell.locator(".jp-OutputArea-output")
        return outputs.first.inner_text().strip() if outputs.count() else ""

    def _prompt(self):
        return self.probe_cell.locator(".jp-InputPrompt").inner_text()


def test_the_demo_renders_plays_forks_and_pauses_in_a_browser(browser, lab, output_folder):
    page = _open(browser, lab, "demo.ipynb")
    with _screenshot_on_failure(page, output_folder, "demo"):
        _drive_the_demo(page, output_folder)
    page.close()


def _drive_the_demo(page, output_folder):
    _run_all(page)
    demo = Demo(page, output_folder)
    demo.button("Play").wait_for()
    demo.widget.locator("img").first.wait_for()
    page.screenshot(path=output_folder / "00_page.png")
    rate0, active0, epoch0 = demo.state()
    assert epoch0 == 0 and active0 == 3 and rate0 > 0

    demo.button("Play").click()
    demo.button("Pause").wait_for()  # the button says what it will do now
    first = demo.figure("playing_a")
    time.sleep(3)
    second = demo.figure("playing_b")
    assert first != second, "the figure did not change while playing"
    _, _, epoch1 = demo.state()
    assert epoch1 > epoch0, "the probe cell ran, but the session did not train while playing"

    # the rate slider stays live while Play runs: type a rate into its readout
    readout = demo.widget.locator(".widget-readout").first
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("0.2")
    page.keyboard.press("Enter")
    deadline = time.monotonic() + 30
    while (rate := demo.state()[0]) == rate0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert rate == pytest.approx(0.2, rel=0.02), "moving the slider did not set the rate"

    demo.button("Fork").click()
    deadline = time.monotonic() + 30
    while (active := demo.state()[1]) == active0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert active == active0 + 1, "Fork did not add a copy"
    assert "forked into copy" in demo.widget.inner_text()
    demo.figure("forked")

    demo.button("Pause").click()
    demo.button("Play").wait_for()
    time.sleep(1.0)  # the epoch under way when Pause was pressed may still be drawn
    _, _, epoch_paused = demo.state()
    paused_a = demo.figure("paused_a")
    time.sleep(3)
    paused_b = demo.figure("paused_b")
    assert paused_a == paused_b, "the figure kept changing after Pause"
    assert demo.state()[2] == epoch_paused, "the session kept training after Pause"
    page.screenshot(path=output_folder / "99_page.png")


def test_a_lesson_notebook_runs_in_the_browser_and_shows_its_figures(browser, lab,
                                                                     output_folder):
    page = _open(browser, lab, "lesson.ipynb")
    _run_all(page)
    code_cells = page.locator(".jp-CodeCell")
    n_code = code_cells.count()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        prompts = [code_cells.nth(i).locator(".jp-InputPrompt").inner_text()
                   for i in range(n_code)]
        if all("[*]" not in p and "[ ]" not in p and p.strip() != "[ ]:" for p in prompts) \
                and page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count():
            break
        time.sleep(1.0)
    page.screenshot(path=output_folder / "lesson.png", full_page=True)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = [e.inner_text() for e in errors.all() if "Traceback" in e.inner_text()]
    assert not tracebacks, tracebacks[0][-2000:]
    saved = sorted(lab["figures"].glob("*.png"))
    shown = page.locator(".jp-OutputArea-output img")
    assert saved, "the lesson wrote no figure"
    assert shown.count() == len(saved), (shown.count(), [p.name for p in saved])
    for i in range(shown.count()):
        box = shown.nth(i).bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100, "a figure did not render"
    page.close()
