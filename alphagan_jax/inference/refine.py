"""Laplacian refinement: the network's matte as a prior in closed-form matting's system.

The network and closed-form matting (Levin et al. 2008) fail in different places: the network gets hair and
fine structure right and can take part of a background whose colour is close to the foreground's for
foreground; closed-form's local colour-line model is strong exactly there and weak on hair. Refinement
solves closed-form's system with the network's alpha as a soft prior, over the unknown pixels U only (the
known ones fixed by the trimap), as in the Shared-Matting and Information-Flow refinements and Shen et
al.'s matting layer (2016):

    (L_UU + g C) a_U = -L_UK a_K + g C a_net_U,     C = diag(c)
    c = (floor + |2 a_net - 1| ** power) * exp(-((a_net - a_sm) / agreement) ** 2)

L is closed-form's matting Laplacian (3x3 windows, epsilon 1e-7). The first factor trusts the network where
it is decided (alpha near 0 or 1); `floor` keeps a pull towards it everywhere, so a flat region closed-form
cannot resolve still follows the network. The second factor is a cross-check: a_sm is Shared Matting's
alpha (Gastal and Oliveira 2010, pymatting's `estimate_alpha_sm`), a colour-sampling estimate that shares
neither the network's mistakes nor the Laplacian's, and where the two disagree by more than `agreement`
the network's value stops counting and the colour-line model decides alone. The network's matte is
confidently wrong in places (curls cut off, a background of the foreground's colour given to it), and a
confidence computed from the network alone cannot see those; the cross-check can. `agreement=None` drops
it (the network alone as the prior, and no Shared Matting run).

The defaults of `weight` (g), `floor` and `agreement` were chosen by two-fold cross-validation on the
real-photo recipe's held-out photos (bench.refine_cv; docs/results.md), `power` in an earlier one.

The solver is pymatting's (its Laplacian, incomplete-Cholesky preconditioner and conjugate gradients, the
same code its closed-form baseline runs), started from the network's matte; pymatting is a dependency of
the package.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

# Chosen by two-fold cross-validation (bench.refine_cv), then fixed: see docs/results.md.
DEFAULT_WEIGHT = 0.1
DEFAULT_FLOOR = 0.02
DEFAULT_POWER = 2.0
DEFAULT_AGREEMENT = 0.05
LAPLACIAN_EPSILON = 1e-7  # closed-form matting's (and pymatting's) regulariser of the window covariance
# Whether predict, the Python API and the matting page refine unless told not to (docs/results.md): on since
# the cross-checked refinement beat every classical method on the held-out photos (two-fold CV).
REFINE_BY_DEFAULT = True


@dataclass(frozen=True)
class RefineParams:
    """The prior's weight g and the confidence's shape c = (floor + |2 a - 1| ** power) * cross-check;
    `agreement` is the cross-check's width (None: no cross-check with Shared Matting)."""

    weight: float = DEFAULT_WEIGHT
    floor: float = DEFAULT_FLOOR
    power: float = DEFAULT_POWER
    agreement: float | None = DEFAULT_AGREEMENT

    def __post_init__(self) -> None:
        if not (self.weight > 0 and self.floor >= 0 and self.power > 0):
            raise ValueError(f"refinement needs weight > 0, floor >= 0 and power > 0, got {self}")
        if self.agreement is not None and not self.agreement > 0:
            raise ValueError(f"refinement's agreement must be > 0 or None, got {self.agreement}")


DEFAULT_PARAMS = RefineParams()


def confidence(alpha: np.ndarray, params: RefineParams, reference: np.ndarray | None = None) -> np.ndarray:
    """Per-pixel confidence in the network's alpha (float64, same shape): floor + |2a - 1| ** power, times
    exp(-((a - reference) / agreement) ** 2) when `params.agreement` is set (then `reference` is required)."""
    a = np.asarray(alpha, np.float64)
    c = params.floor + np.abs(2.0 * a - 1.0) ** params.power
    if params.agreement is None:
        return c
    return c * cross_check(a, reference, params.agreement)


def cross_check(alpha: np.ndarray, reference: np.ndarray | None, agreement: float) -> np.ndarray:
    """The confidence's cross-check factor exp(-((alpha - reference) / agreement) ** 2), float64; 1 where
    the reference is not finite (no estimate there)."""
    a = np.asarray(alpha, np.float64)
    if reference is None or reference.shape != a.shape:
        got = None if reference is None else reference.shape
        raise ValueError(f"the cross-check needs a reference matte of shape {a.shape}, got {got}")
    r = np.asarray(reference, np.float64)
    return np.where(np.isfinite(r), np.exp(-(((a - np.where(np.isfinite(r), r, a)) / agreement) ** 2)), 1.0)


def shared_matting(image: np.ndarray, trimap: np.ndarray) -> np.ndarray | None:
    """Shared Matting's alpha (float64 HxW in [0, 1]; pymatting's defaults), the cross-check's reference;
    None when the trimap has no foreground or no background pixel, which it needs to sample colours from."""
    if not ((trimap == 0).any() and (trimap == 255).any()):
        return None
    pm = _pymatting()
    t = np.full(trimap.shape, 0.5)
    t[trimap == 0], t[trimap == 255] = 0.0, 1.0
    return np.clip(pm.estimate_alpha_sm(image.astype(np.float64) / 255.0, t), 0.0, 1.0)


def _pymatting():
    try:
        import pymatting
    except ImportError as e:
        raise ImportError(
            "Laplacian refinement needs pymatting, a dependency of alphagan-jax: pip install pymatting"
        ) from e
    return pymatting


