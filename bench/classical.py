"""The classical matting methods a user would pick instead of a network, all from pymatting.

Each takes a uint8 RGB image and a {0, 128, 255} trimap and returns a uint8 matte with the trimap's known
regions set exactly, as evaluation does for the model. Parameters are pymatting's defaults: they are the
methods as users run them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# name in tables -> pymatting function name (the papers: Levin 2008, Chen 2013, Zheng 2009, Gastal 2010,
# He 2010, Grady 2005)
CLASSICAL = {
    "closed-form": "estimate_alpha_cf",
    "knn": "estimate_alpha_knn",
    "lbdm": "estimate_alpha_lbdm",
    "shared": "estimate_alpha_sm",
    "lkm": "estimate_alpha_lkm",
    "random-walk": "estimate_alpha_rw",
}


def clamp_known(alpha: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """The trimap's known regions set exactly (fg 255, bg 0), as evaluation does for the model. (The
    model's clamp, models.clamp_known, works on float32 JAX arrays: rounding a float64 matte there first
    would move a few pixels by one level.)"""
    return np.where(trimap == 255, 255, np.where(trimap == 0, 0, alpha)).astype(np.uint8)


def _function(method: str) -> Callable:
    if method not in CLASSICAL:
        raise ValueError(f"unknown classical method {method!r}; allowed: {', '.join(CLASSICAL)}")
    try:
        import pymatting
    except ImportError as e:
        raise SystemExit(
            f"the classical baselines need pymatting, a dependency of alphagan-jax: pip install pymatting ({e})"
        ) from e
    return getattr(pymatting, CLASSICAL[method])


def classical(method: str, image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """pymatting's matte (uint8 HxW) of `method` for a uint8 RGB image and its {0,128,255} trimap."""
    from alphagan_jax.data.io import to_uint8

    alpha = _function(method)(image.astype(np.float64) / 255.0, trimap.astype(np.float64) / 255.0)
    return clamp_known(to_uint8(np.clip(alpha, 0.0, 1.0)), trimap)


def closed_form(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """pymatting's closed-form matte (uint8 HxW), the baseline of docs/results.md's tables."""
    return classical("closed-form", image, trimap)


def warm_up(methods: list[str]) -> None:
    """pymatting compiles its kernels (numba) on the first call: a minute that is not a solve's time."""
    warm = np.full((48, 48), 128, np.uint8)  # LKM needs a side of at least 41
    warm[:, :12], warm[:, -12:] = 0, 255
    image = np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    for method in methods:
        classical(method, image, warm)
