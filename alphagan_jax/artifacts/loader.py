"""The one loader of a trained model: a model folder or a training workdir, to weights and a predictor.

Every route that mattes with a trained model comes through here: the Python API (`alphagan_jax.load`),
``alphagan-predict``, ``python evaluate.py``, ``alphagan-export`` and the matting page. So "model folder or
workdir?" is decided once, the errors name the path the same way everywhere, and one photo with one model
gives one matte whichever route it takes: the same network, the same 64 px padding bucket, the same
refinement.

Why 64 for everyone: XLA compiles once per padded shape, and a 64 px bucket lets a folder of photos of
nearby sizes share one executable. ``predict`` used to pad a single photo to 32 px instead, which changed
its matte (by up to 54/255 on 11,651 pixels of alphamatting's GT01 with the test-config model) from the API's and a
folder's; the network's border context depends on the padding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ml_collections

from alphagan_jax.artifacts.model_folder import is_model_folder, read_model_folder
from alphagan_jax.inference.refine import REFINE_BY_DEFAULT, RefinedPredictor

# Sides are padded to a multiple of this (itself a multiple of the network's stride, 32), by every route.
DEFAULT_BUCKET = 64


@dataclass
class LoadedWeights:
    """A trained generator's weights and what they are.

    Attributes:
      model_config: `config.model` (what builds the network).
      variables: the generator's params and BatchNorm statistics.
      info: model.json of a model folder; {'step': N} for a training workdir.
      path: where it was read from.
      config: the whole run config of a training workdir (None for a model folder).
      average: whether the weights are the run's moving average (a workdir whose checkpoint kept one).
    """

    model_config: ml_collections.ConfigDict
    variables: Any
    info: dict[str, Any] = field(default_factory=dict)
    path: Path = Path()
    config: ml_collections.ConfigDict | None = None
    average: bool = False

    @property
    def step(self) -> int | None:
        return self.info.get("step")

    @property
    def description(self) -> str:
        """'NAME, step N' for titles and logs."""
        return f"{self.path.name}, step {self.step}"


def load_weights(
    path: str | Path, *, step: int | None = None, best: bool = False, average: bool = True
) -> LoadedWeights:
    """The weights of a model folder (read as it is, sha256 checked) or of a training workdir (its latest
    checkpoint, `best=True` for the lowest validation SAD, or `step=N`; the moving average of the weights
    where the run kept one, unless `average=False`).

    Raises:
      FileNotFoundError: `path` is neither, or has no such checkpoint (the message names it).
      ValueError: a corrupt model folder, or best/step given for a model folder.
    """
    path = Path(path)
    if is_model_folder(path):
        if best or step is not None:
            raise ValueError(
                f"{path} is a model folder (one step); best= and step= select a checkpoint of a training workdir"
            )
        model_config, variables, info = read_model_folder(path)
        return LoadedWeights(model_config, variables, info, path)
    if not path.is_dir():
        raise FileNotFoundError(f"no model folder or training workdir at {path}")
    if not any((path / d).is_dir() for d in ("checkpoints", "best")):
        raise FileNotFoundError(
            f"{path} is neither a model folder (no model.json) nor a training workdir (no checkpoints/ or best/)"
        )
    # At the edge: restoring needs Orbax, the checkpoint layer is I/O.
    from alphagan_jax.train.checkpoint import has_average, restore_generator

    config, variables, restored = restore_generator(path, step=step, best=best, average=average)
    kept_average = average and has_average(path, restored, best=best)
    return LoadedWeights(config.model, variables, {"step": restored}, path, config, kept_average)


def network_predictor(weights: LoadedWeights, *, bucket: int = DEFAULT_BUCKET, tta: bool = False, bf16: bool = False):
    """The compiled network alone (a :class:`~alphagan_jax.inference.predictor.Predictor`): ``(image uint8
    HxWx3, trimap uint8 HxW) -> alpha float32 HxW``. `bf16` computes in bfloat16; parameters stay float32."""
    from alphagan_jax.inference.predictor import Predictor, generator_predict_fn
    from alphagan_jax.models import build_generator

    generator = build_generator(weights.model_config, dtype="bfloat16" if bf16 else None)
    return Predictor(generator_predict_fn(generator), weights.variables, bucket=bucket, tta=tta)


def make_predictor(
    weights: LoadedWeights,
    *,
    bucket: int = DEFAULT_BUCKET,
    tta: bool = False,
    bf16: bool = False,
    refine: bool = REFINE_BY_DEFAULT,
) -> Any:
    """:func:`network_predictor`, wrapped in the refinement (a
    :class:`~alphagan_jax.inference.refine.RefinedPredictor`) when `refine`.

    Raises:
      ImportError: `refine` without pymatting.
    """
    predictor = network_predictor(weights, bucket=bucket, tta=tta, bf16=bf16)
    return RefinedPredictor(predictor) if refine else predictor


def load_predictor(
    path: str | Path,
    *,
    step: int | None = None,
    best: bool = False,
    bucket: int = DEFAULT_BUCKET,
    tta: bool = False,
    bf16: bool = False,
    refine: bool = REFINE_BY_DEFAULT,
    average: bool = True,
) -> tuple[Any, LoadedWeights]:
    """(predictor, weights): :func:`load_weights` then :func:`make_predictor`."""
    weights = load_weights(path, step=step, best=best, average=average)
    return make_predictor(weights, bucket=bucket, tta=tta, bf16=bf16, refine=refine), weights
