"""Training jobs: what to train (``JobSpec``), the job function a worker process or a Ray task
runs (``run_job``), and the server's view of a job (``Job``: state, place, progress, result).

    job = shared_queue().submit(spec, owner, keep_alive)        # cnn_core.mnist.queue
    job.state, job.place(), job.wait_text(), job.latest, job.history   # polled by the page
    job.stop()      # a running job ends at its next batch and keeps its partial model
    job.cancel()    # a waiting job leaves the queue

A job's history (its epoch events) lives in ``Job.history`` and nowhere else on the server.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, field

from cnn_core.errors import CNNLabError
from cnn_core.mnist.recipes import TrainSettings
from cnn_core.mnist.views import duration, ordinal

MNIST_TRAIN_IMAGES = 60_000
MNIST_TEST_IMAGES = 10_000
# Seconds of `fit` per training example and epoch on the 2-core reference machine, from
# benchmarks/mnist_bench.py (fit = FIT_OVERHEAD + epochs × rate × (examples + validation/3):
# validating an image costs about a third of training on it). A server's finished jobs scale
# these by its own measured speed.
# Quiet machine, 26 Nov 2026 07:19–07:54, batch norm fused (fit: baseline 90–96 s, fast 67–97 s
# for 7 epochs, best 770 s for 36 epochs, the ensemble's members 110–129 s for 11 epochs).
SECONDS_PER_EXAMPLE_EPOCH = {"baseline": 2.87e-4, "fast": 2.0e-4, "best": 3.76e-4,
                             "ensemble": 1.82e-4}  # per member (the fast recipe's network)
UNKNOWN_RECIPE_RATE = 1e-3
FIT_OVERHEAD_SECONDS = 3.0  # tracing the training step
JOB_OVERHEAD_SECONDS = 6.0  # building the model, test-set evaluation, saving
KEEP_RESULTS = 3  # a session keeps the models of its last few runs, not every one


class JobFailed(CNNLabError):
    """The job's process crashed, was killed or hung; or the training raised."""


class JobCancelled(Exception):
    """A waiting job left the queue before it started."""


@dataclass(frozen=True)
class JobSpec:
    """What to train: the recipe, its settings (including the seed), how many examples."""

    recipe_name: str
    settings: TrainSettings
    train_examples: int | None = None  # None: the whole training set (minus the hold-out)
    max_seconds: float = 30 * 60  # the run stops (keeping its model) after this long

    @property
    def examples(self) -> int:
        return self.train_examples or MNIST_TRAIN_IMAGES - self.settings.holdout

    def predicted_fit_seconds(self) -> float:
        """``fit``'s time on the reference machine: the recipe's rate × examples × epochs."""
        settings = self.settings
        rate = SECONDS_PER_EXAMPLE_EPOCH.get(self.recipe_name, UNKNOWN_RECIPE_RATE)
        validation = settings.holdout or MNIST_TEST_IMAGES
        members = getattr(settings, "members", 1)  # an ensemble trains them one after another
        return members * (FIT_OVERHEAD_SECONDS
                          + settings.epochs * rate * (self.examples + validation / 3))

    def estimated_seconds(self, speed: float = 1.0) -> float:
        """The job's duration on a server ``speed`` times slower than the reference."""
        return JOB_OVERHEAD_SECONDS + speed * self.predicted_fit_seconds()


def run_job(spec: JobSpec, emit, stop_requested) -> dict:
    """The job function, run in a worker process or a Ray task: train, evaluate, return the
    results as picklable values (the model as .keras bytes). ``emit(event)`` streams progress;
    ``stop_requested()`` is asked after every batch; the time limit stops the run the same way."""
    import keras

    from cnn_core.mnist import training

    keras.backend.clear_session()  # a reused worker starts each job with fresh Keras state
    started = time.monotonic()
    limit = {"hit": False}

    class StopFlag:  # what train() checks after every batch
        def is_set(self) -> bool:
            if time.monotonic() - started > spec.max_seconds:
                limit["hit"] = True
            return limit["hit"] or bool(stop_requested())

    emit({"kind": "started", "worker_pid": os.getpid()})
    result = training.train(spec.recipe_name, spec.settings, emit, StopFlag(),
                            spec.train_examples)
    return {
        "history": result.history, "batches": result.batches, "evaluation": result.evaluation,
        "seconds": result.seconds, "cpu_seconds": result.cpu_seconds, "stopped": result.stopped,
        "time_limited": limit["hit"], "members": list(getattr(result, "members", None) or []),
        "keras_file": training.model_bytes(result.model), "worker_pid": os.getpid(),
    }


