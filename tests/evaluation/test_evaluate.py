"""evaluate.py in score mode and model mode, on real alphamatting.com images, plus bad-input handling."""

from __future__ import annotations

import csv
import json
import logging
import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from alphagan_jax.cli import evaluate
from alphagan_jax.data import io
from alphagan_jax.data.eval_sources import list_eval_items, synthetic_items
from alphagan_jax.evaluation import loop as evaluation
from alphagan_jax.evaluation import metrics

NAMES = ("GT01", "GT02", "GT04", "GT13")


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def gt_u8(shared_data: Path, name: str) -> np.ndarray:
    return io.read_alpha_u8(shared_data / "alphamatting" / "alpha" / f"{name}.png")


@pytest.fixture
def gt_dirs(shared_data, tmp_path):
    """A 4-image copy (by symlink) of the alphamatting alpha and trimap folders."""
    alpha_dir, trimap_dir = tmp_path / "alpha", tmp_path / "trimap"
    alpha_dir.mkdir()
    trimap_dir.mkdir()
    for n in NAMES:
        (alpha_dir / f"{n}.png").symlink_to(shared_data / "alphamatting" / "alpha" / f"{n}.png")
        (trimap_dir / f"{n}.png").symlink_to(shared_data / "alphamatting" / "trimap" / f"{n}.png")
    return alpha_dir, trimap_dir


def write_preds(shared_data, out: Path, sigma: float) -> Path:
    for n in NAMES:
        a = gt_u8(shared_data, n)
        io.write_png(out / f"{n}.png", cv2.GaussianBlur(a, (0, 0), sigma) if sigma else a)
    return out


def score(pred_dir, alpha_dir, trimap_dir, out, *extra) -> tuple[int, dict, list[dict]]:
    rc = evaluate.main(
        [
            "--pred-dir",
            str(pred_dir),
            "--alpha-dir",
            str(alpha_dir),
            "--trimap-dir",
            str(trimap_dir),
            "--out",
            str(out),
            "--workers",
            "1",
            *extra,
        ]
    )
    if rc == 2:  # nothing done; 1 (some images failed) still writes the results
        return rc, {}, []
    return rc, json.loads((out / "summary.json").read_text()), read_csv(out / "metrics.csv")


def test_score_mode_perfect_and_blurred(shared_data, gt_dirs, tmp_path):
    alpha_dir, trimap_dir = gt_dirs
    means = {}
    for sigma in (0, 1, 3):
        preds = write_preds(shared_data, tmp_path / f"pred{sigma}", sigma)
        rc, summary, rows = score(preds, alpha_dir, trimap_dir, tmp_path / f"out{sigma}")
        assert rc == 0 and summary["num_scored"] == 4 and summary["num_errors"] == 0
        assert [r["name"] for r in rows] == list(NAMES)
        means[sigma] = summary
    for m in metrics.METRIC_NAMES:
        assert means[0][m] == 0
        assert 0 < means[1][m] < means[3][m], m
    # The CSV agrees with an independent computation on the arrays.
    row = read_csv(tmp_path / "out3" / "metrics.csv")[0]
    a = gt_u8(shared_data, "GT01")
    tri = io.read_trimap(trimap_dir / "GT01.png")
    direct = metrics.compute_metrics(cv2.GaussianBlur(a, (0, 0), 3), a, tri)
    for m in metrics.METRIC_NAMES:
        assert float(row[m]) == pytest.approx(direct[m], rel=1e-5)


def test_score_mode_bad_inputs_do_not_lose_the_others(shared_data, gt_dirs, tmp_path):
    alpha_dir, trimap_dir = gt_dirs
    preds = write_preds(shared_data, tmp_path / "pred", 2)
    (preds / "GT02.png").unlink()  # missing prediction
    (preds / "GT04.png").write_bytes(b"not a png")  # corrupt file
    a = io.read_rgb(preds / "GT13.png")
    io.write_png(preds / "GT13.png", a[:-5])  # wrong size
    rc, summary, rows = score(preds, alpha_dir, trimap_dir, tmp_path / "out", "--workers", "2")
    assert rc == 1  # some images failed
    status = {r["name"]: r for r in rows}
    assert status["GT01"]["status"] == "ok" and float(status["GT01"]["sad"]) > 0
    assert status["GT02"]["status"] == "error" and "GT02.png" in status["GT02"]["message"]
    assert status["GT04"]["status"] == "error" and "GT04.png" in status["GT04"]["message"]
    assert status["GT13"]["status"] == "error" and "sizes differ" in status["GT13"]["message"]
    assert summary["num_scored"] == 1 and summary["num_errors"] == 3
    assert summary["sad"] == pytest.approx(float(status["GT01"]["sad"]), rel=1e-5)


