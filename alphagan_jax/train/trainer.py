"""The training loop: data, jitted steps, logging, validation, checkpoints, resume and preemption.

All side effects of a run live here; the step itself (train_step.py) is pure, and what the loop decides
with its signals and its other processes (stopping, the lease, validation figures) is in run_control.py.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import jax
import ml_collections
import numpy as np
from tqdm import tqdm

from alphagan_jax.data.recipe import check_data_config
from alphagan_jax.data.sources.folder import check_held_out
from alphagan_jax.distributed.collectives import barrier
from alphagan_jax.distributed.run_control import (
    HostFailureError,
    StopFlag,
    all_hosts_stopping,
    check_lease,
    host_failure_message,
    metrics_from_process_0,
)
from alphagan_jax.distributed.workdir_lease import WorkdirLease, hold
from alphagan_jax.models import build_generator
from alphagan_jax.train.checkpoint import RunCheckpoints
from alphagan_jax.train.run_log import RunWriter, prediction_grid
from alphagan_jax.train.state import GanState, create_state, learning_rate
from alphagan_jax.train.step import make_mesh, make_sharded_step, replicated, shard_batch


def _say(message: str) -> None:
    if jax.process_index() == 0:
        tqdm.write(message)


class NonFiniteLossError(RuntimeError):
    """A step produced a NaN or inf; the run stops without saving that state."""


def check_config(config: ml_collections.ConfigDict) -> None:
    """Errors that would otherwise surface deep inside XLA or tf.data, named by their config key."""
    n_dev, n_proc = jax.device_count(), jax.process_count()
    t = config.train
    if t.batch_size % n_dev:
        raise ValueError(f"train.batch_size={t.batch_size} must be divisible by the {n_dev} devices")
    if t.batch_size % n_proc:
        raise ValueError(f"train.batch_size={t.batch_size} must be divisible by the {n_proc} processes")
    for key in ("w_alpha", "w_comp", "w_gan", "w_lap"):
        if not t[key] >= 0:
            raise ValueError(f"train.{key}={t[key]} must be >= 0 (a loss weight)")
    for key in ("log_every", "ckpt_every"):
        if t[key] <= 0:
            raise ValueError(f"train.{key} must be positive, got {t[key]}")
    check_data_config(config.data)


def _train_iterator(config: ml_collections.ConfigDict, start_step: int):
    try:
        from alphagan_jax.data import make_train_iterator
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError(f"training input needs TensorFlow: pip install -e '.[data]' ({e})") from e
    return make_train_iterator(
        config.data, global_batch_size=config.train.batch_size, seed=config.seed, start_step=start_step
    )


class _Validator:
    """SAD/MSE on a small held-out set, through evaluate.py's own code path."""

    def __init__(self, config: ml_collections.ConfigDict):
        from alphagan_jax.data import eval_samples
        from alphagan_jax.inference.predictor import Predictor, generator_predict_fn

        d = config.data
        self.samples = list(
            eval_samples(
                d.val_source, d.val_path, num=d.val_num, size=d.val_size, seed=config.seed + 1, names=d.val_names
            )
        )
        self.predictor = Predictor(generator_predict_fn(build_generator(config.model)), None, bucket=64)

    def __call__(self, state: GanState) -> dict[str, float]:
        from alphagan_jax.evaluation.loop import evaluate_arrays

        # Host copies: the predictor compiles for single-device inputs whatever the training mesh is.
        self.predictor.variables = jax.device_get(state.eval_variables())
        result = evaluate_arrays(self.predictor, self.samples, names=("sad", "mse"))
        return {"val/sad": result["sad"], "val/mse": result["mse"]}


def train_and_evaluate(
    config: ml_collections.ConfigDict, workdir: str | Path, lease: WorkdirLease | None = None
) -> GanState:
    """Train (or resume training) in `workdir` until `config.train.num_steps`. Returns the final state.

    `lease`: the workdir's lease, already held (train.py takes it first thing); without one, this takes it
    (workdir_lease.hold: WorkdirBusyError if another run holds the workdir) and releases it at the end.
    """
    check_config(config)
    own = None
    if lease is None:
        own = lease = hold(str(workdir), jax.process_index(), jax.process_count())
    try:
        # Signals count from here, not from the first step: a preemption notice that lands while the step
        # compiles (minutes for the full model) is honoured at the first step. (With jax.distributed, JAX's
        # own SIGTERM handler would otherwise swallow it.)
        with StopFlag() as stop:
            return _train(config, Path(workdir), stop, lease)
    finally:
        if own is not None:
            own.release()


