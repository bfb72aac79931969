"""A model folder: what inference needs of a trained generator, and nothing else.

Plain files, readable without TensorFlow, Orbax, the training workdir or huggingface_hub:

  generator.msgpack  the generator's variables (params and BatchNorm statistics, float32), in
                     flax.serialization's msgpack format (no pickle: loading it runs no code)
  config.json        {"model": config.model of the run}: what builds the network
  model.json         where the weights came from: the step, the validation SAD/MSE, the training data's
                     names and licence, the sizes tested, the project version, and the weights' sha256
  README.md          the model card (written by alphagan_jax.hub; not needed to load)

Loading checks the sha256 recorded in model.json against the weights file, so a truncated download or
a swapped file is refused instead of matting with the wrong weights.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import ml_collections
import numpy as np

WEIGHTS, CONFIG, INFO = "generator.msgpack", "config.json", "model.json"
FORMAT_VERSION = 1


class ModelFolderError(ValueError):
    """A model folder that is incomplete, corrupt or of another format; the message names the file."""


def is_model_folder(path: str | Path) -> bool:
    return (Path(path) / INFO).is_file()


def write_model_folder(
    directory: str | Path, variables: Any, model_config: dict[str, Any], info: dict[str, Any]
) -> dict[str, Any]:
    """Write the three files into `directory` (created if needed); returns model.json's content.

    `info` is the provenance (see alphagan_jax.cli.export.describe_run); the format version, the weights'
    file name and their sha256 are added here.
    """
    from flax import serialization

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # model.pretrained is the path of the ImageNet weights training started from: a path of the training
    # machine, and nothing inference needs.
    model_config = {k: v for k, v in model_config.items() if k != "pretrained"}
    host = _to_numpy(variables)
    blob = serialization.msgpack_serialize(host)
    info = {**info, "format_version": FORMAT_VERSION, "weights": WEIGHTS, "sha256": hashlib.sha256(blob).hexdigest()}
    _write_atomic(directory / WEIGHTS, blob)
    _write_atomic(directory / CONFIG, json.dumps({"model": model_config}, indent=2, sort_keys=True).encode())
    _write_atomic(directory / INFO, json.dumps(info, indent=2).encode())
    return info


def read_model_folder(directory: str | Path) -> tuple[ml_collections.ConfigDict, dict[str, Any], dict[str, Any]]:
    """(model config, generator variables as NumPy arrays, model.json) of a model folder.

    Raises:
      ModelFolderError: a file missing or unreadable, another format version, or weights whose sha256
        differs from model.json's.
    """
    from flax import serialization

    directory = Path(directory)
    info = _read_json(directory / INFO, directory)
    if info.get("format_version") != FORMAT_VERSION:
        raise ModelFolderError(
            f"{directory / INFO}: format_version {info.get('format_version')!r} is not "
            f"{FORMAT_VERSION}, the one this alphagan-jax reads"
        )
    config = _read_json(directory / CONFIG, directory)
    if "model" not in config:
        raise ModelFolderError(f"{directory / CONFIG}: no 'model' key")
    weights = directory / info.get("weights", WEIGHTS)
    try:
        blob = weights.read_bytes()
    except OSError as e:
        raise ModelFolderError(f"{weights}: cannot read the weights ({e.strerror or e})") from e
    digest = hashlib.sha256(blob).hexdigest()
    if digest != info.get("sha256"):
        raise ModelFolderError(
            f"{weights}: sha256 {digest} differs from {info.get('sha256')} in {directory / INFO} "
            "(a corrupt or replaced file); download or export the model again"
        )
    try:
        variables = serialization.msgpack_restore(blob)
    except Exception as e:  # msgpack raises its own error types
        raise ModelFolderError(f"{weights}: not a flax msgpack file ({e})") from e
    return ml_collections.ConfigDict(config["model"]), variables, info


def _read_json(path: Path, directory: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ModelFolderError(f"{directory} is not a model folder: {path.name} is missing")
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ModelFolderError(f"{path}: cannot read it as JSON ({e})") from e


def _to_numpy(tree: Any) -> Any:
    import jax

    return jax.tree_util.tree_map(lambda x: np.asarray(jax.device_get(x)), tree)


def _write_atomic(path: Path, data: bytes) -> None:
    # A half-written weights file next to an old model.json would fail the sha256 check; a rename never
    # leaves one.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
