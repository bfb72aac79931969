"""Save a grid of training samples: one row per sample, columns image | trimap | alpha | fg | bg.

alphagan-preview --config configs/synthetic.py --out grid.png [--num 4] [--seed 0]

Exit status: 0 written; 2 nothing written (missing config, unreadable data). Library log chatter is hidden;
--verbose or ALPHAGAN_VERBOSE=1 shows it.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np

from alphagan_jax.cli import logs as cli_logging
from alphagan_jax.data import make_train_iterator
from alphagan_jax.data.io import to_uint8, write_png
from alphagan_jax.util.grids import image_grid


def load_config(path: str):
    """`get_config()` of a config file given by path."""
    spec = importlib.util.spec_from_file_location("preview_config", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"config file not found: {path}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(Path(path).resolve().parents[1]))  # configs import configs.default
    spec.loader.exec_module(module)
    return module.get_config()


def sample_grid(batch: dict[str, np.ndarray], num: int) -> np.ndarray:
    """uint8 RGB grid of the first `num` samples of a training batch."""
    return to_uint8(image_grid([batch[k] for k in ("image", "trimap", "alpha", "fg", "bg")], num))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="config file with get_config() (has .data)")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--num", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="show library logs (also ALPHAGAN_VERBOSE=1)")
    args = parser.parse_args(argv)
    verbose = cli_logging.setup(args.verbose)  # before TensorFlow is imported: it reads its log level then
    cli_logging.import_tensorflow_quietly(verbose)
    try:
        config = load_config(args.config)
        it = make_train_iterator(
            config.data, global_batch_size=args.num, seed=args.seed, process_index=0, process_count=1
        )
        write_png(args.out, sample_grid(next(it), args.num))
    except (OSError, ValueError) as e:  # data errors name the file (ImageReadError is a ValueError)
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}")
    return 0
