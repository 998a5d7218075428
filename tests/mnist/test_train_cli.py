"""``python -m cnn_core.train``: a tiny local job (JSON keys, the saved model, a worker
process), bad settings (exit 2, one line), a job whose worker is killed (exit 1)."""

import json
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

COMMAND = [sys.executable, "-m", "cnn_core.train"]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


@pytest.mark.parametrize("args, message", [
    (["--recipe", "nope"], "error: unknown recipe 'nope'; choose one of: "),
    (["--recipe", "fast", "--epochs", "0"], "error: epochs must be between 1 and 100."),
    (["--recipe", "fast", "--batch-size", "x"], "error: argument --batch-size: invalid int"),
    (["--recipe", "fast", "--train-examples", "99"], "error: --train-examples must be between"),
    (["--recipe", "fast", "--out", "model.h5"], "error: --out must name a .keras file"),
    (["--epochs", "1"], "error: the following arguments are required: --recipe"),
])
def test_bad_settings_exit_2_with_one_line(args, message):
    done = subprocess.run(COMMAND + args, cwd=REPO_ROOT, env=ENV, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(message), done.stderr


@pytest.mark.slow
def test_a_tiny_local_job_prints_its_json_and_saves_the_model(tmp_path):
    import keras

    from cnn_core.mnist import training
    from cnn_core.mnist.data import load_mnist

    out = tmp_path / "tiny.keras"
    done = subprocess.run(COMMAND + ["--recipe", "baseline", "--epochs", "1", "--train-examples",
                                     "500", "--seed", "3", "--json", "--out", str(out)],
                          cwd=REPO_ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert list(summary) == ["recipe", "test_accuracy", "test_errors", "epochs_run",
                             "fit_seconds", "executor", "worker_pid"]
    assert (summary["recipe"], summary["epochs_run"], summary["executor"]) == (
        "baseline", 1, "local")
    assert re.search(r"^epoch 1/1  loss ", done.stderr, re.M)
    assert f"training in process {summary['worker_pid']}" in done.stderr
    # the saved model scores what the JSON says, against Keras' own evaluate
    x_test, y_test = load_mnist()[1]
    model = keras.saving.load_model(out)
    predicted = model.predict(training.scale(x_test), batch_size=1000, verbose=0).argmax(axis=1)
    assert int(np.sum(predicted != y_test)) == summary["test_errors"]


@pytest.mark.slow
def test_a_killed_job_exits_1_with_a_clear_message():
    process = subprocess.Popen(COMMAND + ["--recipe", "baseline", "--epochs", "30",
                                          "--train-examples", "1000"],
                               cwd=REPO_ROOT, env=ENV, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            found = re.match(r"training in process (\d+)", line)
            if found:
                os.kill(int(found.group(1)), signal.SIGKILL)  # as the OOM killer would
                break
        rest = process.stderr.read()
        assert process.wait(60) == 1
    finally:
        if process.poll() is None:
            process.kill()
    assert "error: the training process was killed (SIGKILL — usually the machine running " \
           "out of memory)" in rest