def _prepare_steps(
    config: ml_collections.ConfigDict, mesh: jax.sharding.Mesh, state: GanState, start: int, step_fn: Any = None
) -> tuple[Any, Any]:
    """(the batch stream from `start`, the compiled step); the step is compiled unless given."""
    data = _train_iterator(config, start)
    first = next(data)
    if step_fn is None:
        jitted = cast(jax.stages.Wrapped, make_sharded_step(config.train, mesh))  # a jax.jit: it has .lower
        step_fn = jitted.lower(state, shard_batch(first, mesh)).compile()
    return itertools.chain([first], data), step_fn


def _train(config: ml_collections.ConfigDict, workdir: Path, stop: StopFlag, lease: WorkdirLease | None) -> GanState:
    t = config.train
    # Held-out data first: a typo in data.val_* should fail before anything is built or written.
    validator = _Validator(config) if t.val_every > 0 else None
    if validator is not None:
        check_held_out(config.data, [s["name"] for s in validator.samples])
    mesh = make_mesh()
    ckpts = RunCheckpoints(workdir, keep=t.keep)
    try:
        start = ckpts.latest_step() or 0
        if start:
            # A resumed run takes every value from its checkpoint: it needs only the shapes to restore into.
            # Initialising would cost time (and a compile on every host), and reading model.pretrained again
            # would fail a resume on a machine without that file.
            state = _abstract_state(config, mesh)
        else:
            state = jax.device_put(create_state(config, jax.random.PRNGKey(config.seed)), replicated(mesh))
        data: Iterator[Any] | None = None
        step_fn: Any = None
        if start < t.num_steps:
            # Compiled now rather than in the first step, so that the barrier below covers the compile too.
            data, step_fn = _prepare_steps(config, mesh, state, start)
        # Hosts leave here together, whatever each spent compiling: the restore (Orbax syncs) and the first
        # step are collectives, and on CPUs (gloo) a collective gives up after waiting 30 s (launch.barrier).
        barrier("alphagan:ready")
        if start:
            state, restored = ckpts.restore_newest(state)
            if restored != start:  # the latest step was unreadable and is set aside: the stream starts earlier
                start = restored
                if start < t.num_steps:
                    data, step_fn = _prepare_steps(config, mesh, state, start, step_fn)
                barrier("alphagan:ready-again")
            _say(f"resumed from {workdir / 'checkpoints'} at step {start}")
        if start >= t.num_steps:
            _say(f"nothing to do: {workdir} is at step {start} >= train.num_steps={t.num_steps}")
            _say(ckpts.summary())
            ckpts.close()
            return state
    except BaseException:
        ckpts.close()
        raise

    assert data is not None  # start < t.num_steps here, so _prepare_steps made it
    lr = learning_rate(t)
    apply_g = state.g.apply_fn
    # Clamped like evaluation's predictions, so the grids show what evaluate.py would write.
    predict_batch = jax.jit(lambda v, image, trimap: apply_g(v, image, trimap, clamp=True))
    writer = RunWriter(workdir, start_step=start)
    if jax.process_index() == 0:
        (workdir / "config.json").write_text(config.to_json_best_effort(indent=2))

    pending: list[dict] = []
    last_time, last_step = time.perf_counter(), start
    bar = tqdm(total=t.num_steps, initial=start, disable=jax.process_index() != 0, desc="train", unit="step")
    step = start
    peer_lost = finished = False
    try:
        while step < t.num_steps:
            batch = next(data)
            state, metrics = step_fn(state, shard_batch(batch, mesh))
            pending.append(metrics)
            step += 1
            bar.update(1)
            # Read the flag once: a signal landing later in this iteration is handled at the next step,
            # so "stopping" always comes with its save.
            stopping = all_hosts_stopping(stop.signal is not None, step, t.log_every)
            last_step_of_run = step == t.num_steps or stopping
            saving = step % t.ckpt_every == 0 or last_step_of_run
            if step % t.log_every == 0 or saving:
                # Fetching the metrics is the only host sync; it also vets the state before any save.
                values = _flush(pending, step, t.batch_size, last_time, step - last_step)
                values["lr"] = float(lr(step)) if callable(lr) else lr
                writer.scalars(step, values)
                bar.set_postfix({k: f"{values[k]:.3f}" for k in ("alpha_loss", "comp_loss", "d_loss")})
                pending, last_step = [], step
            if t.image_every > 0 and step % t.image_every == 0:
                # Each host predicts its own part of the batch with its own copy of G (a program on one
                # local device, joined by no other host); only process 0's writer writes the grid.
                alpha = np.asarray(predict_batch(_local(state.eval_variables()), batch["image"], batch["trimap"]))
                writer.image(step, "predictions", prediction_grid(batch, alpha))
            if validator is not None and (step % t.val_every == 0 or last_step_of_run):
                val = metrics_from_process_0(validator(state))
                writer.scalars(step, {k: v for k, v in val.items() if v is not None})
                _say(f"step {step}: validation SAD {_rounded(val['val/sad'])} MSE {_rounded(val['val/mse'])}")
                if val["val/sad"] is not None:
                    check_lease(lease, workdir)
                    ckpts.save_if_best(state, config, val["val/sad"])
            if saving:
                check_lease(lease, workdir)
                ckpts.save(state, config)
            if step == last_step:
                # Restart the clock after the images, validation and saves, which are not step time.
                last_time = time.perf_counter()
            if stopping:
                why = f"signal {stop.signal}" if stop.signal is not None else "a signal on another host"
                _say(f"stopping on {why}: saved step {step} in {workdir}, exiting")
                break
        finished = True
    except jax.errors.JaxRuntimeError as e:
        if jax.process_count() == 1:
            raise
        peer_lost = True
        raise HostFailureError(host_failure_message(e, workdir)) from e
    finally:
        bar.close()
        try:
            if not peer_lost:
                # Finish the good saves already started, also when stopping on an error. Not after a failed
                # collective: a save in flight would wait for a process that is gone.
                _finish_saves(ckpts)
        except BaseException:
            with contextlib.suppress(OSError):  # a full disk fails the log's flush too: keep the save's error
                writer.close()
            raise
        if finished:
            writer.close()
        else:
            with contextlib.suppress(OSError):
                writer.close()
    _say(f"done at step {step}: {ckpts.summary()}")
    return state


