"""Training composites made on the accelerator with JAX: the tf.data pipeline's recipe without TensorFlow.

With ``data.pipeline = "jax"`` the pools are decoded once (OpenCV), kept in accelerator memory as uint8
(alpha as uint16), and every batch is made by one jitted function: a crop around the unknown region at a
random scale, flips, colour changes, the photo's own background or a new one, the trimap from the alpha and
the composite. It is for hosts without TensorFlow (this project's GPU machines have none) and for feeding a
fast accelerator, which a few CPU cores of tf.data cannot.

The recipe is pipeline.py's, key for key; the samples are not the same ones. The random streams differ
(jax.random instead of TF's stateless ops), and a crop is resized in one pass with a triangle filter
(jax.image.scale_and_translate with antialiasing) instead of 2x box steps then bilinear, so every source
pixel still keeps a weight. That filter also reads the pixels just around the window, where tf.data's sees
only the window. Past the top and left edges of an image, and past every edge of a pool's largest image,
the missing taps are dropped and the others reweighted; a smaller image is padded to the pool's size with
its edge pixels, which the filter then reads past its bottom and right edges. The pools, so padded, must
fit in ``data.decoded_cache_mb``.

As in pipeline.py, sample k of the global stream (k = step * global_batch + position) depends only on
(seed, k): resume is exact, and host p of P makes positions [p * b, (p + 1) * b) of every global batch.
Foreground and background indices follow a fresh permutation per epoch.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from alphagan_jax.data.io import alpha_from_raw, decode_raw, read_alpha, read_rgb, rgb_from_raw
from alphagan_jax.data.pipeline import host_share
from alphagan_jax.data.sources import Pool, TrainPools, build_train_pools, check_pair_size

ALPHA_SNAP = 1.0 / 1024.0  # as tf_ops.ALPHA_SNAP: resize round-off near 0 and 1 is snapped
_ALPHA_LEVELS = 65535.0  # alpha is stored as uint16 levels: exact for 8-bit (x 257) and 16-bit mattes
_KEYS = (
    "fg_window",
    "fg_centre",
    "fg_flip",
    "bg_window",
    "bg_y",
    "bg_x",
    "bg_flip",
    "k_fg",
    "k_unk",
    "own_bg",
    "jitter_fg",
    "jitter_bg",
)


@dataclass(frozen=True)
class Stack:
    """Images of one pool padded to a common size: pixels [N, H, W, C] and each one's (height, width)."""

    pixels: Any
    sizes: Any


@dataclass(frozen=True)
class DevicePools:
    """The decoded pools. `unknown` holds the (y, x) of every 0 < alpha < 1 pixel, foreground after
    foreground; foreground i's run starts at `unknown_start[i]` and has `unknown_count[i]` entries."""

    fg: Stack
    alpha: Stack
    bg: Stack
    own_bg: Stack | None
    unknown: Any
    unknown_start: Any
    unknown_count: Any


jax.tree_util.register_dataclass(Stack, data_fields=["pixels", "sizes"], meta_fields=[])
jax.tree_util.register_dataclass(
    DevicePools,
    data_fields=["fg", "alpha", "bg", "own_bg", "unknown", "unknown_start", "unknown_count"],
    meta_fields=[],
)


def _rgb_images(pool: Pool, what: str) -> list[np.ndarray]:
    """uint8 HxWx3 RGB, as io.read_rgb reads files."""
    if pool.arrays is not None:
        return [rgb_from_raw(a) for a in np.asarray(pool.arrays)]
    return [read_rgb(p) for p in pool.paths] + [
        rgb_from_raw(decode_raw(c, f"{what} #{i}")) for i, c in enumerate(pool.encoded)
    ]


def _alpha_images(pool: Pool) -> list[np.ndarray]:
    """float32 HxW in [0, 1], as io.read_alpha reads files."""
    if pool.arrays is not None:
        return [alpha_from_raw(a, f"alpha #{i}") for i, a in enumerate(np.asarray(pool.arrays))]
    return [read_alpha(p) for p in pool.paths] + [
        alpha_from_raw(decode_raw(c, f"alpha #{i}"), f"alpha #{i}") for i, c in enumerate(pool.encoded)
    ]


