"""One adversarial training step (a D update, then a G update) and its data-parallel jit.

The step is a pure function of (state, batch); `make_sharded_step` compiles it once over a 1-D
('data',) mesh: the batch is split across devices, the states are replicated, and XLA inserts the
gradient all-reduce (and global-batch BatchNorm statistics) from the shardings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from alphagan_jax.models import normalize_image
from alphagan_jax.train import losses
from alphagan_jax.train.state import GanState, ema_decay_at, update_ema

Batch = dict[str, jnp.ndarray]


def discriminator_input(composite: jnp.ndarray, trimap: jnp.ndarray) -> jnp.ndarray:
    """D sees a composite (in ImageNet units, like G's input) and the trimap."""
    return jnp.concatenate([normalize_image(composite), trimap.astype(jnp.float32)], axis=-1)


def _all_finite(*trees: Any) -> jnp.ndarray:
    # One squared-norm reduction per tree: a NaN or inf anywhere makes it non-finite. (An isfinite per
    # leaf compiles to hundreds of small reductions and tripled the step's compile time on CPU.)
    return jnp.all(jnp.stack([jnp.isfinite(optax.tree.norm(t)) for t in trees]))


def train_step(state: GanState, batch: Batch, train: ml_collections.ConfigDict) -> tuple[GanState, dict]:
    """D on (real composite, G's composite with G stopped), then G on alpha + composition + GAN losses.

    G runs forward once: `jax.vjp` keeps its pullback, so the G update reuses the forward pass the D
    update consumed. A step whose losses or gradients are not finite leaves the state unchanged and
    reports `finite = 0`, so a checkpoint can never hold a NaN.
    """
    image, trimap, alpha_gt = batch["image"], batch["trimap"], batch["alpha"]
    fg, bg = batch["fg"], batch["bg"]

    def g_forward(params):
        return state.g.apply_fn(
            {"params": params, "batch_stats": state.g.batch_stats},
            image,
            trimap,
            train=True,
            mutable=["batch_stats"],
        )

    alpha, g_pullback, g_updates = jax.vjp(g_forward, state.g.params, has_aux=True)
    fake = losses.composite(alpha, fg, bg)

    # --- D update: real = the ground-truth composite with the same trimap.
    def d_loss_fn(params):
        def run(x, stats):
            return state.d.apply_fn({"params": params, "batch_stats": stats}, x, train=True, mutable=["batch_stats"])

        real_logits, upd = run(discriminator_input(image, trimap), state.d.batch_stats)
        fake_logits, upd = run(discriminator_input(jax.lax.stop_gradient(fake), trimap), upd["batch_stats"])
        loss = losses.discriminator_loss(real_logits, fake_logits)
        return loss, (upd["batch_stats"], real_logits, fake_logits)

    (d_loss, (d_stats, real_logits, fake_logits)), d_grads = jax.value_and_grad(d_loss_fn, has_aux=True)(state.d.params)
    new_d = state.d.apply_gradients(grads=d_grads, batch_stats=d_stats)

    # --- G update against the updated D. D's statistics from this pass are discarded: D's running
    # averages describe what D was trained on, not G's extra query.
    def g_loss_fn(alpha):
        logits, _ = new_d.apply_fn(
            new_d.variables(),
            discriminator_input(losses.composite(alpha, fg, bg), trimap),
            train=True,
            mutable=["batch_stats"],
        )
        l_alpha = losses.alpha_loss(alpha, alpha_gt, trimap)
        l_comp = losses.composition_loss(alpha, fg, bg, image, trimap)
        l_gan = losses.generator_gan_loss(logits)
        # A warm-up without the GAN term lets G learn the matte before D's opinion counts (gan_start_step).
        w_gan = jnp.where(state.step >= train.gan_start_step, train.w_gan, 0.0)
        total = train.w_alpha * l_alpha + train.w_comp * l_comp + w_gan * l_gan
        extra = {}
        # A Python-level switch: with w_lap = 0 the compiled step is exactly the one without the term.
        if train.w_lap:
            extra["lap_loss"] = losses.laplacian_loss(alpha, alpha_gt, trimap)
            total = total + train.w_lap * extra["lap_loss"]
        return total, (l_alpha, l_comp, l_gan, extra)

    (g_loss, (l_alpha, l_comp, l_gan, extra)), d_alpha = jax.value_and_grad(g_loss_fn, has_aux=True)(alpha)
    (g_grads,) = g_pullback(d_alpha)
    new_g = state.g.apply_gradients(grads=g_grads, batch_stats=g_updates["batch_stats"])

    metrics = {
        "g_loss": g_loss,
        "alpha_loss": l_alpha,
        "comp_loss": l_comp,
        "gan_loss": l_gan,
        **extra,
        "d_loss": d_loss,
        "d_real": jnp.mean(jax.nn.sigmoid(real_logits)),
        "d_fake": jnp.mean(jax.nn.sigmoid(fake_logits)),
    }
    finite = _all_finite(metrics, g_grads, d_grads)
    ema = state.ema
    if ema is not None:
        ema = update_ema(ema, new_g.variables(), ema_decay_at(train.ema_decay, state.step))
    new_state = GanState(step=state.step + 1, g=new_g, d=new_d, ema=ema)
    # Keep the last good state on a non-finite step; the host stops the run when it sees finite == 0.
    new_state = jax.lax.cond(finite, lambda: new_state, lambda: state)
    metrics["finite"] = finite.astype(jnp.float32)
    return new_state, metrics


def make_mesh(devices: list | None = None) -> Mesh:
    """A 1-D ('data',) mesh over every device of every host."""
    return Mesh(np.asarray(devices or jax.devices()), ("data",))


def batch_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec("data"))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def make_sharded_step(
    train: ml_collections.ConfigDict, mesh: Mesh
) -> Callable[[GanState, Batch], tuple[GanState, dict]]:
    """`train_step` jitted with the batch sharded on 'data', the state replicated and donated."""
    return jax.jit(
        lambda state, batch: train_step(state, batch, train),
        in_shardings=(replicated(mesh), batch_sharding(mesh)),
        out_shardings=(replicated(mesh), replicated(mesh)),
        donate_argnums=(0,),
    )


def shard_batch(batch: dict[str, np.ndarray], mesh: Mesh) -> Batch:
    """This host's part of the global batch -> global arrays sharded over the mesh (works multi-host)."""
    sharding = batch_sharding(mesh)
    # A batch made on the accelerator (data.pipeline="jax") is passed on as a jax Array, not through NumPy,
    # so JAX device_puts its slices from the device that made them.
    return {
        k: jax.make_array_from_process_local_data(sharding, v if isinstance(v, jax.Array) else np.asarray(v))
        for k, v in batch.items()
    }
