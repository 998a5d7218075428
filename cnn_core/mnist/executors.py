"""Where training jobs run: local worker processes (the default) or Ray tasks on a cluster.

Both run the same job function (``jobs.run_job``) and offer the same interface to
the queue: ``capacity`` (jobs at once), ``kind`` ("local"/"ray"), ``run(job)`` — blocks on a
queue thread, streams the job's progress into ``job.on_event``, passes its Stop on, returns the
job's results (the model as .keras bytes) or raises ``JobFailed`` with a message for the user
(crash, out-of-memory kill, hang) — and ``shutdown()``.

LocalExecutor: ``workers`` long-lived processes started with ``spawn`` (TensorFlow is imported
once per worker, not per job; nothing of Keras runs in the Streamlit process). Progress and
the result come back through a pipe; Stop is a ``multiprocessing.Event`` the job checks after
every batch. A worker that dies, sends no heartbeat for ``hang_seconds`` (frozen) or
is still busy well past its job's time limit (stuck) is killed and replaced; only its
job fails.

RayExecutor: the job function as a Ray task with ``num_cpus``/``num_gpus``; progress goes
through a small Ray actor (the job's channel) that also holds its Stop flag. Jobs are handed to
Ray at once: the cluster's scheduler is the queue. Ray is optional (``pip install ray``).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
import traceback
import types

from cnn_core.errors import CNNLabError
from cnn_core.mnist.jobs import JobCancelled, JobFailed, run_job

POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 2.0
# Workers train at a lower CPU priority than the Streamlit process (Linux nice +10: about a tenth
# of a core's share when both want it): a class's clicks, uploads and calculator reruns are
# answered first, training takes every cycle they leave (issue 21: cheap pages must not starve).
WORKER_NICENESS = 10
EVALUATION_GRACE_SECONDS = 120.0  # past the time limit: the test-set evaluation and saving


def _death_message(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        why = (" — usually the machine running out of memory" if -exitcode == signal.SIGKILL
               else "")
        return f"the training process was killed ({name}{why}). Try fewer examples or a " \
               "smaller batch; other jobs are not affected."
    return f"the training process ended unexpectedly (exit status {exitcode}); other jobs " \
           "are not affected."


# -- local worker processes ---------------------------------------------------------------------

def _worker_main(conn, stop_event) -> None:
    """A worker process: import TensorFlow once, then run the jobs it is sent, one at a time.
    While a job runs, a thread sends a heartbeat every HEARTBEAT_SECONDS: a frozen or stopped
    process falls silent even when its job is in a long step without progress events."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's (or CLI's) to handle
    os.nice(WORKER_NICENESS)
    import keras  # noqa: F401 -- warm: the first job does not wait for the import

    send_lock, busy = threading.Lock(), threading.Event()

    def send(message):
        with send_lock:
            conn.send(message)

    def heartbeat():
        while True:
            busy.wait()
            try:
                send(("beat", None))
            except OSError:
                return
            time.sleep(HEARTBEAT_SECONDS)

    threading.Thread(target=heartbeat, daemon=True, name="heartbeat").start()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the server went away
        if message is None:
            return
        target, spec = message
        busy.set()
        try:
            result = ("result", target(spec, lambda event: send(("event", event)),
                                       stop_event.is_set))
        except CNNLabError as err:
            result = ("error", str(err))
        except Exception as err:
            traceback.print_exc()  # for the server's log; the page shows one line
            result = ("error", f"training failed: {type(err).__name__}: {err}")
        busy.clear()
        send(result)


_SPAWN_LOCK = threading.Lock()


def _start_without_main(process) -> None:
    """Start a "spawn" process that does not import this process's ``__main__``.

    multiprocessing's spawn runs the parent's ``__main__`` file again in the child. In a
    Streamlit server (or AppTest) ``__main__`` is the app's script or a page, so every worker
    would re-run the page in bare mode. For the instant of the start, ``__main__`` is a module
    without a file (the worker needs nothing from it: its target lives in this module)."""
    with _SPAWN_LOCK:
        main = sys.modules.get("__main__")
        placeholder = types.ModuleType("__main__")
        sys.modules["__main__"] = placeholder
        try:
            process.start()
        finally:
            if sys.modules.get("__main__") is placeholder:  # unless a script run replaced it
                sys.modules["__main__"] = main


class _Worker:
    def __init__(self):
        context = multiprocessing.get_context("spawn")
        self.stop_event = context.Event()
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, self.stop_event),
                                       name="cnnlab-training-worker", daemon=True)
        _start_without_main(self.process)
        child.close()
        self.jobs = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def run(self, job, hang_seconds: float, target=run_job) -> dict:
        self.stop_event.clear()
        self.jobs += 1
        try:
            self.conn.send((target, job.spec))
        except (BrokenPipeError, OSError):
            raise JobFailed(_death_message(self._exitcode())) from None
        last_heard = started = time.monotonic()
        while True:
            if job.stop_requested:
                self.stop_event.set()
            try:
                ready = self.conn.poll(POLL_SECONDS)
                message = self.conn.recv() if ready else None
            except (EOFError, OSError):
                raise JobFailed(_death_message(self._exitcode())) from None
            now = time.monotonic()
            if message is None:
                if not self.process.is_alive():
                    raise JobFailed(_death_message(self._exitcode()))
                stuck_after = job.spec.max_seconds + max(hang_seconds, EVALUATION_GRACE_SECONDS)
                if job.state == "running" and (now - last_heard > hang_seconds
                                               or now - started > stuck_after):
                    self.kill()
                    raise JobFailed(f"the training process hung (silent for "
                                    f"{now - last_heard:.0f} s, or past its time limit) and was "
                                    "ended; other jobs are not affected.")
                continue
            last_heard = now
            kind, value = message
            if kind == "beat":
                continue
            if kind == "event":
                started = now if value["kind"] == "started" else started
                job.on_event(value)
            elif kind == "result":
                return value
            else:
                raise JobFailed(value)

    def _exitcode(self) -> int | None:
        self.process.join(timeout=5)
        return self.process.exitcode

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=10)
        self.conn.close()

    def close(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=5)
        self.kill()


