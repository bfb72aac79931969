"""Orbax checkpoints of a training run.

Layout of a workdir:
  checkpoints/<step>/  the latest `train.keep` steps (asynchronous saves)
  best/<step>/         the step with the lowest validation SAD
Each step holds four items: `g_vars` (the generator's params and BatchNorm statistics), `g_opt` (its
optimiser state), `d` (the discriminator's params, statistics and optimiser state) and `meta` (the step
and the run's config, as JSON); a run with train.ema_decay > 0 adds a fifth, `g_ema` (the moving average
of `g_vars`), which evaluation and prediction then read instead of `g_vars`.

Orbax writes each step into a temporary folder and renames it when complete, so a process killed
mid-save (kill -9 included) leaves no step that restores wrongly: the partial one is not listed, and the next
run removes it. A listed step that still cannot be read (truncated files) is set aside on resume
(checkpoint_recovery.py); a save that fails (a full disk) raises CheckpointWriteError naming the step.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import jax
import jax.numpy as jnp
import ml_collections
import orbax.checkpoint as ocp

from alphagan_jax.distributed.collectives import barrier
from alphagan_jax.train.recovery import (
    CheckpointWriteError,
    UnreadableCheckpointError,
    one_line,
    restore_newest,
    set_aside,
    unfinished_saves,
)
from alphagan_jax.train.state import GanState

_log = logging.getLogger(__name__)

LATEST, BEST = "checkpoints", "best"
EMA = "g_ema"


def _manager(directory: Path, options: ocp.CheckpointManagerOptions) -> ocp.CheckpointManager:
    # Handlers named up front (not only item names): item_metadata() can then describe a step's arrays
    # before they are restored, which restore_generator needs to place them on this machine's devices.
    handlers = {name: ocp.StandardCheckpointHandler() for name in ("g_vars", "g_opt", "d", EMA)}
    return ocp.CheckpointManager(
        directory.absolute(), options=options, item_handlers={**handlers, "meta": ocp.JsonCheckpointHandler()}
    )


class RunCheckpoints:
    """The latest-K and best-by-SAD checkpoint managers of one workdir."""

    def __init__(self, workdir: str | Path, keep: int = 3):
        workdir = Path(workdir)
        if jax.process_index() == 0:
            # A save cut short (a full disk, a crash) leaves its temporary folder, which holds the very space
            # the next save needs. Removed here, synchronously: Orbax's cleanup_tmp_directories runs in a
            # background future that can still be pending when the run's first save wants the space (seen in
            # CI). Safe only because one run at a time owns the workdir (workdir_lease).
            for tmp in unfinished_saves(workdir / LATEST) + unfinished_saves(workdir / BEST):
                _log.info("removing %s, left by a save that never completed", tmp)
                shutil.rmtree(tmp, ignore_errors=True)
                if tmp.exists():
                    _log.warning("could not remove %s; remove it by hand to free its space", tmp)
        self.latest = _manager(
            workdir / LATEST,
            ocp.CheckpointManagerOptions(max_to_keep=keep, create=True, enable_async_checkpointing=True),
        )
        self.best = _manager(
            workdir / BEST,
            ocp.CheckpointManagerOptions(
                max_to_keep=1,
                best_fn=lambda m: m["sad"],
                best_mode="min",
                create=True,
                enable_async_checkpointing=True,
            ),
        )
        self._writing: dict[str, Path] = {}  # saves in flight: manager folder -> the step folder, for error messages
        self.best_sad = _recorded_best_sad(self.best)

    @staticmethod
    def _args(
        state: GanState, config: ml_collections.ConfigDict, step: int, val_sad: float | None = None
    ) -> ocp.args.Composite:
        meta = {"step": step, "config": json.loads(config.to_json())}
        # The save goes on in the background while training continues, and the train step donates the
        # state's buffers. On the CPU backend the "host copy" Orbax writes from can alias those very
        # buffers, so the next step could overwrite a checkpoint in flight. Save private copies.
        state = jax.tree_util.tree_map(jnp.copy, state)
        if val_sad is not None:
            meta["val_sad"] = float(val_sad)
        items = dict(
            g_vars=ocp.args.StandardSave(state.g.variables()),
            g_opt=ocp.args.StandardSave(state.g.opt_state),
            d=ocp.args.StandardSave(_d_item(state.d)),
            meta=ocp.args.JsonSave(meta),
        )
        if state.ema is not None:
            items[EMA] = ocp.args.StandardSave(state.ema)
        return ocp.args.Composite(**items)

    def save(self, state: GanState, config: ml_collections.ConfigDict) -> bool:
        """Start an asynchronous save of `state` at its step (no-op if that step is already saved)."""
        step = int(jax.device_get(state.step))
        if step in self.latest.all_steps():
            return False
        _one_manager_saving(self.best)
        with self._saving(step, self.latest):
            return self.latest.save(step, args=self._args(state, config, step))

    def save_if_best(self, state: GanState, config: ml_collections.ConfigDict, sad: float) -> bool:
        """Keep `state` as the best checkpoint if its validation SAD beats every earlier one."""
        if self.best_sad is not None and not sad < self.best_sad:
            return False
        step = int(jax.device_get(state.step))
        _one_manager_saving(self.latest)
        with self._saving(step, self.best):
            self.best.save(step, args=self._args(state, config, step, sad), metrics={"sad": float(sad)}, force=True)
        self.best_sad = float(sad)
        return True

    def latest_step(self) -> int | None:
        return self.latest.latest_step()

    def restore_newest(self, template: GanState) -> tuple[GanState, int]:
        """(state, step) from the newest latest-K step that restores; newer unreadable ones are set aside.
        Raises UnreadableCheckpointError, having moved nothing, when none restores."""
        return restore_newest(self.latest, lambda step: self.restore(template, step))

    @contextlib.contextmanager
    def _saving(self, step: int, manager: ocp.CheckpointManager) -> Iterator[None]:
        # Orbax raises a background save's failure only at that manager's next save or wait, and keeps one
        # save in flight per manager: the failed one is this step or the one recorded before it.
        self._writing[str(manager.directory)] = Path(manager.directory) / str(step)
        try:
            yield
        except Exception as e:
            raise self._write_error(e) from e

    def _write_error(self, error: Exception) -> CheckpointWriteError:
        """One CheckpointWriteError naming the steps in flight, the cause, and the newest complete step."""
        if isinstance(error, CheckpointWriteError):
            return error
        writing = " or ".join(str(p) for p in self._writing.values()) or str(self.latest.directory)
        kept = self._complete_steps()
        return CheckpointWriteError(
            f"could not write checkpoint {writing}: {one_line(error)}. "
            + (f"The last complete checkpoint, {kept}, is kept" if kept else "No checkpoint was completed")
            + "; free space or fix the folder, then rerun to resume"
        )

    def _complete_steps(self) -> str:
        # From the folder, not Orbax's list: Orbax lists a step as soon as its save starts.
        try:
            steps = [int(p.name) for p in Path(self.latest.directory).iterdir() if p.name.isdigit()]
        except OSError:
            return ""
        return str(Path(self.latest.directory) / str(max(steps))) if steps else ""

    def summary(self) -> str:
        """Where the latest and best checkpoints are, and how to predict with them (one line)."""
        latest, best = self.latest.latest_step(), self.best.latest_step()
        if latest is None:
            return f"no checkpoint in {self.latest.directory}"
        line = f"latest checkpoint {Path(self.latest.directory) / str(latest)}"
        workdir = Path(self.latest.directory).parent
        if best is not None:
            sad = f" (validation SAD {self.best_sad:.4g})" if self.best_sad is not None else ""
            line += f", best {Path(self.best.directory) / str(best)}{sad}"
        flag = " --best" if best is not None else ""
        return (
            f"{line}; predict with: alphagan-predict --workdir {workdir}{flag} "
            "--image photo.jpg --trimap trimap.png --out out/"
        )

    def restore(self, template: GanState, step: int | None = None) -> GanState:
        """The full training state at `step` (default: latest), placed like `template`: a state, or its
        jax.ShapeDtypeStructs with shardings (any device layout: the checkpoint's own does not matter)."""
        step = self.latest.latest_step() if step is None else step
        abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, template)
        items = dict(
            g_vars=ocp.args.StandardRestore(abstract.g.variables()),
            g_opt=ocp.args.StandardRestore(abstract.g.opt_state),
            d=ocp.args.StandardRestore(_d_item(abstract.d)),
        )
        # A run that turns the average on while resuming from a checkpoint without one starts it from G.
        # (Orbax lists a step's saved items only; a storage path check would miss gs:// workdirs.)
        ema_saved = template.ema is not None and EMA in self.latest.item_metadata(step)
        if ema_saved:
            items[EMA] = ocp.args.StandardRestore(abstract.ema)
        try:
            out = self.latest.restore(step, args=ocp.args.Composite(**items))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(
                f"checkpoint {self.latest.directory}/{step} does not match this config's model "
                f"(was it written with other model.* settings?): {e}"
            ) from e
        done = template.step.dtype.type(step)
        step_arr = jax.device_put(done, template.step.sharding)
        # Flax types TrainState.step as int | Array; a template built by init_state holds arrays.
        g_step, d_step = cast(jax.Array, template.g.step), cast(jax.Array, template.d.step)
        g = template.g.replace(
            step=jax.device_put(done, g_step.sharding),
            params=out.g_vars["params"],
            batch_stats=out.g_vars["batch_stats"],
            opt_state=out.g_opt,
        )
        d = template.d.replace(
            step=jax.device_put(done, d_step.sharding),
            params=out.d["params"],
            batch_stats=out.d["batch_stats"],
            opt_state=out.d["opt_state"],
        )
        ema = None
        if template.ema is not None:
            ema = out[EMA] if ema_saved else jax.tree_util.tree_map(jnp.copy, g.variables())
        return GanState(step=step_arr, g=g, d=d, ema=ema)

    def wait(self) -> None:
        """Block until the saves in flight are complete; CheckpointWriteError if one failed."""
        try:
            self.latest.wait_until_finished()
            self.best.wait_until_finished()
        except Exception as e:
            raise self._write_error(e) from e
        self._writing.clear()

    def close(self) -> None:
        self.latest.close()
        self.best.close()


