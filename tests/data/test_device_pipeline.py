"""data.pipeline='jax': composites made on the accelerator, checked against OpenCV, TensorFlow and the
definitions of a sample (alpha, trimap, composite, own background), and the trainer run without TensorFlow."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import REPO_ROOT
from helpers import batches, require_module, small_config, write_image

from alphagan_jax.data import device_pipeline as dp
from alphagan_jax.data import jnp_ops
from alphagan_jax.data.pools import Pool, TrainPools
from alphagan_jax.data.recipe import ALPHA_SNAP
from alphagan_jax.data.trimap import make_trimap


def _pools(tmp_path, n=3, own=True, sizes=((90, 120), (70, 64), (128, 100))):
    """A folder training set: foregrounds whose red channel is their alpha, and (own=True) own backgrounds
    equal to their foregrounds, so that a misaligned crop or flip shows as a mismatch."""
    rng = np.random.default_rng(0)
    root = tmp_path / "set"
    for i in range(n):
        h, w = sizes[i % len(sizes)]
        yy, xx = np.mgrid[:h, :w]
        # A disc with a soft edge plus noise: solid, transparent and fractional regions.
        d = np.hypot(yy - h / 2, xx - w / 2) - min(h, w) / 4
        alpha = np.clip(0.5 - d / 6, 0, 1) * 255
        alpha = np.round(alpha).astype(np.uint8)
        fg = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        fg[:, :, 0] = alpha
        fg[:, :, 2] = 40 * (i + 1)  # names the foreground in any crop
        write_image(root / "fg" / f"p{i}.png", fg)
        write_image(root / "alpha" / f"p{i}.png", alpha)
        if own:
            write_image(root / "bg_own" / f"p{i}.png", fg)
        write_image(root / "bg" / f"b{i}.png", rng.integers(0, 256, (150 + 10 * i, 130, 3), dtype=np.uint8))
    return root


def _config(root, **overrides):
    c = small_config(source="folder", path=str(root), bg_path=str(root / "bg"), pipeline="jax")
    for k, v in overrides.items():
        setattr(c, k, v)
    return c


def _batches(config, n, batch=4, seed=0, start_step=0, host=(0, 1)):
    """helpers.batches (the data package's make_train_iterator, which picks this pipeline by
    data.pipeline), as NumPy."""
    return [
        {k: np.asarray(v) for k, v in b.items()}
        for b in batches(config, n, batch=batch, seed=seed, start_step=start_step, host=host)
    ]


def test_trimap_matches_opencv_for_every_kernel_pair():
    """Every (fg, unknown) kernel pair of 1..12, odd and even, pixel for pixel against trimap.make_trimap
    (cv2.dilate), on a matte with solid, fractional and empty parts and an odd size."""
    rng = np.random.default_rng(1)
    alpha = np.clip(rng.normal(0.5, 0.8, (37, 50)), 0, 1).astype(np.float32)
    alpha[5:20, 8:30] = 1.0
    alpha[25:, 35:] = 0.0
    fn = jax.jit(lambda a, kf, ku: jnp_ops.trimap_from_alpha(a, kf, ku, 12))
    for k_fg in range(1, 13):
        for k_unk in range(1, 13):
            got = np.asarray(fn(alpha[:, :, None], k_fg, k_unk))[:, :, 0]
            want = make_trimap(alpha, k_fg, k_unk) / 255.0
            np.testing.assert_array_equal(np.round(got * 2) / 2, np.round(want * 2) / 2, err_msg=f"{k_fg},{k_unk}")


def test_hue_and_saturation_match_tensorflow():
    tf = require_module("tensorflow", "the tf.data pipeline it is compared with: pip install -e '.[data]'")
    rgb = np.random.default_rng(2).random((16, 16, 3), dtype=np.float32)
    rgb[0, :3] = [[0, 0, 0], [1, 1, 1], [0.5, 0.5, 0.5]]  # grey: no hue
    for delta in (-0.3, 0.1, 0.45):
        np.testing.assert_allclose(
            jnp_ops.adjust_hue(jnp.asarray(rgb), delta), tf.image.adjust_hue(rgb, delta), atol=2e-6
        )
    for factor in (0.0, 0.6, 1.4):
        np.testing.assert_allclose(
            jnp_ops.adjust_saturation(jnp.asarray(rgb), factor), tf.image.adjust_saturation(rgb, factor), atol=2e-6
        )


def _stack(images):
    pixels, sizes = dp._stack(images, np.uint8)
    return dp.Stack(jnp.asarray(pixels), jnp.asarray(sizes))


def test_crop_at_scale_one_is_the_exact_window_anywhere_in_a_padded_pool():
    rng = np.random.default_rng(3)
    big = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    small = rng.integers(0, 256, (33, 41, 3), dtype=np.uint8)  # padded to 60x80 in the stack
    stack = _stack([big, small])
    size = 16
    for i, img in enumerate((big, small)):
        h, w = img.shape[:2]
        for top, left in ((0, 0), (h - size, w - size), (h - size, 0), (7, 11)):
            got = jnp_ops.crop_resize(stack.pixels, i, jnp.int32(top), jnp.int32(left), jnp.int32(size), size, 24)
            np.testing.assert_allclose(np.asarray(got), img[top : top + size, left : left + size], atol=1e-3)


@pytest.mark.parametrize("win, size", [(40, 16), (23, 16), (12, 16)])
def test_crop_equals_resampling_the_whole_padded_image(win, size):
    """The crop reads a block around the window only; it must equal resampling the whole image (padded as
    the stack pads it) with the same scale and translation, at the borders too. Catches a block too small
    for the filter's reach or a wrong offset."""
    rng = np.random.default_rng(4)
    big = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    small = rng.integers(0, 256, (45, 50, 3), dtype=np.uint8)
    stack = _stack([big, small])
    for i, img in enumerate((big, small)):
        padded = np.pad(img, ((0, 60 - img.shape[0]), (0, 80 - img.shape[1]), (0, 0)), mode="edge")
        h, w = img.shape[:2]
        for top, left in ((0, 0), (h - win, w - win), (9, 5)):
            got = jnp_ops.crop_resize(stack.pixels, i, jnp.int32(top), jnp.int32(left), jnp.int32(win), size, 40)
            scale = size / win
            want = jax.image.scale_and_translate(
                jnp.asarray(padded, jnp.float32),
                (size, size, 3),
                (0, 1),
                jnp.array([scale, scale]),
                jnp.array([-top * scale, -left * scale]),
                method="linear",
                antialias=True,
            )
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=2e-3, err_msg=f"{i} {top} {left}")


