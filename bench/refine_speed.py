"""Seconds of the Laplacian refinement per photo, at the photos' size (~800 px) and at 2048 px.

For each photo: the network's matte, then the refinement split into building the Laplacian (pymatting's
cf_laplacian over the windows touching unknown pixels), the cross-check's Shared Matting matte (pymatting's
estimate_alpha_sm) and the solve (incomplete Cholesky + CG from the network's matte), beside closed-form
matting's whole solve on the same image and trimap, the baseline that costs the same kind of work. The
2048 px case is the photo and its trimap resized (long side 2048, cubic and nearest), so its unknown band
is 2.5 times wider in pixels, as a real high-resolution photo's is.

  OUT/refine_speed.json    one row per photo and size, and the ratios to closed-form

Usage:
  python -m bench.refine_speed --workdir runs/alphamatting --names GT03,GT24 --out results/refine-speed
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from bench.classical import closed_form, warm_up
from bench.common import format_table, write_json
from bench.quality import load_photos, model_predictor


def resized(sample: dict, long_side: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = sample["trimap"].shape
    scale = long_side / max(h, w)
    size = (round(w * scale), round(h * scale))
    image = cv2.resize(sample["image"], size, interpolation=cv2.INTER_CUBIC)
    return image, cv2.resize(sample["trimap"], size, interpolation=cv2.INTER_NEAREST)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", required=True)
    p.add_argument("--data", default="../shared/data/alphamatting")
    p.add_argument("--names", default="GT03,GT24")
    p.add_argument("--sizes", default="0,2048", help="long sides to time (0: the photo as it is)")
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args(argv)
    from alphagan_jax.inference.refine import RefineParams, Refiner

    predictor, _, step = model_predictor(args.workdir, False, None, False)
    samples = load_photos(Path(args.data), "trimap", [n.strip() for n in args.names.split(",") if n.strip()])
    warm_up(["closed-form", "shared"])
    rows = []
    for sample in samples:
        for side in (int(s) for s in args.sizes.split(",")):
            image, trimap = (sample["image"], sample["trimap"]) if side == 0 else resized(sample, side)
            predictor(image, trimap)  # compile this bucket
            t0 = time.perf_counter()
            alpha = np.asarray(predictor(image, trimap))
            t1 = time.perf_counter()
            refiner = Refiner(image, trimap)
            t2 = time.perf_counter()
            refiner.reference()
            t2b = time.perf_counter()
            refiner(alpha, RefineParams())
            t3 = time.perf_counter()
            closed_form(image, trimap)
            t4 = time.perf_counter()
            row = {
                "name": sample["name"],
                "size": f"{image.shape[1]}x{image.shape[0]}",
                "unknown": int(((trimap != 0) & (trimap != 255)).sum()),
                "network": t1 - t0,
                "laplacian": t2 - t1,
                "shared_matting": t2b - t2,
                "solve": t3 - t2b,
                "refine": t3 - t1,
                "closed_form": t4 - t3,
            }
            row["refine_vs_cf"] = row["refine"] / row["closed_form"]
            rows.append(row)
            print(format_table([row], list(row)), flush=True)
    write_json(args.out / "refine_speed.json", {"workdir": args.workdir, "step": step, "rows": rows})
    print(format_table(rows, list(rows[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
