"""Matte quality on real photos: a trained checkpoint, refined and not, against every classical method.

For every held-out photo (the checkpoint config's ``data.val_names`` by default) and every trimap folder
(``trimap``: the benchmark's fine trimap, ``trimap2``: the coarse one), it predicts the matte with the model
(``ours``), with the model refined in closed-form matting's system (``ours+refine``,
:mod:`alphagan_jax.inference.refine`) and with each classical method a user would pick instead (pymatting's
closed-form, KNN, learning-based, shared, large-kernel and random-walk matting, ``classical.py``), scores
every matte with the project's SAD/MSE/Grad/Conn (``alphagan_jax.evaluation.metrics``, the official definitions), times
each, and writes:

  OUT/quality.json   every row (photo, trimap, method, errors, seconds) and the means
  OUT/quality.md     the markdown tables (means with the best per metric and trimap in bold, then per photo)
  OUT/NAME.png       per photo: image | trimap | closed-form | ours | ours refined | ground truth (a row per trimap)
  OUT/mattes/NAME.TRIMAP.METHOD.png   every matte scored

Usage:
  python -m bench.quality --workdir runs/alphamatting --out results/quality
  python -m bench.quality --no-model --names all --out results/classical-all   # the classical methods alone
  python -m bench.quality --workdir runs/x --reuse results/classical --out results/x   # their rows reused

Seconds per image: the model's time excludes its one-off compile per 64 px bucket (each shape is run once
to compile, then timed); ``ours+refine`` is the network's time plus the refinement's; a classical method's
is one solve. All run on this machine's CPU, one after the other.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.classical import CLASSICAL, classical, closed_form, warm_up  # noqa: F401  (closed_form: tests)
from bench.common import format_table, write_json

MODEL_METHODS = ("ours", "ours+refine")
METHODS = (*CLASSICAL, *MODEL_METHODS)
PICTURE = ("closed-form", "ours", "ours+refine")
METRICS = ("sad", "mse", "grad", "conn")


def load_photos(data: Path, trimap_dir: str, names: list[str] | None) -> list[dict]:
    """The photos' samples (image, trimap, alpha) with the trimaps of `data/trimap_dir`."""
    from alphagan_jax.data.eval_sources import EvalFolders, eval_folders, load_files, pair_files, select_names

    base = eval_folders("alphamatting", data)
    folders = EvalFolders(base.root, base.image, base.root / trimap_dir, base.alpha)
    if not folders.trimap.is_dir():
        raise SystemExit(f"trimap folder not found: {folders.trimap}")
    pairs = pair_files("alphamatting", folders)
    if names:
        pairs = select_names(pairs, names, folders.image)
    return [load_files(p) for p in pairs]


def model_predictor(
    workdir: str, best: bool, step: int | None, tta: bool, average: bool = True
) -> tuple[Any, Any, int]:
    from alphagan_jax.artifacts.loader import load_predictor

    predictor, weights = load_predictor(workdir, step=step, best=best, tta=tta, refine=False, average=average)
    return predictor, weights.config, weights.step


def run_method(method: str, sample: dict, predictor: Any, refine_params: Any = None) -> tuple[np.ndarray, float]:
    """(uint8 matte, seconds) of one method on one sample; the model's compile is not timed."""
    from alphagan_jax.data.io import to_uint8

    image, trimap = sample["image"], sample["trimap"]
    if method in CLASSICAL:
        start = time.perf_counter()
        alpha = classical(method, image, trimap)
        return alpha, time.perf_counter() - start
    predictor(image, trimap)  # compile (once per bucket) and warm up
    start = time.perf_counter()
    alpha = np.asarray(predictor(image, trimap))
    if method == "ours+refine":
        from alphagan_jax.inference.refine import refine_alpha

        alpha = refine_alpha(image, trimap, alpha, refine_params)
    return to_uint8(alpha), time.perf_counter() - start


def reused_rows(reuse: Path, methods: list[str], data: str, names: list[str] | None) -> tuple[list, dict]:
    """Rows and mattes of `methods` from an earlier run's OUT folder (same photos and data), to skip re-solving
    slow classical methods; (rows, {(name, trimap, method): matte})."""
    from alphagan_jax.data.io import read_raw

    path = reuse / "quality.json"
    if not path.is_file():
        raise SystemExit(f"--reuse: {path} not found")
    earlier = json.loads(path.read_text())
    if Path(earlier["data"]).resolve() != Path(data).resolve():
        raise SystemExit(f"--reuse: {path} scored {earlier['data']}, not {data}")
    rows = [r for r in earlier["rows"] if r["method"] in methods and (names is None or r["name"] in names)]
    mattes = {}
    for r in rows:
        matte = reuse / "mattes" / f"{r['name']}.{r['trimap']}.{r['method']}.png"
        if not matte.is_file():
            raise SystemExit(f"--reuse: {matte} not found")
        mattes[(r["name"], r["trimap"], r["method"])] = read_raw(matte)
    return rows, mattes


