"""A new background for a matted photo: a flat colour or a picture resized to cover the photo.

The composite is ``alpha * F + (1 - alpha) * B_new`` with F the *estimated* foreground
(:func:`alphagan_jax.inference.foreground_colours.estimate_foreground_ml`): the photo itself in place of F would
carry the old background's colour into hair and other semi-transparent pixels.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from alphagan_jax.data.io import ImageReadError, read_rgb, to_uint8

_HEX = re.compile(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")

# A background is either an RGB colour or a uint8 HxWx3 picture.
Background = tuple[int, int, int] | np.ndarray


def parse_colour(text: str) -> tuple[int, int, int] | None:
    """'#00ff00' or '#0f0' as (R, G, B) 0..255; None if `text` is not such a colour."""
    m = _HEX.fullmatch(text.strip())
    if m is None:
        return None
    digits = m.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def load_background(spec: str) -> Background:
    """A colour ('#rrggbb', '#rgb') or an image file; raises ImageReadError naming the file."""
    colour = parse_colour(spec)
    if colour is not None:
        return colour
    if spec.startswith("#"):
        raise ImageReadError(f"background {spec!r} is neither a colour '#rrggbb' nor an image file")
    if not Path(spec).is_file():
        raise ImageReadError(f"background image not found: {spec} (give an image file or a colour '#rrggbb')")
    return read_rgb(spec)


def cover(picture: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scale `picture` (HxWxC) by one factor so that it covers height x width, then crop the centre."""
    h, w = picture.shape[:2]
    scale = max(height / h, width / w)
    new_h, new_w = max(height, round(h * scale)), max(width, round(w * scale))
    # Area averaging when shrinking (no aliasing), bilinear when enlarging.
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(picture, (new_w, new_h), interpolation=interpolation)
    top, left = (new_h - height) // 2, (new_w - width) // 2
    return resized[top : top + height, left : left + width]


def composite(alpha: np.ndarray, foreground: np.ndarray, background: Background) -> np.ndarray:
    """uint8 HxWx3 RGB: `foreground` (float HxWx3 in [0, 1]) over `background` with `alpha` (uint8 HxW).

    Arguments in the order of every composite of the package, I = alpha F + (1 - alpha) B."""
    h, w = alpha.shape
    if isinstance(background, np.ndarray):
        bg = cover(background, h, w).astype(np.float32) / 255.0
    else:
        bg = np.broadcast_to(np.asarray(background, np.float32) / 255.0, (h, w, 3))
    a = (alpha.astype(np.float32) / 255.0)[:, :, None]
    return to_uint8(a * foreground + (1.0 - a) * bg)
