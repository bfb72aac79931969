"""Train AlphaGAN: `python train.py --config configs/synthetic.py --workdir runs/synthetic`.

Override any config field on the command line (`--config.train.batch_size=8`); an unknown key is an
error. Rerunning with the same workdir resumes from its latest checkpoint. SIGTERM/SIGINT save a
checkpoint and exit. Multi-host: `--config.train.distributed=True` or ALPHAGAN_DISTRIBUTED=1 calls
`jax.distributed.initialize()` (it reads the cluster from the environment, e.g. on TPU pods or SLURM).

One trainer per workdir: a run holds WORKDIR/lease.json (host, pid, start, heartbeat) while it trains, and
a second train.py on that workdir stops at once. A lease with no heartbeat for 300 s (ALPHAGAN_LEASE_STALE_SECONDS),
or left on this machine by a process that is gone, is taken over with a warning. An unreadable latest
checkpoint is moved to WORKDIR/unreadable/ and the run resumes from the newest one that restores.

Exit status: 0 trained to train.num_steps (or stopped by SIGTERM/SIGINT after saving); 1 stopped on an
error named on stderr in one line (a non-finite loss, a config mistake, a bad data file, a full disk, a
read-only workdir or one that is a file, no checkpoint that restores; the last good checkpoint is kept);
2 nothing done: another run holds the workdir (named on stderr). Library log chatter is hidden;
--verbose or ALPHAGAN_VERBOSE=1 shows it, and tracebacks.
"""

import os
import sys

from absl import app, flags
from ml_collections import config_flags

from alphagan_jax.cli import logs as cli_logging

_CONFIG = config_flags.DEFINE_config_file("config", "configs/synthetic.py", "Training config file.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory: checkpoints, TensorBoard, metrics.jsonl.")
_VERBOSE = flags.DEFINE_bool("verbose", False, "Show library logs (also ALPHAGAN_VERBOSE=1).")
flags.mark_flags_as_required(["workdir"])


def _workdir() -> str:
    workdir = _WORKDIR.value
    assert workdir is not None  # a required flag: absl stops before main without it
    return workdir


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    # Before JAX and TensorFlow are imported; replaces absl's log handler. Orbax's per-save records go.
    verbose = cli_logging.setup(_VERBOSE.value)
    config = _CONFIG.value
    index, count = 0, 1
    if config.train.distributed or os.environ.get("ALPHAGAN_DISTRIBUTED") == "1":
        import jax

        from alphagan_jax.distributed.collectives import initialize_distributed

        initialize_distributed()  # the local launcher's variables, or JAX's cluster detection
        index, count = jax.process_index(), jax.process_count()

    # Before TensorFlow, JAX's devices and any write: a second trainer on a held workdir stops in seconds.
    from alphagan_jax.distributed.workdir_lease import WorkdirBusyError, WorkdirUnusableError, hold

    try:
        lease = hold(_workdir(), index, count)
    except WorkdirBusyError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except WorkdirUnusableError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    try:
        _train(config, lease, verbose)
    finally:
        if lease is not None:
            lease.release()


def _train(config, lease, verbose: bool) -> None:
    if not verbose:
        cli_logging.hide_background_failures()
    cli_logging.import_tensorflow_quietly(verbose)  # tf.data: its start-up INFO lines ignore TF_CPP_MIN_LOG_LEVEL
    from alphagan_jax.distributed.run_control import HostFailureError, LeaseLostError
    from alphagan_jax.train.trainer import NonFiniteLossError, train_and_evaluate

    try:
        train_and_evaluate(config, _workdir(), lease=lease)
    except HostFailureError as e:  # another process died: exit now, naming the cause
        print(f"error: {e}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        # Not sys.exit: at exit, jax.distributed's shutdown waits at a barrier for the dead process until the
        # heartbeat time-out (100 s), then aborts with a fatal log that buries this message.
        os._exit(1)
    except (NonFiniteLossError, LeaseLostError, OSError, ValueError) as e:  # each names its cause
        if verbose:
            raise
        message = str(e)
        if isinstance(e, OSError) and not e.filename and _workdir() not in message:
            message = f"{message} (in --workdir {_workdir()})"  # a bare "[Errno 28] No space left on device"
        print(f"error: {message}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        if lease is not None:
            lease.release()
        # Not sys.exit: Orbax's and asyncio's exit hooks would report the same failure again, with tracebacks.
        os._exit(1)


def run() -> None:
    """The command (python train.py at the repository root): absl parses the flags, then main."""
    app.run(main)