class LocalExecutor:
    kind = "local"

    def __init__(self, workers: int = 1, hang_seconds: float = 300.0,
                 jobs_per_worker: int = 50, target=run_job):
        self.capacity = workers
        self.hang_seconds = hang_seconds
        self.jobs_per_worker = jobs_per_worker  # then a fresh process (memory stays bounded)
        self.target = target  # the job function (tests pass one that crashes)
        self._idle: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        for _ in range(workers):
            self._idle.put(None)  # a slot; its process starts with its first job

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in self._workers if w.process.is_alive()]

    def _fresh(self, worker: _Worker | None) -> _Worker:
        if worker is not None and worker.process.is_alive() \
                and worker.jobs < self.jobs_per_worker:
            return worker
        with self._lock:
            if worker is not None:
                worker.close()
                self._workers.remove(worker)
            worker = _Worker()
            self._workers.append(worker)
        return worker

    def run(self, job) -> dict:
        worker = self._idle.get()
        try:
            worker = self._fresh(worker)
            return worker.run(job, self.hang_seconds, self.target)
        except JobFailed:
            worker.kill()  # replaced before the next job
            raise
        finally:
            self._idle.put(worker)

    def shutdown(self) -> None:
        with self._lock:
            for worker in self._workers:
                worker.close()
            self._workers.clear()


# -- Ray ----------------------------------------------------------------------------------------

_RAY_PARTS = None


def _ray_parts():
    """The Ray actor and task, defined on first use (Ray is an optional install)."""
    global _RAY_PARTS
    if _RAY_PARTS is None:
        import ray

        @ray.remote(num_cpus=0)
        class JobChannel:
            """A job's progress events (worker → server) and its Stop flag (server → worker)."""

            def __init__(self):
                self.events, self.stop_flag = [], False

            def put(self, event):
                self.events.append(event)

            def drain(self):
                events, self.events = self.events, []
                return events

            def stop(self):
                self.stop_flag = True

            def stopped(self):
                return self.stop_flag

        @ray.remote(max_retries=0)
        def train_task(spec, channel):
            last = {"asked": 0.0, "stop": False}

            def stop_requested():  # asked after every batch; the actor at most 4× a second
                if time.monotonic() - last["asked"] > POLL_SECONDS:
                    last["stop"] = ray.get(channel.stopped.remote())
                    last["asked"] = time.monotonic()
                return last["stop"]

            return run_job(spec, channel.put.remote, stop_requested)

        _RAY_PARTS = JobChannel, train_task
    return _RAY_PARTS


class RayExecutor:
    kind = "ray"

    def __init__(self, address: str, num_cpus: float = 1.0, num_gpus: float = 0.0,
                 capacity: int = 1000, hang_seconds: float = 300.0):
        try:
            import ray
        except ImportError:
            raise CNNLabError("CNNLAB_RAY_ADDRESS is set but Ray is not installed "
                              "(pip install ray).") from None
        if not ray.is_initialized():
            try:
                ray.init(address=address, logging_level="ERROR", log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise CNNLabError(f"cannot reach the Ray cluster at {address}: {err}") from None
        self.address, self.num_cpus, self.num_gpus = address, num_cpus, num_gpus
        self.capacity = capacity  # handed to the cluster at once: its scheduler queues them
        self.hang_seconds = hang_seconds

    def run(self, job) -> dict:
        import ray

        job_channel, train_task = _ray_parts()
        channel = job_channel.remote()
        ref = train_task.options(num_cpus=self.num_cpus, num_gpus=self.num_gpus).remote(
            job.spec, channel)
        started = time.monotonic()
        try:
            while True:
                ready, _ = ray.wait([ref], timeout=POLL_SECONDS)
                events = ray.get(channel.drain.remote())
                for event in events:
                    job.on_event(event)
                now = time.monotonic()
                started = now if job.state != "running" else started
                if ready:
                    break
                if job.cancel_requested and job.state == "starting":
                    ray.cancel(ref, force=True)
                    raise JobCancelled()
                if job.stop_requested:
                    channel.stop.remote()
                if now - started > job.spec.max_seconds + max(self.hang_seconds,
                                                              EVALUATION_GRACE_SECONDS):
                    ray.cancel(ref, force=True)
                    raise JobFailed("the training hung on the Ray cluster (past its time limit)"
                                    " and was ended.")
            return self._result(ref)
        finally:
            ray.kill(channel)

    @staticmethod
    def _result(ref) -> dict:
        import ray

        try:
            return ray.get(ref)
        except ray.exceptions.TaskCancelledError:
            raise JobCancelled() from None
        except ray.exceptions.RayTaskError as err:
            cause = err.cause
            if isinstance(cause, CNNLabError):
                raise JobFailed(str(cause)) from None
            raise JobFailed(f"training failed on the Ray cluster: {type(cause).__name__}: "
                            f"{cause}") from None
        except ray.exceptions.RayError as err:
            raise JobFailed(f"the Ray worker running the job died ({type(err).__name__}); "
                            "other jobs are not affected.") from None

    def shutdown(self) -> None:
        pass  # the cluster is not ours to stop; the driver disconnects when the process exits
