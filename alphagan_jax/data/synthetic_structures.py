"""Procedural foregrounds of the structures real-photo training sets lack: sheets, meshes and yarn.

The 15 training photos of the real-photo recipe hold hair, fur and solid bodies, but no large
semi-transparent region, no mesh and no yarn, and a new user's photos do (alphamatting.com's flag, net and
yarn photos are where the recipe's model loses most: SAD 33, 21 and 14). These generators draw such
foregrounds at photo scale, with a background of their own, so the foregrounds tool can add them to a
folder-layout training set beside the photos (`--synthetic N`).

- sheet: a large piece of cloth or film (a flag, a veil, a plastic bag): opacity 0.2-0.9 varying in folds
  over most of the frame, soft edges, sometimes a solid pole or hem;
- mesh: a net or screen: a rotated, smoothly warped grid of thin opaque threads 5-24 px apart, inside a large
  region with a solid frame at times;
- yarn: a solid body wrapped in hundreds of curling, partly transparent fibres, denser than hair.

All three are pure functions of the seed (np.random.Generator), like `synthetic.py`.
"""

from __future__ import annotations

import cv2
import numpy as np

from alphagan_jax.data.io import to_uint8
from alphagan_jax.data.synthetic import body_alpha, colour_texture, make_background, smooth_field, strand_alpha

KINDS = ("sheet", "mesh", "yarn")


def _region(rng: np.random.Generator, size: int, cover: tuple[float, float]) -> np.ndarray:
    """float32 HxW in {0, 1}: a large irregular polygon covering about `cover` of the frame's side."""
    mask = np.zeros((size, size), np.uint8)
    n = int(rng.integers(4, 9))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = rng.uniform(*cover, n) * size / 2
    centre = size / 2 + rng.normal(0, size / 16, 2)
    pts = np.stack([centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)], 1)
    cv2.fillPoly(mask, [pts.astype(np.int32)], 255, cv2.LINE_AA)
    return mask.astype(np.float32) / 255.0


def _warp(rng: np.random.Generator, image: np.ndarray, amount: float) -> np.ndarray:
    """`image` resampled through a smooth random displacement of up to `amount` px (folds, sagging)."""
    size = image.shape[0]
    shift = (smooth_field(rng, size, 2, int(rng.integers(2, 5))) - 0.5) * 2 * amount
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    return cv2.remap(
        image, xx + shift[..., 0], yy + shift[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )


def _sheet(rng: np.random.Generator, size: int) -> np.ndarray:
    region = _region(rng, size, (0.6, 1.1))
    region = cv2.GaussianBlur(region, (0, 0), float(rng.uniform(0.5, 3.0)))
    # Folds: bands of opacity along one direction, plus slow variation across the sheet.
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angle = rng.uniform(0, np.pi)
    phase = xx * np.cos(angle) + yy * np.sin(angle)
    folds = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(1.5, 6) * phase + rng.uniform(0, 2 * np.pi))
    base = rng.uniform(0.2, 0.7)
    opacity = base + rng.uniform(0.1, 0.3) * folds + 0.25 * (smooth_field(rng, size, 1, 5)[..., 0] - 0.5)
    alpha = region * np.clip(opacity, 0.05, 0.92)
    if rng.random() < 0.5:  # a solid pole or hem along one side of the sheet
        mask = np.zeros((size, size), np.uint8)
        x = int(rng.uniform(0.1, 0.3) * size)
        cv2.line(mask, (x, 0), (x + int(rng.normal(0, size / 20)), size), 255, int(rng.integers(4, 16)), cv2.LINE_AA)
        alpha = np.maximum(alpha, mask.astype(np.float32) / 255.0)
    return _warp(rng, alpha, rng.uniform(0, size / 40))


def _mesh(rng: np.random.Generator, size: int) -> np.ndarray:
    big = size * 2  # drawn at 2x and then downsampled, for threads thinner than a pixel
    canvas = np.zeros((big * 2, big * 2), np.uint8)  # oversized, so a rotation leaves no empty corners
    spacing = 2 * rng.uniform(5, 24)
    width = int(rng.integers(1, 5))
    value = int(rng.uniform(150, 255))
    for offset in np.arange(0, 2 * big, spacing):
        cv2.line(canvas, (int(offset), 0), (int(offset), 2 * big), value, width, cv2.LINE_AA)
        if rng.random() < 0.9:  # now and then threads of one direction only (a screen, a curtain)
            cv2.line(canvas, (0, int(offset)), (2 * big, int(offset)), value, width, cv2.LINE_AA)
    rot: np.ndarray = cv2.getRotationMatrix2D((big, big), float(rng.uniform(0, 90)), 1.0)
    rot[:, 2] -= big / 2
    grid: np.ndarray = cv2.warpAffine(canvas, rot, (big, big)).astype(np.float32) / 255.0
    grid = cv2.resize(_warp(rng, grid, rng.uniform(0, big / 25)), (size, size), interpolation=cv2.INTER_AREA)
    region = _region(rng, size, (0.7, 1.2))
    alpha = grid * region
    if rng.random() < 0.5:  # a solid frame or rope along the net's border
        edge = cv2.morphologyEx(
            (region > 0.5).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((int(rng.integers(3, 12)),) * 2, np.uint8)
        )
        alpha = np.maximum(alpha, cv2.GaussianBlur(edge.astype(np.float32), (0, 0), 0.7))
    return alpha


def _yarn(rng: np.random.Generator, size: int) -> np.ndarray:
    body = body_alpha(rng, size) * rng.uniform(0.85, 1.0)  # loosely spun: the ball itself lets some light through
    alpha = body
    for _ in range(int(rng.integers(6, 14))):  # each call adds 10-60 fibres; yarn is far denser than hair
        alpha = np.maximum(alpha, strand_alpha(rng, size, body) * rng.uniform(0.5, 1.0))
    return cv2.GaussianBlur(alpha, (0, 0), float(rng.uniform(0.3, 1.0)))


def make_structure(rng: np.random.Generator, size: int, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fg uint8 HxWx3 RGB, alpha uint8 HxW, own background uint8 HxWx3 RGB) of one `kind`, H = W = size."""
    makers = {"sheet": _sheet, "mesh": _mesh, "yarn": _yarn}
    if kind not in makers:
        raise ValueError(f"unknown structure kind {kind!r}; allowed: {', '.join(KINDS)}")
    alpha = np.clip(makers[kind](rng, size), 0.0, 1.0)
    fg = colour_texture(rng, size)
    if kind == "sheet" and rng.random() < 0.5:  # flags are striped
        stripes = (np.arange(size) * rng.uniform(2, 6) / size).astype(int) % 2
        other = rng.random(3).astype(np.float32)
        fg = np.where(stripes[:, None, None] == 1, 0.5 * fg + 0.5 * other, fg)
    return to_uint8(fg), to_uint8(alpha), make_background(rng, size)
