"""One `train_step` against an independent oracle: the losses written out here from DESIGN.md section 3
(not the library's `losses`), differentiated with plain `jax.value_and_grad` through explicit G and D
forwards (the models' `apply` is the only library code the oracle calls).

Both optimisers are swapped for SGD with learning rate 1, so each network's parameter update is exactly
minus its gradient: the step's G and D updates, BatchNorm statistics and reported losses must equal the
oracle's to float32 round-off.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import random_batch

from alphagan_jax.models import build_discriminator, build_generator
from alphagan_jax.models.layers import BN_MOMENTUM
from alphagan_jax.train.state import create_state
from alphagan_jax.train.step import train_step
from configs import test as test_config

EPS = 1e-6  # DESIGN.md section 3
MEAN = np.array([0.485, 0.456, 0.406], np.float32)  # ImageNet units, as G's input and D's input
STD = np.array([0.229, 0.224, 0.225], np.float32)
# Distinct weights, none equal to 1, so a dropped, swapped or mis-scaled term changes the updates.
W_ALPHA, W_COMP, W_GAN = 0.7, 1.3, 0.45

# Float32 round-off: the step and the oracle compute the same sums in other orders (G's gradient goes
# through the alpha pullback in the step, straight through in the oracle). Gradients are compared with
# rtol RTOL plus an absolute slack of ATOL times the leaf's largest gradient, plus the rounding of
# p - g itself (about 2^-24 |p|, the update being read back as new - old).
RTOL, ATOL = 1e-4, 1e-5


def unknown(trimap):
    return ((trimap > 0.25) & (trimap < 0.75)).astype(jnp.float32)


def charbonnier_mean(diff, trimap):
    """Mean over the batch's unknown pixels (and channels) of sqrt(diff^2 + eps^2)."""
    mask = jnp.broadcast_to(unknown(trimap), diff.shape)
    return jnp.sum(jnp.sqrt(diff**2 + EPS**2) * mask) / jnp.sum(mask)


def bce(logits, target):
    """-[t log s(x) + (1 - t) log(1 - s(x))], s the sigmoid, with log s(x) = -softplus(-x)."""
    log_p, log_not_p = -jax.nn.softplus(-logits), -jax.nn.softplus(logits)
    return jnp.mean(-(target * log_p + (1 - target) * log_not_p))


def d_input(composite, trimap):
    return jnp.concatenate([(composite - MEAN) / STD, trimap], axis=-1)


def oracle(g_vars, d_vars, batch, config):
    """What one step should do: D on (real composite, G's composite held fixed) with D's BatchNorm state
    threaded real pass -> fake pass, one SGD(1) step on D, then G against the updated D on
    w_alpha L_alpha + w_comp L_comp + w_gan L_gan, one SGD(1) step on G. D's statistics from G's pass are
    discarded; G's statistics are those of its one training forward."""
    g_model, d_model = build_generator(config.model), build_discriminator(config.model)
    image, trimap, alpha_gt, fg, bg = (jnp.asarray(batch[k]) for k in ("image", "trimap", "alpha", "fg", "bg"))

    def g_forward(params):
        return g_model.apply(
            {"params": params, "batch_stats": g_vars["batch_stats"]}, image, trimap, train=True, mutable=["batch_stats"]
        )

    def d_forward(params, stats, x):
        return d_model.apply({"params": params, "batch_stats": stats}, x, train=True, mutable=["batch_stats"])

    alpha, g_new = g_forward(g_vars["params"])
    fake = jax.lax.stop_gradient(alpha * fg + (1 - alpha) * bg)

    def d_loss(params):
        real_logits, s1 = d_forward(params, d_vars["batch_stats"], d_input(image, trimap))
        fake_logits, s2 = d_forward(params, s1["batch_stats"], d_input(fake, trimap))
        loss = bce(real_logits, 1.0) + bce(fake_logits, 0.0)
        return loss, (s1["batch_stats"], s2["batch_stats"], real_logits, fake_logits)

    (ld, (d_stats_real, d_stats, real_logits, fake_logits)), d_grads = jax.value_and_grad(d_loss, has_aux=True)(
        d_vars["params"]
    )
    d_params = jax.tree_util.tree_map(lambda p, g: p - g, d_vars["params"], d_grads)

    def g_loss(params):
        a, _ = g_forward(params)
        comp = a * fg + (1 - a) * bg
        logits, _ = d_forward(d_params, d_stats, d_input(comp, trimap))
        l_alpha = charbonnier_mean(a - alpha_gt, trimap)
        l_comp = charbonnier_mean(comp - image, trimap)
        l_gan = bce(logits, 1.0)
        return W_ALPHA * l_alpha + W_COMP * l_comp + W_GAN * l_gan, (l_alpha, l_comp, l_gan)

    (lg, (l_alpha, l_comp, l_gan)), g_grads = jax.value_and_grad(g_loss, has_aux=True)(g_vars["params"])
    metrics = {
        "g_loss": lg,
        "alpha_loss": l_alpha,
        "comp_loss": l_comp,
        "gan_loss": l_gan,
        "d_loss": ld,
        "d_real": jnp.mean(jax.nn.sigmoid(real_logits)),
        "d_fake": jnp.mean(jax.nn.sigmoid(fake_logits)),
    }
    return {
        "g_grads": g_grads,
        "d_grads": d_grads,
        "g_stats": g_new["batch_stats"],
        "d_stats": d_stats,
        "d_stats_real_only": d_stats_real,
        "metrics": metrics,
    }


