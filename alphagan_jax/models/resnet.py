"""ResNet v1.5 encoder in torchvision's layout, returning a dict of per-stage features.

Module names mirror torchvision's (`conv1`, `bn1`, `layer3_2/conv2`, `layer1_0/downsample_conv`), so
`alphagan_jax.train.pretrained` maps an ImageNet state dict onto it key by key.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from alphagan_jax.models.layers import Dtype, batch_norm, conv

EXPANSION = 4


def max_pool_3x3_s2(x: jnp.ndarray) -> jnp.ndarray:
    """torchvision's stem max-pool: 3x3, stride 2, explicit padding 1 with -inf.

    The -inf border is padded first and the pool itself is 'VALID', which gives the same values and
    gradients as `padding=((1, 1), (1, 1))`: jax2onnx's ONNX export replaces `nn.max_pool` while it traces
    with a version that takes only keyword arguments and string paddings ('SAME'/'VALID'), and the plain
    `lax.reduce_window` it would otherwise see becomes a 4-D MaxPool that ONNX Runtime cannot run.
    """
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-jnp.inf)
    return nn.max_pool(padded, window_shape=(3, 3), strides=(2, 2), padding="VALID")


def stage_dilations(output_stride: int, num_stages: int = 4) -> list[tuple[int, int, int]]:
    """(stride, first-block dilation, other-blocks dilation) per stage, as torchvision's
    `replace_stride_with_dilation` computes them.

    A dilated stage trades its stride 2 for a doubled dilation; its first block keeps the previous
    dilation (it is where the resolution would have changed), the rest use the new one.
    """
    dilated = {32: 0, 16: 1, 8: 2}
    if output_stride not in dilated:
        raise ValueError(f"model.output_stride must be 8, 16 or 32, got {output_stride!r}")
    n_dilated = dilated[output_stride]
    out, dilation = [], 1
    for i in range(num_stages):
        stride = 1 if i == 0 else 2
        previous = dilation
        if i >= num_stages - n_dilated:
            dilation *= stride
            stride = 1
        out.append((stride, previous, dilation))
    return out


class Bottleneck(nn.Module):
    """v1.5 bottleneck: the stride sits on the 3x3 conv, not on the first 1x1."""

    planes: int
    stride: int = 1
    dilation: int = 1
    downsample: bool = False
    dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        identity = x
        y = conv(self.planes, 1, dtype=self.dtype, name="conv1")(x)
        y = nn.relu(batch_norm(train, self.dtype, name="bn1")(y))
        y = conv(self.planes, 3, stride=self.stride, dilation=self.dilation, dtype=self.dtype, name="conv2")(y)
        y = nn.relu(batch_norm(train, self.dtype, name="bn2")(y))
        y = conv(self.planes * EXPANSION, 1, dtype=self.dtype, name="conv3")(y)
        # Zero-init of the last BN scale is torchvision's optional trick; keep its default (ones).
        y = batch_norm(train, self.dtype, name="bn3")(y)
        if self.downsample:
            identity = conv(self.planes * EXPANSION, 1, stride=self.stride, dtype=self.dtype, name="downsample_conv")(x)
            identity = batch_norm(train, self.dtype, name="downsample_bn")(identity)
        return nn.relu(y + identity)


class ResNetEncoder(nn.Module):
    """ResNet-50 (by default) feature extractor on an NHWC input with any number of channels.

    Returns `{'stem': /2 after conv1-bn1-relu, 'layer1': /4, 'layer2': /8, 'layer3', 'layer4'}`; the
    strides of layer3/layer4 depend on `output_stride` (8, 16 or 32).
    """

    stage_sizes: Sequence[int] = (3, 4, 6, 3)
    width: int = 64
    output_stride: int = 16
    dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> dict[str, jnp.ndarray]:
        x = x.astype(self.dtype)
        x = conv(self.width, 7, stride=2, padding=3, dtype=self.dtype, name="conv1")(x)
        x = nn.relu(batch_norm(train, self.dtype, name="bn1")(x))
        features = {"stem": x}
        x = max_pool_3x3_s2(x)
        in_channels = self.width
        plan = stage_dilations(self.output_stride, len(self.stage_sizes))
        for i, (blocks, (stride, first_dilation, dilation)) in enumerate(zip(self.stage_sizes, plan, strict=True)):
            planes = self.width * 2**i
            for j in range(blocks):
                block_stride = stride if j == 0 else 1
                needs_projection = j == 0 and (block_stride != 1 or in_channels != planes * EXPANSION)
                x = Bottleneck(
                    planes,
                    stride=block_stride,
                    dilation=first_dilation if j == 0 else dilation,
                    downsample=needs_projection,
                    dtype=self.dtype,
                    name=f"layer{i + 1}_{j}",
                )(x, train)
                in_channels = planes * EXPANSION
            features[f"layer{i + 1}"] = x
        return features