def test_crop_of_a_constant_image_stays_constant_at_its_borders():
    """Downscaled windows touching the image's edge read no padding zeros (the stack repeats edges)."""
    small = np.full((30, 30, 3), 200, np.uint8)
    stack = _stack([np.zeros((64, 64, 3), np.uint8), small])
    got = jnp_ops.crop_resize(stack.pixels, 1, jnp.int32(30 - 24), jnp.int32(30 - 24), jnp.int32(24), 10, 24)
    np.testing.assert_allclose(np.asarray(got), 200.0, atol=1e-3)


def test_batches_are_valid_aligned_composites(tmp_path):
    """alpha in [0, 1] with the trimap's definition (fg only where alpha is 1, bg only where it is 0, every
    fractional pixel unknown), crops centred on the unknown region, fg aligned with alpha through crop,
    scale and flip (its red channel is the alpha), and image = alpha fg + (1 - alpha) bg."""
    root = _pools(tmp_path)
    (batch,) = _batches(_config(root, own_bg_prob=0.0), 1, batch=8)
    assert {k: v.shape for k, v in batch.items()} == {
        "image": (8, 64, 64, 3),
        "fg": (8, 64, 64, 3),
        "bg": (8, 64, 64, 3),
        "alpha": (8, 64, 64, 1),
        "trimap": (8, 64, 64, 1),
    }
    assert all(v.dtype == np.float32 for v in batch.values())
    a, t = batch["alpha"], batch["trimap"]
    assert set(np.unique(t)) <= {0.0, 0.5, 1.0}
    assert (a[t == 1.0] == 1.0).all() and (a[t == 0.0] == 0.0).all()
    assert (t[(a > 0) & (a < 1)] == 0.5).all()
    assert (((a > 0) & (a < 1)).reshape(8, -1).any(axis=1)).all()
    np.testing.assert_allclose(batch["fg"][..., 0:1], a, atol=ALPHA_SNAP + 1e-6)
    np.testing.assert_allclose(batch["image"], a * batch["fg"] + (1 - a) * batch["bg"], atol=1e-6)


