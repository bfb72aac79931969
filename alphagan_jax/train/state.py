"""Generator and discriminator training states, each with its own optimiser and BatchNorm statistics."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax import struct
from flax.training import train_state

from alphagan_jax.models import build_discriminator, build_generator


class NetState(train_state.TrainState):
    """A Flax TrainState plus the network's BatchNorm running statistics."""

    batch_stats: Any = None

    def variables(self) -> dict[str, Any]:
        return {"params": self.params, "batch_stats": self.batch_stats}


class GanState(struct.PyTreeNode):
    """Everything a training step reads and writes; checkpoints hold exactly this.

    `ema` is an exponential moving average of G's variables (params and BatchNorm statistics) when
    train.ema_decay > 0, else None (an empty subtree: the state, its checkpoints and its step are then
    exactly those of a run without it).
    """

    step: jnp.ndarray
    g: NetState
    d: NetState
    ema: Any = None

    def eval_variables(self) -> dict[str, Any]:
        """The generator variables that validation, evaluation and prediction use: the average when kept."""
        return self.ema if self.ema is not None else self.g.variables()


def ema_decay_at(decay: float, step: jnp.ndarray) -> jnp.ndarray:
    """The decay used at `step` (0-based): min(decay, (1 + step) / (10 + step)), the warm-up of
    tf.train.ExponentialMovingAverage, so early averages are not dominated by the random initialisation."""
    step = jnp.asarray(step, jnp.float32)
    return jnp.minimum(decay, (1.0 + step) / (10.0 + step))


def update_ema(ema: Any, variables: Any, decay: jnp.ndarray) -> Any:
    """ema <- decay * ema + (1 - decay) * variables, leaf by leaf."""
    return jax.tree_util.tree_map(lambda e, v: decay * e + (1.0 - decay) * v.astype(e.dtype), ema, variables)


SCHEDULES = ("constant", "cosine")


def learning_rate(train: ml_collections.ConfigDict) -> float | optax.Schedule:
    """train.lr, or with train.lr_schedule='cosine' a linear warm-up over train.warmup_steps to train.lr,
    then a cosine decay to train.lr * train.lr_end_factor at train.num_steps."""
    if train.lr_schedule == "constant":
        return train.lr
    if train.lr_schedule != "cosine":
        raise ValueError(f"train.lr_schedule={train.lr_schedule!r}; allowed: {', '.join(SCHEDULES)}")
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=train.lr,
        warmup_steps=train.warmup_steps,
        decay_steps=max(train.num_steps, train.warmup_steps + 1),
        end_value=train.lr * train.lr_end_factor,
    )


def make_optimizer(train: ml_collections.ConfigDict) -> optax.GradientTransformation:
    return optax.adam(learning_rate(train), b1=train.b1, b2=train.b2)


def _check_pretrained(converted: dict, initial: dict, source: str) -> None:
    got = jax.tree_util.tree_map(lambda x: tuple(x.shape), converted)
    want = jax.tree_util.tree_map(lambda x: tuple(x.shape), initial)
    if got != want:
        raise ValueError(
            f"model.pretrained={source!r} does not fit this encoder: the weights are for torchvision's "
            "ResNet-50 (model.stage_sizes=(3, 4, 6, 3), model.width=64)"
        )


def create_state(
    config: ml_collections.ConfigDict, rng: jax.Array, crop_size: int | None = None, load_pretrained: bool = True
) -> GanState:
    """Fresh G and D states (random init, or an ImageNet encoder if `config.model.pretrained` is set and
    `load_pretrained`; a state about to be overwritten by a checkpoint passes False)."""
    size = crop_size or config.data.crop_size
    g_model, d_model = build_generator(config.model), build_discriminator(config.model)
    g_rng, d_rng = jax.random.split(rng)
    image = jnp.zeros((1, size, size, 3), jnp.float32)
    trimap = jnp.zeros((1, size, size, 1), jnp.float32)
    # Jitted: an eager init dispatches (and compiles) every op separately, ~10x slower on CPU.
    g_vars = jax.jit(g_model.init)(g_rng, image, trimap)
    d_vars = jax.jit(d_model.init)(d_rng, jnp.zeros((1, size, size, 4), jnp.float32))

    params, stats = g_vars["params"], g_vars["batch_stats"]
    if config.model.pretrained and load_pretrained:
        from alphagan_jax.train.pretrained import load_encoder_variables

        enc = load_encoder_variables(config.model.pretrained)
        _check_pretrained(enc["params"], params["encoder"], config.model.pretrained)
        _check_pretrained(enc["batch_stats"], stats["encoder"], config.model.pretrained)
        params = {**params, "encoder": jax.tree_util.tree_map(jnp.asarray, enc["params"])}
        stats = {**stats, "encoder": jax.tree_util.tree_map(jnp.asarray, enc["batch_stats"])}

    tx = make_optimizer(config.train)
    g = NetState.create(apply_fn=g_model.apply, params=params, tx=tx, batch_stats=stats)
    d = NetState.create(apply_fn=d_model.apply, params=d_vars["params"], tx=tx, batch_stats=d_vars["batch_stats"])

    # TrainState.create counts steps with a Python 0, which jit sees as a weakly typed scalar and the
    # first step returns as a strong int32: the second call would compile again. Start strongly typed.
    # (Three separate zeros: a donated state must not hold one buffer twice.)
    def zero() -> jnp.ndarray:
        return jnp.zeros((), jnp.int32)

    ema = None
    if config.train.ema_decay > 0:
        ema = jax.tree_util.tree_map(jnp.copy, g.variables())  # own buffers: the state is donated
    return GanState(step=zero(), g=g.replace(step=zero()), d=d.replace(step=zero()), ema=ema)
