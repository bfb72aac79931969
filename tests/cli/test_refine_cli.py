"""predict --refine and evaluate.py --refine write the network's matte refined, and say so."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alphagan_jax.data.io import read_alpha_u8, read_raw, read_rgb, read_trimap, to_uint8, write_png
from alphagan_jax.inference.refine import RefineParams

REPO = Path(__file__).resolve().parents[2]
BOX = (slice(64, 224), slice(224, 384))  # a crop of GT24 holding background, unknown band and foreground


@pytest.fixture(scope="module")
def photo(shared_data, tmp_path_factory) -> Path:
    src, root = shared_data / "alphamatting", tmp_path_factory.mktemp("am")
    write_png(root / "image" / "GT24.png", read_rgb(src / "image" / "GT24.png")[BOX])
    write_png(root / "trimap" / "GT24.png", read_trimap(src / "trimap" / "GT24.png")[BOX])
    write_png(root / "alpha" / "GT24.png", read_alpha_u8(src / "alpha" / "GT24.png")[BOX])
    return root


def refined(workdir: Path, root: Path, bucket: int) -> tuple[np.ndarray, np.ndarray]:
    """(network matte, refined matte) as uint8, computed here from the library's parts."""
    from alphagan_jax.artifacts.loader import load_predictor
    from alphagan_jax.inference.refine import refine_alpha

    predictor, _ = load_predictor(workdir, bucket=bucket, refine=False)
    image, trimap = read_rgb(root / "image" / "GT24.png"), read_trimap(root / "trimap" / "GT24.png")
    alpha = np.asarray(predictor(image, trimap))
    return to_uint8(alpha), to_uint8(refine_alpha(image, trimap, alpha))


def test_predict_refines_by_choice(trained_workdir, photo, tmp_path):
    from alphagan_jax.cli import predict

    network, want = refined(trained_workdir, photo, bucket=64)  # every route pads to 64 px
    assert (network != want).mean() > 0.01  # refinement changes the matte, so the test can tell them apart
    default = want  # predict refines unless told not to (docs/results.md)
    for flag, expect in (("--refine", want), ("--no-refine", network), ("", default)):
        out = tmp_path / (flag or "default")
        args = [
            "--workdir",
            str(trained_workdir),
            "--image",
            str(photo / "image" / "GT24.png"),
            "--trimap",
            str(photo / "trimap" / "GT24.png"),
            "--out",
            str(out),
            *([flag] if flag else []),
        ]
        assert predict.main(args) == 0
        np.testing.assert_array_equal(read_raw(out / "alpha.png"), expect)
        np.testing.assert_array_equal(read_raw(out / "cutout.png")[..., 3], expect)


@pytest.mark.slow
def test_evaluate_refine_scores_the_refined_matte(trained_workdir, photo, tmp_path):
    _, want = refined(trained_workdir, photo, bucket=64)
    out = tmp_path / "eval"
    done = subprocess.run(
        [
            sys.executable,
            "evaluate.py",
            "--workdir",
            str(trained_workdir),
            "--data",
            "alphamatting",
            "--data-path",
            str(photo),
            "--out",
            str(out),
            "--refine",
            "--workers",
            "0",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "mattes: refined in closed-form matting's system" in done.stdout
    np.testing.assert_array_equal(read_raw(out / "alpha" / "GT24.png"), want)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["refine"] == vars(RefineParams())  # every parameter of the system, the cross-check's too
    from alphagan_jax.evaluation.metrics import sad

    assert summary["sad"] == pytest.approx(
        sad(want, read_alpha_u8(photo / "alpha" / "GT24.png"), read_trimap(photo / "trimap" / "GT24.png"))
    )


def test_python_api_refines_on_request(trained_workdir, photo):
    import alphagan_jax as ag

    network, want = refined(trained_workdir, photo, bucket=64)
    model = ag.load(str(trained_workdir))
    image, trimap = read_rgb(photo / "image" / "GT24.png"), read_trimap(photo / "trimap" / "GT24.png")
    np.testing.assert_array_equal(to_uint8(model.alpha(image, trimap, refine=True)), want)
    np.testing.assert_array_equal(to_uint8(model.alpha(image, trimap, refine=False)), network)
    np.testing.assert_array_equal(to_uint8(model.alpha(image, trimap)), want)  # refined by default, as predict
