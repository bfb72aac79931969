"""TensorFlow ops of one training sample: decode, crop around the unknown region, composite, trimap.

Pure TF graph ops so tf.data can run them in parallel without the GIL. All randomness is stateless and
comes from explicit seeds, so a sample is a function of (seed, sample index) only.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import tensorflow as tf

from alphagan_jax.data.recipe import ALPHA_SNAP

_PNG_MAGIC = b"\x89PNG"


def decode_rgb(contents: tf.Tensor) -> tf.Tensor:
    """Encoded PNG/JPEG/BMP/GIF bytes -> uint8 HxWx3 (grey expanded, alpha dropped, 16-bit reduced)."""
    img = tf.io.decode_image(contents, channels=3, dtype=tf.uint8, expand_animations=False)
    img.set_shape([None, None, 3])
    return img


def decode_alpha_levels(contents: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Encoded matte -> (uint16 HxWx1 levels, float32 full-scale level: 255 or 65535).

    16-bit PNGs (bit depth byte of the IHDR chunk) have 65535 levels, everything else 255. The channel is
    A when the file has a non-opaque A channel, else the first (grey, or R of an R=G=B matte), with the
    same rules as io.read_alpha.
    """
    is_png = tf.equal(tf.strings.substr(contents, 0, 4), _PNG_MAGIC)
    is_16bit = tf.logical_and(is_png, tf.equal(tf.strings.substr(contents, 24, 1), b"\x10"))

    def decode(dtype):
        raw = tf.io.decode_image(contents, channels=0, dtype=dtype, expand_animations=False)
        raw.set_shape([None, None, None])
        last = raw[:, :, -1:]
        # A is used only when it carries information (an opaque A would give an all-one matte), with
        # io.has_meaningful_alpha's rule: any A value below the dtype's maximum. Grey+alpha PNGs decode
        # to 2 channels here (OpenCV expands them to 4), RGBA to 4.
        has_a = tf.logical_or(tf.equal(tf.shape(raw)[2], 2), tf.equal(tf.shape(raw)[2], 4))
        use_a = tf.logical_and(has_a, tf.reduce_any(last < tf.constant(dtype.max, dtype)))
        one = tf.cond(use_a, lambda: last, lambda: raw[:, :, :1])
        return tf.cast(one, tf.uint16), tf.constant(float(dtype.max), tf.float32)

    return tf.cond(is_16bit, lambda: decode(tf.uint16), lambda: decode(tf.uint8))


def decode_alpha(contents: tf.Tensor) -> tf.Tensor:
    """Encoded matte -> float32 HxWx1 in [0, 1]: levels / full scale (see decode_alpha_levels)."""
    levels, scale = decode_alpha_levels(contents)
    return tf.cast(levels, tf.float32) / scale


def fold_seed(seed: tf.Tensor, tag: int) -> tf.Tensor:
    """A new [2] int64 stateless seed for one named random choice of a sample."""
    return tf.random.experimental.stateless_fold_in(seed, tag)


def _uniform(seed: tf.Tensor, lo: float, hi: float) -> tf.Tensor:
    return tf.random.stateless_uniform([], seed, lo, hi, dtype=tf.float32)


def randint(seed: tf.Tensor, lo: tf.Tensor, hi_exclusive: tf.Tensor) -> tf.Tensor:
    """Uniform int32 in [lo, hi_exclusive); hi_exclusive must exceed lo."""
    return tf.random.stateless_uniform([], seed, lo, hi_exclusive, dtype=tf.int32)


