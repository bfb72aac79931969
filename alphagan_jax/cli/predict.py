"""Matte photos with a trained AlphaGAN: cut-outs, the matte, and optionally the subject on a new background.

One photo (outputs in OUT: alpha.png, cutout.png [, trimap.png] [, composite.png])::

    alphagan-predict --workdir RUN --image photo.jpg --trimap trimap.png --out OUT
    alphagan-predict --workdir RUN --image photo.jpg --mask mask.png --band 15 --out OUT
    alphagan-predict --model MODEL_DIR --image photo.jpg --trimap trimap.png --out OUT

A folder (outputs in OUT, named after each photo: NAME.alpha.png, NAME.cutout.png [, NAME.trimap.png]
[, NAME.composite.png]; trimaps or masks paired with photos by file name, extension aside)::

    alphagan-predict --workdir RUN --image-dir photos/ --mask-dir masks/ --out OUT
        [--background beach.jpg | --background '#00ff00']

alpha.png is the 8-bit matte, refined by default in closed-form matting's system with a Shared Matting
cross-check (alphagan_jax.inference.refine; --no-refine for the network alone); cutout.png is RGBA whose colours
are the foreground estimated by Germer et al.'s multi-level method (not the photo times alpha, which keeps
the old background's colour in hair);
trimap.png is the trimap made from a mask (check and correct it, then pass it with --trimap);
composite.png is that foreground over --background, resized to cover the photo and centred.

Existing outputs are kept: a single photo stops with an error, a folder skips the photos already done
(so a rerun finishes an interrupted one) unless --overwrite. New outputs replace old ones only once
complete, so a photo that fails keeps what an earlier run wrote.

exit status:
  0  every photo written (or, in a folder, kept from an earlier run)
  1  some photos failed (each named on stderr); all the others were written
  2  nothing done: bad arguments, missing folder, checkpoint or model folder, unreadable background, existing outputs
     of a single photo

Library log chatter is hidden; --verbose or ALPHAGAN_VERBOSE=1 shows it.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

from alphagan_jax.artifacts.loader import DEFAULT_BUCKET
from alphagan_jax.cli import logs as cli_logging
from alphagan_jax.cli.model_args import add_model_source, load_chosen_predictor
from alphagan_jax.inference.inputs import Job, load_job, pair_folder
from alphagan_jax.inference.outputs import matte_outputs, output_paths, write_outputs
from alphagan_jax.inference.refine import REFINE_BY_DEFAULT

_log = logging.getLogger(__name__)

EXIT_OK, EXIT_SOME_FAILED, EXIT_NOTHING_DONE = 0, 1, 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="alphagan-predict",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_source(p, "a model folder (alphagan-export)")
    photos = p.add_mutually_exclusive_group(required=True)
    photos.add_argument("--image", help="one RGB photo")
    photos.add_argument("--image-dir", help="a folder of photos")
    guide = p.add_mutually_exclusive_group(required=True)
    guide.add_argument("--trimap", help="trimap of --image (0 background, 128 unknown, 255 foreground)")
    guide.add_argument("--mask", help="rough binary or soft mask of --image (white = subject)")
    guide.add_argument("--trimap-dir", help="trimaps of --image-dir, named like the photos")
    guide.add_argument("--mask-dir", help="masks of --image-dir, named like the photos")
    p.add_argument(
        "--band", type=int, default=10, help="with a mask: unknown pixels on each side of its boundary (default 10)"
    )
    p.add_argument(
        "--mask-thresholds",
        default="0.1,0.9",
        help="with a mask: LOW,HIGH; values <= LOW are background, >= HIGH foreground, "
        "between unknown (default 0.1,0.9)",
    )
    p.add_argument("--background", help="also write composite.png over this image file or colour '#rrggbb'")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--unknown-value",
        type=int,
        default=None,
        help="the trimaps' unknown value if not 128 (default: auto-detect, with a warning)",
    )
    p.add_argument("--tta", action="store_true", help="average with the horizontally flipped prediction")
    p.add_argument("--bf16", action="store_true", help="bfloat16 compute")
    p.add_argument(
        "--refine",
        action=argparse.BooleanOptionalAction,
        default=REFINE_BY_DEFAULT,
        help="refine the network's matte in closed-form matting's system (needs pymatting; "
        f"default: {'on' if REFINE_BY_DEFAULT else 'off'}; --no-refine for the network alone)",
    )
    p.add_argument(
        "--bucket",
        type=int,
        default=DEFAULT_BUCKET,
        help="pad sides to a multiple of this (of 32); photos of sizes within one bucket share a "
        f"compile (default {DEFAULT_BUCKET}, as in every route: the padding changes the matte)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs in --out")
    p.add_argument("--verbose", action="store_true", help="show library logs (also ALPHAGAN_VERBOSE=1)")
    args = p.parse_args(argv)
    folder = args.image_dir is not None
    if folder != (args.trimap_dir is not None or args.mask_dir is not None):
        p.error("--image goes with --trimap or --mask; --image-dir with --trimap-dir or --mask-dir")
    if args.band < 0:
        p.error(f"--band must be >= 0, got {args.band}")
    try:
        low, high = (float(v) for v in args.mask_thresholds.split(","))
    except ValueError:
        p.error(f"--mask-thresholds takes LOW,HIGH, got {args.mask_thresholds!r}")
    if not 0 <= low < high <= 1:
        p.error(f"--mask-thresholds needs 0 <= LOW < HIGH <= 1, got {args.mask_thresholds}")
    args.thresholds = (low, high)
    if folder and Path(args.out).resolve() == Path(args.image_dir).resolve():
        p.error("--out must differ from --image-dir (outputs would be read as photos on the next run)")
    if args.model and (args.best or args.step is not None):
        p.error("--best and --step select a checkpoint of --workdir; a --model folder holds one step")
    args.folder = folder
    return args


def _jobs(args: argparse.Namespace) -> list[Job]:

    if not args.folder:
        return [Job("", Path(args.image), trimap=_path(args.trimap), mask=_path(args.mask))]
    if args.trimap_dir is not None:
        return pair_folder(args.image_dir, args.trimap_dir, "trimap")
    return pair_folder(args.image_dir, args.mask_dir, "mask")


def _path(p: str | None) -> Path | None:
    return None if p is None else Path(p)


def _kinds(args: argparse.Namespace) -> list[str]:
    kinds = ["alpha", "cutout"]
    if args.mask is not None or args.mask_dir is not None:
        kinds.append("trimap")  # the trimap used, for the user to check and correct
    if args.background is not None:
        kinds.append("composite")
    return kinds


def run(args: argparse.Namespace) -> int:
    """Matte every job; returns the exit status (see the module docstring)."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    start = time.perf_counter()
    background = None
    if args.background is not None:
        from alphagan_jax.inference.background import load_background

        background = load_background(args.background)  # before any work: a typo should cost nothing
    jobs, kinds = _jobs(args), _kinds(args)
    todo, kept = [], []
    for job in jobs:
        paths = output_paths(args.out, job.name, kinds)
        existing = [p for p in paths.values() if p.exists()]
        if existing and not args.overwrite:
            if not args.folder:
                raise FileExistsError(f"{existing[0]} already exists: choose another --out or pass --overwrite")
            kept.append(job.name)
        else:
            todo.append((job, paths))
    if kept:
        _log.warning(
            "kept the outputs of %d photos already in %s (pass --overwrite to redo them): %s%s",
            len(kept),
            args.out,
            ", ".join(kept[:10]),
            " ..." if len(kept) > 10 else "",
        )
    predictor, step, failed, written = None, None, [], 0
    with logging_redirect_tqdm(), tqdm(todo, desc="predict", unit="photo", disable=None) as bar:
        for job, paths in bar:
            try:
                image, trimap = load_job(
                    job, unknown_value=args.unknown_value, band=args.band, thresholds=args.thresholds
                )
                if predictor is None:  # after the first photo is read: a bad single photo fails fast
                    predictor, step = _load_predictor(args)
                arrays = matte_outputs(predictor, image, trimap, background)
                arrays["trimap"] = trimap
                write_outputs(paths, arrays)
                written += 1
            except _ModelError:
                raise
            except Exception as e:  # noqa: BLE001 - one bad photo must never stop the others
                # File errors name their file already; anything else also needs its type to be understood.
                why = str(e) if isinstance(e, (OSError, ValueError)) else f"{type(e).__name__}: {e}"
                _log.error("%s", f"{job.name}: {why}" if job.name else why)
                failed.append(job.name or str(job.image))
    _summary(args, step, written, kept, failed, predictor, time.perf_counter() - start)
    return EXIT_SOME_FAILED if failed else EXIT_OK


