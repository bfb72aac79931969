"""The small public API: load a trained model, matte NumPy photos.

    import alphagan_jax as ag
    model = ag.load("MODEL_DIR")            # a model folder or a training workdir
    alpha = model.alpha(image, trimap)      # uint8 HxWx3 and HxW in, float32 HxW out
    rgba = model.cutout(image, trimap)      # or model.composite(image, trimap, background)
    trimap = ag.trimap_from_mask(mask, band=15)

Inputs are checked here, at the edge, so a wrong shape, dtype or trimap value is a ValueError that says
what was expected rather than an error from deep inside XLA.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ml_collections
import numpy as np

from alphagan_jax.artifacts.loader import DEFAULT_BUCKET

TRIMAP_VALUES = (0, 128, 255)


class Model:
    """A trained AlphaGAN generator with its compiled predictors (one per 64 px bucket of photo sizes).

    Attributes:
      model_config: `config.model` of the run (what builds the network).
      variables: the generator's params and BatchNorm statistics.
      info: model.json of a model folder ({'step': N, ...} for a training workdir).
    """

    def __init__(
        self,
        model_config: ml_collections.ConfigDict,
        variables: Any,
        info: dict[str, Any] | None = None,
        *,
        bucket: int = DEFAULT_BUCKET,
        tta: bool = False,
        bf16: bool = False,
    ):
        from alphagan_jax.artifacts.loader import LoadedWeights, network_predictor

        self.model_config = model_config
        self.variables = variables
        self.info = dict(info or {})
        self.predictor = network_predictor(
            LoadedWeights(model_config, variables, self.info), bucket=bucket, tta=tta, bf16=bf16
        )
        self._refined: Any = None

    @property
    def step(self) -> int | None:
        return self.info.get("step")

    def alpha(self, image: np.ndarray, trimap: np.ndarray, refine: bool | None = None) -> np.ndarray:
        """The matte: float32 HxW in [0, 1], the trimap's known regions exactly 0 and 1.

        Args:
          image: uint8 HxWx3 RGB.
          trimap: uint8 HxW: 0 background, 128 unknown, 255 foreground.
          refine: refine the network's matte in closed-form matting's system (alphagan_jax.inference.refine;
            needs pymatting); None: as predict does by default.
        """
        check_inputs(image, trimap)
        return self._predictor(refine)(image, trimap)

    def _predictor(self, refine: bool | None) -> Any:
        """The network, or the same RefinedPredictor wrapper that predict, evaluate.py and the page use."""
        from alphagan_jax.inference.refine import REFINE_BY_DEFAULT, RefinedPredictor

        if not (REFINE_BY_DEFAULT if refine is None else refine):
            return self.predictor
        if self._refined is None:
            self._refined = RefinedPredictor(self.predictor)
        return self._refined

    def cutout(self, image: np.ndarray, trimap: np.ndarray, refine: bool | None = None) -> np.ndarray:
        """uint8 HxWx4 RGBA: the estimated foreground colours (not the photo's, which keep the old
        background's colour in hair) with the matte as alpha; what predict writes as cutout.png."""
        from alphagan_jax.inference.outputs import matte_outputs

        check_inputs(image, trimap)
        return matte_outputs(self._predictor(refine), image, trimap)["cutout"]

    def composite(
        self,
        image: np.ndarray,
        trimap: np.ndarray,
        background: np.ndarray | tuple[int, int, int] | str,
        refine: bool | None = None,
    ) -> np.ndarray:
        """uint8 HxWx3: the subject over `background`, a uint8 HxWx3 picture (resized to cover the photo,
        centred), an (r, g, b) colour or '#rrggbb'; what predict writes as composite.png."""
        from alphagan_jax.inference.background import parse_colour
        from alphagan_jax.inference.outputs import matte_outputs

        bg = _check_background(background, parse_colour)
        check_inputs(image, trimap)
        return matte_outputs(self._predictor(refine), image, trimap, bg)["composite"]

    def save(self, directory: str | Path, info: dict[str, Any] | None = None) -> Path:
        """Write this model as a model folder (see alphagan_jax.artifacts.model_folder); `info` is added to model.json,
        and `self.info` becomes what was written (with the weights' sha256)."""
        from alphagan_jax.artifacts.model_folder import write_model_folder

        self.info = write_model_folder(
            directory, self.variables, self.model_config.to_dict(), {**self.info, **(info or {})}
        )
        return Path(directory)


def load(
    path: str | Path,
    *,
    best: bool = False,
    step: int | None = None,
    bucket: int = DEFAULT_BUCKET,
    tta: bool = False,
    bf16: bool = False,
) -> Model:
    """A :class:`Model` from a model folder or a training workdir (through
    :func:`alphagan_jax.artifacts.loader.load_weights`, as every command loads one).

    A model folder is read as it is (its sha256 checked). From a training workdir: the latest checkpoint,
    `best=True` for the lowest validation SAD, or `step=N`; the moving average of the weights where the
    run kept one. `bucket`, `tta` and `bf16` are as in evaluate.py.

    Raises:
      FileNotFoundError: `path` is neither, or has no such checkpoint.
      ValueError: a corrupt model folder, or best/step given for a model folder.
    """
    from alphagan_jax.artifacts.loader import load_weights

    weights = load_weights(path, step=step, best=best)
    return Model(weights.model_config, weights.variables, weights.info, bucket=bucket, tta=tta, bf16=bf16)


def trimap_from_mask(mask: np.ndarray, band: int = 15, thresholds: tuple[float, float] = (0.1, 0.9)) -> np.ndarray:
    """uint8 HxW trimap {0, 128, 255} from a rough HxW mask: bool, uint8 0..255 or float in [0, 1].

    Pixels within `band` px of the mask's edge (and soft values between the thresholds) become unknown;
    see alphagan_jax.data.mask_trimap.
    """
    from alphagan_jax.data.mask_trimap import trimap_from_mask as build

    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be HxW (one channel), got shape {m.shape}")
    if m.dtype == np.bool_:
        m = m.astype(np.float32)
    elif m.dtype == np.uint8:
        m = m.astype(np.float32) / 255.0
    elif np.issubdtype(m.dtype, np.floating):
        if m.size and (np.nanmin(m) < 0 or np.nanmax(m) > 1 or np.isnan(m).any()):
            raise ValueError("a float mask must hold values in [0, 1]")
    else:
        raise ValueError(f"mask must be bool, uint8 (0..255) or float in [0, 1], got {m.dtype}")
    return build(m, band, thresholds)


def check_inputs(image: np.ndarray, trimap: np.ndarray) -> None:
    """ValueError unless image is uint8 HxWx3 and trimap uint8 HxW of the same size in {0, 128, 255}."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be a uint8 HxWx3 RGB array, got {_describe(image)}")
    if not isinstance(trimap, np.ndarray) or trimap.dtype != np.uint8 or trimap.ndim != 2:
        raise ValueError(
            f"trimap must be a uint8 HxW array (0 background, 128 unknown, 255 foreground), got {_describe(trimap)}"
        )
    if trimap.shape != image.shape[:2]:
        raise ValueError(
            f"trimap is {trimap.shape[0]}x{trimap.shape[1]} but image is "
            f"{image.shape[0]}x{image.shape[1]} (HxW): they must match"
        )
    other = np.setdiff1d(np.unique(trimap), TRIMAP_VALUES)
    if other.size:
        shown = ", ".join(str(v) for v in other[:5]) + (" ..." if other.size > 5 else "")
        raise ValueError(
            f"trimap values must be 0 (background), 128 (unknown) or 255 (foreground); it also "
            f"holds {shown} (for another unknown value, map it to 128 first)"
        )


def _check_background(background: Any, parse_colour: Any) -> Any:
    if isinstance(background, str):
        colour = parse_colour(background)
        if colour is None:
            raise ValueError(f"background colour must be '#rrggbb' or '#rgb', got {background!r}")
        return colour
    if isinstance(background, np.ndarray):
        if background.dtype != np.uint8 or background.ndim != 3 or background.shape[2] != 3:
            raise ValueError(f"background picture must be a uint8 HxWx3 RGB array, got {_describe(background)}")
        return background
    if isinstance(background, tuple) and len(background) == 3 and all(0 <= int(c) <= 255 for c in background):
        return tuple(int(c) for c in background)
    raise ValueError(
        f"background must be a uint8 HxWx3 picture, an (r, g, b) tuple or '#rrggbb', got {background!r:.60}"
    )


def _describe(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"{x.dtype} array of shape {x.shape}"
    return type(x).__name__
