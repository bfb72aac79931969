"""The refinement's system solved matrix-free in JAX, to run on the accelerator beside the network.

Same system as :mod:`alphagan_jax.inference.refine` (its docstring gives it), without a sparse matrix; only the
cross-check's Shared Matting matte still comes from pymatting, on the CPU, unless it is passed in:
the closed-form Laplacian's product is written with 3x3 box sums, as in He, Sun and Tang's fast matting
(2010). For a window k with mean colour mu_k and M_k = (Sigma_k + eps/9 I)^-1,

    (L x)_i = n_i x_i - sum_{k containing i} (b_k + I_i . a_k),
    a_k = M_k (sum_j I_j x_j - mu_k s_k) / 9,   b_k = s_k / 9 - mu_k . a_k,   s_k = sum_j x_j,

n_i being the number of windows containing pixel i. Conjugate gradients (jax.scipy.sparse.linalg.cg) with a
Jacobi preconditioner, started from the network's matte, solve over the unknown pixels; known ones stay
fixed. Without the incomplete Cholesky factor CG needs many more iterations than pymatting's solver, each
cheap and parallel: the CPU route stays pymatting's; this one is for accelerators. float64 where JAX has
it enabled, else float32.
"""

from __future__ import annotations

import functools
import operator
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from alphagan_jax.inference.refine import DEFAULT_PARAMS, LAPLACIAN_EPSILON, RefineParams, check_inputs, cross_check

_SHIFTS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def _at_centres(x: jnp.ndarray, dy: int, dx: int) -> jnp.ndarray:
    """x shifted so that entry k is pixel (centre k) + (dy, dx), over the (H-2) x (W-2) window centres."""
    h, w = x.shape[:2]
    return x[1 + dy : h - 1 + dy, 1 + dx : w - 1 + dx]


def _to_pixels(y: jnp.ndarray, dy: int, dx: int) -> jnp.ndarray:
    """The adjoint of _at_centres: centre values placed at pixel (centre + (dy, dx)), zero elsewhere."""
    pad = [(1 + dy, 1 - dy), (1 + dx, 1 - dx)] + [(0, 0)] * (y.ndim - 2)
    return jnp.pad(y, pad)


def _box(x: jnp.ndarray) -> jnp.ndarray:
    return functools.reduce(operator.add, (_at_centres(x, dy, dx) for dy, dx in _SHIFTS))


def _box_adjoint(y: jnp.ndarray) -> jnp.ndarray:
    return functools.reduce(operator.add, (_to_pixels(y, dy, dx) for dy, dx in _SHIFTS))


def window_stats(image: jnp.ndarray, eps: float = LAPLACIAN_EPSILON) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(mu (H-2, W-2, 3), M (H-2, W-2, 3, 3)): each 3x3 window's mean colour and regularised inverse covariance."""
    mu = _box(image) / 9.0
    # Centred per shift, not E[I I^T] - mu mu^T: in float32 that difference loses the eps/9 = 1e-8 that
    # keeps a flat window's covariance invertible.
    centred = (_at_centres(image, dy, dx) - mu for dy, dx in _SHIFTS)
    cov = functools.reduce(operator.add, (c[..., :, None] * c[..., None, :] for c in centred))
    return mu, jnp.linalg.inv(cov / 9.0 + eps / 9.0 * jnp.eye(3, dtype=image.dtype))


def laplacian_matvec(image: jnp.ndarray, mu: jnp.ndarray, inv: jnp.ndarray, x: jnp.ndarray) -> jnp.ndarray:
    """L x for the closed-form Laplacian of `image` (H, W, 3) and an alpha-like x (H, W)."""
    s = _box(x)
    t = _box(image * x[..., None]) - mu * s[..., None]
    a = jnp.einsum("...ij,...j->...i", inv, t) / 9.0
    b = s / 9.0 - jnp.sum(mu * a, axis=-1)
    count = _box_adjoint(jnp.ones_like(s))
    return count * x - _box_adjoint(b) - jnp.sum(image * _box_adjoint(a), axis=-1)


