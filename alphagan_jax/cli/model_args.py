"""The command-line arguments that choose a trained model, shared by predict, evaluate.py and export.

--workdir (a training run: --step N or --best picks its checkpoint, the latest by default) or --model (a
model folder written by ``alphagan-export``). One definition, so the tools cannot drift.
"""

from __future__ import annotations

import argparse
from typing import Any

WORKDIR_HELP = "training workdir holding the checkpoints"


def add_checkpoint_choice(parser: Any) -> None:
    """--step N | --best, on `parser` (an ArgumentParser or one of its argument groups)."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--step", type=int, default=None, help="checkpoint step (default: latest)")
    which.add_argument("--best", action="store_true", help="the best checkpoint by validation SAD")


def add_model_source(parser: argparse.ArgumentParser, model_help: str) -> None:
    """--workdir | --model (one of them required), then :func:`add_checkpoint_choice`."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--workdir", help=WORKDIR_HELP)
    source.add_argument("--model", help=model_help)
    add_checkpoint_choice(parser)


def load_chosen_predictor(args: argparse.Namespace, *, refine: bool) -> tuple[Any, Any]:
    """(predictor, weights) of the model the arguments choose (--workdir or --model, --step or --best),
    with the command's --bucket, --tta and --bf16, through :func:`alphagan_jax.artifacts.loader.load_predictor`.

    Raises what the loader raises: FileNotFoundError / ValueError naming the path, ImportError for `refine`
    without pymatting.
    """
    from alphagan_jax.artifacts.loader import load_predictor  # at call time: the CLIs set up logging first

    return load_predictor(
        args.model or args.workdir,
        step=args.step,
        best=args.best,
        bucket=args.bucket,
        tta=args.tta,
        bf16=args.bf16,
        refine=refine,
    )