class _ModelError(Exception):
    """The checkpoint could not be restored: nothing can be matted."""


def _load_predictor(args: argparse.Namespace) -> tuple[Any, int | None]:
    try:
        predictor, weights = load_chosen_predictor(args, refine=args.refine)
    except ImportError as e:  # the refinement without pymatting
        raise _ModelError(f"{e}; or pass --no-refine") from e
    except (OSError, ValueError) as e:
        raise _ModelError(str(e)) from e
    return predictor, weights.step


def _summary(
    args: argparse.Namespace, step: int | None, written: int, kept: list, failed: list, predictor: Any, seconds: float
) -> None:
    parts = [f"wrote {written} photo{'s' if written != 1 else ''} to {args.out}"]
    if step is not None:
        parts[0] = f"step {step}: " + parts[0]
    if kept:
        parts.append(f"kept {len(kept)} done earlier")
    if failed:
        parts.append(
            f"{len(failed)} failed: {', '.join(str(f) for f in failed[:10])}{' ...' if len(failed) > 10 else ''}"
        )
    if predictor is not None and written:
        # Compiles are a per-shape start-up cost; the rest is what each further photo of a known shape costs.
        rest = (seconds - predictor.compile_seconds) / written
        n = predictor.num_compiles
        parts.append(
            f"{seconds:.1f} s with {n} compile{'s' if n != 1 else ''} ({predictor.compile_seconds:.1f} s), "
            f"{rest:.2f} s/photo besides compiling"
        )
    print("; ".join(parts))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not cli_logging.setup(args.verbose):
        cli_logging.hide_background_failures()  # an unreadable checkpoint: Orbax's threads would add tracebacks
    try:
        return run(args)
    except _ModelError as e:
        _log.error("%s", e)
    except (OSError, ValueError) as e:  # missing folder, unreadable background, existing outputs
        _log.error("%s", e)
    return EXIT_NOTHING_DONE
