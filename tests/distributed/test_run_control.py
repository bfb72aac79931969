"""run_control in one process: a real SIGTERM becomes a stop request, a second one interrupts, the previous
handlers come back; a lost lease stops a run before its save. (The multi-process paths run in
test_multihost.py's real processes.)"""

import os
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from alphagan_jax.distributed.run_control import (
    LeaseLostError,
    StopFlag,
    all_hosts_stopping,
    check_lease,
    metrics_from_process_0,
)


def test_sigterm_is_a_stop_request_then_an_interrupt_and_handlers_come_back():
    def before(signum, frame):  # a handler of the caller's, to be restored
        raise AssertionError("the caller's handler ran inside StopFlag")

    previous = signal.signal(signal.SIGTERM, before)
    try:
        with StopFlag() as stop:
            assert stop.signal is None
            os.kill(os.getpid(), signal.SIGTERM)
            assert stop.signal == signal.SIGTERM  # noted, the process lives on
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGINT)
        assert signal.getsignal(signal.SIGTERM) is before
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_one_process_decides_alone():
    assert all_hosts_stopping(True, 3, 10) and not all_hosts_stopping(False, 10, 10)
    values = {"val/sad": 1.5, "val/mse": None}
    assert metrics_from_process_0(values) == values


def test_a_lost_lease_stops_before_the_save(tmp_path: Path):
    check_lease(None, tmp_path)
    check_lease(SimpleNamespace(lost=False), tmp_path)  # type: ignore[arg-type]
    with pytest.raises(LeaseLostError, match=str(tmp_path)):
        check_lease(SimpleNamespace(lost=True), tmp_path)  # type: ignore[arg-type]
