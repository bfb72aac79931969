"""The function both exports hold: uint8 photo and trimap in, clamped float32 matte out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import ml_collections


def matting_fn(model_config: ml_collections.ConfigDict, variables: Any) -> Callable[..., jnp.ndarray]:
    """(image uint8 NxHxWx3, trimap uint8 NxHxWx1) -> alpha float32 NxHxWx1, H and W multiples of 32.

    The same computation as `alphagan_jax.api.Model.alpha` on an already padded photo: image / 255, the
    trimap as {0, 0.5, 1} (any value strictly between 0 and 255 is unknown), the eval-mode generator,
    clipping to [0, 1] and the known regions clamped. The variables are baked in as constants, so the
    exported file needs nothing else.
    """
    from alphagan_jax.inference.predictor import forward, generator_predict_fn
    from alphagan_jax.models import build_generator

    predict_fn = generator_predict_fn(build_generator(model_config, dtype="float32"))

    def fn(image: jnp.ndarray, trimap: jnp.ndarray) -> jnp.ndarray:
        img = image.astype(jnp.float32) / 255.0
        tri = jnp.where(trimap == 0, 0.0, jnp.where(trimap == 255, 1.0, 0.5)).astype(jnp.float32)
        return forward(predict_fn, variables, img, tri)

    return fn
