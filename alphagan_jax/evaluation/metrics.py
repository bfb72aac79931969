"""Matting errors exactly as the Deep Image Matting benchmark's MATLAB code defines them (DESIGN.md §6).

The official scripts (``compute_sad_loss.m``, ``compute_mse_loss.m``, ``compute_gradient_loss.m``,
``compute_connectivity_error.m``, by Ning Xu) are the definition; every function here names the MATLAB
line it reproduces. Inputs are alpha mattes in 0..255 (any real dtype) and a trimap in which only the
value 128 counts. SAD, Grad and Conn are divided by 1000, as the benchmark's tables are.

Everything is vectorised NumPy/OpenCV on the host; :func:`evaluate_many` spreads images over CPU cores so
scoring 1000 two-megapixel Composition-1k images is never the bottleneck of an evaluation.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from alphagan_jax.util.process_map import one_opencv_thread, ordered_bounded_map

METRIC_NAMES = ("sad", "mse", "grad", "conn")
UNKNOWN = 128


def _check(pred: np.ndarray, target: np.ndarray, trimap: np.ndarray) -> None:
    if pred.shape != target.shape or pred.shape != trimap.shape or pred.ndim != 2:
        raise ValueError(
            f"pred, target and trimap must be HxW arrays of one shape, got {pred.shape}, {target.shape}, {trimap.shape}"
        )


def sad(pred: np.ndarray, target: np.ndarray, trimap: np.ndarray) -> float:
    """Sum of absolute differences over unknown pixels, in alpha units [0, 1], divided by 1000.

    ``error_map = abs(single(pred)-single(target))/255; loss = sum(sum(error_map.*single(trimap==128)))/1000``
    """
    _check(pred, target, trimap)
    m = trimap == UNKNOWN
    d = np.abs(pred[m].astype(np.float64) - target[m].astype(np.float64)) / 255.0
    return float(d.sum() / 1000.0)


def mse(pred: np.ndarray, target: np.ndarray, trimap: np.ndarray) -> float:
    """Mean squared error over unknown pixels, in alpha units; NaN when there is no unknown pixel (0/0).

    ``loss = sum(sum(error_map.^2.*single(trimap==128))) / sum(sum(single(trimap==128)))``
    """
    _check(pred, target, trimap)
    m = trimap == UNKNOWN
    n = int(m.sum())
    if n == 0:
        return math.nan
    d = (pred[m].astype(np.float64) - target[m].astype(np.float64)) / 255.0
    return float((d * d).sum() / n)


def gauss_gradient_kernel(sigma: float = 1.4, epsilon: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    """The separable factors of ``gaussgradient.m``'s x-derivative kernel: ``hx = outer(g, dg)``.

    MATLAB builds ``hx(i,j) = gauss(i - h - 1) * dgauss(j - h - 1)`` with
    ``h = ceil(sigma*sqrt(-2*log(sqrt(2*pi)*sigma*epsilon)))`` (4 for sigma 1.4), then divides by its L2
    norm. The kernel is an outer product, so normalising each factor to unit norm gives the same matrix
    and lets OpenCV filter in two 1-D passes.

    Returns:
      (g, dg): the column (vertical, Gaussian) and row (horizontal, derivative) factors, each unit-norm.
    """
    half = math.ceil(sigma * math.sqrt(-2.0 * math.log(math.sqrt(2.0 * math.pi) * sigma * epsilon)))
    u = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-(u**2) / (2.0 * sigma**2)) / (sigma * math.sqrt(2.0 * math.pi))
    dg = -u * g / sigma**2
    return g / np.linalg.norm(g), dg / np.linalg.norm(dg)


def mat2gray(x: np.ndarray) -> np.ndarray:
    """MATLAB's ``mat2gray``: scale by the image's own min and max to [0, 1] (float64).

    A constant image is returned as ``double(A)`` clipped to [0, 1], as MATLAB does.
    """
    x = np.asarray(x, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    if hi == lo:
        return np.clip(x, 0.0, 1.0)
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def gauss_gradient(image: np.ndarray, sigma: float = 1.4) -> tuple[np.ndarray, np.ndarray]:
    """``gaussgradient.m``: ``imfilter(IM, hx, 'replicate', 'conv')`` and the same with ``hy = hx'``.

    'conv' flips the kernel; flipping the derivative factor negates it, and the Gaussian factor is
    symmetric. OpenCV's filters correlate, so we pass the flipped factors; BORDER_REPLICATE is MATLAB's
    'replicate'.
    """
    g, dg = gauss_gradient_kernel(sigma)
    img = np.ascontiguousarray(image, dtype=np.float64)
    gx = cv2.sepFilter2D(img, cv2.CV_64F, dg[::-1].copy(), g[::-1].copy(), borderType=cv2.BORDER_REPLICATE)
    gy = cv2.sepFilter2D(img, cv2.CV_64F, g[::-1].copy(), dg[::-1].copy(), borderType=cv2.BORDER_REPLICATE)
    return gx, gy


def gradient_error(pred: np.ndarray, target: np.ndarray, trimap: np.ndarray, sigma: float = 1.4) -> float:
    """Gradient error over unknown pixels, divided by 1000 (``compute_gradient_loss.m``).

    Each matte is normalised by its own min and max (``mat2gray``), not by 255: a known pitfall of Python
    ports. ``error_map = (single(pred_amp) - single(target_amp)).^2``.
    """
    _check(pred, target, trimap)
    px, py = gauss_gradient(mat2gray(pred), sigma)
    tx, ty = gauss_gradient(mat2gray(target), sigma)
    # MATLAB rounds the amplitudes to single before subtracting.
    p_amp = np.sqrt(px * px + py * py).astype(np.float32).astype(np.float64)
    t_amp = np.sqrt(tx * tx + ty * ty).astype(np.float32).astype(np.float64)
    m = trimap == UNKNOWN
    return float(((p_amp[m] - t_amp[m]) ** 2).sum() / 1000.0)


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of a boolean mask, as ``bwconncomp`` + ``max`` pick it.

    Only foreground components compete (OpenCV's label 0 is the background and must never win). Ties go
    to the component MATLAB lists first, i.e. the one whose first pixel comes first in column-major order:
    labelling the transposed mask numbers components in exactly that order, and ``argmax`` keeps the first.
    An empty mask gives an empty component.
    """
    t = np.ascontiguousarray(mask.T, dtype=np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(t, connectivity=4, ltype=cv2.CV_32S)
    if n <= 1:
        return np.zeros(mask.shape, dtype=bool)
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return (labels == best).T


def connectivity_error(
    pred: np.ndarray, target: np.ndarray, trimap: np.ndarray, step: float = 0.1, theta: float = 0.15
) -> float:
    """Connectivity error over unknown pixels, divided by 1000 (``compute_connectivity_error.m``).

    For each threshold t in ``0:step:1`` after the first, omega is the largest 4-connected component of
    ``(pred >= t) & (target >= t)``; a pixel's level l is the previous threshold the first time it falls
    outside omega (1 if never). ``phi(x) = 1 - d * (d >= theta)`` with ``d = x - l``; the error is
    ``sum |phi(pred) - phi(target)|`` over unknown pixels. MATLAB works in single precision
    (``single(pred)/255`` compared with double thresholds converts them to single), so we do too: this
    decides the ties at alpha 51, 102, 153, 204 and 255, which sit exactly on thresholds.
    """
    _check(pred, target, trimap)
    p = np.asarray(pred, dtype=np.float32) / np.float32(255.0)
    t = np.asarray(target, dtype=np.float32) / np.float32(255.0)
    steps = matlab_colon(0.0, step, 1.0)
    l_map = np.full(p.shape, -1.0, dtype=np.float64)
    for i in range(1, len(steps)):
        th = np.float32(steps[i])
        omega = largest_component((p >= th) & (t >= th))
        l_map[(l_map == -1) & ~omega] = steps[i - 1]
    l_map[l_map == -1] = 1.0
    l32 = l_map.astype(np.float32)
    p_d = p - l32
    t_d = t - l32
    th_phi = np.float32(theta)
    p_phi = np.float32(1) - p_d * (p_d >= th_phi).astype(np.float32)
    t_phi = np.float32(1) - t_d * (t_d >= th_phi).astype(np.float32)
    m = trimap == UNKNOWN
    return float(np.abs(p_phi[m].astype(np.float64) - t_phi[m].astype(np.float64)).sum() / 1000.0)


def matlab_colon(start: float, step: float, stop: float) -> np.ndarray:
    """MATLAB's ``start:step:stop`` in float64: the first half counts up from start, the second half down
    from stop, so the last element is exactly ``stop`` (``0:0.1:1`` ends in 1.0, not 0.9999999999999999).
    """
    n = int(math.floor((stop - start) / step + 1e-10))
    k = np.arange(n + 1, dtype=np.float64)
    out = start + k * step
    half = (n + 1) // 2
    end = start + n * step
    out[half:] = end - (n - k[half:]) * step
    return out


def compute_metrics(
    pred: np.ndarray, target: np.ndarray, trimap: np.ndarray, names: Sequence[str] = METRIC_NAMES
) -> dict[str, float]:
    """The requested errors plus the number of unknown pixels (``num_unknown``) for one image.

    Args:
      pred: predicted alpha in 0..255 (uint8 or float), HxW.
      target: ground-truth alpha in 0..255, HxW.
      trimap: uint8 HxW; only pixels equal to 128 count.
      names: a subset of ('sad', 'mse', 'grad', 'conn'); SAD and MSE are ~50x cheaper than Grad and Conn,
        which suits frequent validation during training.

    Returns:
      {name: error for each of `names`, 'num_unknown': int}. With no unknown pixel, SAD, Grad and Conn
      are 0 and MSE is NaN; callers should leave such an image out of means (see ``num_unknown``).
    """
    pred = np.asarray(pred)
    target = np.asarray(target)
    trimap = np.asarray(trimap)
    _check(pred, target, trimap)
    unknown = [n for n in names if n not in _FUNCTIONS]
    if unknown:
        raise ValueError(f"unknown metric names {unknown}; choose from {METRIC_NAMES}")
    out: dict[str, float] = {n: _FUNCTIONS[n](pred, target, trimap) for n in names}
    out["num_unknown"] = int((trimap == UNKNOWN).sum())
    return out


_FUNCTIONS = {"sad": sad, "mse": mse, "grad": gradient_error, "conn": connectivity_error}


def evaluate_many(
    items: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]],
    workers: int | None = None,
    names: Sequence[str] = METRIC_NAMES,
) -> list[dict[str, float]]:
    """:func:`compute_metrics` for many (pred, target, trimap) triples, in order, over CPU cores.

    Args:
      items: (pred, target, trimap) triples as for :func:`compute_metrics`.
      workers: processes; None = every core; 0 or 1 = in this process (no pool, for small jobs and tests).
      names: which errors to compute (see :func:`compute_metrics`).
    """
    score = functools.partial(_compute_triple, names=tuple(names))
    return list(ordered_bounded_map(score, list(items), workers=workers, initializer=one_opencv_thread))


def _compute_triple(triple: tuple[np.ndarray, np.ndarray, np.ndarray], names: Sequence[str]) -> dict[str, float]:
    return compute_metrics(*triple, names=names)
