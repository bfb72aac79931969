"""Matte quality on real photos: a trained checkpoint against closed-form matting, with both trimaps.

For every held-out photo (the checkpoint config's ``data.val_names`` by default) and every trimap folder
(``trimap``: the benchmark's fine trimap, ``trimap2``: the coarse one), it predicts the matte with the model
and with closed-form matting (Levin et al. 2008, pymatting's ``estimate_alpha_cf``, the method users reach
for), scores both with the project's SAD/MSE/Grad/Conn (``alphagan_jax.metrics``, the official definitions),
times both, and writes:

  OUT/quality.json   every row (photo, trimap, method, errors, seconds) and the means
  OUT/quality.md     the markdown tables (means, then per photo)
  OUT/NAME.png       per photo: image | trimap | closed-form | ours | ground truth (row 1 fine, row 2 coarse)
  OUT/mattes/NAME.TRIMAP.METHOD.png   every matte scored

Usage:
  pip install -e '.[bench]'   # pymatting
  python bench/quality.py --workdir runs/alphamatting --best --out results/quality
  python bench/quality.py --no-model --names all --out results/cf-all   # closed-form alone, all 20 photos

Seconds per image: the model's time excludes its one-off compile per 64 px bucket (each shape is run once
to compile, then timed), and closed-form's is one solve. Both run on this machine's CPU, one after the other.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import format_table, write_json  # noqa: E402

METHODS = ("closed-form", "ours")
METRICS = ("sad", "mse", "grad", "conn")


def closed_form(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """pymatting's closed-form matte (uint8 HxW) of a uint8 RGB image and {0,128,255} trimap."""
    try:
        from pymatting import estimate_alpha_cf
    except ImportError as e:
        raise SystemExit(f"closed-form matting needs pymatting: pip install -e '.[bench]' ({e})") from e
    from alphagan_jax.data.io import to_uint8

    alpha = estimate_alpha_cf(image.astype(np.float64) / 255.0, trimap.astype(np.float64) / 255.0)
    return clamp_known(to_uint8(alpha), trimap)


def clamp_known(alpha: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """The trimap's known regions set exactly (fg 255, bg 0), as evaluation does for the model. (The
    model's clamp, models.clamp_known, works on float32 JAX arrays: rounding closed-form's float64 matte
    there first would move a few pixels by one level.)"""
    return np.where(trimap == 255, 255, np.where(trimap == 0, 0, alpha)).astype(np.uint8)


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
    from alphagan_jax.inference import predictor_from_checkpoint

    return predictor_from_checkpoint(workdir, step=step, best=best, bucket=64, tta=tta, average=average)


def run_method(method: str, sample: dict, predictor: Any) -> tuple[np.ndarray, float]:
    """(uint8 matte, seconds) of one method on one sample; the model's compile is not timed."""
    from alphagan_jax.data.io import to_uint8

    image, trimap = sample["image"], sample["trimap"]
    if method == "closed-form":
        start = time.perf_counter()
        alpha = closed_form(image, trimap)
        return alpha, time.perf_counter() - start
    predictor(image, trimap)  # compile (once per bucket) and warm up
    start = time.perf_counter()
    alpha = to_uint8(np.asarray(predictor(image, trimap)))
    return alpha, time.perf_counter() - start


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


def markdown(rows: list[dict], mean_rows: list[dict]) -> str:
    def table(items: list[dict], columns: list[str]) -> str:
        def cell(v: Any) -> str:
            return f"{v:.4f}" if isinstance(v, float) and abs(v) < 0.1 else (
                f"{v:.2f}" if isinstance(v, float) else str(v))

        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(cell(r[c]) for c in columns) + " |" for r in items]
        return "\n".join(lines)

    return (
        "Means over the photos (SAD and Conn / 1000, MSE over unknown pixels, Grad / 1000):\n\n"
        + table(mean_rows, ["trimap", "method", "photos", *METRICS, "seconds"])
        + "\n\nPer photo:\n\n"
        + table(rows, ["name", "trimap", "method", *METRICS, "seconds"])
        + "\n"
    )