def sgd_state(config):
    """create_state with both networks' Adam replaced by SGD(1): update = -gradient."""
    state = create_state(config, jax.random.PRNGKey(0))
    sgd = optax.sgd(1.0)
    return state.replace(
        g=state.g.replace(tx=sgd, opt_state=sgd.init(state.g.params)),
        d=state.d.replace(tx=sgd, opt_state=sgd.init(state.d.params)),
    )


@pytest.fixture(scope="module")
def step_and_oracle():
    config = test_config.get_config()
    config.model.dtype = "float32"
    t = config.train
    t.batch_size, t.ema_decay, t.w_lap, t.gan_start_step = 2, 0.0, 0.0, 0
    t.w_alpha, t.w_comp, t.w_gan = W_ALPHA, W_COMP, W_GAN
    batch = random_batch(7, n=2, size=64)
    state = sgd_state(config)
    before = jax.device_get(state)
    new_state, metrics = jax.jit(lambda s, b: train_step(s, b, config.train))(state, batch)
    want = jax.jit(lambda g, d, b: oracle(g, d, b, config))(before.g.variables(), before.d.variables(), batch)
    return before, jax.device_get(new_state), jax.device_get(metrics), jax.device_get(want)


def assert_update_is_minus_grad(before, after, grads, what):
    paths = jax.tree_util.tree_flatten_with_path(grads)[0]
    for (path, g), p0, p1 in zip(
        paths, jax.tree_util.tree_leaves(before), jax.tree_util.tree_leaves(after), strict=True
    ):
        p0, p1, g = (np.asarray(x, np.float64) for x in (p0, p1, g))
        atol = ATOL * np.abs(g).max() + 2.0**-23 * np.abs(p0).max() + 1e-12
        np.testing.assert_allclose(
            p1 - p0, -g, rtol=RTOL, atol=atol, err_msg=f"{what} update at {jax.tree_util.keystr(path)}"
        )


def assert_trees_close(got, want, what, rtol=RTOL, atol=1e-6):
    flat_want = jax.tree_util.tree_flatten_with_path(want)[0]
    flat_got = jax.tree_util.tree_leaves(got)
    assert len(flat_got) == len(flat_want), what
    for (path, w), g in zip(flat_want, flat_got, strict=True):
        scale = max(float(np.abs(w).max()), 1.0)
        np.testing.assert_allclose(
            g, w, rtol=rtol, atol=atol * scale, err_msg=f"{what} at {jax.tree_util.keystr(path)}"
        )


def test_step_counts_and_is_finite(step_and_oracle):
    before, after, metrics, _ = step_and_oracle
    assert float(metrics["finite"]) == 1.0
    assert int(after.step) == 1


def test_d_update_is_minus_the_oracle_gradient(step_and_oracle):
    before, after, _, want = step_and_oracle
    assert_update_is_minus_grad(before.d.params, after.d.params, want["d_grads"], "D")


def test_g_update_is_minus_the_oracle_gradient(step_and_oracle):
    before, after, _, want = step_and_oracle
    assert_update_is_minus_grad(before.g.params, after.g.params, want["g_grads"], "G")


def test_batch_stats_are_those_of_the_explicit_forwards(step_and_oracle):
    before, after, _, want = step_and_oracle
    assert_trees_close(after.g.batch_stats, want["g_stats"], "G batch_stats")
    assert_trees_close(after.d.batch_stats, want["d_stats"], "D batch_stats")
    # D's running averages went through both of its training passes, real then fake: one momentum step on
    # each. Check that threading directly on D's first BatchNorm mean, s = m (m s0 + (1 - m) b_r) +
    # (1 - m) b_f, against the real-only state s_r = m s0 + (1 - m) b_r: the fake batch's mean is then
    # (s - m s_r) / (1 - m), and it must differ from the real batch's (b_r), or the check proves nothing.
    m = BN_MOMENTUM
    s0 = np.asarray(before.d.batch_stats["bn1"]["mean"])
    s_r = np.asarray(want["d_stats_real_only"]["bn1"]["mean"])
    s = np.asarray(after.d.batch_stats["bn1"]["mean"])
    b_r = (s_r - m * s0) / (1 - m)
    b_f = (s - m * s_r) / (1 - m)
    assert np.abs(b_f - b_r).max() > 1e-3, "real and fake batches give the same D statistics"
    # Neither pass alone, and not the fake pass from the initial statistics.
    assert np.abs(s - s_r).max() > 1e-4
    assert np.abs(s - (m * s0 + (1 - m) * b_f)).max() > 1e-4


def test_reported_losses_are_the_oracle_losses(step_and_oracle):
    _, _, metrics, want = step_and_oracle
    for name, value in want["metrics"].items():
        np.testing.assert_allclose(metrics[name], value, rtol=RTOL, atol=1e-6, err_msg=name)
    # The total is the weighted sum of its parts (weights not 1: a dropped weight shows).
    w = want["metrics"]
    total = W_ALPHA * w["alpha_loss"] + W_COMP * w["comp_loss"] + W_GAN * w["gan_loss"]
    np.testing.assert_allclose(metrics["g_loss"], total, rtol=RTOL)
