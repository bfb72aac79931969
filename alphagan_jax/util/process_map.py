"""One ordered, bounded map over a process pool: how evaluation spreads metric work over CPU cores.

Scoring an image is CPU work (NumPy, OpenCV), so it runs in worker processes; but results must come back
in input order (``metrics.csv`` lists images as the test set does) and the inputs must not pile up in
memory (in model mode an accelerator predicts full-size mattes faster than a few cores score them).
:func:`ordered_bounded_map` gives both, and yields each result as soon as it and those before it are done,
so a caller that writes rows as they come keeps what it finished when interrupted.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
from collections.abc import Callable, Generator, Iterable, Sized
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Tasks in flight per worker when the caller sets no bound: enough that a worker never idles waiting for
# the parent to submit, few enough that the inputs held stay a handful per core.
IN_FLIGHT_PER_WORKER = 4


def default_workers() -> int:
    """Worker processes: every core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def one_opencv_thread() -> None:
    """Initializer of workers that score, read or write images with OpenCV: one OpenCV thread each, since
    the pool already uses every core and oversubscription only slows it. (cv2 imported here, not at the top:
    this module stays free of third-party imports.)"""
    import cv2

    cv2.setNumThreads(1)


def spawn_pool(workers: int | None = None, initializer: Callable[[], None] | None = None) -> ProcessPoolExecutor:
    """A process pool of `workers` processes (None = every core), each running `initializer` first.

    'spawn' rather than 'fork': the parent usually runs JAX, whose threads make fork unsafe. Workers
    import only what unpickling their tasks needs, so they start quickly.
    """
    ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers or default_workers(), mp_context=ctx, initializer=initializer)


def ordered_bounded_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int | None = None,
    max_in_flight: int | None = None,
    initializer: Callable[[], None] | None = None,
    executor: Executor | None = None,
) -> Generator[R, None, None]:
    """``fn(item)`` for each item, in worker processes, yielded in input order.

    `items` is read lazily: a task is submitted only while fewer than `max_in_flight` are unfinished or
    unyielded, so a generator that loads or predicts its items runs at most that far ahead.

    Args:
      fn: a picklable (module-level) function of one argument.
      items: the inputs; a sized collection of at most one item runs in this process, since starting a
        spawned process costs more than one task.
      workers: processes; None = every core; 0 or 1 = in this process, with no pool (small jobs, tests).
      max_in_flight: most tasks submitted but not yet yielded (default 4 per worker).
      initializer: run once in each new worker process (e.g. to limit a library's threads).
      executor: an existing executor to submit to instead of starting a pool; it is left running.

    Yields:
      ``fn(item)`` for each item, in the order of `items`.

    Raises:
      Whatever `fn` raised, when its result's turn comes (the worker's traceback is chained as the
      cause); tasks not yet started are then cancelled.
    """
    if max_in_flight is not None and max_in_flight < 1:
        raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
    serial = (workers is not None and workers <= 1) or (isinstance(items, Sized) and len(items) <= 1)
    if executor is None and serial:
        return (fn(item) for item in items)
    return _pooled(fn, items, workers or default_workers(), max_in_flight, initializer, executor)


def _pooled(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    max_in_flight: int | None,
    initializer: Callable[[], None] | None,
    executor: Executor | None,
) -> Generator[R, None, None]:
    bound = max_in_flight or IN_FLIGHT_PER_WORKER * workers
    pool = executor or spawn_pool(workers, initializer)
    pending: collections.deque[Future[R]] = collections.deque()
    inputs = iter(items)
    exhausted = False
    try:
        while True:
            # Hand out what is done first, so results leave as early as their order allows.
            while pending and pending[0].done():
                yield pending.popleft().result()
            if not exhausted and len(pending) < bound:
                try:
                    item = next(inputs)
                except StopIteration:
                    exhausted = True
                else:
                    pending.append(pool.submit(fn, item))
                continue
            if not pending:
                return
            yield pending.popleft().result()  # full (or no input left): wait for the oldest
    finally:
        for future in pending:
            future.cancel()
        if executor is None:
            pool.shutdown(cancel_futures=True)
