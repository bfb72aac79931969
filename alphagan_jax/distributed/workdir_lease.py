"""One trainer per workdir: a lease file naming the run that holds it, kept alive by a heartbeat.

`WORKDIR/lease.json` holds {host, boot_id, pid, started, heartbeat, token}. A run takes it before it writes
anything else and refreshes `heartbeat` every few seconds from a background thread; on a clean exit it removes
the file. Another train.py that finds a live lease stops with `WorkdirBusyError` (train.py: exit status 2).

A lease counts as abandoned, and is taken over with a warning, when
  * its heartbeat is older than `stale_after` seconds (ALPHAGAN_LEASE_STALE_SECONDS, default 300): a crashed
    run or a dead host anywhere, since the file is all another host can see; or
  * it was written on this very machine (same host name and kernel boot id) by a pid that no longer exists:
    a run killed with -9 here is taken over at once, without waiting out the timeout.
The check-and-write is made atomic with a POSIX lock (`fcntl.lockf`) on `WORKDIR/.lease.lock`, held only for
that moment; POSIX locks also work across the hosts of an NFS share. Where the file system has no locks, the
lease still works, with a small window in which two runs started in the same second could both take it.

An object store (gs://, s3://) has neither files to lock nor atomic check-and-write through this code: no lease
is taken there, with a warning, and the scheduler must start one trainer per workdir.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)

LEASE_FILE, LOCK_FILE = "lease.json", ".lease.lock"
STALE_ENV = "ALPHAGAN_LEASE_STALE_SECONDS"
DEFAULT_STALE_SECONDS = 300.0
URL_SCHEMES = ("gs://", "s3://", "gcs://", "az://", "http://", "https://")


class WorkdirBusyError(RuntimeError):
    """Another live run holds the workdir's lease."""


class WorkdirUnusableError(OSError):
    """The workdir cannot be created or written (a file in its place, a read-only or full file system)."""


def stale_after_seconds() -> float:
    """The heartbeat age after which a lease is taken over: $ALPHAGAN_LEASE_STALE_SECONDS or 300."""
    value = os.environ.get(STALE_ENV, "").strip()
    return float(value) if value else DEFAULT_STALE_SECONDS


def is_object_store(workdir: str | os.PathLike) -> bool:
    return str(workdir).startswith(URL_SCHEMES)


def _boot_id() -> str:
    # Tells this machine's pids apart from another machine's that shares its host name (cloned VMs, containers).
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def describe(holder: dict[str, Any], now: float | None = None) -> str:
    """'pid 123 on host h (started 2026-12-01 11:15:00, last heartbeat 4 s ago)'."""
    now = time.time() if now is None else now
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("started", 0)))
    age = now - float(holder.get("heartbeat", 0))
    return f"pid {holder.get('pid')} on host {holder.get('host')} (started {started}, last heartbeat {age:.0f} s ago)"


@contextlib.contextmanager
def _locked(workdir: Path) -> Iterator[None]:
    """The lease's critical section; a no-op where the file system refuses POSIX locks."""
    fd = os.open(workdir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX)
        except OSError as e:
            if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                raise
            _log.debug("no file locks on %s (%s): lease check-and-write is not atomic", workdir, e)
        yield
    finally:
        os.close(fd)  # releases the lock


