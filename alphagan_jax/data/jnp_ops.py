"""JAX ops of one training sample: tf_ops.py's ops for the accelerator, name for name where they exist there.

Traced inside one jitted batch function, so every shape is static and sizes and offsets are traced values.
Randomness comes from explicit jax.random keys: a sample is a function of (seed, sample index) only. The
draws differ from tf_ops' (other random streams) and so does the resize (see crop_resize).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from alphagan_jax.data.recipe import ALPHA_SNAP


def epoch_index(key: jax.Array, k: jax.Array, n: int, tag: int) -> jax.Array:
    """Entry k % n of a random permutation of range(n), fresh for every epoch k // n.

    With threefry's partitionable splitting (JAX's default), split(key)[j] equals fold_in(key, j), so the
    key of epoch e's permutation is also sample 1's e-th draw key (tf_ops' seeds overlap the same way). The
    permutations stay uniform; kept as is, so the runs in docs/results.md reproduce.
    """
    if n == 1:
        return jnp.int32(0)
    epoch_key = jax.random.fold_in(jax.random.fold_in(key, tag), k // n)
    return jax.random.permutation(epoch_key, n)[k % n]


def window_size(
    key: jax.Array, choices: tuple[int, ...], scale_range: tuple[float, float], height: jax.Array, width: jax.Array
) -> jax.Array:
    """round(c / s) for a random crop choice c and scale s, capped by the image's short side."""
    k_c, k_s = jax.random.split(key)
    c = jnp.array(choices, jnp.float32)[jax.random.randint(k_c, (), 0, len(choices))]
    s = jax.random.uniform(k_s, (), minval=scale_range[0], maxval=scale_range[1])
    return jnp.clip(jnp.round(c / s).astype(jnp.int32), 1, jnp.minimum(height, width))


def pick_centre(
    key: jax.Array,
    count: jax.Array,
    nth_unknown: Callable[[jax.Array], jax.Array],
    height: jax.Array,
    width: jax.Array,
) -> jax.Array:
    """(y, x) of the unknown pixel `nth_unknown(r)` (r uniform in [0, count)), or of a random pixel when
    count is 0."""
    k_r, k_y, k_x = jax.random.split(key, 3)
    r = jax.random.randint(k_r, (), 0, jnp.maximum(count, 1))
    return jnp.where(
        count > 0,
        nth_unknown(r),
        jnp.stack([jax.random.randint(k_y, (), 0, height), jax.random.randint(k_x, (), 0, width)]),
    )


def window_around(
    y: jax.Array, x: jax.Array, w: jax.Array, height: jax.Array, width: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Top-left of a w x w window containing (y, x), centred on it where the image borders allow."""
    return jnp.clip(y - w // 2, 0, height - w), jnp.clip(x - w // 2, 0, width - w)


def crop_resize(
    pixels: jax.Array, i: jax.Array, top: jax.Array, left: jax.Array, win: jax.Array, size: int, max_win: int
) -> jax.Array:
    """Window [top, top + win) x [left, left + win) of image i of `pixels` [N, H, W, C], resized to
    size x size (float32, C channels).

    Only a static (max_win + margins)-sided block around the window is read, so the cost does not grow with
    the image. Downscaling uses a triangle filter (every source pixel keeps a weight); upscaling is bilinear.
    """
    _, height, width, channels = pixels.shape
    margin = int(math.ceil(max_win / size)) + 2  # the filter's reach past the window, in source pixels
    bh, bw = min(max_win + 2 * margin, height), min(max_win + 2 * margin, width)
    top0 = jnp.clip(top - margin, 0, height - bh)
    left0 = jnp.clip(left - margin, 0, width - bw)
    block = jax.lax.dynamic_slice(pixels, (i, top0, left0, 0), (1, bh, bw, channels))[0]
    scale = size / win.astype(jnp.float32)
    translation = jnp.stack([-(top - top0) * scale, -(left - left0) * scale])
    return jax.image.scale_and_translate(
        block.astype(jnp.float32),
        (size, size, channels),
        (0, 1),
        jnp.stack([scale, scale]),
        translation,
        method="linear",
        antialias=True,
    )


def maybe_flip(key: jax.Array, img: jax.Array) -> jax.Array:
    return jnp.where(jax.random.uniform(key) < 0.5, img[:, ::-1], img)


def snap_alpha(alpha: jax.Array) -> jax.Array:
    a = jnp.clip(alpha, 0.0, 1.0)
    return jnp.where(a < ALPHA_SNAP, 0.0, jnp.where(a > 1.0 - ALPHA_SNAP, 1.0, a))


def window_max(x: jax.Array, k: jax.Array, axis: int, k_max: int) -> jax.Array:
    """Max over the window [i - (k-1)//2, i + k//2] along `axis` (zero outside); k traced, 1 <= k <= k_max.

    The window of trimap.dilate and tf_ops: m_p[j] = max(y[j : j + p]) for the powers of two p <= k_max,
    then a window of k is the max of two overlapping windows of the largest p <= k.
    """
    n = x.shape[axis]
    pad = [(0, 0)] * x.ndim
    pad[axis] = (k_max, k_max)
    y = jnp.pad(x, pad)
    length = y.shape[axis]
    levels = [y]
    p = 1
    while 2 * p <= k_max:
        m = levels[-1]
        shifted = jnp.concatenate(
            [jax.lax.slice_in_dim(m, p, length, axis=axis), jnp.zeros_like(jax.lax.slice_in_dim(m, 0, p, axis=axis))],
            axis=axis,
        )
        levels.append(jnp.maximum(m, shifted))
        p *= 2
    exponents = jnp.arange(len(levels))
    level = jnp.sum((2**exponents) <= k) - 1
    m = jnp.stack(levels)[level]
    start = k_max - (k - 1) // 2
    first = jax.lax.dynamic_slice_in_dim(m, start, n, axis=axis)
    second = jax.lax.dynamic_slice_in_dim(m, start + k - 2**level, n, axis=axis)
    return jnp.maximum(first, second)


def trimap_from_alpha(alpha: jax.Array, fg_kernel: jax.Array, unknown_kernel: jax.Array, k_max: int) -> jax.Array:
    """HxWx1 trimap in {0, 0.5, 1} from HxWx1 alpha: fg = erode(alpha == 1), unknown = dilate(alpha > 0) - fg,
    with k x k squares, as trimap.make_trimap and tf_ops.trimap_from_alpha."""

    def dilate(mask: jax.Array, k: jax.Array) -> jax.Array:
        return window_max(window_max(mask, k, 0, k_max), k, 1, k_max)

    solid = (alpha >= 1.0).astype(jnp.float32)
    fg = 1.0 - dilate(1.0 - solid, fg_kernel)
    unknown = dilate((alpha > 0.0).astype(jnp.float32), unknown_kernel)
    return jnp.where(fg > 0.5, 1.0, jnp.where(unknown > 0.5, 0.5, 0.0))


def random_kernel(key: jax.Array, kernel_range: tuple[int, int]) -> jax.Array:
    return jax.random.randint(key, (), kernel_range[0], kernel_range[1] + 1)


def rgb_to_hsv(rgb: jax.Array) -> jax.Array:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    v = jnp.max(rgb, axis=-1)
    c = v - jnp.min(rgb, axis=-1)
    s = jnp.where(v > 0, c / jnp.where(v > 0, v, 1.0), 0.0)
    safe = jnp.where(c > 0, c, 1.0)
    h = jnp.where(v == r, (g - b) / safe, jnp.where(v == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    h = jnp.where(c > 0, jnp.mod(h / 6.0, 1.0), 0.0)
    return jnp.stack([h, s, v], axis=-1)


def hsv_to_rgb(hsv: jax.Array) -> jax.Array:
    h, s, v = hsv[..., 0:1], hsv[..., 1:2], hsv[..., 2:3]
    n = jnp.array([5.0, 3.0, 1.0])
    k = jnp.mod(n + h * 6.0, 6.0)
    return v - v * s * jnp.clip(jnp.minimum(k, 4.0 - k), 0.0, 1.0)


def adjust_hue(rgb: jax.Array, delta: jax.Array | float) -> jax.Array:
    """tf.image.adjust_hue: the hue turned by `delta` turns of the colour wheel."""
    hsv = rgb_to_hsv(rgb)
    return hsv_to_rgb(hsv.at[..., 0].set(jnp.mod(hsv[..., 0] + delta, 1.0)))


def adjust_saturation(rgb: jax.Array, factor: jax.Array | float) -> jax.Array:
    """tf.image.adjust_saturation: the saturation times `factor`, clipped to [0, 1]."""
    hsv = rgb_to_hsv(rgb)
    return hsv_to_rgb(hsv.at[..., 1].set(jnp.clip(hsv[..., 1] * factor, 0.0, 1.0)))


def color_jitter(key: jax.Array, rgb: jax.Array, hue: float, saturation: float, gamma: float) -> jax.Array:
    """tf_ops.color_jitter's change: a hue rotation of up to +-`hue` turns, saturation times
    [1 - saturation, 1 + saturation], then a log-uniform gamma in [1/(1 + gamma), 1 + gamma]."""
    k_hue, k_sat, k_gamma = jax.random.split(key, 3)
    if hue > 0:
        rgb = adjust_hue(rgb, jax.random.uniform(k_hue, (), minval=-hue, maxval=hue))
    if saturation > 0:
        rgb = adjust_saturation(rgb, jax.random.uniform(k_sat, (), minval=1.0 - saturation, maxval=1.0 + saturation))
    if gamma > 0:
        log_g = jax.random.uniform(k_gamma, (), minval=-1.0, maxval=1.0) * math.log1p(gamma)
        rgb = jnp.power(jnp.maximum(rgb, 0.0), jnp.exp(log_g))
    return jnp.clip(rgb, 0.0, 1.0)


def composite(alpha: jax.Array, fg: jax.Array, bg: jax.Array) -> jax.Array:
    """I = alpha F + (1 - alpha) B, float32 [0, 1]."""
    return alpha * fg + (1.0 - alpha) * bg
