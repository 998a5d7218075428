"""AppTest of the MNIST page: figures and estimate, a queued second session, live charts,
Stop, results."""

import os
import time

import pytest
from streamlit.testing.v1 import AppTest

from cnn_core.calculator.analysis import analyze
from cnn_core.networks.presets import preset
from cnn_core.mnist.recipes import RECIPES
from cnn_core.mnist.jobs import JobSpec
from cnn_core.mnist.queue import shared_queue
from cnn_core.mnist.views import duration
from tests.conftest import REPO_ROOT

PAGE = str(REPO_ROOT / "app_pages" / "mnist.py")


@pytest.fixture(autouse=True, scope="module")
def one_training_worker():
    """This module's queue scenarios need a job to wait behind exactly one running job: the
    server's queue with one worker (the default is 2 on 2 cores), built afresh for it."""
    from cnn_core.mnist import queue as training_queue

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNNLAB_TRAINING_WORKERS", "1")
        patch.setattr(training_queue, "_SHARED", None)
        yield
        if training_queue._SHARED is not None:
            training_queue._SHARED.close()


def open_page():
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception and not at.error
    return at


def poll(at, until, timeout=300):
    """Rerun the page (as st.fragment's run_every does in a browser) until until(run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        run = at.session_state["mnist_runs"][-1]
        if until(run):
            at.run()  # draw what the condition saw
            return run
        time.sleep(0.5)
    raise AssertionError(f"timed out; run state {run.state}, {len(run.history)} epochs")


def button(at, label):
    return next(b for b in at.button if b.label == label)


def test_recipes_calculator_figures_and_what_to_expect():
    at = open_page()
    assert at.selectbox[0].options == [RECIPES[n].title for n in RECIPES]
    fast = analyze(*preset("mnist_fast")).total_params
    figures = at.caption[1].value
    assert f"{fast:,} parameters" in figures
    # the estimate before Train: the recipe's measured speed × 55,000 examples × its epochs
    spec = JobSpec("fast", RECIPES["fast"].settings)
    assert f"about **{duration(shared_queue().estimate(spec))}** on this server" in figures
    assert not at.info  # the full data set: no warning
    at.selectbox[0].select(RECIPES["baseline"].title).run()
    assert "225,034 parameters" in at.caption[1].value
    assert "validation: the test set" in at.caption[1].value
    assert at.number_input(key="batch_baseline").value == 32
    assert button(at, "Train") and not at.get("vega_lite_chart")
    # few examples: say what to expect (2,000 examples / batch 32 = 63 steps × 5 epochs)
    at.number_input(key="examples_baseline").set_value(2000).run()
    assert "Only 315 optimizer steps" in at.info[0].value


@pytest.mark.slow
def test_a_queued_session_waits_then_cancels_and_stop_keeps_the_partial_run():
    at = open_page()
    at.selectbox[0].select(RECIPES["baseline"].title).run()
    at.number_input(key="epochs_baseline").set_value(30)
    at.number_input(key="examples_baseline").set_value(1000)
    button(at, "Train").click().run()
    try:
        run = poll(at, lambda r: len(r.history) >= 1 or r.done)
        assert run.state == "running" and run.worker_pid != os.getpid()
        # live: progress bar with Stop beside it, the loss and accuracy charts, the figures
        assert len(at.get("vega_lite_chart")) == 2 and at.get("progress")
        assert at.metric[0].label == "loss" and at.metric[3].value.endswith("%")
        assert button(at, "Train").disabled  # one job per session

        # a second user on the same server queues behind it, sees the place, and cancels
        other = open_page()
        button(other, "Train").click().run()
        queued = other.session_state["mnist_runs"][-1]
        assert queued.state == "queued" and queued.place() == 1
        assert other.get("progress")[0].proto.text.startswith("queued: 1st, starts in about ")
        button(other, "Cancel").click().run()
        assert queued.state == "cancelled" and not button(other, "Train").disabled

        button(at, "Stop").click().run()
        run = poll(at, lambda r: r.done)
    finally:
        at.session_state["mnist_runs"][-1].stop()
        at.session_state["mnist_runs"][-1].wait(120)
    assert run.state == "stopped", run.error
    complete = sum(row["complete"] for row in run.history)
    assert 1 <= complete < 30 and run.result is not None  # the partial history and model kept
    at.run()
    assert not at.exception and not at.error
    assert [h.value for h in at.header] == [
        "Results on the test set", "Try it: your own digit", "This session's runs"]
    evaluation = run.result.evaluation
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["test accuracy"] == f"{evaluation.accuracy:.2%}"
    assert metrics["test errors"] == f"{evaluation.errors:,} / 10,000"
    # curves, confusion matrix, per-class accuracy; no comparison chart for a single run
    assert len(at.get("vega_lite_chart")) == 4
    assert [b.label for b in at.get("download_button")] == [
        "Download model (.keras)", "Download history (CSV)"]
    assert at.dataframe[-1].value["test acc"].tolist() == [f"{evaluation.accuracy:.2%}"]


PROBE = """
import sys, time
sys.path.insert(0, {root!r})
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({page!r}, default_timeout=120).run()
at.number_input(key="epochs_fast").set_value(1)
at.number_input(key="examples_fast").set_value(300)
at.run()
next(b for b in at.button if b.label == "Train").click().run()
job = at.session_state["mnist_runs"][-1]
assert job.wait(300) and job.state == "finished", job.error
at.run()
assert not at.exception and at.header[0].value == "Results on the test set"
print("HEAVY:" + ",".join(m for m in ("tensorflow", "keras") if m in sys.modules))
"""


@pytest.mark.slow
def test_training_and_its_results_leave_tensorflow_out_of_the_server_process():
    """The page's process trains and shows the results without importing TensorFlow: the
    job ran in a worker process (no process-wide Keras patch is needed any more)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", PROBE.format(root=str(REPO_ROOT), page=PAGE)],
                         capture_output=True, text=True, cwd=REPO_ROOT, timeout=400)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "HEAVY:"


def test_views_format_numbers_one_way_and_name_each_member():
    from cnn_core.mnist import views

    members = [{"name": "member 1", "recipe": "best", "seed": 1, "test_accuracy": 0.9951,
                "errors": 49, "fit_seconds": 250.04},
               {"name": "member 2", "recipe": "best", "seed": 2, "test_accuracy": 0.9948,
                "errors": 52, "fit_seconds": 251.5}]
    rows = views.members_rows(members, 0.9968, 32)
    assert [r["model"] for r in rows] == ["member 1 (best, seed 1)", "member 2 (best, seed 2)",
                                          "ensemble (probabilities averaged)"]
    assert [r["test acc"] for r in rows] == ["99.51%", "99.48%", "99.68%"]
    assert rows[-1]["test errors"] == "32" and rows[-1]["fit s"] == "501.5"  # 250.04 + 251.5
    # a short run says what to expect: ceil(2,000 / 128) = 16 steps per epoch × 7 epochs
    note = views.expectation_note(RECIPES["fast"].settings, 2000)
    assert note.startswith("Only 112 optimizer steps (2,000 examples, batch 128, 7 epochs)")
    assert views.expectation_note(RECIPES["fast"].settings, 55_000) is None
