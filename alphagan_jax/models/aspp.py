"""Atrous spatial pyramid pooling (DeepLabv3) on the encoder's last features."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from alphagan_jax.models.layers import ConvBNReLU, Dtype


class ASPP(nn.Module):
    """A 1x1 branch, one 3x3 atrous branch per rate, an image-pooling branch; concat; 1x1 projection.

    Every conv is followed by BN and ReLU, as in the paper's table.
    """

    channels: int = 256
    rates: Sequence[int] = (6, 12, 18)
    dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        branches = [ConvBNReLU(self.channels, 1, dtype=self.dtype, name="branch_1x1")(x, train)]
        for rate in self.rates:
            branches.append(
                ConvBNReLU(self.channels, 3, dilation=rate, dtype=self.dtype, name=f"branch_rate{rate}")(x, train)
            )
        # Global context: mean over space in float32 (a bf16 sum over 1600 positions loses digits),
        # then a 1x1 conv and a broadcast back to the feature map's size.
        pooled = jnp.mean(x.astype(jnp.float32), axis=(1, 2), keepdims=True).astype(self.dtype)
        pooled = ConvBNReLU(self.channels, 1, dtype=self.dtype, name="branch_pool")(pooled, train)
        branches.append(jnp.broadcast_to(pooled, branches[0].shape))
        y = jnp.concatenate(branches, axis=-1)
        return ConvBNReLU(self.channels, 1, dtype=self.dtype, name="project")(y, train)
