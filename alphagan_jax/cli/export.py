"""Export a trained model: a model folder to hand around or publish, ONNX files, serialized StableHLO.

    alphagan-export --workdir RUN [--best | --step N] --out MODEL_DIR
    alphagan-export --model MODEL_DIR --out MODEL_DIR/exports --format onnx,stablehlo \\
        --onnx-sizes 512x512,512x768

folder     MODEL_DIR/generator.msgpack, config.json, model.json (step, validation SAD/MSE, training data
           names and licence, sizes, version, sha256) and README.md (the model card; needs the `hub`
           extra, without it the folder is written without a card). Only what inference needs: no
           optimiser state, no discriminator, no paths of the training machine.
onnx       OUT/alphagan-{H}x{W}.onnx per --onnx-sizes (jax2onnx; fixed shapes, see docs/exports.md)
stablehlo  OUT/alphagan.stablehlo (jax.export; any batch, any H and W multiple of 32)

Each ONNX and StableHLO file is run once after writing on a random input and compared with the JAX model;
the largest difference is printed.

exit status: 0 written; 2 nothing written (bad arguments, no checkpoint or model folder, a missing extra,
existing outputs without --overwrite).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np

from alphagan_jax.cli import logs as cli_logging
from alphagan_jax.cli.model_args import add_model_source

_log = logging.getLogger(__name__)
FORMATS = ("folder", "onnx", "stablehlo")
EXIT_OK, EXIT_NOTHING_DONE = 0, 2


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """'512x512,512x768' -> [(512, 512), (512, 768)] (height x width, multiples of 32)."""
    sizes = []
    for part in text.split(","):
        try:
            h, w = (int(v) for v in part.lower().split("x"))
        except ValueError:
            raise ValueError(f"--onnx-sizes takes HxW[,HxW...], got {part!r}") from None
        if h <= 0 or w <= 0 or h % 32 or w % 32:
            raise ValueError(f"--onnx-sizes: {h}x{w} is not two positive multiples of 32")
        sizes.append((h, w))
    return sizes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="alphagan-export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_model_source(p, "a model folder (to re-export it as ONNX or StableHLO)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--format", default="folder", help=f"comma-separated, of {', '.join(FORMATS)} (default folder)")
    p.add_argument(
        "--onnx-sizes",
        default="512x512",
        help="HxW[,HxW...]: one ONNX file per input size, multiples of 32 (default 512x512)",
    )
    p.add_argument("--platforms", default="cpu,cuda", help="StableHLO lowering platforms (default cpu,cuda)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--verbose", action="store_true", help="show library logs (also ALPHAGAN_VERBOSE=1)")
    args = p.parse_args(argv)
    args.formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bad = [f for f in args.formats if f not in FORMATS]
    if bad or not args.formats:
        p.error(f"--format takes {', '.join(FORMATS)} (comma-separated), got {args.format!r}")
    if args.model and (args.best or args.step is not None):
        p.error("--best and --step select a checkpoint of --workdir; a --model folder holds one step")
    if args.model and "folder" in args.formats and Path(args.out).resolve() == Path(args.model).resolve():
        p.error("--out is the --model folder itself: nothing to export")
    try:
        args.sizes = parse_sizes(args.onnx_sizes)
    except ValueError as e:
        p.error(str(e))
    return args


def load_source(args: argparse.Namespace) -> Any:
    """The Model to export (through the one loader), with model.json's provenance in `model.info`."""
    from alphagan_jax.api import Model
    from alphagan_jax.artifacts.loader import load_weights
    from alphagan_jax.artifacts.provenance import describe_run

    weights = load_weights(args.model or args.workdir, step=args.step, best=args.best)
    info = weights.info
    if weights.config is not None:  # a training workdir: model.json says which run and step, and how chosen
        step = int(weights.info["step"])
        selection = "best (lowest validation SAD)" if args.best else f"step {step}" if args.step else "latest"
        info = describe_run(weights.path, weights.config, step, selection=selection, average=weights.average)
    return Model(weights.model_config, weights.variables, info)