def _finish_saves(ckpts: RunCheckpoints) -> None:
    """Wait for the saves in flight and close the managers; a failed save raises CheckpointWriteError."""
    try:
        ckpts.wait()
    except BaseException:
        with contextlib.suppress(Exception):  # close() waits again and would raise the same failure
            ckpts.close()
        raise
    ckpts.close()


def _rounded(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"


def _abstract_state(config: ml_collections.ConfigDict, mesh: jax.sharding.Mesh) -> GanState:
    """The training state's shapes and dtypes, replicated over `mesh`; nothing is computed."""
    shapes = jax.eval_shape(lambda: create_state(config, jax.random.PRNGKey(config.seed), load_pretrained=False))
    sharding = replicated(mesh)
    return jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), shapes)


def _local(tree: Any) -> Any:
    """This process's own copy of replicated arrays (on its first device)."""
    return jax.tree_util.tree_map(lambda x: x.addressable_data(0), tree)


def _flush(pending: list[dict], step: int, batch_size: int, since: float, steps: int) -> dict[str, float]:
    """Mean of the pending step metrics; raises NonFiniteLossError if any step was not finite.

    `since` is the perf_counter() of the previous flush; the clock is read after the fetch, which waits
    for the dispatched steps to finish (before it, only the asynchronous dispatch would be timed).
    """
    fetched = jax.device_get(pending)
    seconds = time.perf_counter() - since
    finite = np.array([m["finite"] for m in fetched])
    if not finite.all():
        first = step - len(fetched) + int(np.argmin(finite)) + 1
        bad = {k: float(v) for k, v in fetched[int(np.argmin(finite))].items() if k != "finite"}
        raise NonFiniteLossError(
            f"non-finite loss or gradient at step {first} ({bad}); the run stopped without saving it. "
            "The last good checkpoint is kept: lower train.lr or check the data, then rerun to resume."
        )
    values = {k: float(np.mean([m[k] for m in fetched])) for k in fetched[0] if k != "finite"}
    values["step_time"] = seconds / max(steps, 1)
    values["images_per_sec"] = batch_size * steps / max(seconds, 1e-9)
    return values
