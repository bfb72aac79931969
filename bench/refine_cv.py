"""Choose the refinement's parameters honestly: two-fold cross-validation over the held-out photos.

Refinement (:mod:`alphagan_jax.inference.refine`) has four scalars: the prior's weight g, the confidence's floor and
power, and the width of its cross-check with Shared Matting (`agreement`; "none" in the grid drops the
cross-check). Choosing them on the photos that are then reported would flatter it, so the held-out photos are
split by position into two folds (the first two names, then the rest); each fold's parameters are the grid
point with the lowest mean SAD on the *other* fold (fine and coarse trimaps together), and each photo is
reported with parameters chosen without it. The pooled rows (every photo once) are the result. Finally the
grid point best on all photos is printed as the value to fix as the default (alphagan_jax/inference/refine.py).

The network's matte of each photo is computed once; each photo's Laplacian (and its Shared Matting
reference) is built once per trimap and reused for every grid point. The grid is scored with SAD and MSE;
the pooled rows with all four metrics.

With `--shared-baseline` the same two folds also choose g, floor and power for the same system with Shared
Matting's matte as the prior instead of the network's (no network at all): the classical pipeline the
network has to beat once refinement is allowed to use Shared Matting.

  OUT/refine_cv.json   the grid's SAD/MSE per photo and trimap, the folds, the choices, the pooled rows

Usage:
  python -m bench.refine_cv --workdir runs/alphamatting --shared-baseline --out results/refine-cv
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.common import format_table, write_json
from bench.quality import METRICS, load_photos, means, model_predictor


def floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def optional_floats(text: str) -> list[float | None]:
    """Comma-separated floats; "none" is None (the cross-check off)."""
    return [None if v.strip().lower() == "none" else float(v) for v in text.split(",") if v.strip()]


def score_rows(scores: dict, grid: list) -> list[dict]:
    return [
        {"name": n, "trimap": t, "params": vars(grid[i]), "sad": v[0], "mse": v[1]} for (n, t, i), v in scores.items()
    ]


def cross_validate(scores: dict, grid: list, folds: list, trimaps: list, method: str, samples: dict) -> tuple:
    """(pooled rows, choices): each fold reported with the grid point best on the other fold."""
    pooled, choices = [], []
    for k, report in enumerate(folds):
        pick = folds[1 - k]
        i = choose(scores, pick, trimaps, len(grid))
        choices.append({"method": method, "chosen_on": pick, "reported_on": report, "params": vars(grid[i])})
        for t in trimaps:
            for s in samples[t]:
                if s["name"] in report:
                    pooled.append(
                        {
                            "name": s["name"],
                            "trimap": t,
                            "method": method,
                            "matte": scores[(s["name"], t, i)][2],
                            "sample": s,
                            "seconds": 0.0,
                        }
                    )
    return pooled, choices


def grid_scores(samples: dict, priors: dict | None, grid: list, log=print, refiners: dict | None = None) -> dict:
    """{(name, trimap, grid index): (sad, mse, matte uint8)} for every photo, trimap and grid point.

    `priors` None: each photo's Shared Matting matte is the prior. `refiners` caches each photo's
    Refiner (its Laplacian and reference) across calls."""
    from alphagan_jax.data.io import to_uint8
    from alphagan_jax.evaluation.metrics import mse, sad
    from alphagan_jax.inference.refine import Refiner

    refiners = {} if refiners is None else refiners
    scores = {}
    for trimap_dir, items in samples.items():
        for sample in items:
            key = (sample["name"], trimap_dir)
            start = time.perf_counter()
            if key not in refiners:
                refiners[key] = Refiner(sample["image"], sample["trimap"])
            refiner = refiners[key]
            prior = refiner.reference() if priors is None else priors[key]
            if prior is None:
                raise SystemExit(f"{key[0]} ({trimap_dir}): Shared Matting needs known foreground and background")
            for i, params in enumerate(grid):
                matte = to_uint8(refiner(prior, params))
                scores[(*key, i)] = (
                    sad(matte, sample["alpha"], sample["trimap"]),
                    mse(matte, sample["alpha"], sample["trimap"]),
                    matte,
                )
            log(f"{key[0]} {trimap_dir}: {len(grid)} settings in {time.perf_counter() - start:.1f} s")
    return scores


def choose(scores: dict, names: list[str], trimaps: list[str], size: int) -> int:
    """The grid index with the lowest mean SAD over `names` and `trimaps`."""
    means_ = [np.mean([scores[(n, t, i)][0] for n in names for t in trimaps]) for i in range(size)]
    return int(np.argmin(means_))


def main(argv: list[str] | None = None) -> int:
    from alphagan_jax.inference.refine import RefineParams

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", required=True)
    p.add_argument("--step", type=int, default=None, help="checkpoint step (default: latest)")
    p.add_argument("--data", default="../shared/data/alphamatting")
    p.add_argument("--names", default="", help="comma-separated photos (default: the config's data.val_names)")
    p.add_argument("--tta", action="store_true", help="the network's matte with flip test-time augmentation")
    p.add_argument("--split", type=int, default=2, help="the first fold is the first N names (default 2)")
    p.add_argument("--trimaps", default="trimap,trimap2")
    # The defaults are the grid of docs/results.md.
    p.add_argument("--weights", default="1e-3,3e-3,1e-2,3e-2,1e-1,3e-1,1", help="grid of g")
    p.add_argument("--floors", default="0.02,0.1", help="grid of the confidence's floor")
    p.add_argument("--powers", default="2", help="grid of the confidence's power")
    p.add_argument(
        "--agreements",
        default="0.03,0.05,0.1,0.2",
        help="grid of the cross-check's width with Shared Matting (none: off)",
    )
    p.add_argument(
        "--shared-baseline", action="store_true", help="also cross-validate Shared Matting's matte as the prior"
    )
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args(argv)

    from alphagan_jax.evaluation.metrics import evaluate_many

    predictor, config, step = model_predictor(args.workdir, False, args.step, args.tta)
    names = [n.strip() for n in args.names.split(",") if n.strip()] or list(config.data.val_names)
    if not 0 < args.split < len(names):
        p.error(f"--split must leave photos in both folds: 0 < {args.split} < {len(names)}")
    trimaps = [t.strip() for t in args.trimaps.split(",") if t.strip()]
    samples = {t: load_photos(Path(args.data), t, names) for t in trimaps}
    priors = {(s["name"], t): np.asarray(predictor(s["image"], s["trimap"])) for t in trimaps for s in samples[t]}
    grid = [
        RefineParams(w, f, q, a)
        for w, f, q, a in itertools.product(
            floats(args.weights), floats(args.floors), floats(args.powers), optional_floats(args.agreements)
        )
    ]
    refiners: dict = {}
    scores = grid_scores(samples, priors, grid, refiners=refiners)

    folds = [names[: args.split], names[args.split :]]
    pooled, choices = cross_validate(scores, grid, folds, trimaps, "ours+refine (cv)", samples)
    baseline = {}
    if args.shared_baseline:
        # The same grid without the cross-check (Shared Matting cannot check itself), in the same order.
        base_grid = list(dict.fromkeys(replace(g, agreement=None) for g in grid))
        base_scores = grid_scores(samples, None, base_grid, refiners=refiners)
        base_pooled, base_choices = cross_validate(
            base_scores, base_grid, folds, trimaps, "shared+laplacian (cv, no network)", samples
        )
        pooled += base_pooled
        choices += base_choices
        baseline = {
            "grid": [vars(g) for g in base_grid],
            "grid_scores": score_rows(base_scores, base_grid),
            "best_on_all": vars(base_grid[choose(base_scores, names, trimaps, len(base_grid))]),
        }
    from alphagan_jax.data.io import to_uint8

    for t in trimaps:  # the network alone on the same photos, for the comparison
        for s in samples[t]:
            pooled.append(
                {
                    "name": s["name"],
                    "trimap": t,
                    "method": "ours",
                    "sample": s,
                    "seconds": 0.0,
                    "matte": to_uint8(priors[(s["name"], t)]),
                }
            )
    errors = evaluate_many([(r["matte"], r["sample"]["alpha"], r["sample"]["trimap"]) for r in pooled], names=METRICS)
    rows = [
        {**{k: r[k] for k in ("name", "trimap", "method", "seconds")}, **{k: float(e[k]) for k in METRICS}}
        for r, e in zip(pooled, errors, strict=True)
    ]
    overall = grid[choose(scores, names, trimaps, len(grid))]
    mean_rows = means(rows)
    write_json(
        args.out / "refine_cv.json",
        {
            "workdir": args.workdir,
            "step": step,
            "tta": args.tta,
            "names": names,
            "trimaps": trimaps,
            "grid": [vars(g) for g in grid],
            "grid_scores": score_rows(scores, grid),
            "folds": choices,
            "rows": rows,
            "means": mean_rows,
            "best_on_all": vars(overall),
            "shared_baseline": baseline,
            "defaults_in_code": vars(RefineParams()),
        },
    )
    for c in choices:
        print(
            f"{c['method']}: chosen on {','.join(c['chosen_on'])}, "
            f"reported on {','.join(c['reported_on'])}: {c['params']}"
        )
    print(format_table(mean_rows, ["trimap", "method", "photos", *METRICS]))
    defaults = vars(RefineParams())
    print(
        f"best on all {len(names)} photos: {vars(overall)} (defaults in alphagan_jax/inference/refine.py: {defaults})"
    )
    print(f"wrote {args.out / 'refine_cv.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