def means(rows: list[dict]) -> list[dict]:
    """Mean errors and seconds per (trimap, method), over the photos scored."""
    out = []
    for trimap in dict.fromkeys(r["trimap"] for r in rows):
        for method in dict.fromkeys(r["method"] for r in rows):
            sel = [r for r in rows if r["trimap"] == trimap and r["method"] == method]
            if sel:
                mean = {k: float(np.mean([r[k] for r in sel])) for k in (*METRICS, "seconds")}
                out.append({"trimap": trimap, "method": method, "photos": len(sel), **mean})
    return out


def best_marks(mean_rows: list[dict]) -> dict[tuple[str, str, str], bool]:
    """(trimap, method, metric) -> whether that mean is the lowest of its trimap and metric."""
    marks = {}
    for trimap in {r["trimap"] for r in mean_rows}:
        sel = [r for r in mean_rows if r["trimap"] == trimap]
        for k in METRICS:
            low = min(r[k] for r in sel)
            for r in sel:
                marks[(trimap, r["method"], k)] = r[k] == low
    return marks


def markdown(rows: list[dict], mean_rows: list[dict]) -> str:
    marks = best_marks(mean_rows)

    def cell(v: Any) -> str:
        return f"{v:.4f}" if isinstance(v, float) and abs(v) < 0.1 else (f"{v:.2f}" if isinstance(v, float) else str(v))

    def table(items: list[dict], columns: list[str], bold: bool = False) -> str:
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for r in items:
            cells = [
                f"**{cell(r[c])}**" if bold and marks.get((r["trimap"], r["method"], c)) else cell(r[c])
                for c in columns
            ]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    return (
        "Means over the photos (SAD and Conn / 1000, MSE over unknown pixels, Grad / 1000; the best per trimap "
        "and metric in bold):\n\n"
        + table(mean_rows, ["trimap", "method", "photos", *METRICS, "seconds"], bold=True)
        + "\n\nPer photo:\n\n"
        + table(rows, ["name", "trimap", "method", *METRICS, "seconds"])
        + "\n"
    )


