"""Image file reading and writing with NumPy and OpenCV only (no TensorFlow).

Everything here returns arrays in RGB order and documented dtypes, so callers never see OpenCV's BGR
layout. Every failure raises :class:`ImageReadError` naming the offending path, because a bad file in a
folder of thousands is otherwise impossible to find.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})

_log = logging.getLogger(__name__)
# Files already warned about, so a trimap read once per epoch warns once per run.
_warned_trimaps: set[str] = set()


class ImageReadError(ValueError):
    """An image file is missing, unreadable, corrupt or inconsistent; the message names the path."""


def list_images(directory: str | Path) -> list[Path]:
    """Image files directly inside `directory`, sorted by name.

    Raises:
      ImageReadError: the directory is missing, or holds no image file.
    """
    d = Path(directory)
    if not d.is_dir():
        raise ImageReadError(f"image directory not found: {d}")
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise ImageReadError(f"no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) in directory: {d}")
    return files


def read_raw(path: str | Path) -> np.ndarray:
    """The file's pixels as stored: uint8 or uint16, HxW or HxWxC with C in {3, 4}, in RGB(A) order.

    Palette PNGs come back expanded to their palette colours (which is what trimaps store).
    """
    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"image file not found: {p}")
    # np.fromfile + imdecode rather than imread: works with non-ASCII paths and never returns a silent None.
    try:
        buf = np.fromfile(str(p), dtype=np.uint8)
    except OSError as e:
        raise ImageReadError(f"cannot read image {p}: {e}") from e
    return decode_raw(buf, p)


def decode_raw(contents: bytes | np.ndarray, name: str | Path) -> np.ndarray:
    """`read_raw` for encoded bytes already in memory; `name` (a path or a label) goes into errors."""
    buf = np.frombuffer(contents, np.uint8) if isinstance(contents, bytes) else contents
    try:
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None
    except cv2.error as e:
        raise ImageReadError(f"cannot read image {name}: {e}") from e
    if img is None:
        raise ImageReadError(f"cannot decode image (corrupt or unsupported format): {name}")
    if img.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(f"unsupported pixel type {img.dtype} in image {name}")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3:
        if img.shape[2] == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        elif img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
        else:
            raise ImageReadError(f"unsupported channel count {img.shape[2]} in image {name}")
    return img


def _to_uint8(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint16:
        # Rescale by the full 16-bit range (65535), never clip: 16-bit mattes use the whole range.
        return np.round(img.astype(np.float32) * (255.0 / 65535.0)).astype(np.uint8)
    return img


def _max_value(img: np.ndarray) -> float:
    return 65535.0 if img.dtype == np.uint16 else 255.0


def read_rgb(path: str | Path) -> np.ndarray:
    """An image as uint8 HxWx3 RGB: greyscale is expanded, an alpha channel dropped, 16-bit rescaled."""
    return rgb_from_raw(read_raw(path))


def rgb_from_raw(img: np.ndarray) -> np.ndarray:
    """`read_rgb` of pixels from `read_raw` or `decode_raw`."""
    img = _to_uint8(img)
    if img.ndim == 2:
        return np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def has_meaningful_alpha(img: np.ndarray) -> bool:
    """Whether a raw RGBA array's A channel carries information (is not uniformly opaque)."""
    return img.ndim == 3 and img.shape[2] == 4 and bool((img[:, :, 3] != _max_value(img)).any())


def _single_channel(img: np.ndarray, path: Path) -> np.ndarray:
    """Reduce a grey/RGB/RGBA matte or trimap to one channel, preferring a meaningful A channel."""
    if img.ndim == 2:
        return img
    if has_meaningful_alpha(img):
        return img[:, :, 3]
    # The first channel, as the TF pipeline does (tf_ops.decode_alpha): RGB mattes store R = G = B.
    return img[:, :, 0]


