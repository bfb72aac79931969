"""The model folder and the Python API: export, sha256 check, load, alpha/cutout/composite, clear errors,
`--model` in predict and evaluate.py giving the same mattes as `--workdir`, and the README example."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import downscaled_photo, require_module

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model_dir(trained_workdir: Path, tmp_path_factory) -> Path:
    from alphagan_jax.cli.export import main

    out = tmp_path_factory.mktemp("model") / "tiny"
    assert main(["--workdir", str(trained_workdir), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def photo(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    """GT04 and its trimap, downscaled to 200 px high."""
    return downscaled_photo(shared_data, "GT04", "trimap", 200)


def test_model_folder_holds_inference_only(model_dir: Path, trained_workdir: Path) -> None:
    files = sorted(p.name for p in model_dir.iterdir())
    assert files == ["README.md", "config.json", "generator.msgpack", "model.json"]
    info = json.loads((model_dir / "model.json").read_text())
    rows = [json.loads(line) for line in (trained_workdir / "metrics.jsonl").read_text().splitlines()]
    val = [r for r in rows if r["step"] == 2 and r.get("val/sad") is not None][-1]
    assert info["step"] == 2
    assert info["validation"]["sad"] == val["val/sad"] and info["validation"]["mse"] == val["val/mse"]
    assert info["training_data"]["source"] == "synthetic" and "licence" in info["training_data"]
    assert info["alphagan_jax"] == "0.1.0" and len(info["sha256"]) == 64
    # Names, not the training machine's paths; and no optimiser state or discriminator in the weights.
    for name in files:
        assert str(trained_workdir) not in (model_dir / name).read_text(errors="replace")
    assert "pretrained" not in json.loads((model_dir / "config.json").read_text())["model"]
    from flax import serialization

    variables = serialization.msgpack_restore((model_dir / "generator.msgpack").read_bytes())
    assert set(variables) == {"params", "batch_stats"}
    card = (model_dir / "README.md").read_text()
    assert "model-index:" in card and f"value: {round(val['val/sad'], 6)}" in card


def test_folder_and_workdir_give_the_same_matte(model_dir: Path, trained_workdir: Path, photo) -> None:
    import alphagan_jax as ag
    from alphagan_jax.artifacts.loader import load_predictor

    image, trimap = photo
    predictor, _ = load_predictor(trained_workdir, refine=False)  # what predict, evaluate.py and the page use
    alpha = ag.load(model_dir).alpha(image, trimap, refine=False)  # the network's matte: the two loaders
    assert alpha.dtype == np.float32 and alpha.shape == trimap.shape
    np.testing.assert_array_equal(alpha, predictor(image, trimap))
    np.testing.assert_array_equal(ag.load(trained_workdir, best=True).alpha(image, trimap, refine=False), alpha)
    assert (alpha[trimap == 255] == 1).all() and (alpha[trimap == 0] == 0).all()


def test_corrupt_or_incomplete_folder_is_refused(model_dir: Path, tmp_path: Path) -> None:
    import shutil

    from alphagan_jax.api import load

    bad = tmp_path / "bad"
    shutil.copytree(model_dir, bad)
    blob = bytearray((bad / "generator.msgpack").read_bytes())
    blob[-1] ^= 1  # one bit of one weight
    (bad / "generator.msgpack").write_bytes(bytes(blob))
    with pytest.raises(ValueError, match=r"generator\.msgpack: sha256 .* differs"):
        load(bad)
    (bad / "config.json").unlink()
    with pytest.raises(ValueError, match="config.json is missing"):
        load(bad)
    with pytest.raises(FileNotFoundError, match="neither a model folder"):
        load(tmp_path)
    with pytest.raises(ValueError, match="is a model folder"):
        load(model_dir, best=True)


def test_wrong_inputs_say_what_was_expected(model_dir: Path) -> None:
    from alphagan_jax.api import load, trimap_from_mask

    model = load(model_dir)
    image, trimap = np.zeros((40, 50, 3), np.uint8), np.full((40, 50), 128, np.uint8)
    cases = [
        ((image.astype(np.float32), trimap), r"image must be a uint8 HxWx3 RGB array, got float32 array of shape"),
        ((np.zeros((40, 50, 4), np.uint8), trimap), r"image must be a uint8 HxWx3.*\(40, 50, 4\)"),
        ((image, trimap[:, :, None]), r"trimap must be a uint8 HxW array"),
        ((image, trimap[:30]), r"trimap is 30x50 but image is 40x50"),
        ((image, np.where(trimap == 128, 100, 0).astype(np.uint8)), r"0 \(background\), 128 \(unknown\).*holds 100"),
    ]
    for args, message in cases:
        with pytest.raises(ValueError, match=message):
            model.alpha(*args)
    with pytest.raises(ValueError, match="background colour"):
        model.composite(image, trimap, "#12")
    with pytest.raises(ValueError, match="mask must be bool, uint8"):
        trimap_from_mask(np.zeros((4, 4), np.int32))
    with pytest.raises(ValueError, match=r"float mask must hold values in \[0, 1\]"):
        trimap_from_mask(np.full((4, 4), 2.0))


def test_trimap_from_mask_reads_every_mask_type() -> None:
    from alphagan_jax.api import trimap_from_mask

    mask = np.zeros((30, 40), bool)
    mask[10:22, 8:30] = True
    for m in (mask, mask.astype(np.uint8) * 255, mask.astype(np.float32)):
        np.testing.assert_array_equal(trimap_from_mask(m, band=3), _band_reference(mask, 3))


def _band_reference(mask: np.ndarray, band: int) -> np.ndarray:
    """Brute-force: a pixel keeps its class when no pixel of the other class is within `band` px."""
    ys, xs = np.mgrid[: mask.shape[0], : mask.shape[1]]
    out = np.full(mask.shape, 128, np.uint8)
    fg, bg = np.argwhere(mask), np.argwhere(~mask)
    for y, x in zip(ys.ravel(), xs.ravel(), strict=True):
        other = bg if mask[y, x] else fg
        if np.hypot(*(other - (y, x)).T).min() > band:
            out[y, x] = 255 if mask[y, x] else 0
    return out


def test_cli_errors_exit_2(trained_workdir: Path, model_dir: Path, tmp_path: Path, capsys) -> None:
    from alphagan_jax.cli.export import main

    assert main(["--workdir", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert main(["--workdir", str(trained_workdir), "--out", str(model_dir)]) == 2
    err = capsys.readouterr().err
    assert "no model folder or training workdir at" in err and "generator.msgpack already exists" in err
    with pytest.raises(SystemExit) as e:
        main(["--workdir", str(trained_workdir), "--out", str(tmp_path / "o"), "--format", "tflite"])
    assert e.value.code == 2


def test_predict_and_evaluate_take_model(model_dir: Path, trained_workdir: Path, photo, tmp_path: Path) -> None:
    from alphagan_jax.cli import evaluate, predict
    from alphagan_jax.data.io import read_alpha_u8, write_png

    image, trimap = photo
    write_png(tmp_path / "in" / "image" / "p.png", image)
    write_png(tmp_path / "in" / "trimap" / "p.png", trimap)
    write_png(tmp_path / "in" / "alpha" / "p.png", (trimap > 0).astype(np.uint8) * 255)
    outs = {}
    for flag, source in (("--workdir", trained_workdir), ("--model", model_dir)):
        out = tmp_path / flag.strip("-")
        assert (
            predict.main(
                [
                    flag,
                    str(source),
                    "--image",
                    str(tmp_path / "in/image/p.png"),
                    "--trimap",
                    str(tmp_path / "in/trimap/p.png"),
                    "--out",
                    str(out / "predict"),
                ]
            )
            == 0
        )
        assert (
            evaluate.main(
                [
                    flag,
                    str(source),
                    "--data",
                    "folder",
                    "--data-path",
                    str(tmp_path / "in"),
                    "--out",
                    str(out / "eval"),
                    "--workers",
                    "1",
                ]
            )
            == 0
        )
        outs[flag] = out
    a, b = outs["--workdir"], outs["--model"]
    for rel in ("predict/alpha.png", "predict/cutout.png", "eval/alpha/p.png"):
        np.testing.assert_array_equal(
            read_alpha_u8(a / rel) if "cutout" not in rel else cv2.imread(str(a / rel)),
            read_alpha_u8(b / rel) if "cutout" not in rel else cv2.imread(str(b / rel)),
        )
    assert (a / "eval/metrics.csv").read_text() == (b / "eval/metrics.csv").read_text()


def test_readme_python_api_example(model_dir: Path, photo) -> None:
    """The "Python API" examples of the README and of docs/prediction.md, run as written (MODEL_DIR replaced
    by a real model folder); the README's is the first lines of the docs' one."""
    readme, docs = (
        re.search(r"```python\n(.*?)```", (REPO / page).read_text().split("## Python API", 1)[1], re.S).group(1)
        for page in ("README.md", "docs/prediction.md")
    )
    short = [line.split("#")[0].rstrip() for line in readme.splitlines()]
    assert short == [line.split("#")[0].rstrip() for line in docs.splitlines()][: len(short)]
    code = docs
    image, trimap = photo
    mask = (trimap > 0).astype(np.uint8) * 255
    background = np.full((100, 100, 3), (0, 255, 0), np.uint8)
    scope = {"image": image, "trimap": trimap, "mask": mask, "background": background}
    exec(compile(code.replace("MODEL_DIR", str(model_dir)), "README.md", "exec"), scope)
    assert scope["alpha"].shape == trimap.shape and scope["alpha"].dtype == np.float32
    assert scope["rgba"].shape == (*trimap.shape, 4) and scope["rgba"].dtype == np.uint8
    np.testing.assert_array_equal(scope["rgba"][:, :, 3], np.round(scope["alpha"] * 255).astype(np.uint8))
    assert scope["trimap"].dtype == np.uint8 and set(np.unique(scope["trimap"])) <= {0, 128, 255}


@pytest.mark.slow
def test_import_stays_light_and_loading_needs_no_tensorflow(model_dir: Path) -> None:
    code = f"""
