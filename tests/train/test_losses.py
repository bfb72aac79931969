"""Losses against hand-worked values."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from alphagan_jax.train import losses

EPS = 1e-6


def test_alpha_loss_hand_worked():
    # 2x2 image; trimap unknown at three pixels, known fg at one (its error must not count).
    pred = jnp.array([0.5, 0.2, 1.0, 0.0]).reshape(1, 2, 2, 1)
    gt = jnp.array([0.25, 0.2, 0.0, 0.9]).reshape(1, 2, 2, 1)
    trimap = jnp.array([0.5, 0.5, 1.0, 0.5]).reshape(1, 2, 2, 1)
    # |diffs| on unknown pixels: 0.25, 0, 0.9 -> sqrt(d^2 + eps^2)
    expected = (math.sqrt(0.25**2 + EPS**2) + EPS + math.sqrt(0.9**2 + EPS**2)) / 3
    assert float(losses.alpha_loss(pred, gt, trimap)) == pytest.approx(expected, rel=1e-6)


def test_composition_loss_hand_worked():
    fg = jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).reshape(1, 1, 2, 3)
    bg = jnp.array([[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]).reshape(1, 1, 2, 3)
    gt_alpha = jnp.array([1.0, 0.5]).reshape(1, 1, 2, 1)
    image = gt_alpha * fg + (1 - gt_alpha) * bg  # [1,0,0], [0,.5,0]
    pred_alpha = jnp.array([0.5, 0.5]).reshape(1, 1, 2, 1)  # pixel 0: [.5,0,.5]; pixel 1 exact
    trimap = jnp.array([0.5, 0.5]).reshape(1, 1, 2, 1)
    per_channel = [0.5, 0.0, 0.5, 0.0, 0.0, 0.0]
    expected = sum(math.sqrt(d * d + EPS**2) for d in per_channel) / 6  # 2 pixels x 3 channels
    got = losses.composition_loss(pred_alpha, fg, bg, image, trimap)
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_losses_ignore_known_regions():
    rng = np.random.default_rng(0)
    pred, gt = rng.uniform(size=(2, 8, 8, 1)), rng.uniform(size=(2, 8, 8, 1))
    trimap = np.where(rng.uniform(size=(2, 8, 8, 1)) < 0.5, 0.5, 1.0)
    base = float(losses.alpha_loss(pred, gt, trimap))
    changed = np.where(trimap == 0.5, pred, 1 - pred)  # alter only the known pixels
    assert float(losses.alpha_loss(changed, gt, trimap)) == pytest.approx(base, rel=1e-6)
    # Independent numpy computation of the masked mean.
    m = trimap == 0.5
    assert base == pytest.approx(np.sqrt((pred - gt)[m] ** 2 + EPS**2).mean(), rel=1e-5)


def test_empty_unknown_region_gives_zero_and_finite_gradients():
    pred = jnp.full((1, 4, 4, 1), 0.3)
    trimap = jnp.ones((1, 4, 4, 1))
    fg = bg = image = jnp.zeros((1, 4, 4, 3))
    assert float(losses.alpha_loss(pred, jnp.zeros_like(pred), trimap)) == 0.0
    assert float(losses.composition_loss(pred, fg, bg, image, trimap)) == 0.0
    g = jax.grad(lambda p: losses.alpha_loss(p, jnp.zeros_like(p), trimap))(pred)
    assert np.all(np.asarray(g) == 0)


def test_gan_losses_against_log_sigmoid():
    real = jnp.array([2.0, -1.0, 30.0])
    fake = jnp.array([-3.0, 0.5, -40.0])

    def log_sigmoid(x):
        return -np.log1p(np.exp(-x))

    r, f = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    expected_d = -log_sigmoid(r).mean() - np.log1p(-1 / (1 + np.exp(-f))).mean()
    assert float(losses.discriminator_loss(real, fake)) == pytest.approx(expected_d, rel=1e-5)
    expected_g = -log_sigmoid(f).mean()
    assert float(losses.generator_gan_loss(fake)) == pytest.approx(expected_g, rel=1e-5)
    # Saturated logits stay finite (a naive log(sigmoid(x)) gives inf at -40 in float32).
    assert np.isfinite(float(losses.generator_gan_loss(jnp.array([-200.0]))))