def _stack(images: list[np.ndarray], dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    images = [img if img.ndim == 3 else img[:, :, None] for img in images]
    height = max(img.shape[0] for img in images)
    width = max(img.shape[1] for img in images)
    out = np.empty((len(images), height, width, images[0].shape[2]), dtype)
    for i, img in enumerate(images):
        pad = ((0, height - img.shape[0]), (0, width - img.shape[1]), (0, 0))
        out[i] = np.pad(img, pad, mode="edge")
    return out, np.array([img.shape[:2] for img in images], np.int32)


def _names(pool: Pool, what: str) -> list[str]:
    if pool.arrays is not None:
        return [f"{what} #{i}" for i in range(len(pool))]
    return [str(p) for p in pool.paths] + [f"{what} #{i}" for i in range(len(pool.encoded))]


def decode_pools(pools: TrainPools, budget_mb: float) -> DevicePools:
    """Decode every pool into host arrays (NumPy), padded per pool; device_put puts them on the device.

    Raises:
      ValueError: a TFDS background stream (not indexable), or pools larger than `budget_mb`, naming keys.
      ImageReadError: a file that does not decode, or a foreground and alpha of different sizes.
    """
    if pools.bg_tfds:
        raise ValueError(
            f"data.pipeline='jax' needs background images in a folder, not the TFDS dataset {pools.bg_tfds!r} "
            "(data.bg_path); use data.pipeline='tf' to stream it"
        )
    if not len(pools.bg):
        raise ValueError("data.pipeline='jax' needs a background pool: set data.bg_path to an image folder")
    stacks: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def add(name: str, images: list[np.ndarray], dtype: Any) -> None:
        # Checked pool by pool, so a set far over the budget fails before it is all in host memory.
        stacks[name] = _stack(images, dtype)
        total_mb = sum(s[0].nbytes for s in stacks.values()) / 2**20
        if total_mb > budget_mb:
            raise ValueError(
                f"data.pipeline='jax' keeps the decoded pools in accelerator memory: {total_mb:.0f} MB or more "
                f"(each pool padded to its largest image) > data.decoded_cache_mb={budget_mb:g}; raise it, or "
                "use data.pipeline='tf'"
            )

    fgs, alphas = _rgb_images(pools.fg, "foreground"), _alpha_images(pools.alpha)
    fg_names, alpha_names = _names(pools.fg, "foreground"), _names(pools.alpha, "alpha")
    for name_f, name_a, f, a in zip(fg_names, alpha_names, fgs, alphas, strict=True):
        check_pair_size(name_f, name_a, f.shape, a.shape)
    add("fg", fgs, np.uint8)
    add("alpha", [np.round(a * _ALPHA_LEVELS).astype(np.uint16) for a in alphas], np.uint16)
    add("bg", _rgb_images(pools.bg, "background"), np.uint8)
    if len(pools.own_bg):
        add("own_bg", _rgb_images(pools.own_bg, "own background"), np.uint8)
    unknown = [np.argwhere((a > 0) & (a < 1)).astype(np.int32) for a in alphas]
    counts = np.array([len(u) for u in unknown], np.int32)
    return DevicePools(
        fg=Stack(*stacks["fg"]),
        alpha=Stack(*stacks["alpha"]),
        bg=Stack(*stacks["bg"]),
        own_bg=Stack(*stacks["own_bg"]) if "own_bg" in stacks else None,
        unknown=np.concatenate(unknown + [np.zeros((1, 2), np.int32)]),  # never empty: a gather needs a row
        unknown_start=np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32),
        unknown_count=counts,
    )


# --- per-sample ops (traced; every shape static, sizes and offsets traced) ---------------------------------


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

    def dilate(mask, k):
        return window_max(window_max(mask, k, 0, k_max), k, 1, k_max)

    solid = (alpha >= 1.0).astype(jnp.float32)
    fg = 1.0 - dilate(1.0 - solid, fg_kernel)
    unknown = dilate((alpha > 0.0).astype(jnp.float32), unknown_kernel)
    return jnp.where(fg > 0.5, 1.0, jnp.where(unknown > 0.5, 0.5, 0.0))


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


def adjust_hue(rgb: jax.Array, delta: jax.Array) -> jax.Array:
    """tf.image.adjust_hue: the hue turned by `delta` turns of the colour wheel."""
    hsv = rgb_to_hsv(rgb)
    return hsv_to_rgb(hsv.at[..., 0].set(jnp.mod(hsv[..., 0] + delta, 1.0)))


