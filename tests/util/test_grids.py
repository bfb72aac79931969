"""Image grids for people to look at: the training preview tool and the logged prediction grid."""

import numpy as np

from alphagan_jax.cli.preview import main, sample_grid
from alphagan_jax.data.io import read_rgb
from alphagan_jax.train.run_log import prediction_grid
from alphagan_jax.util.grids import image_grid


def test_image_grid_layout():
    rng = np.random.default_rng(0)
    grey = rng.random((3, 4, 5, 1)).astype(np.float32)
    rgb = rng.random((3, 4, 5, 3)).astype(np.float32)
    grid = image_grid([grey, rgb], num=2)
    assert grid.shape == (2 * 4, 2 * 5, 3) and grid.dtype == np.float32
    for i in range(2):
        rows = slice(4 * i, 4 * (i + 1))
        for c in range(3):  # one-channel columns are shown grey
            np.testing.assert_array_equal(grid[rows, :5, c], grey[i, :, :, 0])
        np.testing.assert_array_equal(grid[rows, 5:], rgb[i])
    assert image_grid([grey], num=10).shape[0] == 3 * 4  # no more rows than samples


def test_prediction_and_sample_grids():
    rng = np.random.default_rng(1)
    batch = {
        k: rng.random((2, 4, 4, c)).astype(np.float32)
        for k, c in (("image", 3), ("trimap", 1), ("alpha", 1), ("fg", 3), ("bg", 3))
    }
    pred = rng.random((2, 4, 4, 1)).astype(np.float32)
    grid = prediction_grid(batch, pred, rows=4)
    assert grid.shape == (8, 20, 3)
    composite = pred[1] * batch["fg"][1] + (1 - pred[1]) * batch["bg"][1]
    np.testing.assert_allclose(grid[4:, 16:], composite, rtol=1e-6)
    np.testing.assert_array_equal(grid[:4, 8:12, 0], pred[0, :, :, 0])

    u8 = sample_grid(batch, 1)
    assert u8.dtype == np.uint8 and u8.shape == (4, 20, 3)
    np.testing.assert_array_equal(u8[:, 4:8, 1], np.round(batch["trimap"][0, :, :, 0] * 255))
    np.testing.assert_array_equal(u8[:, 16:], np.round(batch["bg"][0] * 255))


def test_preview_tool_writes_a_grid(tmp_path):
    from configs import test as test_config

    size = test_config.get_config().data.crop_size
    out = tmp_path / "grid.png"
    assert main(["--config", "configs/test.py", "--out", str(out), "--num", "2"]) == 0
    assert read_rgb(out).shape == (2 * size, 5 * size, 3)
