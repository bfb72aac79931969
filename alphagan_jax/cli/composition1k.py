"""``alphagan-composition1k``: build the Composition-1k test set; see
:mod:`alphagan_jax.data.builders.composition1k`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from alphagan_jax.cli import logs as cli_logging
from alphagan_jax.data.builders import composition1k
from alphagan_jax.data.io import ImageReadError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=composition1k.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--test-set", required=True, help="Adobe's Combined_Dataset/Test_set")
    p.add_argument("--voc", required=True, help="PASCAL VOC 2012 JPEGImages folder")
    p.add_argument("--out", required=True, help="output folder (merged/, alpha_copy/, trimaps/, MANIFEST.tsv)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: every core; 1: no pool)")
    p.add_argument("--verbose", action="store_true", help="show library logs (also ALPHAGAN_VERBOSE=1)")
    args = p.parse_args(argv)
    cli_logging.setup(args.verbose)
    start = time.perf_counter()
    try:
        manifest, written, total = composition1k.build(args.test_set, args.voc, args.out, args.workers)
    except (composition1k.BuildError, ImageReadError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    minutes = (time.perf_counter() - start) / 60
    print(
        f"Composition-1k: {total} composites in {Path(args.out)} ({written} written now, "
        f"{total - written} already there) in {minutes:.1f} min; pixel hashes in {manifest}"
    )
    return 0
