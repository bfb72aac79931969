"""Seconds per photo through each inference route on the shared alphamatting.com photos: `model.alpha`
(JAX), the ONNX files in ONNX Runtime, and the serialized StableHLO reloaded with jax.export. Ratios are to
`model.alpha` in the same run; each route also reports its largest difference from `model.alpha`.

Every route pads a photo to its 64 px bucket; compiles (JAX, StableHLO) and session creation (ONNX) happen
in a warm-up pass over the bucket shapes and are reported apart, not in the per-photo times.

  python -m bench.export_routes --model MODEL_DIR --out bench/results/export_routes.json
  python -m bench.export_routes --config synthetic --num 5 --out /tmp/routes.json   # untrained weights
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import REPO, format_table, write_json

SHARED = REPO.parent / "shared" / "data" / "alphamatting"


def load_model(args: argparse.Namespace) -> Any:
    import alphagan_jax as ag

    if args.model or args.workdir:
        return ag.load(args.model or args.workdir)
    import jax
    import jax.numpy as jnp

    from alphagan_jax.models import build_generator
    from bench.common import model_config

    config = model_config(args.config, 16, "float32").model
    variables = build_generator(config).init(
        jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 3)), jnp.zeros((1, 64, 64, 1))
    )
    return ag.Model(config, variables, {"name": f"untrained {args.config}"})


def read_photos(data: Path, num: int | None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    from alphagan_jax.data.io import read_rgb, read_trimap

    names = sorted(p.stem for p in (data / "image").glob("*.png"))[:num]
    if not names:
        raise SystemExit(f"error: no photos in {data / 'image'}")
    return [(n, read_rgb(data / "image" / f"{n}.png"), read_trimap(data / "trimap" / f"{n}.png")) for n in names]


def time_route(fn: Any, photos: list, repeats: int) -> dict[str, Any]:
    """Warm up once per photo (compiles, sessions), then `repeats` timed passes; median seconds per photo."""
    start = time.perf_counter()
    outputs = [fn(img, tri) for _, img, tri in photos]
    warmup = time.perf_counter() - start
    per_photo = []
    for _ in range(repeats):
        for _, img, tri in photos:
            start = time.perf_counter()
            np.asarray(fn(img, tri))
            per_photo.append(time.perf_counter() - start)
    return {
        "s_per_photo": statistics.median(per_photo),
        "mean_s_per_photo": statistics.fmean(per_photo),
        "warmup_s": warmup,
        "outputs": outputs,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", help="a model folder")
    src.add_argument("--workdir", help="a training workdir (latest checkpoint)")
    src.add_argument("--config", default="synthetic", help="else an untrained network of configs/<name>.py")
    p.add_argument("--data", default=str(SHARED), help="alphamatting layout: image/ and trimap/")
    p.add_argument("--num", type=int, default=None, help="only the first N photos")
    p.add_argument("--repeats", type=int, default=2, help="timed passes over the photos")
    p.add_argument("--routes", default="jax,onnx,stablehlo")
    p.add_argument("--out", required=True, help="JSON results")
    args = p.parse_args(argv)
    routes = [r.strip() for r in args.routes.split(",")]

    from alphagan_jax.inference.exports.runners import OnnxMatting, StableHLOMatting, bucket_shape

    model = load_model(args)
    photos = read_photos(Path(args.data), args.num)
    shapes = sorted({bucket_shape(*tri.shape) for _, _, tri in photos})
    work = Path(tempfile.mkdtemp(prefix="export_routes_"))
    # The network alone: the exported graphs hold no refinement, so neither does the route they are timed against.
    runners: dict[str, Any] = {"jax": lambda image, trimap: model.alpha(image, trimap, refine=False)}
    export_s: dict[str, float] = {}
    if "onnx" in routes:
        from alphagan_jax.inference.exports.onnx_export import export_onnx

        start = time.perf_counter()
        for h, w in shapes:
            export_onnx(model.model_config, model.variables, h, w, work)
        export_s["onnx"] = time.perf_counter() - start
        runners["onnx"] = OnnxMatting(work)
    if "stablehlo" in routes:
        from alphagan_jax.inference.exports.stablehlo_export import export_stablehlo

        start = time.perf_counter()
        path = export_stablehlo(model.model_config, model.variables, work, platforms=("cpu",))
        export_s["stablehlo"] = time.perf_counter() - start
        runners["stablehlo"] = StableHLOMatting(path)

    rows, reference = [], None
    for route, fn in runners.items():
        result = time_route(fn, photos, args.repeats)
        outputs = result.pop("outputs")
        if reference is None:
            reference, base = outputs, result["s_per_photo"]
        diff = max(float(np.abs(np.asarray(o) - r).max()) for o, r in zip(outputs, reference, strict=True))
        rows.append(
            {
                "route": route,
                **result,
                "ratio_to_model_alpha": result["s_per_photo"] / base,
                "max_abs_diff": diff,
                "export_s": export_s.get(route),
            }
        )
        print(f"{route}: {result['s_per_photo']:.3f} s/photo", flush=True)
    sizes = [f"{tri.shape[0]}x{tri.shape[1]}" for _, _, tri in photos]
    write_json(
        args.out,
        {
            "model": model.info.get("name"),
            "network": model.model_config.to_dict(),
            "photos": [n for n, _, _ in photos],
            "sizes": sizes,
            "bucket_shapes": [f"{h}x{w}" for h, w in shapes],
            "repeats": args.repeats,
            "rows": rows,
        },
    )
    print(format_table(rows, ["route", "s_per_photo", "ratio_to_model_alpha", "max_abs_diff", "warmup_s", "export_s"]))
    print(f"{len(photos)} photos, {len(shapes)} bucket shapes; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