def _one_manager_saving(other: ocp.CheckpointManager) -> None:
    """Let `other`'s save in flight finish before another manager starts one, on multi-host runs.

    Each asynchronous save meets the other hosts at Orbax barriers whose names do not tell the two managers
    apart, so a best and a latest save of the same step running together made the coordination service
    refuse the second ("Barrier ThreadSaveMultiHostValueHolder:set_value_start is already ongoing") and
    stopped the run (seen in tests/distributed/test_multihost.py). One process has no barriers and keeps both in flight.
    """
    if jax.process_count() > 1:
        other.wait_until_finished()


def _d_item(d: Any) -> dict[str, Any]:
    """The `d` item of a checkpoint: the discriminator's params, statistics and optimiser state."""
    return {"params": d.params, "batch_stats": d.batch_stats, "opt_state": d.opt_state}


def _recorded_best_sad(manager: ocp.CheckpointManager) -> float | None:
    """The validation SAD stored with the best checkpoint (so a resumed run keeps beating it).

    An unreadable best step is set aside (left in place, Orbax could keep it over every new best by its
    stored metrics), and the run then keeps the next validated step as its best.
    """
    if manager.latest_step() is None:
        return None

    def meta(step: int) -> dict:
        return manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta

    try:
        found, _ = restore_newest(manager, meta, name="best checkpoint")
    except UnreadableCheckpointError as e:
        if jax.process_index() == 0:
            for step in manager.all_steps():
                dest = set_aside(Path(manager.directory) / str(step))
                _log.warning("best checkpoint %s/%d cannot be read: moved it to %s", manager.directory, step, dest)
        _log.debug("%s", e)
        barrier("alphagan:best-set-aside")
        manager.reload()
        return None
    return found.get("val_sad")


