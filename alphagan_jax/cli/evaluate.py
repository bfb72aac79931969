"""Evaluate matting on a test set with the Deep Image Matting benchmark's SAD, MSE, Grad and Conn.

Model mode (restores G's parameters only; no optimiser state, no TensorFlow)::

    python evaluate.py --workdir runs/x [--step N | --best] --data composition1k --data-path DIR --out OUT
        [--tta] [--bf16] [--refine] [--bucket 64] [--unknown-value N] [--num N] [--workers N]
    python evaluate.py --model MODEL_DIR --data composition1k --data-path DIR --out OUT   (a model folder)

Score mode (no model; scores existing prediction PNGs)::

    python evaluate.py --pred-dir P --alpha-dir A --trimap-dir T --out OUT [--unknown-value N]

Both write OUT/metrics.csv (one row per image, written as it is scored) and OUT/summary.json (means over
scored images and counts of skipped and failed ones); model mode also writes OUT/alpha/<name>.png and
the number of XLA compiles.

exit status:
  0  every image scored (or, without ground truth or unknown pixels, predicted and counted as such)
  1  some images failed (an error row each in metrics.csv, named on stderr); the others were scored
  2  nothing done: bad arguments, missing folder or checkpoint, earlier results in --out

Library log chatter is hidden; --verbose or ALPHAGAN_VERBOSE=1 shows it.
"""

from __future__ import annotations

import argparse
import logging
import sys

from alphagan_jax.artifacts.loader import DEFAULT_BUCKET
from alphagan_jax.cli import logs as cli_logging
from alphagan_jax.cli.model_args import add_checkpoint_choice, load_chosen_predictor

_log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    model = p.add_argument_group("model mode")
    model.add_argument("--workdir", help="training workdir holding the Orbax checkpoints")
    model.add_argument("--model", help="a model folder (alphagan-export) instead of --workdir")
    add_checkpoint_choice(model)
    model.add_argument(
        "--data",
        default="composition1k",
        choices=["composition1k", "alphamatting", "folder", "synthetic"],
        help="test set layout",
    )
    model.add_argument("--data-path", default="", help="folder of the test set (not needed for synthetic)")
    model.add_argument("--num", type=int, default=None, help="evaluate only the first N images")
    model.add_argument("--tta", action="store_true", help="average with the horizontally flipped prediction")
    model.add_argument("--bf16", action="store_true", help="bfloat16 compute (parameters stay float32)")
    model.add_argument(
        "--refine",
        action="store_true",
        help="refine the network's mattes in closed-form matting's system (needs pymatting); "
        "off by default, so benchmark rows stay the network's own",
    )
    model.add_argument(
        "--bucket",
        type=int,
        default=DEFAULT_BUCKET,
        help="pad sides up to a multiple of this (a multiple of 32): fewer distinct shapes, fewer compiles",
    )
    score = p.add_argument_group("score mode")
    score.add_argument("--pred-dir", help="predicted alpha PNGs, named like the ground truth")
    score.add_argument("--alpha-dir", help="ground-truth alphas")
    score.add_argument("--trimap-dir", help="trimaps")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--unknown-value",
        type=int,
        default=None,
        help="value of the trimaps' unknown region if not 128 (default: auto-detect, with a warning)",
    )
    p.add_argument("--workers", type=int, default=None, help="metric processes (default: every core)")
    p.add_argument("--overwrite", action="store_true", help="replace earlier results in --out")
    p.add_argument("--verbose", action="store_true", help="show library logs (also ALPHAGAN_VERBOSE=1)")
    args = p.parse_args(argv)
    score_mode = any([args.pred_dir, args.alpha_dir, args.trimap_dir])
    if args.workdir and args.model:
        p.error("give --workdir or --model, not both")
    if args.model and (args.best or args.step is not None):
        p.error("--best and --step select a checkpoint of --workdir; a --model folder holds one step")
    model_source = args.workdir or args.model
    if score_mode and model_source:
        p.error("give either --workdir/--model (model mode) or --pred-dir/--alpha-dir/--trimap-dir (score mode)")
    if score_mode and not all([args.pred_dir, args.alpha_dir, args.trimap_dir]):
        p.error("score mode needs all of --pred-dir, --alpha-dir and --trimap-dir")
    if not score_mode and not model_source:
        p.error("give --workdir or --model (model mode) or --pred-dir/--alpha-dir/--trimap-dir (score mode)")
    if not score_mode and args.data != "synthetic" and not args.data_path:
        p.error(f"--data {args.data} needs --data-path")
    args.score_mode = score_mode
    return args


def run(args: argparse.Namespace) -> dict:
    """Run either mode and return the summary."""
    from alphagan_jax.evaluation import loop as evaluation

    if args.score_mode:
        return evaluation.score_dirs(
            args.pred_dir,
            args.alpha_dir,
            args.trimap_dir,
            args.out,
            unknown_value=args.unknown_value,
            workers=args.workers,
            overwrite=args.overwrite,
        )
    from alphagan_jax.data.eval_sources import list_eval_items, synthetic_items

    if args.data == "synthetic":
        items = synthetic_items(args.num or 8, backgrounds=args.data_path)
    else:
        items = list_eval_items(args.data, args.data_path, num=args.num)
    # The network alone unless --refine: the benchmark scores the paper's model (ImportError without
    # pymatting is reported by main()).
    predictor, weights = load_chosen_predictor(args, refine=args.refine)
    step = weights.step
    _log.info("restored step %d from %s; evaluating %d images", step, args.workdir or args.model, len(items))
    refined = predictor if args.refine else None

    def extra() -> dict:
        return {
            "workdir": str(args.workdir),
            "model": args.model,
            "step": step,
            "data": args.data,
            "data_path": str(args.data_path),
            "tta": args.tta,
            "bf16": args.bf16,
            "bucket": args.bucket,
            "refine": vars(refined.params) if refined is not None else None,
            "num_compiles": predictor.num_compiles,
            "compiled_shapes": [list(s) for s in predictor.shapes],
            "predict_seconds": round(predictor.predict_seconds, 3),
            "compile_seconds": round(predictor.compile_seconds, 3),
        }

    return evaluation.evaluate_model(
        predictor,
        items,
        args.out,
        unknown_value=args.unknown_value,
        workers=args.workers,
        extra_summary=extra,
        overwrite=args.overwrite,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not cli_logging.setup(args.verbose):
        cli_logging.hide_background_failures()  # an unreadable checkpoint: Orbax's threads would add tracebacks
    try:
        summary = run(args)
    except (OSError, ValueError) as e:  # missing/empty folders, no checkpoint, corrupt checkpoint
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ImportError as e:  # --refine without pymatting
        print(f"error: {e}; or leave out --refine", file=sys.stderr)
        return 2
    means = "  ".join(
        f"{k.upper()} {summary[k]:.4g}" for k in ("sad", "mse", "grad", "conn") if summary.get(k) is not None
    )
    print(
        f"{summary['num_scored']}/{summary['num_images']} images scored "
        f"({summary['num_no_unknown']} without unknown pixels, {summary['num_errors']} errors)  {means}"
    )
    if "num_compiles" in summary:
        refined = "refined in closed-form matting's system" if summary.get("refine") else "the network alone"
        print(f"mattes: {refined}; compiles: {summary['num_compiles']}")
    print(f"wrote {args.out}/metrics.csv and summary.json")
    return 1 if summary["num_errors"] else 0
