"""Nothing leaves the server unasked (issue 20): the Streamlit server opening every page
(Classify runs OpenVINO's converter on the sample photos), the server started as the README
says (config.toml alone: headless, every interface) and the command lines (calculator,
classify, transfer fit/predict, train with its worker process) send no request anywhere,
checked against two witnesses in every process they start:

- a counting proxy on 127.0.0.1 named by HTTP(S)_PROXY / ALL_PROXY: each connection's first
  request line (``CONNECT host:443 HTTP/1.0``, ``GET http://...``) is recorded, answered 502;
- the socket guard ``tests/netguard/sitecustomize.py``: any name look-up or connection that is
  not loopback is logged and refused, so nothing reaches the network and no public name is
  resolved. Each process leaves a ``<pid>.loaded`` marker, proving the guard ran in it.

Each process runs as on a developer's machine: ``CI`` (and OpenVINO's other CI markers) unset,
since ``CI=true`` silences OpenVINO's telemetry and would hide it, and a fresh ``HOME``, so
no consent file in ``~/intel`` hides it either. The controls show that the witnesses see: a
request through the proxy, a direct connection, and OpenVINO's converter phoning Google
Analytics in a process without cnn_core, but not once cnn_core is imported.
"""

import asyncio
import collections
import contextlib
import io
import json
import os
import signal
import socketserver
import subprocess
import sys
import threading

import pytest
from PIL import Image

from tests.browser.harness import free_port, stop_process_group, wait_for_health
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

GUARD_DIR = REPO_ROOT / "tests" / "netguard"
LOOPBACK = "127.0.0.1,localhost,::1"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                   "all_proxy")
# what makes OpenVINO's telemetry stay silent on its own (openvino_telemetry's OptInChecker),
# and Ray's: unset, so that only cnn_core's switch keeps them quiet
SILENCERS = ("CI", "TF_BUILD", "JENKINS_URL", "RAY_USAGE_STATS_ENABLED", "NO_PROXY", "no_proxy")
PAGES = ["", "theory", "calculator", "mnist", "classify", "transfer"]  # "": Home, the default
STREAMLIT = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py"]

# OpenVINO phones home twice over (openvino_telemetry → GA4 backend → urllib, in a forked
# process): ``import openvino`` imports openvino/tools/ovc/__init__.py, which sends an
# "import" event, and every convert_model (convert_impl.py) sends a session of its own. Here
# the converter as cnn_core.imagenet.runtime calls it, on a one-op tf.function.
OPENVINO_CONVERSION = """
import numpy as np, openvino as ov, tensorflow as tf
relu = tf.function(tf.nn.relu, input_signature=[tf.TensorSpec([1, 4], tf.float32)])
model = ov.convert_model(relu.get_concrete_function())
print(ov.Core().compile_model(model, "CPU")(np.ones((1, 4), np.float32))[0].sum())
"""


# --- the witnesses ------------------------------------------------------------------------