def test_own_background_is_cut_with_the_foregrounds_window(tmp_path):
    """Own backgrounds equal to the foregrounds: with own_bg_prob=1 every sample's bg is its fg exactly,
    which fails if the own background were cut, scaled or flipped on its own."""
    root = _pools(tmp_path)
    (batch,) = _batches(_config(root, own_bg_prob=1.0), 1, batch=8)
    np.testing.assert_array_equal(batch["bg"], batch["fg"])
    # A replayed photo's background takes its foreground's colour change, not one of its own.
    (batch,) = _batches(_config(root, own_bg_prob=1.0, color_jitter=(0.2, 0.3, 0.3)), 1, batch=8)
    np.testing.assert_array_equal(batch["bg"], batch["fg"])
    (batch,) = _batches(_config(root, own_bg_prob=0.0), 1, batch=8)
    assert not np.array_equal(batch["bg"], batch["fg"])


def test_resume_and_hosts_reproduce_the_single_host_stream(tmp_path):
    config = _config(_pools(tmp_path), color_jitter=(0.1, 0.2, 0.2), own_bg_prob=0.5)
    full = _batches(config, 3, batch=4)
    resumed = _batches(config, 1, batch=4, start_step=2)
    for k in full[0]:
        np.testing.assert_array_equal(resumed[0][k], full[2][k])
    halves = [_batches(config, 3, batch=4, host=(p, 2)) for p in range(2)]
    for step in range(3):
        for k in full[0]:
            np.testing.assert_array_equal(np.concatenate([h[step][k] for h in halves]), full[step][k])
    assert not np.array_equal(full[0]["image"], full[1]["image"])
    other_seed = _batches(config, 1, batch=4, seed=1)
    assert not np.array_equal(other_seed[0]["image"], full[0]["image"])


def test_every_foreground_once_per_epoch(tmp_path):
    """Each foreground's blue channel is a constant that names it in any crop: every epoch of 3 samples
    shows the 3 foregrounds once, in an order that changes."""
    root = _pools(tmp_path, n=3)
    names = np.concatenate(
        [
            np.round(b["fg"][..., 2].mean(axis=(1, 2)) * 255)
            for b in _batches(_config(root, own_bg_prob=0.0), 4, batch=3)
        ]
    )
    epochs = names.reshape(4, 3)
    assert all(sorted(e) == [40, 80, 120] for e in epochs), epochs
    assert len({tuple(e) for e in epochs}) > 1, epochs


def test_pool_errors_name_the_key(tmp_path):
    root = _pools(tmp_path)
    with pytest.raises(ValueError, match="data.decoded_cache_mb"):
        _batches(_config(root, decoded_cache_mb=0), 1)
    with pytest.raises(ValueError, match="data.bg_path"):
        dp.decode_pools(
            TrainPools(
                fg=Pool(arrays=np.zeros((1, 8, 8, 3), np.uint8)),
                alpha=Pool(arrays=np.zeros((1, 8, 8), np.uint8)),
                bg_tfds="coco/2017",
            ),
            100,
        )


