"""Image grids for looking at batches: the training preview and the run's prediction images (NumPy only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def image_grid(columns: Sequence[np.ndarray], num: int) -> np.ndarray:
    """float32 RGB grid: row i holds image i of every column (N x H x W x 1 or 3) side by side, one-channel
    columns shown grey; at most `num` rows."""
    rows = []
    for i in range(min(num, len(columns[0]))):
        cells = [np.asarray(c[i], np.float32) for c in columns]
        cells = [np.repeat(c, 3, axis=-1) if c.shape[-1] == 1 else c for c in cells]
        rows.append(np.concatenate(cells, axis=1))
    return np.concatenate(rows, axis=0)
