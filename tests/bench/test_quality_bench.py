"""bench/quality.py: the closed-form baseline on a hand-made case, and the bench end to end on a real photo crop."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alphagan_jax.data.io import read_alpha_u8, read_raw, read_rgb, read_trimap, write_png
from alphagan_jax.evaluation.metrics import compute_metrics

REPO = Path(__file__).resolve().parents[2]


def test_closed_form_recovers_a_two_colour_blend():
    """Two flat colours blended by a horizontal ramp satisfy the colour-line model exactly, so closed-form
    matting must return the ramp inside the unknown band (and the trimap's values outside it)."""
    from bench.quality import closed_form

    h, w = 24, 48
    ramp = np.clip((np.arange(w) - 12) / 24, 0, 1)
    alpha = np.broadcast_to(ramp, (h, w))
    fg, bg = np.array([230.0, 40, 90]), np.array([20.0, 160, 210])
    image = np.round(alpha[:, :, None] * fg + (1 - alpha[:, :, None]) * bg).astype(np.uint8)
    trimap = np.where(alpha == 0, 0, np.where(alpha == 1, 255, 128)).astype(np.uint8)
    trimap[:, 8:40] = 128
    got = closed_form(image, trimap)
    assert got.dtype == np.uint8 and got.shape == (h, w)
    assert np.abs(got.astype(float) - np.round(alpha * 255)).max() <= 3
    assert (got[trimap == 0] == 0).all() and (got[trimap == 255] == 255).all()


@pytest.mark.slow
def test_quality_bench_end_to_end(shared_data, trained_workdir, tmp_path):
    """Two classical methods, the model and the model refined on a 128 px crop of a real photo with both
    trimaps: every row's errors equal the metrics recomputed from the matte it wrote, the means are the means
    of the rows, the refined matte is refine_alpha of the model's, and a rerun can reuse classical rows."""
    src = shared_data / "alphamatting"
    data = tmp_path / "am"
    box = (slice(64, 192), slice(224, 352))  # holds background, unknown and foreground in both trimaps
    write_png(data / "image" / "GT24.png", read_rgb(src / "image" / "GT24.png")[box])
    write_png(data / "alpha" / "GT24.png", read_alpha_u8(src / "alpha" / "GT24.png")[box])
    for t in ("trimap", "trimap2"):
        write_png(data / t / "GT24.png", read_trimap(src / t / "GT24.png")[box])
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.quality",
            "--workdir",
            str(trained_workdir),
            "--data",
            str(data),
            "--names",
            "GT24",
            "--methods",
            "closed-form,knn,ours,ours+refine",
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "quality.json").read_text())
    rows = result["rows"]
    assert {(r["trimap"], r["method"]) for r in rows} == {
        (t, m) for t in ("trimap", "trimap2") for m in ("closed-form", "knn", "ours", "ours+refine")
    }
    gt = read_alpha_u8(data / "alpha" / "GT24.png")
    for r in rows:
        matte = read_raw(out / "mattes" / f"GT24.{r['trimap']}.{r['method']}.png")
        trimap = read_trimap(data / r["trimap"] / "GT24.png")
        want = compute_metrics(matte, gt, trimap)
        for k in ("sad", "mse", "grad", "conn"):
            assert r[k] == pytest.approx(want[k], rel=1e-9, abs=1e-12), (r, k)
        assert r["seconds"] > 0
    for m in result["means"]:
        sel = [r for r in rows if r["trimap"] == m["trimap"] and r["method"] == m["method"]]
        assert m["sad"] == pytest.approx(np.mean([r["sad"] for r in sel]))
    from alphagan_jax.artifacts.loader import load_predictor
    from alphagan_jax.data.io import to_uint8
    from alphagan_jax.inference.refine import refine_alpha

    predictor, _ = load_predictor(trained_workdir, bucket=64, refine=False)
    image = read_rgb(data / "image" / "GT24.png")
    for t in ("trimap", "trimap2"):
        trimap = read_trimap(data / t / "GT24.png")
        want = to_uint8(refine_alpha(image, trimap, np.asarray(predictor(image, trimap))))
        np.testing.assert_array_equal(read_raw(out / "mattes" / f"GT24.{t}.ours+refine.png"), want)
    picture = read_raw(out / "GT24.png")
    assert picture.shape[0] == 2 * 240  # a row per trimap
    md = (out / "quality.md").read_text()
    assert "| trimap | closed-form |" in md
    for m in result["means"]:  # the lowest mean of each trimap and metric is bold, and only it
        sel = [x["sad"] for x in result["means"] if x["trimap"] == m["trimap"]]
        line = next(ln for ln in md.splitlines() if ln.startswith(f"| {m['trimap']} | {m['method']} |"))
        assert ("**" in line.split("|")[4]) == (m["sad"] == min(sel)), line

    again = tmp_path / "again"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.quality",
            "--no-model",
            "--data",
            str(data),
            "--names",
            "GT24",
            "--methods",
            "closed-form,knn",
            "--reuse",
            str(out),
            "--out",
            str(again),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "closed-form:" not in done.stdout  # nothing solved again
    reused = json.loads((again / "quality.json").read_text())["rows"]
    assert reused == [r for r in rows if r["method"] in ("closed-form", "knn")]