def test_trimap_without_unknown_is_skipped_and_counted(shared_data, gt_dirs, tmp_path):
    alpha_dir, _ = gt_dirs
    trimap_dir = tmp_path / "trimap_mixed"
    for n in NAMES:
        t = io.read_trimap(shared_data / "alphamatting" / "trimap" / f"{n}.png")
        if n == "GT04":
            t = np.where(t == 128, 255, t).astype(np.uint8)
        io.write_png(trimap_dir / f"{n}.png", t)
    preds = write_preds(shared_data, tmp_path / "pred", 2)
    _, summary, rows = score(preds, alpha_dir, trimap_dir, tmp_path / "out")
    assert {r["name"]: r["status"] for r in rows}["GT04"] == "no_unknown"
    assert summary["num_no_unknown"] == 1 and summary["num_scored"] == 3
    others = [float(r["sad"]) for r in rows if r["status"] == "ok"]
    assert summary["sad"] == pytest.approx(np.mean(others), rel=1e-5)


def test_trimap_with_127_unknown_reads_like_128(shared_data, gt_dirs, tmp_path, caplog):
    alpha_dir, trimap_dir = gt_dirs
    odd = tmp_path / "trimap127"
    for n in NAMES:
        t = io.read_trimap(trimap_dir / f"{n}.png")
        io.write_png(odd / f"{n}.png", np.where(t == 128, 127, t).astype(np.uint8))
    preds = write_preds(shared_data, tmp_path / "pred", 2)
    _, ref, _ = score(preds, alpha_dir, trimap_dir, tmp_path / "ref")
    with caplog.at_level(logging.WARNING):
        _, auto, _ = score(preds, alpha_dir, odd, tmp_path / "auto")
    assert any("GT01.png" in r.getMessage() and "127" in r.getMessage() for r in caplog.records)
    _, flag, _ = score(preds, alpha_dir, odd, tmp_path / "flag", "--unknown-value", "127")
    for m in metrics.METRIC_NAMES:
        assert auto[m] == pytest.approx(ref[m]) and flag[m] == pytest.approx(ref[m])


def test_empty_directory_is_a_clear_error(tmp_path, capsys, gt_dirs):
    alpha_dir, trimap_dir = gt_dirs
    empty = tmp_path / "empty"
    empty.mkdir()
    rc, _, _ = score(empty, alpha_dir, trimap_dir, tmp_path / "out")
    assert rc == 2 and str(empty) in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------------
# Model mode from a real checkpoint (conftest's `trained_workdir`: configs/test.py after 2 steps).


def test_model_mode_on_real_images(shared_data, tmp_path, trained_workdir):
    root = tmp_path / "am"
    names = ("GT01", "GT04", "GT13")
    for sub in ("image", "trimap", "alpha"):
        (root / sub).mkdir(parents=True)
        for n in names:
            (root / sub / f"{n}.png").symlink_to(shared_data / "alphamatting" / sub / f"{n}.png")
    (root / "image" / "GT99.png").write_bytes(b"corrupt")  # one bad image must not lose the others
    (root / "trimap" / "GT99.png").symlink_to(shared_data / "alphamatting" / "trimap" / "GT01.png")
    (root / "alpha" / "GT99.png").symlink_to(shared_data / "alphamatting" / "alpha" / "GT01.png")
    out = tmp_path / "out"
    args = [
        "--workdir",
        str(trained_workdir),
        "--data",
        "alphamatting",
        "--data-path",
        str(root),
        "--out",
        str(out),
        "--bucket",
        "128",
        "--workers",
        "2",
    ]
    rc = evaluate.main(args)
    assert rc == 1  # GT99 failed
    summary = json.loads((out / "summary.json").read_text())
    rows = {r["name"]: r for r in read_csv(out / "metrics.csv")}
    sizes = {n: io.read_rgb(root / "image" / f"{n}.png").shape[:2] for n in names}
    buckets = {(math.ceil(h / 128) * 128, math.ceil(w / 128) * 128) for h, w in sizes.values()}
    assert len(set(sizes.values())) == 3  # three different sizes...
    assert summary["num_compiles"] == len(buckets) <= 3  # ...compiled once per bucket
    assert summary["step"] == 2 and summary["num_scored"] == 3 and summary["num_errors"] == 1
    assert rows["GT99"]["status"] == "error" and "GT99.png" in rows["GT99"]["message"]
    for n in names:
        alpha = io.read_raw(out / "alpha" / f"{n}.png")
        assert alpha.shape == sizes[n]
        trimap = io.read_trimap(root / "trimap" / f"{n}.png")
        assert (alpha[trimap == 255] == 255).all() and (alpha[trimap == 0] == 0).all()
        gt = gt_u8(shared_data, n)
        assert float(rows[n]["sad"]) == pytest.approx(metrics.sad(alpha, gt, trimap), rel=1e-5)
    # A second run into the same folder must not replace these results unless asked to.
    before = (out / "metrics.csv").read_bytes()
    assert evaluate.main(args) == 2
    assert (out / "metrics.csv").read_bytes() == before
    assert evaluate.main([*args, "--num", "1", "--overwrite"]) == 0
    assert len(read_csv(out / "metrics.csv")) == 1


