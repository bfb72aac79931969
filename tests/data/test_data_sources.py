"""Evaluation readers, the synthetic generator, the Adobe DIM TFDS builder and the trimap tool."""

import subprocess
import sys

import numpy as np
import pytest
from helpers import script

from alphagan_jax.data import eval_samples
from alphagan_jax.data.io import ImageReadError, read_alpha_u8, read_trimap, write_png
from alphagan_jax.data.trimap import make_trimap

EVAL_KEYS = {"name", "image", "trimap", "alpha"}


def check_eval_sample(s, with_alpha=True):
    assert EVAL_KEYS <= set(s) and isinstance(s["name"], str)
    h, w = s["image"].shape[:2]
    assert s["image"].dtype == np.uint8 and s["image"].shape == (h, w, 3)
    assert s["trimap"].dtype == np.uint8 and s["trimap"].shape == (h, w)
    assert set(np.unique(s["trimap"]).tolist()) <= {0, 128, 255}
    if with_alpha:
        assert s["alpha"].dtype == np.uint8 and s["alpha"].shape == (h, w)
    else:
        assert s["alpha"] is None


def test_synthetic_eval_deterministic_and_consistent():
    a = list(eval_samples("synthetic", "", num=2, size=96, seed=3))
    b = list(eval_samples("synthetic", "", num=2, size=96, seed=3))
    c = list(eval_samples("synthetic", "", num=1, size=96, seed=4))
    assert len(a) == 2 and a[0]["image"].shape == (96, 96, 3)
    for x, y in zip(a, b, strict=False):
        check_eval_sample(x)
        for k in ("image", "trimap", "alpha", "fg", "bg"):
            np.testing.assert_array_equal(x[k], y[k])
        al = x["alpha"].astype(np.float64)[..., None] / 255
        want = al * x["fg"] / 255 + (1 - al) * x["bg"] / 255
        assert np.abs(x["image"] / 255 - want).max() <= 0.5 / 255 + 1e-9
        assert ((x["alpha"] > 0) & (x["alpha"] < 255)).any()
        assert (x["trimap"][(x["alpha"] > 0) & (x["alpha"] < 255)] == 128).all()
    assert not np.array_equal(a[0]["image"], c[0]["image"])


