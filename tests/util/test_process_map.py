"""ordered_bounded_map: input order, the in-flight bound, worker errors, and the serial path."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from alphagan_jax.util.process_map import ordered_bounded_map


def slow_square(x: int) -> int:
    """Later inputs finish first: sleeps less the larger x is."""
    time.sleep(0.05 * (5 - x % 6))
    return x * x


def first_is_slow(x: int) -> int:
    time.sleep(0.5 if x == 0 else 0.0)
    return x


def pid_of(_: int) -> int:
    return os.getpid()


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError(f"bad item {x}")
    return x


class CountingExecutor(ThreadPoolExecutor):
    """Records the most tasks submitted and not yet collected by the map at any time."""

    def __init__(self, workers: int):
        super().__init__(workers)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    def submit(self, fn, /, *args, **kwargs) -> Future:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        return super().submit(fn, *args, **kwargs)

    def collected(self) -> None:
        with self.lock:
            self.in_flight -= 1


def test_order_kept_when_tasks_finish_out_of_order_in_processes():
    items = list(range(6))
    assert list(ordered_bounded_map(slow_square, items, workers=2)) == [x * x for x in items]
    # Other processes really ran the tasks (the serial path would keep the order trivially).
    assert os.getpid() not in set(ordered_bounded_map(pid_of, range(4), workers=2))


def test_order_kept_while_later_tasks_finish_during_submission():
    # Results of items 1.. are done while the map is still reading inputs and item 0 still runs: the
    # map must hold them back rather than hand them out as they finish.
    def inputs():
        for x in range(8):
            time.sleep(0.05)
            yield x

    with ThreadPoolExecutor(2) as pool:
        assert list(ordered_bounded_map(first_is_slow, inputs(), workers=2, executor=pool)) == list(range(8))


def test_serial_path_equals_pooled_path_and_runs_inline():
    items = list(range(6))
    assert list(ordered_bounded_map(slow_square, items, workers=1)) == list(
        ordered_bounded_map(slow_square, items, workers=2)
    )
    seen: list[int] = []

    def record(x: int) -> int:  # a closure: unpicklable, so only an in-process path can run it
        seen.append(x)
        return x

    assert list(ordered_bounded_map(record, iter(range(3)), workers=0)) == [0, 1, 2] == seen
    assert list(ordered_bounded_map(record, [7], workers=None)) == [7]  # one task: no pool started
    assert set(ordered_bounded_map(pid_of, range(3), workers=1)) == {os.getpid()}


@pytest.mark.parametrize("bound", [1, 3])
def test_in_flight_bound_respected_and_inputs_read_lazily(bound):
    pool = CountingExecutor(4)
    read: list[int] = []

    def inputs():
        for x in range(12):
            read.append(x)
            yield x

    results = ordered_bounded_map(slow_square, inputs(), workers=4, max_in_flight=bound, executor=pool)
    out = []
    for r in results:
        pool.collected()
        out.append(r)
        # Inputs are read only as tasks are submitted: never more than `bound` beyond what was handed out
        # (the one just handed out freed its place, so at most bound - 1 are pending now).
        assert len(read) <= len(out) + bound - 1
    pool.shutdown()
    assert out == [x * x for x in range(12)]
    assert pool.most_in_flight == bound  # reached, never passed


def test_worker_exception_surfaces_in_order():
    results = ordered_bounded_map(fail_on_three, range(6), workers=2)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="bad item 3") as e:
        next(results)
    assert "fail_on_three" in str(e.value.__cause__)  # the worker's traceback comes along
    with pytest.raises(ValueError, match="bad item 3"):
        list(ordered_bounded_map(fail_on_three, range(6), workers=1))


def test_bad_bound_is_an_error():
    with pytest.raises(ValueError, match="max_in_flight"):
        ordered_bounded_map(slow_square, [1, 2], workers=2, max_in_flight=0)
