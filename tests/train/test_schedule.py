"""The learning-rate schedule and the GAN warm-up (train.lr_schedule, train.gan_start_step)."""

import math

import jax
import numpy as np
import pytest
from helpers import leaves, random_batch

from alphagan_jax.train.state import create_state, learning_rate
from alphagan_jax.train.step import train_step
from configs import test as test_config


def test_cosine_schedule_follows_its_formula():
    t = test_config.get_config().train
    t.lr, t.lr_schedule, t.warmup_steps, t.num_steps, t.lr_end_factor = 1e-3, "cosine", 10, 110, 0.01
    lr = learning_rate(t)

    def expected(step: int) -> float:  # linear warm-up, then half a cosine from lr down to lr * end_factor
        if step < 10:
            return 1e-3 * step / 10
        progress = (step - 10) / 100
        return 1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + math.cos(math.pi * progress))

    for step in (0, 5, 10, 35, 60, 100, 110):
        assert float(lr(step)) == pytest.approx(expected(step), rel=1e-5, abs=1e-12), step
    t.lr_schedule = "constant"
    assert learning_rate(t) == 1e-3
    t.lr_schedule = "cosin"
    with pytest.raises(ValueError, match="train.lr_schedule"):
        learning_rate(t)


def test_gan_term_off_before_gan_start_step():
    """Before train.gan_start_step, G's update is the update without the GAN term (w_gan = 0); from then on
    it is not. D trains either way."""
    config = test_config.get_config()
    batch = random_batch(0)

    def g_after_one_step(w_gan: float, gan_start_step: int):
        t = config.train
        t.w_gan, t.gan_start_step = w_gan, gan_start_step
        state = create_state(config, jax.random.PRNGKey(0))
        new_state, _ = jax.jit(lambda s, b: train_step(s, b, t))(state, batch)
        return leaves(new_state.g.params), leaves(new_state.d.params), leaves(state.d.params)

    warm, warm_d, d0 = g_after_one_step(1.0, 5)
    no_gan, _, _ = g_after_one_step(0.0, 0)
    with_gan, _, _ = g_after_one_step(1.0, 0)
    for a, b in zip(warm, no_gan, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)
    assert any(not np.allclose(a, b, rtol=0, atol=1e-7) for a, b in zip(warm, with_gan, strict=True))
    assert any(not np.array_equal(a, b) for a, b in zip(warm_d, d0, strict=True))
