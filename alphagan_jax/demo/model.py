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
    """The predictor of `path`, a training workdir (its latest checkpoint).

    This is the one place that reads a model, so other kinds of model folders need a branch here only.

    Raises:
      FileNotFoundError / ValueError: `path` is missing or holds no checkpoint; the message names it.
    """
    from alphagan_jax.inference import predictor_from_checkpoint

    p = Path(path)
    if not p.is_dir():
        raise FileNotFoundError(f"model not found: {p} (give a training workdir, the --workdir of train.py)")
    predictor, _, step = predictor_from_checkpoint(str(p), bucket=bucket, tta=tta, bf16=bf16)
    return LoadedModel(predictor, f"{p.name}, step {step}")
