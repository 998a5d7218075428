"""The training queue: one per server process, first come, first served, over an executor
(local worker processes or a Ray cluster, ``cnn_core.mnist.executors``).

    queue = shared_queue()                        # built once per process, from the environment
    job = queue.submit(JobSpec("fast", settings, train_examples=2000), owner=session_id,
                       keep_alive=lambda: session_is_open)

Long work is queued, never refused: every submit gets a place in line and an estimate. Memory
stays bounded by the sessions, not by a cap on the queue: each owner (a browser session) has at
most one job waiting — a new submit while its job waits *replaces* that job, in the same place
in line — and one training (the page offers Train again only once its job is done). A waiting
job whose session has been gone ``queued_grace`` seconds leaves the queue; a running one stops
after ``running_grace``.

Environment: CNNLAB_TRAINING_WORKERS (local worker processes; default 2 on 2 cores, one per
2 cores above), CNNLAB_RAY_ADDRESS (run jobs as Ray tasks on that cluster),
CNNLAB_RAY_NUM_CPUS / CNNLAB_RAY_NUM_GPUS (resources per job; default 1 / 0),
CNNLAB_MAX_TRAINING_SECONDS (a job's time limit; default 1,800).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque

from cnn_core.errors import CNNLabError
from cnn_core.settings import positive_number
from cnn_core.mnist.recipes import recipe
from cnn_core.mnist.jobs import (
    JOB_OVERHEAD_SECONDS, KEEP_RESULTS, Job, JobCancelled, JobResult, JobSpec,
)


class TrainingQueue:
    """First come, first served over an executor with ``executor.capacity`` slots."""

    def __init__(self, executor, queued_grace: float = 10.0, running_grace: float = 30.0,
                 max_seconds: float = 30 * 60):
        self.executor = executor
        self.queued_grace, self.running_grace = queued_grace, running_grace
        self.max_seconds = max_seconds
        self._lock = threading.Condition()
        self._waiting: deque[Job] = deque()
        self._handed: list[Job] = []  # given to the executor (starting or running)
        self.speed = 1.0  # measured fit time / the reference machine's (a moving average)
        self.finished_count = 0
        self._dispatcher: threading.Thread | None = None
        self._closed = False

    # -- the page's side ---------------------------------------------------------------------------

    def submit(self, spec: JobSpec, owner: str, keep_alive=None) -> Job:
        from cnn_core.mnist.training import check_settings

        recipe(spec.recipe_name)
        check_settings(spec.settings)
        if spec.train_examples is not None and spec.train_examples < 100:
            raise CNNLabError("train on at least 100 examples.")
        spec = JobSpec(spec.recipe_name, spec.settings, spec.train_examples,
                       min(spec.max_seconds, self.max_seconds))
        with self._lock:
            job = Job(spec, owner, keep_alive, self)
            waiting = next((j for j in self._waiting if j.owner == owner), None)
            if waiting is None:
                self._waiting.append(job)
            else:  # the session changed its mind: the new job takes the old one's place
                self._waiting[self._waiting.index(waiting)] = job
                self._finish(waiting, "cancelled")
            self._start_dispatcher()
            self._hand_over()
        return job

    def cancel(self, job: Job) -> None:
        with self._lock:
            if job in self._waiting:
                self._waiting.remove(job)
                self._finish(job, "cancelled")

    def place(self, job: Job) -> int | None:
        """1-based place among the jobs waiting for a slot (on Ray: also those handed to the
        cluster that have not started); None once it trains."""
        with self._lock:
            ahead = [j for j in self._handed if j.state == "starting"
                     and self.executor.kind == "ray"] + list(self._waiting)
            return ahead.index(job) + 1 if job in ahead else None

    def estimate(self, spec: JobSpec) -> float:
        return spec.estimated_seconds(self.speed)

    def seconds_until_start(self, job: Job) -> float | None:
        """Simulate the slots: running jobs' remaining time, then each waiting job in order."""
        with self._lock:
            capacity = self.executor.capacity
            if capacity > len(self._handed) + len(self._waiting):
                return None  # a slot is free (the cluster's queue decides on Ray)
            slots = sorted(self._remaining(j) for j in self._handed)
            slots += [0.0] * max(0, capacity - len(slots))
            for other in self._waiting:
                slots.sort()
                if other is job:
                    return slots[0] if slots[0] >= 1 else None
                slots[0] += self.estimate(other.spec)
        return None

    def counts(self) -> dict:
        with self._lock:
            return {"waiting": len(self._waiting), "training": len(self._handed),
                    "slots": self.executor.capacity, "executor": self.executor.kind}

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        for job in list(self._waiting):
            job.cancel()
        for job in list(self._handed):
            job.stop()
        self.executor.shutdown()

    # -- the dispatcher thread -----------------------------------------------------------------

    def _remaining(self, job: Job) -> float:
        eta = job.latest.get("eta")
        if eta is not None and math.isfinite(eta) and "member" not in job.latest:
            return eta + JOB_OVERHEAD_SECONDS / 2
        elapsed = time.monotonic() - (job.started_at or time.monotonic())
        return max(JOB_OVERHEAD_SECONDS / 2, self.estimate(job.spec) - elapsed)

    def _start_dispatcher(self) -> None:
        if self._dispatcher is None or not self._dispatcher.is_alive():
            self._dispatcher = threading.Thread(target=self._dispatch, name="training-queue",
                                                daemon=True)
            self._dispatcher.start()

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                self._lock.wait(timeout=1.0)
                if self._closed:
                    return
                self._look_after_sessions()
                self._hand_over()

    def _hand_over(self) -> None:
        """Give waiting jobs to free slots, oldest first. Called with the lock held."""
        while self._waiting and len(self._handed) < self.executor.capacity:
            job = self._waiting.popleft()
            job.state, job.handed_at = "starting", time.monotonic()
            self._handed.append(job)
            threading.Thread(target=self._run, args=(job,), daemon=True,
                             name=f"training-job-{job.spec.recipe_name}").start()

    def _look_after_sessions(self) -> None:
        """Waiting jobs of closed sessions leave the queue; running ones stop (keeping what
        they trained). Called with the lock held."""
        now = time.monotonic()
        for job in [*self._waiting, *self._handed]:
            if job.keep_alive is None or job.keep_alive():
                job.gone_since = None
                continue
            job.gone_since = job.gone_since or now
            gone = now - job.gone_since
            if job in self._waiting and gone > self.queued_grace:
                self._waiting.remove(job)
                self._finish(job, "cancelled")
            elif job in self._handed and gone > self.running_grace and not job.stop_requested:
                job.abandoned = True
                job.stop()

    def _run(self, job: Job) -> None:
        state = "failed"
        try:
            payload = self.executor.run(job)
            job.history, job.batches = payload["history"], payload["batches"]
            job.result = JobResult.from_payload(payload)
            self._learn_speed(job)
            state = ("abandoned" if job.abandoned else
                     "stopped" if job.result.stopped else "finished")
        except JobCancelled:
            state = "cancelled"
        except CNNLabError as err:
            job.error = str(err)
        except Exception as err:  # an executor bug must not take the slot with it
            job.error = f"training failed: {type(err).__name__}: {err}"
        finally:
            with self._lock:
                if job in self._handed:
                    self._handed.remove(job)
                self._finish(job, state)
                self._lock.notify_all()

    def _finish(self, job: Job, state: str) -> None:
        job.state = state
        job.finished_at = time.monotonic()
        job.keep_alive = None  # do not hold on to the session's runtime
        self.finished_count += 1
        job._finished.set()

    def _learn_speed(self, job: Job) -> None:
        """Update this server's speed against the reference machine from a finished job."""
        if job.result.stopped or job.result.members:
            return
        ratio = job.result.seconds / job.spec.predicted_fit_seconds()
        self.speed = 0.5 * (self.speed + ratio)


