"""bench.refine_cv: each fold's parameters are chosen on the other fold only, and every photo is reported once."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alphagan_jax.data.io import read_alpha_u8, read_rgb, read_trimap, write_png

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_fold_choice_is_made_without_the_reported_photos(shared_data, trained_workdir, tmp_path):
    src, data = shared_data / "alphamatting", tmp_path / "am"
    boxes = {
        "GT24": (slice(64, 192), slice(224, 352)),
        "GT20": (slice(352, 480), slice(528, 656)),  # every box holds background, unknown and foreground
        "GT15": (slice(300, 428), slice(150, 278)),
    }
    for name, box in boxes.items():
        write_png(data / "image" / f"{name}.png", read_rgb(src / "image" / f"{name}.png")[box])
        write_png(data / "alpha" / f"{name}.png", read_alpha_u8(src / "alpha" / f"{name}.png")[box])
        for t in ("trimap", "trimap2"):
            write_png(data / t / f"{name}.png", read_trimap(src / t / f"{name}.png")[box])
    out = tmp_path / "cv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.refine_cv",
            "--workdir",
            str(trained_workdir),
            "--data",
            str(data),
            "--names",
            "GT24,GT20,GT15",
            "--split",
            "1",
            "--weights",
            "1e-4,1e-1",
            "--floors",
            "0.05,1",
            "--powers",
            "2",
            "--agreements",
            "none,0.1",
            "--shared-baseline",
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "refine_cv.json").read_text())
    base = result["shared_baseline"]
    assert len(result["grid"]) == 8 and {g["agreement"] for g in result["grid"]} == {None, 0.1}
    assert len(base["grid"]) == 4 and {g["agreement"] for g in base["grid"]} == {None}
    methods = {"ours+refine (cv)": result, "shared+laplacian (cv, no network)": base}
    for method, part in methods.items():
        grid, scores = part["grid"], part["grid_scores"]

        def mean_sad(names, params, scores=scores):
            return np.mean([g["sad"] for g in scores if g["name"] in names and g["params"] == params])

        # The values that fixed the defaults: the grid point of lowest mean SAD over every photo and trimap.
        best = min(grid, key=lambda g: mean_sad(list(boxes), g))
        assert part["best_on_all"] == best, (part["best_on_all"], best)
        folds = [f for f in result["folds"] if f["method"] == method]
        assert [f["reported_on"] for f in folds] == [["GT24"], ["GT20", "GT15"]]
        for fold in folds:
            assert not set(fold["chosen_on"]) & set(fold["reported_on"])
            assert mean_sad(fold["chosen_on"], fold["params"]) == min(mean_sad(fold["chosen_on"], g) for g in grid)
        pooled = [r for r in result["rows"] if r["method"] == method]
        assert sorted((r["name"], r["trimap"]) for r in pooled) == sorted(
            (n, t) for n in boxes for t in ("trimap", "trimap2")
        )
        # A pooled row's SAD is its grid score under the parameters of the fold that reports it.
        for r in pooled:
            params = next(f["params"] for f in folds if r["name"] in f["reported_on"])
            want = next(
                g["sad"] for g in scores if (g["name"], g["trimap"], g["params"]) == (r["name"], r["trimap"], params)
            )
            assert r["sad"] == pytest.approx(want, rel=1e-9)
    # The baseline's prior is Shared Matting's matte, not the network's: one grid score recomputed from scratch.
    from alphagan_jax.data.io import to_uint8
    from alphagan_jax.evaluation.metrics import sad
    from alphagan_jax.inference.refine import RefineParams, Refiner, shared_matting

    row = base["grid_scores"][-1]
    image = read_rgb(data / "image" / f"{row['name']}.png")
    trimap = read_trimap(data / row["trimap"] / f"{row['name']}.png")
    matte = to_uint8(Refiner(image, trimap)(shared_matting(image, trimap), RefineParams(**row["params"])))
    assert row["sad"] == pytest.approx(sad(matte, read_alpha_u8(data / "alpha" / f"{row['name']}.png"), trimap))
