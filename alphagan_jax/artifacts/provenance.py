"""model.json's account of a checkpoint: step, validation metrics, training data (names only), licence.

A model folder travels to other machines and people, so it records names (a folder's own name, a TFDS
name) and never the paths of the machine it was trained on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ml_collections

_LICENCES = {
    "synthetic": "procedural images made by alphagan-jax itself: no third-party data",
    "adobe_dim": "the Adobe Deep Image Matting dataset is licensed by Adobe for non-commercial research only; "
    "the backgrounds (MS-COCO or PASCAL VOC) come with their images' own Flickr terms",
    "folder": "user-supplied images: the licences of the folders named here apply",
}
_VAL_NAMES = {
    "alphamatting": "alphamatting.com",
    "composition1k": "Composition-1k",
    "synthetic": "synthetic",
    "folder": "folder",
}


def describe_run(
    workdir: str | Path, config: ml_collections.ConfigDict, step: int, *, selection: str, average: bool
) -> dict[str, Any]:
    """The provenance part of model.json for `step` of the run in `workdir` (format and sha256 are added
    by alphagan_jax.artifacts.model_folder). `selection` says how the step was chosen ('latest', 'best', 'step N');
    `average` whether the weights are the run's moving average."""
    from alphagan_jax import __version__

    d, m = config.data, config.model
    train = _training_data(d)
    if d.get("val_source") == "alphamatting" or "alphamatting" in train["summary"]:
        train["licence"] += "; alphamatting.com photos are for research use (see alphamatting.com)"
    return {
        "name": Path(workdir).resolve().name,
        "step": int(step),
        "checkpoint": selection,
        "weights_kind": "moving average (train.ema_decay)" if average else "raw (no moving average kept)",
        "validation": _validation(workdir, d, step),
        "training_data": train,
        "sizes": {
            "input_multiple": 32,
            "bucket": 64,
            "train_crop": int(d.crop_size),
            "validation": "full resolution"
            if d.get("val_source") in ("alphamatting", "composition1k", "folder")
            else f"{int(d.val_size)}x{int(d.val_size)}",
        },
        "network": (
            f"ResNet stages {tuple(m.stage_sizes)} width {m.width}, output stride {m.output_stride}, "
            f"ASPP {m.aspp_channels} rates {tuple(m.aspp_rates)}, decoder base {m.decoder_base}"
        ),
        "alphagan_jax": __version__,
    }


def _training_data(d: ml_collections.ConfigDict) -> dict[str, Any]:
    source = d.source
    bgs = [_name(p, tfds_ok=source == "adobe_dim") for p in str(d.get("bg_path", "")).split(",") if p.strip()]
    if source == "synthetic":
        names, summary = [], "synthetic (procedural foregrounds and backgrounds)"
    elif source == "adobe_dim":
        names = ["Adobe Deep Image Matting (Combined_Dataset)"]
        summary = f"Adobe Deep Image Matting foregrounds over {', '.join(bgs) or 'its backgrounds'}"
    else:
        names = [_name(d.path)]
        summary = f"folder {names[0]}" + (f" with backgrounds {', '.join(bgs)}" if bgs else "")
    return {
        "source": source,
        "foregrounds": names,
        "backgrounds": bgs,
        "summary": summary,
        "licence": _LICENCES.get(source, _LICENCES["folder"]),
    }


def _validation(workdir: str | Path, d: ml_collections.ConfigDict, step: int) -> dict[str, Any]:
    source = d.get("val_source", "synthetic")
    names = list(d.get("val_names", ()) or ())
    label = _VAL_NAMES.get(source, source) + (f" ({', '.join(names)})" if names else f" ({d.val_num} images)")
    out: dict[str, Any] = {"source": source, "name": label, "images": names, "sad": None, "mse": None}
    row = _metrics_row(Path(workdir) / "metrics.jsonl", step)
    if row is not None:
        out["sad"], out["mse"] = row.get("val/sad"), row.get("val/mse")
    else:
        out["note"] = f"no validation was logged at step {step}"
    return out


def _metrics_row(path: Path, step: int) -> dict[str, Any] | None:
    """The last metrics.jsonl record of `step` with a validation SAD (a resumed run may log a step twice)."""
    if not path.is_file():
        return None
    found = None
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a crash mid-write
        if row.get("step") == step and row.get("val/sad") is not None:
            found = row
    return found


def _name(path: str, tfds_ok: bool = False) -> str:
    """A folder's own name; a TFDS name ('coco/2017') as it is when it is not a local folder."""
    path = path.strip().rstrip("/")
    if tfds_ok and not Path(path).exists():
        return path
    return Path(path).name or path
