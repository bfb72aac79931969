"""Run logging: TensorBoard event files (tensorboardX, so no TensorFlow is needed) and metrics.jsonl.

Only process 0 writes; on other hosts every method is a no-op.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import jax
import numpy as np

from alphagan_jax.data.io import to_uint8, write_png
from alphagan_jax.util.grids import image_grid


class RunWriter:
    def __init__(self, workdir: str | Path, start_step: int = 0):
        self.active = jax.process_index() == 0
        self._tb = None
        self._jsonl = None
        if self.active:
            from tensorboardX import SummaryWriter

            workdir = Path(workdir)
            workdir.mkdir(parents=True, exist_ok=True)
            # A resumed run continues the same logs from its checkpoint's step: rows logged after that step
            # (by a run that died before its next checkpoint) are dropped, or they would appear twice.
            self._tb = SummaryWriter(str(workdir / "tensorboard"), purge_step=start_step or None)
            self._images = workdir / "images"
            jsonl = workdir / "metrics.jsonl"
            if start_step and jsonl.exists():
                kept = [r for r in jsonl.read_text().splitlines() if r and json.loads(r)["step"] <= start_step]
                jsonl.write_text("".join(r + "\n" for r in kept))
            self._jsonl = open(jsonl, "a", encoding="utf-8")  # noqa: SIM115

    def scalars(self, step: int, values: Mapping[str, float]) -> None:
        if self._tb is None or self._jsonl is None:  # not process 0
            return
        for name, value in values.items():
            self._tb.add_scalar(name, float(value), step)
        self._jsonl.write(json.dumps({"step": step, **{k: float(v) for k, v in values.items()}}) + "\n")
        self._jsonl.flush()

    def image(self, step: int, name: str, image: np.ndarray) -> None:
        """`image`: H x W x 3 in [0, 1]. Also saved as WORKDIR/images/<name>_<step>.png to look at directly."""
        if self._tb is not None:
            image = np.clip(image, 0, 1)
            self._tb.add_image(name, image, step, dataformats="HWC")
            write_png(self._images / f"{name}_{step:07d}.png", to_uint8(image))

    def close(self) -> None:
        if self._tb is not None and self._jsonl is not None:
            self._tb.close()
            self._jsonl.close()


def prediction_grid(batch: Mapping[str, np.ndarray], alpha_pred: np.ndarray, rows: int = 4) -> np.ndarray:
    """One row per sample: input, trimap, predicted alpha, ground-truth alpha, predicted composite."""
    composite = alpha_pred * batch["fg"] + (1 - alpha_pred) * batch["bg"]
    return image_grid([batch["image"], batch["trimap"], alpha_pred, batch["alpha"], composite], rows)
