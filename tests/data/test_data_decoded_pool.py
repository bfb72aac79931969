"""Pools decoded once into RAM must give exactly the samples that decoding every sample gives."""

import shutil

import numpy as np
import pytest
from helpers import batches, small_config, write_image

from alphagan_jax.data.io import ImageReadError, list_images
from alphagan_jax.data.pools import Pool, TrainPools
from alphagan_jax.data.sources import build_train_pools

SEED = 3


def config(path, **overrides):
    return small_config(source="folder", path=str(path), **overrides)


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory):
    """Every storage case: 8- and 16-bit mattes, an RGBA fg with no alpha file, a matte with no unknown
    pixel, a JPEG fg smaller than the crops, grey and JPEG backgrounds, odd sizes."""
    root = tmp_path_factory.mktemp("mixed") / "Train"
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:90, 0:71]
    soft = np.clip((30 - np.hypot(yy - 45, xx - 35)) / 10, 0, 1)
    rgb = lambda h, w: rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    write_image(root / "fg" / "a.png", rgb(90, 71))
    write_image(root / "alpha" / "a.png", np.round(soft * 65535).astype(np.uint16))
    write_image(root / "fg" / "b.jpg", rgb(40, 30))
    write_image(root / "alpha" / "b.png", np.round(soft[:40, :30] * 255).astype(np.uint8))
    rgba = np.concatenate([rgb(90, 71), np.round(soft * 255).astype(np.uint8)[..., None]], 2)
    write_image(root / "fg" / "c.png", rgba)
    write_image(root / "fg" / "d.png", rgb(77, 120))
    write_image(root / "alpha" / "d.png", np.where(rng.random((77, 120)) < 0.5, 255, 0).astype(np.uint8))  # binary
    write_image(root / "bg" / "grey.png", rng.integers(0, 256, (50, 61), dtype=np.uint8))
    write_image(root / "bg" / "photo.jpg", rgb(100, 81))
    return root.parent


def test_decoded_pools_give_the_per_sample_stream_exactly(mixed_folder):
    from alphagan_jax.data.decoded_pool import decode_within_budget
    from alphagan_jax.data.pipeline import import_tf

    pools = build_train_pools(config(mixed_folder), 0)
    decoded_fg, decoded_bg = decode_within_budget(import_tf(), pools.fg, pools.alpha, pools.bg, 64)
    assert decoded_fg is not None and decoded_bg is not None  # the comparison below really uses them
    assert decoded_fg.alpha.flat.dtype == np.uint16  # a.png is 16-bit, so levels keep 16 bits
    assert decoded_fg.unknown.counts[list(pools.fg.paths).index(str(mixed_folder / "Train/fg/d.png"))] == 0

    per_sample = batches(config(mixed_folder, decoded_cache_mb=0), 6, pools, seed=SEED)
    in_ram = batches(config(mixed_folder), 6, pools, seed=SEED)
    for a, b in zip(per_sample, in_ram, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_unknown_index_matches_the_matte(mixed_folder):
    """The precomputed unknown pixels are exactly the 0 < alpha < 1 pixels of each matte read by OpenCV."""
    from alphagan_jax.data.decoded_pool import decode_alpha_pool
    from alphagan_jax.data.io import read_alpha
    from alphagan_jax.data.pipeline import import_tf

    pools = build_train_pools(config(mixed_folder), 0)
    levels, unknown = decode_alpha_pool(import_tf(), pools.alpha)
    for i, path in enumerate(pools.alpha.paths):
        a = read_alpha(path)
        expect = np.flatnonzero((a > 0) & (a < 1))
        got = unknown.flat[unknown.offsets[i] : unknown.offsets[i] + unknown.counts[i]]
        np.testing.assert_array_equal(got, expect, err_msg=path)
        h, w = a.shape[:2]
        start = levels.offsets[i]
        stored = levels.flat[start : start + h * w].reshape(h, w) / levels.scale[i]
        np.testing.assert_array_equal(stored.astype(np.float32), a.reshape(h, w).astype(np.float32), err_msg=path)


def test_budget_decides_what_is_decoded(mixed_folder):
    from alphagan_jax.data.decoded_pool import decode_within_budget, estimate_nbytes
    from alphagan_jax.data.pipeline import import_tf

    tf = import_tf()
    pools = build_train_pools(config(mixed_folder), 0)
    fg_bytes = estimate_nbytes(pools.fg, 3) + estimate_nbytes(pools.alpha, 1)
    assert fg_bytes == (90 * 71 * 2 + 40 * 30 + 77 * 120) * 4  # from the sizes written above
    assert estimate_nbytes(pools.bg, 3) == (50 * 61 + 100 * 81) * 3 < fg_bytes
    assert decode_within_budget(tf, pools.fg, pools.alpha, pools.bg, 0) == (None, None)
    fg, bg = decode_within_budget(tf, pools.fg, pools.alpha, pools.bg, (fg_bytes - 1) / 2**20)
    assert fg is None and bg is not None  # fg does not fit; the smaller bg pool does
    fg, bg = decode_within_budget(tf, pools.fg, pools.alpha, pools.bg, fg_bytes / 2**20 * 1.2)
    assert fg is not None and bg is None  # fg fits, then too little is left for bg


@pytest.mark.parametrize("cache_mb", [0, 64])
def test_corrupt_background_is_named(mixed_folder, tmp_path, cache_mb):
    """In RAM the file fails at start-up; decoded per sample it fails inside tf.data: both name it."""
    root = tmp_path / "data"
    shutil.copytree(mixed_folder, root)
    (root / "Train" / "bg" / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(ImageReadError, match="photo.jpg"):
        batches(config(root, decoded_cache_mb=cache_mb), 4, seed=SEED)


def test_real_images_decoded_in_ram_match_per_sample(shared_data):
    fgs = [str(p) for p in list_images(shared_data / "alphamatting" / "image")][:4]
    alphas = [str(p) for p in list_images(shared_data / "alphamatting" / "alpha")][:4]
    bgs = [str(p) for p in list_images(shared_data / "backgrounds")][:4]
    pools = TrainPools(fg=Pool(paths=tuple(fgs)), alpha=Pool(paths=tuple(alphas)), bg=Pool(paths=tuple(bgs)))
    cfg = config("", crop_size=128, crop_choices=(320, 480, 640), trimap_kernel_range=(1, 30))
    a = batches(cfg, 2, pools, batch=4, seed=SEED)
    cfg.decoded_cache_mb = 0
    b = batches(cfg, 2, pools, batch=4, seed=SEED)
    for x, y in zip(a, b, strict=True):
        for key in x:
            np.testing.assert_array_equal(x[key], y[key], err_msg=key)