def picture(samples: dict[str, dict], mattes: dict[tuple[str, str], np.ndarray], height: int = 240) -> np.ndarray:
    """uint8 grid for one photo: a row per trimap of image | trimap | closed-form | ours | ours refined | ground
    truth (black where a method was not run)."""
    import cv2

    rows = []
    for trimap_dir, sample in samples.items():
        cells = [sample["image"], sample["trimap"]]
        cells += [mattes.get((trimap_dir, m), np.zeros_like(sample["trimap"])) for m in PICTURE]
        cells.append(sample["alpha"])
        h, w = sample["trimap"].shape
        size = (round(w * height / h), height)
        cells = [cv2.resize(c, size, interpolation=cv2.INTER_AREA) for c in cells]
        cells = [np.repeat(c[:, :, None], 3, axis=2) if c.ndim == 2 else c for c in cells]
        rows.append(np.concatenate(cells, axis=1))
    width = max(r.shape[1] for r in rows)
    return np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows], axis=0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", help="training workdir whose checkpoint is scored")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--best", action="store_true", help="the best checkpoint by validation SAD")
    which.add_argument("--step", type=int, default=None, help="this checkpoint step (default: latest)")
    p.add_argument(
        "--methods",
        default=",".join(METHODS),
        help=f"comma-separated methods to score (default: all of {', '.join(METHODS)})",
    )
    p.add_argument("--no-model", action="store_true", help="the classical methods only (no --workdir needed)")
    p.add_argument("--no-cf", action="store_true", help="the model only (no classical method)")
    p.add_argument("--no-refine", action="store_true", help="the model without its refined row")
    p.add_argument(
        "--reuse",
        type=Path,
        default=None,
        help="an earlier OUT folder: reuse its rows and mattes of classical methods on the same photos",
    )
    p.add_argument("--tta", action="store_true", help="the model with flip test-time augmentation")
    p.add_argument(
        "--raw-weights",
        action="store_true",
        help="the raw weights of a run that also kept their moving average (train.ema_decay)",
    )
    p.add_argument("--data", default="../shared/data/alphamatting", help="alphamatting.com layout folder")
    p.add_argument(
        "--names",
        default="",
        help="comma-separated photo names, or 'all' (default: the checkpoint config's data.val_names)",
    )
    p.add_argument("--trimaps", default="trimap,trimap2", help="trimap folders to score with (fine, coarse)")
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        p.error(f"unknown --methods {', '.join(unknown)}; allowed: {', '.join(METHODS)}")
    methods = [
        m
        for m in methods
        if not (m in CLASSICAL and args.no_cf)
        and not (m in MODEL_METHODS and args.no_model)
        and not (m == "ours+refine" and args.no_refine)
    ]
    if not methods:
        p.error("nothing to score: the options leave no method")
    if any(m in MODEL_METHODS for m in methods) and not args.workdir:
        p.error("--workdir is needed for the model's rows (or --no-model)")

    from alphagan_jax.evaluation.metrics import evaluate_many
    from alphagan_jax.inference.refine import RefineParams

    uses_model = any(m in MODEL_METHODS for m in methods)
    predictor, config, step = (
        model_predictor(args.workdir, args.best, args.step, args.tta, average=not args.raw_weights)
        if uses_model
        else (None,) * 3
    )
    if args.names == "all":
        names = None
    elif args.names:
        names = [n.strip() for n in args.names.split(",") if n.strip()]
    elif config is not None and config.data.get("val_names"):
        names = list(config.data.val_names)
    else:
        p.error("--names is needed: the checkpoint's config names no data.val_names")
    trimap_dirs = [t.strip() for t in args.trimaps.split(",") if t.strip()]

    samples = {t: load_photos(Path(args.data), t, names) for t in trimap_dirs}
    rows, scored, by_photo = [], [], {}
    reused: dict = {}
    if args.reuse is not None:
        old_rows, reused = reused_rows(args.reuse, [m for m in methods if m in CLASSICAL], args.data, names)
        rows += [{k: r[k] for k in ("name", "trimap", "method", "seconds")} for r in old_rows]
    warm = {m for m in methods if m in CLASSICAL and not any(k[2] == m for k in reused)}
    if "ours+refine" in methods:
        # The refinement runs Shared Matting and closed-form's Laplacian and solver: their first calls compile
        # (numba), which is not a photo's time.
        warm |= {"shared", "closed-form"}
    warm_up(sorted(warm))
    refine_params = RefineParams()
    for trimap_dir in trimap_dirs:
        for sample in samples[trimap_dir]:
            for method in methods:
                key = (sample["name"], trimap_dir, method)
                if key in reused:
                    alpha = reused[key]
                else:
                    try:
                        alpha, seconds = run_method(method, sample, predictor, refine_params)
                    except ValueError as e:  # e.g. pymatting on a trimap without background or foreground
                        raise SystemExit(f"{sample['name']} with {trimap_dir}: {method} failed: {e}") from e
                    rows.append({"name": sample["name"], "trimap": trimap_dir, "method": method, "seconds": seconds})
                    print(f"{sample['name']} {trimap_dir} {method}: {seconds:.2f} s", flush=True)
                by_photo.setdefault(sample["name"], {})[(trimap_dir, method)] = alpha
    order = {
        (n, t, m): i
        for i, (n, t, m) in enumerate((s["name"], t, m) for t in trimap_dirs for s in samples[t] for m in methods)
    }
    rows.sort(key=lambda r: order.get((r["name"], r["trimap"], r["method"]), len(order)))
    for r in rows:
        sample = next(s for s in samples[r["trimap"]] if s["name"] == r["name"])
        scored.append((by_photo[r["name"]][(r["trimap"], r["method"])], sample["alpha"], sample["trimap"]))
    for row, errors in zip(rows, evaluate_many(scored, names=METRICS), strict=True):
        row.update({k: float(errors[k]) for k in METRICS})
    mean_rows = means(rows)

    from alphagan_jax.data.io import write_png

    args.out.mkdir(parents=True, exist_ok=True)
    for name, mattes in by_photo.items():
        photo = {t: next(s for s in samples[t] if s["name"] == name) for t in trimap_dirs}
        write_png(args.out / f"{name}.png", picture(photo, mattes))
        for (trimap_dir, method), alpha in mattes.items():
            write_png(args.out / "mattes" / f"{name}.{trimap_dir}.{method}.png", alpha)
    (args.out / "quality.md").write_text(markdown(rows, mean_rows))
    write_json(
        args.out / "quality.json",
        {
            "workdir": args.workdir,
            "step": step,
            "best": args.best,
            "tta": args.tta,
            "raw_weights": args.raw_weights,
            "data": args.data,
            "methods": methods,
            "reused_from": str(args.reuse) if args.reuse else None,
            "refine": vars(refine_params) if "ours+refine" in methods else None,
            "rows": rows,
            "means": mean_rows,
        },
    )
    print(format_table(mean_rows, ["trimap", "method", "photos", *METRICS, "seconds"]))
    print(f"wrote {args.out / 'quality.json'}, quality.md and {len(by_photo)} pictures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