def restore_generator(
    workdir: str | Path, step: int | None = None, best: bool = False, average: bool = True
) -> tuple[ml_collections.ConfigDict, dict[str, Any], int]:
    """(config, generator variables, step) from a training workdir: params and BatchNorm statistics only,
    no optimiser state and no TensorFlow. `best` picks the best-by-validation-SAD checkpoint. A checkpoint
    with a moving average of the weights (train.ema_decay) gives the average unless `average` is False.

    Raises FileNotFoundError naming the folder when it holds no checkpoint (or not `step`).
    """
    directory = Path(workdir) / (BEST if best else LATEST)
    if not directory.is_dir():
        raise FileNotFoundError(f"no checkpoints in {Path(workdir)}: {directory} does not exist")
    options = ocp.CheckpointManagerOptions(read_only=True)
    with _manager(directory, options) as manager:
        steps = manager.all_steps()
        if not steps:
            raise FileNotFoundError(f"no checkpoints in {directory}")
        if step is None:
            step = max(steps)
        elif step not in steps:
            raise FileNotFoundError(f"no checkpoint for step {step} in {directory}; it has steps {sorted(steps)}")
        # Without a target Orbax would place each array as it was saved, on the saving run's devices; a
        # checkpoint from a pod (or any other device count) would then fail here with "Topology mismatch".
        # Read every array onto this process's first device instead.
        device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
        try:
            metadata = manager.item_metadata(step)  # lists only the items this step saved
            item = EMA if average and EMA in metadata else "g_vars"
            target = jax.tree_util.tree_map(
                lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device), metadata[item]
            )
            out = manager.restore(
                step,
                args=ocp.args.Composite(**{item: ocp.args.StandardRestore(target), "meta": ocp.args.JsonRestore()}),
            )
        except Exception as e:  # truncated or missing files (any error): name the step, and the others
            others = sorted(s for s in steps if s != step)
            hint = (
                f"other steps there: {', '.join(map(str, others))} (pick one with --step)"
                if others
                else "it holds no other step"
            )
            raise UnreadableCheckpointError(
                f"checkpoint {directory / str(step)} cannot be read: {one_line(e)}; {hint}"
            ) from e
    config = ml_collections.ConfigDict(out.meta["config"])
    return config, out[item], int(step)


def has_average(workdir: str | Path, step: int, best: bool = False) -> bool:
    """Whether `step` of the run saved a moving average of G (the `g_ema` item restore_generator prefers)."""
    directory = Path(workdir) / (BEST if best else LATEST)
    with _manager(directory, ocp.CheckpointManagerOptions(read_only=True)) as manager:
        return EMA in manager.item_metadata(step)
