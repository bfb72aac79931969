"""Training: the step, data parallelism, checkpoints and resume, preemption, and config errors."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import leaves, random_batch, train_cmd

from alphagan_jax.inference.predictor import trimap_to_model
from alphagan_jax.models import build_generator
from alphagan_jax.train import losses
from alphagan_jax.train.checkpoint import RunCheckpoints, restore_generator
from alphagan_jax.train.state import create_state
from alphagan_jax.train.step import make_mesh, make_sharded_step, replicated, shard_batch, train_step
from alphagan_jax.train.trainer import NonFiniteLossError, _flush, train_and_evaluate
from configs import test as test_config

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def config():
    return test_config.get_config()


def test_one_step_changes_params_with_finite_losses(config):
    mesh = make_mesh()
    state = jax.device_put(create_state(config, jax.random.PRNGKey(0)), replicated(mesh))
    before = leaves(state)  # host copies: the step donates the state's buffers
    g_before = leaves(state.g.params)
    step = make_sharded_step(config.train, mesh)
    state, metrics = step(state, shard_batch(random_batch(0), mesh))
    metrics = jax.device_get(metrics)
    for name in ("g_loss", "alpha_loss", "comp_loss", "gan_loss", "d_loss", "d_real", "d_fake"):
        assert np.isfinite(metrics[name]), name
    assert metrics["finite"] == 1.0
    assert int(state.step) == 1
    after = leaves(state)
    changed = [not np.array_equal(a, b) for a, b in zip(before, after, strict=True)]
    assert sum(changed) > len(changed) // 2, "most parameters should move in the first Adam step"
    g_after = leaves(state.g.params)
    assert all(not np.array_equal(a, b) for a, b in zip(g_before, g_after, strict=True))


def test_nonfinite_step_keeps_the_state_and_stops_the_run(config):
    state = create_state(config, jax.random.PRNGKey(0))
    batch = random_batch(0)
    batch["image"][0, 0, 0, 0] = np.nan
    new_state, metrics = jax.jit(lambda s, b: train_step(s, b, config.train))(state, batch)
    assert float(metrics["finite"]) == 0.0
    for a, b in zip(leaves(new_state), leaves(state), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(NonFiniteLossError, match="step 7"):
        _flush([{"finite": 1.0, "g_loss": 1.0}, {"finite": 0.0, "g_loss": float("nan")}], 7, 4, time.perf_counter(), 2)


MULTI_DEVICE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np
    sys.path.insert(0, {root!r})
    sys.path.insert(0, {tests!r})
    from configs import test as test_config
    from alphagan_jax.train.state import create_state
    from alphagan_jax.train.step import make_mesh, make_sharded_step, replicated, shard_batch
    from helpers import random_batch

    assert jax.device_count() == 4, jax.devices()
    config = test_config.get_config()
    results = {{}}
    for name, devices in (("one", jax.devices()[:1]), ("four", jax.devices())):
        mesh = make_mesh(devices)
        state = jax.device_put(create_state(config, jax.random.PRNGKey(0)), replicated(mesh))
        step = make_sharded_step(config.train, mesh)
        losses = []
        for i in range(3):
            state, metrics = step(state, shard_batch(random_batch(i), mesh))
            losses.append({{k: float(v) for k, v in jax.device_get(metrics).items()}})
        params = jax.device_get(state.g.params), jax.device_get(state.d.params)
        results[name] = (losses, [np.asarray(x) for x in jax.tree_util.tree_leaves(params)])
    (l1, p1), (l4, p4) = results["one"], results["four"]
    loss_diff = max(abs(a[k] - b[k]) for a, b in zip(l1, l4) for k in a)
    diffs = np.concatenate([np.abs(a - b).ravel() for a, b in zip(p1, p4)])
    print(json.dumps({{"loss_diff": loss_diff, "param_max_diff": float(diffs.max()),
                      "param_mean_diff": float(diffs.mean()), "param_frac_off": float(np.mean(diffs > {lr} / 10)),
                      "losses": l4}}))
    """
)


@pytest.mark.slow
def test_four_devices_match_one_device(tmp_path):
    """3 steps with the global batch split over 4 CPU devices equal 3 steps on 1 device."""
    script = tmp_path / "multi.py"
    lr = test_config.get_config().train.lr
    script.write_text(MULTI_DEVICE_SCRIPT.format(root=str(REPO_ROOT), tests=str(REPO_ROOT / "tests"), lr=lr))
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # Sharded BatchNorm statistics and gradient sums are reduced in another order: float32 round-off
    # only. (A per-device BatchNorm or a missing gradient all-reduce gives differences of 1e-2 and up.)
    assert result["loss_diff"] < 1e-5, result
    # Adam's first steps move each parameter by about lr * sign(gradient), so a parameter whose gradient
    # is ~0 goes either way on round-off: the maximum is bounded by 3 steps of lr, and only a sliver of
    # parameters may differ by more than lr / 10. (Wrong parallelism moves nearly all of them.)
    assert result["param_max_diff"] <= 3 * lr * 1.01, result
    assert result["param_frac_off"] < 0.005, result
    assert result["param_mean_diff"] < lr / 100, result


