"""The tf.data training pipeline, checked against independent NumPy/OpenCV computations."""

import cv2
import numpy as np
import pytest
from helpers import CROP, batches, small_config, write_image

from alphagan_jax.data.io import ImageReadError, write_png
from alphagan_jax.data.pools import Pool, TrainPools
from alphagan_jax.data.sources import build_train_pools
from alphagan_jax.data.synthetic import synthetic_pools
from alphagan_jax.data.trimap import make_trimap

KEYS = {"image": 3, "trimap": 1, "alpha": 1, "fg": 3, "bg": 3}


@pytest.fixture(scope="module")
def pools():
    p = synthetic_pools(4, 3, 128, seed=0)
    return TrainPools(fg=Pool(arrays=p.fg), alpha=Pool(arrays=p.alpha), bg=Pool(arrays=p.bg))


@pytest.fixture(scope="module")
def stream(pools):
    return batches(small_config(), 6, pools)


def test_shapes_and_dtypes(stream):
    for b in stream:
        assert set(b) == set(KEYS)
        for k, c in KEYS.items():
            assert b[k].shape == (4, CROP, CROP, c) and b[k].dtype == np.float32, k
            assert b[k].min() >= 0.0 and b[k].max() <= 1.0, k


def test_composite_equation(stream):
    for b in stream:
        a, f, g = b["alpha"], b["fg"], b["bg"]
        np.testing.assert_allclose(b["image"], a * f + (1 - a) * g, rtol=0, atol=1e-6)


def test_trimap_consistent_with_alpha(stream):
    for b in stream:
        t, a = b["trimap"], b["alpha"]
        assert set(np.unique(t).tolist()) <= {0.0, 0.5, 1.0}
        assert (t[(a > 0) & (a < 1)] == 0.5).all()
        assert (a[t == 1.0] == 1.0).all()
        assert (a[t == 0.0] == 0.0).all()


def test_crops_contain_unknown_pixels(stream):
    for b in stream:
        for a in b["alpha"]:
            assert ((a > 0) & (a < 1)).any()


def test_tf_trimap_matches_numpy():
    from alphagan_jax.data.tf_ops import trimap_from_alpha

    rng = np.random.default_rng(0)
    alpha = cv2.GaussianBlur((rng.random((40, 50)) > 0.6).astype(np.float32), (0, 0), 1.5)
    alpha[alpha > 0.9] = 1.0
    alpha[alpha < 0.05] = 0.0
    for k_fg, k_unk in [(1, 1), (2, 5), (4, 3), (9, 10)]:
        got = trimap_from_alpha(alpha[..., None], k_fg, k_unk).numpy()[..., 0]
        want = make_trimap(alpha, k_fg, k_unk).astype(np.float32)
        np.testing.assert_array_equal(got * 255, np.where(want == 128, 127.5, want))


def test_deterministic_and_seed_dependent(pools, stream):
    again = batches(small_config(), 3, pools)
    for a, b in zip(stream, again, strict=False):
        for k in KEYS:
            np.testing.assert_array_equal(a[k], b[k])
    other = batches(small_config(), 1, pools, seed=1)
    assert not np.array_equal(other[0]["image"], stream[0]["image"])


def test_resume_equals_uninterrupted(pools, stream):
    resumed = batches(small_config(), 2, pools, start_step=3)
    for a, b in zip(stream[3:5], resumed, strict=False):
        for k in KEYS:
            np.testing.assert_array_equal(a[k], b[k])


def test_host_shards_partition_the_global_batch(pools, stream):
    host0 = batches(small_config(), 2, pools, host=(0, 2))
    host1 = batches(small_config(), 2, pools, host=(1, 2))
    for step in range(2):
        assert host0[step]["image"].shape[0] == 2
        for k in KEYS:
            np.testing.assert_array_equal(np.concatenate([host0[step][k], host1[step][k]]), stream[step][k])
    assert not np.array_equal(host0[0]["image"], host1[0]["image"])


def test_every_foreground_once_per_epoch(pools):
    # With single-colour foregrounds, the fg colour identifies the pool entry of each sample.
    n = 4
    fg = np.stack([np.full((64, 64, 3), 40 * (i + 1), np.uint8) for i in range(n)])
    alpha = np.zeros((n, 64, 64), np.uint8)
    alpha[:, 16:48, 16:48] = 128
    p = TrainPools(fg=Pool(arrays=fg), alpha=Pool(arrays=alpha), bg=pools.bg)
    (b,) = batches(small_config(), 1, p, batch=2 * n)
    ids = np.round(b["fg"][:, 32, 32, 0] * 255 / 40).astype(int) - 1
    assert sorted(ids[:n]) == list(range(n)) and sorted(ids[n:]) == list(range(n))


def _folder(root, fgs, alphas, bgs):
    """Write Train/{fg,alpha,bg}; RGB arrays are given in RGB order, uint16 arrays stay 16-bit."""
    for sub, items in (("fg", fgs), ("alpha", alphas), ("bg", bgs)):
        for name, arr in items.items():
            write_image(root / "Train" / sub / name, arr)


