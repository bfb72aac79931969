"""Full-resolution prediction through `alphagan_jax.inference.predictor.Predictor`: latency and images/s at batch 1
(float32 and bfloat16 compute), and compiles and time per image over a list of mixed sizes, showing that sizes
in the same bucket share one executable. Latency is end to end: padding, host-to-device, predict, device-to-host.

  # GPU (defaults: ResNet-50 at output stride 8, 800x800, 1080x1920, 2048x2048):
  python -m bench.inference --out bench/results/inference.json
  # this CPU (tiny model, small sizes):
  python -m bench.inference --quick --out bench/results/inference_cpu.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import use_most_gpu_memory

use_most_gpu_memory()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from alphagan_jax.inference.predictor import Predictor, generator_predict_fn, padded_size  # noqa: E402
from alphagan_jax.models import build_generator  # noqa: E402
from bench.common import (  # noqa: E402
    Budget,
    device_peak_bytes,
    error_text,
    format_table,
    model_config,
    parse_list,
    parse_size,
    time_calls,
    write_json,
)

DEFAULT_SIZES = "800x800,1080x1920,2048x2048"
# Pairs that share a 64-px bucket (800/810/790 -> 832, 1050x1900 -> 1088x1920, 1000 -> 1024, 2000x2040 -> 2048).
DEFAULT_MIXED = "800x800,810x790,832x832,1080x1920,1050x1900,1024x1024,1000x1000,2048x2048,2000x2040"
QUICK_SIZES = "320x320,480x640"
QUICK_MIXED = "320x320,300x310,288x320,480x640,470x630,256x256"


def sample(height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A uint8 image and a {0, 128, 255} trimap with all three regions (a centred unknown band)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    r = np.hypot((yy - height / 2) / height, (xx - width / 2) / width)
    trimap = np.where(r < 0.2, 255, np.where(r < 0.3, 128, 0)).astype(np.uint8)
    return image, trimap


def init_variables(config: Any) -> Any:
    """Random float32 generator variables (shapes do not depend on the image size, so init at 64 px)."""
    g = build_generator(config.model, dtype="float32")
    x = jnp.zeros((1, 64, 64, 3), jnp.float32)
    return jax.jit(g.init)(jax.random.PRNGKey(0), x, x[..., :1])


def make_predictor(config: Any, variables: Any, dtype: str, bucket: int) -> Predictor:
    return Predictor(generator_predict_fn(build_generator(config.model, dtype=dtype)), variables, bucket=bucket)


def bench_latency(
    predictor: Predictor, size: tuple[int, int], dtype: str, *, warmup: int, repeats: int
) -> dict[str, Any]:
    """Batch-1 latency of one size; compiles are counted from this row's calls only (the predictor is shared
    with the other rows of its dtype)."""
    image, trimap = sample(*size)
    compiles, compile_s = predictor.num_compiles, predictor.compile_seconds
    # The first call compiles; time_calls times it on its own (first_call_s).
    before = device_peak_bytes()
    t = time_calls(lambda: predictor(image, trimap), lambda _: None, warmup=warmup, steps=repeats, time_first=True)
    peak = device_peak_bytes()
    # JAX cannot reset its peak counter: a peak that did not rise in this row may be an earlier row's.
    own_peak = peak if peak and (before is None or peak > before) else None
    bucket = predictor.bucket
    return {
        "height": size[0],
        "width": size[1],
        "dtype": dtype,
        "padded": f"{padded_size(size[0], bucket)}x{padded_size(size[1], bucket)}",
        **t,
        "latency_ms": 1e3 * t["median_s"],
        "images_per_s": 1.0 / t["median_s"],
        "compile_s": predictor.compile_seconds - compile_s,
        "num_compiles": predictor.num_compiles - compiles,
        "peak_gib": own_peak / 2**30 if own_peak else None,
        "process_peak_gib": peak / 2**30 if peak else None,
    }


def bench_mixed(predictor: Predictor, sizes: list[tuple[int, int]], dtype: str) -> dict[str, Any]:
    """The predictor over every size in turn: which calls compiled, and the time of the others. The predictor
    is the latency rows' one, so a bucket they compiled is not compiled again (no recompile after warm-up)."""
    bucket = predictor.bucket
    compiles, compile_s = predictor.num_compiles, predictor.compile_seconds
    images = []
    for k, size in enumerate(sizes):
        image, trimap = sample(*size, seed=k)
        before, start = predictor.num_compiles, time.perf_counter()
        predictor(image, trimap)
        images.append(
            {
                "size": f"{size[0]}x{size[1]}",
                "padded": f"{padded_size(size[0], bucket)}x{padded_size(size[1], bucket)}",
                "compiled": predictor.num_compiles > before,
                "seconds": time.perf_counter() - start,
            }
        )
    warm = [r["seconds"] for r in images if not r["compiled"]]
    return {
        "dtype": dtype,
        "bucket": bucket,
        "images": images,
        "distinct_sizes": len(set(sizes)),
        "distinct_buckets": len({r["padded"] for r in images}),
        "num_compiles": predictor.num_compiles - compiles,
        "compile_s": predictor.compile_seconds - compile_s,
        "mean_warm_s_per_image": sum(warm) / len(warm) if warm else None,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="default", help="configs/<name>.py: default (ResNet-50) or test (tiny)")
    p.add_argument("--stride", type=int, default=8, help="model.output_stride")
    p.add_argument("--sizes", default=DEFAULT_SIZES, help="HxW list for the latency table")
    p.add_argument("--dtypes", default="float32,bfloat16")
    p.add_argument("--mixed", default=DEFAULT_MIXED, help="HxW list for the bucketing run ('' to skip)")
    p.add_argument("--bucket", type=int, default=64)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--quick", action="store_true", help="CPU-sized: tiny model (configs/test.py), small images")
    p.add_argument(
        "--budget-s", type=float, default=None, help="wall-clock budget: rows that would start after it are skipped"
    )
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.quick:
        args.config, args.stride, args.sizes, args.mixed = "test", 16, QUICK_SIZES, QUICK_MIXED
        args.warmup, args.repeats = 1, 5

    budget = Budget(args.budget_s)
    config = model_config(args.config, args.stride, "float32")
    variables = init_variables(config)
    rows: list[dict[str, Any]] = []
    mixed: list[dict[str, Any]] = []
    predictors: dict[str, Predictor] = {}  # one per dtype: its compiled buckets carry over to the next rows

    def save() -> None:
        if args.out:
            write_json(
                args.out,
                {
                    "bench": "inference",
                    "config": args.config,
                    "output_stride": args.stride,
                    "device_kind": jax.devices()[0].device_kind,
                    "rows": rows,
                    "mixed": mixed,
                },
            )

    for size in parse_list(args.sizes, parse_size):
        for dtype in parse_list(args.dtypes, str):
            key = {"height": size[0], "width": size[1], "dtype": dtype}
            if budget.left() <= 0:
                rows.append({**key, "error": Budget.SPENT})
            else:
                try:
                    if dtype not in predictors:
                        predictors[dtype] = make_predictor(config, variables, dtype, args.bucket)
                    rows.append(bench_latency(predictors[dtype], size, dtype, warmup=args.warmup, repeats=args.repeats))
                except Exception as e:  # noqa: BLE001 - a size that does not fit is a result
                    rows.append({**key, "error": error_text(e)})
            save()
            print(format_table(rows[-1:], LATENCY_COLUMNS), flush=True)
    if args.mixed and budget.left() > 0:
        dtype = parse_list(args.dtypes, str)[0]
        predictor = predictors.get(dtype) or make_predictor(config, variables, dtype, args.bucket)
        mixed.append(bench_mixed(predictor, parse_list(args.mixed, parse_size), dtype))
        save()

    print(f"\nBatch-1 prediction, {args.config} config, output stride {args.stride}")
    print(format_table(rows, LATENCY_COLUMNS))
    for m in mixed:
        print(
            f"\nMixed sizes ({m['dtype']}, bucket {m['bucket']}): {m['distinct_sizes']} sizes, "
            f"{m['distinct_buckets']} buckets, {m['num_compiles']} compiles ({m['compile_s']:.1f} s)"
        )
        print(format_table(m["images"], ("size", "padded", "compiled", "seconds")))
    if args.out:
        print(f"wrote {args.out}")
    return 0


LATENCY_COLUMNS = (
    "height",
    "width",
    "dtype",
    "padded",
    "latency_ms",
    "images_per_s",
    "compile_s",
    "num_compiles",
    "peak_gib",
    "error",
)

if __name__ == "__main__":
    sys.exit(main())
