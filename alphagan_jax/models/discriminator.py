"""PatchGAN discriminator (pix2pix, n_layers = 3): one logit per 70x70 patch."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from alphagan_jax.models.layers import Dtype, batch_norm


class Discriminator(nn.Module):
    """Input: N x H x W x 4 (a composite normalised like the generator's RGB, and the trimap).

    C64/2 without norm, then C128/2, C256/2, C512/1 with BN, then a 1-channel conv at stride 1; kernel 4,
    padding 1, LeakyReLU 0.2. Returns float32 logits (N x H/8-2 x W/8-2 x 1); the losses apply a stable
    sigmoid cross-entropy to them.
    """

    width: int = 64
    n_layers: int = 3
    dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        def conv4(features: int, stride: int, name: str, use_bias: bool) -> nn.Conv:
            return nn.Conv(
                features,
                (4, 4),
                strides=(stride, stride),
                padding=((1, 1), (1, 1)),
                use_bias=use_bias,
                dtype=self.dtype,
                param_dtype=jnp.float32,
                kernel_init=nn.initializers.normal(0.02),
                name=name,
            )

        x = x.astype(self.dtype)
        # The first layer has no norm, so it keeps its bias (as pix2pix does).
        x = nn.leaky_relu(conv4(self.width, 2, "conv0", use_bias=True)(x), 0.2)
        for i in range(1, self.n_layers + 1):
            stride = 2 if i < self.n_layers else 1
            features = self.width * min(2**i, 8)
            x = conv4(features, stride, f"conv{i}", use_bias=False)(x)
            x = nn.leaky_relu(batch_norm(train, self.dtype, name=f"bn{i}")(x), 0.2)
        return conv4(1, 1, "logits", use_bias=True)(x).astype(jnp.float32)
