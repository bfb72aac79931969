"""ONNX files of the generator through jax2onnx, one per input shape.

jax2onnx cannot give this network dynamic H and W: its `jax.image.resize` and `nn.max_pool` rules need
constant shapes. So each file has a fixed 1xHxWx3 input, named `alphagan-{H}x{W}.onnx`; for mattes equal
to `model.alpha`, export the 64 px bucket shapes of your photos (`bucket_shape`).

Two ops of the network do not convert as written, and the model code uses equivalent forms
(tests/models/test_models.py checks them against the originals):
- the decoder's max-unpooling zero-insertion was `lax.pad` with interior padding, which ONNX's Pad lacks;
  it is now an interleave with zeros (stack + reshape), the same values;
- the stem's max-pool with explicit padding: jax2onnx's `nn.max_pool` rule takes only 'SAME'/'VALID' and
  its `lax.reduce_window` rule emits a 4-D MaxPool that ONNX Runtime refuses; the -inf border is now
  padded first and the pool is 'VALID', the same values and gradients.
Dilated convolutions, the transposed conv (already a 2x2 conv plus pixel shuffle), bilinear resizing,
the argmax of the pooling windows and BatchNorm convert as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections

from alphagan_jax.inference.exports.graph import matting_fn

INPUT_NAMES, OUTPUT_NAMES = ["image", "trimap"], ["alpha"]


def onnx_name(height: int, width: int) -> str:
    return f"alphagan-{height}x{width}.onnx"


def export_onnx(
    model_config: ml_collections.ConfigDict, variables: Any, height: int, width: int, out_dir: str | Path
) -> Path:
    """Write OUT_DIR/alphagan-{H}x{W}.onnx for 1xHxWx3 photos; returns its path.

    Raises:
      ValueError: H or W not a positive multiple of 32.
      ImportError: jax2onnx is not installed (the `export` extra).
    """
    if height <= 0 or width <= 0 or height % 32 or width % 32:
        raise ValueError(f"ONNX input size must be positive multiples of 32, got {height}x{width}")
    import onnx
    from jax2onnx import to_onnx

    path = Path(out_dir) / onnx_name(height, width)
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs = [
        jax.ShapeDtypeStruct((1, height, width, 3), jnp.uint8),
        jax.ShapeDtypeStruct((1, height, width, 1), jnp.uint8),
    ]
    proto = to_onnx(
        matting_fn(model_config, variables),
        inputs,
        model_name=f"alphagan_{height}x{width}",
        input_names=INPUT_NAMES,
        output_names=OUTPUT_NAMES,
        return_mode="proto",
    )
    # jax2onnx 0.17 stamps NHWC shapes on some intermediate NCHW tensors; ONNX Runtime then refuses some
    # input sizes at load ("Add: Incompatible dimensions", seen at 64x96). The intermediate shapes are
    # optional in ONNX, and without them ONNX Runtime infers correct ones.
    del proto.graph.value_info[:]
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return path
