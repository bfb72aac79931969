"""Trimaps from mattes with NumPy/OpenCV; the ``alphagan-trimap`` tool is
:mod:`alphagan_jax.cli.trimap`.

foreground = erosion of (alpha == 1), unknown = dilation of (alpha > 0) minus foreground, background = rest.
So every 0 < alpha < 1 pixel is unknown, foreground lies inside alpha == 1 and background inside alpha == 0.
Kernels are k x k squares whose window for even k spans [i - (k-1)//2, i + k//2], the same window as a
'SAME' max-pool, so this NumPy version and the TensorFlow one in `tf_ops.py` agree pixel for pixel.

Usage:
  alphagan-trimap --alpha DIR --out DIR [--kernel 1,30] [--seed 0]

Exit status: 0 every trimap written; 1 some mattes could not be read (each named on stderr, the others
written); 2 nothing done (missing or empty folder).
"""

from __future__ import annotations

import cv2
import numpy as np

BG, UNKNOWN, FG = 0, 128, 255


def _square(k: int) -> tuple[np.ndarray, tuple[int, int]]:
    if k < 1:
        raise ValueError(f"trimap kernel size must be >= 1, got {k}")
    return np.ones((k, k), np.uint8), ((k - 1) // 2, (k - 1) // 2)


def dilate(mask: np.ndarray, k: int) -> np.ndarray:
    """Binary dilation of a bool HxW mask by a k x k square ('SAME' max-pool window)."""
    kernel, anchor = _square(k)
    # cv2's window for anchor a spans [i - a, i - a + k): anchor (k-1)//2 is the 'SAME' max-pool window.
    out = cv2.dilate(mask.astype(np.uint8), kernel, anchor=anchor, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return out.astype(bool)


def erode(mask: np.ndarray, k: int) -> np.ndarray:
    """Binary erosion of a bool HxW mask by a k x k square; outside the image does not erode."""
    return ~dilate(~mask, k)


def make_trimap(alpha: np.ndarray, fg_kernel: int, unknown_kernel: int) -> np.ndarray:
    """uint8 HxW trimap in {0, 128, 255} from a float alpha in [0, 1] (HxW or HxWx1)."""
    a = np.asarray(alpha)
    if a.ndim == 3:
        a = a[:, :, 0]
    fg = erode(a >= 1.0, fg_kernel)
    unknown = dilate(a > 0.0, unknown_kernel)
    out = np.full(a.shape, BG, np.uint8)
    out[unknown] = UNKNOWN
    out[fg] = FG
    return out


def random_trimap(alpha: np.ndarray, rng: np.random.Generator, kernel_range: tuple[int, int]) -> np.ndarray:
    """`make_trimap` with both kernel sizes drawn uniformly from kernel_range (inclusive)."""
    lo, hi = int(kernel_range[0]), int(kernel_range[1])
    k_fg, k_unknown = rng.integers(lo, hi + 1, size=2)
    return make_trimap(alpha, int(k_fg), int(k_unknown))