import sys
import alphagan_jax as ag
ag.load, ag.Model, ag.trimap_from_mask
heavy = [m for m in ('jax', 'flax', 'tensorflow') if m in sys.modules]
assert not heavy, heavy
import numpy as np
m = ag.load({str(model_dir)!r})
a = m.alpha(np.zeros((40, 40, 3), np.uint8), np.full((40, 40), 128, np.uint8))
assert a.shape == (40, 40)
assert 'tensorflow' not in sys.modules and 'orbax.checkpoint' not in sys.modules, 'loading imported TF/Orbax'
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_matting_page_loads_a_model_folder_and_a_workdir_alike(model_dir, trained_workdir, photo):
    from alphagan_jax.artifacts.loader import load_predictor

    image, trimap = photo
    (from_folder, _), (from_workdir, _) = (load_predictor(p, refine=False) for p in (model_dir, trained_workdir))
    np.testing.assert_array_equal(from_folder(image, trimap), from_workdir(image, trimap))


def test_one_photo_gives_one_matte_through_the_api_and_predict(trained_workdir: Path, photo, tmp_path: Path) -> None:
    """`ag.load(...).alpha` equals predict's alpha.png, for one photo and for each photo of a folder, refined
    (the default) and not. They padded differently until predict and the API shared one loader: 32 px for
    one photo, 64 for a folder and the API (up to 54/255 apart on an alphamatting photo)."""
    import alphagan_jax as ag
    from alphagan_jax.cli import predict
    from alphagan_jax.data.io import read_alpha_u8, to_uint8, write_png

    image, trimap = photo
    # A second photo of another size (its own 64 px bucket), from the same picture.
    photos = {"a": (image, trimap), "b": (image[:150, :170], trimap[:150, :170])}
    for name, (im, tri) in photos.items():
        write_png(tmp_path / "images" / f"{name}.png", im)
        write_png(tmp_path / "trimaps" / f"{name}.png", tri)
    model = ag.load(trained_workdir)
    for refine in (True, False):
        flag = [] if refine else ["--no-refine"]  # refined is the default of both
        source = ["--workdir", str(trained_workdir), *flag]
        one, folder = tmp_path / f"one-{refine}", tmp_path / f"folder-{refine}"
        image_args = ["--image", str(tmp_path / "images" / "a.png"), "--trimap", str(tmp_path / "trimaps" / "a.png")]
        assert predict.main([*source, *image_args, "--out", str(one)]) == 0
        folder_args = ["--image-dir", str(tmp_path / "images"), "--trimap-dir", str(tmp_path / "trimaps")]
        assert predict.main([*source, *folder_args, "--out", str(folder)]) == 0
        for name, (im, tri) in photos.items():
            api = to_uint8(model.alpha(im, tri) if refine else model.alpha(im, tri, refine=False))
            np.testing.assert_array_equal(read_alpha_u8(folder / f"{name}.alpha.png"), api, err_msg=f"{name} {refine}")
        np.testing.assert_array_equal(read_alpha_u8(one / "alpha.png"), to_uint8(model.alpha(image, trimap, refine)))


def test_from_pretrained_reads_a_local_model_folder_offline(model_dir: Path, photo, monkeypatch) -> None:
    """`ag.from_pretrained` on a local folder (what a Hub download leaves in its cache): the same weights and
    the same matte as `ag.load`, with the Hub switched off, so nothing is fetched."""
    require_module("huggingface_hub", "from_pretrained needs the hub extra (pip install -e '.[hub]')")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import jax

    import alphagan_jax as ag

    image, trimap = photo
    hub_model, local = ag.from_pretrained(model_dir), ag.load(model_dir)
    assert hub_model.step == local.step == 2
    for a, b in zip(
        jax.tree_util.tree_leaves(hub_model.variables), jax.tree_util.tree_leaves(local.variables), strict=True
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(
        hub_model.alpha(image, trimap, refine=False), local.alpha(image, trimap, refine=False)
    )