def laplacian_diagonal(image: jnp.ndarray, mu: jnp.ndarray, inv: jnp.ndarray) -> jnp.ndarray:
    """diag(L): sum over the windows k containing i of 1 - (1 + c^T M_k c) / 9, c = I_i - mu_k."""
    out = jnp.zeros(image.shape[:2], image.dtype)
    for dy, dx in _SHIFTS:
        c = _at_centres(image, dy, dx) - mu
        q = jnp.einsum("...i,...ij,...j->...", c, inv, c)
        out = out + _to_pixels(1.0 - (1.0 + q) / 9.0, dy, dx)
    return out


@partial(jax.jit, static_argnames=("maxiter",))
def solve(
    image: jnp.ndarray,
    trimap: jnp.ndarray,
    alpha: jnp.ndarray,
    check: jnp.ndarray,
    weight: float,
    floor: float,
    power: float,
    rtol: float = 1e-6,
    maxiter: int = 4000,
) -> jnp.ndarray:
    """Refined alpha (H, W) in [0, 1]: image in [0, 1] (H, W, 3), trimap {0, 0.5, 1}-like (H, W), alpha (H, W);
    `check` (H, W) is the cross-check's factor of the confidence (ones without one)."""
    unknown = ((trimap > 0) & (trimap < 1)).astype(image.dtype)
    fixed = (trimap >= 1).astype(image.dtype)
    mu, inv = window_stats(image)
    prior = jnp.clip(alpha, 0.0, 1.0)
    gc = unknown * weight * (floor + jnp.abs(2.0 * prior - 1.0) ** power) * check

    def system(v):  # (L_UU + gC) on unknown pixels; the identity on known ones, whose entries stay 0
        return unknown * laplacian_matvec(image, mu, inv, unknown * v) + gc * v + (1.0 - unknown) * v

    rhs = unknown * (gc * prior - laplacian_matvec(image, mu, inv, fixed))
    inv_diag = 1.0 / (unknown * laplacian_diagonal(image, mu, inv) + gc + (1.0 - unknown))
    x, _ = jax.scipy.sparse.linalg.cg(
        system, rhs, x0=unknown * prior, tol=rtol, maxiter=maxiter, M=lambda r: inv_diag * r
    )
    return jnp.where(unknown > 0, jnp.clip(x, 0.0, 1.0), fixed)


def refine_alpha_jax(
    image: np.ndarray,
    trimap: np.ndarray,
    alpha: np.ndarray,
    params: RefineParams = DEFAULT_PARAMS,
    rtol: float = 1e-6,
    maxiter: int = 4000,
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`alphagan_jax.inference.refine.refine_alpha` solved matrix-free with JAX; float32 HxW in [0, 1].

    With `params.agreement` set, `reference` is the cross-check's Shared Matting matte; None computes it
    with pymatting on the CPU (the one part of this route that needs pymatting)."""
    check_inputs(image, trimap, alpha)
    check = np.ones(trimap.shape)
    if params.agreement is not None:
        if reference is None:
            from alphagan_jax.inference.refine import shared_matting

            reference = shared_matting(image, trimap)
        if reference is not None:  # None: no known foreground or background to sample, no cross-check
            check = cross_check(np.clip(alpha, 0.0, 1.0), reference, params.agreement)
    dtype = jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32
    t = np.full(trimap.shape, 0.5)
    t[trimap == 0], t[trimap == 255] = 0.0, 1.0
    out = solve(
        jnp.asarray(image / 255.0, dtype),
        jnp.asarray(t, dtype),
        jnp.asarray(alpha, dtype),
        jnp.asarray(check, dtype),
        params.weight,
        params.floor,
        params.power,
        rtol,
        maxiter,
    )
    return np.asarray(out, np.float32)