def test_save_restore_then_identical_next_step(config, tmp_path):
    mesh = make_mesh()
    step = make_sharded_step(config.train, mesh)
    state = jax.device_put(create_state(config, jax.random.PRNGKey(0)), replicated(mesh))
    state, _ = step(state, shard_batch(random_batch(0), mesh))
    ckpts = RunCheckpoints(tmp_path, keep=2)
    ckpts.save(state, config)
    ckpts.wait()
    template = jax.device_put(create_state(config, jax.random.PRNGKey(99)), replicated(mesh))
    restored = ckpts.restore(template)
    ckpts.close()
    for a, b in zip(leaves(restored), leaves(state), strict=True):
        np.testing.assert_array_equal(a, b)
    batch = shard_batch(random_batch(1), mesh)
    s1, m1 = step(restored, batch)
    s2, m2 = step(state, batch)
    assert jax.device_get(m1) == jax.device_get(m2)
    for a, b in zip(leaves(s1), leaves(s2), strict=True):
        np.testing.assert_array_equal(a, b)


def _final_checkpoint(workdir) -> list[np.ndarray]:
    ckpts = RunCheckpoints(workdir)
    template = create_state(test_config.get_config(), jax.random.PRNGKey(5))
    state = ckpts.restore(template)
    ckpts.close()
    return leaves(state)


@pytest.fixture(scope="module")
def uninterrupted_run(tmp_path_factory):
    """4 steps of configs/test.py on the synthetic pipeline, straight through."""
    workdir = tmp_path_factory.mktemp("straight")
    config = test_config.get_config()
    config.train.num_steps = 4
    train_and_evaluate(config, workdir)
    return workdir


def test_resume_equals_uninterrupted_run(uninterrupted_run, trained_workdir, tmp_path):
    # conftest's `trained_workdir` is this config trained for 2 steps: resume a copy of it to 4.
    run = tmp_path / "run"
    shutil.copytree(trained_workdir, run)
    config = test_config.get_config()
    config.train.num_steps = 4
    # ImageNet weights are for a run's start: a resume must neither read nor need them.
    config.model.pretrained = str(tmp_path / "weights-not-on-this-machine.pth")
    train_and_evaluate(config, run)
    for a, b in zip(_final_checkpoint(run), _final_checkpoint(uninterrupted_run), strict=True):
        np.testing.assert_array_equal(a, b)
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    straight = [json.loads(x) for x in (uninterrupted_run / "metrics.jsonl").read_text().splitlines()]
    losses_resumed = [x["g_loss"] for x in lines if "g_loss" in x]
    assert losses_resumed == [x["g_loss"] for x in straight if "g_loss" in x]
    # The generator-only view that evaluate.py restores is the same state.
    _, variables, step = restore_generator(run)
    assert step == 4
    assert set(variables) == {"params", "batch_stats"}
    # The best-by-SAD copy exists and is one of the validated steps.
    _, _, best_step = restore_generator(run, best=True)
    assert best_step in (2, 4)
    # Logs: TensorBoard events, the validation scalars, and the prediction grids as PNGs too.
    assert list((uninterrupted_run / "tensorboard").glob("events.out.tfevents.*"))
    assert any("val/sad" in x for x in straight)
    grids = sorted(p.name for p in (uninterrupted_run / "images").glob("*.png"))
    assert grids == ["predictions_0000002.png", "predictions_0000004.png"]


