"""Trimaps painted over a photo: the three brushes' colours, the painted layer read back as a trimap, and
the pictures the page shows (the trimap tinted over the photo, a cut-out over a checkerboard).

A blue-yellow palette with magenta stays apart for the common colour blindnesses. A painted pixel is read
as the brush colour nearest to it, so the anti-aliased edge of a stroke and a stroke painted over another
(the newer one dominates a semi-transparent blend) still read as one of the three classes.
"""

from __future__ import annotations

import numpy as np

from alphagan_jax.data.trimap import BG, FG, UNKNOWN

# trimap value -> RGB of its brush and of its tint over the photo.
COLOURS: dict[int, tuple[int, int, int]] = {FG: (255, 220, 0), BG: (0, 90, 255), UNKNOWN: (230, 0, 230)}
BRUSH_NAMES = {FG: "foreground", BG: "background", UNKNOWN: "unknown"}
# A layer pixel this transparent or more is unpainted (the eraser's trace, the stroke's faintest fringe).
MIN_PAINT_ALPHA = 32
TINT_OPACITY = 0.4


def hex_colour(value: int) -> str:
    """'#rrggbb' of a trimap value's brush."""
    return "#{:02x}{:02x}{:02x}".format(*COLOURS[value])


def apply_strokes(base: np.ndarray, layer: np.ndarray | None) -> np.ndarray:
    """The trimap `base` (uint8 HxW) with the strokes of `layer` (uint8 RGBA) painted in.

    A layer of another size (an editor that scaled its canvas) is resized to the trimap's, nearest
    neighbour, so classes never blend.
    """
    if layer is None:
        return base.copy()
    layer = np.asarray(layer)
    if layer.ndim != 3 or layer.shape[2] != 4:
        return base.copy()  # an RGB layer has no notion of unpainted: nothing to read
    if layer.shape[:2] != base.shape:
        import cv2

        layer = cv2.resize(layer, (base.shape[1], base.shape[0]), interpolation=cv2.INTER_NEAREST)
    painted = layer[:, :, 3] >= MIN_PAINT_ALPHA
    values = np.array(list(COLOURS), np.uint8)
    palette = np.array(list(COLOURS.values()), np.float32)
    rgb = layer[painted][:, :3].astype(np.float32)
    nearest = np.argmin(((rgb[:, None, :] - palette[None]) ** 2).sum(-1), axis=1)
    out = base.copy()
    out[painted] = values[nearest]
    return out


def tint(image: np.ndarray, trimap: np.ndarray, opacity: float = TINT_OPACITY) -> np.ndarray:
    """uint8 HxWx3: `image` with each trimap class tinted by its brush colour."""
    colours = np.zeros(image.shape, np.float32)
    for value, rgb in COLOURS.items():
        colours[trimap == value] = rgb
    out = (1.0 - opacity) * image.astype(np.float32) + opacity * colours
    return np.round(out).astype(np.uint8)


def checkerboard(height: int, width: int, square: int = 16) -> np.ndarray:
    """float32 HxWx3 in [0, 1]: light and lighter grey squares, the usual picture of transparency."""
    ys, xs = np.mgrid[:height, :width]
    light = ((ys // square + xs // square) % 2).astype(np.float32)
    grey = 0.8 + 0.2 * light
    return np.repeat(grey[:, :, None], 3, axis=2)


def over_checkerboard(cutout: np.ndarray) -> np.ndarray:
    """uint8 HxWx3: an RGBA cut-out drawn over a checkerboard (for viewing only; the download is the RGBA)."""
    rgba = cutout.astype(np.float32) / 255.0
    a = rgba[:, :, 3:]
    board = checkerboard(*cutout.shape[:2])
    return np.round((a * rgba[:, :, :3] + (1.0 - a) * board) * 255.0).astype(np.uint8)