def adjust_saturation(rgb: jax.Array, factor: jax.Array) -> jax.Array:
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


def crop_resize(
    stack: Stack, i: jax.Array, top: jax.Array, left: jax.Array, win: jax.Array, size: int, max_win: int
) -> jax.Array:
    """Window [top, top + win) x [left, left + win) of image i, resized to size x size (float32, C channels).

    Only a static (max_win + margins)-sided block around the window is read, so the cost does not grow with
    the image. Downscaling uses a triangle filter (every source pixel keeps a weight); upscaling is bilinear.
    """
    _, height, width, channels = stack.pixels.shape
    margin = int(math.ceil(max_win / size)) + 2  # the filter's reach past the window, in source pixels
    bh, bw = min(max_win + 2 * margin, height), min(max_win + 2 * margin, width)
    top0 = jnp.clip(top - margin, 0, height - bh)
    left0 = jnp.clip(left - margin, 0, width - bw)
    block = jax.lax.dynamic_slice(stack.pixels, (i, top0, left0, 0), (1, bh, bw, channels))[0]
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


def _epoch_index(key: jax.Array, k: jax.Array, n: int, tag: int) -> jax.Array:
    """Entry k % n of a random permutation of range(n), fresh for every epoch k // n.

    With threefry's partitionable splitting (JAX's default), split(key)[j] equals fold_in(key, j), so the
    key of epoch e's permutation is also sample 1's e-th draw key (tf_ops' seeds overlap the same way). The
    permutations stay uniform; kept as is, so the runs in the README reproduce.
    """
    if n == 1:
        return jnp.int32(0)
    epoch_key = jax.random.fold_in(jax.random.fold_in(key, tag), k // n)
    return jax.random.permutation(epoch_key, n)[k % n]


def _window_size(key, choices: tuple[int, ...], scale_range: tuple[float, float], height, width):
    """round(c / s) for a random crop choice c and scale s, capped by the image's short side."""
    k_c, k_s = jax.random.split(key)
    c = jnp.array(choices, jnp.float32)[jax.random.randint(k_c, (), 0, len(choices))]
    s = jax.random.uniform(k_s, (), minval=scale_range[0], maxval=scale_range[1])
    return jnp.clip(jnp.round(c / s).astype(jnp.int32), 1, jnp.minimum(height, width))


def _maybe_flip(key, img):
    return jnp.where(jax.random.uniform(key) < 0.5, img[:, ::-1], img)


def make_sample_fn(data_config: Any, seed: int, n_fg: int, n_bg: int, has_own: bool):
    """(DevicePools, global index k) -> one sample {image, trimap, alpha, fg, bg}, float32 HxWxC."""
    size = int(data_config.crop_size)
    choices = tuple(int(c) for c in data_config.crop_choices)
    scale_range = (float(data_config.scale_range[0]), float(data_config.scale_range[1]))
    k_lo, k_hi = (int(v) for v in data_config.trimap_kernel_range)
    flip = bool(data_config.flip)
    own_prob = float(data_config.own_bg_prob) if has_own else 0.0
    jitter = tuple(float(v) for v in data_config.color_jitter)
    max_win = int(round(max(choices) / scale_range[0]))
    base = jax.random.PRNGKey(seed)

    def sample(pools: DevicePools, k: jax.Array) -> dict[str, jax.Array]:
        keys = dict(zip(_KEYS, jax.random.split(jax.random.fold_in(base, k), len(_KEYS)), strict=True))
        i = _epoch_index(base, k, n_fg, 1)
        h, w = pools.fg.sizes[i, 0], pools.fg.sizes[i, 1]
        win = _window_size(keys["fg_window"], choices, scale_range, h, w)
        count = pools.unknown_count[i]
        k_r, k_y, k_x = jax.random.split(keys["fg_centre"], 3)
        r = jax.random.randint(k_r, (), 0, jnp.maximum(count, 1))
        yx = jnp.where(
            count > 0,
            pools.unknown[pools.unknown_start[i] + r],
            jnp.stack([jax.random.randint(k_y, (), 0, h), jax.random.randint(k_x, (), 0, w)]),
        )
        top = jnp.clip(yx[0] - win // 2, 0, h - win)
        left = jnp.clip(yx[1] - win // 2, 0, w - win)
        cut = lambda stack: crop_resize(stack, i, top, left, win, size, max_win)  # noqa: E731
        fga = jnp.concatenate([cut(pools.fg) / 255.0, cut(pools.alpha) / _ALPHA_LEVELS], axis=-1)
        if own_prob > 0:
            fga = jnp.concatenate([fga, cut(pools.own_bg) / 255.0], axis=-1)
        if flip:
            fga = _maybe_flip(keys["fg_flip"], fga)
        fg = jnp.clip(fga[:, :, :3], 0.0, 1.0)
        a = jnp.clip(fga[:, :, 3:4], 0.0, 1.0)
        alpha = jnp.where(a < ALPHA_SNAP, 0.0, jnp.where(a > 1.0 - ALPHA_SNAP, 1.0, a))

        j = _epoch_index(base, k, n_bg, 2)
        bh, bw = pools.bg.sizes[j, 0], pools.bg.sizes[j, 1]
        bwin = _window_size(keys["bg_window"], choices, scale_range, bh, bw)
        btop = jax.random.randint(keys["bg_y"], (), 0, bh - bwin + 1)
        bleft = jax.random.randint(keys["bg_x"], (), 0, bw - bwin + 1)
        bg = jnp.clip(crop_resize(pools.bg, j, btop, bleft, bwin, size, max_win) / 255.0, 0.0, 1.0)
        if flip:
            bg = _maybe_flip(keys["bg_flip"], bg)
        bg_jitter_key = keys["jitter_bg"]
        if own_prob > 0:
            own = jax.random.uniform(keys["own_bg"]) < own_prob
            bg = jnp.where(own, jnp.clip(fga[:, :, 4:7], 0.0, 1.0), bg)
            # A replayed photo keeps its own colour relation: its background gets the foreground's change.
            bg_jitter_key = jnp.where(own, keys["jitter_fg"], keys["jitter_bg"])
        if any(jitter):
            fg = color_jitter(keys["jitter_fg"], fg, *jitter)
            bg = color_jitter(bg_jitter_key, bg, *jitter)
        k_fg = jax.random.randint(keys["k_fg"], (), k_lo, k_hi + 1)
        k_unk = jax.random.randint(keys["k_unk"], (), k_lo, k_hi + 1)
        trimap = trimap_from_alpha(alpha, k_fg, k_unk, k_hi)
        image = alpha * fg + (1.0 - alpha) * bg
        return {"image": image, "trimap": trimap, "alpha": alpha, "fg": fg, "bg": bg}

    return sample


def make_device_train_iterator(
    data_config: Any,
    *,
    global_batch_size: int,
    seed: int,
    start_step: int = 0,
    process_index: int | None = None,
    process_count: int | None = None,
    pools: TrainPools | None = None,
) -> Iterator[dict[str, jax.Array]]:
    """This host's endless batches {image, trimap, alpha, fg, bg} (float32 NHWC) on its first local device.

    The contract of pipeline.make_train_iterator, with jax Arrays instead of NumPy: the step can take them
    without a trip through host memory.
    """
    p, b = host_share(global_batch_size, process_index, process_count)
    pools = pools if pools is not None else build_train_pools(data_config, seed)
    decoded = decode_pools(pools, float(data_config.decoded_cache_mb))
    own = decoded.own_bg is not None and float(data_config.own_bg_prob) > 0
    if not own:
        decoded = dataclasses.replace(decoded, own_bg=None)
    sample = make_sample_fn(data_config, seed, len(pools.fg), len(pools.bg), own)
    device = jax.local_devices()[0]
    on_device = jax.device_put(decoded, device)

    @jax.jit
    def batch(pools_: DevicePools, step: jax.Array) -> dict[str, jax.Array]:
        # uint32 wraps after 2**32 samples (134 M steps of 32), far past any run here.
        k = step.astype(jnp.uint32) * global_batch_size + p * b + jnp.arange(b, dtype=jnp.uint32)
        return jax.vmap(sample, in_axes=(None, 0))(pools_, k)

    def stream() -> Iterator[dict[str, jax.Array]]:
        step = int(start_step)
        while True:
            yield batch(on_device, jnp.uint32(step))
            step += 1

    return stream()
