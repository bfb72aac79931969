"""Full-resolution inference: pad, bucket, predict (optionally with flip TTA), clamp, crop.

The generator needs sides that are multiples of 32. Test sets hold images of many sizes, and XLA compiles
once per input shape, so images are reflect-padded up to a *bucket* (a multiple of 64 or 128 by default)
rather than to the nearest 32: a thousand differently sized images then compile a handful of times. The
:class:`Predictor` keeps one compiled executable per bucket shape and reports how many it built.

Everything is a function of an explicit `predict_fn` and `variables`, so tests can pass a stand-in and
training validation can pass the live generator.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from alphagan_jax.models import clamp_known

# (variables, image N x H x W x 3 in [0, 1], trimap N x H x W x 1 in {0, 0.5, 1}) -> alpha N x H x W x 1.
PredictFn = Callable[[Any, jnp.ndarray, jnp.ndarray], jnp.ndarray]

MODEL_MULTIPLE = 32


def generator_predict_fn(generator: Any) -> PredictFn:
    """The eval-mode `PredictFn` of a Flax generator (BatchNorm with running statistics, no clamping:
    :func:`forward` clamps after averaging the TTA views)."""

    def predict_fn(variables: Any, image: jnp.ndarray, trimap: jnp.ndarray) -> jnp.ndarray:
        return generator.apply(variables, image, trimap, train=False)

    return predict_fn


def padded_size(size: int, bucket: int = 64) -> int:
    """`size` rounded up to a multiple of `bucket` (itself a multiple of 32, the network's stride)."""
    if bucket <= 0 or bucket % MODEL_MULTIPLE:
        raise ValueError(f"bucket must be a positive multiple of {MODEL_MULTIPLE}, got {bucket}")
    return int(math.ceil(size / bucket) * bucket)


def pad_to(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """Reflect-pad an HxW or HxWxC array at the bottom and right to `height` x `width`.

    Reflection keeps image statistics at the border (zero padding would look like a black frame to the
    network). A side of one pixel cannot be reflected, so it is repeated instead.
    """
    h, w = x.shape[:2]
    if height < h or width < w:
        raise ValueError(f"cannot pad {h}x{w} down to {height}x{width}")
    pad = [(0, height - h), (0, width - w)] + [(0, 0)] * (x.ndim - 2)
    mode: Literal["reflect", "edge"] = "reflect" if min(h, w) > 1 else "edge"
    return np.pad(x, pad, mode=mode)


def trimap_to_model(trimap: np.ndarray) -> np.ndarray:
    """uint8 trimap {0, 128, 255} to the model's float {0, 0.5, 1}; any value strictly between 0 and 255
    counts as unknown (0.5), not 128/255."""
    t = np.full(trimap.shape, 0.5, np.float32)
    t[trimap == 0] = 0.0
    t[trimap == 255] = 1.0
    return t


def forward(
    predict_fn: PredictFn, variables: Any, image: jnp.ndarray, trimap: jnp.ndarray, tta: bool = False
) -> jnp.ndarray:
    """Alpha for a padded batch, float32 in [0, 1] with known regions clamped.

    With `tta`, the horizontally flipped batch runs in the same call (one batch of 2N) and the flipped
    prediction is flipped back and averaged in.
    """
    if tta:
        n = image.shape[0]
        both = predict_fn(
            variables,
            jnp.concatenate([image, image[:, :, ::-1]], axis=0),
            jnp.concatenate([trimap, trimap[:, :, ::-1]], axis=0),
        ).astype(jnp.float32)
        alpha = 0.5 * (both[:n] + both[n:, :, ::-1])
    else:
        alpha = predict_fn(variables, image, trimap).astype(jnp.float32)
    return clamp_known(jnp.clip(alpha, 0.0, 1.0), trimap)


class Predictor:
    """Predict one full-resolution image at a time, compiling once per padded (bucket) shape.

    Call it as ``alpha = predictor(image, trimap)`` with image uint8 HxWx3 and trimap uint8 HxW
    ({0, 128, 255}); it returns float32 HxW alpha in [0, 1], known regions clamped. This is the
    ``(image, trimap) -> alpha`` function that :mod:`alphagan_jax.evaluation.loop` expects.

    The executables take the variables as an argument, so training validation can keep one Predictor
    and assign ``predictor.variables = new_variables`` before each run without recompiling (same tree,
    shapes, dtypes and placement as at the first call).

    Attributes:
      num_compiles: executables built so far (one per distinct bucket shape).
      shapes: the padded shapes compiled, in order.
      predict_seconds: total wall time spent in prediction, compiles included.
      compile_seconds: the part of it spent compiling.
    """

    def __init__(self, predict_fn: PredictFn, variables: Any, *, bucket: int = 64, tta: bool = False):
        padded_size(MODEL_MULTIPLE, bucket)  # validates bucket
        self.predict_fn = predict_fn
        self.variables = variables
        self.bucket = bucket
        self.tta = tta
        self._compiled: dict[tuple[int, int], Any] = {}
        self.shapes: list[tuple[int, int]] = []
        self.predict_seconds = 0.0
        self.compile_seconds = 0.0

    @property
    def num_compiles(self) -> int:
        return len(self._compiled)

    def _executable(self, image: np.ndarray, trimap: np.ndarray) -> Any:
        key = image.shape[1:3]
        if key not in self._compiled:
            # Ahead-of-time compile per shape: an explicit, countable cache instead of jit's hidden one.
            start = time.perf_counter()
            fn = jax.jit(lambda v, i, t: forward(self.predict_fn, v, i, t, self.tta))
            self._compiled[key] = fn.lower(self.variables, image, trimap).compile()
            self.shapes.append(key)
            self.compile_seconds += time.perf_counter() - start
        return self._compiled[key]

    def __call__(self, image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
        if image.ndim != 3 or image.shape[2] != 3 or trimap.shape != image.shape[:2]:
            raise ValueError(
                f"image must be HxWx3 and trimap HxW of the same size, got {image.shape} and {trimap.shape}"
            )
        start = time.perf_counter()
        h, w = trimap.shape
        ph, pw = padded_size(h, self.bucket), padded_size(w, self.bucket)
        img = pad_to(image.astype(np.float32) / 255.0, ph, pw)[None]
        tri = pad_to(trimap_to_model(trimap), ph, pw)[None, :, :, None]
        alpha = np.asarray(self._executable(img, tri)(self.variables, img, tri))
        self.predict_seconds += time.perf_counter() - start
        return alpha[0, :h, :w, 0]
