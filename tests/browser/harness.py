"""Drive CNN Lab in a real browser: start a headless Streamlit server, launch Debian's
Chromium through Playwright, wait for the app to be idle, and look for Streamlit's exception
box. Shared by the browser tests (``tests/browser``) and the load benchmark
(``benchmarks/load.py``).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SERVER_START_TIMEOUT_S = 90
APP_IDLE_SELECTOR = (
    '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
    '[data-test-script-state="notRunning"]'
)
EXCEPTION_SELECTOR = '[data-testid="stException"]'


def chromium_available():
    return Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is not None


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# --- the server -----------------------------------------------------------------------------


def free_port():
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_streamlit(port, log_path, extra_env=None, root=REPO_ROOT):
    """Start ``streamlit run streamlit_app.py`` (of the checkout at ``root``) headless in its
    own process group."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", **(extra_env or {}))
    command = [
        sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]
    log = open(log_path, "wb")
    return subprocess.Popen(
        command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_health(url, process, timeout_s=SERVER_START_TIMEOUT_S):
    """Poll ``/_stcore/health`` until it answers ``ok``; fail if the server dies first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with status {process.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200 and response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"streamlit was not healthy after {timeout_s} s")


def stop_process_group(process, grace_s=10):
    """SIGTERM the server's process group, then SIGKILL whatever is left after ``grace_s``."""
    if process.poll() is not None:
        return
    try:
        pgid = os.getpgid(process.pid)
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:  # exited between poll() and here
        process.wait(timeout=grace_s)
        return
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=grace_s)


class StreamlitServer:
    """A running ``streamlit run`` with its URL, process and log file."""

    def __init__(self, port=None, log_name="streamlit-server.log", env=None, root=REPO_ROOT):
        ARTIFACTS_DIR.mkdir(exist_ok=True)
        self.env, self.root = env, root
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = ARTIFACTS_DIR / log_name
        self.process = None

    def __enter__(self):
        self.process = start_streamlit(self.port, self.log_path, self.env, self.root)
        try:
            wait_for_health(self.url, self.process)
        except Exception:
            stop_process_group(self.process)
            raise
        return self

    def __exit__(self, *exc):
        stop_process_group(self.process)

    def memory_kib(self):
        """The server's current and peak resident memory (VmRSS, VmHWM) in KiB, from /proc."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0])
        return fields["VmRSS"], fields["VmHWM"]

    def log_text(self):
        return self.log_path.read_text(errors="replace")


# --- helpers the scenarios share ------------------------------------------------------------


def wait_for_app_idle(page, timeout_ms=60_000, settle_ms=250):
    """Wait until the app is connected and no script run is in progress.

    A click or an upload starts a rerun a few milliseconds later; the short first pause keeps
    us from reading the idle state that precedes it.
    """
    page.wait_for_timeout(settle_ms)
    page.wait_for_selector(APP_IDLE_SELECTOR, timeout=timeout_ms)
    page.wait_for_timeout(settle_ms)
    page.wait_for_selector(APP_IDLE_SELECTOR, timeout=timeout_ms)


def assert_no_exception(page, where=""):
    """Streamlit's exception box must not be on the page; if it is, show its text."""
    boxes = page.locator(EXCEPTION_SELECTOR)
    if boxes.count():
        text = boxes.first.inner_text()[:1500]
        raise AssertionError(f"Streamlit exception box on {where or page.url}:\n{text}")


def open_app(page, url, timeout_ms=60_000):
    """Load a URL and wait for its first script run to finish.

    Between connecting and starting the first run the app already reads as idle, so wait for
    the page script's first element before waiting for idle.
    """
    page.goto(url)
    page.wait_for_selector('[data-testid="stMain"] [data-testid="stElementContainer"]',
                           timeout=timeout_ms)
    wait_for_app_idle(page, timeout_ms=timeout_ms)


def open_from_navigation(page, title, timeout_ms=60_000):
    """Click a page's link in the sidebar navigation and wait for its script to finish."""
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title).first.click()
    wait_for_app_idle(page, timeout_ms=timeout_ms)


def save_screenshot(page, name, max_height=8000):
    """Screenshot the whole page to ``test-artifacts/<name>.png``.

    Streamlit scrolls inside its main container, so a "full page" screenshot would stop at the
    viewport: the viewport is stretched to the content's height (up to ``max_height``) first.
    """
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    path = ARTIFACTS_DIR / f"{name}.png"
    viewport = page.viewport_size
    content_height = page.evaluate(
        """() => Math.max(...Array.from(document.querySelectorAll('[data-testid="stMain"] *'))
                  .slice(0, 50).map(e => e.scrollHeight), document.body.scrollHeight)""")
    page.set_viewport_size({"width": viewport["width"],
                            "height": min(max(content_height, viewport["height"]), max_height)})
    page.wait_for_timeout(300)      # let charts re-lay out at the new size
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(viewport)
    return path
