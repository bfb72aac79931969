"""Image pools decoded once into host RAM, so a training sample costs no PNG/JPEG decode.

Decoding the full-resolution files is most of the cost of a sample: on one core an 800 px PNG fg takes
about 7 ms and its alpha 4 ms, of a 25 ms sample. Decoding each pool once at start-up, with the same TF
ops the per-sample path uses, gives bit-identical samples at several times the rate. Each pool becomes
one flat buffer of all its images back to back, and a sample slices only the rows of its crop.

For foregrounds, the row-major linear index of every 0 < alpha < 1 pixel is stored as well, so that
choosing a crop centre does not scan the whole matte.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from alphagan_jax.data.io import ImageReadError
from alphagan_jax.data.pools import Pool, check_pair_size

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecodedImages:
    """N images back to back in one row-major buffer; image i is flat[offsets[i]:][: h * w * c].

    `scale` is each image's full-scale level (255 for 8-bit, 65535 for 16-bit mattes): the sample value
    is level / scale, exactly as the per-sample decoder computes it.
    """

    flat: np.ndarray  # uint8 or uint16, 1-D
    offsets: np.ndarray  # int64 [N]
    shapes: np.ndarray  # int64 [N, 3] (height, width, channels)
    scale: np.ndarray  # float32 [N]

    @property
    def nbytes(self) -> int:
        return int(self.flat.nbytes)


@dataclass(frozen=True)
class UnknownIndex:
    """For each matte, the linear index y * width + x of its 0 < alpha < 1 pixels, in row-major order."""

    flat: np.ndarray  # int32, 1-D
    offsets: np.ndarray  # int64 [N]
    counts: np.ndarray  # int32 [N]


@dataclass(frozen=True)
class DecodedFg:
    rgb: DecodedImages
    alpha: DecodedImages
    unknown: UnknownIndex

    @property
    def nbytes(self) -> int:
        return self.rgb.nbytes + self.alpha.nbytes + int(self.unknown.flat.nbytes)


def _entry_name(pool: Pool, i: int) -> str:
    return pool.paths[i] if pool.paths else f"encoded entry {i} of the pool"


def estimate_nbytes(pool: Pool, channels: int) -> int:
    """Decoded size in bytes of a pool at one byte per channel, from the image headers only (PIL)."""
    if pool.arrays is not None:
        return int(np.prod(pool.arrays.shape[:3], dtype=np.int64)) * channels
    from PIL import Image

    total = 0
    for i in range(len(pool)):
        source = pool.paths[i] if pool.paths else io.BytesIO(pool.encoded[i])
        try:
            with Image.open(source) as img:  # reads the header, not the pixels
                w, h = img.size
        except Exception as e:
            raise ImageReadError(f"cannot read the image header of {_entry_name(pool, i)}: {e}") from e
        total += int(w) * int(h) * channels
    return total


def raise_for_undecodable(tf, pool: Pool, decode) -> None:
    """Decode a file/bytes pool one entry at a time and raise ImageReadError naming the first entry that
    fails. Slow; for finding the culprit after a batched decode failed."""
    if pool.arrays is not None:
        return
    for i in range(len(pool)):
        try:
            decode(tf.io.read_file(pool.paths[i]) if pool.paths else tf.constant(pool.encoded[i]))
        except tf.errors.OpError as e:
            raise ImageReadError(f"cannot decode {_entry_name(pool, i)}: {e.message}") from e


def _decode_all(tf, pool: Pool, decode) -> list:
    """All entries of a file/bytes pool through `decode` (a TF function of the encoded bytes), in
    parallel; a file that fails is found and named."""
    items = tf.constant(list(pool.paths or pool.encoded), tf.string)
    read = (lambda p: decode(tf.io.read_file(p))) if pool.paths else decode
    ds = tf.data.Dataset.from_tensor_slices(items).map(read, tf.data.AUTOTUNE, deterministic=True)
    try:
        return list(ds.as_numpy_iterator())
    except tf.errors.OpError:
        raise_for_undecodable(tf, pool, decode)
        raise


def _pack(images: list[np.ndarray], scales: list[float]) -> DecodedImages:
    shapes = np.array([im.shape for im in images], np.int64).reshape(-1, 3)
    sizes = np.prod(shapes, axis=1)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    flat = np.concatenate([im.reshape(-1) for im in images]) if images else np.zeros(0, np.uint8)
    return DecodedImages(flat, offsets, shapes, np.asarray(scales, np.float32))


def decode_rgb_pool(tf, pool: Pool) -> DecodedImages:
    """uint8 HxWx3 images: procedural arrays as they are, files through tf_ops.decode_rgb."""
    from alphagan_jax.data import tf_ops  # lazy: tf_ops imports TensorFlow

    if pool.arrays is not None:
        images = list(pool.arrays)
    else:
        images = _decode_all(tf, pool, tf_ops.decode_rgb)
    return _pack(images, [255.0] * len(images))


def decode_alpha_pool(tf, pool: Pool) -> tuple[DecodedImages, UnknownIndex]:
    """HxWx1 levels (uint8, or uint16 when any matte is 16-bit) and the unknown-pixel index."""
    from alphagan_jax.data import tf_ops  # lazy: tf_ops imports TensorFlow

    if pool.arrays is not None:
        levels = [a.reshape(a.shape[0], a.shape[1], 1) for a in pool.arrays]
        scales = [255.0] * len(levels)
    else:
        decoded = _decode_all(tf, pool, tf_ops.decode_alpha_levels)
        levels = [lv for lv, _ in decoded]
        scales = [float(s) for _, s in decoded]
    if all(s == 255.0 for s in scales):
        levels = [lv.astype(np.uint8) for lv in levels]
    unknown = [np.flatnonzero((lv > 0) & (lv < s)).astype(np.int32) for lv, s in zip(levels, scales, strict=True)]
    counts = np.array([len(u) for u in unknown], np.int32)
    offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)[:-1]]).astype(np.int64)
    flat = np.concatenate(unknown) if unknown else np.zeros(0, np.int32)
    return _pack(levels, scales), UnknownIndex(flat, offsets, counts)


def decode_fg_pool(tf, fg: Pool, alpha: Pool) -> DecodedFg:
    rgb = decode_rgb_pool(tf, fg)
    levels, unknown = decode_alpha_pool(tf, alpha)
    for i, (a, b) in enumerate(zip(rgb.shapes, levels.shapes, strict=True)):
        check_pair_size(_entry_name(fg, i), _entry_name(alpha, i), a, b)
    return DecodedFg(rgb, levels, unknown)


def decode_within_budget(tf, fg: Pool, alpha: Pool, bg: Pool, budget_mb: float) -> tuple[Any, Any]:
    """(DecodedFg or None, DecodedImages or None): the fg/alpha pool, then the background pool, each
    decoded when its estimated size fits in what is left of `budget_mb` (0 = decode every sample)."""
    budget = float(budget_mb) * 2**20
    decoded_fg = decoded_bg = None
    if budget > 0 and len(fg):
        need = estimate_nbytes(fg, 3) + estimate_nbytes(alpha, 1)
        if need <= budget:
            decoded_fg = decode_fg_pool(tf, fg, alpha)
            budget -= decoded_fg.nbytes
        else:
            _log.info("fg/alpha pool (~%.0f MB decoded) exceeds data.decoded_cache_mb", need / 2**20)
    if budget > 0 and len(bg):
        need = estimate_nbytes(bg, 3)
        if need <= budget:
            decoded_bg = decode_rgb_pool(tf, bg)
        else:
            _log.info("background pool (~%.0f MB decoded) exceeds the rest of data.decoded_cache_mb", need / 2**20)
    in_ram = [0.0 if x is None else x.nbytes / 2**20 for x in (decoded_fg, decoded_bg)]
    _log.info("decoded in RAM (the rest per sample): fg/alpha %.0f MB, backgrounds %.0f MB", *in_ram)
    return decoded_fg, decoded_bg
