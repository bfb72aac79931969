"""Training on photos with ground-truth alpha: the foregrounds tool, own backgrounds, the fixed split."""

import json

import numpy as np
import pytest
from helpers import batches, small_config, write_image

from alphagan_jax.cli.foregrounds import build_training_set, main
from alphagan_jax.data.eval_sources import eval_samples
from alphagan_jax.data.io import ImageReadError, read_alpha_u8, read_rgb
from alphagan_jax.data.sources import build_train_pools
from alphagan_jax.data.sources.folder import check_held_out
from alphagan_jax.data.trimap import make_trimap

SIZE = 96


def _photo(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(image, alpha, F, B) uint8: a flat-coloured disc with a soft 12 px edge over a flat background."""
    rng = np.random.default_rng(seed)
    fg_colour, bg_colour = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    r = np.hypot(yy - SIZE / 2, xx - SIZE / 2)
    alpha = np.clip((30 - r) / 12, 0, 1)
    alpha_u8 = np.round(alpha * 255).astype(np.uint8)
    a = alpha_u8[:, :, None] / 255.0
    image = np.round(a * fg_colour + (1 - a) * bg_colour).astype(np.uint8)
    full = lambda c: np.broadcast_to(c, (SIZE, SIZE, 3)).astype(np.uint8)
    return image, alpha_u8, full(fg_colour), full(bg_colour)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """An alphamatting.com-layout folder of 4 photos P0..P3 with known F and B."""
    root = tmp_path_factory.mktemp("photos")
    truth = {}
    for i in range(4):
        image, alpha, fg, bg = _photo(i)
        write_image(root / "image" / f"P{i}.png", image)
        write_image(root / "alpha" / f"P{i}.png", np.repeat(alpha[:, :, None], 3, axis=2))  # R=G=B, as shared
        write_image(root / "trimap" / f"P{i}.png", make_trimap(alpha / 255.0, 5, 5))
        truth[f"P{i}"] = (fg, bg, alpha)
    return root, truth


@pytest.fixture(scope="module")
def train_set(photos, tmp_path_factory):
    root, _ = photos
    out = tmp_path_factory.mktemp("train")
    names = build_training_set(root, out, exclude={"P1"}, log=lambda *_: None)
    # Random backgrounds of noise, so a flat background in a sample can only be a photo's own.
    rng = np.random.default_rng(0)
    for i in range(2):
        write_image(out / "noise" / f"n{i}.png", rng.integers(0, 256, (120, 120, 3), dtype=np.uint8))
    return out, names


def test_tool_recovers_foreground_and_background_and_excludes(photos, train_set):
    _, truth = photos
    out, names = train_set
    assert names == ["P0", "P2", "P3"]
    assert not (out / "Train" / "fg" / "P1.png").exists()
    for name in names:
        fg_true, bg_true, alpha = truth[name]
        fg = read_rgb(out / "Train" / "fg" / f"{name}.png").astype(int)
        bg = read_rgb(out / "Train" / "bg_own" / f"{name}.png").astype(int)
        np.testing.assert_array_equal(read_alpha_u8(out / "Train" / "alpha" / f"{name}.png"), alpha)
        # Where a colour is visible (alpha well inside (0, 1]), the estimate is the flat colour it was made of.
        seen_fg, seen_bg = alpha > 50, alpha < 205
        assert np.abs(fg - fg_true)[seen_fg].max() <= 3
        assert np.abs(bg - bg_true)[seen_bg].max() <= 3
    assert json.loads((out / "source.json").read_text())["excluded"] == ["P1"]


def test_tool_errors_name_the_problem(photos, tmp_path, capsys):
    root, _ = photos
    assert main(["--data", str(root), "--out", str(tmp_path / "o"), "--exclude", "P9"]) == 2
    assert "P9" in capsys.readouterr().err  # a typo would leak a validation photo into training
    (root / "image" / "P4.png").write_bytes((root / "image" / "P0.png").read_bytes())
    try:
        assert main(["--data", str(root), "--out", str(tmp_path / "o")]) == 2
        assert "P4.png has no ground-truth alpha" in capsys.readouterr().err
    finally:
        (root / "image" / "P4.png").unlink()


def test_own_background_replays_the_photo(train_set, photos):
    """own_bg_prob=1: every sample's background is its foreground's own, cut with the same window and flip,
    so each composite is a crop of the photo (within the estimator's error); 0 leaves the stream unchanged."""
    out, _ = train_set
    _, truth = photos
    own = small_config(
        source="folder",
        path=str(out),
        bg_path=str(out / "noise"),
        own_bg_prob=1.0,
        crop_choices=(64,),
        scale_range=(1.0, 1.0),
    )
    bg_colours = {tuple(bg[0, 0]) for _, bg, _ in truth.values()}
    for batch in batches(own, 2):
        for bg in batch["bg"]:
            colour = tuple(np.round(bg.reshape(-1, 3).mean(0) * 255).astype(int))
            assert min(np.abs(np.subtract(colour, c)).max() for c in bg_colours) <= 3
            assert bg.std(axis=(0, 1)).max() < 3 / 255  # flat: not a crop of the noise backgrounds
    mixed = batches(small_config(source="folder", path=str(out), bg_path=str(out / "noise"), own_bg_prob=0.5), 4)
    never = batches(small_config(source="folder", path=str(out), bg_path=str(out / "noise")), 4)
    without = build_train_pools(small_config(source="folder", path=str(out), bg_path=str(out / "noise")), 0)
    without = without.__class__(fg=without.fg, alpha=without.alpha, bg=without.bg)  # no own backgrounds at all
    plain = batches(small_config(source="folder", path=str(out), bg_path=str(out / "noise")), 4, pools=without)
    for a, b in zip(never, plain, strict=True):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    same = [
        np.array_equal(m, n) for a, b in zip(mixed, never, strict=True) for m, n in zip(a["bg"], b["bg"], strict=True)
    ]
    assert 0 < sum(same) < len(same)  # about half the samples keep their random background


def test_several_background_folders(train_set, tmp_path):
    out, _ = train_set
    write_image(tmp_path / "extra" / "x.png", np.zeros((80, 80, 3), np.uint8))
    pools = build_train_pools(
        small_config(source="folder", path=str(out), bg_path=f"{out / 'noise'},{tmp_path / 'extra'}"), 0
    )
    assert len(pools.bg) == 3 and pools.bg.paths[-1].endswith("x.png")


def test_own_background_of_another_size_is_named(train_set, tmp_path):
    out, _ = train_set
    broken = tmp_path / "set"
    for folder in ("fg", "alpha", "bg_own"):
        for f in (out / "Train" / folder).iterdir():
            write_image(broken / "Train" / folder / f.name, read_rgb(f) if folder != "alpha" else read_alpha_u8(f))
    write_image(broken / "Train" / "bg_own" / "P2.png", np.zeros((SIZE, SIZE + 2, 3), np.uint8))
    with pytest.raises(ImageReadError, match="P2.png"):
        build_train_pools(small_config(source="folder", path=str(broken), bg_path=str(out / "noise")), 0)


def test_validation_names_and_held_out_check(photos, train_set):
    root, _ = photos
    out, _ = train_set
    samples = list(eval_samples("folder", str(root), names=("P3", "P1")))
    assert [s["name"] for s in samples] == ["P3", "P1"]
    with pytest.raises(ImageReadError, match="P7"):
        eval_samples("folder", str(root), names=("P7",))
    config = small_config(source="folder", path=str(out), val_source="folder")
    check_held_out(config, ["P1"])  # held out: fine
    with pytest.raises(ValueError, match="P2.*data.path"):
        check_held_out(config, ["P1", "P2"])


def test_replayed_photo_keeps_its_colour_relation_under_jitter(train_set):
    """With data.color_jitter, a replayed photo's own background gets its foreground's change (one hue
    rotation for both), so the sample is still a real photo, only recoloured."""
    from test_color_jitter import hue_shift

    out, _ = train_set
    config = dict(
        source="folder",
        path=str(out),
        bg_path=str(out / "noise"),
        own_bg_prob=1.0,
        crop_choices=(64,),
        scale_range=(1.0, 1.0),
    )
    plain = batches(small_config(**config), 2)
    changed = batches(small_config(**config, color_jitter=(0.2, 0.0, 0.0)), 2)
    compared = 0
    for p, c in zip(plain, changed, strict=True):
        for i in range(len(p["fg"])):
            d_fg, d_bg = hue_shift(p["fg"][i], c["fg"][i]), hue_shift(p["bg"][i], c["bg"][i])
            if len(d_fg) > 100 and len(d_bg) > 100:
                assert abs(np.median(d_fg) - np.median(d_bg)) < 2e-3
                compared += abs(np.median(d_fg)) > 0.01
    assert compared >= 3
