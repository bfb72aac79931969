"""Train AlphaGAN: `python train.py --config configs/synthetic.py --workdir runs/synthetic`.

Override any config field on the command line (`--config.train.batch_size=8`); an unknown key is an
error. Rerunning with the same workdir resumes from its latest checkpoint. SIGTERM/SIGINT save a
checkpoint and exit. Multi-host: `--config.train.distributed=True` or ALPHAGAN_DISTRIBUTED=1 calls
`jax.distributed.initialize()` (it reads the cluster from the environment, e.g. on TPU pods or SLURM).
"""

import os
import sys

from absl import app, flags
from absl import logging as absl_logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", "configs/synthetic.py", "Training config file.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory: checkpoints, TensorBoard, metrics.jsonl.")
flags.mark_flags_as_required(["workdir"])


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    config = _CONFIG.value
    if config.train.distributed or os.environ.get("ALPHAGAN_DISTRIBUTED") == "1":
        import jax

        jax.distributed.initialize()
    # Orbax logs every save step at INFO through absl; keep the console to the progress bar.
    absl_logging.set_verbosity(absl_logging.WARNING)

    from alphagan_jax.trainer import NonFiniteLossError, train_and_evaluate

    try:
        train_and_evaluate(config, _WORKDIR.value)
    except NonFiniteLossError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    app.run(main)
