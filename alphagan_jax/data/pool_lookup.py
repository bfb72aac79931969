"""TF lookups of one pool entry for the sample function, whatever the pool is stored as.

An entry is its size, a `window(top, left, win)` that returns a float32 crop in [0, 1], and for
foregrounds a `centre(seed)` that picks a pixel of the unknown region. Files (decoded per sample) and
decoded buffers (decoded_pool.py) give the same values for the same index and seed. Imports TensorFlow
(through tf_ops): only the tf.data pipeline imports this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from alphagan_jax.data import tf_ops
from alphagan_jax.data.decoded_pool import DecodedFg, DecodedImages
from alphagan_jax.data.pools import Pool


class Entry(NamedTuple):
    height: Any  # int32 scalar tensor
    width: Any
    window: Callable  # (top, left, win) -> float32 win x win x C
    centre: Callable | None = None  # seed -> (y, x) int32, foregrounds only


def _full_getter(tf, pool: Pool, kind: str):
    """index -> whole decoded image: uint8 HxWx3 ('rgb') or float32 HxWx1 alpha ('alpha')."""
    if pool.arrays is not None:
        table = tf.constant(pool.arrays)
        if kind == "rgb":
            return lambda i: tf.gather(table, i)
        return lambda i: tf.cast(tf.gather(table, i), tf.float32)[:, :, None] / 255.0
    decode = tf_ops.decode_rgb if kind == "rgb" else tf_ops.decode_alpha
    if pool.encoded:
        blobs = tf.constant(list(pool.encoded), tf.string)
        return lambda i: decode(tf.gather(blobs, i))
    paths = tf.constant(list(pool.paths), tf.string)
    return lambda i: decode(tf.io.read_file(tf.gather(paths, i)))


def image_entry(tf, rgb) -> Entry:
    """An entry for a whole uint8 HxWx3 tensor (a streamed background)."""

    def window(top, left, win):
        return tf.cast(rgb[top : top + win, left : left + win], tf.float32) / 255.0

    return Entry(tf.shape(rgb)[0], tf.shape(rgb)[1], window)


def fg_from_pools(tf, fg: Pool, alpha: Pool) -> Callable[[Any], Entry]:
    """Foreground entries decoded per sample (window is RGB then alpha, 4 channels)."""
    get_fg, get_alpha = _full_getter(tf, fg, "rgb"), _full_getter(tf, alpha, "alpha")

    def lookup(i) -> Entry:
        rgb, a = get_fg(i), get_alpha(i)

        def window(top, left, win):
            # Crop before converting to float: only the window is ever touched in float.
            rgb_win = tf.cast(rgb[top : top + win, left : left + win], tf.float32) / 255.0
            return tf.concat([rgb_win, a[top : top + win, left : left + win]], axis=-1)

        return Entry(tf.shape(a)[0], tf.shape(a)[1], window, lambda seed: tf_ops.unknown_centre(seed, a))

    return lookup


def bg_from_pool(tf, bg: Pool) -> Callable[[Any], Entry]:
    get = _full_getter(tf, bg, "rgb")
    return lambda i: image_entry(tf, get(i))


class _Buffer:
    """A DecodedImages as TF constants, with row-range reads."""

    def __init__(self, tf, images: DecodedImages, channels: int):
        self.tf, self.channels = tf, channels
        self.flat = tf.constant(images.flat)
        self.offsets = tf.constant(images.offsets, tf.int64)
        self.shapes = tf.constant(images.shapes, tf.int64)
        self.scale = tf.constant(images.scale, tf.float32)

    def size(self, i):
        hw = self.tf.cast(self.tf.gather(self.shapes, i)[:2], self.tf.int32)
        return hw[0], hw[1]

    def window(self, i, top, left, win):
        """float32 win x win x C: levels / scale of rows [top, top + win), columns [left, left + win)."""
        tf = self.tf
        shape = tf.gather(self.shapes, i)
        row = shape[1] * shape[2]
        top, left, win = (tf.cast(v, tf.int64) for v in (top, left, win))
        # Only the crop's rows are read; they are contiguous in the row-major buffer.
        rows = tf.slice(self.flat, [tf.gather(self.offsets, i) + top * row], [win * row])
        rows = tf.reshape(rows, tf.stack([win, shape[1], shape[2]]))[:, left : left + win]
        rows.set_shape([None, None, self.channels])
        return tf.cast(rows, tf.float32) / tf.gather(self.scale, i)


def fg_from_decoded(tf, decoded: DecodedFg) -> Callable[[Any], Entry]:
    """Foreground entries from buffers decoded at start-up."""
    rgb, alpha = _Buffer(tf, decoded.rgb, 3), _Buffer(tf, decoded.alpha, 1)
    unknown = tf.constant(decoded.unknown.flat, tf.int32)
    unknown_offsets = tf.constant(decoded.unknown.offsets, tf.int64)
    unknown_counts = tf.constant(decoded.unknown.counts, tf.int32)

    def lookup(i) -> Entry:
        h, w = alpha.size(i)

        def window(top, left, win):
            return tf.concat([rgb.window(i, top, left, win), alpha.window(i, top, left, win)], axis=-1)

        def nth_unknown(r):
            linear = tf.gather(unknown, tf.gather(unknown_offsets, i) + tf.cast(r, tf.int64))
            return tf.stack([linear // w, linear % w])

        def centre(seed):
            return tf_ops.pick_centre(seed, tf.gather(unknown_counts, i), nth_unknown, h, w)

        return Entry(h, w, window, centre)

    return lookup


def bg_from_decoded(tf, decoded: DecodedImages) -> Callable[[Any], Entry]:
    buf = _Buffer(tf, decoded, 3)

    def lookup(i) -> Entry:
        h, w = buf.size(i)
        return Entry(h, w, lambda top, left, win: buf.window(i, top, left, win))

    return lookup
