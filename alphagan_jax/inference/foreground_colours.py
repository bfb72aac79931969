"""Foreground colour estimation for cut-outs: Germer et al.'s multi-level method, vectorised NumPy.

T. Germer, T. Uelwer, S. Conrad, S. Harmeling, "Fast Multi-Level Foreground Estimation", ICPR 2020 (the
algorithm behind pymatting's ``estimate_foreground_ml``). Multiplying the photo by alpha keeps the old
background's colour in hair and other semi-transparent pixels; solving for F and B gives clean edges.

For every pixel, F and B minimise ``|a F + (1 - a) B - I|^2`` plus a smoothness term tying them to their
4 neighbours with weight ``regularization + gradient_weight * |a - a_neighbour|``. That is a 2x2 linear
system per pixel. It is solved coarse to fine: at each of ~log2(size) levels the previous solution is
upsampled (nearest) and refined by a few sweeps. pymatting sweeps pixel by pixel (Gauss-Seidel in a
compiled loop); here a red-black (checkerboard) ordering updates half the pixels at a time with array
operations, which is still Gauss-Seidel, since 4-neighbours always have the other colour.
"""

from __future__ import annotations

import math

import numpy as np


def _resize_nearest(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """pymatting's nearest-neighbour resize: source index floor(i * src / dst), clipped."""
    h, w = x.shape[:2]
    ys = np.minimum((np.arange(height) * h) // height, h - 1)
    xs = np.minimum((np.arange(width) * w) // width, w - 1)
    return x[ys[:, None], xs[None, :]]


def _neighbours(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Up, down, left and right neighbours with clamped (edge-replicated) indices."""
    p = np.pad(x, [(1, 1), (1, 1)] + [(0, 0)] * (x.ndim - 2), mode="edge")
    return p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]


def _to_unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    return x.astype(np.float32)


def estimate_foreground_ml(
    image: np.ndarray,
    alpha: np.ndarray,
    *,
    regularization: float = 1e-5,
    n_small_iterations: int = 10,
    n_big_iterations: int = 2,
    small_size: int = 32,
    gradient_weight: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate foreground and background colours from an image and its alpha matte.

    Args:
      image: HxWx3, uint8 (0..255) or float in [0, 1].
      alpha: HxW, uint8 or float in [0, 1].
      regularization, n_small_iterations, n_big_iterations, small_size, gradient_weight: as in pymatting
        (levels no larger than `small_size` on both sides get `n_small_iterations` sweeps).

    Returns:
      (foreground, background): float32 HxWx3 in [0, 1].
    """
    img = _to_unit(image)
    a_full = _to_unit(alpha)
    if img.ndim != 3 or img.shape[:2] != a_full.shape:
        raise ValueError(f"image must be HxWx3 and alpha HxW of the same size, got {img.shape}, {a_full.shape}")
    h0, w0 = a_full.shape
    n_levels = max(1, math.ceil(math.log2(max(h0, w0))))
    # Start from the mean colour: any start works, the coarse levels get many sweeps.
    fg = np.broadcast_to(img.mean(axis=(0, 1)), (1, 1, 3)).astype(np.float32)
    bg = fg.copy()
    for level in range(n_levels + 1):
        h = round(h0 ** (level / n_levels))
        w = round(w0 ** (level / n_levels))
        im = _resize_nearest(img, h, w)
        a = _resize_nearest(a_full, h, w)
        fg = _resize_nearest(fg, h, w)
        bg = _resize_nearest(bg, h, w)
        n_iter = n_small_iterations if (h <= small_size and w <= small_size) else n_big_iterations
        fg, bg = _refine(im, a, fg, bg, n_iter, regularization, gradient_weight)
    return fg, bg


def _refine(
    image: np.ndarray, a: np.ndarray, fg: np.ndarray, bg: np.ndarray, n_iter: int, reg: float, gw: float
) -> tuple[np.ndarray, np.ndarray]:
    """`n_iter` red-black Gauss-Seidel sweeps of the per-pixel 2x2 systems at one level."""
    h, w = a.shape
    # Neighbour weights depend only on alpha, so the system matrices are fixed for the level.
    weights = [(reg + gw * np.abs(a - n))[:, :, None] for n in _neighbours(a)]
    wsum = sum(weights)
    a0 = a[:, :, None]
    a1 = 1.0 - a0
    m00 = a0 * a0 + wsum
    m11 = a1 * a1 + wsum
    m01 = a0 * a1
    inv_det = 1.0 / (m00 * m11 - m01 * m01)
    red = ((np.arange(h)[:, None] + np.arange(w)[None, :]) % 2 == 0)[:, :, None]
    fg = np.array(fg, dtype=np.float32)
    bg = np.array(bg, dtype=np.float32)
    for _ in range(n_iter):
        for colour in (red, ~red):
            b0 = a0 * image + sum(wk * nk for wk, nk in zip(weights, _neighbours(fg), strict=True))
            b1 = a1 * image + sum(wk * nk for wk, nk in zip(weights, _neighbours(bg), strict=True))
            new_fg = np.clip(inv_det * (m11 * b0 - m01 * b1), 0.0, 1.0)
            new_bg = np.clip(inv_det * (m00 * b1 - m01 * b0), 0.0, 1.0)
            fg = np.where(colour, new_fg, fg).astype(np.float32)
            bg = np.where(colour, new_bg, bg).astype(np.float32)
    return fg, bg
