"""Procedural matting data drawn with NumPy/OpenCV from a seeded np.random.Generator (no TensorFlow).

A foreground is a coloured, textured object whose alpha mixes what makes matting hard: solid bodies with
soft (blurred) borders, thin hair-like strands, and semi-transparent regions. Backgrounds are smooth colour
fields with noise, stripes and clutter, or photographs. Everything is a pure function of the seed, so
validation sets are identical on every machine, including the accelerator host that has no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from alphagan_jax.data.io import read_rgb, to_uint8
from alphagan_jax.data.trimap import make_trimap


def smooth_field(rng: np.random.Generator, size: int, channels: int, cells: int) -> np.ndarray:
    """float32 size x size x channels in [0, 1]: low-frequency noise upsampled from a cells x cells grid."""
    small = rng.random((cells, cells, channels)).astype(np.float32)
    field = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(field.reshape(size, size, channels), 0.0, 1.0)


def colour_texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """float32 RGB in [0, 1]: a base colour modulated by smooth fields and fine grain."""
    base = rng.random(3).astype(np.float32)
    coarse = smooth_field(rng, size, 3, int(rng.integers(2, 6)))
    fine = smooth_field(rng, size, 1, int(rng.integers(16, 48)))
    mix = float(rng.uniform(0.2, 0.7))
    img = (1 - mix) * base + mix * coarse + 0.15 * (fine - 0.5)
    return np.clip(img, 0.0, 1.0)


def body_alpha(rng: np.random.Generator, size: int) -> np.ndarray:
    """float32 HxW alpha of a few overlapping solid shapes, edges softened by a random blur."""
    mask = np.zeros((size, size), np.uint8)
    c = size / 2
    for _ in range(int(rng.integers(1, 4))):
        centre = (int(c + rng.normal(0, size / 10)), int(c + rng.normal(0, size / 10)))
        if rng.random() < 0.5:
            axes = (int(rng.uniform(0.1, 0.3) * size), int(rng.uniform(0.1, 0.3) * size))
            cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1, cv2.LINE_AA)
        else:
            n = int(rng.integers(3, 9))
            angles = np.sort(rng.uniform(0, 2 * np.pi, n))
            radii = rng.uniform(0.1, 0.3, n) * size
            pts = np.stack([centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)], 1)
            cv2.fillPoly(mask, [pts.astype(np.int32)], 255, cv2.LINE_AA)
    alpha: np.ndarray = mask.astype(np.float32) / 255.0
    sigma = float(rng.choice([0.0, 0.5, 1.5, 4.0]))
    if sigma > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), sigma)
    return alpha


def strand_alpha(rng: np.random.Generator, size: int, body: np.ndarray) -> np.ndarray:
    """float32 HxW alpha of thin, partly transparent curves growing out of the body like hair."""
    canvas = np.zeros((size * 2, size * 2), np.uint8)  # drawn at 2x, then downsampled for sub-pixel widths
    ys, xs = np.nonzero(body > 0.5)
    if ys.size == 0:
        return np.zeros((size, size), np.float32)
    for _ in range(int(rng.integers(10, 60))):
        i = int(rng.integers(ys.size))
        p = np.array([xs[i], ys[i]], np.float64) * 2
        heading = rng.uniform(0, 2 * np.pi)
        pts = [p.copy()]
        for _ in range(int(rng.integers(8, 30))):
            heading += rng.normal(0, 0.25)
            p = p + 2 * rng.uniform(3, 8) * np.array([np.cos(heading), np.sin(heading)])
            pts.append(p.copy())
        value = int(rng.uniform(90, 255))
        cv2.polylines(canvas, [np.array(pts, np.int32)], False, value, 1, cv2.LINE_AA)
    return cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def _translucent(rng: np.random.Generator, size: int) -> np.ndarray:
    """float32 HxW alpha of a semi-transparent blob (like glass or fabric), opacity 0.2-0.8."""
    mask = np.zeros((size, size), np.uint8)
    centre = (int(rng.uniform(0.25, 0.75) * size), int(rng.uniform(0.25, 0.75) * size))
    axes = (int(rng.uniform(0.08, 0.25) * size), int(rng.uniform(0.08, 0.25) * size))
    cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1, cv2.LINE_AA)
    opacity = float(rng.uniform(0.2, 0.8))
    variation = smooth_field(rng, size, 1, 4)[:, :, 0]
    return mask.astype(np.float32) / 255.0 * np.clip(opacity + 0.3 * (variation - 0.5), 0.05, 0.95)


def make_foreground(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """One procedural foreground: (fg uint8 HxWx3 RGB, alpha uint8 HxW), H = W = size.

    The alpha always has solid (255), empty (0) and fractional pixels.
    """
    body = body_alpha(rng, size)
    alpha = body
    if rng.random() < 0.8:
        alpha = np.maximum(alpha, strand_alpha(rng, size, body))
    if rng.random() < 0.6:
        alpha = np.maximum(alpha, _translucent(rng, size))
    fg = colour_texture(rng, size)
    return to_uint8(fg), to_uint8(alpha)


def make_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """One procedural background, uint8 HxWx3 RGB: colour fields plus stripes or clutter."""
    img = colour_texture(rng, size)
    if rng.random() < 0.5:
        freq = rng.uniform(4, 40)
        angle = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
        stripes = 0.5 + 0.5 * np.sin(2 * np.pi * freq * (xx * np.cos(angle) + yy * np.sin(angle)))
        img = np.clip(img * (0.7 + 0.3 * stripes[:, :, None]), 0, 1)
    out = to_uint8(img)
    for _ in range(int(rng.integers(0, 12))):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        pt1 = tuple(int(v) for v in rng.integers(0, size, 2))
        pt2 = tuple(int(v) for v in rng.integers(0, size, 2))
        cv2.rectangle(out, pt1, pt2, colour, -1 if rng.random() < 0.5 else int(rng.integers(1, 6)))
    return out


@dataclass(frozen=True)
class SyntheticPools:
    """Foregrounds and backgrounds as stacked arrays: fg (N,S,S,3), alpha (N,S,S) and bg (M,S,S,3), uint8."""

    fg: np.ndarray
    alpha: np.ndarray
    bg: np.ndarray


def synthetic_pools(num_fg: int, num_bg: int, size: int, seed: int) -> SyntheticPools:
    """Draw `num_fg` foregrounds and `num_bg` procedural backgrounds of size x size from `seed`."""
    if num_fg < 1 or num_bg < 1 or size < 8:
        raise ValueError(f"synthetic pools need num_fg, num_bg >= 1 and size >= 8, got {num_fg}, {num_bg}, {size}")
    fg_rng, bg_rng = (np.random.default_rng([seed, stream]) for stream in (0, 1))
    fgs, alphas = zip(*(make_foreground(fg_rng, size) for _ in range(num_fg)), strict=False)
    bgs = [make_background(bg_rng, size) for _ in range(num_bg)]
    return SyntheticPools(np.stack(fgs), np.stack(alphas), np.stack(bgs))


def synthetic_eval_samples(
    num: int, size: int, seed: int, kernel: int = 10, backgrounds: list[np.ndarray | Path] | None = None
) -> Iterator[dict]:
    """`num` full validation samples of size x size, deterministic in `seed`.

    Yields {'name', 'image', 'trimap', 'alpha', 'fg', 'bg'} as uint8 (image/fg/bg HxWx3, trimap/alpha HxW).
    The image is the composite of the 8-bit fg/bg with the 8-bit alpha, rounded to uint8. `backgrounds`
    (RGB uint8 photos, or image paths, decoded only when drawn) are resized instead of procedural ones
    when given.
    """
    # Streams 2 and 3: disjoint from the training pools' streams 0 and 1 for the same seed.
    rng = np.random.default_rng([seed, 2])
    bg_rng = np.random.default_rng([seed, 3])
    for i in range(num):
        fg, alpha = make_foreground(rng, size)
        if backgrounds:
            photo = backgrounds[int(bg_rng.integers(len(backgrounds)))]
            if not isinstance(photo, np.ndarray):
                photo = read_rgb(photo)
            bg = cv2.resize(photo, (size, size), interpolation=cv2.INTER_AREA)
        else:
            bg = make_background(bg_rng, size)
        a = alpha.astype(np.float32)[:, :, None] / 255.0
        image = to_uint8(a * (fg.astype(np.float32) / 255.0) + (1 - a) * (bg.astype(np.float32) / 255.0))
        trimap = make_trimap(alpha.astype(np.float32) / 255.0, kernel, kernel)
        yield {
            "name": f"synthetic_{seed}_{i:04d}",
            "image": image,
            "trimap": trimap,
            "alpha": alpha,
            "fg": fg,
            "bg": bg,
        }
