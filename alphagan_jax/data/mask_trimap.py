"""Trimaps from rough masks (a segmentation model's output, a selection tool's mask).

A mask is foreground where it is >= `high` and background where it is <= `low` (thresholds in [0, 1]);
values in between, a soft mask's uncertain edge, are unknown. The boundary is then widened into a band:
a pixel stays foreground (background) only if every pixel of the other classes is more than `band`
pixels away (Euclidean distance between pixel centres). For a binary mask, this makes an unknown band of
exactly `band` pixels on each side of a straight boundary: the network decides the matte there, the mask
only has to be roughly right. Outside the image does not count as another class.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from alphagan_jax.data.io import ImageReadError, read_alpha
from alphagan_jax.data.trimap import BG, FG, UNKNOWN

_log = logging.getLogger(__name__)

DEFAULT_THRESHOLDS = (0.1, 0.9)


def _interior(region: np.ndarray, band: int) -> np.ndarray:
    """Pixels of a bool mask farther than `band` px from every pixel outside it (inside the image)."""
    if band <= 0 or region.all() or not region.any():
        return region
    # Exact Euclidean distance from each nonzero pixel to the nearest zero pixel.
    dist = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return dist > band


def trimap_from_mask(mask: np.ndarray, band: int, thresholds: tuple[float, float] = DEFAULT_THRESHOLDS) -> np.ndarray:
    """uint8 HxW trimap in {0, 128, 255} from a float HxW mask in [0, 1].

    Args:
      mask: binary or soft mask, float in [0, 1].
      band: unknown pixels on each side of the mask's boundary (0: only the soft values are unknown).
      thresholds: (low, high); values <= low are background, >= high foreground, the rest unknown.

    Raises:
      ValueError: bad band or thresholds, or a mask with no foreground pixel (nothing to cut out).
    """
    low, high = thresholds
    if band < 0:
        raise ValueError(f"band must be >= 0 pixels, got {band}")
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"mask thresholds must satisfy 0 <= low < high <= 1, got {low}, {high}")
    m = np.asarray(mask, np.float32)
    if m.ndim != 2:
        raise ValueError(f"mask must be HxW, got shape {m.shape}")
    if not (m > low).any():
        raise ValueError(f"mask has no foreground pixel (every value <= {low}): nothing to cut out")
    out = np.full(m.shape, UNKNOWN, np.uint8)
    out[_interior(m <= low, band)] = BG
    out[_interior(m >= high, band)] = FG
    return out


def read_mask(path: str | Path) -> np.ndarray:
    """A mask file as float32 HxW in [0, 1] (grey, RGB or the A channel of RGBA, 8 or 16 bits).

    Segmentation tools often save label masks with values 0 and 1; an 8-bit file whose largest value is 1
    is read as such (1 = foreground) instead of as an almost black mask.
    """
    m = read_alpha(path)
    if 0 < m.max() <= 1.5 / 255:
        _log.info("mask %s stores 0/1 labels: reading 1 as foreground", path)
        m = (m > 0).astype(np.float32)
    return m


def mask_file_to_trimap(
    path: str | Path, band: int, thresholds: tuple[float, float] = DEFAULT_THRESHOLDS
) -> np.ndarray:
    """:func:`trimap_from_mask` of a file; every error names the file."""
    try:
        return trimap_from_mask(read_mask(path), band, thresholds)
    except ImageReadError:
        raise
    except ValueError as e:
        raise ImageReadError(f"mask {path}: {e}") from e
