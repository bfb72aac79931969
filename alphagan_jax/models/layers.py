"""Small building blocks shared by the encoder, ASPP and decoder."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

Dtype = Any

# torchvision's BatchNorm2d: momentum 0.1 (Flax counts the other way) and eps 1e-5, so imported
# ImageNet statistics mean the same thing here.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def dtype_from_name(name: str | Dtype) -> Dtype:
    """'float32' / 'bfloat16' (config strings) to a jnp dtype; dtypes pass through."""
    if not isinstance(name, str):
        return name
    table = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}
    if name not in table:
        raise ValueError(f"model.dtype must be one of {sorted(table)}, got {name!r}")
    return table[name]


def batch_norm(train: bool, dtype: Dtype, name: str | None = None) -> nn.BatchNorm:
    return nn.BatchNorm(
        use_running_average=not train,
        momentum=BN_MOMENTUM,
        epsilon=BN_EPSILON,
        dtype=dtype,
        param_dtype=jnp.float32,
        name=name,
    )


def conv(
    features: int,
    kernel: int,
    *,
    stride: int = 1,
    dilation: int = 1,
    padding: int | None = None,
    use_bias: bool = False,
    dtype: Dtype = jnp.float32,
    name: str | None = None,
) -> nn.Conv:
    """A conv with torchvision's explicit symmetric padding (default: `dilation * (kernel - 1) // 2`).

    XLA's 'SAME' pads asymmetrically for strided convs on even sizes, which shifts the sampling grid and
    breaks compatibility with ImageNet weights trained with PyTorch's symmetric padding.
    """
    if padding is None:
        padding = dilation * (kernel - 1) // 2
    return nn.Conv(
        features,
        (kernel, kernel),
        strides=(stride, stride),
        kernel_dilation=(dilation, dilation),
        padding=((padding, padding), (padding, padding)),
        use_bias=use_bias,
        dtype=dtype,
        param_dtype=jnp.float32,
        kernel_init=nn.initializers.variance_scaling(2.0, "fan_out", "normal"),
        name=name,
    )


class ConvBNReLU(nn.Module):
    """conv -> BatchNorm -> ReLU, the unit every ASPP and decoder layer is made of."""

    features: int
    kernel: int = 3
    dilation: int = 1
    dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        x = conv(self.features, self.kernel, dilation=self.dilation, dtype=self.dtype, name="conv")(x)
        x = batch_norm(train, self.dtype, name="bn")(x)
        return nn.relu(x)


def resize_bilinear(x: jnp.ndarray, height: int, width: int) -> jnp.ndarray:
    """Bilinear resize with half-pixel centres, like PyTorch's align_corners=False.

    No antialiasing: the decoder only upsamples, and torch does not antialias either.
    """
    n, _, _, c = x.shape
    return jax.image.resize(x, (n, height, width, c), method="bilinear", antialias=False).astype(x.dtype)