def picture(samples: dict[str, dict], mattes: dict[tuple[str, str], np.ndarray], height: int = 240) -> np.ndarray:
    """uint8 grid for one photo: a row per trimap of image | trimap | closed-form | ours | ground truth."""
    import cv2

    rows = []
    for trimap_dir, sample in samples.items():
        cells = [sample["image"], sample["trimap"]]
        cells += [mattes.get((trimap_dir, m), np.zeros_like(sample["trimap"])) for m in METHODS]
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
    p.add_argument("--no-model", action="store_true", help="closed-form only (no --workdir needed)")
    p.add_argument("--no-cf", action="store_true", help="the model only")
    p.add_argument("--tta", action="store_true", help="the model with flip test-time augmentation")
    p.add_argument("--raw-weights", action="store_true",
                   help="the raw weights of a run that also kept their moving average (train.ema_decay)")
    p.add_argument("--data", default="../shared/data/alphamatting", help="alphamatting.com layout folder")
    p.add_argument("--names", default="",
                   help="comma-separated photo names, or 'all' (default: the checkpoint config's data.val_names)")
    p.add_argument("--trimaps", default="trimap,trimap2", help="trimap folders to score with (fine, coarse)")
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args(argv)
    if args.no_model and args.no_cf:
        p.error("--no-model and --no-cf leave nothing to score")
    if not args.no_model and not args.workdir:
        p.error("--workdir is needed unless --no-model")

    from alphagan_jax.metrics import evaluate_many

    predictor, config, step = (None, None, None) if args.no_model else model_predictor(
        args.workdir, args.best, args.step, args.tta, average=not args.raw_weights)
    if args.names == "all":
        names = None
    elif args.names:
        names = [n.strip() for n in args.names.split(",") if n.strip()]
    elif config is not None and config.data.get("val_names"):
        names = list(config.data.val_names)
    else:
        p.error("--names is needed: the checkpoint's config names no data.val_names")
    methods = [m for m in METHODS if not (m == "closed-form" and args.no_cf) and not (m == "ours" and args.no_model)]
    trimap_dirs = [t.strip() for t in args.trimaps.split(",") if t.strip()]

    samples = {t: load_photos(Path(args.data), t, names) for t in trimap_dirs}
    if "closed-form" in methods:
        # pymatting compiles its kernels (numba) on the first call: a minute that is not a solve's time.
        warm = np.full((16, 16), 128, np.uint8)
        warm[:, :4], warm[:, -4:] = 0, 255
        closed_form(np.zeros((16, 16, 3), np.uint8), warm)
    rows, scored, by_photo = [], [], {}
    for trimap_dir in trimap_dirs:
        for sample in samples[trimap_dir]:
            for method in methods:
                try:
                    alpha, seconds = run_method(method, sample, predictor)
                except ValueError as e:  # e.g. pymatting on a trimap without background or foreground
                    raise SystemExit(f"{sample['name']} with {trimap_dir}: {method} failed: {e}") from e
                by_photo.setdefault(sample["name"], {})[(trimap_dir, method)] = alpha
                rows.append({"name": sample["name"], "trimap": trimap_dir, "method": method, "seconds": seconds})
                scored.append((alpha, sample["alpha"], sample["trimap"]))
                print(f"{sample['name']} {trimap_dir} {method}: {seconds:.2f} s", flush=True)
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
    write_json(args.out / "quality.json", {
        "workdir": args.workdir, "step": step, "best": args.best, "tta": args.tta, "raw_weights": args.raw_weights,
        "data": args.data,
        "rows": rows, "means": mean_rows,
    })
    print(format_table(mean_rows, ["trimap", "method", "photos", *METRICS, "seconds"]))
    print(f"wrote {args.out / 'quality.json'}, quality.md and {len(by_photo)} pictures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
