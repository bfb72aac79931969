"""What a run decides with its signals and its other processes: when to stop, whether it still owns its
workdir, which validation figures every host acts on, and how a lost peer is reported.

Each is a collective on a multi-host run (a host that saves while another runs the next step hangs the
run), and each is a no-op in one process.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils

from alphagan_jax.distributed.workdir_lease import WorkdirLease


class HostFailureError(RuntimeError):
    """A computation shared with the other processes failed, most likely because one of them died."""


class LeaseLostError(RuntimeError):
    """Another run took over the workdir's lease (this one looked dead: no heartbeat for minutes)."""


class StopFlag:
    """Turns SIGTERM/SIGINT (preemption, Ctrl-C) into a request to save and exit at the next step."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopFlag:
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signal is not None:  # a second signal: stop now
            raise KeyboardInterrupt
        self.signal = signum

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def check_lease(lease: WorkdirLease | None, workdir: Path) -> None:
    """Stop before a save if another run has taken the workdir over: its checkpoints must not be mixed with
    this run's. Process 0 holds the lease; with several processes it tells the others (a save is collective)."""
    lost = lease is not None and lease.lost
    if jax.process_count() > 1:
        lost = bool(multihost_utils.broadcast_one_to_all(np.int32(lost)))
    if lost:
        raise LeaseLostError(
            f"another run took over {workdir} (this one sent no heartbeat for minutes: was it suspended?); "
            "this run stops without saving so that the two never write the same checkpoints"
        )


_VAL_KEYS = ("val/sad", "val/mse")


def metrics_from_process_0(values: Mapping[str, float | None]) -> Mapping[str, float | None]:
    """Process 0's validation numbers on every host. Keeping the best checkpoint is a collective save, so
    all hosts must decide it from the same SAD: hosts that skip a save the others make hang the run."""
    if jax.process_count() == 1:
        return values
    # The float64s travel as their bits (uint32 pairs): a float32 broadcast would round them.
    bits = np.array([np.nan if values[k] is None else values[k] for k in _VAL_KEYS], np.float64).view(np.uint32)
    got = np.asarray(multihost_utils.broadcast_one_to_all(bits)).astype(np.uint32).view(np.float64)
    return {k: None if np.isnan(v) else float(v) for k, v in zip(_VAL_KEYS, got, strict=True)}


def host_failure_message(error: Exception, workdir: Path) -> str:
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return (
        f"process {jax.process_index()} of {jax.process_count()}: a computation shared with the other processes "
        f"failed ({first}). Most likely another process died or was killed: see its log. This process stops "
        f"instead of waiting for it. The last completed checkpoint in {workdir / 'checkpoints'} is kept (saves "
        "are atomic); rerun the same command on every host to resume from it."
    )


def all_hosts_stopping(local: bool, step: int, every: int) -> bool:
    """Whether to stop now. Hosts receive SIGTERM at different steps, and a host that saves (a collective)
    while another runs the next step would hang the run, so with several processes they decide together,
    every `every` steps (a host sync each step would stall the asynchronous dispatch)."""
    if jax.process_count() == 1:
        return local
    if step % every:
        return False
    return bool(np.max(multihost_utils.process_allgather(np.int32(local))))
