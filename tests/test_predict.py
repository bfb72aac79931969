"""Foreground estimation and the `python -m alphagan_jax.predict` command."""

from __future__ import annotations

import numpy as np
import pytest

from alphagan_jax import foreground, predict
from alphagan_jax.data import io


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
    image, alpha, _, _ = synthetic_fb(40, 30)
    rgba = foreground.cutout((image * 255).round().astype(np.uint8), (alpha * 255).round().astype(np.uint8))
    assert rgba.shape == (40, 30, 4) and rgba.dtype == np.uint8
    np.testing.assert_array_equal(rgba[..., 3], (alpha * 255).round().astype(np.uint8))


def test_predict_cli_writes_alpha_and_cutout(shared_data, tmp_path, trained_workdir):
    image_path = shared_data / "alphamatting" / "image" / "GT02.png"
    trimap_path = shared_data / "alphamatting" / "trimap" / "GT02.png"
    out = tmp_path / "out"
    args = ["--workdir", str(trained_workdir), "--image", str(image_path), "--trimap", str(trimap_path),
            "--out", str(out), "--tta", "--bf16"]
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
    rc = predict.main(["--workdir", str(tmp_path), "--image", str(am / "image" / "GT01.png"),
                       "--trimap", str(am / "trimap" / "GT02.png"), "--out", str(tmp_path / "out")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "GT01.png" in err and "GT02.png" in err


def test_predict_image_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="trimap"):
        predict.predict_image(lambda i, t: t / 255.0, np.zeros((4, 5, 3), np.uint8),
                              np.zeros((4, 4), np.uint8))
