"""Foreground estimation and the `alphagan-predict` command."""

from __future__ import annotations

import numpy as np
import pytest

from alphagan_jax.cli import predict
from alphagan_jax.data import io
from alphagan_jax.inference import foreground_colours as foreground


def synthetic_fb(h=96, w=120, seed=0):
    """Smooth F and B, a matte with soft stripes (hair-like), and their exact composite."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w] / max(h, w)
    fg = np.stack([0.9 + 0 * yy, 0.3 + 0.4 * xx, 0.2 + 0.5 * yy], -1).astype(np.float32)
    bg = np.stack([0.1 + 0.8 * yy, 0.7 + 0 * yy, 0.5 + 0.4 * xx], -1).astype(np.float32)
    alpha = (0.5 + 0.5 * np.sin(xx * 60 + rng.uniform(0, 6))) * (np.hypot(yy - 0.4, xx - 0.5) < 0.35)
    alpha = alpha.astype(np.float32)
    image = alpha[..., None] * fg + (1 - alpha[..., None]) * bg
    return image, alpha, fg, bg


def test_foreground_ml_recovers_foreground_colours():
    image, alpha, fg, _ = synthetic_fb()
    est_fg, est_bg = foreground.estimate_foreground_ml(image, alpha)
    m = alpha > 0.1
    err = np.abs(est_fg - fg)[m].mean()
    naive = np.abs(image - fg)[m].mean()  # what alpha * image would show as colour
    assert err < 0.1 * naive and err < 0.02
    # The estimates explain the image.
    recon = alpha[..., None] * est_fg + (1 - alpha[..., None]) * est_bg
    assert np.abs(recon - image).mean() < 1e-3


def test_cutout_is_rgba_with_alpha_channel():
    from alphagan_jax.inference.outputs import matte_outputs

    image, alpha, _, _ = synthetic_fb(40, 30)
    image_u8, trimap = (image * 255).round().astype(np.uint8), np.full(alpha.shape, 128, np.uint8)
    rgba = matte_outputs(lambda i, t: alpha, image_u8, trimap)["cutout"]
    assert rgba.shape == (40, 30, 4) and rgba.dtype == np.uint8
    np.testing.assert_array_equal(rgba[..., 3], (alpha * 255).round().astype(np.uint8))


def test_predict_cli_writes_alpha_and_cutout(shared_data, tmp_path, trained_workdir):
    image_path = shared_data / "alphamatting" / "image" / "GT02.png"
    trimap_path = shared_data / "alphamatting" / "trimap" / "GT02.png"
    out = tmp_path / "out"
    args = [
        "--workdir",
        str(trained_workdir),
        "--image",
        str(image_path),
        "--trimap",
        str(trimap_path),
        "--out",
        str(out),
        "--tta",
        "--bf16",
    ]
    assert predict.main(args) == 0
    image = io.read_rgb(image_path)
    trimap = io.read_trimap(trimap_path)
    alpha = io.read_raw(out / "alpha.png")
    rgba = io.read_raw(out / "cutout.png")
    assert alpha.shape == trimap.shape and rgba.shape == (*trimap.shape, 4)
    np.testing.assert_array_equal(rgba[..., 3], alpha)
    assert (alpha[trimap == 255] == 255).all() and (alpha[trimap == 0] == 0).all()
    # Where the matte is opaque (and so are the neighbours), the estimated foreground is the photo.
    fg = trimap == 255
    core = np.zeros_like(fg)
    core[1:-1, 1:-1] = fg[1:-1, 1:-1] & fg[:-2, 1:-1] & fg[2:, 1:-1] & fg[1:-1, :-2] & fg[1:-1, 2:]
    assert core.sum() > 1000
    diff = np.abs(rgba[..., :3].astype(int) - image.astype(int))[core]
    assert diff.max() <= 1
    # Existing outputs are kept unless --overwrite.
    before = (out / "alpha.png").read_bytes()
    assert predict.main(args) == 2
    assert (out / "alpha.png").read_bytes() == before


def test_predict_cli_rejects_mismatched_sizes(shared_data, tmp_path, capsys):
    am = shared_data / "alphamatting"
    # No checkpoint in tmp_path: the photo is read and refused before the model would be restored.
    rc = predict.main(
        [
            "--workdir",
            str(tmp_path),
            "--image",
            str(am / "image" / "GT01.png"),
            "--trimap",
            str(am / "trimap" / "GT02.png"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert rc == predict.EXIT_SOME_FAILED
    err = capsys.readouterr().err
    assert "GT01.png" in err and "GT02.png" in err
    assert not (tmp_path / "out").exists()


def test_outputs_reject_mismatched_sizes():
    from alphagan_jax.inference.outputs import matte_outputs

    with pytest.raises(ValueError, match="trimap"):
        matte_outputs(lambda i, t: t / 255.0, np.zeros((4, 5, 3), np.uint8), np.zeros((4, 4), np.uint8))


# --------------------------------------------------------------------------------------------------------
# Folders, masks, backgrounds.


def _photo(h, w, seed):
    """A smooth colourful photo (uint8 HxWx3)."""
    yy, xx = np.mgrid[:h, :w]
    phase = np.random.default_rng(seed).uniform(0, 6, 3)
    return np.stack([127 + 120 * np.sin(xx / 9 + yy / 13 + p) for p in phase], -1).round().astype(np.uint8)


def _disc(h, w, r):
    yy, xx = np.mgrid[:h, :w]
    return ((np.hypot(yy - h / 2, xx - w / 2) < r) * 255).astype(np.uint8)


def _brute_force_trimap(mask, band):
    """The mask's trimap by definition: a pixel keeps its class only if every pixel of the other class is
    more than `band` px away (all pairwise distances; independent of the distance transform)."""
    fg = mask > 127
    pts = np.argwhere(np.ones_like(fg))
    other = {True: np.argwhere(~fg), False: np.argwhere(fg)}
    out = np.full(mask.shape, 128, np.uint8)
    for cls, value in ((True, 255), (False, 0)):
        mine = pts[fg.ravel() == cls]
        d2 = ((mine[:, None, :] - other[cls][None, :, :]) ** 2).sum(-1).min(1)
        keep = mine[d2 > band * band]
        out[keep[:, 0], keep[:, 1]] = value
    return out


@pytest.fixture
def photo_folder(tmp_path):
    """photos/ and masks/: three good pairs in two 64 px buckets, and one of each bad input."""
    from helpers import write_image

    photos, masks = tmp_path / "photos", tmp_path / "masks"
    for name, (h, w) in {"p1": (70, 90), "p2": (100, 60), "p3": (66, 80)}.items():
        write_image(photos / f"{name}.png", _photo(h, w, len(name) + h))
        write_image(masks / f"{name}.png", _disc(h, w, min(h, w) / 3))
    write_image(photos / "nomask.png", _photo(40, 40, 1))
    write_image(photos / "wrongsize.png", _photo(70, 90, 2))
    write_image(masks / "wrongsize.png", _disc(50, 50, 10))
    write_image(photos / "empty.png", _photo(40, 40, 3))
    write_image(masks / "empty.png", np.zeros((40, 40), np.uint8))
    (photos / "corrupt.png").write_bytes(b"\x89PNG\r\n truncated")
    write_image(masks / "corrupt.png", _disc(40, 40, 10))
    write_image(masks / "orphan.png", _disc(40, 40, 10))
    return photos, masks


def _outputs(out):
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_predict_folder_with_masks_and_colour_background(trained_workdir, photo_folder, tmp_path, capsys):
    photos, masks = photo_folder
    out = tmp_path / "out"
    args = [
        "--workdir",
        str(trained_workdir),
        "--image-dir",
        str(photos),
        "--mask-dir",
        str(masks),
        "--band",
        "4",
        "--background",
        "#00ff00",
        "--out",
        str(out),
    ]
    assert predict.main(args) == predict.EXIT_SOME_FAILED
    captured = capsys.readouterr()
    for bad in ("corrupt.png", "nomask.png", "wrongsize.png", "empty.png", "orphan"):
        assert bad in captured.err, bad
    assert "wrote 3 photos" in captured.out and "2 compiles" in captured.out  # 128x128 and 128x64
    written = _outputs(out)
    assert sorted(written) == sorted(
        f"p{i}.{k}.png" for i in (1, 2, 3) for k in ("alpha", "cutout", "trimap", "composite")
    )
    for name in ("p1", "p2", "p3"):
        mask = io.read_raw(masks / f"{name}.png")
        trimap = io.read_raw(out / f"{name}.trimap.png")
        np.testing.assert_array_equal(trimap, _brute_force_trimap(mask, 4))
        alpha = io.read_raw(out / f"{name}.alpha.png")
        rgba = io.read_raw(out / f"{name}.cutout.png")
        comp = io.read_raw(out / f"{name}.composite.png")
        assert alpha.shape == mask.shape and comp.shape == (*mask.shape, 3)
        assert (alpha[trimap == 255] == 255).all() and (alpha[trimap == 0] == 0).all()
        np.testing.assert_array_equal(rgba[..., 3], alpha)
        assert (comp[alpha == 0] == (0, 255, 0)).all()
        np.testing.assert_array_equal(comp[alpha == 255], rgba[..., :3][alpha == 255])

    # A rerun keeps what exists (the failures still fail); --overwrite redoes it, except that a photo
    # which now fails keeps its earlier outputs.
    assert predict.main(args) == predict.EXIT_SOME_FAILED
    assert "kept the outputs of 3 photos" in capsys.readouterr().err
    assert _outputs(out) == written
    (photos / "p1.png").write_bytes(b"now corrupt")
    (out / "p2.alpha.png").write_bytes(b"stale")
    assert predict.main([*args, "--overwrite"]) == predict.EXIT_SOME_FAILED
    assert "p1.png" in capsys.readouterr().err
    after = _outputs(out)
    assert {k: v for k, v in after.items() if k.startswith("p1.")} == {
        k: v for k, v in written.items() if k.startswith("p1.")
    }
    assert after["p2.alpha.png"] == written["p2.alpha.png"]  # recomputed, same model, same bytes
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_predict_one_photo_with_mask_and_picture_background(trained_workdir, tmp_path, capsys):
    from helpers import write_image

    write_image(tmp_path / "photo.jpg", _photo(50, 70, 0))
    write_image(tmp_path / "mask.png", _disc(50, 70, 15))
    write_image(tmp_path / "beach.png", np.full((10, 10, 3), (10, 20, 250), np.uint8))
    out = tmp_path / "out"
    args = [
        "--workdir",
        str(trained_workdir),
        "--image",
        str(tmp_path / "photo.jpg"),
        "--mask",
        str(tmp_path / "mask.png"),
        "--band",
        "3",
        "--out",
        str(out),
    ]
    # An unreadable background stops everything before any work.
    (tmp_path / "broken.png").write_bytes(b"broken")
    assert predict.main([*args, "--background", str(tmp_path / "broken.png")]) == predict.EXIT_NOTHING_DONE
    assert "broken.png" in capsys.readouterr().err and not out.exists()
    assert predict.main([*args, "--background", str(tmp_path / "beach.png")]) == predict.EXIT_OK
    assert sorted(p.name for p in out.iterdir()) == ["alpha.png", "composite.png", "cutout.png", "trimap.png"]
    np.testing.assert_array_equal(
        io.read_raw(out / "trimap.png"), _brute_force_trimap(io.read_raw(tmp_path / "mask.png"), 3)
    )
    alpha, comp = io.read_raw(out / "alpha.png"), io.read_raw(out / "composite.png")
    assert (comp[alpha == 0] == (10, 20, 250)).all()
    # Existing outputs of a single photo: an error, nothing replaced.
    before = _outputs(out)
    assert predict.main(args) == predict.EXIT_NOTHING_DONE
    assert "already exists" in capsys.readouterr().err and _outputs(out) == before
