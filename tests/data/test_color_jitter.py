"""data.color_jitter: hue, saturation and gamma changes, checked against colorsys's HSV and a power law."""

import colorsys

import numpy as np
import pytest
from helpers import batches, require_module, small_config

tf = require_module("tensorflow", "the tf.data colour jitter: pip install -e '.[data]'")

from alphagan_jax.data import tf_ops  # noqa: E402

HSV = np.vectorize(colorsys.rgb_to_hsv)


def hsv(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB in [0, 1] -> (..., 3) HSV with colorsys, the independent reference."""
    h, s, v = HSV(rgb[..., 0].astype(np.float64), rgb[..., 1].astype(np.float64), rgb[..., 2].astype(np.float64))
    return np.stack([h, s, v], axis=-1)


def hue_shift(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Per-pixel hue change in turns, wrapped to [-0.5, 0.5), over clearly coloured pixels."""
    a, b = hsv(before.reshape(-1, 3)), hsv(after.reshape(-1, 3))
    coloured = (a[:, 1] > 0.25) & (a[:, 2] > 0.25)
    return (b[coloured, 0] - a[coloured, 0] + 0.5) % 1.0 - 0.5


def jitter(rgb: np.ndarray, seed: int, amounts: tuple[float, float, float]) -> np.ndarray:
    out = tf_ops.color_jitter(tf.constant([seed, 7], tf.int64), tf.constant(rgb, tf.float32), *amounts)
    return out.numpy().astype(np.float64)


@pytest.fixture(scope="module")
def colours() -> np.ndarray:
    return np.random.default_rng(0).uniform(0.05, 0.95, (16, 16, 3)).astype(np.float32)


def test_each_change_against_its_formula(colours):
    np.testing.assert_array_equal(jitter(colours, 0, (0.0, 0.0, 0.0)), colours)
    ref = hsv(colours.astype(np.float64))
    shifts, factors, gammas = [], [], []
    for seed in range(6):
        # Hue alone: one rotation for every pixel, within the bound; saturation and value kept.
        out = jitter(colours, seed, (0.2, 0.0, 0.0))
        d = hue_shift(colours, out)
        assert np.ptp(d) < 2e-3 and abs(d.mean()) <= 0.2 + 1e-3
        np.testing.assert_allclose(hsv(out)[..., 1:], ref[..., 1:], atol=2e-3)
        shifts.append(d.mean())
        # Saturation alone: S times one factor in [0.7, 1.3] (where it stays below 1), hue and value kept.
        out = jitter(colours, seed, (0.0, 0.3, 0.0))
        got = hsv(out)
        keep = ref[..., 1] < 0.7
        f = got[..., 1][keep] / ref[..., 1][keep]
        assert np.ptp(f) < 1e-2 and 0.7 - 1e-3 <= f.mean() <= 1.3 + 1e-3
        np.testing.assert_allclose(got[..., 2], ref[..., 2], atol=2e-3)
        factors.append(f.mean())
        # Gamma alone: out = in ** g, one g in [1 / 1.3, 1.3].
        out = jitter(colours, seed, (0.0, 0.0, 0.3))
        g = np.log(out) / np.log(colours.astype(np.float64))
        assert np.ptp(g) < 1e-3 and 1 / 1.3 - 1e-4 <= g.mean() <= 1.3 + 1e-4
        gammas.append(g.mean())
    for drawn in (shifts, factors, gammas):  # the amounts are drawn per seed, not fixed
        assert np.ptp(drawn) > 0.05


def test_pipeline_jitters_foreground_and_background_independently():
    """Same seed with and without jitter: the same crops, alpha and trimap; the foreground and background each
    rotated by their own hue; and the image is still alpha F + (1 - alpha) B of the changed colours."""
    plain = batches(small_config(), 2)
    changed = batches(small_config(color_jitter=(0.2, 0.0, 0.0)), 2)
    differ = 0
    for p, c in zip(plain, changed, strict=True):
        np.testing.assert_array_equal(p["alpha"], c["alpha"])
        np.testing.assert_array_equal(p["trimap"], c["trimap"])
        np.testing.assert_allclose(c["image"], c["alpha"] * c["fg"] + (1 - c["alpha"]) * c["bg"], atol=1e-6)
        for i in range(len(p["fg"])):
            d_fg, d_bg = hue_shift(p["fg"][i], c["fg"][i]), hue_shift(p["bg"][i], c["bg"][i])
            # Clipping at 0 and 1 can move a few pixels' hue; the bulk moves by one amount.
            assert np.percentile(np.abs(d_fg - np.median(d_fg)), 90) < 5e-3
            assert np.percentile(np.abs(d_bg - np.median(d_bg)), 90) < 5e-3
            differ += abs(np.median(d_fg) - np.median(d_bg)) > 0.01
    assert differ >= 6  # of 8 samples: independent draws rarely agree