def _outputs(args: argparse.Namespace) -> list[Path]:
    from alphagan_jax.artifacts.model_folder import CONFIG, INFO, WEIGHTS
    from alphagan_jax.inference.exports.onnx_export import onnx_name
    from alphagan_jax.inference.exports.stablehlo_export import STABLEHLO_NAME

    out = Path(args.out)
    paths = []
    if "folder" in args.formats:
        paths += [out / WEIGHTS, out / CONFIG, out / INFO, out / "README.md"]
    if "onnx" in args.formats:
        paths += [out / onnx_name(h, w) for h, w in args.sizes]
    if "stablehlo" in args.formats:
        paths.append(out / STABLEHLO_NAME)
    return paths


def _check_extras(formats: list[str]) -> None:
    import importlib.util

    needs = {"onnx": ("jax2onnx", "onnxruntime")}
    missing = [m for f in formats for m in needs.get(f, ()) if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(f"--format onnx needs {', '.join(missing)}: pip install 'alphagan-jax[export]'")


def write_folder(model: Any, out: Path) -> None:
    try:
        from alphagan_jax.hub import HubModel
    except ImportError:
        _log.warning(
            "huggingface_hub is not installed: writing the model folder without its model card "
            "(pip install 'alphagan-jax[hub]' for README.md and push_to_hub)"
        )
        model.save(out)
        return
    hub_model = HubModel.from_model(model)
    (out / "README.md").unlink(missing_ok=True)  # the mixin never replaces an existing card
    hub_model.save_pretrained(out)
    model.info = hub_model.info


def _random_inputs(height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (1, height, width, 3), dtype=np.uint8)
    trimap = rng.choice(np.array([0, 128, 255], np.uint8), (1, height, width, 1), p=[0.3, 0.4, 0.3])
    return image, trimap


def run(args: argparse.Namespace) -> int:
    _check_extras(args.formats)
    existing = [p for p in _outputs(args) if p.exists()]
    if existing and not args.overwrite:
        raise FileExistsError(f"{existing[0]} already exists: choose another --out or pass --overwrite")
    model = load_source(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if "folder" in args.formats:
        write_folder(model, out)
        print(f"model folder: {out} (step {model.step}, sha256 {model.info.get('sha256', '?')[:12]}...)")
    if "onnx" in args.formats or "stablehlo" in args.formats:
        import jax

        from alphagan_jax.inference.exports.graph import matting_fn

        reference = jax.jit(matting_fn(model.model_config, model.variables))
    if "onnx" in args.formats:
        from alphagan_jax.inference.exports.onnx_export import export_onnx

        for h, w in args.sizes:
            path = export_onnx(model.model_config, model.variables, h, w, out)
            print(f"{path}: max |onnx - jax| {_onnx_check(path, reference, h, w):.2g} on a random {h}x{w} input")
    if "stablehlo" in args.formats:
        from alphagan_jax.inference.exports.stablehlo_export import export_stablehlo

        platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
        path = export_stablehlo(model.model_config, model.variables, out, platforms=platforms)
        print(
            f"{path} ({', '.join(platforms)}): max |stablehlo - jax| {_stablehlo_check(path, reference):.2g} "
            "on a random 64x96 input"
        )
    return EXIT_OK


def _onnx_check(path: Path, reference: Any, height: int, width: int) -> float:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    image, trimap = _random_inputs(height, width)
    got = session.run(["alpha"], {"image": image, "trimap": trimap})[0]
    return float(np.abs(got - np.asarray(reference(image, trimap))).max())


def _stablehlo_check(path: Path, reference: Any) -> float:
    from jax import export

    image, trimap = _random_inputs(64, 96)
    got = export.deserialize(bytearray(path.read_bytes())).call(image, trimap)
    return float(np.abs(np.asarray(got) - np.asarray(reference(image, trimap))).max())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli_logging.setup(args.verbose)
    try:
        return run(args)
    except (OSError, ValueError, ImportError) as e:  # no checkpoint, corrupt folder, missing extra, existing
        _log.error("%s", e)
    return EXIT_NOTHING_DONE
