"""Several training processes on one machine, the way a pod runs one per host.

    alphagan-launch --num-processes 2 --devices-per-process 2 -- \\
        train.py --config configs/test.py --workdir runs/two-hosts

starts `python train.py ...` N times with a free coordinator port, `ALPHAGAN_DISTRIBUTED=1` and each
process's id in its environment (`initialize_distributed` reads them), streams process 0's output, writes
the others' to `--log-dir`, and stops every process as soon as one fails. SIGTERM/SIGINT to the launcher
reach every process once, so they save together and exit (as on a preempted pod).

This module imports no JAX at the top: the launcher itself never touches a device.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from alphagan_jax.distributed.collectives import NUM_PROCESSES, PROCESS_ID


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it; never a fixed number)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_env(
    process_id: int,
    num_processes: int,
    port: int,
    devices_per_process: int | None = None,
    base: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment of process `process_id` of a local run coordinated on 127.0.0.1:`port`."""
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "ALPHAGAN_DISTRIBUTED": "1",
            "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}",
            NUM_PROCESSES: str(num_processes),
            PROCESS_ID: str(process_id),
        }
    )
    if devices_per_process:
        flags = [f for f in env.get("XLA_FLAGS", "").split() if "xla_force_host_platform_device_count" not in f]
        env["XLA_FLAGS"] = " ".join([*flags, f"--xla_force_host_platform_device_count={devices_per_process}"])
        env.setdefault("JAX_PLATFORMS", "cpu")
    return env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGKILL if the launcher dies, so no process outlives a killed launcher."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start(
    command: Sequence[str],
    env: dict[str, str],
    log: Path | None = None,
    cwd: str | Path | None = None,
    die_with_parent: bool = False,
) -> subprocess.Popen:
    """Start `python <command>` as one process of the run. Its own session: a Ctrl-C in the terminal reaches
    only the launcher, which passes on exactly one SIGTERM (a second signal would make train.py stop
    without saving). Output goes to `log` if given, else to this process's stdout/stderr.

    `die_with_parent` only from a parent without threads (the launcher CLI): it runs code between fork and
    exec, which can deadlock in a multithreaded parent such as a test process that has imported JAX.
    """
    out = open(log, "w", encoding="utf-8") if log is not None else None  # noqa: SIM115 - the child owns it
    try:
        return subprocess.Popen(
            [sys.executable, *command],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
            preexec_fn=_die_with_parent if die_with_parent else None,
        )
    finally:
        if out is not None:
            out.close()  # the child holds its own copy of the descriptor


def stop_all(procs: Sequence[subprocess.Popen], grace: float = 30.0) -> None:
    """SIGTERM every live process, then SIGKILL whatever is still alive after `grace` seconds."""
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@contextlib.contextmanager
def processes(
    command: Sequence[str],
    num_processes: int,
    devices_per_process: int | None = None,
    log_dir: str | Path | None = None,
    stream_first: bool = True,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    die_with_parent: bool = False,
) -> Iterator[list[subprocess.Popen]]:
    """Start the N processes of a local run; on leaving the block (an error included) none is left running.

    Process 0 writes to this process's stdout/stderr when `stream_first`; the others (and process 0
    otherwise) to `log_dir/process_<i>.log`. `die_with_parent`: see `start`.
    """
    port = free_port()
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="alphagan-launch-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen] = []
    try:
        for i in range(num_processes):
            log = None if (i == 0 and stream_first) else log_dir / f"process_{i}.log"
            env_i = process_env(i, num_processes, port, devices_per_process, env)
            procs.append(start(command, env_i, log, cwd, die_with_parent))
        yield procs
    finally:
        stop_all(procs, grace=5.0)


def log_tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError as e:
        return f"(no log: {e})"


def supervise(procs: Sequence[subprocess.Popen], log_dir: Path, timeout: float | None = None, poll: float = 0.2) -> int:
    """Wait for every process. The first one to fail (or the time-out) stops the rest; returns the exit
    status: 0 when all succeeded, else the failed process's (124 on the time-out)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    forwarded = False

    def forward(signum: int, frame: object) -> None:
        nonlocal forwarded
        if not forwarded:  # once: a second SIGTERM would make train.py stop without its save
            forwarded = True
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            codes = [p.poll() for p in procs]
            failed = [i for i, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                i = failed[0]
                print(f"launch: process {i} exited with status {codes[i]}; stopping the others", file=sys.stderr)
                if i:
                    print(
                        f"launch: the end of {log_dir}/process_{i}.log:\n{log_tail(log_dir / f'process_{i}.log')}",
                        file=sys.stderr,
                    )
                stop_all(procs)
                code = codes[i]
                assert code is not None  # failed lists exited processes only
                return code
            if all(c == 0 for c in codes):
                return 0
            if deadline is not None and time.monotonic() > deadline:
                print(f"launch: time-out after {timeout:g} s; stopping every process", file=sys.stderr)
                stop_all(procs)
                return 124
            time.sleep(poll)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
