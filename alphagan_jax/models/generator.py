"""AlphaGAN generator: ResNet encoder on RGB+trimap, ASPP, skip decoder, sigmoid alpha."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from alphagan_jax.models.aspp import ASPP
from alphagan_jax.models.decoder import Decoder
from alphagan_jax.models.layers import Dtype
from alphagan_jax.models.resnet import ResNetEncoder

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalize_image(image: jnp.ndarray) -> jnp.ndarray:
    """[0, 1] RGB to ImageNet mean/std units, as the encoder's pretrained weights expect."""
    mean = jnp.asarray(IMAGENET_MEAN, jnp.float32)
    std = jnp.asarray(IMAGENET_STD, jnp.float32)
    return (image.astype(jnp.float32) - mean) / std


def clamp_known(alpha: jnp.ndarray, trimap: jnp.ndarray) -> jnp.ndarray:
    """Force the trimap's known regions: foreground (1) to alpha 1, background (0) to alpha 0."""
    alpha = jnp.where(trimap > 0.75, 1.0, alpha)
    return jnp.where(trimap < 0.25, 0.0, alpha)


class Generator(nn.Module):
    """`G(image, trimap) -> alpha`.

    image: N x H x W x 3 in [0, 1]; trimap: N x H x W x 1 with 0 (bg), 0.5 (unknown), 1 (fg);
    H and W multiples of 32. Returns float32 alpha N x H x W x 1 in [0, 1].
    """

    stage_sizes: Sequence[int] = (3, 4, 6, 3)
    width: int = 64
    output_stride: int = 8
    aspp_channels: int = 256
    aspp_rates: Sequence[int] = (6, 12, 18)
    decoder_base: int = 32
    dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(
        self, image: jnp.ndarray, trimap: jnp.ndarray, train: bool = False, clamp: bool = False
    ) -> jnp.ndarray:
        if image.shape[1] % 32 or image.shape[2] % 32:
            raise ValueError(
                f"Generator input height and width must be multiples of 32, got {image.shape[1:3]}; "
                "pad with alphagan_jax.inference.predictor first"
            )
        rgb = normalize_image(image)
        x = jnp.concatenate([rgb, trimap.astype(jnp.float32)], axis=-1).astype(self.dtype)
        features = ResNetEncoder(self.stage_sizes, self.width, self.output_stride, dtype=self.dtype, name="encoder")(
            x, train
        )
        y = ASPP(self.aspp_channels, self.aspp_rates, dtype=self.dtype, name="aspp")(features["layer4"], train)
        logits = Decoder(self.decoder_base, dtype=self.dtype, name="decoder")(y, features, rgb, train)
        alpha = nn.sigmoid(logits)
        return clamp_known(alpha, trimap) if clamp else alpha
