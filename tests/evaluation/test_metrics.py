"""Metrics against hand-worked cases and against a slow, literal transcription of the MATLAB code.

The literal versions below copy the MATLAB loops line by line (kernel built pixel by pixel, imfilter as a
4-deep loop with clamped indices, bwconncomp as a column-major flood fill) and share no code with
`alphagan_jax.evaluation.metrics`, so a mistake in the vectorised version shows up as a mismatch.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest

from alphagan_jax.evaluation import metrics

# ----------------------------------------------------------------------------------------------------------
# Literal transcriptions of the MATLAB code (slow; small images only).


def lit_gauss(x: float, sigma: float) -> float:
    return math.exp(-(x**2) / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))


def lit_dgauss(x: float, sigma: float) -> float:
    return -x * lit_gauss(x, sigma) / sigma**2


def lit_imfilter_conv_replicate(im: np.ndarray, h: np.ndarray) -> np.ndarray:
    """imfilter(IM, h, 'replicate', 'conv') with output size 'same' (odd square kernel)."""
    rows, cols = im.shape
    k = h.shape[0]
    c = k // 2
    out = np.zeros((rows, cols))
    for y in range(rows):
        for x in range(cols):
            acc = 0.0
            for i in range(k):
                for j in range(k):
                    yy = min(max(y - (i - c), 0), rows - 1)
                    xx = min(max(x - (j - c), 0), cols - 1)
                    acc += h[i, j] * im[yy, xx]
            out[y, x] = acc
    return out


def lit_gaussgradient(im: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    epsilon = 1e-2
    halfsize = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * epsilon)))
    size = 2 * halfsize + 1
    hx = np.zeros((size, size))
    for i in range(1, size + 1):
        for j in range(1, size + 1):
            u = (i - halfsize - 1, j - halfsize - 1)
            hx[i - 1, j - 1] = lit_gauss(u[0], sigma) * lit_dgauss(u[1], sigma)
    hx = hx / math.sqrt(float((np.abs(hx) * np.abs(hx)).sum()))
    hy = hx.T
    return lit_imfilter_conv_replicate(im, hx), lit_imfilter_conv_replicate(im, hy)


def lit_mat2gray(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float64)
    lo, hi = a.min(), a.max()
    if lo == hi:
        out = a.copy()
    else:
        out = (a - lo) / (hi - lo)
    return np.maximum(0, np.minimum(out, 1))


def lit_gradient_loss(pred, target, trimap):
    pred = lit_mat2gray(pred)
    target = lit_mat2gray(target)
    pred_x, pred_y = lit_gaussgradient(pred, 1.4)
    target_x, target_y = lit_gaussgradient(target, 1.4)
    pred_amp = np.sqrt(pred_x**2 + pred_y**2)
    target_amp = np.sqrt(target_x**2 + target_y**2)
    error_map = (pred_amp.astype(np.float32) - target_amp.astype(np.float32)) ** 2
    return float((error_map * (trimap == 128)).sum()) / 1000


def lit_bwconncomp4(mask: np.ndarray) -> list[list[tuple[int, int]]]:
    """Components in MATLAB's order: scanning pixels in column-major (linear index) order."""
    rows, cols = mask.shape
    seen = np.zeros_like(mask, dtype=bool)
    comps = []
    for x in range(cols):
        for y in range(rows):
            if mask[y, x] and not seen[y, x]:
                comp = []
                q = deque([(y, x)])
                seen[y, x] = True
                while q:
                    cy, cx = q.popleft()
                    comp.append((cy, cx))
                    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                        ny, nx = cy + dy, cx + dx
                        if 0 <= ny < rows and 0 <= nx < cols and mask[ny, nx] and not seen[ny, nx]:
                            seen[ny, nx] = True
                            q.append((ny, nx))
                comps.append(comp)
    return comps


