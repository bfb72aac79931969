"""Turn photos with ground-truth alpha into a `folder`-layout training set.

Real photos (alphamatting.com, a studio shoot) come as image + alpha, with no separate foreground. Training
composites a foreground over new backgrounds, so the foreground colours F (and the photo's own background
B) are estimated with the multi-level method of :mod:`alphagan_jax.inference.foreground_colours`, which solves
``I = a F + (1 - a) B`` per pixel with smoothness. Writes, per photo NAME:

  OUT/Train/fg/NAME.png       estimated foreground F (RGB)
  OUT/Train/alpha/NAME.png    the ground-truth alpha (grey)
  OUT/Train/bg_own/NAME.png   estimated background B: the photo itself is ``a F + (1 - a) B``, so the pipeline
                              can replay it as a training sample (data.own_bg_prob)

Usage:
  alphagan-foregrounds --data ../shared/data/alphamatting --out data/am-train \\
      --exclude GT03,GT09,GT15,GT21,GT24

Photos are paired by file stem (``image/`` with ``alpha/``, or ``gt/``, as evaluate.py pairs them).
Existing outputs are kept unless ``--overwrite``, so an interrupted build resumes.

``--synthetic N`` adds N procedural foregrounds of the structures photo sets lack (semi-transparent sheets,
meshes, yarn; :mod:`alphagan_jax.data.synthetic_structures`), named ``synth_<kind>_<i>``, each with a
procedural background of its own, to the same folders.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from alphagan_jax.cli import logs as cli_logging
from alphagan_jax.data.builders import foregrounds
from alphagan_jax.data.io import ImageReadError, read_alpha_u8, read_rgb, to_uint8, write_png
from alphagan_jax.inference.foreground_colours import estimate_foreground_ml


def build_training_set(
    data: str | Path,
    out: str | Path,
    exclude: set[str] | frozenset[str] = frozenset(),
    overwrite: bool = False,
    log=print,
) -> list[str]:
    """Write the fg/alpha/bg_own folders for every photo of `data` not in `exclude`; returns the names."""
    train = Path(out) / "Train"
    pairs = foregrounds.photo_pairs(data, exclude)
    for name, image_path, alpha_path in pairs:
        targets = [train / folder / f"{name}.png" for folder in foregrounds.FOLDERS]
        if not overwrite and all(t.exists() for t in targets):
            log(f"{name}: kept (exists)")
            continue
        image, alpha = read_rgb(image_path), read_alpha_u8(alpha_path)
        if image.shape[:2] != alpha.shape:
            raise ImageReadError(
                f"photo {image_path} is {image.shape[1]}x{image.shape[0]} but its alpha {alpha_path} is "
                f"{alpha.shape[1]}x{alpha.shape[0]}"
            )
        start = time.perf_counter()
        fg, bg = estimate_foreground_ml(image, alpha)
        for target, array in zip(targets, (to_uint8(fg), alpha, to_uint8(bg)), strict=True):
            write_png(target, array)
        residual = np.abs(alpha[:, :, None] / 255.0 * fg + (1 - alpha[:, :, None] / 255.0) * bg - image / 255.0)
        log(
            f"{name}: {image.shape[1]}x{image.shape[0]}, {time.perf_counter() - start:.1f} s, "
            f"mean |aF + (1-a)B - I| = {255 * residual.mean():.2f} / 255"
        )
    (Path(out) / "source.json").write_text(
        json.dumps(
            {"data": str(Path(data).resolve()), "excluded": sorted(exclude), "photos": [name for name, _, _ in pairs]},
            indent=2,
        )
    )
    return [name for name, _, _ in pairs]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="folder with image/ and alpha/ (alphamatting.com layout)")
    p.add_argument("--out", required=True, help="output root; writes OUT/Train/{fg,alpha,bg_own}")
    p.add_argument("--exclude", default="", help="comma-separated photo names kept out (the validation split)")
    p.add_argument(
        "--synthetic",
        type=int,
        default=0,
        metavar="N",
        help="also write N procedural sheets, meshes and yarn (synth_*.png) with own backgrounds",
    )
    p.add_argument("--synthetic-size", type=int, default=640, metavar="PX", help="their side (default 640)")
    p.add_argument("--overwrite", action="store_true", help="recompute photos whose outputs exist")
    p.add_argument("--verbose", action="store_true", help="show library logs (also ALPHAGAN_VERBOSE=1)")
    args = p.parse_args(argv)
    cli_logging.setup(args.verbose)
    exclude = {n.strip() for n in args.exclude.split(",") if n.strip()}
    try:
        if args.synthetic < 0 or args.synthetic_size < 64:
            raise ValueError(
                f"--synthetic must be >= 0 and --synthetic-size >= 64, got {args.synthetic}, {args.synthetic_size}"
            )
        names = build_training_set(args.data, args.out, exclude, overwrite=args.overwrite)
        synth = foregrounds.add_structures(args.out, args.synthetic, args.synthetic_size)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    extra = f" and {len(synth)} procedural foregrounds" if synth else ""
    print(f"{len(names)} photos{extra} in {Path(args.out) / 'Train'} ({len(exclude)} excluded)")
    return 0
