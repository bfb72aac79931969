"""``alphagan-demo --model RUN``: the matting page on http://127.0.0.1:7860 (see docs/prediction.md, Matting page).

The model is loaded once and kept; each 64 px size bucket compiles on its first photo. Uploads and results
live in a temporary folder removed when the server stops; nothing else is written unless you download.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from pathlib import Path

from alphagan_jax.artifacts.loader import DEFAULT_BUCKET
from alphagan_jax.cli import logs as cli_logging

_log = logging.getLogger(__name__)
EXIT_OK, EXIT_BAD_MODEL = 0, 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="alphagan-demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", required=True, help="the model: a training workdir (train.py's --workdir)")
    p.add_argument("--port", type=int, default=7860, help="port to serve on (default 7860)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this computer only). --host 0.0.0.0 lets every "
        "machine that can reach this one use the page and its model: only on a network you trust",
    )
    p.add_argument(
        "--bucket",
        type=int,
        default=DEFAULT_BUCKET,
        help=f"pad sides to a multiple of this (of 32); one compile per bucket (default {DEFAULT_BUCKET}, "
        "as predict, evaluate.py and the Python API: the padding changes the matte)",
    )
    p.add_argument(
        "--examples",
        default=None,
        help="folder with image/ and trimap/ photos to offer (default: ../shared/data/alphamatting when it exists)",
    )
    p.add_argument("--verbose", action="store_true", help="show library logs (also ALPHAGAN_VERBOSE=1)")
    return p.parse_args(argv)


def find_examples(folder: str | Path | None) -> dict[str, tuple[Path, Path]]:
    """{name: (photo, trimap)} of a folder holding image/NAME.png and trimap/NAME.png; {} without one."""
    if folder is None:
        here = Path(__file__).resolve().parents[2]  # the repository, for a source checkout
        candidates = [Path.cwd() / "../shared/data/alphamatting", here / "../shared/data/alphamatting"]
        folder = next((c for c in candidates if (c / "image").is_dir()), None)
        if folder is None:
            return {}
    root = Path(folder).resolve()
    found = {}
    for image in sorted((root / "image").glob("*.png")):
        trimap = root / "trimap" / image.name
        if trimap.is_file():
            found[image.stem] = (image, trimap)
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli_logging.setup(args.verbose)
    with tempfile.TemporaryDirectory(prefix="alphagan-demo-") as tmp:
        # Gradio keeps uploads and served files in its temp folder: this one, so they go when the page does.
        os.environ["GRADIO_TEMP_DIR"] = tmp
        os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
        from alphagan_jax.artifacts.loader import load_predictor
        from alphagan_jax.demo.session import LoadedModel, Matter

        try:
            # The network alone: the page wraps it in the refinement per request (its checkbox).
            predictor, weights = load_predictor(args.model, bucket=args.bucket, refine=False)
            model = LoadedModel(predictor, weights.description)
        except (OSError, ValueError) as e:
            _log.error("%s", e)
            return EXIT_BAD_MODEL
        examples = find_examples(args.examples)
        out_root = Path(tmp) / "results"
        out_root.mkdir()

        from alphagan_jax.demo.app import build_app

        page = build_app(Matter(model, out_root), examples)
        allowed = sorted({str(p.parent.parent) for pair in examples.values() for p in pair})
        print(f"matting page for {model.description} on http://{args.host}:{args.port}", flush=True)
        page.queue(default_concurrency_limit=1).launch(
            server_name=args.host,
            server_port=args.port,
            allowed_paths=allowed,
            ssr_mode=False,
            footer_links=[],
            quiet=not args.verbose,
        )
    return EXIT_OK
