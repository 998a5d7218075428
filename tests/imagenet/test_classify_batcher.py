"""cnn_core.imagenet.runtime.Batcher, the dynamic batching in front of the default runtime, with a
forward pass whose answer is known by hand (each row times 10, plus its row sum as a second
output) and which can be held running: what a lone request does, what requests arriving during a
batch do, splitting, exceptions. Structural checks (which batches ran), never timings."""

import threading

import numpy as np
import pytest

from cnn_core.imagenet.runtime import Batcher


class HeldForward:
    """x (n, 3) → [10 x, row sums (n,)]; records each batch; ``hold`` keeps a call running."""

    def __init__(self):
        self.batches, self.hold = [], threading.Event()
        self.hold.set()
        self.entered = threading.Semaphore(0)
        self.fail_when = None            # a row value whose presence makes the batch fail

    def __call__(self, x):
        self.batches.append(x.copy())
        self.entered.release()
        self.hold.wait()
        if self.fail_when is not None and (x[:, 0] == self.fail_when).any():
            raise ValueError("this batch failed")
        return [10 * x, x.sum(axis=1)]


def rows(*values):
    return np.array([[value, value + 1, value + 2] for value in values], np.float32)


def in_threads(batcher, inputs):
    """Call ``batcher`` from one thread per input; (results, errors) by input index."""
    results, errors = {}, {}

    def call(i):
        try:
            results[i] = batcher(inputs[i])
        except Exception as error:
            errors[i] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(inputs))]
    for thread in threads:
        thread.start()
    return threads, results, errors


def wait_queued(batcher, count):
    """Until ``count`` jobs wait in the batcher's queue (they are appended under its lock)."""
    for _ in range(10_000):
        with batcher.ready:
            if len(batcher.jobs) == count:
                return
        threading.Event().wait(0.001)
    raise AssertionError(f"{count} jobs never queued")


def test_a_lone_request_runs_at_once_alone():
    forward = HeldForward()
    batcher = Batcher(forward, max_batch=16)
    outputs = batcher(rows(1, 2))
    np.testing.assert_array_equal(outputs[0], 10 * rows(1, 2))
    np.testing.assert_array_equal(outputs[1], [6, 9])
    assert len(forward.batches) == 1 and batcher.sizes == {2: 1}
    batcher(rows(7))
    assert batcher.sizes == {2: 1, 1: 1}            # alone again: no waiting for company


def test_requests_arriving_during_a_batch_are_gathered_into_the_next_one():
    forward = HeldForward()
    batcher = Batcher(forward, max_batch=16)
    forward.hold.clear()
    first, results, errors = in_threads(batcher, [rows(0)])
    forward.entered.acquire()                       # the first request is running, alone
    later, more, _ = in_threads(batcher, [rows(1), rows(2), rows(3, 4)])
    wait_queued(batcher, 3)
    forward.hold.set()
    for thread in first + later:
        thread.join()
    assert not errors and batcher.sizes == {1: 1, 4: 1}
    assert sorted(forward.batches[1][:, 0]) == [1, 2, 3, 4]     # one batch for the three
    for index, value in enumerate([[1], [2], [3, 4]]):
        np.testing.assert_array_equal(more[index][0], 10 * rows(*value))
        np.testing.assert_array_equal(more[index][1], rows(*value).sum(axis=1))
    np.testing.assert_array_equal(results[0][0], 10 * rows(0))


def test_a_request_larger_than_the_cap_is_split_and_joined_back_in_order():
    forward = HeldForward()
    batcher = Batcher(forward, max_batch=4)
    x = rows(*range(10))
    outputs = batcher(x)
    np.testing.assert_array_equal(outputs[0], 10 * x)
    np.testing.assert_array_equal(outputs[1], x.sum(axis=1))
    assert [len(batch) for batch in forward.batches] == [4, 4, 2]


def test_the_cap_holds_when_many_wait_and_a_large_request_shares_its_room():
    forward = HeldForward()
    batcher = Batcher(forward, max_batch=4)
    forward.hold.clear()
    first, _, _ = in_threads(batcher, [rows(0)])
    forward.entered.acquire()
    later, results, errors = in_threads(batcher, [rows(1, 2, 3), rows(4, 5, 6)])
    wait_queued(batcher, 2)
    forward.hold.set()
    for thread in first + later:
        thread.join()
    assert not errors and all(len(batch) <= 4 for batch in forward.batches)
    assert [len(batch) for batch in forward.batches] == [1, 4, 2]
    np.testing.assert_array_equal(results[0][0], 10 * rows(1, 2, 3))
    np.testing.assert_array_equal(results[1][0], 10 * rows(4, 5, 6))


def test_batches_keep_to_the_allowed_sizes_and_the_rest_goes_next():
    """Sizes 1, 2, 4 (as the runtime keeps to prepared shapes): 7 rows waiting → 4, 2, 1."""
    forward = HeldForward()
    batcher = Batcher(forward, max_batch=4, sizes=(2, 4))
    forward.hold.clear()
    first, _, _ = in_threads(batcher, [rows(0)])
    forward.entered.acquire()
    later, results, errors = in_threads(batcher, [rows(1, 2, 3), rows(4, 5, 6, 7)])
    wait_queued(batcher, 2)
    forward.hold.set()
    for thread in first + later:
        thread.join()
    assert not errors and [len(batch) for batch in forward.batches] == [1, 4, 2, 1]
    assert batcher.sizes == {1: 2, 4: 1, 2: 1}
    np.testing.assert_array_equal(results[0][0], 10 * rows(1, 2, 3))
    np.testing.assert_array_equal(results[1][0], 10 * rows(4, 5, 6, 7))


def test_an_exception_reaches_the_callers_of_its_batch_and_serving_goes_on():
    forward = HeldForward()
    batcher = Batcher(forward, max_batch=16)
    forward.fail_when = 99.0
    with pytest.raises(ValueError, match="this batch failed"):
        batcher(rows(99))
    forward.hold.clear()
    first, _, _ = in_threads(batcher, [rows(5)])
    forward.entered.acquire()
    later, results, errors = in_threads(batcher, [rows(99), rows(6)])   # gathered together
    wait_queued(batcher, 2)
    forward.hold.set()
    for thread in first + later:
        thread.join()
    assert set(errors) == {0, 1} and not results          # both callers of the failed batch
    assert all(isinstance(error, ValueError) for error in errors.values())
    np.testing.assert_array_equal(batcher(rows(8))[0], 10 * rows(8))    # still serving


def test_a_failed_split_request_is_not_run_further():
    forward = HeldForward()
    batcher = Batcher(forward, max_batch=2)
    forward.fail_when = 99.0
    with pytest.raises(ValueError):
        batcher(rows(99, 1, 2, 3, 4))                  # its first slice of two fails
    assert len(forward.batches) == 1 and not batcher.jobs
    np.testing.assert_array_equal(batcher(rows(3))[0], 10 * rows(3))


def test_a_stopped_batcher_ends_its_threads_and_refuses_new_work():
    batcher = Batcher(HeldForward(), workers=2)
    batcher.stop()
    for thread in batcher.threads:
        thread.join(timeout=5)
        assert not thread.is_alive()
    with pytest.raises(RuntimeError, match="stopped"):
        batcher(rows(1))
