"""The tf.data training pipeline: on-the-fly composites, sharded per host, deterministic per (seed, index).

Sample k of the global stream (k = step * global_batch + position) uses only stateless random ops seeded by
(seed, k): its foreground is entry k % N of a per-epoch permutation of the N foregrounds (likewise for the
backgrounds), so each epoch shows every foreground once, and `start_step` reproduces an uninterrupted run
exactly. Host p of P takes positions [p * b, (p + 1) * b) of every global batch (b = global_batch / P).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import tensorflow as tf

from alphagan_jax.data import pool_lookup
from alphagan_jax.data import tf_ops as ops
from alphagan_jax.data.decoded_pool import decode_rgb_pool, decode_within_budget, raise_for_undecodable
from alphagan_jax.data.pools import TrainPools
from alphagan_jax.data.recipe import SAMPLE_KEYS, SampleRecipe, host_share
from alphagan_jax.data.sources import build_train_pools

if TYPE_CHECKING:  # only for annotations: the data package runs on any config-like object
    from ml_collections import ConfigDict


def import_tf() -> Any:
    """TensorFlow with its GPUs hidden: JAX owns the accelerators, tf.data only uses CPUs."""
    try:
        tf.config.set_visible_devices([], "GPU")
    except RuntimeError:  # already initialised; the devices were hidden by the first call
        pass
    return tf


def make_sample_fn(
    tf: Any,
    pools: TrainPools,
    recipe: SampleRecipe,
    seed: int,
    decoded: tuple[Any, Any] = (None, None),
    decoded_own: Any = None,
) -> Callable[..., dict[str, Any]]:
    """The map function: (global index k[, encoded bg]) -> dict of float32 tensors for one sample, made by
    recipe.py's steps with tf_ops.

    `decoded` is (DecodedFg or None, DecodedImages or None) from decoded_pool.decode_within_budget, and
    `decoded_own` the decoded own-background pool or None; a pool without one is decoded per sample. Both
    give the same sample for the same k.
    """
    size, choices, scale_range = recipe.crop_size, recipe.crop_choices, recipe.scale_range
    decoded_fg, decoded_bg = decoded
    fg_entry = (
        pool_lookup.fg_from_decoded(tf, decoded_fg)
        if decoded_fg is not None
        else pool_lookup.fg_from_pools(tf, pools.fg, pools.alpha)
    )
    bg_entry = None
    if decoded_bg is not None:
        bg_entry = pool_lookup.bg_from_decoded(tf, decoded_bg)
    elif len(pools.bg):
        bg_entry = pool_lookup.bg_from_pool(tf, pools.bg)
    n_fg, n_bg = len(pools.fg), len(pools.bg)
    own_entry = None
    if recipe.replays_own_bg(len(pools.own_bg)):
        own_entry = (
            pool_lookup.bg_from_decoded(tf, decoded_own)
            if decoded_own is not None
            else pool_lookup.bg_from_pool(tf, pools.own_bg)
        )

    def sample(k: Any, bg_contents: Any = None) -> dict[str, Any]:
        base = tf.stack([tf.constant(seed, tf.int64), k])
        s = {name: ops.fold_seed(base, i) for i, name in enumerate(SAMPLE_KEYS)}

        fg_index = ops.epoch_index(k, seed, n_fg, 1)
        fg_src = fg_entry(fg_index)
        h, w = fg_src.height, fg_src.width
        win = ops.window_size(s["fg_window"], choices, scale_range, h, w)
        assert fg_src.centre is not None  # foreground entries have one
        y, x = fg_src.centre(s["fg_centre"])
        top, left = ops.window_around(y, x, win, h, w)
        fga = fg_src.window(top, left, win)
        if own_entry is not None:
            # The own background rides along as channels 4..6, so it gets the foreground's resize and flip.
            fga = tf.concat([fga, own_entry(fg_index).window(top, left, win)], axis=-1)
        fga = ops.resize_square(fga, size)
        if recipe.flip:
            fga = ops.maybe_flip(s["fg_flip"], fga)
        fg = tf.clip_by_value(fga[:, :, :3], 0.0, 1.0)
        alpha = ops.snap_alpha(fga[:, :, 3:4])

        if bg_contents is not None:
            bg_src = pool_lookup.image_entry(tf, ops.decode_rgb(bg_contents))
        else:
            assert bg_entry is not None  # without a background pool, backgrounds stream in as bg_contents
            bg_src = bg_entry(ops.epoch_index(k, seed, n_bg, 2))
        bh, bw = bg_src.height, bg_src.width
        bwin = ops.window_size(s["bg_window"], choices, scale_range, bh, bw)
        btop = ops.randint(s["bg_y"], 0, bh - bwin + 1)
        bleft = ops.randint(s["bg_x"], 0, bw - bwin + 1)
        bg = tf.clip_by_value(ops.resize_square(bg_src.window(btop, bleft, bwin), size), 0.0, 1.0)
        if recipe.flip:
            bg = ops.maybe_flip(s["bg_flip"], bg)
        bg_jitter_seed = s["jitter_bg"]
        if own_entry is not None:  # recipe steps 3 and 4
            own = tf.random.stateless_uniform([], s["own_bg"], 0.0, 1.0) < recipe.own_bg_prob
            bg = tf.where(own, tf.clip_by_value(fga[:, :, 4:7], 0.0, 1.0), bg)
            bg_jitter_seed = tf.where(own, s["jitter_fg"], s["jitter_bg"])
        if recipe.jitters:
            fg = ops.color_jitter(s["jitter_fg"], fg, *recipe.color_jitter)
            bg = ops.color_jitter(bg_jitter_seed, bg, *recipe.color_jitter)

        trimap = ops.trimap_from_alpha(
            alpha,
            ops.random_kernel(s["k_fg"], recipe.trimap_kernel_range),
            ops.random_kernel(s["k_unk"], recipe.trimap_kernel_range),
        )
        return {"image": ops.composite(alpha, fg, bg), "trimap": trimap, "alpha": alpha, "fg": fg, "bg": bg}

    return sample


def _bg_stream(tf: Any, pools: TrainPools, seed: int, shuffle_buffer: int) -> Any:
    """Endless, deterministically shuffled encoded backgrounds from a TFDS dataset (e.g. coco/2017)."""
    import tensorflow_datasets as tfds  # here: a heavy import that only a TFDS background stream needs

    ds = tfds.load(
        pools.bg_tfds,
        split="train",
        shuffle_files=False,
        data_dir=pools.tfds_data_dir or None,
        decoders={"image": tfds.decode.SkipDecoding()},
    )
    ds = ds.map(lambda ex: ex["image"]).repeat()
    return ds.shuffle(max(int(shuffle_buffer), 1), seed=seed, reshuffle_each_iteration=True)


def make_train_dataset(
    data_config: ConfigDict,
    *,
    global_batch_size: int,
    seed: int,
    start_step: int = 0,
    process_index: int | None = None,
    process_count: int | None = None,
    pools: TrainPools | None = None,
) -> Any:
    """This host's endless tf.data.Dataset of batches {image, trimap, alpha, fg, bg} (float32, NHWC).

    Args:
      data_config: the `data` block of the config (configs/default.py).
      global_batch_size: batch over all hosts; must be divisible by the process count.
      seed: stream seed; the same seed gives the same stream.
      start_step: first step to produce (resume); batches equal those of an uninterrupted run.
      process_index, process_count: override jax.process_index()/process_count() (tests, tools).
      pools: prebuilt pools (skips building them from data_config).
    """
    recipe = SampleRecipe.from_config(data_config)
    tf = import_tf()
    p, b = host_share(global_batch_size, process_index, process_count)
    pools = pools if pools is not None else build_train_pools(data_config, seed)
    decoded = decode_within_budget(tf, pools.fg, pools.alpha, pools.bg, data_config.decoded_cache_mb)
    # Own backgrounds are as large as the foregrounds, which decode_within_budget found to fit.
    decoded_own = (
        decode_rgb_pool(tf, pools.own_bg)
        if decoded[0] is not None and recipe.replays_own_bg(len(pools.own_bg))
        else None
    )
    sample = make_sample_fn(tf, pools, recipe, seed, decoded, decoded_own)

    local = tf.data.Dataset.range(int(start_step) * b, np.iinfo(np.int64).max)
    # Local index j -> global index: host p owns positions [p*b, (p+1)*b) of each global batch.
    ds = local.map(lambda j: (j // b) * global_batch_size + p * b + j % b)
    calls = tf.data.AUTOTUNE if data_config.num_parallel_calls < 0 else int(data_config.num_parallel_calls)
    if pools.bg_tfds:
        bgs = _bg_stream(tf, pools, seed, data_config.shuffle_buffer)
        # Backgrounds stream in order, so this host reads its own shard of it; skip keeps resume exact.
        bgs = bgs.shard(global_batch_size // b, p).skip(int(start_step) * b)
        ds = tf.data.Dataset.zip((ds, bgs)).map(sample, num_parallel_calls=calls, deterministic=True)
    else:
        ds = ds.map(sample, num_parallel_calls=calls, deterministic=True)
    ds = ds.batch(b, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = True
    if data_config.threads > 0:
        options.threading.private_threadpool_size = int(data_config.threads)
        options.threading.max_intra_op_parallelism = 1
    return ds.with_options(options)


def _naming_bad_files(tf: Any, batches: Iterator, pools: TrainPools) -> Iterator:
    """`batches`, except that a decode error inside tf.data (which cannot say which file it was reading)
    becomes an ImageReadError naming the file, found by decoding the pools one file at a time."""

    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except tf.errors.OpError:
            for pool, decode in (
                (pools.fg, ops.decode_rgb),
                (pools.alpha, ops.decode_alpha),
                (pools.bg, ops.decode_rgb),
                (pools.own_bg, ops.decode_rgb),
            ):
                raise_for_undecodable(tf, pool, decode)
            raise
        yield batch


def make_train_iterator(
    data_config: ConfigDict, *, global_batch_size: int, seed: int, start_step: int = 0, **kwargs
) -> Iterator[dict[str, np.ndarray]]:
    """This host's batches as NumPy: image/fg/bg NxHxWx3, trimap ({0, 0.5, 1}) and alpha NxHxWx1, float32.

    Keyword arguments beyond the contract (process_index, process_count, pools) go to make_train_dataset.
    A file that fails to decode mid-run raises ImageReadError naming it.
    """
    tf = import_tf()
    pools = kwargs.pop("pools", None)
    pools = pools if pools is not None else build_train_pools(data_config, seed)
    ds = make_train_dataset(
        data_config, global_batch_size=global_batch_size, seed=seed, start_step=start_step, pools=pools, **kwargs
    )
    return _naming_bad_files(tf, ds.as_numpy_iterator(), pools)