def test_folder_source_mixed_formats(tmp_path):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:90, 0:70]
    soft = np.clip((30 - np.hypot(yy - 45, xx - 35)) / 10, 0, 1)
    rgba = np.concatenate(
        [rng.integers(0, 256, (90, 70, 3), dtype=np.uint8), np.round(soft * 255).astype(np.uint8)[..., None]],
        2,
    )
    _folder(
        tmp_path,
        fgs={
            "a.png": rng.integers(0, 256, (90, 70, 3), dtype=np.uint8),
            "b.jpg": rng.integers(0, 256, (40, 30, 3), dtype=np.uint8),  # smaller than any crop
            "c.png": rgba,
        },  # RGBA fg supplying its own alpha
        alphas={
            "a.png": np.round(soft * 65535).astype(np.uint16),  # 16-bit matte
            "b.png": np.repeat(np.round(soft[:40, :30] * 255).astype(np.uint8)[..., None], 3, 2),
        },
        bgs={
            "grey.png": rng.integers(0, 256, (50, 60), dtype=np.uint8),
            "rgb.jpg": rng.integers(0, 256, (200, 150, 3), dtype=np.uint8),
        },
    )
    config = small_config(source="folder", path=str(tmp_path))
    for b in batches(config, 3, batch=4):
        np.testing.assert_allclose(b["image"], b["alpha"] * b["fg"] + (1 - b["alpha"]) * b["bg"], atol=1e-6)
        assert b["image"].shape == (4, CROP, CROP, 3)
        for a in b["alpha"]:
            assert ((a > 0) & (a < 1)).any()


def _good_folder(root):
    rng = np.random.default_rng(0)
    _folder(
        root,
        fgs={"a.png": rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)},
        alphas={"a.png": rng.integers(0, 256, (32, 32), dtype=np.uint8)},
        bgs={"b.png": rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)},
    )
    return root / "Train"


def test_bad_inputs_name_the_file(tmp_path):
    cfg = small_config(source="folder", path=str(tmp_path / "nowhere"))
    with pytest.raises(ImageReadError, match="nowhere"):
        build_train_pools(cfg, 0)

    train = _good_folder(tmp_path / "nomatch")
    write_png(train / "fg" / "orphan.png", np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(ImageReadError, match="orphan.png"):
        build_train_pools(small_config(source="folder", path=str(tmp_path / "nomatch")), 0)

    train = _good_folder(tmp_path / "size")
    write_png(train / "alpha" / "a.png", np.zeros((31, 32), np.uint8))
    with pytest.raises(ImageReadError, match="a.png"):
        build_train_pools(small_config(source="folder", path=str(tmp_path / "size")), 0)

    train = _good_folder(tmp_path / "corrupt")
    (train / "fg" / "a.png").write_bytes(b"garbage")
    with pytest.raises(ImageReadError, match="a.png"):
        build_train_pools(small_config(source="folder", path=str(tmp_path / "corrupt")), 0)

    train = _good_folder(tmp_path / "empty")
    for f in (train / "bg").iterdir():
        f.unlink()
    with pytest.raises(ImageReadError, match="bg"):
        build_train_pools(small_config(source="folder", path=str(tmp_path / "empty")), 0)


def test_config_errors_name_the_key():
    with pytest.raises(ValueError, match="data.source.*synthetic"):
        build_train_pools(small_config(source="nope"), 0)
    with pytest.raises(ImageReadError, match="data.path"):
        build_train_pools(small_config(source="folder", path=""), 0)


def test_tf_decode_alpha_reads_mattes_like_numpy(tmp_path):
    """Training (TF) and evaluation (OpenCV) must read the same matte file the same way."""
    import cv2
    import tensorflow as tf

    from alphagan_jax.data import io, tf_ops

    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (9, 11), dtype=np.uint8)
    a = rng.integers(0, 256, (9, 11), dtype=np.uint8)
    cases = {
        "grey": grey,
        "rgb_equal": np.dstack([grey] * 3),
        "rgba_varying_a": np.dstack([grey, grey, grey, a]),
        "rgba_uniform_a": np.dstack([grey, grey, grey, np.full_like(grey, 128)]),
        "rgba_opaque": np.dstack([grey, grey, grey, np.full_like(grey, 255)]),
        "grey16": (grey.astype(np.uint16) * 257 + 3),
        "rgba16": np.dstack([grey.astype(np.uint16) * 257] * 3 + [a.astype(np.uint16) * 250]),
    }
    for name, arr in cases.items():
        path = tmp_path / f"{name}.png"
        cv2.imwrite(str(path), arr)
        expected = io.read_alpha(path)
        got = tf_ops.decode_alpha(tf.io.read_file(str(path))).numpy()[:, :, 0]
        np.testing.assert_allclose(got, expected, atol=1e-6, err_msg=name)
    # Grey + alpha (2-channel PNG): OpenCV cannot write one, so encode it with TF.
    path = tmp_path / "grey_alpha.png"
    path.write_bytes(tf.io.encode_png(np.dstack([grey, a])).numpy())
    got = tf_ops.decode_alpha(tf.io.read_file(str(path))).numpy()[:, :, 0]
    np.testing.assert_allclose(got, io.read_alpha(path), atol=1e-6)
    np.testing.assert_allclose(got, a / 255.0, atol=1e-6)
