"""Training jobs on Ray: a local test cluster on 127.0.0.1 (``ray start --head``, its own
process group, stopped by it), the same job function as a Ray task — progress, Stop, a failure
— and the command line's ``--ray``."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from cnn_core.mnist.recipes import RECIPES
from cnn_core.mnist.jobs import JobSpec
from cnn_core.mnist.queue import TrainingQueue
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

TINY = RECIPES["fast"].settings.with_changes(epochs=1)
LONG = RECIPES["baseline"].settings.with_changes(epochs=30)
# A throwaway local cluster: loopback only (Ray's own local-cluster switch), no token auth, no
# usage report. Real deployments keep Ray's defaults.
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled",
           "RAY_USAGE_STATS_ENABLED": "0"}


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def ray_cluster():
    """``ray start --head --block`` on 127.0.0.1 with 2 CPUs; yields its address."""
    os.environ.update(RAY_ENV)
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    head = subprocess.Popen(
        ["ray", "start", "--head", "--block", "--node-ip-address", "127.0.0.1",
         "--port", str(port), "--num-cpus", "2", "--include-dashboard", "false",
         "--ray-client-server-port", str(free_port()),
         "--dashboard-agent-listen-port", str(free_port()),
         "--metrics-export-port", str(free_port())],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        import ray

        deadline = time.monotonic() + 120
        while True:  # the head is up once a driver can connect
            try:
                ray.init(address=address, logging_level="ERROR", log_to_driver=False)
                break
            except (ConnectionError, RuntimeError):
                if time.monotonic() > deadline or head.poll() is not None:
                    raise
                time.sleep(1)
        yield address
    finally:
        try:
            import ray

            ray.shutdown()
        finally:
            signal_group(head.pid, signal.SIGTERM)
            try:
                head.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            # whatever of the group is left; once every member has exited the
            # group is gone and killpg raises ProcessLookupError
            signal_group(head.pid, signal.SIGKILL)
            head.wait(timeout=20)


def signal_group(pgid, signum):
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def ray_queue(ray_cluster):
    from cnn_core.mnist.executors import RayExecutor

    queue = TrainingQueue(RayExecutor(ray_cluster, num_cpus=1), queued_grace=0)
    yield queue
    queue.close()


def test_a_tiny_job_runs_as_a_ray_task_with_its_progress(ray_queue):
    job = ray_queue.submit(JobSpec("fast", TINY, 300), "a")
    assert job.wait(300) and job.state == "finished", job.error
    assert job.worker_pid not in (None, os.getpid()) and job.result.worker_pid == job.worker_pid
    assert job.batches and [row["epoch"] for row in job.history] == [1]
    assert job.result.keras_file[:2] == b"PK"  # a .keras file is a zip archive
    assert job.result.evaluation.confusion.sum() == 10_000


def test_stop_and_a_failure_on_ray(ray_queue):
    running = ray_queue.submit(JobSpec("baseline", LONG, 1000), "a")
    deadline = time.monotonic() + 300
    while not running.history and time.monotonic() < deadline:
        time.sleep(0.2)
    running.stop()
    assert running.wait(120) and running.state == "stopped", running.error
    assert 1 <= sum(row["complete"] for row in running.history) < 30
    assert running.result.evaluation is not None  # the partial model is scored
    broken = ray_queue.submit(JobSpec("fast", TINY.with_changes(precision="float7"), 300), "a")
    assert broken.wait(120) and broken.state == "failed"
    assert broken.error.startswith("training failed on the Ray cluster: ValueError")


def test_the_command_line_trains_on_ray(ray_cluster, tmp_path):
    out = tmp_path / "tiny.keras"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(
        [sys.executable, "-m", "cnn_core.train", "--recipe", "fast", "--epochs", "1",
         "--train-examples", "300", "--ray", ray_cluster, "--json", "--out", str(out)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(summary) == ["recipe", "test_accuracy", "test_errors", "epochs_run",
                             "fit_seconds", "executor", "worker_pid"]
    assert summary["executor"] == "ray" and summary["epochs_run"] == 1
    assert summary["test_errors"] == round((1 - summary["test_accuracy"]) * 10_000)
    assert out.read_bytes()[:2] == b"PK"
