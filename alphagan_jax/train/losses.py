"""AlphaGAN's losses: alpha prediction, composition (both on the unknown region) and the GAN losses.

Trimaps are in {0, 0.5, 1}; the unknown region is trimap == 0.5. Masked means are over every unknown
pixel of the batch, so large unknown regions weigh more, as in Deep Image Matting's reference code.
"""

from __future__ import annotations

import functools
import operator

import jax.numpy as jnp
import optax

from alphagan_jax.models import clamp_known

EPS = 1e-6


def unknown_mask(trimap: jnp.ndarray) -> jnp.ndarray:
    """1.0 where the trimap is unknown (0.5), else 0.0; tolerant of resampled trimap values."""
    return ((trimap > 0.25) & (trimap < 0.75)).astype(jnp.float32)


def _masked_charbonnier(diff: jnp.ndarray, mask: jnp.ndarray, eps: float) -> jnp.ndarray:
    # `mask` broadcasts over channels; the count must too, so the mean is per pixel *and* channel.
    mask = jnp.broadcast_to(mask, diff.shape)
    total = jnp.sum(jnp.sqrt(jnp.square(diff) + eps**2) * mask)
    # An empty unknown region contributes 0 (not 0/0 = NaN) and no gradient.
    return total / jnp.maximum(jnp.sum(mask), 1.0)


def alpha_loss(alpha_pred: jnp.ndarray, alpha_gt: jnp.ndarray, trimap: jnp.ndarray, eps: float = EPS) -> jnp.ndarray:
    """Mean over unknown pixels of sqrt((a_p - a_g)^2 + eps^2)."""
    diff = alpha_pred.astype(jnp.float32) - alpha_gt.astype(jnp.float32)
    return _masked_charbonnier(diff, unknown_mask(trimap), eps)


def composite(alpha: jnp.ndarray, fg: jnp.ndarray, bg: jnp.ndarray) -> jnp.ndarray:
    """alpha F + (1 - alpha) B."""
    return alpha * fg + (1.0 - alpha) * bg


def composition_loss(
    alpha_pred: jnp.ndarray,
    fg: jnp.ndarray,
    bg: jnp.ndarray,
    image: jnp.ndarray,
    trimap: jnp.ndarray,
    eps: float = EPS,
) -> jnp.ndarray:
    """Mean over unknown pixels and channels of sqrt((c_p - c_g)^2 + eps^2), c_p = a_p F + (1 - a_p) B.

    `image` is the real composite c_g.
    """
    pred = composite(alpha_pred.astype(jnp.float32), fg.astype(jnp.float32), bg.astype(jnp.float32))
    return _masked_charbonnier(pred - image.astype(jnp.float32), unknown_mask(trimap), eps)


def discriminator_loss(real_logits: jnp.ndarray, fake_logits: jnp.ndarray) -> jnp.ndarray:
    """BCE(real, 1) + BCE(fake, 0) on logits (a stable log-sigmoid, never sigmoid then log)."""
    real = optax.sigmoid_binary_cross_entropy(real_logits, jnp.ones_like(real_logits))
    fake = optax.sigmoid_binary_cross_entropy(fake_logits, jnp.zeros_like(fake_logits))
    return jnp.mean(real) + jnp.mean(fake)


def generator_gan_loss(fake_logits: jnp.ndarray) -> jnp.ndarray:
    """The non-saturating generator loss BCE(fake, 1)."""
    return jnp.mean(optax.sigmoid_binary_cross_entropy(fake_logits, jnp.ones_like(fake_logits)))


# The 5-tap binomial kernel of Burt & Adelson's pyramid (OpenCV's pyrDown/pyrUp use the same one).
_BINOMIAL = (1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16)


def _blur(x: jnp.ndarray, gain: float = 1.0) -> jnp.ndarray:
    """Separable 5x5 binomial blur of NHWC `x` with mirror (reflect-101) borders, times `gain`."""
    x = jnp.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    h, w = x.shape[1] - 4, x.shape[2] - 4
    x = functools.reduce(operator.add, (k * x[:, i : i + h, :, :] for i, k in enumerate(_BINOMIAL)))
    return gain * functools.reduce(operator.add, (k * x[:, :, i : i + w, :] for i, k in enumerate(_BINOMIAL)))


def _upsample(x: jnp.ndarray, height: int, width: int) -> jnp.ndarray:
    """Zero-insertion x2 then the binomial blur with gain 4 (pyrUp), cropped to height x width."""
    n, h, w, c = x.shape
    up = jnp.zeros((n, 2 * h, 2 * w, c), x.dtype).at[:, ::2, ::2, :].set(x)
    return _blur(up, gain=4.0)[:, :height, :width, :]


def laplacian_pyramid(x: jnp.ndarray, levels: int) -> list[jnp.ndarray]:
    """The `levels` band-pass images of `x` (NHWC), finest first; the low-pass residual is left out."""
    bands = []
    for _ in range(levels):
        down = _blur(x)[:, ::2, ::2, :]
        bands.append(x - _upsample(down, x.shape[1], x.shape[2]))
        x = down
    return bands


def laplacian_loss(alpha_pred: jnp.ndarray, alpha_gt: jnp.ndarray, trimap: jnp.ndarray, levels: int = 5) -> jnp.ndarray:
    """Multi-scale L1 between the Laplacian pyramids of the predicted and true alpha (Hou & Liu 2019;
    MGMatting's weighting 2^level).

    The prediction's known regions are first set from the trimap, as inference does (`clamp_known`), so the
    error image is zero there and only the unknown region's errors, with their edges, are scored. The
    pyramid is linear, so this is the pyramid of the error. Each level's mean absolute value is divided by
    the batch's unknown fraction: like the other losses, roughly a mean per unknown pixel rather than per crop
    pixel (roughly, since the coarse levels spread an error beyond the unknown band).
    """
    error = clamp_known(alpha_pred.astype(jnp.float32), trimap) - alpha_gt.astype(jnp.float32)
    unknown = unknown_mask(trimap)
    fraction = jnp.maximum(jnp.mean(unknown), 1.0 / unknown.size)
    total = sum((2.0**i) * jnp.mean(jnp.abs(band)) for i, band in enumerate(laplacian_pyramid(error, levels)))
    return total / fraction
