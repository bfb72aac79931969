"""AlphaGAN's decoder: skip connections from layer1 and the stem, max-unpooling, and the RGB input.

Channel counts follow the paper's table for `base = 32` (256, 128, 64, 48, 32 are 8, 4, 2, 1.5, 1 times
the base), so tests can build a narrow decoder from the same code.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from alphagan_jax.models.layers import ConvBNReLU, Dtype, Upsample2x, batch_norm, conv, resize_bilinear

# The nine (dy, dx) offsets of a 3x3 window, in the order `window_argmax` numbers them.
_OFFSETS = [(dy, dx) for dy in range(3) for dx in range(3)]


def _pooling_windows(x: jnp.ndarray) -> jnp.ndarray:
    """The 3x3/2 windows of torchvision's stem max-pool (padding 1 with -inf), stacked on a new last
    axis: (N, H', W', C, 9)."""
    n, h, w, c = x.shape
    out_h, out_w = (h - 1) // 2 + 1, (w - 1) // 2 + 1
    padded = jnp.pad(x, ((0, 0), (1, 2), (1, 2), (0, 0)), constant_values=-jnp.inf)
    views = [padded[:, dy : dy + 2 * out_h : 2, dx : dx + 2 * out_w : 2, :] for dy, dx in _OFFSETS]
    return jnp.stack(views, axis=-1)


def window_argmax(x: jnp.ndarray) -> jnp.ndarray:
    """Which of the nine positions of each 3x3/2 pooling window held the maximum (int32, N,H',W',C).

    Flax's max_pool keeps no indices, so the decoder recomputes them from the stem features. Ties go
    to the first position in row-major order, as in PyTorch's CPU kernel.
    """
    return jnp.argmax(_pooling_windows(x), axis=-1).astype(jnp.int32)


def max_unpool(values: jnp.ndarray, indices: jnp.ndarray, height: int, width: int) -> jnp.ndarray:
    """Place each pooled value back at the position its window's maximum came from.

    `values` and `indices` are (N, H', W', C); the result is (N, height, width, C) with zeros elsewhere.
    Written as nine shifted zero-insertion upsamplings instead of a scatter, which XLA turns into cheap
    pads on every backend. Where two overlapping windows picked the same pixel, their values add
    (PyTorch's max_unpool keeps an arbitrary one of them).

    The zeros are inserted by interleaving with a zero array (a stack and a reshape), not by `lax.pad`'s
    interior padding: ONNX's Pad has no interior padding, so this form is what lets jax2onnx export the
    generator, and it gives the same values (the same nine terms added in the same order).
    """
    n, h, w, c = values.shape
    zero = jnp.zeros((), values.dtype)
    out = None
    for k, (dy, dx) in enumerate(_OFFSETS):
        picked = jnp.where(indices == k, values, zero)
        # Window (i, j) starts at padded row 2i, so offset dy lands on padded row 2i + dy: the values go two
        # apart (row 2i of a 2h-row array), then edge padding shifts them by dy (total 2h + 2 rows).
        spread = _zero_interleave(_zero_interleave(picked, 1), 2)
        shifted = jnp.pad(spread, ((0, 0), (dy, 2 - dy), (dx, 2 - dx), (0, 0)))
        out = shifted if out is None else out + shifted
    assert out is not None  # _OFFSETS is not empty
    # Drop the padding row/column of the pooling (padded index 0 is image row -1).
    return out[:, 1 : 1 + height, 1 : 1 + width, :]


def _zero_interleave(x: jnp.ndarray, axis: int) -> jnp.ndarray:
    """x with a zero after every element along `axis` (twice its length there)."""
    both = jnp.stack([x, jnp.zeros_like(x)], axis=axis + 1)
    shape = list(x.shape)
    shape[axis] *= 2
    return both.reshape(shape)


class Decoder(nn.Module):
    """ASPP features (/8 or /16) -> one-channel logits at the input resolution."""

    base: int = 32
    dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(
        self,
        x: jnp.ndarray,
        features: dict[str, jnp.ndarray],
        rgb: jnp.ndarray,
        train: bool = False,
    ) -> jnp.ndarray:
        b = self.base
        layer1, stem = features["layer1"], features["stem"]
        # Bilinear up to /4 (from /16 this is x4, i.e. the extra x2 the design asks for at stride 16).
        x = resize_bilinear(x, layer1.shape[1], layer1.shape[2])

        # deconv1 at /4: skip from layer1 through a 1x1 to 48 channels.
        skip = ConvBNReLU(b * 3 // 2, 1, dtype=self.dtype, name="skip_layer1")(layer1, train)
        x = jnp.concatenate([x, skip], axis=-1)
        x = ConvBNReLU(b * 8, 3, dtype=self.dtype, name="deconv1_1")(x, train)
        x = ConvBNReLU(b * 4, 3, dtype=self.dtype, name="deconv1_2")(x, train)
        # Unpooling pairs each value with a stem channel's pooling index, so this layer matches the stem's
        # width (64 = 2 * base in the paper's ResNet-50).
        x = ConvBNReLU(stem.shape[-1], 3, dtype=self.dtype, name="deconv1_3")(x, train)

        # Unpool to /2 with the indices of the stem's max-pool.
        x = max_unpool(x, window_argmax(stem), stem.shape[1], stem.shape[2])

        # deconv2 at /2 -> /1: skip from the stem conv through a 1x1 to 32 channels.
        skip = ConvBNReLU(b, 1, dtype=self.dtype, name="skip_stem")(stem, train)
        x = jnp.concatenate([x, skip], axis=-1)
        x = ConvBNReLU(b * 2, 3, dtype=self.dtype, name="deconv2_1")(x, train)
        x = Upsample2x(b * 2, dtype=self.dtype, name="deconv2_up")(x)
        x = nn.relu(batch_norm(train, self.dtype, name="deconv2_up_bn")(x))
        x = ConvBNReLU(b, 3, dtype=self.dtype, name="deconv2_3")(x, train)

        # deconv3 at /1 with the (normalised) RGB input.
        x = jnp.concatenate([x, rgb.astype(x.dtype)], axis=-1)
        x = ConvBNReLU(b, 3, dtype=self.dtype, name="deconv3_1")(x, train)
        x = ConvBNReLU(b, 3, dtype=self.dtype, name="deconv3_2")(x, train)

        # deconv4: the only conv without BN/ReLU; logits kept in float32 for the sigmoid.
        return conv(1, 3, use_bias=True, dtype=self.dtype, name="deconv4")(x).astype(jnp.float32)
