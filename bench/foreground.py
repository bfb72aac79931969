"""Foreground colours for cut-outs: ours (alphagan_jax.inference.foreground_colours, vectorised NumPy) against
pymatting's estimate_foreground_ml (numba), the same method (Germer et al., ICPR 2020) with the same
defaults, on real photos with their ground-truth alpha.

    python -m bench.foreground --data ../shared/data/alphamatting --out bench/results/foreground.json

Per photo: how far the two foregrounds are apart (float, and as the uint8 cut-out predict writes), how far
each is from a 100-iteration solve of the same system (which of the two is nearer the answer), and warm
seconds for both, run alternately in this process (median of --repeats). Writes JSON and prints a table.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import format_table, write_json

ARGS = {
    "regularization": 1e-5,
    "n_small_iterations": 10,
    "n_big_iterations": 2,
    "small_size": 32,
    "gradient_weight": 1.0,
}


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 255), 0, 255).astype(np.uint8)


def _seconds(fn: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare(image: np.ndarray, alpha: np.ndarray, repeats: int) -> dict[str, float]:
    """image float HxWx3 and alpha float HxW in [0, 1]: the row of one photo."""
    import pymatting

    from alphagan_jax.inference.foreground_colours import estimate_foreground_ml as ours

    f_ours, _ = ours(image, alpha, **ARGS)
    f_pm = pymatting.estimate_foreground_ml(image, alpha, **ARGS)
    reference = pymatting.estimate_foreground_ml(image, alpha, **{**ARGS, "n_big_iterations": 100})
    seen = alpha > 0  # where a cut-out shows the colour at all
    err = {
        name: float(np.abs(_u8(f).astype(int) - _u8(reference).astype(int))[seen].mean())
        for name, f in (("ours", f_ours), ("pymatting", f_pm))
    }
    t_ours = _seconds(lambda: ours(image, alpha, **ARGS), repeats)
    t_pm = _seconds(lambda: pymatting.estimate_foreground_ml(image, alpha, **ARGS), repeats)
    apart = np.abs(_u8(f_ours).astype(int) - _u8(f_pm).astype(int))
    return {
        "max_abs_diff": float(np.abs(f_ours - f_pm).max()),
        "u8_values_differing_pct": float(100 * (apart > 0).mean()),
        "u8_max_diff_where_alpha>0": int(apart[seen].max()) if seen.any() else 0,
        "u8_err_vs_100_iter_ours": err["ours"],
        "u8_err_vs_100_iter_pymatting": err["pymatting"],
        "seconds_ours": t_ours,
        "seconds_pymatting": t_pm,
        "ours_over_pymatting": t_ours / t_pm,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.foreground", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="a folder with image/ and alpha/ (e.g. ../shared/data/alphamatting)")
    p.add_argument("--num", type=int, default=5, help="photos, in name order (default 5)")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per photo and method (default 3)")
    p.add_argument("--out", default="bench/results/foreground.json")
    args = p.parse_args(argv)
    import pymatting  # noqa: F401  (imported, so compiled or loaded from numba's cache, before any timing)

    from alphagan_jax.data.io import read_alpha, read_rgb

    data = Path(args.data)
    rows = []
    for path in sorted((data / "image").glob("*.png"))[: args.num]:
        image = read_rgb(path).astype(np.float64) / 255.0
        alpha = read_alpha(data / "alpha" / path.name).astype(np.float64)
        compare(image, alpha, 1)  # warm both (numba's first call, page cache)
        rows.append(
            {"photo": path.stem, "size": f"{image.shape[1]}x{image.shape[0]}", **compare(image, alpha, args.repeats)}
        )
        print(format_table(rows[-1:], list(rows[-1])), flush=True)
    print(format_table(rows, list(rows[0])))
    write_json(args.out, {"bench": "foreground", "args": vars(args), "rows": rows})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
