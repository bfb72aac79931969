"""Log messages from spawned worker processes, carried back to the parent with the worker's result.

A spawned process starts with no logging configuration, so what a library logs there (e.g. the trimap
reader's note that a trimap stores its unknown region as 127) would print in the wrong format or not at
all. Workers capture such messages with :func:`captured_warnings` and return them beside their result;
the parent logs them through its own handlers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


@contextlib.contextmanager
def captured_warnings(logger_name: str) -> Iterator[list[str]]:
    """Collect the WARNING-and-above messages of `logger_name` (and its children) in the yielded list.

    They are not passed on to other handlers meanwhile: the parent re-logs them, and run in-process
    they would otherwise print twice.
    """
    captured: list[str] = []
    handler = _ListHandler(captured)
    log = logging.getLogger(logger_name)
    log.addHandler(handler)
    propagate, log.propagate = log.propagate, False
    try:
        yield captured
    finally:
        log.removeHandler(handler)
        log.propagate = propagate


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]):
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())
