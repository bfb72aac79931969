"""Laplacian refinement against a dense transcription of Levin et al.'s Laplacian and the system it solves."""

import time
from dataclasses import replace

import numpy as np
import pytest

from alphagan_jax.inference.refine import (
    RefinedPredictor,
    RefineParams,
    Refiner,
    confidence,
    refine_alpha,
    shared_matting,
)


def dense_laplacian(image: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """Levin, Lischinski and Weiss (2008), eq. 12, written out window by window over every 3x3 window that
    fits in the image: L_ij = sum_k [delta_ij - (1 + (I_i - mu_k)^T (S_k + eps/9 I)^-1 (I_j - mu_k)) / 9]."""
    h, w, _ = image.shape
    L = np.zeros((h * w, h * w))
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            idx = np.array([(y + dy) * w + (x + dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
            win = image.reshape(-1, 3)[idx]
            mu = win.mean(0)
            cov = (win - mu).T @ (win - mu) / 9 + eps / 9 * np.eye(3)
            d = win - mu
            L[np.ix_(idx, idx)] += np.eye(9) - (1 + d @ np.linalg.inv(cov) @ d.T) / 9
    return L


def scene(seed: int = 0, h: int = 14, w: int = 18):
    """A noisy two-colour blend with a trimap whose unknown band sits in the middle, and a wrong prior."""
    rng = np.random.default_rng(seed)
    ramp = np.clip((np.arange(w) - 4) / (w - 8), 0, 1)
    alpha = np.broadcast_to(ramp, (h, w)).copy()
    fg, bg = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    image = alpha[:, :, None] * fg + (1 - alpha[:, :, None]) * bg + rng.normal(0, 6, (h, w, 3))
    image = np.clip(np.round(image), 0, 255).astype(np.uint8)
    trimap = np.full((h, w), 128, np.uint8)
    trimap[:, :4], trimap[:, -4:] = 0, 255
    prior = np.clip(alpha + rng.normal(0, 0.25, alpha.shape), 0, 1).astype(np.float32)
    return image, trimap, alpha, prior


def dense_solve(image, trimap, prior, params, reference=None):
    """(L_UU + g C) a_U = -L_UK a_K + g C a_net_U, solved densely with the hand-written Laplacian;
    C = floor + |2a - 1|^power, times exp(-((a - reference) / agreement)^2) with a reference."""
    L = dense_laplacian(image.astype(np.float64) / 255.0)
    u = (trimap == 128).ravel()
    a_k = (trimap == 255).ravel()[~u].astype(np.float64)
    a_net = prior.ravel()[u].astype(np.float64)
    gc = params.weight * (params.floor + np.abs(2 * a_net - 1) ** params.power)
    if reference is not None:
        gc = gc * np.exp(-(((a_net - reference.ravel()[u]) / params.agreement) ** 2))
    a_u = np.linalg.solve(L[np.ix_(u, u)] + np.diag(gc), -L[np.ix_(u, ~u)] @ a_k + gc * a_net)
    want = (trimap == 255).astype(np.float64).ravel()
    want[u] = np.clip(a_u, 0, 1)
    return want.reshape(trimap.shape)


def test_refinement_solves_the_prior_system_exactly():
    image, trimap, _, prior = scene()
    params = RefineParams(weight=3e-2, floor=0.1, power=2.0, agreement=None)
    got = refine_alpha(image, trimap, prior, params)
    assert got.dtype == np.float32 and got.shape == trimap.shape
    np.testing.assert_allclose(got, dense_solve(image, trimap, prior, params), atol=2e-5)
    assert (got[trimap == 0] == 0).all() and (got[trimap == 255] == 1).all()


def test_cross_check_scales_the_confidence_by_agreement_with_the_reference():
    """With a reference the system's confidence is multiplied by exp(-((a - ref) / agreement)^2): the dense
    solve agrees, a reference equal to the prior changes nothing, and one that disagrees everywhere leaves
    closed-form matting (no prior at all)."""
    from pymatting import estimate_alpha_cf

    image, trimap, truth, prior = scene(4)
    params = RefineParams(weight=3e-2, floor=0.1, power=2.0, agreement=0.2)
    reference = np.clip(truth + np.random.default_rng(5).normal(0, 0.1, truth.shape), 0, 1)
    got = refine_alpha(image, trimap, prior, params, reference=reference)
    np.testing.assert_allclose(got, dense_solve(image, trimap, prior, params, reference), atol=2e-5)
    without = RefineParams(weight=3e-2, floor=0.1, power=2.0, agreement=None)
    assert np.abs(got - dense_solve(image, trimap, prior, without)).max() > 1e-2  # the factor matters here
    same = refine_alpha(image, trimap, prior, params, reference=prior.astype(np.float64))
    np.testing.assert_allclose(same, refine_alpha(image, trimap, prior, without), atol=1e-6)
    far = refine_alpha(image, trimap, prior, RefineParams(agreement=1e-3), reference=1.0 - prior.astype(np.float64))
    cf = estimate_alpha_cf(image / 255.0, trimap / 255.0, laplacian_kwargs={"epsilon": 1e-7})
    np.testing.assert_allclose(far, cf, atol=2e-3)
    with pytest.raises(ValueError, match="reference must be"):
        refine_alpha(image, trimap, prior, params, reference=reference[:-1])
    with pytest.raises(ValueError, match="agreement must be > 0"):
        RefineParams(agreement=0.0)


def test_default_reference_is_shared_matting():
    """Without a reference, the cross-check uses pymatting's Shared Matting on the {0, 0.5, 1} trimap."""
    from pymatting import estimate_alpha_sm

    image, trimap, _, prior = scene(6, h=24, w=30)
    want = np.clip(estimate_alpha_sm(image / 255.0, np.where(trimap == 128, 0.5, trimap / 255.0)), 0, 1)
    np.testing.assert_array_equal(shared_matting(image, trimap), want)
    params = RefineParams(agreement=0.1)
    np.testing.assert_array_equal(
        refine_alpha(image, trimap, prior, params), refine_alpha(image, trimap, prior, params, reference=want)
    )


def test_limits_are_closed_form_and_the_prior():
    """A vanishing weight gives closed-form matting (pymatting's own solver); a huge one returns the prior."""
    from pymatting import estimate_alpha_cf

    image, trimap, truth, prior = scene(1)
    cf = estimate_alpha_cf(image / 255.0, trimap / 255.0, laplacian_kwargs={"epsilon": 1e-7})
    tiny = refine_alpha(image, trimap, prior, RefineParams(weight=1e-9, floor=1.0, agreement=None))
    np.testing.assert_allclose(tiny, cf, atol=1e-3)
    huge = refine_alpha(image, trimap, prior, RefineParams(weight=1e6, floor=1.0, agreement=None))
    unknown = trimap == 128
    np.testing.assert_allclose(huge[unknown], prior[unknown], atol=1e-4)
    # In between, the colour-line model pulls a wrong prior towards the true blend.
    mid = refine_alpha(image, trimap, prior, RefineParams(weight=1e-2, floor=0.05, agreement=None))
    assert np.abs(mid - truth)[unknown].mean() < 0.5 * np.abs(prior - truth)[unknown].mean()


def test_confidence_shape_and_one_laplacian_for_many_settings():
    a = np.array([0.0, 0.25, 0.5, 1.0])
    plain = RefineParams(floor=0.05, power=2, agreement=None)
    np.testing.assert_allclose(confidence(a, plain), [1.05, 0.30, 0.05, 1.05])
    checked = RefineParams(floor=0.05, power=2, agreement=0.25)
    reference = a + np.array([0.0, 0.25, -0.5, 0.0])  # off by 0, 1 and 2 widths
    want = [1.05, 0.30 * np.exp(-1), 0.05 * np.exp(-4), 1.05]
    np.testing.assert_allclose(confidence(a, checked, reference), want)
    with pytest.raises(ValueError, match="needs a reference"):
        confidence(a, checked)
    image, trimap, _, prior = scene(2)
    refiner = Refiner(image, trimap)
    for params in (RefineParams(1e-3), RefineParams(1e-1, 0.5, 1.0)):
        np.testing.assert_array_equal(refiner(prior, params), refine_alpha(image, trimap, prior, params))


def test_bad_inputs_name_what_was_expected():
    image, trimap, _, prior = scene()
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        refine_alpha(image.astype(np.float32), trimap, prior)
    with pytest.raises(ValueError, match="trimap must be"):
        refine_alpha(image, trimap[:-1], prior)
    with pytest.raises(ValueError, match="alpha must be"):
        refine_alpha(image, trimap, prior[:, :-1])
    with pytest.raises(ValueError, match="weight > 0"):
        RefineParams(weight=0)


def test_no_unknown_pixels_and_the_wrapped_predictor():
    image, trimap, _, prior = scene()
    known = np.where(trimap == 255, 255, 0).astype(np.uint8)
    np.testing.assert_array_equal(refine_alpha(image, known, prior), known / 255.0)

    class Net:
        num_compiles, predict_seconds = 3, 1.5

        def __call__(self, image, trimap):
            return prior

    refined = RefinedPredictor(Net())
    start = time.perf_counter()
    alpha = refined(image, trimap)
    wall = time.perf_counter() - start  # an independent clock around the call
    np.testing.assert_array_equal(alpha, refine_alpha(image, trimap, prior))
    assert refined.num_compiles == 3  # the wrapped predictor's attributes show through
    # The refinement's time is counted (some, at most the call's), and added to the network's 1.5 s.
    assert 0 < refined.refine_seconds <= wall
    assert refined.predict_seconds == pytest.approx(1.5 + refined.refine_seconds, abs=1e-9)


def test_matrix_free_laplacian_and_jax_solver_match_the_dense_system():
    """The JAX route's box-sum Laplacian equals the dense transcription, and its CG solve the dense solve."""
    import jax
    import jax.numpy as jnp

    from bench.refine_jax import laplacian_diagonal, laplacian_matvec, refine_alpha_jax, window_stats

    image, trimap, _, prior = scene(3)
    img = image.astype(np.float64) / 255.0
    L = dense_laplacian(img)
    x = np.random.default_rng(0).random(trimap.shape)
    with jax.enable_x64(True):
        mu, inv = window_stats(jnp.asarray(img))
        got = np.asarray(laplacian_matvec(jnp.asarray(img), mu, inv, jnp.asarray(x)))
        diag = np.asarray(laplacian_diagonal(jnp.asarray(img), mu, inv))
        params = RefineParams(weight=3e-2, floor=0.1, agreement=0.2)
        jax_alpha = refine_alpha_jax(image, trimap, prior, params, rtol=1e-10)
        reference = shared_matting(image, trimap)
        checked = refine_alpha_jax(image, trimap, prior, params, rtol=1e-10, reference=reference)
    np.testing.assert_allclose(got.ravel(), L @ x.ravel(), rtol=1e-6, atol=1e-6 * np.abs(L).max())
    np.testing.assert_allclose(diag.ravel(), np.diag(L), rtol=1e-6, atol=1e-6 * np.abs(L).max())
    np.testing.assert_allclose(jax_alpha, refine_alpha(image, trimap, prior, params), atol=1e-4)
    np.testing.assert_array_equal(checked, jax_alpha)  # the reference it computes is Shared Matting's
    np.testing.assert_allclose(jax_alpha, dense_solve(image, trimap, prior, params, reference), atol=1e-4)


def test_without_both_known_regions_the_cross_check_is_skipped():
    """Shared Matting samples known foreground and background colours: with one of them missing (or no known
    pixel at all) there is no reference, and the refinement is the one without the cross-check, not a solve
    that fails or a matte of NaNs."""
    image, trimap, _, prior = scene(7)
    params = RefineParams(weight=3e-2, floor=0.1, agreement=0.05)
    without = replace(params, agreement=None)
    for name, t in (
        ("no background", np.where(trimap == 0, 128, trimap).astype(np.uint8)),
        ("no foreground", np.where(trimap == 255, 128, trimap).astype(np.uint8)),
        ("nothing known", np.full_like(trimap, 128)),
    ):
        assert shared_matting(image, t) is None, name
        got = refine_alpha(image, t, prior, params)
        assert np.isfinite(got).all() and got.min() >= 0 and got.max() <= 1, name
        np.testing.assert_array_equal(got, refine_alpha(image, t, prior, without), err_msg=name)
    # A reference without an estimate somewhere (NaN) leaves the network's confidence as it is there.
    reference = np.full(trimap.shape, np.nan)
    np.testing.assert_array_equal(
        refine_alpha(image, trimap, prior, params, reference=reference), refine_alpha(image, trimap, prior, without)
    )
