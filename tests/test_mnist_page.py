"""AppTest of the MNIST page: calculator figures, live charts, Stop, results, a second session."""

import time

import pytest
from streamlit.testing.v1 import AppTest

from cnn_core import training
from cnn_core.calculator import analyze
from cnn_core.presets import preset
from cnn_core.recipes import RECIPES
from tests.conftest import REPO_ROOT

PAGE = str(REPO_ROOT / "app_pages" / "mnist.py")


def open_page():
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception and not at.error
    return at


def poll(at, until, timeout=120):
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


def test_recipes_and_calculator_figures():
    at = open_page()
    assert at.selectbox[0].options == [RECIPES[n].title for n in RECIPES]
    fast = analyze(*preset("mnist_fast")).total_params
    assert f"{fast:,} parameters" in at.caption[1].value
    at.selectbox[0].select(RECIPES["baseline"].title).run()
    assert "225,034 parameters" in at.caption[1].value
    assert "validation: the test set" in at.caption[1].value
    assert at.number_input(key="batch_baseline").value == 32
    assert at.button[0].label.endswith("Train") and not at.get("vega_lite_chart")


@pytest.mark.slow
def test_live_training_stop_results_and_a_second_session():
    at = open_page()
    at.selectbox[0].select(RECIPES["baseline"].title).run()
    at.number_input(key="epochs_baseline").set_value(30)
    at.number_input(key="examples_baseline").set_value(1000)
    at.button[0].click().run()
    try:
        run = poll(at, lambda r: len(r.history) >= 1 or r.done)
        assert run.state == "running"
        # live: progress bar, the loss and accuracy charts, the current figures
        assert len(at.get("vega_lite_chart")) == 2 and at.get("progress")
        assert at.metric[0].label == "loss" and at.metric[3].value != "–"

        # a second user on the same server is told, and cannot start a second training
        other = open_page()
        assert any("Another session is training" in w.value for w in other.warning)
        assert other.button[0].disabled

        stop = next(b for b in at.button if b.label.startswith("⏹"))
        stop.click().run()
        run = poll(at, lambda r: r.done)
    finally:
        at.session_state["mnist_runs"][-1].stop()
        at.session_state["mnist_runs"][-1].wait(120)
    assert run.state == "stopped"
    complete = sum(row["complete"] for row in run.history)
    assert 1 <= complete < 30 and run.result is not None  # the partial history and model kept
    at.run()
    assert not at.exception and not at.error
    assert [h.value for h in at.header] == [
        "Results on the test set", "Try it: your own digit", "This session's runs"]
    evaluation = run.result.evaluation
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["test accuracy"] == f"{evaluation.accuracy:.2%}"
    assert metrics["test errors"] == f"{evaluation.errors} / 10,000"
    # curves, confusion matrix, per-class accuracy, the session's overlay
    assert len(at.get("vega_lite_chart")) == 5
    assert [b.label for b in at.get("download_button")] == [
        "Download model (.keras)", "Download history (CSV)"]
    assert training.active_run() is None
    # the server is free again for the other session
    other.run()
    assert not other.warning and not other.button[0].disabled
