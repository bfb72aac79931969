"""Trimaps from rough masks and new backgrounds for composites: checked against hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import write_image

from alphagan_jax.data.io import ImageReadError
from alphagan_jax.data.mask_trimap import mask_file_to_trimap, read_mask, trimap_from_mask
from alphagan_jax.inference import background

B, U, F = 0, 128, 255


def test_straight_edge_gets_band_pixels_on_each_side():
    # Foreground in columns 0..4, background in 5..9. With band 2, the two foreground columns next to the
    # edge (3, 4: distance 2 and 1 to column 5) and the two background columns (5, 6: distance 1 and 2 to
    # column 4) are unknown; column 0 stays foreground although it touches the image border.
    mask = np.zeros((6, 10), np.float32)
    mask[:, :5] = 1.0
    trimap = trimap_from_mask(mask, band=2)
    expected_row = [F, F, F, U, U, U, U, B, B, B]
    np.testing.assert_array_equal(trimap, np.tile(expected_row, (6, 1)))


def test_band_is_euclidean_around_a_point():
    # One foreground pixel, band 1: it and its 4-neighbours (distance 1) are unknown; the diagonal
    # neighbours are sqrt(2) > 1 away and stay background.
    mask = np.zeros((5, 5), np.float32)
    mask[2, 2] = 1.0
    expected = np.full((5, 5), B)
    expected[2, 1:4] = U
    expected[1:4, 2] = U
    np.testing.assert_array_equal(trimap_from_mask(mask, band=1), expected)


def test_soft_values_between_thresholds_are_unknown():
    mask = np.array([[0.0, 0.05, 0.1, 0.5, 0.9, 0.95, 1.0]], np.float32)
    np.testing.assert_array_equal(trimap_from_mask(mask, band=0), [[B, B, B, U, F, F, F]])
    np.testing.assert_array_equal(trimap_from_mask(mask, band=0, thresholds=(0.4, 0.6)), [[B, B, B, U, F, F, F]])
    np.testing.assert_array_equal(trimap_from_mask(mask, band=0, thresholds=(0.01, 0.99)), [[B, U, U, U, U, U, F]])
    # The band widens the soft zone on both sides: 0.1 and 0.9 are 1 px from it.
    np.testing.assert_array_equal(trimap_from_mask(mask, band=1), [[B, B, U, U, U, F, F]])


def test_all_foreground_mask_has_no_unknown_and_empty_mask_is_refused():
    np.testing.assert_array_equal(trimap_from_mask(np.ones((3, 4)), band=5), np.full((3, 4), F))
    with pytest.raises(ValueError, match="no foreground"):
        trimap_from_mask(np.zeros((3, 4)), band=5)
    with pytest.raises(ValueError, match="band"):
        trimap_from_mask(np.ones((3, 4)), band=-1)


def test_mask_files_label_masks_and_errors_name_the_file(tmp_path):
    labels = np.zeros((8, 8), np.uint8)
    labels[:, :4] = 1  # a segmentation tool's 0/1 label mask
    write_image(tmp_path / "labels.png", labels)
    np.testing.assert_array_equal(read_mask(tmp_path / "labels.png"), labels.astype(np.float32))
    trimap = mask_file_to_trimap(tmp_path / "labels.png", band=1)
    np.testing.assert_array_equal(trimap[0], [F, F, F, U, U, B, B, B])
    write_image(tmp_path / "empty.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(ImageReadError, match="empty.png.*no foreground"):
        mask_file_to_trimap(tmp_path / "empty.png", band=1)
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(ImageReadError, match="corrupt.png"):
        mask_file_to_trimap(tmp_path / "corrupt.png", band=1)


def test_colours_and_unreadable_backgrounds(tmp_path):
    assert background.parse_colour("#00ff00") == (0, 255, 0)
    assert background.parse_colour("#0F8") == (0, 255, 136)
    assert background.parse_colour("green") is None
    assert background.load_background("#102030") == (16, 32, 48)
    with pytest.raises(ImageReadError, match="#12"):
        background.load_background("#12")
    with pytest.raises(ImageReadError, match="missing.jpg"):
        background.load_background(str(tmp_path / "missing.jpg"))
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ImageReadError, match="bad.jpg"):
        background.load_background(str(tmp_path / "bad.jpg"))


def test_cover_scales_to_cover_and_crops_the_centre():
    # A 10x20 picture, left half red, right half blue, covering a 30x30 photo: scaled x3 (the height
    # decides) to 30x60, then columns 15..44 are kept, so the composite's left half is red, right half blue.
    pic = np.zeros((10, 20, 3), np.uint8)
    pic[:, :10] = (255, 0, 0)
    pic[:, 10:] = (0, 0, 255)
    out = background.cover(pic, 30, 30)
    assert out.shape == (30, 30, 3)
    assert (out[:, :13] == (255, 0, 0)).all() and (out[:, 17:] == (0, 0, 255)).all()
    # Shrinking: a 100x100 picture over a 20x50 photo is scaled to 50x50 and cropped to rows 15..34.
    rows = np.repeat(np.arange(100, dtype=np.uint8)[:, None, None], 100, axis=1).repeat(3, axis=2)
    small = background.cover(rows, 20, 50)
    assert small.shape == (20, 50, 3)
    # Row r of the 50-row scale averages source rows 2r and 2r+1: value 2r + 0.5, rounded by OpenCV.
    assert abs(int(small[0, 0, 0]) - 2 * 15) <= 1 and abs(int(small[-1, 0, 0]) - 2 * 34) <= 1


def test_composite_puts_the_foreground_over_the_background():
    fg = np.zeros((2, 3, 3), np.float32)
    fg[..., 0] = 1.0  # red subject
    alpha = np.array([[255, 0, 128], [255, 0, 51]], np.uint8)
    out = background.composite(alpha, fg, (0, 255, 0))
    a = alpha / 255.0
    expected = np.round(np.stack([a, 1 - a, 0 * a], -1) * 255)
    np.testing.assert_array_equal(out, expected)
    picture = np.full((4, 6, 3), 200, np.uint8)
    np.testing.assert_array_equal(background.composite(alpha, fg, picture)[0, 1], (200, 200, 200))