def check_inputs(image: np.ndarray, trimap: np.ndarray, alpha: np.ndarray) -> None:
    """ValueError unless image is HxWx3 uint8, trimap HxW uint8 and alpha HxW float in [0, 1]."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be HxWx3 uint8, got {image.shape} {image.dtype}")
    if trimap.shape != image.shape[:2] or trimap.dtype != np.uint8:
        raise ValueError(
            f"trimap must be HxW uint8 of the image's size {image.shape[:2]}, got {trimap.shape} {trimap.dtype}"
        )
    if alpha.shape != trimap.shape or not np.issubdtype(alpha.dtype, np.floating):
        raise ValueError(f"alpha must be HxW float of the image's size {trimap.shape}, got {alpha.shape} {alpha.dtype}")


class Refiner:
    """Refine one photo's matte, building its Laplacian once for any number of parameter settings.

    The Laplacian depends only on the image and on which pixels are known, so cross-validating the prior's
    parameters (bench.refine_cv) builds it once per photo and trimap. Unknown pixels are the trimap's
    values other than 0 and 255, as in evaluation. `reference` replaces Shared Matting's matte as the
    cross-check's reference (computed on first use otherwise).
    """

    def __init__(self, image: np.ndarray, trimap: np.ndarray, reference: np.ndarray | None = None):
        pm = _pymatting()
        self.image, self.trimap = image, trimap
        if reference is not None and reference.shape != trimap.shape:
            raise ValueError(f"reference must be HxW of the image's size {trimap.shape}, got {reference.shape}")
        self._reference = None if reference is None else np.asarray(reference, np.float64)
        self._referenced = reference is not None
        self.shape = trimap.shape
        known = (trimap == 0) | (trimap == 255)
        self.unknown = ~known.ravel()
        is_fg = (trimap == 255).ravel().astype(np.float64)
        laplacian = pm.cf_laplacian(image.astype(np.float64) / 255.0, epsilon=LAPLACIAN_EPSILON, is_known=known)
        rows = laplacian[self.unknown, :]
        self.l_uu = rows[:, self.unknown].tocsr()
        # -L_UK a_K: the known pixels' pull on the unknown ones (a_K is 1 on foreground, 0 on background).
        self.rhs_known = -(rows[:, ~self.unknown] @ is_fg[~self.unknown])
        self.fixed = is_fg

    def reference(self) -> np.ndarray | None:
        """Shared Matting's alpha of this photo, computed on first use (the cross-check's reference); None
        without known foreground and background, and then the refinement runs without the cross-check."""
        if not self._referenced:
            self._reference = shared_matting(self.image, self.trimap)
            self._referenced = True
        return self._reference

    def __call__(
        self, alpha: np.ndarray, params: RefineParams = DEFAULT_PARAMS, rtol: float = 1e-7, maxiter: int = 10000
    ) -> np.ndarray:
        """float32 HxW refined alpha in [0, 1], known pixels exactly 0 or 1."""
        if alpha.shape != self.shape:
            raise ValueError(f"alpha must be {self.shape}, got {alpha.shape}")
        out = self.fixed.copy()
        if not self.unknown.any():
            return out.reshape(self.shape).astype(np.float32)
        import scipy.sparse

        pm = _pymatting()
        prior = np.clip(np.asarray(alpha, np.float64).ravel()[self.unknown], 0.0, 1.0)
        reference = None if params.agreement is None else self.reference()
        if reference is None:
            params = replace(params, agreement=None)
        else:
            reference = reference.ravel()[self.unknown]
        gc = params.weight * confidence(prior, params, reference)
        system = (self.l_uu + scipy.sparse.diags(gc)).tocsr()
        try:
            x = pm.cg(system, self.rhs_known + gc * prior, x0=prior, rtol=rtol, maxiter=maxiter, M=pm.ichol(system))
        except ValueError as e:  # pymatting's words for a solve that did not converge
            raise ValueError(
                f"the refinement's solve failed ({e}); --no-refine / refine=False gives the network's matte"
            ) from e
        out[self.unknown] = np.clip(x, 0.0, 1.0)
        return out.reshape(self.shape).astype(np.float32)


def refine_alpha(
    image: np.ndarray,
    trimap: np.ndarray,
    alpha: np.ndarray,
    params: RefineParams = DEFAULT_PARAMS,
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """The network's `alpha` (float HxW in [0, 1]) refined in closed-form matting's system.

    Args:
      image: uint8 HxWx3 RGB.
      trimap: uint8 HxW, 0 background, 255 foreground, anything else unknown.
      alpha: the network's matte for them.
      params: the prior's weight and confidence (the cross-validated defaults).
      reference: the cross-check's matte (float HxW); None: Shared Matting's, when params.agreement is set.
    Returns:
      float32 HxW in [0, 1].
    """
    check_inputs(image, trimap, alpha)
    return Refiner(image, trimap, reference)(alpha, params)


class RefinedPredictor:
    """A predictor ``(image, trimap) -> alpha`` whose mattes are refined; other attributes are the wrapped
    predictor's (compile counts, shapes), so evaluation and predict report them unchanged.

    `refine_seconds` is the time spent refining; `predict_seconds` includes it, so per-image figures stay
    the whole cost of a matte.
    """

    def __init__(self, predictor, params: RefineParams = DEFAULT_PARAMS):
        self.predictor = predictor
        self.params = params
        self.refine_seconds = 0.0
        _pymatting()  # fail before the first photo, not after it

    def __getattr__(self, name: str):
        return getattr(self.predictor, name)

    @property
    def predict_seconds(self) -> float:
        return getattr(self.predictor, "predict_seconds", 0.0) + self.refine_seconds

    def __call__(self, image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
        import time

        alpha = np.asarray(self.predictor(image, trimap))
        start = time.perf_counter()
        refined = refine_alpha(image, trimap, alpha, self.params)
        self.refine_seconds += time.perf_counter() - start
        return refined