def epoch_index(k: tf.Tensor, seed: int, n: int, tag: int) -> tf.Tensor:
    """Entry k % n of a stateless random permutation of range(n), fresh for every epoch k // n."""
    if n == 1:
        return tf.constant(0, tf.int64)
    perm_seed = tf.random.experimental.stateless_fold_in(tf.stack([tf.constant(seed, tf.int64), k // n]), tag)
    return tf.random.experimental.index_shuffle(k % n, perm_seed, tf.constant(n - 1, tf.int64))


def window_size(
    seed: tf.Tensor,
    crop_choices: tuple[int, ...],
    scale_range: tuple[float, float],
    height: tf.Tensor,
    width: tf.Tensor,
) -> tf.Tensor:
    """Side in source pixels of a crop of a random choice c, after a random scale s: round(c / s).

    Scaling the image by s then cropping c equals cropping c / s then resizing, at a fraction of the cost.
    Capped by the image's short side, so a small image is upscaled instead of failing.
    """
    choices = tf.constant(crop_choices, tf.float32)
    c = tf.gather(choices, randint(fold_seed(seed, 0), 0, len(crop_choices)))
    s = _uniform(fold_seed(seed, 1), scale_range[0], scale_range[1])
    w = tf.cast(tf.round(c / s), tf.int32)
    return tf.clip_by_value(w, 1, tf.minimum(height, width))


def pick_centre(
    seed: tf.Tensor, count: tf.Tensor, nth_unknown: Callable[[tf.Tensor], tf.Tensor], height, width
) -> tuple[tf.Tensor, tf.Tensor]:
    """(y, x) of the unknown pixel `nth_unknown(r)` (r uniform in [0, count)), or of a random pixel when
    count is 0. Every alpha store (a decoded tensor, a precomputed index) picks through this function,
    so they pick the same pixel for the same seed."""
    anywhere = lambda: tf.stack([randint(fold_seed(seed, 1), 0, height), randint(fold_seed(seed, 2), 0, width)])
    # The lookup stays inside the branch: with no unknown pixel there is nothing to index.
    pick = lambda: nth_unknown(randint(fold_seed(seed, 0), 0, tf.maximum(count, 1)))
    yx = tf.cond(count > 0, pick, anywhere)
    return yx[0], yx[1]


def unknown_centre(seed: tf.Tensor, alpha: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(y, x) of a random pixel with 0 < alpha < 1 (row-major order), or of a random pixel when none."""
    coords = tf.cast(tf.where(tf.logical_and(alpha[:, :, 0] > 0.0, alpha[:, :, 0] < 1.0)), tf.int32)
    shape = tf.shape(alpha)
    return pick_centre(seed, tf.shape(coords)[0], lambda r: tf.gather(coords, r), shape[0], shape[1])


def window_around(y: tf.Tensor, x: tf.Tensor, w: tf.Tensor, height: tf.Tensor, width: tf.Tensor):
    """Top-left of a w x w window containing (y, x), centred on it where the image borders allow."""
    top = tf.clip_by_value(y - w // 2, 0, height - w)
    left = tf.clip_by_value(x - w // 2, 0, width - w)
    return top, left


def resize_square(img: tf.Tensor, size: int) -> tf.Tensor:
    """float32 HxWxC square -> size x size x C.

    Shrinking: 2x2 box averages while the side is at least twice `size`, then bilinear by a factor below
    2, so every source pixel keeps a weight (a one-pixel fractional alpha stays visible) without the
    aliasing of plain bilinear. This is 2-3x cheaper than TF's area resize, which was a third of a
    sample's time. Enlarging: bilinear.
    """
    channels = img.shape[-1]

    def halve(x):
        return tf.nn.avg_pool2d(x[None], 2, 2, "VALID")[0]

    img = tf.while_loop(
        lambda x: tf.shape(x)[0] >= 2 * size,
        halve,
        [img],
        shape_invariants=[tf.TensorShape([None, None, channels])],
    )[0]
    out = tf.image.resize(img, [size, size], method="bilinear")
    out.set_shape([size, size, channels])
    return out


def maybe_flip(seed: tf.Tensor, img: tf.Tensor) -> tf.Tensor:
    # tf.reverse, not img[:, ::-1]: a negative-stride slice is 8x slower on the CPU (3.7 vs 0.46 ms at 320 px).
    return tf.cond(_uniform(seed, 0.0, 1.0) < 0.5, lambda: tf.reverse(img, [1]), lambda: img)


def snap_alpha(alpha: tf.Tensor) -> tf.Tensor:
    a = tf.clip_by_value(alpha, 0.0, 1.0)
    return tf.where(a < ALPHA_SNAP, 0.0, tf.where(a > 1.0 - ALPHA_SNAP, 1.0, a))


def _window_max(x: tf.Tensor, k: tf.Tensor, axis: int) -> tf.Tensor:
    """Max over the window [i - (k-1)//2, i + k//2] along `axis` (zero outside), k a runtime tensor.

    Doubling trick: after the loop, m[j] is the max of y[j : j + p] with p the largest power of two <= k,
    so a window of k is the max of two overlapping windows of p: log2(k) ops instead of k. (MaxPoolV2 with
    a runtime 30x30 window takes over a second per image on CPU.) tf.roll's wrap-around only reaches
    entries that are never read.
    """
    pad = [[0, 0]] * 3
    pad[axis] = [(k - 1) // 2, k // 2]
    y = tf.pad(x, pad)
    n = tf.shape(x)[axis]

    def body(m, p):
        return tf.maximum(m, tf.roll(m, -p, axis)), p * 2

    m, p = tf.while_loop(lambda m, p: p * 2 <= k, body, (y, tf.constant(1)))
    size = tf.tensor_scatter_nd_update(tf.shape(x), [[axis]], [n])
    begin = tf.one_hot(axis, 3, on_value=k - p, off_value=0, dtype=tf.int32)
    return tf.maximum(tf.slice(m, tf.zeros([3], tf.int32), size), tf.slice(m, begin, size))


def _max_pool(mask: tf.Tensor, k: tf.Tensor) -> tf.Tensor:
    """Binary dilation of a float HxWx1 {0,1} mask by a k x k square (the 'SAME' max-pool window)."""
    k = tf.cast(k, tf.int32)
    return _window_max(_window_max(mask, k, 0), k, 1)


def trimap_from_alpha(alpha: tf.Tensor, fg_kernel: tf.Tensor, unknown_kernel: tf.Tensor) -> tf.Tensor:
    """float32 HxWx1 trimap in {0, 0.5, 1}: fg = erode(alpha == 1), unknown = dilate(alpha > 0) - fg.

    Matches trimap.make_trimap (the NumPy version) pixel for pixel, with 128 -> 0.5 and 255 -> 1.
    """
    solid = tf.cast(alpha >= 1.0, tf.float32)
    fg = 1.0 - _max_pool(1.0 - solid, fg_kernel)
    unknown = _max_pool(tf.cast(alpha > 0.0, tf.float32), unknown_kernel)
    return tf.where(fg > 0.5, 1.0, tf.where(unknown > 0.5, 0.5, 0.0))


def random_kernel(seed: tf.Tensor, kernel_range: tuple[int, int]) -> tf.Tensor:
    return randint(seed, int(kernel_range[0]), int(kernel_range[1]) + 1)


def color_jitter(seed: tf.Tensor, rgb: tf.Tensor, hue: float, saturation: float, gamma: float) -> tf.Tensor:
    """A random colour change of float32 RGB in [0, 1]: a hue rotation of up to +-`hue` turns of the colour
    wheel, saturation times [1 - saturation, 1 + saturation], and a gamma in [1/(1 + gamma), 1 + gamma]
    (log-uniform, so brightening and darkening are equally likely). A zero amount skips that change.

    A training set of a few photos has a few colour pairs of foreground and background; this gives the
    network others, e.g. a foreground nearly the colour of its background."""
    if hue > 0:
        rgb = tf.image.adjust_hue(rgb, _uniform(fold_seed(seed, 0), -hue, hue))
    if saturation > 0:
        rgb = tf.image.adjust_saturation(rgb, _uniform(fold_seed(seed, 1), 1.0 - saturation, 1.0 + saturation))
    if gamma > 0:
        log_g = _uniform(fold_seed(seed, 2), -1.0, 1.0) * float(math.log1p(gamma))
        rgb = tf.pow(tf.maximum(rgb, 0.0), tf.exp(log_g))
    return tf.clip_by_value(rgb, 0.0, 1.0)


def composite(alpha: tf.Tensor, fg: tf.Tensor, bg: tf.Tensor) -> tf.Tensor:
    """I = alpha F + (1 - alpha) B, float32 [0, 1]."""
    return alpha * fg + (1.0 - alpha) * bg