def test_mismatched_foreground_and_alpha_name_both_files(tmp_path):
    root = _pools(tmp_path)
    write_image(root / "alpha" / "p1.png", np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="p1.png.*p1.png"):
        _batches(_config(root), 1)


def test_synthetic_source_arrays(tmp_path):
    """The synthetic source's samples are composites of the procedural pools' own pixels. With crops at
    scale 1 (no resampling) each sample's fg and bg are windows of the pools, drawn again here from
    synthetic_pools with the iterator's seed; the alpha and the image are then recomposed from those pools
    at the windows found (the alpha from the pool's matte, not the sample's), so a misaligned fg/alpha crop
    or a composite of the wrong arrays fails, which image == a fg + (1 - a) bg on the sample's own arrays
    could not show."""
    from alphagan_jax.data.synthetic import synthetic_pools

    size = 64
    config = small_config(pipeline="jax", crop_choices=(size,), scale_range=(1.0, 1.0))
    (batch,) = _batches(config, 1, batch=2, seed=0)
    pools = synthetic_pools(config.synthetic_num_fg, config.synthetic_num_bg, config.synthetic_size, 0)

    def locate(stack, crop):
        """(index, top, left, flipped) of the window of `stack` (N x S x S x 3 uint8) equal to `crop`."""
        target = np.round(crop * 255).astype(np.int16)
        found = []
        for i, img in enumerate(stack.astype(np.int16)):
            for flipped in (False, True):
                t = target[:, ::-1] if flipped else target
                corner = np.lib.stride_tricks.sliding_window_view(img, (2, 2), axis=(0, 1))
                ys, xs = np.nonzero((corner == t[:2, :2].transpose(2, 0, 1)).all(axis=(2, 3, 4)))
                for y, x in zip(ys, xs, strict=True):
                    if y + size <= img.shape[0] and x + size <= img.shape[1]:
                        if np.array_equal(img[y : y + size, x : x + size], t):
                            found.append((i, int(y), int(x), flipped))
        assert len(found) == 1, found
        return found[0]

    def window(stack, where):
        i, y, x, flipped = where
        w = stack[i, y : y + size, x : x + size].astype(np.float64) / 255
        return w[:, ::-1] if flipped else w

    for n in range(2):
        at_fg = locate(pools.fg, batch["fg"][n])
        fg, bg = window(pools.fg, at_fg), window(pools.bg, locate(pools.bg, batch["bg"][n]))
        alpha = window(pools.alpha[..., None], at_fg)
        assert 0 < np.mean((alpha > 0) & (alpha < 1)), "the window should hold fractional alpha"
        np.testing.assert_allclose(batch["alpha"][n], alpha, atol=1e-5)
        np.testing.assert_allclose(batch["image"][n], alpha * fg + (1 - alpha) * bg, atol=1e-5)


@pytest.mark.slow
def test_train_py_runs_without_tensorflow(tmp_path):
    """The GPU hosts have no TensorFlow: train.py with data.pipeline=jax must not import it (a stub that
    raises on import stands in for its absence), and checkpoints, logs and validation still work."""
    stub = tmp_path / "stub" / "tensorflow"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('TensorFlow is absent in this test')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(stub.parent), str(REPO_ROOT)])}
    work = tmp_path / "run"
    out = subprocess.run(
        [
            sys.executable,
            "train.py",
            "--config",
            "configs/test.py",
            "--workdir",
            str(work),
            "--config.data.pipeline=jax",
            "--config.train.num_steps=2",
            "--config.train.image_every=1",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [json.loads(r) for r in (work / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "g_loss" in r] == [1, 2]
    assert any("val/sad" in r for r in rows)
    assert (work / "checkpoints" / "2").is_dir()
    assert list((work / "images").glob("predictions_*.png"))