class CountingProxy(socketserver.ThreadingTCPServer):
    """An HTTP proxy that forwards nothing: it records each connection's first request line
    and answers 502."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), RecordRequest)
        self.requests = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class RecordRequest(socketserver.StreamRequestHandler):
    timeout = 10

    def handle(self):
        try:
            line = self.rfile.readline(2048)
        except OSError:
            line = b""
        self.server.requests.append(
            line.decode("latin-1").strip() or "(a connection that sent no request line)")
        try:
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
        except OSError:
            pass


class Sandbox:
    """Processes started behind the proxy and the guard, and what the two witnessed."""

    def __init__(self, root, proxy):
        self.root, self.proxy = root, proxy
        self.guard_log = root / "netguard"
        self.home = root / "home"
        self.guard_log.mkdir()
        self.home.mkdir()

    def env(self, proxy=True):
        env = {key: value for key, value in os.environ.items()
               if key not in SILENCERS and key not in PROXY_VARIABLES}
        paths = [str(GUARD_DIR), str(REPO_ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
        env.update(PYTHONPATH=os.pathsep.join(paths), CNNLAB_NETGUARD_LOG=str(self.guard_log),
                   HOME=str(self.home), TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
        if proxy:
            env.update({name: self.proxy.url for name in PROXY_VARIABLES},
                       NO_PROXY=LOOPBACK, no_proxy=LOOPBACK)
        return env

    def start(self, command, stdout, stderr, proxy=True):
        """Start ``command`` in the repository root, in its own process group."""
        return subprocess.Popen(command, cwd=REPO_ROOT, env=self.env(proxy), stdout=stdout,
                                stderr=stderr, text=True, start_new_session=True)

    def run(self, command, timeout_s=240, proxy=True):
        """Run ``command`` to its end; afterwards its whole process group is killed."""
        process = self.start(command, subprocess.PIPE, subprocess.PIPE, proxy)
        try:
            out, err = process.communicate(timeout=timeout_s)
        finally:
            kill_group(process)
        done = subprocess.CompletedProcess(command, process.returncode, out, err)
        done.pid = process.pid
        return done

    def markers(self):
        """{pid: command line} of every process the guard was loaded in."""
        return {int(path.stem): path.read_text().strip()
                for path in self.guard_log.glob("*.loaded")}

    def refusals(self):
        """{pid: [refused look-ups and connections]}."""
        return {int(path.stem): path.read_text().splitlines()
                for path in self.guard_log.glob("*.log")}

    def witnessed(self):
        """Everything either witness saw, one line each (empty: nothing left)."""
        seen = [f"proxy: {line}" for line in self.proxy.requests]
        for pid, lines in sorted(self.refusals().items()):
            command = self.markers().get(pid, "(no marker)")[:160]
            seen += [f"guard, pid {pid} ({command}): {line}" for line in lines]
        return seen

    def assert_nothing_left(self, *processes):
        seen = collections.Counter(self.witnessed())
        assert not seen, "requests left the app:\n" + "\n".join(
            f"{count} × {line}" for line, count in seen.items())
        markers = self.markers()
        for process in processes:
            assert process.pid in markers, f"the guard was not loaded in {process.args}"


def kill_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if process.poll() is None:
        process.wait(10)


@pytest.fixture
def sandbox(tmp_path):
    with CountingProxy() as proxy:
        yield Sandbox(tmp_path, proxy)


def python(*args):
    return [sys.executable, *args]


def show(done):
    return f"exit {done.returncode}\n{done.stdout[-1500:]}\n{done.stderr[-3000:]}"


# --- the server ---------------------------------------------------------------------------


def run_async(coroutine):
    """``asyncio.run`` on a thread of its own: in the full suite the browser tests' Playwright
    (sync API) keeps an event loop running in the main thread, where asyncio.run refuses."""
    outcome = {}

    def target():
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:          # re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


async def open_pages(url, pages=PAGES):
    """One headless session (benchmarks/headless_session.py) opens each page in turn;
    returns {page: charts drawn by its first script run}."""
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    try:
        from headless_session import HeadlessSession, SessionError
    finally:
        sys.path.remove(str(REPO_ROOT / "benchmarks"))

    class PageVisits(HeadlessSession):
        charts = 0

        async def receive(self):
            message = await super().receive()
            kind = message.WhichOneof("type")
            if kind == "page_not_found":
                raise SessionError(f"no page {self.page!r}")
            if kind == "delta" and message.delta.WhichOneof("type") == "new_element" and \
                    message.delta.new_element.WhichOneof("type") == "vega_lite_chart":
                self.charts += 1
            return message

    charts = {}
    async with PageVisits(url, timeout=240) as session:
        for page in pages:
            session.page, session.charts = page, 0
            await session.run()
            charts[page] = session.charts
    return charts


@contextlib.contextmanager
def streamlit_server(sandbox, log_path, options):
    """``streamlit run streamlit_app.py`` behind the witnesses on a free port, healthy; its
    process group is stopped on the way out. Its log is printed if the block fails."""
    port = free_port()
    with open(log_path, "w") as log:
        server = sandbox.start(STREAMLIT + ["--server.port", str(port), *options], log,
                               subprocess.STDOUT)
    try:
        wait_for_health(f"http://127.0.0.1:{port}", server)
        yield server, f"http://127.0.0.1:{port}"
    except BaseException:
        print(log_path.read_text(errors="replace")[-3000:])
        raise
    finally:
        stop_process_group(server)
        kill_group(server)


def test_the_server_sends_nothing_while_every_page_opens(sandbox, tmp_path):
    options = ["--server.address", "127.0.0.1", "--server.headless", "true"]
    with streamlit_server(sandbox, tmp_path / "streamlit.log", options) as (server, url):
        charts = run_async(open_pages(url))
    assert charts["classify"] > 0, "Classify drew no top-5 for the sample photos"
    sandbox.assert_nothing_left(server)


async def cross_origin_attempt(url):
    """A websocket to the app from another site's page (its Origin): Streamlit's answer."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    try:
        async with connect(url.replace("http", "ws", 1) + "/_stcore/stream",
                           origin="http://classroom.invalid", open_timeout=30):
            return "accepted"
    except InvalidStatus as refused:
        return refused.response.status_code


