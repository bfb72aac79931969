"""Resuming past a checkpoint that cannot be read, and saying in one line why a checkpoint failed.

A step folder can be complete by Orbax's account (renamed from its temporary name) and still unreadable:
truncated data files after an interrupted copy from a bucket, or a network file system that lost writes.
Orbax then raises a bare `Exception` wrapping TensorStore's error and a dump of its spec. The resume path
tries the newest step first and falls back, moving each unreadable step aside into `WORKDIR/unreadable/`
(never deleting it: a person may still recover it), but only once some older step has restored: if none
does, nothing is moved.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import jax

from alphagan_jax.distributed.collectives import all_processes_agree, barrier

_log = logging.getLogger(__name__)

ASIDE = "unreadable"
TMP_MARK = ".orbax-checkpoint-tmp"
T = TypeVar("T")


class UnreadableCheckpointError(ValueError):
    """No checkpoint asked for (or none at all, on resume) could be restored."""


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (a full disk, a read-only or vanished folder)."""


# TensorStore appends its spec ("See full TensorStore details: ...") and source locations to its messages.
_NOISE = re.compile(r"\s*(See full TensorStore details|\[source locations).*", re.DOTALL)


# TensorStore's file driver names the OS error by its number, after the file it failed on.
_OS_ERROR = re.compile(r"os_error_code='?(\d+)")
_QUOTED_PATH = re.compile(r'"(/[^"]+)"')


def one_line(error: BaseException, limit: int = 600) -> str:
    """The innermost cause of `error` as one line, without TensorStore's spec dump; an OS error as its
    cause and file: 'No space left on device (/run/checkpoints/4.orbax-checkpoint-tmp/...)'."""
    chain = [error]
    while chain[-1].__cause__ is not None and len(chain) < 20:
        chain.append(chain[-1].__cause__)
    for e in reversed(chain):
        if isinstance(e, OSError) and e.strerror:
            text = f"{e.strerror} ({e.filename})" if e.filename else e.strerror
        else:
            text = _NOISE.sub("", str(e)).strip()
            code, paths = _OS_ERROR.search(text), _QUOTED_PATH.findall(text)
            if code:
                text = os.strerror(int(code.group(1))) + (f" ({paths[-1]})" if paths else "")
        text = " ".join(text.split())
        if text:
            return text if len(text) <= limit else text[: limit - 3] + "..."
    return type(error).__name__


def set_aside(step_dir: Path) -> Path:
    """Move a step folder to WORKDIR/unreadable/<manager>-<step>-<time>, beside the managers, out of Orbax's
    sight (it would list it again, or delete it as an old step). Returns where it went."""
    step_dir = Path(step_dir)
    aside = step_dir.parent.parent / ASIDE
    aside.mkdir(exist_ok=True)
    dest = aside / f"{step_dir.parent.name}-{step_dir.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    os.rename(step_dir, dest)  # same file system: atomic, nothing copied
    return dest


def restore_newest(manager: Any, restore: Callable[[int], T], name: str = "checkpoint") -> tuple[T, int]:
    """`restore(step)` for the newest step of Orbax `manager` that restores on every process.

    Steps newer than that one are moved aside (process 0 moves; every process then reloads the manager's list)
    with one warning line each. Raises UnreadableCheckpointError naming every step and why, and moves nothing,
    when none restores.
    """
    directory = Path(manager.directory)
    failures: list[tuple[int, str]] = []
    for step in sorted(manager.all_steps(), reverse=True):
        try:
            out, reason = restore(step), ""
        except Exception as e:  # noqa: BLE001 - any failure to read this step means: try the one before
            out, reason = None, one_line(e)
        # Every host must resume from the same step, also when only one host's read failed.
        if all_processes_agree(f"alphagan:restore:{directory}:{step}", not reason):
            break
        failures.append((step, reason or "it could not be read on another process"))
    else:
        listed = "; ".join(f"{directory / str(s)}: {r}" for s, r in failures) or "there are none"
        raise UnreadableCheckpointError(
            f"no {name} in {directory} can be restored ({listed}). Nothing was moved or deleted; "
            "restore a copy of the workdir, or start afresh in another --workdir"
        )
    for bad, reason in failures:
        if jax.process_index() == 0:
            dest = set_aside(directory / str(bad))
            _log.warning(
                "%s %s cannot be restored (%s): moved it to %s; resuming from step %d",
                name,
                directory / str(bad),
                reason,
                dest,
                step,
            )
    if failures:
        barrier(f"alphagan:set-aside:{directory}")
        manager.reload()
    return cast(T, out), step  # out is set: the loop broke on a step that restored


def unfinished_saves(directory: Path) -> list[Path]:
    """Temporary folders of saves that never completed (a crash or a full disk mid-save)."""
    try:
        return sorted(p for p in Path(directory).iterdir() if TMP_MARK in p.name)
    except OSError:
        return []
