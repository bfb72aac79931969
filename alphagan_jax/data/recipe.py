"""The recipe of a training sample, shared by both pipelines: the data config read once, the names of a
sample's random draws, the alpha snap, the host's share of a batch, and the checks of the data config.

Both pipelines make a sample the same way; only their ops differ (tf_ops.py as TF graph ops for tf.data,
jnp_ops.py for the accelerator, tied by parity tests):
  1. foreground k: a window of a random crop choice over a random scale (at most the short side), around a
     random unknown pixel, resized to crop_size and maybe flipped; alpha clipped and snapped (ALPHA_SNAP);
  2. background: a window of its own random size and place, resized and maybe flipped on its own;
  3. with probability own_bg_prob (when the source has own backgrounds) the background is instead the
     foreground's own, cut with the foreground's window and flip: the sample is then the photo itself;
  4. colour changes (color_jitter), drawn independently for the foreground and background of a new
     composite; a replayed photo's background gets its foreground's change, so it keeps its colour relation;
  5. the trimap from the alpha with random erosion and dilation squares (trimap_kernel_range), and the
     composite alpha F + (1 - alpha) B.

Imports neither TensorFlow nor JAX: the accelerator hosts have no TensorFlow, and the checks run before a
pipeline is built.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # only for annotations: the data package runs on any config-like object
    from ml_collections import ConfigDict

# Values after resizing this close to 0 or 1 are snapped, so that interpolation round-off (0.99999994)
# does not turn solid foreground into "unknown"; 8-bit data has no level closer than 1/255.
ALPHA_SNAP = 1.0 / 1024.0

PIPELINES = ("tf", "jax")

# One random stream per choice of a sample. A name's position is its stream (tf_ops.fold_seed's tag, the
# index into jax.random.split): a new name goes at the end, or every stream after it changes.
SAMPLE_KEYS = (
    "fg_window",
    "fg_centre",
    "fg_flip",
    "bg_window",
    "bg_y",
    "bg_x",
    "bg_flip",
    "k_fg",
    "k_unk",
    "own_bg",
    "jitter_fg",
    "jitter_bg",
)

_T = TypeVar("_T")


def _read(data_config: ConfigDict, key: str, convert: Callable[[Any], _T]) -> _T:
    """data_config.key through `convert`; a value it cannot take is a ValueError naming the key."""
    value = getattr(data_config, key)
    try:
        return convert(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"data.{key}={value!r}: {e}") from None


def _integer(value: Any) -> int:
    if isinstance(value, bool) or float(value) != int(value):
        raise ValueError("needs a whole number")
    return int(value)


def _integers(value: Any) -> tuple[int, ...]:
    return tuple(_integer(v) for v in value)


def _numbers(value: Any) -> tuple[float, ...]:
    numbers = tuple(float(v) for v in value)
    if not all(math.isfinite(v) for v in numbers):
        raise ValueError("needs finite numbers")
    return numbers


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("needs True or False")
    return value


@dataclass(frozen=True)
class SampleRecipe:
    """The data config's fields that decide what a sample is (configs/default.py describes each)."""

    crop_size: int
    crop_choices: tuple[int, ...]
    scale_range: tuple[float, float]
    trimap_kernel_range: tuple[int, int]
    flip: bool
    own_bg_prob: float
    color_jitter: tuple[float, float, float]

    @classmethod
    def from_config(cls, data_config: ConfigDict) -> SampleRecipe:
        """Read and check the `data` block of a config.

        Raises:
          ValueError: a missing or bad value, naming its key.
        """
        size = _read(data_config, "crop_size", _integer)
        if size < 1:
            raise ValueError(f"data.crop_size={size} must be positive")
        choices = _read(data_config, "crop_choices", _integers)
        if not choices or min(choices) <= 0:
            raise ValueError(f"data.crop_choices={choices} needs at least one positive crop size")
        scales = _read(data_config, "scale_range", _numbers)
        if len(scales) != 2 or not 0 < scales[0] <= scales[1]:
            raise ValueError(f"data.scale_range={scales} needs 0 < low <= high")
        kernels = _read(data_config, "trimap_kernel_range", _integers)
        if len(kernels) != 2 or not 1 <= kernels[0] <= kernels[1]:
            raise ValueError(f"data.trimap_kernel_range={kernels} needs 1 <= low <= high (pixels)")
        own_prob = _read(data_config, "own_bg_prob", float)
        if not 0 <= own_prob <= 1:
            raise ValueError(f"data.own_bg_prob={own_prob} must be a probability (0..1)")
        jitter = _read(data_config, "color_jitter", _numbers)
        if len(jitter) != 3 or not 0 <= jitter[0] <= 0.5 or not 0 <= jitter[1] <= 1 or jitter[2] < 0:
            raise ValueError(
                f"data.color_jitter={jitter} needs three amounts (hue 0..0.5 turns, saturation 0..1, gamma >= 0)"
            )
        return cls(
            crop_size=size,
            crop_choices=choices,
            scale_range=(scales[0], scales[1]),
            trimap_kernel_range=(kernels[0], kernels[1]),
            flip=_read(data_config, "flip", _flag),
            own_bg_prob=own_prob,
            color_jitter=(jitter[0], jitter[1], jitter[2]),
        )

    @property
    def max_window(self) -> int:
        """The largest window a crop can take, in source pixels: the largest choice at the smallest scale."""
        return int(round(max(self.crop_choices) / self.scale_range[0]))

    @property
    def jitters(self) -> bool:
        return any(self.color_jitter)

    def replays_own_bg(self, n_own_bg: int) -> bool:
        """Whether some samples are the photo itself (step 3): only with own backgrounds to replay."""
        return self.own_bg_prob > 0 and n_own_bg > 0


def check_data_config(data_config: ConfigDict) -> None:
    """Errors that would otherwise surface deep inside XLA or tf.data, named by their config key."""
    recipe = SampleRecipe.from_config(data_config)
    if recipe.crop_size % 32:
        raise ValueError(f"data.crop_size={recipe.crop_size} must be a multiple of 32")
    pipeline = getattr(data_config, "pipeline", "tf")
    if pipeline not in PIPELINES:
        raise ValueError(f"data.pipeline={pipeline!r}: allowed values {', '.join(PIPELINES)}")
    if data_config.decoded_cache_mb < 0:
        raise ValueError(f"data.decoded_cache_mb={data_config.decoded_cache_mb} must be >= 0 (0 = decode every sample)")


def host_share(global_batch_size: int, process_index: int | None, process_count: int | None) -> tuple[int, int]:
    """(this host's index p, its batch b): host p of P makes positions [p * b, (p + 1) * b) of each global
    batch. None takes JAX's process index or count."""
    if process_index is None or process_count is None:
        import jax  # only when asked: this module stays free of JAX (and TensorFlow)

        process_index = jax.process_index() if process_index is None else process_index
        process_count = jax.process_count() if process_count is None else process_count
    p, n_proc = int(process_index), int(process_count)
    if global_batch_size % n_proc:
        raise ValueError(f"global batch {global_batch_size} is not divisible by {n_proc} processes")
    return p, global_batch_size // n_proc
