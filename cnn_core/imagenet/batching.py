"""Dynamic batching in front of one forward pass: ``Batcher`` (thread-safe) gathers the
requests that arrive while a batch computes into the next one, and never makes a lone request
wait for company. The runtime (runtime.py) puts it in front of OpenVINO's LATENCY-hint model;
docs/serving.md says why.
"""

import atexit
import collections
import threading
import weakref

import numpy as np

# Rows one gathered batch holds at most: 8 images per batch already compute at a full batch's
# speed per image (SqueezeNet, Inception v3, f32 and bf16), and each of the two infer requests
# keeps buffers for its largest batch (SqueezeNet: ~100 MB at 16 images).
max_batch_rows = 8
# Rows that must wait before a second batch goes in flight while one computes. Measured
# (benchmarks/classify_bench.py, 8 callers at once, images/s over the THROUGHPUT hint's, two
# runs each, SqueezeNet f32 / bf16, Inception v3 f32 / bf16): 1 (any waiting row) 0.86–0.87 /
# 0.86–0.88 / 0.98–1.01 / 0.90–0.91; 4: 0.90–0.92 / 0.93–0.95 / 1.00–1.02 / 0.95–1.00;
# 8: 0.88–0.90 / 0.87–0.92 / 1.00–1.01 / 0.99–1.02. A part-filled second batch would only queue
# behind the running one on the single stream, and bigger batches compute faster per image; a
# half-full one keeps the cores busy between batches of a small model (SqueezeNet: ~4 ms).
second_batch_rows = 4


class Job:
    """One caller's rows on their way through a ``Batcher``, filled slice by slice."""

    def __init__(self, inputs):
        self.inputs = inputs                # (n, ...) float32
        self.taken = 0                      # rows handed to a batch so far
        self.parts = {}                     # start row → [output array, ...] of that slice
        self.received = 0
        self.outputs = self.error = None
        self.lock = threading.Lock()        # two serving threads may finish its slices
        self.done = threading.Event()

    def receive(self, outputs, start):
        with self.lock:
            if self.done.is_set():          # a slice of it failed
                return
            self.parts[start] = outputs
            self.received += len(outputs[0])
            if self.received == len(self.inputs):
                parts = [self.parts[key] for key in sorted(self.parts)]
                self.outputs = [part[0] if len(parts) == 1 else np.concatenate(part)
                                for part in zip(*parts)]
                self.done.set()

    def fail(self, error):
        with self.lock:
            if not self.done.is_set():
                self.error = error
                self.done.set()


_live_batchers = weakref.WeakSet()
_live_lock, _exit_hook = threading.Lock(), []


def _stop_batchers_at_exit():
    """End every batcher's threads before the interpreter shuts down: a serving thread that
    drops the last hold on a compiled model while OpenVINO is torn down aborts the process
    ("terminate called without an active exception"). Registered when the first batcher starts
    — after OpenVINO and TensorFlow registered theirs — so that it runs before them (atexit runs
    the last registered first)."""
    for batcher in list(_live_batchers):
        batcher.stop()
    for thread in threading.enumerate():     # stopped ones too: their last act frees the model
        if thread.name == "cnnlab-batcher" and thread is not threading.current_thread():
            thread.join(timeout=5)


