"""``alphagan-trimap``: trimaps of a folder of mattes; see :mod:`alphagan_jax.data.trimap`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from alphagan_jax.cli import logs as cli_logging
from alphagan_jax.data.io import ImageReadError, list_images, read_alpha, write_png
from alphagan_jax.data.trimap import make_trimap


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate {0,128,255} trimaps from a folder of mattes.",
        epilog="exit status: 0 all written, 1 some mattes failed, 2 nothing done",
    )
    parser.add_argument("--alpha", required=True, type=Path, help="folder of alpha mattes")
    parser.add_argument("--out", required=True, type=Path, help="output folder (PNG per matte, same stem)")
    parser.add_argument("--kernel", default="1,30", help="kernel size range 'a,b' (inclusive) or one size")
    parser.add_argument("--seed", type=int, default=0, help="seed of the per-file kernel sizes")
    parser.add_argument("--verbose", action="store_true", help="show library logs (also ALPHAGAN_VERBOSE=1)")
    args = parser.parse_args(argv)
    cli_logging.setup(args.verbose)
    parts = [int(v) for v in args.kernel.split(",")]
    kernel_range = (parts[0], parts[-1])
    rng = np.random.default_rng(args.seed)
    try:
        files = list_images(args.alpha)
    except ImageReadError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    failed = []
    for path in files:
        # Kernel sizes are drawn before reading, so a bad file does not shift the others' sizes.
        k = rng.integers(kernel_range[0], kernel_range[1] + 1, size=2)
        try:
            write_png(args.out / (path.stem + ".png"), make_trimap(read_alpha(path), int(k[0]), int(k[1])))
        except ImageReadError as e:
            print(f"error: {e}", file=sys.stderr)
            failed.append(path.name)
    print(f"wrote {len(files) - len(failed)} trimaps to {args.out}" + (f"; {len(failed)} failed" if failed else ""))
    return 1 if failed else 0