def lit_connectivity_error(pred, target, trimap, step=0.1):
    pred = pred.astype(np.float32) / np.float32(255)
    target = target.astype(np.float32) / np.float32(255)
    dimy, dimx = pred.shape
    n = int(round(1 / step))
    thresh_steps = [k * step for k in range(n + 1)]
    thresh_steps[-1] = 1.0
    l_map = np.ones(pred.shape) * (-1)
    for ii in range(1, len(thresh_steps)):
        th = np.float32(thresh_steps[ii])  # single vs double compares in single in MATLAB
        comps = lit_bwconncomp4((pred >= th) & (target >= th))
        omega = np.zeros((dimy, dimx))
        if comps:
            size_vec = [len(c) for c in comps]
            max_id = size_vec.index(max(size_vec))  # MATLAB max: first maximum
            for y, x in comps[max_id]:
                omega[y, x] = 1
        for y in range(dimy):
            for x in range(dimx):
                if l_map[y, x] == -1 and omega[y, x] == 0:
                    l_map[y, x] = thresh_steps[ii - 1]
    l_map[l_map == -1] = 1
    loss = 0.0
    for y in range(dimy):
        for x in range(dimx):
            pd = np.float32(pred[y, x]) - np.float32(l_map[y, x])
            td = np.float32(target[y, x]) - np.float32(l_map[y, x])
            p_phi = 1 - pd * (1.0 if pd >= np.float32(0.15) else 0.0)
            t_phi = 1 - td * (1.0 if td >= np.float32(0.15) else 0.0)
            if trimap[y, x] == 128:
                loss += abs(float(p_phi) - float(t_phi))
    return loss / 1000


def lit_sad(pred, target, trimap):
    total = 0.0
    for p, t, m in zip(pred.ravel(), target.ravel(), trimap.ravel(), strict=True):
        if m == 128:
            total += abs(float(p) - float(t)) / 255
    return total / 1000


def lit_mse(pred, target, trimap):
    total, count = 0.0, 0
    for p, t, m in zip(pred.ravel(), target.ravel(), trimap.ravel(), strict=True):
        if m == 128:
            total += ((float(p) - float(t)) / 255) ** 2
            count += 1
    return total / count


# ----------------------------------------------------------------------------------------------------------
# Random small mattes with smooth regions, hard edges, exact threshold values (51, 102, ...) and islands.


def random_case(seed: int, shape=(21, 26)):
    rng = np.random.default_rng(seed)
    rows, cols = shape
    yy, xx = np.mgrid[:rows, :cols]
    cy, cx, r = rng.uniform(0, rows), rng.uniform(0, cols), rng.uniform(4, 10)
    target = np.clip((r - np.hypot(yy - cy, xx - cx)) / 3 + 0.5, 0, 1) * 255
    target = np.round(target).astype(np.uint8)
    noise = rng.normal(0, 40, shape)
    pred = np.clip(target + noise * (rng.random(shape) < 0.5), 0, 255).astype(np.uint8)
    # Exact threshold values and isolated islands stress the >= ties and the component vote.
    pred[rng.random(shape) < 0.05] = rng.choice([51, 102, 153, 204, 255])
    pred[rng.random(shape) < 0.05] = 0
    trimap = np.full(shape, 128, np.uint8)
    trimap[target == 0] = rng.choice([0, 128])
    trimap[target == 255] = rng.choice([255, 128])
    return pred, target, trimap


@pytest.mark.parametrize("seed", range(6))
def test_matches_literal_matlab(seed):
    pred, target, trimap = random_case(seed)
    assert metrics.sad(pred, target, trimap) == pytest.approx(lit_sad(pred, target, trimap), rel=1e-9)
    assert metrics.mse(pred, target, trimap) == pytest.approx(lit_mse(pred, target, trimap), rel=1e-9)
    assert metrics.gradient_error(pred, target, trimap) == pytest.approx(
        lit_gradient_loss(pred, target, trimap), rel=1e-5, abs=1e-12
    )
    assert metrics.connectivity_error(pred, target, trimap) == pytest.approx(
        lit_connectivity_error(pred, target, trimap), rel=1e-6, abs=1e-12
    )