def test_evaluate_arrays_matches_direct_metrics():
    samples = synthetic_items(2, size=64)

    def predict(image, trimap):
        return image.mean(-1) / 255.0

    out = evaluation.evaluate_arrays(predict, (it.sample for it in samples), names=("sad", "mse"))
    direct = []
    for it in samples:
        s = it.sample
        p = np.round(s["image"].mean(-1)).astype(np.uint8)
        direct.append(metrics.sad(p, s["alpha"], s["trimap"]))
    assert out["num_scored"] == 2 and out["grad"] is None
    assert out["sad"] == pytest.approx(np.mean(direct), rel=1e-3)


def test_no_checkpoint_is_a_clear_error(tmp_path, capsys, shared_data):
    empty = tmp_path / "run"
    empty.mkdir()
    rc = evaluate.main(
        [
            "--workdir",
            str(empty),
            "--data",
            "alphamatting",
            "--data-path",
            str(shared_data / "alphamatting"),
            "--out",
            str(tmp_path / "out"),
            "--num",
            "1",
        ]
    )
    assert rc == 2 and str(empty) in capsys.readouterr().err


def test_model_mode_synthetic_needs_no_files(tmp_path, trained_workdir):
    out = tmp_path / "out"
    rc = evaluate.main(
        [
            "--workdir",
            str(trained_workdir),
            "--data",
            "synthetic",
            "--num",
            "2",
            "--out",
            str(out),
            "--workers",
            "1",
            "--bucket",
            "32",
        ]
    )
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["num_images"] == 2 and summary["num_compiles"] == 1
    assert len(list((out / "alpha").glob("*.png"))) == 2


def test_list_eval_items_reports_bad_pairs_per_image(tmp_path, caplog):
    root = tmp_path / "c1k"
    rng = np.random.default_rng(0)
    io.write_png(root / "merged" / "a_0.png", rng.integers(0, 255, (20, 30, 3), dtype=np.uint8))
    io.write_png(root / "merged" / "b_0.png", rng.integers(0, 255, (20, 30, 3), dtype=np.uint8))
    io.write_png(root / "merged" / "c_0.png", rng.integers(0, 255, (20, 30, 3), dtype=np.uint8))
    io.write_png(root / "trimaps" / "a_0.png", np.full((20, 30), 128, np.uint8))
    io.write_png(root / "trimaps" / "b_0.png", np.full((21, 30), 128, np.uint8))  # wrong size
    io.write_png(root / "alpha" / "a.png", np.zeros((20, 30), np.uint8))  # one alpha per foreground
    io.write_png(root / "alpha" / "b.png", np.zeros((20, 30), np.uint8))
    io.write_png(root / "alpha" / "c.png", np.zeros((20, 30), np.uint8))
    items = {it.name: it for it in list_eval_items("composition1k", root)}
    assert items["a_0"].load()["alpha"].shape == (20, 30)
    with pytest.raises(ValueError, match="sizes differ") as e:
        items["b_0"].load()
    assert "b_0.png" in str(e.value)
    with pytest.raises(io.ImageReadError, match="no trimap"):
        items["c_0"].load()
    with pytest.raises(io.ImageReadError):
        list_eval_items("composition1k", tmp_path / "missing")


def test_evaluation_imports_neither_jax_nor_flax():
    """Score-mode metric workers are spawned processes that import this module: NumPy/OpenCV only."""
    code = "import sys, alphagan_jax.evaluation.loop; print(sorted({'jax', 'flax'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"
