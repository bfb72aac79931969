"""train.ema_decay: the moving average of G's weights, in the step, in checkpoints and in what evaluation reads."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import leaves, random_batch

from alphagan_jax.train.checkpoint import RunCheckpoints, restore_generator
from alphagan_jax.train.state import create_state, ema_decay_at, update_ema
from alphagan_jax.train.step import train_step
from alphagan_jax.train.trainer import train_and_evaluate
from configs import test as test_config


def _config(decay: float):
    config = test_config.get_config()
    config.train.ema_decay = decay
    return config


def test_decay_warm_up_and_update_by_hand():
    # min(decay, (1 + step) / (10 + step)): 0.1 at the first step, 0.91 at step 90, then the cap.
    assert float(ema_decay_at(0.999, 0)) == pytest.approx(0.1)
    assert float(ema_decay_at(0.999, 90)) == pytest.approx(0.91)
    assert float(ema_decay_at(0.999, 10**6)) == pytest.approx(0.999)
    ema = {"w": jnp.array([1.0, 2.0]), "s": {"m": jnp.array(4.0)}}
    new = {"w": jnp.array([3.0, -2.0]), "s": {"m": jnp.array(0.0)}}
    out = update_ema(ema, new, jnp.float32(0.75))
    np.testing.assert_allclose(out["w"], [1.5, 1.0])  # 0.75 * 1 + 0.25 * 3, 0.75 * 2 + 0.25 * -2
    np.testing.assert_allclose(out["s"]["m"], 3.0)


def test_step_keeps_the_average_and_trains_as_without_it():
    """Two steps: the average follows its recurrence over G's variables after each step, BatchNorm statistics
    included, and G and D themselves are bit-identical to a run without an average."""
    batches = [random_batch(0), random_batch(1)]

    def run(decay: float):
        t = _config(decay).train
        state = create_state(_config(decay), jax.random.PRNGKey(0))
        step = jax.jit(lambda s, b: train_step(s, b, t))
        history = [state]
        for b in batches:
            state, _ = step(state, b)
            history.append(state)
        return history

    with_avg, without = run(0.9), run(0.0)
    assert without[-1].ema is None
    for a, b in zip(leaves((with_avg[-1].g, with_avg[-1].d)), leaves((without[-1].g, without[-1].d)), strict=True):
        np.testing.assert_array_equal(a, b)

    expected = leaves(with_avg[0].g.variables())  # the average starts at G's initial variables
    for k in (0, 1):
        d = min(0.9, (1 + k) / (10 + k))
        current = leaves(with_avg[k + 1].g.variables())
        expected = [d * e + (1 - d) * v for e, v in zip(expected, current, strict=True)]
        for got, want in zip(leaves(with_avg[k + 1].ema), expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    # After two steps the average is not G (else evaluation would read the same thing either way).
    assert any(
        not np.allclose(a, b)
        for a, b in zip(leaves(with_avg[-1].ema["params"]), leaves(with_avg[-1].g.params), strict=True)
    )


def test_checkpoint_holds_the_average_and_a_resume_continues_it(tmp_path):
    """The trainer saves the average; evaluation reads it (or the raw weights on request); a run resumed at
    step 2 ends with the same average as one that ran 4 steps straight."""
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    config = _config(0.9)
    config.train.num_steps = 4
    train_and_evaluate(config, straight)
    config.train.num_steps = 2
    train_and_evaluate(config, resumed)
    config.train.num_steps = 4
    train_and_evaluate(config, resumed)

    ckpts = RunCheckpoints(straight)
    state = ckpts.restore(create_state(_config(0.9), jax.random.PRNGKey(7)))
    ckpts.close()
    _, averaged, step = restore_generator(straight)
    _, raw, _ = restore_generator(straight, average=False)
    assert step == 4
    for a, b in zip(leaves(averaged), leaves(state.ema), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(leaves(raw), leaves(state.g.variables()), strict=True):
        np.testing.assert_array_equal(a, b)
    _, again, _ = restore_generator(resumed)
    for a, b in zip(leaves(again), leaves(averaged), strict=True):
        np.testing.assert_array_equal(a, b)


def test_turning_the_average_on_at_a_resume_starts_it_from_g(tmp_path):
    config = _config(0.0)
    state, _ = jax.jit(lambda s, b: train_step(s, b, config.train))(
        create_state(config, jax.random.PRNGKey(0)), random_batch(0)
    )
    ckpts = RunCheckpoints(tmp_path)
    ckpts.save(state, config)
    ckpts.wait()
    restored = ckpts.restore(create_state(_config(0.9), jax.random.PRNGKey(3)))
    ckpts.close()
    for a, b in zip(leaves(restored.ema), leaves(state.g.variables()), strict=True):
        np.testing.assert_array_equal(a, b)
    _, variables, _ = restore_generator(tmp_path)  # no average saved: the raw weights
    for a, b in zip(leaves(variables), leaves(state.g.variables()), strict=True):
        np.testing.assert_array_equal(a, b)