def test_conn_and_grad_are_nontrivial_in_random_cases():
    # Guards the comparison above against passing vacuously (both sides 0).
    pred, target, trimap = random_case(0)
    assert metrics.connectivity_error(pred, target, trimap) > 0
    assert metrics.gradient_error(pred, target, trimap) > 0


# ----------------------------------------------------------------------------------------------------------
# Hand-worked cases.


def test_sad_mse_by_hand():
    pred = np.array([[255, 0], [128, 0]], np.uint8)
    target = np.zeros((2, 2), np.uint8)
    trimap = np.array([[128, 128], [128, 255]], np.uint8)  # the last pixel is known: ignored
    assert metrics.sad(pred, target, trimap) == pytest.approx((1 + 0 + 128 / 255) / 1000)
    assert metrics.mse(pred, target, trimap) == pytest.approx((1 + (128 / 255) ** 2) / 3)


def test_mse_without_unknown_is_nan_and_others_zero():
    a = np.full((4, 4), 200, np.uint8)
    tri = np.full((4, 4), 255, np.uint8)
    out = metrics.compute_metrics(a, a * 0, tri)
    assert math.isnan(out["mse"]) and out["sad"] == 0 and out["num_unknown"] == 0


def test_gradient_kernel_support_and_norm():
    g, dg = metrics.gauss_gradient_kernel(1.4)
    assert g.shape == dg.shape == (9,)  # halfsize = ceil(1.4*sqrt(-2*log(sqrt(2*pi)*1.4*0.01))) = 4
    hx = np.outer(g, dg)
    assert np.sqrt((hx**2).sum()) == pytest.approx(1.0)


def test_gradient_normalises_by_min_max_not_255():
    # A ramp and the same ramp at half contrast are identical after mat2gray: zero gradient error.
    # (A port that divides by 255 gives a clearly positive error here.)
    ramp = np.tile(np.linspace(0, 255, 30), (12, 1))
    half = ramp / 2 + 40
    tri = np.full(ramp.shape, 128, np.uint8)
    assert metrics.gradient_error(half, ramp, tri) == pytest.approx(0, abs=1e-12)
    assert metrics.gradient_error(np.zeros_like(ramp), np.zeros_like(ramp), tri) == 0


def test_gradient_of_ramp_interior_by_hand():
    # mat2gray(ramp) has slope 1/(W-1) per pixel. In the interior, conv with hx = outer(g, dg) gives
    # gx = -slope * sum(g) * sum_j dg[j] * (j - c) (the flip of 'conv' and dg's oddness cancel the sign),
    # and gy = 0; so the amplitude is |slope * sum(g) * sum_j dg_j (j - c)|.
    cols = 40
    ramp = np.tile(np.arange(cols, dtype=np.float64), (20, 1))
    g, dg = metrics.gauss_gradient_kernel(1.4)
    j = np.arange(9) - 4
    expected = abs(g.sum() * (dg * j).sum()) / (cols - 1)
    gx, gy = metrics.gauss_gradient(metrics.mat2gray(ramp))
    np.testing.assert_allclose(np.abs(gx[8:12, 8:30]), expected, rtol=1e-12)
    np.testing.assert_allclose(gy[8:12, 8:30], 0, atol=1e-12)
    # conv (not correlation): increasing ramp gives a positive x-derivative, since dgauss is -x*gauss.
    assert gx[10, 20] > 0