def keep_recent_results(jobs: list[Job], keep: int = KEEP_RESULTS) -> None:
    """Bounded memory per session: only the last ``keep`` runs keep their model and
    predictions; older ones keep their history and figures for the runs table."""
    for job in jobs[:-keep]:
        if job.result is not None:
            job.result.trim()
        job.batches = []


def default_workers(cores: int | None = None) -> int:
    """One worker per 2 cores, and 2 on a 2-core machine: a job's TensorFlow keeps ~1.2–1.8
    cores busy, and its start and end (tracing, the test-set evaluation, saving) one. Measured
    on 2 cores (benchmarks/training_queue.py): 2 workers finished the same queued jobs 1.40×
    (2-epoch, 20,000-image jobs) to 1.52× (1-epoch, 1,000-image) faster than 1; a lone job runs
    as fast either way."""
    cores = cores or os.cpu_count() or 1
    return cores if cores <= 2 else cores // 2


def executor_from_environment():
    from cnn_core.mnist import executors as training_executors

    address = os.environ.get("CNNLAB_RAY_ADDRESS", "").strip()
    if address:
        return training_executors.RayExecutor(
            address, num_cpus=positive_number("CNNLAB_RAY_NUM_CPUS", 1.0, float),
            num_gpus=positive_number("CNNLAB_RAY_NUM_GPUS", 0.0, float, zero_allowed=True))
    return training_executors.LocalExecutor(
        positive_number("CNNLAB_TRAINING_WORKERS", default_workers()))


_SHARED: TrainingQueue | None = None
_SHARED_LOCK = threading.Lock()


def shared_queue() -> TrainingQueue:
    """This process's training queue (every session of the server shares it). Built on first
    use; the worker processes start only when the first job is submitted."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = TrainingQueue(
                executor_from_environment(),
                max_seconds=positive_number("CNNLAB_MAX_TRAINING_SECONDS", 30 * 60.0, float))
        return _SHARED
