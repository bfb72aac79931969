"""alphagan_jax.data.io: every format a matting set mixes, and errors that name the file."""

import cv2
import numpy as np
import pytest

from alphagan_jax.data.io import ImageReadError, list_images, read_alpha, read_rgb, read_trimap, write_png


def test_rgb_roundtrip_keeps_channel_order(tmp_path):
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 200  # red only
    write_png(tmp_path / "sub" / "x.png", rgb)
    assert cv2.imread(str(tmp_path / "sub" / "x.png"))[0, 0].tolist() == [0, 0, 200]  # BGR on disk
    np.testing.assert_array_equal(read_rgb(tmp_path / "sub" / "x.png"), rgb)


def test_rgb_expands_grey_and_drops_alpha(tmp_path):
    grey = np.arange(20, dtype=np.uint8).reshape(4, 5)
    cv2.imwrite(str(tmp_path / "g.png"), grey)
    np.testing.assert_array_equal(read_rgb(tmp_path / "g.png"), np.repeat(grey[..., None], 3, 2))
    rgba = np.random.default_rng(0).integers(0, 256, (4, 5, 4), dtype=np.uint8)
    write_png(tmp_path / "a.png", rgba)
    np.testing.assert_array_equal(read_rgb(tmp_path / "a.png"), rgba[..., :3])


def test_alpha_16bit_rescaled_not_clipped(tmp_path):
    a16 = np.array([[0, 257, 32768, 65535]], np.uint16)
    cv2.imwrite(str(tmp_path / "a.png"), a16)
    np.testing.assert_allclose(read_alpha(tmp_path / "a.png"), a16 / 65535.0, atol=1e-7)


def test_alpha_from_rgb_and_rgba(tmp_path):
    a = np.random.default_rng(1).integers(0, 256, (6, 7), dtype=np.uint8)
    write_png(tmp_path / "rgb.png", np.repeat(a[..., None], 3, 2))
    np.testing.assert_allclose(read_alpha(tmp_path / "rgb.png"), a / 255.0, atol=1e-7)
    rgba = np.concatenate([np.full((6, 7, 3), 9, np.uint8), a[..., None]], 2)
    write_png(tmp_path / "rgba.png", rgba)
    np.testing.assert_allclose(read_alpha(tmp_path / "rgba.png"), a / 255.0, atol=1e-7)


def test_real_rgb_alpha(shared_data):
    path = shared_data / "alphamatting" / "alpha" / "GT01.png"
    a = read_alpha(path)
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert a.shape == raw.shape[:2] and a.dtype == np.float32
    np.testing.assert_allclose(a, raw[..., 0] / 255.0, atol=1e-7)


def test_trimap_palette_and_unknown_values(tmp_path, shared_data, caplog):
    t = read_trimap(shared_data / "alphamatting" / "trimap" / "GT01.png")
    assert set(np.unique(t).tolist()) == {0, 128, 255}
    raw = np.array([[0, 127, 255, 127]], np.uint8)
    write_png(tmp_path / "t127.png", raw)
    with caplog.at_level("WARNING"):
        np.testing.assert_array_equal(read_trimap(tmp_path / "t127.png"), [[0, 128, 255, 128]])
    assert "t127.png" in caplog.text
    write_png(tmp_path / "t102.png", np.array([[0, 102, 255, 100, 250]], np.uint8))
    np.testing.assert_array_equal(read_trimap(tmp_path / "t102.png", unknown_value=102), [[0, 128, 255, 128, 255]])


def test_errors_name_the_file(tmp_path):
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG not really")
    for fn in (read_rgb, read_alpha, read_trimap):
        with pytest.raises(ImageReadError, match="corrupt.png"):
            fn(bad)
    with pytest.raises(ImageReadError, match="missing.png"):
        read_rgb(tmp_path / "missing.png")
    with pytest.raises(ImageReadError, match="nodir"):
        list_images(tmp_path / "nodir")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(ImageReadError, match="empty"):
        list_images(tmp_path / "empty")


def test_list_images_sorted_images_only(tmp_path):
    for name in ("b.png", "a.jpg", "c.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["a.jpg", "b.png"]