def _wait_for(predicate, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"train.py exited early:\n{proc.stderr.read()[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("timed out waiting for train.py")
        time.sleep(0.2)


@pytest.mark.slow
def test_sigterm_saves_a_restorable_checkpoint(tmp_path):
    proc = subprocess.Popen(
        train_cmd(
            tmp_path,
            "--config.train.num_steps=100000",
            "--config.train.ckpt_every=100000",
            "--config.train.val_every=0",
            "--config.train.image_every=0",
        ),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    metrics = tmp_path / "metrics.jsonl"
    _wait_for(lambda: metrics.exists() and len(metrics.read_text().splitlines()) >= 2, 300, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    assert "stopping on signal 15" in out + err
    config, variables, step = restore_generator(tmp_path)
    assert step >= 2
    assert config.model.width == test_config.get_config().model.width
    assert all(np.all(np.isfinite(x)) for x in leaves(variables))


@pytest.mark.slow
def test_kill_9_during_saves_never_leaves_a_bad_checkpoint(uninterrupted_run, tmp_path):
    """Kill the run while it checkpoints every step; whatever is listed must restore, and resuming from it
    must still end exactly where the uninterrupted run ended."""
    proc = subprocess.Popen(
        train_cmd(
            tmp_path,
            "--config.train.num_steps=4",
            "--config.train.ckpt_every=1",
            "--config.train.val_every=0",
            "--config.train.image_every=0",
        ),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ckpt_dir = tmp_path / "checkpoints"
    _wait_for(lambda: ckpt_dir.is_dir() and any(p.name.isdigit() for p in ckpt_dir.iterdir()), 300, proc)
    proc.kill()  # SIGKILL, most likely in the middle of the next save
    proc.communicate(timeout=60)
    _, _, step = restore_generator(tmp_path)
    assert 1 <= step <= 4
    config = test_config.get_config()
    config.train.num_steps = 4
    train_and_evaluate(config, tmp_path)
    for a, b in zip(_final_checkpoint(tmp_path), _final_checkpoint(uninterrupted_run), strict=True):
        np.testing.assert_array_equal(a, b)


def test_generator_alone_overfits_four_crops():
    """No GAN: G with the alpha loss on 4 fixed crops must cut that loss by 5x or more."""
    from alphagan_jax.data import eval_samples

    config = test_config.get_config()
    samples = list(eval_samples("synthetic", "", num=4, size=64, seed=3))
    image = np.stack([s["image"] for s in samples]).astype(np.float32) / 255
    alpha = np.stack([s["alpha"] for s in samples])[..., None].astype(np.float32) / 255
    tri = np.stack([s["trimap"] for s in samples])[..., None]
    trimap = trimap_to_model(tri)
    assert (trimap == 0.5).mean() > 0.05, "the crops should have an unknown region to learn"

    g = build_generator(config.model)
    variables = jax.jit(g.init)(jax.random.PRNGKey(0), image, trimap)
    tx = optax.adam(3e-3)
    opt = tx.init(variables["params"])

    @jax.jit
    def step(params, stats, opt):
        def loss_fn(p):
            pred, upd = g.apply({"params": p, "batch_stats": stats}, image, trimap, train=True, mutable=["batch_stats"])
            return losses.alpha_loss(pred, alpha, trimap), upd["batch_stats"]

        (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt = tx.update(grads, opt, params)
        return optax.apply_updates(params, updates), stats, opt, loss

    params, stats = variables["params"], variables["batch_stats"]
    history = []
    for _ in range(150):
        params, stats, opt, loss = step(params, stats, opt)
        history.append(float(loss))
    first, last = history[0], float(np.mean(history[-5:]))
    assert last < first / 5, (first, last)
    assert jnp.isfinite(last)


@pytest.mark.slow
def test_unknown_config_key_is_an_error(tmp_path):
    out = subprocess.run(
        train_cmd(tmp_path, "--config.trian.lr=0.1"), cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode != 0
    assert "trian" in out.stderr and 'Did you mean "train"' in out.stderr
    assert not (tmp_path / "checkpoints").exists()


def test_missing_data_path_names_the_path_and_key(tmp_path):
    config = test_config.get_config()
    config.data.source = "folder"
    config.data.path = str(tmp_path / "no-such-dataset")
    with pytest.raises((FileNotFoundError, ValueError)) as info:
        train_and_evaluate(config, tmp_path / "run")
    assert "no-such-dataset" in str(info.value)
    assert "data.path" in str(info.value)


def test_logged_step_time_includes_the_computation():
    """Steps are dispatched asynchronously: the logged time must wait for them, not just time dispatch."""

    @jax.jit
    def slow(x):
        for _ in range(8):
            x = jnp.tanh(x @ x)
        return {"finite": jnp.float32(1.0), "g_loss": x.mean()}

    x = jnp.ones((1200, 1200), jnp.float32) / 1200
    jax.block_until_ready(slow(x))  # compile
    start = time.perf_counter()
    jax.block_until_ready(slow(x))
    compute = time.perf_counter() - start

    since = time.perf_counter()
    pending = [slow(x)]
    values = _flush(pending, 1, 4, since, 1)
    assert values["step_time"] >= 0.5 * compute, (values["step_time"], compute)
    assert values["images_per_sec"] == pytest.approx(4 / values["step_time"])


@pytest.mark.parametrize(
    "key, value",
    [
        ("trimap_kernel_range", (0, 5)),
        ("scale_range", (0.0, 1.0)),
        ("crop_choices", ()),
        ("crop_size", 100),
        ("color_jitter", (0.6, 0.0, 0.0)),
        ("color_jitter", (0.1, 0.2)),
        ("pipeline", "torch"),
    ],
)
def test_bad_data_values_name_the_key(tmp_path, key, value):
    config = test_config.get_config()
    config.data[key] = value
    with pytest.raises(ValueError, match=f"data.{key}"):
        train_and_evaluate(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_resumed_logs_drop_rows_past_the_checkpoint(tmp_path):
    """A run that died at step 6 after a checkpoint at 4 resumes from 4: rows 5 and 6 must not repeat."""
    from alphagan_jax.train.run_log import RunWriter

    writer = RunWriter(tmp_path)
    for step in range(1, 7):
        writer.scalars(step, {"g_loss": float(step)})
    writer.close()
    writer = RunWriter(tmp_path, start_step=4)
    writer.scalars(5, {"g_loss": 50.0})
    writer.close()
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["g_loss"]) for r in rows] == [(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0), (5, 50.0)]