@dataclass
class JobResult:
    evaluation: object | None  # training.Evaluation; dropped when the session trims old runs
    accuracy: float | None
    errors: int | None
    seconds: float  # fit time
    cpu_seconds: float
    stopped: bool
    time_limited: bool
    members: list[dict]
    keras_file: bytes | None
    worker_pid: int
    _model: object = None

    @classmethod
    def from_payload(cls, payload: dict) -> "JobResult":
        evaluation = payload["evaluation"]
        return cls(evaluation, evaluation.accuracy if evaluation else None,
                   evaluation.errors if evaluation else None, payload["seconds"],
                   payload["cpu_seconds"], payload["stopped"], payload["time_limited"],
                   payload["members"], payload["keras_file"], payload["worker_pid"])

    def model(self):
        """The trained Keras model, loaded from its .keras bytes on first use."""
        from cnn_core.mnist.training import model_from_bytes

        if self._model is None and self.keras_file is not None:
            self._model = model_from_bytes(self.keras_file)
        return self._model

    def trim(self) -> None:
        """Forget the heavy parts (model, predictions); keep the figures for the runs table."""
        self.evaluation = self.keras_file = self._model = None


DONE_STATES = ("finished", "stopped", "abandoned", "failed", "cancelled")


@dataclass(eq=False)
class Job:
    spec: JobSpec
    owner: str
    keep_alive: object = None  # () -> bool: is the browser session still open?
    queue: "TrainingQueue | None" = None
    state: str = "queued"  # queued, starting, running, then one of DONE_STATES
    history: list[dict] = field(default_factory=list)  # epoch events: the one copy
    batches: list[dict] = field(default_factory=list)  # batch events (running figures)
    latest: dict = field(default_factory=dict)
    result: JobResult | None = None
    error: str | None = None
    submitted_at: float = field(default_factory=time.monotonic)
    handed_at: float | None = None  # given a slot (a worker, or the Ray cluster)
    started_at: float | None = None  # its worker began training
    finished_at: float | None = None
    stop_requested: bool = False
    cancel_requested: bool = False
    abandoned: bool = False
    gone_since: float | None = None
    worker_pid: int | None = None
    _finished: threading.Event = field(default_factory=threading.Event)

    @property
    def done(self) -> bool:
        return self.state in DONE_STATES

    @property
    def waiting(self) -> bool:
        return self.state in ("queued", "starting")

    @property
    def total_epochs(self) -> int:
        members = self.latest.get("members", 1)
        return self.spec.settings.epochs * (members if "member" in self.latest else 1)

    def stop(self) -> None:
        """Running: end at the next batch, keeping the partial model. Waiting: cancel."""
        if self.waiting:
            self.cancel()
        self.stop_requested = True

    def cancel(self) -> None:
        self.cancel_requested = True
        if self.queue is not None:
            self.queue.cancel(self)

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    def place(self) -> int | None:
        return self.queue.place(self) if self.queue and self.waiting else None

    def wait_text(self) -> str:
        """'queued: 3rd, starts in about 4 min'."""
        place = self.place()
        if place is None:
            return ""
        start = self.queue.seconds_until_start(self)
        when = "soon" if start is None else f"in about {duration(start)}"
        return f"queued: {ordinal(place)}, starts {when}"

    def progress_text(self) -> str:
        """'running · member 2/3 (fast) · epoch 2/5 · about 14 s left'."""
        if self.state == "queued":
            return self.wait_text()
        if self.state == "cancelled":
            return "cancelled: it left the queue before it started"
        latest = self.latest
        text = self.state
        if self.state == "starting":
            where = self.queue.executor.kind if self.queue else "local"
            return text + (f" · {ordinal(self.place() or 1)} in the Ray cluster's queue"
                           if where == "ray" else " · loading the data and building the model")
        if "member" in latest:
            text += f" · member {latest['member']}/{latest['members']}"
            text += f" ({latest['member_recipe']})" if latest.get("member_recipe") else ""
        epochs = latest.get("epochs", self.spec.settings.epochs)
        text += f" · epoch {latest.get('epoch', 1)}/{epochs}"
        eta = latest.get("eta")
        if not self.done and eta is not None and math.isfinite(eta):
            text += f" · about {duration(eta)} left" + (" in this member" if "member" in latest
                                                         else "")
        if self.result is not None and self.result.time_limited:
            text += " · time limit reached"
        return text

    def describe(self) -> str:
        return f"the {self.spec.recipe_name!r} recipe ({self.progress_text()})"

    # -- called by the executor's thread ---------------------------------------------------------

    def on_event(self, event: dict) -> None:
        if event["kind"] == "started":
            self.worker_pid = event.get("worker_pid")
            self.started_at = time.monotonic()
            self.state = "running"
            return
        self.latest = event
        (self.history if event["kind"] == "epoch" else self.batches).append(event)
