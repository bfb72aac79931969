"""alphagan-launch: several training processes on one machine, the way a pod runs one per host.

    alphagan-launch --num-processes 2 --devices-per-process 2 -- \\
        train.py --config configs/test.py --workdir runs/two-hosts

See :mod:`alphagan_jax.distributed.local_launch` for what it does.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from alphagan_jax.distributed import local_launch
from alphagan_jax.distributed.local_launch import processes, supervise


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=local_launch.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        prog="alphagan-launch",
        usage="alphagan-launch --num-processes N [options] -- SCRIPT.py [ARGS ...]",
    )
    p.add_argument("--num-processes", type=int, required=True, help="processes to start (hosts to imitate)")
    p.add_argument(
        "--devices-per-process",
        type=int,
        default=None,
        help="CPU devices per process (XLA's forced host device count; implies JAX_PLATFORMS=cpu unless set)",
    )
    p.add_argument(
        "--log-dir",
        default=None,
        help="where processes 1..N-1 write their output (default: a new temporary folder, printed)",
    )
    p.add_argument("--timeout", type=float, default=None, help="stop every process after this many seconds")
    p.add_argument("command", nargs=argparse.REMAINDER, help="after --: the script and its arguments")
    args = p.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        p.error("give the script to run after --, e.g. -- train.py --config configs/test.py --workdir runs/x")
    if args.num_processes < 1:
        p.error(f"--num-processes must be >= 1, got {args.num_processes}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix="alphagan-launch-"))
    print(
        f"launch: {args.num_processes} processes, coordinator on 127.0.0.1; output of processes 1.. in {log_dir}",
        file=sys.stderr,
    )
    with processes(args.command, args.num_processes, args.devices_per_process, log_dir, die_with_parent=True) as procs:
        return supervise(procs, log_dir, args.timeout)
