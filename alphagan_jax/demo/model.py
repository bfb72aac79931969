"""The one model a page serves, loaded once at start-up and kept for every request."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class LoadedModel:
    """The predictor (``(image uint8 HxWx3, trimap uint8 HxW) -> alpha float HxW``) and what it is."""

    predictor: Any
    description: str


def load_model(path: str | Path, *, bucket: int = 64, tta: bool = False, bf16: bool = False) -> LoadedModel:
    """The predictor of `path`: a model folder (python -m alphagan_jax.export) or a training workdir (its
    latest checkpoint).

    Raises:
      FileNotFoundError / ValueError: `path` is missing or holds no checkpoint; the message names it.
    """
    from alphagan_jax.inference import predictor_from_checkpoint, predictor_from_model
    from alphagan_jax.model_folder import INFO

    p = Path(path)
    if not p.is_dir():
        raise FileNotFoundError(f"model not found: {p} (give a model folder or a training workdir)")
    load = predictor_from_model if (p / INFO).is_file() else predictor_from_checkpoint
    predictor, _, step = load(str(p), bucket=bucket, tta=tta, bf16=bf16)
    return LoadedModel(predictor, f"{p.name}, step {step}")