def test_conn_by_hand_partial_alpha():
    # Pixel 1: pred 128/255 = 0.502 stays in the common component up to t = 0.5 and leaves at 0.6, so
    # l = 0.5; pixel 0 never leaves, l = 1. phi(pred) = [1, 1 - 0*(0.002>=0.15)] = [1, 1];
    # phi(target) = [1, 1 - 0.5] = [1, 0.5]. Conn = 0.5 / 1000.
    pred = np.array([[255, 128]], np.uint8)
    target = np.array([[255, 255]], np.uint8)
    tri = np.full((1, 2), 128, np.uint8)
    assert metrics.connectivity_error(pred, target, tri) == pytest.approx(0.5 / 1000, rel=1e-6)


def test_conn_by_hand_disconnected_island():
    # The common mask is {pixel 0, pixel 2} at every threshold: two 1-pixel components, MATLAB's max takes
    # the first (pixel 0). Pixels 1 and 2 leave at t = 0.1 (l = 0); pixel 0 never leaves (l = 1).
    # phi(pred) = [1, 1, 0]; phi(target) = [1, 0, 0]; Conn = 1 / 1000.
    pred = np.array([[255, 0, 255]], np.uint8)
    target = np.array([[255, 255, 255]], np.uint8)
    tri = np.full((1, 3), 128, np.uint8)
    assert metrics.connectivity_error(pred, target, tri) == pytest.approx(1 / 1000, rel=1e-6)


def test_largest_component_ignores_background_and_breaks_ties_column_major():
    mask = np.zeros((6, 6), bool)
    mask[1, 1] = True  # a single-pixel foreground; the background is far larger and must not win
    np.testing.assert_array_equal(metrics.largest_component(mask), mask)
    tie = np.array([[0, 1], [1, 0]], bool)  # (0,1) is first row-major; (1,0) is first column-major
    np.testing.assert_array_equal(metrics.largest_component(tie), np.array([[0, 0], [1, 0]], bool))
    assert not metrics.largest_component(np.zeros((3, 3), bool)).any()


def test_matlab_colon():
    steps = metrics.matlab_colon(0, 0.1, 1)
    assert len(steps) == 11 and steps[0] == 0 and steps[-1] == 1.0
    np.testing.assert_allclose(steps, np.linspace(0, 1, 11), atol=1e-15)


def test_perfect_prediction_is_zero():
    _, target, trimap = random_case(3, shape=(40, 50))
    out = metrics.compute_metrics(target, target, trimap)
    assert out["sad"] == out["mse"] == out["grad"] == out["conn"] == 0


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="one shape"):
        metrics.compute_metrics(np.zeros((3, 3)), np.zeros((3, 4)), np.zeros((3, 3)))


def test_evaluate_many_pool_matches_serial():
    cases = [random_case(s, shape=(60, 70)) for s in range(4)]
    serial = metrics.evaluate_many(cases, workers=1)
    pooled = metrics.evaluate_many(cases, workers=2)
    assert serial == pooled
    assert serial[0] == metrics.compute_metrics(*cases[0])


def test_conn_tie_between_components_follows_matlab_order(monkeypatch):
    # At some threshold this case has two largest components of equal size, and the choice changes Conn:
    # MATLAB's order (column-major) gives the literal value, row-major order would not.
    pred = np.array([[193, 243, 8, 36], [210, 242, 63, 79], [222, 108, 69, 211]], np.uint8)
    target = np.array([[65, 104, 164, 140], [21, 7, 221, 192], [214, 137, 209, 84]], np.uint8)
    tri = np.full(pred.shape, 128, np.uint8)
    expected = lit_connectivity_error(pred, target, tri)
    assert metrics.connectivity_error(pred, target, tri) == pytest.approx(expected, rel=1e-6)

    def row_major_largest(mask):
        comps = sorted(lit_bwconncomp4(mask), key=lambda c: min(c))  # row-major first-pixel order
        best = max(comps, key=len) if comps else []
        out = np.zeros(mask.shape, bool)
        for y, x in best:
            out[y, x] = True
        return out

    monkeypatch.setattr(metrics, "largest_component", row_major_largest)
    assert metrics.connectivity_error(pred, target, tri) != pytest.approx(expected, rel=1e-6)
