"""Serialized StableHLO of the generator (jax.export), for serving from JAX without this package.

One file takes any batch and any H, W that are multiples of 32 (shape polymorphism), lowered for the CPU
and CUDA (`platforms`), with the weights inside:

    exp = jax.export.deserialize(open("alphagan.stablehlo", "rb").read())
    alpha = exp.call(image_u8_nhw3, trimap_u8_nhw1)      # float32 NxHxWx1
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections

from alphagan_jax.inference.exports.graph import matting_fn

STABLEHLO_NAME = "alphagan.stablehlo"
DEFAULT_PLATFORMS = ("cpu", "cuda")


def export_stablehlo(
    model_config: ml_collections.ConfigDict,
    variables: Any,
    out_dir: str | Path,
    platforms: Sequence[str] = DEFAULT_PLATFORMS,
) -> Path:
    """Write OUT_DIR/alphagan.stablehlo; returns its path."""
    from jax import export

    image_shape = export.symbolic_shape("n, 32*h, 32*w, 3")
    trimap_shape = (*image_shape[:3], 1)
    exported = export.export(jax.jit(matting_fn(model_config, variables)), platforms=tuple(platforms))(
        jax.ShapeDtypeStruct(image_shape, jnp.uint8), jax.ShapeDtypeStruct(trimap_shape, jnp.uint8)
    )
    path = Path(out_dir) / STABLEHLO_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(exported.serialize())
    return path
