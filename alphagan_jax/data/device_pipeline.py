"""Training composites made on the accelerator with JAX: the tf.data pipeline's recipe without TensorFlow.

With ``data.pipeline = "jax"`` the pools are decoded once (OpenCV), kept in accelerator memory as uint8
(alpha as uint16), and every batch is made by one jitted function: a crop around the unknown region at a
random scale, flips, colour changes, the photo's own background or a new one, the trimap from the alpha and
the composite. It is for hosts without TensorFlow (this project's GPU machines have none) and for feeding a
fast accelerator, which a few CPU cores of tf.data cannot.

The recipe is pipeline.py's (recipe.py), key for key; the samples are not the same ones. The random streams differ
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from alphagan_jax.data import jnp_ops as ops
from alphagan_jax.data.io import alpha_from_raw, decode_raw, read_alpha, read_rgb, rgb_from_raw
from alphagan_jax.data.pools import Pool, TrainPools, check_pair_size
from alphagan_jax.data.recipe import SAMPLE_KEYS, SampleRecipe, host_share
from alphagan_jax.data.sources import build_train_pools

if TYPE_CHECKING:  # only for annotations: the data package runs on any config-like object
    from ml_collections import ConfigDict

_ALPHA_LEVELS = 65535.0  # alpha is stored as uint16 levels: exact for 8-bit (x 257) and 16-bit mattes


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

SampleFn = Callable[[DevicePools, jax.Array], dict[str, jax.Array]]


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


def make_sample_fn(recipe: SampleRecipe, seed: int, n_fg: int, n_bg: int, has_own: bool) -> SampleFn:
    """(DevicePools, global index k) -> one sample {image, trimap, alpha, fg, bg}, float32 HxWxC, made by
    recipe.py's steps with jnp_ops."""
    size, choices, scale_range = recipe.crop_size, recipe.crop_choices, recipe.scale_range
    k_max = recipe.trimap_kernel_range[1]
    own_prob = recipe.own_bg_prob if has_own else 0.0
    max_win = recipe.max_window
    base = jax.random.PRNGKey(seed)

    def sample(pools: DevicePools, k: jax.Array) -> dict[str, jax.Array]:
        keys = dict(zip(SAMPLE_KEYS, jax.random.split(jax.random.fold_in(base, k), len(SAMPLE_KEYS)), strict=True))
        i = ops.epoch_index(base, k, n_fg, 1)
        h, w = pools.fg.sizes[i, 0], pools.fg.sizes[i, 1]
        win = ops.window_size(keys["fg_window"], choices, scale_range, h, w)
        start = pools.unknown_start[i]
        yx = ops.pick_centre(keys["fg_centre"], pools.unknown_count[i], lambda r: pools.unknown[start + r], h, w)
        top, left = ops.window_around(yx[0], yx[1], win, h, w)
        cut = lambda stack: ops.crop_resize(stack.pixels, i, top, left, win, size, max_win)
        fga = jnp.concatenate([cut(pools.fg) / 255.0, cut(pools.alpha) / _ALPHA_LEVELS], axis=-1)
        if own_prob > 0:
            fga = jnp.concatenate([fga, cut(pools.own_bg) / 255.0], axis=-1)
        if recipe.flip:
            fga = ops.maybe_flip(keys["fg_flip"], fga)
        fg = jnp.clip(fga[:, :, :3], 0.0, 1.0)
        alpha = ops.snap_alpha(fga[:, :, 3:4])

        j = ops.epoch_index(base, k, n_bg, 2)
        bh, bw = pools.bg.sizes[j, 0], pools.bg.sizes[j, 1]
        bwin = ops.window_size(keys["bg_window"], choices, scale_range, bh, bw)
        btop = jax.random.randint(keys["bg_y"], (), 0, bh - bwin + 1)
        bleft = jax.random.randint(keys["bg_x"], (), 0, bw - bwin + 1)
        bg = jnp.clip(ops.crop_resize(pools.bg.pixels, j, btop, bleft, bwin, size, max_win) / 255.0, 0.0, 1.0)
        if recipe.flip:
            bg = ops.maybe_flip(keys["bg_flip"], bg)
        bg_jitter_key = keys["jitter_bg"]
        if own_prob > 0:  # recipe steps 3 and 4
            own = jax.random.uniform(keys["own_bg"]) < own_prob
            bg = jnp.where(own, jnp.clip(fga[:, :, 4:7], 0.0, 1.0), bg)
            bg_jitter_key = jnp.where(own, keys["jitter_fg"], keys["jitter_bg"])
        if recipe.jitters:
            fg = ops.color_jitter(keys["jitter_fg"], fg, *recipe.color_jitter)
            bg = ops.color_jitter(bg_jitter_key, bg, *recipe.color_jitter)
        k_fg = ops.random_kernel(keys["k_fg"], recipe.trimap_kernel_range)
        k_unk = ops.random_kernel(keys["k_unk"], recipe.trimap_kernel_range)
        trimap = ops.trimap_from_alpha(alpha, k_fg, k_unk, k_max)
        return {"image": ops.composite(alpha, fg, bg), "trimap": trimap, "alpha": alpha, "fg": fg, "bg": bg}

    return sample


def make_device_train_iterator(
    data_config: ConfigDict,
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
    recipe = SampleRecipe.from_config(data_config)
    p, b = host_share(global_batch_size, process_index, process_count)
    pools = pools if pools is not None else build_train_pools(data_config, seed)
    decoded = decode_pools(pools, float(data_config.decoded_cache_mb))
    own = recipe.replays_own_bg(len(pools.own_bg))
    if not own:
        decoded = dataclasses.replace(decoded, own_bg=None)
    sample = make_sample_fn(recipe, seed, len(pools.fg), len(pools.bg), own)
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