class WorkdirLease:
    """The lease of one run on `workdir`. Use `acquire`, then `start_heartbeat`, and `release` at the end."""

    def __init__(self, workdir: str | Path, stale_after: float | None = None):
        self.workdir = Path(workdir)
        self.path = self.workdir / LEASE_FILE
        self.stale_after = stale_after_seconds() if stale_after is None else float(stale_after)
        # Refresh well inside the timeout, so that a busy machine never lets a live lease look stale.
        self.interval = max(0.2, min(30.0, self.stale_after / 10))
        now = time.time()
        self.record = {
            "host": socket.gethostname(),
            "boot_id": _boot_id(),
            "pid": os.getpid(),
            "started": now,
            "heartbeat": now,
            "token": uuid.uuid4().hex,
        }
        self.lost = False  # set once another run has taken the lease from us
        self.taken_over: dict[str, Any] | None = None  # the abandoned lease this one replaced, if any
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _read(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (ValueError, OSError):  # half-written by a run that died mid-write: treat as abandoned
            return {}

    def _write(self) -> None:
        # Written beside and renamed: a reader never sees half a lease.
        tmp = self.path.with_name(f"{LEASE_FILE}.{self.record['token']}.tmp")
        tmp.write_text(json.dumps(self.record))
        os.replace(tmp, self.path)

    def abandoned(self, holder: dict[str, Any], now: float | None = None) -> str | None:
        """Why `holder`'s lease may be taken over, or None if it is live."""
        now = time.time() if now is None else now
        if not holder:
            return "its lease file is unreadable"
        if holder.get("host") == self.record["host"] and holder.get("boot_id") == self.record["boot_id"]:
            pid = holder.get("pid")
            if isinstance(pid, int) and not _pid_alive(pid):
                return "that process no longer exists"
        age = now - float(holder.get("heartbeat", 0))
        if age > self.stale_after:
            return f"no heartbeat for {age:.0f} s (more than {self.stale_after:g} s)"
        return None

    def acquire(self) -> None:
        """Take the lease, or raise WorkdirBusyError naming its live holder (or WorkdirUnusableError)."""
        try:
            self.workdir.mkdir(parents=True, exist_ok=True)
            with _locked(self.workdir):
                holder = self._read()
                if holder is not None and holder.get("token") != self.record["token"]:
                    why = self.abandoned(holder)
                    if why is None:
                        raise WorkdirBusyError(
                            f"{self.workdir} is in use by another training run: {describe(holder)}. Stop that "
                            f"run first, or give this one another --workdir. (A lease whose heartbeat is older "
                            f"than {self.stale_after:g} s is taken over; {self.path} names the holder.)"
                        )
                    self.taken_over = holder
                    _log.warning("took over %s from %s: %s", self.path, describe(holder) if holder else "a run", why)
                self.record["heartbeat"] = time.time()
                self._write()
        except (FileExistsError, NotADirectoryError) as e:
            raise WorkdirUnusableError(
                f"--workdir {self.workdir} cannot be a run directory: {e.filename} is a file, not a folder"
            ) from e
        except OSError as e:
            if isinstance(e, WorkdirUnusableError):
                raise
            raise WorkdirUnusableError(
                f"cannot write to --workdir {self.workdir}: {e.strerror or e} ({e.filename or self.path})"
            ) from e

    def refresh(self) -> bool:
        """Renew the heartbeat; False (and `lost` set) if another run has taken the lease meanwhile."""
        with _locked(self.workdir):
            holder = self._read()
            if holder is None or holder.get("token") != self.record["token"]:
                self.lost = True
                return False
            self.record["heartbeat"] = time.time()
            self._write()
        return True

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if not self.refresh():
                    _log.error(
                        "%s was taken over by %s: this run no longer owns %s",
                        self.path,
                        describe(self._read() or {}),
                        self.workdir,
                    )
                    return
            except OSError as e:  # a full disk or a network hiccup: try again; the timeout is generous
                _log.debug("lease heartbeat failed: %s", e)

    def start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._beat, name="workdir-lease", daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Stop the heartbeat and remove the lease file if it is still ours."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(OSError), _locked(self.workdir):
            holder = self._read()
            if holder is not None and holder.get("token") == self.record["token"]:
                self.path.unlink()


def hold(workdir: str, process_index: int = 0, process_count: int = 1) -> WorkdirLease | None:
    """Take `workdir`'s lease for this run and start its heartbeat (process 0 holds it for every host).

    Every process raises the same WorkdirBusyError or WorkdirUnusableError when process 0 cannot take it, so
    a pod's hosts all stop instead of waiting for process 0 at their first barrier. None on an object store
    (warned) and on processes other than 0.
    """
    lease, failure = None, ""
    if process_index == 0:
        if is_object_store(workdir):
            _log.warning(
                "%s is on an object store: no lease is taken (no file locks there), so make sure no "
                "other trainer uses this workdir",
                workdir,
            )
        else:
            lease = WorkdirLease(workdir)
            try:
                lease.acquire()
            except (WorkdirBusyError, WorkdirUnusableError) as e:
                failure = f"{type(e).__name__}:{e}"
    if process_count > 1:
        from alphagan_jax.distributed.collectives import from_process_0

        failure = from_process_0("alphagan:lease", failure)
    if failure:
        kind, message = failure.split(":", 1)
        raise (WorkdirBusyError if kind == "WorkdirBusyError" else WorkdirUnusableError)(message)
    if lease is not None:
        lease.start_heartbeat()
    return lease