def test_synthetic_eval_needs_no_tensorflow():
    code = (
        "import sys; sys.modules['tensorflow'] = None\n"
        "from alphagan_jax.data import eval_samples\n"
        "s = next(eval_samples('synthetic', '', num=1, size=64))\n"
        "assert s['image'].shape == (64, 64, 3)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_alphamatting_real(shared_data):
    samples = list(eval_samples("alphamatting", str(shared_data / "alphamatting"), num=3))
    assert len(samples) == 3
    for s in samples:
        check_eval_sample(s)
        gt = read_alpha_u8(shared_data / "alphamatting" / "alpha" / f"{s['name']}.png")
        np.testing.assert_array_equal(s["alpha"], gt)
    test = next(eval_samples("alphamatting", str(shared_data / "alphamatting_test")))
    check_eval_sample(test, with_alpha=False)


def _composition1k(root, rng):
    for fg in ("hair", "net"):
        alpha = rng.integers(0, 256, (20, 30), dtype=np.uint8)
        for i in range(2):
            write_png(root / "merged" / f"{fg}_{i}.png", rng.integers(0, 256, (20, 30, 3), dtype=np.uint8))
            write_png(root / "alpha_copy" / f"{fg}_{i}.png", alpha)
            write_png(root / "trimaps" / f"{fg}_{i}.png", make_trimap(alpha / 255.0, 3, 3))


def test_composition1k_and_errors(tmp_path):
    _composition1k(tmp_path, np.random.default_rng(0))
    samples = list(eval_samples("composition1k", str(tmp_path)))
    assert [s["name"] for s in samples] == ["hair_0", "hair_1", "net_0", "net_1"]
    for s in samples:
        check_eval_sample(s)
        np.testing.assert_array_equal(s["trimap"], read_trimap(tmp_path / "trimaps" / f"{s['name']}.png"))
    (tmp_path / "trimaps" / "net_1.png").unlink()
    with pytest.raises(ImageReadError, match="net_1.png"):
        list(eval_samples("composition1k", str(tmp_path)))
    write_png(tmp_path / "trimaps" / "net_1.png", np.zeros((21, 30), np.uint8))
    with pytest.raises(ImageReadError, match="net_1.png"):
        list(eval_samples("composition1k", str(tmp_path)))
    with pytest.raises(ValueError, match="alphamatting"):
        eval_samples("nope", str(tmp_path))
    with pytest.raises(ImageReadError, match="missing_dir"):
        list(eval_samples("alphamatting", str(tmp_path / "missing_dir")))


@pytest.mark.slow
def test_trimap_tool(tmp_path):
    alpha = np.zeros((40, 40), np.uint8)
    alpha[10:30, 10:30] = 255
    alpha[8:32, 8] = 100
    write_png(tmp_path / "in" / "m.png", alpha)
    subprocess.run(
        [
            script("alphagan-trimap"),
            "--alpha",
            str(tmp_path / "in"),
            "--out",
            str(tmp_path / "out"),
            "--kernel",
            "3,3",
            "--seed",
            "1",
        ],
        check=True,
        capture_output=True,
    )
    got = read_trimap(tmp_path / "out" / "m.png")
    np.testing.assert_array_equal(got, make_trimap(alpha / 255.0, 3, 3))
    a = alpha / 255.0
    assert (got[(a > 0) & (a < 1)] == 128).all() and (a[got == 255] == 1).all() and (a[got == 0] == 0).all()


def _fake_adobe(root, rng):
    """The Adobe archive layout, a few tiny images."""
    train = root / "Combined_Dataset" / "Training_set"
    names = []
    for group, stems in (("Adobe-licensed images", ["a1", "a2"]), ("Other", ["o1"])):
        for stem in stems:
            yy, xx = np.mgrid[0:60, 0:50]
            alpha = np.round(np.clip((20 - np.hypot(yy - 30, xx - 25)) / 6, 0, 1) * 255).astype(np.uint8)
            write_png(train / group / "fg" / f"{stem}.png", rng.integers(0, 256, (60, 50, 3), dtype=np.uint8))
            write_png(train / group / "alpha" / f"{stem}.png", alpha)
            names.append(f"{stem}.png")
    (train / "training_fg_names.txt").write_text("\n".join(names) + "\n")
    _composition1k(root / "Combined_Dataset" / "Test_set" / "Composition-1k", rng)
    for i in range(2):
        write_png(root / "bg" / f"{i}.jpg", rng.integers(0, 256, (80, 90, 3), dtype=np.uint8))


def test_adobe_dim_tfds_builds_and_trains(tmp_path):
    from alphagan_jax.data import make_train_iterator
    from alphagan_jax.data.builders.adobe_dim_tfds import build
    from configs.default import get_data_config

    _fake_adobe(tmp_path / "manual", np.random.default_rng(0))
    test = build(str(tmp_path / "manual"), str(tmp_path / "tfds"), config="composition1k")
    assert test.info.splits["test"].num_examples == 4
    c = get_data_config()
    c.source, c.path, c.bg_path, c.tfds_data_dir = (
        "adobe_dim",
        str(tmp_path / "manual"),
        str(tmp_path / "manual" / "bg"),
        str(tmp_path / "tfds"),
    )
    c.crop_size, c.crop_choices, c.trimap_kernel_range = 32, (32, 48), (1, 5)
    b = next(make_train_iterator(c, global_batch_size=3, seed=0, process_index=0, process_count=1))
    assert b["image"].shape == (3, 32, 32, 3)
    np.testing.assert_allclose(b["image"], b["alpha"] * b["fg"] + (1 - b["alpha"]) * b["bg"], atol=1e-6)