def test_the_server_started_as_the_readme_says_sends_nothing(sandbox, tmp_path):
    """``streamlit run streamlit_app.py`` with .streamlit/config.toml alone (headless, no
    address: it listens on every interface, reached here on 127.0.0.1). In headless mode
    Streamlit's start-up banner (bootstrap._print_url) would look up the machine's network and
    public addresses (checkip.amazonaws.com) for its URLs — config.toml hides the banner — and
    its check of a cross-origin websocket's Origin would too: the app turns those look-ups off
    (streamlit_app.py), and the stranger is still refused."""
    with streamlit_server(sandbox, tmp_path / "streamlit.log", []) as (server, url):
        run_async(open_pages(url, [""]))
        assert run_async(cross_origin_attempt(url)) == 403
    sandbox.assert_nothing_left(server)


# --- the command lines --------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["-m", "cnn_core.calculator", "--preset", "exercise2", "--json"],
    ["-m", "cnn_core.classify", "data/samples", "--json"],
], ids=["calculator", "classify"])
def test_a_command_line_sends_nothing(sandbox, args):
    done = sandbox.run(python(*args))
    assert done.returncode == 0, show(done)
    sandbox.assert_nothing_left(done)


def test_training_and_its_worker_send_nothing(sandbox):
    done = sandbox.run(python("-m", "cnn_core.train", "--recipe", "baseline", "--epochs", "1",
                              "--train-examples", "2000", "--json"))
    assert done.returncode == 0, show(done)
    worker = json.loads(done.stdout)["worker_pid"]
    assert worker != done.pid and "multiprocessing" in sandbox.markers().get(worker, ""), \
        f"the guard was not loaded in the training worker {worker}: {sandbox.markers()}"
    sandbox.assert_nothing_left(done)


def write_two_classes(root):
    """``root/cat`` and ``root/coffee``: 6 JPEG crops (some mirrored) of each sample photo."""
    from tests.transfer.test_transfer_support import variants

    for number, name in enumerate(["cat", "coffee"]):
        (root / name).mkdir(parents=True)
        for i, png in enumerate(variants(name, 6, seed=7 + number)):
            Image.open(io.BytesIO(png)).convert("RGB").save(root / name / f"{name}_{i}.jpg",
                                                            "JPEG", quality=90)
    return root


def test_teaching_and_predicting_send_nothing(sandbox, tmp_path):
    photos, model = write_two_classes(tmp_path / "photos"), tmp_path / "m.keras"
    fit = sandbox.run(python("-m", "cnn_core.transfer", "fit", str(photos), "--out", str(model),
                             "--json"))
    assert fit.returncode == 0, show(fit)
    predict = sandbox.run(python("-m", "cnn_core.transfer", "predict", str(model),
                                 str(photos / "cat" / "cat_0.jpg"), "--json"))
    assert predict.returncode == 0, show(predict)
    sandbox.assert_nothing_left(fit, predict)


# --- the witnesses see ----------------------------------------------------------------------


def test_the_proxy_counts_a_request_that_honours_the_proxy_variables(sandbox):
    done = sandbox.run(python("-c", "import urllib.request; "
                                    "urllib.request.urlopen('http://example.com/', timeout=10)"),
                       timeout_s=60)
    assert done.returncode != 0       # the proxy's 502
    assert sandbox.proxy.requests == ["GET http://example.com/ HTTP/1.1"]
    assert sandbox.refusals() == {}


def test_the_guard_refuses_a_direct_connection(sandbox):
    done = sandbox.run(python("-c", "import socket; "
                                    "socket.create_connection(('example.com', 80), timeout=5)"),
                       timeout_s=60, proxy=False)
    assert done.returncode != 0 and "netguard: getaddrinfo of 'example.com' refused" in done.stderr
    assert sandbox.refusals() == {done.pid: ["getaddrinfo example.com:80"]}
    assert sandbox.proxy.requests == []


@pytest.mark.parametrize("code, proxy", [
    ("import openvino", True),
    ("import openvino", False),      # the guard alone sees it too
    (OPENVINO_CONVERSION, True),
], ids=["import", "import-without-proxy", "convert_model"])
def test_openvino_phones_home_without_cnn_core(sandbox, code, proxy):
    done = sandbox.run(python("-c", code), timeout_s=120, proxy=proxy)
    assert done.returncode == 0, show(done)
    seen = sandbox.witnessed()
    assert seen and all("www.google-analytics.com:443" in line for line in seen), seen


# cnn_core's switch works both ways: openvino_telemetry blocked before anyone imports it, or
# told "declined" when it was imported first. (``import openvino`` before cnn_core would have
# sent its "import" event already: the app imports cnn_core first.)
@pytest.mark.parametrize("first", ["import cnn_core", "import openvino_telemetry, cnn_core"],
                         ids=["cnn_core-first", "openvino_telemetry-first"])
def test_importing_cnn_core_keeps_the_converter_silent(sandbox, first):
    done = sandbox.run(python("-c", first + "\n" + OPENVINO_CONVERSION), timeout_s=120)
    assert done.returncode == 0, show(done)
    sandbox.assert_nothing_left(done)
