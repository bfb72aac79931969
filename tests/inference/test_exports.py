"""ONNX (jax2onnx, run in ONNX Runtime) and StableHLO (jax.export, reloaded in a process that never imports
alphagan_jax) give `model.alpha`'s matte on a real photo with its trimap, to 1/255."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import downscaled_photo, require_module

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def photo(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    """GT13 and its coarse trimap, downscaled to 280 px high."""
    return downscaled_photo(shared_data, "GT13", "trimap2", 280)


@pytest.fixture(scope="module")
def model(trained_workdir: Path):
    import alphagan_jax as ag

    return ag.load(trained_workdir)


def test_onnx_matches_model_alpha(model, photo, tmp_path: Path) -> None:
    require_module("jax2onnx", "pip install --no-deps jax2onnx==0.17.1 and the export extra (README line 2)")
    require_module("onnxruntime", "the export extra: pip install -e '.[export]'")
    from alphagan_jax.cli.export import main
    from alphagan_jax.inference.exports.runners import OnnxMatting, bucket_shape

    image, trimap = photo
    h, w = bucket_shape(*trimap.shape)
    model_dir = tmp_path / "model"
    model.save(model_dir)
    assert (
        main(
            ["--model", str(model_dir), "--out", str(tmp_path / "onnx"), "--format", "onnx", "--onnx-sizes", f"{h}x{w}"]
        )
        == 0
    )
    got = OnnxMatting(tmp_path / "onnx")(image, trimap)
    want = model.alpha(image, trimap, refine=False)  # the exported graph is the network
    assert got.shape == want.shape and got.dtype == np.float32
    assert np.abs(got - want).max() <= 1 / 255
    # Not trivially equal: the unknown region holds real mattes, not the clamp alone.
    unknown = trimap == 128
    assert unknown.mean() > 0.05 and np.ptp(want[unknown]) > 0.05
    with pytest.raises(ValueError, match=f"no ONNX file for the bucket shape {h + 64}x{w}"):
        OnnxMatting(tmp_path / "onnx")(np.zeros((h + 10, w, 3), np.uint8), np.zeros((h + 10, w), np.uint8))


_SERVE = """
import sys
import numpy as np
from jax import export
exp = export.deserialize(bytearray(open(sys.argv[1], "rb").read()))
inputs = np.load(sys.argv[2])
np.save(sys.argv[3], np.asarray(exp.call(inputs["image"], inputs["trimap"])))
assert not [m for m in sys.modules if m.startswith("alphagan_jax")]
"""


@pytest.mark.slow
def test_stablehlo_serves_without_this_package(model, photo, tmp_path: Path) -> None:
    from alphagan_jax.cli.export import main
    from alphagan_jax.inference.exports.runners import bucket_shape

    image, trimap = photo
    model_dir = tmp_path / "model"
    model.save(model_dir)
    assert main(["--model", str(model_dir), "--out", str(tmp_path / "hlo"), "--format", "stablehlo"]) == 0
    # Two sizes through the one file (shape polymorphism): the photo, and its left part.
    crops = [(image, trimap), (image[:, :150].copy(), trimap[:, :150].copy())]
    for k, (img, tri) in enumerate(crops):
        ph, pw = bucket_shape(*tri.shape)
        pad = ((0, ph - tri.shape[0]), (0, pw - tri.shape[1]))
        np.savez(
            tmp_path / f"in{k}.npz",
            image=np.pad(img, pad + ((0, 0),), mode="reflect")[None],
            trimap=np.pad(tri, pad, mode="reflect")[None, :, :, None],
        )
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _SERVE,
                str(tmp_path / "hlo" / "alphagan.stablehlo"),
                str(tmp_path / f"in{k}.npz"),
                str(tmp_path / f"out{k}.npy"),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        got = np.load(tmp_path / f"out{k}.npy")[0, : tri.shape[0], : tri.shape[1], 0]
        assert np.abs(got - model.alpha(img, tri, refine=False)).max() <= 1 / 255
