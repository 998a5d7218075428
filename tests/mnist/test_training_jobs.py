"""The training queue and the local executor: jobs run in spawned worker processes, first come
first served, with places, cancel, one job per session, a bounded queue, Stop, the time limit,
and a crash, an out-of-memory kill or a hang failing only their own job."""

import os
import re
import signal
import time

import numpy as np
import pytest

from cnn_core.mnist import training
from cnn_core.mnist.data import load_mnist
from cnn_core.mnist.recipes import RECIPES
from cnn_core.mnist.executors import WORKER_NICENESS, LocalExecutor
from cnn_core.mnist.jobs import SECONDS_PER_EXAMPLE_EPOCH, JobSpec
from cnn_core.mnist.queue import TrainingQueue, default_workers, keep_recent_results
from cnn_core.mnist.views import duration, ordinal

pytestmark = pytest.mark.slow

TINY = RECIPES["fast"].settings.with_changes(epochs=1)
LONG = RECIPES["baseline"].settings.with_changes(epochs=30)


@pytest.fixture(scope="module")
def queue():
    """One queue over one worker process for the module (TensorFlow is imported once)."""
    q = TrainingQueue(LocalExecutor(1, hang_seconds=10), queued_grace=0)
    yield q
    q.close()


def wait_until(condition, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_jobs_run_in_order_in_a_worker_process_and_return_their_model(queue):
    first = queue.submit(JobSpec("fast", TINY, 300), "a")
    second = queue.submit(JobSpec("fast", TINY, 300), "b")
    wait_until(lambda: first.state in ("running", "starting"))
    assert second.place() == 1 and second.progress_text().startswith("queued: 1st, starts ")
    # queued, never refused: a third session waits behind; a session's new submit while its
    # job waits replaces that job in its place, so one waiting job per session at most
    third = queue.submit(JobSpec("fast", TINY, 300), "c")
    replaced = third
    third = queue.submit(JobSpec("fast", TINY, 400), "c")
    assert replaced.state == "cancelled" and replaced.place() is None
    assert third.place() == 2 and third.spec.train_examples == 400
    assert third.progress_text().startswith("queued: 2nd, starts ")
    assert queue.counts()["waiting"] == 2
    third.cancel()  # leaves the queue at once; the one behind moves up
    assert third.state == "cancelled" and third.place() is None
    assert second.wait(240) and first.done
    assert (first.state, second.state) == ("finished", "finished"), (first.error, second.error)
    assert first.finished_at <= second.handed_at <= second.started_at  # first come, first served
    assert first.worker_pid == second.worker_pid != os.getpid()
    # the worker trains at a lower CPU priority than the server, so a class's clicks come first
    assert (os.getpriority(os.PRIO_PROCESS, first.worker_pid) ==
            min(19, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS) > 0)
    # progress streamed back: batch events, then the epoch with its validation figures
    assert first.batches and [row["epoch"] for row in first.history] == [1]
    assert {"loss", "accuracy", "val_accuracy"} <= set(first.history[0])
    # the .keras bytes hold the trained model: its predictions are the evaluation's
    model = first.result.model()
    x_test = training.scale(load_mnist()[1][0][:200])
    np.testing.assert_allclose(model.predict(x_test, verbose=0),
                               first.result.evaluation.probabilities[:200], atol=1e-5)
    assert first.result.accuracy == first.result.evaluation.accuracy
    # bounded memory: only the last runs keep their model
    keep_recent_results([first, second], keep=1)
    assert first.result.keras_file is None and first.result.evaluation is None
    assert second.result.keras_file and first.result.accuracy is not None


def test_stop_keeps_the_partial_model_and_a_closed_session_leaves_the_queue(queue):
    running = queue.submit(JobSpec("baseline", LONG, 1000), "a")
    gone = queue.submit(JobSpec("fast", TINY, 300), "b", keep_alive=lambda: False)
    wait_until(lambda: gone.done, 30)
    assert gone.state == "cancelled"  # its tab closed while it waited
    wait_until(lambda: len(running.history) >= 1)
    running.stop()
    assert running.wait(120) and running.state == "stopped", running.error
    complete = sum(row["complete"] for row in running.history)
    assert 1 <= complete < 30 and running.result.evaluation.accuracy > 0.5


def test_time_limit_stops_the_run_like_stop(queue):
    job = queue.submit(JobSpec("baseline", LONG, 1000, max_seconds=1.0), "a")
    assert job.wait(180) and job.state == "stopped", job.error
    assert job.result.time_limited and "time limit reached" in job.progress_text()
    assert sum(row["complete"] for row in job.history) < 30 and job.result.evaluation


def test_a_crash_a_kill_and_a_hang_fail_only_their_job(queue):
    # an exception inside the training: a one-line message, not a traceback
    broken = queue.submit(JobSpec("fast", TINY.with_changes(precision="float7"), 300), "a")
    assert broken.wait(120) and broken.state == "failed"
    assert broken.error.startswith("training failed: ValueError")
    # the worker process is killed, as the kernel's OOM killer would
    killed = queue.submit(JobSpec("baseline", LONG, 1000), "a")
    wait_until(lambda: killed.batches)
    os.kill(killed.worker_pid, signal.SIGKILL)
    assert killed.wait(60) and killed.state == "failed"
    assert "killed (SIGKILL — usually the machine running out of memory)" in killed.error
    # the worker hangs (frozen by SIGSTOP): after hang_seconds without a heartbeat it is ended
    hung = queue.submit(JobSpec("baseline", LONG, 1000), "a")
    wait_until(lambda: hung.batches, 180)
    os.kill(hung.worker_pid, signal.SIGSTOP)
    assert hung.wait(60) and hung.state == "failed"
    assert re.search(r"the training process hung \(silent for 1\d s", hung.error), hung.error
    # the queue goes on, in a fresh worker process
    after = queue.submit(JobSpec("fast", TINY, 300), "a")
    assert after.wait(240) and after.state == "finished", after.error
    assert after.worker_pid not in (killed.worker_pid, hung.worker_pid)


def test_estimates_and_defaults():
    spec = JobSpec("fast", RECIPES["fast"].settings.with_changes(epochs=5))  # 55,000 × 5
    assert spec.examples == 55_000
    rate = SECONDS_PER_EXAMPLE_EPOCH["fast"]
    # 6 s around fit; fit: 3 s + 5 epochs × rate × (55,000 + 5,000 / 3) examples
    assert spec.estimated_seconds() == pytest.approx(6 + 3 + 5 * rate * (55_000 + 5_000 / 3))
    assert spec.estimated_seconds(speed=2) == pytest.approx(6 + 2 * (3 + 5 * rate * 56_667),
                                                            rel=1e-4)
    ensemble = JobSpec("ensemble", RECIPES["ensemble"].settings.with_changes(epochs=2, members=3))
    # its members train one after another: 3 × (3 s + 2 epochs × the member rate × examples)
    assert ensemble.estimated_seconds() == pytest.approx(
        6 + 3 * (3 + 2 * SECONDS_PER_EXAMPLE_EPOCH["ensemble"] * (55_000 + 5_000 / 3)))
    assert JobSpec("baseline", RECIPES["baseline"].settings).examples == 60_000  # no hold-out
    assert [default_workers(n) for n in (1, 2, 3, 4, 8, 16)] == [1, 2, 1, 2, 4, 8]
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]
    assert [duration(s) for s in (0.2, 45, 89, 240, 3900)] == [
        "1 s", "45 s", "89 s", "4 min", "1 h 05 min"]


def test_a_worker_process_does_not_rerun_the_servers_main_script(tmp_path, monkeypatch):
    """In a Streamlit server (or AppTest) ``__main__`` is the app's script; multiprocessing's
    spawn would run it again in every worker. The worker starts without it."""
    import sys
    import types

    from cnn_core.mnist.executors import _Worker

    marker = tmp_path / "main-was-run"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    worker = _Worker()
    assert sys.modules["__main__"] is page  # restored at once
    worker.close()
    assert worker.process.exitcode is not None and not marker.exists()
