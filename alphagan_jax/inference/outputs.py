"""One photo's outputs, made one way for predict, the Python API and the page, and written safely.

`matte_outputs` turns a predictor's matte into the 8-bit alpha, the RGBA cut-out (estimated foreground
colours, not the photo's, which keep the old background's colour in hair) and optionally a composite over a
new background, estimating the foreground once for both. `write_outputs` writes each through a temporary
file renamed into place, so a failed photo never leaves a truncated PNG or removes an earlier complete one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from alphagan_jax.data import io
from alphagan_jax.data.io import to_uint8
from alphagan_jax.inference.background import Background, composite
from alphagan_jax.inference.foreground_colours import estimate_foreground_ml


def matte_outputs(
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray],
    image: np.ndarray,
    trimap: np.ndarray,
    background: Background | None = None,
) -> dict[str, np.ndarray]:
    """{'alpha': uint8 HxW, 'cutout': uint8 HxWx4 [, 'composite': uint8 HxWx3]} of one photo.

    The foreground is estimated once and used for both the cut-out and the composite.
    """
    _check_sizes(image, trimap)
    alpha = to_uint8(np.asarray(predict(image, trimap)))
    fg, _ = estimate_foreground_ml(image, alpha)
    out = {"alpha": alpha, "cutout": to_uint8(np.concatenate([fg, alpha[:, :, None] / 255.0], axis=2))}
    if background is not None:
        out["composite"] = composite(alpha, fg, background)
    return out


def _check_sizes(image: np.ndarray, trimap: np.ndarray) -> None:
    if image.shape[:2] != trimap.shape:
        raise ValueError(
            f"image is {image.shape[1]}x{image.shape[0]} but trimap is {trimap.shape[1]}x{trimap.shape[0]}"
        )


def output_paths(out_dir: str | Path, name: str, kinds: list[str]) -> dict[str, Path]:
    """OUT/<kind>.png for a single photo (`name` ''), OUT/<name>.<kind>.png in folder mode."""
    prefix = f"{name}." if name else ""
    return {k: Path(out_dir) / f"{prefix}{k}.png" for k in kinds}


def write_outputs(paths: dict[str, Path], arrays: dict[str, np.ndarray]) -> None:
    """Write every array to its path, each through a temporary file renamed into place, so an
    interrupted or failed write never leaves a truncated PNG or removes an earlier complete one."""
    for kind, path in paths.items():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            io.write_png(tmp, arrays[kind])
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
