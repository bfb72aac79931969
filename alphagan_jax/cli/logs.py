"""Quiet command lines: the project's own messages by default, library chatter only when asked for.

Restoring one checkpoint makes Orbax log ~30 INFO/WARNING records through absl (handler registries, read
throughput, "Given directory is read only"), JAX logs that it found no TPU, and TensorFlow's C++ start-up
prints oneDNN notices. None of that concerns a person running ``predict`` or ``evaluate.py``. Every CLI
calls :func:`setup` first thing in ``main``, before JAX or TensorFlow is imported:

* default: the project's loggers (``alphagan_jax.*``) at INFO, printed as the bare
  message (warnings and errors prefixed ``warning:``/``error:``); JAX at WARNING (its warnings, such as a
  GPU without a CUDA jaxlib, concern the user); absl/Orbax/TensorFlow at ERROR; TensorFlow's and XLA's C++
  logs at ERROR (``TF_CPP_MIN_LOG_LEVEL=2``, unless already set).
* ``--verbose`` or ``ALPHAGAN_VERBOSE=1``: everything at INFO, with level and logger name.

TensorFlow 2.21 logs its oneDNN notice through absl's C++ logging at import, which ignores
``TF_CPP_MIN_LOG_LEVEL``; CLIs that train call :func:`import_tensorflow_quietly`, which drops the INFO
lines TensorFlow writes to the process's stderr while it is imported and passes every other line on.

Errors stay visible either way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator

VERBOSE_ENV = "ALPHAGAN_VERBOSE"
PROJECT_LOGGERS = ("alphagan_jax",)
# Loggers whose INFO/WARNING records are implementation detail to a user. Orbax logs through absl.
CHATTY_LOGGERS = ("absl", "orbax", "tensorflow", "tensorflow_datasets", "h5py")
# Libraries whose warnings can concern the user (JAX: "a GPU is present but jaxlib has no CUDA").
WARNING_LOGGERS = ("jax", "jaxlib")


def verbose_requested(flag: bool = False) -> bool:
    """`flag`, or the environment variable ALPHAGAN_VERBOSE set to 1/true/yes/on."""
    return bool(flag) or os.environ.get(VERBOSE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


class _PersonFormatter(logging.Formatter):
    """INFO as the bare message (it is what the user asked for); other levels prefixed with theirs."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno == logging.INFO:
            return message
        return f"{record.levelname.lower()}: {message}"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at each record (pytest and tqdm swap it), never a stale stream."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it
        pass


def setup(verbose: bool = False) -> bool:
    """Configure logging for a command line; returns whether verbose output is on.

    Call before importing JAX or TensorFlow: their C++ log level is read from the environment at import.
    Replaces absl's root handler (``app.run`` installs one with its own line format) and any handler an
    earlier call added, and leaves other handlers (pytest's) alone, so it may be called again.
    """
    verbose = verbose_requested(verbose)
    if not verbose:
        # 2 hides C++ INFO and WARNING records (TensorFlow's oneDNN notice, XLA's), keeps errors. setdefault:
        # a user who exported their own level keeps it.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, _StderrHandler) or type(h).__name__ == "ABSLHandler":
            root.removeHandler(h)
    handler = _StderrHandler()
    if verbose:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(_PersonFormatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    for name in PROJECT_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.ERROR)
    for name in WARNING_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    if "absl.logging" in sys.modules:
        # absl keeps its own verbosity, which it applies to the 'absl' logger when flags are parsed.
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.INFO if verbose else absl_logging.ERROR)
    return verbose


def hide_background_failures() -> None:
    """For train.py without --verbose: no reports from the background threads of a failed checkpoint save.

    A save that fails (a full disk) makes Orbax's writer threads log every failed array write at ERROR, with
    tracebacks, and asyncio and Python's thread hook print their own; ~1000 lines in all. The same failure
    reaches the training loop at the next save or wait, which names it in one line, so those reports only
    repeat it. They stay visible with --verbose.
    """
    import threading

    for name in ("absl", "orbax", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if "absl.logging" in sys.modules:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.FATAL)

    def quiet_hook(args: threading.ExceptHookArgs) -> None:
        logging.getLogger("alphagan_jax").debug("thread %s failed: %s", args.thread, args.exc_value)

    threading.excepthook = quiet_hook
    # TensorStore's completion callbacks, still arriving after Orbax closed the event loop of the failed save,
    # are reported as unraisable from native threads: one traceback per array.
    previous = sys.unraisablehook

    def unraisable(args: sys.UnraisableHookArgs) -> None:
        if isinstance(args.exc_value, RuntimeError) and str(args.exc_value) == "Event loop is closed":
            logging.getLogger("alphagan_jax").debug("late TensorStore callback: %s", args.exc_value)
            return
        previous(args)

    sys.unraisablehook = unraisable


# Native INFO records as absl/glog write them ("I1130 07:01:02.123456 123 file.cc:45] ...") and the notice
# absl prints before its first record when the program never called absl::InitializeLog().
_NATIVE_INFO = re.compile(r"^I\d{4} |^WARNING: All log messages before absl::InitializeLog\(\)")


@contextlib.contextmanager
def native_info_filtered() -> Iterator[None]:
    """Hold what C/C++ code (and Python) writes to file descriptor 2 inside the block, then pass on every
    line but native INFO records. Only for short blocks such as an import: output appears at the end."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode(errors="replace").splitlines(keepends=True):
                if not _NATIVE_INFO.match(line):
                    sys.stderr.write(line)
            sys.stderr.flush()


def import_tensorflow_quietly(verbose: bool = False) -> None:
    """Import TensorFlow now, without its start-up INFO lines unless verbose; no-op if it is missing
    (hosts without TensorFlow) or already imported."""
    if "tensorflow" in sys.modules:
        return
    context = contextlib.nullcontext() if verbose_requested(verbose) else native_info_filtered()
    with context:
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            pass
