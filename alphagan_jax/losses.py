"""AlphaGAN's losses: alpha prediction, composition (both on the unknown region) and the GAN losses.

Trimaps are in {0, 0.5, 1}; the unknown region is trimap == 0.5. Masked means are over every unknown
pixel of the batch, so large unknown regions weigh more, as in Deep Image Matting's reference code.
"""

from __future__ import annotations

import jax.numpy as jnp
import optax

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


def alpha_loss(
    alpha_pred: jnp.ndarray, alpha_gt: jnp.ndarray, trimap: jnp.ndarray, eps: float = EPS
) -> jnp.ndarray:
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
