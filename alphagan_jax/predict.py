"""Matte one photo: ``python -m alphagan_jax.predict --workdir DIR --image x.jpg --trimap t.png --out out/``.

Writes ``out/alpha.png`` (8-bit matte) and ``out/cutout.png`` (RGBA whose colours are the foreground
estimated by :func:`alphagan_jax.foreground.estimate_foreground_ml`, not the photo times alpha, so hair
does not keep the old background's colour).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from alphagan_jax.data import io
from alphagan_jax.data.io import to_uint8
from alphagan_jax.foreground import cutout

_log = logging.getLogger(__name__)


def predict_image(
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray], image: np.ndarray, trimap: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Alpha and RGBA cut-out of one image.

    Args:
      predict: ``(image uint8 HxWx3, trimap uint8 HxW) -> alpha float HxW in [0, 1]`` (a Predictor).
      image: uint8 HxWx3 RGB.
      trimap: uint8 HxW in {0, 128, 255}.

    Returns:
      (alpha uint8 HxW, cut-out uint8 HxWx4 RGBA).
    """
    if image.shape[:2] != trimap.shape:
        raise ValueError(f"image is {image.shape[1]}x{image.shape[0]} but trimap is "
                         f"{trimap.shape[1]}x{trimap.shape[0]}")
    alpha = to_uint8(np.asarray(predict(image, trimap)))
    return alpha, cutout(image, alpha)


def write_outputs(
    out_dir: str | Path, alpha: np.ndarray, rgba: np.ndarray, overwrite: bool = False
) -> tuple[Path, Path]:
    """Write ``alpha.png`` and ``cutout.png`` into `out_dir` (created); existing ones only with `overwrite`."""
    out = Path(out_dir)
    for name in ("alpha.png", "cutout.png"):
        if (out / name).exists() and not overwrite:
            raise FileExistsError(f"{out / name} already exists: choose another --out or pass --overwrite")
    return io.write_png(out / "alpha.png", alpha), io.write_png(out / "cutout.png", rgba)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", required=True, help="training workdir holding the checkpoints")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--step", type=int, default=None, help="checkpoint step (default: latest)")
    which.add_argument("--best", action="store_true", help="the best checkpoint by validation SAD")
    p.add_argument("--image", required=True, help="RGB photo")
    p.add_argument("--trimap", required=True, help="trimap (0 background, 128 unknown, 255 foreground)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--unknown-value", type=int, default=None,
                   help="the trimap's unknown value if not 128 (default: auto-detect, with a warning)")
    p.add_argument("--tta", action="store_true", help="average with the horizontally flipped prediction")
    p.add_argument("--bf16", action="store_true", help="bfloat16 compute")
    p.add_argument("--overwrite", action="store_true", help="replace alpha.png/cutout.png in --out")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        image = io.read_rgb(args.image)
        trimap = io.read_trimap(args.trimap, unknown_value=args.unknown_value)
        if image.shape[:2] != trimap.shape:
            raise ValueError(f"image {args.image} is {image.shape[1]}x{image.shape[0]} but trimap "
                             f"{args.trimap} is {trimap.shape[1]}x{trimap.shape[0]}")
        if not (trimap == 128).any():
            _log.warning("trimap %s has no unknown (128) pixel: the matte is the trimap itself", args.trimap)
        from alphagan_jax.inference import predictor_from_checkpoint

        predictor, _, step = predictor_from_checkpoint(args.workdir, step=args.step, best=args.best,
                                                       bucket=32, tta=args.tta, bf16=args.bf16)
        alpha, rgba = predict_image(predictor, image, trimap)
        alpha_path, cutout_path = write_outputs(args.out, alpha, rgba, overwrite=args.overwrite)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"step {step}: wrote {alpha_path} and {cutout_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