class Batcher:
    """Dynamic batching in front of one forward pass ``run(x) → [outputs]``, thread-safe.

    A serving thread takes every request waiting when a slot is free and runs them as one
    batch of at most ``max_batch`` rows — the largest of ``sizes`` that the waiting rows fill
    (all sizes up to ``max_batch`` by default) — first come, first served; a request larger than
    the room left is split, its rest leads the next batch. A request that arrives while nothing
    waits and the model is idle is run at once, alone, in its caller's own thread — nothing ever
    waits for company, there is no timer and no polling — and those that arrive while a batch
    runs are gathered into the next one, which starts when the running one ends.
    ``workers`` threads (2 by default, each with its own infer request): a second batch is
    submitted while one computes only when ``second_batch_rows`` rows wait, so under a steady
    crowd the cores never idle between batches while callers are still reading their rows
    (OpenVINO runs them one after the other on the single LATENCY stream). Each caller gets exactly its own rows back, or the exception its batch raised; the
    threads keep serving after an exception. ``sizes`` counts the batches run by their rows.
    """

    def __init__(self, run, max_batch=max_batch_rows, workers=1, sizes=None):
        self.run, self.max_batch = run, max_batch
        self.allowed = sorted({1, *(sizes or range(1, max_batch + 1))})
        self.jobs = collections.deque()
        self.ready = threading.Condition()
        self.stopped = False
        self.sizes = collections.Counter()      # rows in a batch → batches run with that many
        self.workers, self.running = workers, 0   # batches at most / now being run
        self.threads = [threading.Thread(target=self.serve, name="cnnlab-batcher", daemon=True)
                        for _ in range(workers)]
        for thread in self.threads:
            thread.start()
        with _live_lock:
            if not _live_batchers and not _exit_hook:
                atexit.register(_stop_batchers_at_exit)
                _exit_hook.append(True)
            _live_batchers.add(self)

    def __call__(self, inputs):
        """(n, ...) → [output (n, ...) per model output], n ≥ 1; blocks until computed."""
        job = Job(inputs)
        with self.ready:
            if self.stopped:
                raise RuntimeError("this batcher has been stopped")
            alone = not self.jobs and self.running == 0
            self.jobs.append(job)
            if alone:       # nothing waits and a slot is free: run it here, in this thread,
                batch = self.take()       # sparing two thread switches (lone-request latency)
            if self.jobs:   # (the rest of a request too large for one batch)
                self.ready.notify()
        if alone:
            try:
                self.run_batch(batch)
            finally:
                self.release()
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.outputs

    def stop(self):
        with self.ready:
            self.stopped = True
            self.ready.notify_all()

    def may_start(self):
        """A batch may start now (lock held): the model is idle, or ``second_batch_rows`` rows
        wait for the free slot (see there). Fewer wait for the running batch to end instead,
        gathering more rows meanwhile."""
        if not self.jobs or self.running >= self.workers:
            return False
        return self.running == 0 or sum(
            len(job.inputs) - job.taken for job in self.jobs) >= min(self.max_batch,
                                                                      second_batch_rows)

    def gather(self):
        """[(job, start, stop)] of the next batch, taken from the waiting jobs (lock held)."""
        waiting = sum(len(job.inputs) - job.taken for job in self.jobs)
        rows = max(size for size in self.allowed if size <= min(waiting, self.max_batch))
        batch, room = [], rows
        while self.jobs and room:
            job = self.jobs[0]
            start = job.taken
            stop = min(len(job.inputs), start + room)
            batch.append((job, start, stop))
            job.taken, room = stop, room - (stop - start)
            if stop == len(job.inputs):
                self.jobs.popleft()
        self.sizes[rows] += 1
        return batch

    def take(self):
        """The next batch, counted as running (lock held)."""
        self.running += 1
        return self.gather()

    def release(self):
        """One batch done: its slot goes to whatever waits."""
        with self.ready:
            self.running -= 1
            if self.jobs:
                self.ready.notify()

    def serve(self):
        while True:
            with self.ready:
                while not self.may_start() and not self.stopped:
                    self.ready.wait()
                if not self.jobs:
                    return
                batch = self.take()
            try:
                self.run_batch(batch)
            finally:
                self.release()

    def run_batch(self, batch):
        slices = [job.inputs[start:stop] for job, start, stop in batch]
        try:
            outputs = self.run(slices[0] if len(slices) == 1 else np.concatenate(slices))
        except BaseException as error:           # noqa: BLE001 - handed to its callers
            for job, _, _ in batch:
                self.abandon(job, error)
            return
        offset = 0
        for job, start, stop in batch:
            count = stop - start
            job.receive([output[offset:offset + count] for output in outputs], start)
            offset += count

    def abandon(self, job, error):
        """Fail ``job``, and drop the rest of it if it is still waiting (it was split)."""
        with self.ready:
            if job in self.jobs:
                self.jobs.remove(job)
        job.fail(error)