def read_alpha(path: str | Path) -> np.ndarray:
    """A matte as float32 HxW in [0, 1].

    8- and 16-bit files are divided by their full range (255 or 65535). Grey is used as is, RGB reduced to
    one channel (the first: RGB mattes store R=G=B), and RGBA uses its A channel when that is not
    uniformly opaque.
    """
    p = Path(path)
    return alpha_from_raw(read_raw(p), p)


def alpha_from_raw(img: np.ndarray, name: str | Path) -> np.ndarray:
    """`read_alpha` of pixels from `read_raw` or `decode_raw`."""
    one = _single_channel(img, Path(str(name)))
    return one.astype(np.float32) / np.float32(_max_value(img))


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Values in [0, 1] (clipped) to rounded 0..255 integers: mattes written to PNG and scored, as the
    benchmark scores files; images and grids for viewing."""
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def read_alpha_u8(path: str | Path) -> np.ndarray:
    """A matte as uint8 HxW in 0..255, the benchmark's scale (exact for 8-bit files, rounded for 16-bit)."""
    return np.round(read_alpha(path) * 255.0).astype(np.uint8)


def read_trimap(path: str | Path, unknown_value: int | None = None) -> np.ndarray:
    """A trimap as uint8 HxW with values {0 (bg), 128 (unknown), 255 (fg)}.

    Args:
      path: grey, RGB or palette image file.
      unknown_value: the file's value for the unknown region (e.g. 127 or 102). Pixels are snapped to the
        nearest of (0, unknown_value, 255). None auto-detects: every value strictly between 0 and 255 is
        unknown, with a one-time warning naming the file if that value is not 128.
    """
    p = Path(path)
    img = read_raw(p)
    one = _to_uint8(img) if img.dtype == np.uint16 else img
    one = _single_channel(one, p)
    out = np.full(one.shape, 128, np.uint8)
    if unknown_value is None:
        out[one == 0] = 0
        out[one == 255] = 255
        mid = one[(one > 0) & (one < 255)]
        if mid.size:
            values, counts = np.unique(mid, return_counts=True)
            detected = int(values[np.argmax(counts)])
            if detected != 128 and str(p) not in _warned_trimaps:
                _warned_trimaps.add(str(p))
                _log.warning(
                    "trimap %s stores its unknown region as %d (not 128); mapping values in (0, 255) to 128",
                    p,
                    detected,
                )
        return out
    u = int(unknown_value)
    if not 0 < u < 255:
        raise ValueError(f"unknown_value must be in (0, 255), got {unknown_value} for trimap {p}")
    v = one.astype(np.int16)
    # Snap to the nearest level: robust to lossy compression around the three values.
    out[np.abs(v - 0) < np.abs(v - u)] = 0
    out[np.abs(v - 255) < np.abs(v - u)] = 255
    return out


def write_png(path: str | Path, array: np.ndarray) -> Path:
    """Write a uint8 grey (HxW or HxWx1), RGB or RGBA array as PNG, creating parent directories."""
    p = Path(path)
    buf = encode_png(array, p)
    p.parent.mkdir(parents=True, exist_ok=True)
    buf.tofile(str(p))
    return p


def encode_png(array: np.ndarray, name: str | Path = "array") -> np.ndarray:
    """The PNG file's bytes (a uint8 buffer) of a uint8 grey, RGB or RGBA array; `name` goes into errors."""
    a = np.asarray(array)
    if a.dtype != np.uint8:
        raise ValueError(f"write_png expects uint8, got {a.dtype} for {name}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3 and a.shape[2] == 3:
        a = cv2.cvtColor(a, cv2.COLOR_RGB2BGR)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = cv2.cvtColor(a, cv2.COLOR_RGBA2BGRA)
    elif a.ndim != 2:
        raise ValueError(f"write_png expects HxW, HxWx1, HxWx3 or HxWx4, got shape {a.shape} for {name}")
    ok, buf = cv2.imencode(".png", a)
    if not ok:
        raise OSError(f"cannot encode PNG for {name}")
    return buf
