"""Matte photos through the exported files: pad, run, crop, as `Model.alpha` does.

NumPy only besides the runtime itself (onnxruntime, or JAX for StableHLO), so the same steps work in a
serving process without this package's model code. Photos are reflect-padded at the bottom and right to
their 64 px bucket (`bucket_shape`) and the matte is cropped back; the files clamp the known regions.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np

BUCKET = 64
_ONNX_NAME = re.compile(r"alphagan-(\d+)x(\d+)\.onnx$")


def bucket_shape(height: int, width: int, bucket: int = BUCKET) -> tuple[int, int]:
    """The padded shape `Model.alpha` uses for an HxW photo (sides rounded up to `bucket`)."""
    return math.ceil(height / bucket) * bucket, math.ceil(width / bucket) * bucket


def pad_inputs(image: np.ndarray, trimap: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 1xHxWx3 and 1xHxWx1, reflect-padded at the bottom and right (edge-repeated for a 1 px side)."""
    h, w = trimap.shape
    pad = ((0, height - h), (0, width - w))
    mode: Literal["reflect", "edge"] = "reflect" if min(h, w) > 1 else "edge"
    img = np.pad(image, pad + ((0, 0),), mode=mode)
    tri = np.pad(trimap, pad, mode=mode)
    return img[None], tri[None, :, :, None]


class OnnxMatting:
    """``alpha = OnnxMatting(folder)(image, trimap)`` through ONNX Runtime, with the file of the photo's
    bucket shape (alphagan-{H}x{W}.onnx in `folder`)."""

    def __init__(self, folder: str | Path, threads: int = 0):
        import onnxruntime as ort

        self.folder = Path(folder)
        self.files = {
            tuple(int(v) for v in m.groups()): p
            for p in sorted(self.folder.glob("alphagan-*.onnx"))
            if (m := _ONNX_NAME.search(p.name))
        }
        if not self.files:
            raise FileNotFoundError(f"no alphagan-HxW.onnx file in {self.folder}")
        self._options = ort.SessionOptions()
        self._options.log_severity_level = 3  # errors only: ORT's warnings are not the user's concern here
        self._options.intra_op_num_threads = threads
        self._sessions: dict[tuple[int, int], Any] = {}

    def session(self, shape: tuple[int, int]) -> Any:
        import onnxruntime as ort

        if shape not in self.files:
            have = ", ".join(f"{h}x{w}" for h, w in self.files)
            raise ValueError(
                f"no ONNX file for the bucket shape {shape[0]}x{shape[1]} in {self.folder} "
                f"(it has {have}): export it with --onnx-sizes {shape[0]}x{shape[1]}"
            )
        if shape not in self._sessions:
            self._sessions[shape] = ort.InferenceSession(
                str(self.files[shape]), self._options, providers=["CPUExecutionProvider"]
            )
        return self._sessions[shape]

    def __call__(self, image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
        shape = bucket_shape(*trimap.shape)
        img, tri = pad_inputs(image, trimap, *shape)
        alpha = self.session(shape).run(["alpha"], {"image": img, "trimap": tri})[0]
        return alpha[0, : trimap.shape[0], : trimap.shape[1], 0]


class StableHLOMatting:
    """``alpha = StableHLOMatting(path)(image, trimap)`` through `jax.export.deserialize` (one file, any
    bucket shape; JAX compiles once per shape)."""

    def __init__(self, path: str | Path):
        import jax
        from jax import export

        self.path = Path(path)
        self.exported = export.deserialize(bytearray(self.path.read_bytes()))
        self._call = jax.jit(self.exported.call)

    def __call__(self, image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
        img, tri = pad_inputs(image, trimap, *bucket_shape(*trimap.shape))
        alpha = np.asarray(self._call(img, tri))
        return alpha[0, : trimap.shape[0], : trimap.shape[1], 0]
