"""The photo pairs and procedural structures of a `folder`-layout training set (OUT/Train/{fg,alpha,bg_own}).

The command that writes one, ``alphagan-foregrounds``, is
:mod:`alphagan_jax.cli.foregrounds` (it estimates each photo's foreground and background colours).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from alphagan_jax.data.eval_sources import files_by_stem
from alphagan_jax.data.io import ImageReadError, list_images, write_png
from alphagan_jax.data.synthetic_structures import KINDS, make_structure

FOLDERS = ("fg", "alpha", "bg_own")


def photo_pairs(data: str | Path, exclude: set[str] | frozenset[str] = frozenset()) -> list[tuple[str, Path, Path]]:
    """(name, image path, alpha path) of every photo of `data` not in `exclude`, by file name.

    Raises:
      ImageReadError: a folder is missing, a photo has no alpha, or an excluded name matches no photo
        (a typo there would silently leak a validation photo into training).
    """
    root = Path(data)
    alpha_dir = next((root / n for n in ("alpha", "gt") if (root / n).is_dir()), None)
    if alpha_dir is None:
        raise ImageReadError(f"no alpha/ (or gt/) folder of ground-truth mattes in {root}")
    images = list_images(root / "image")
    alphas = files_by_stem(alpha_dir)
    unknown = sorted(set(exclude) - {p.stem for p in images})
    if unknown:
        raise ImageReadError(f"--exclude names no photo of {root / 'image'}: {', '.join(unknown)}")
    pairs = []
    for image in images:
        if image.stem in exclude:
            continue
        if image.stem not in alphas:
            raise ImageReadError(f"photo {image} has no ground-truth alpha (same name) in {alpha_dir}")
        pairs.append((image.stem, image, alphas[image.stem]))
    return pairs


def add_structures(out: str | Path, count: int, size: int = 640, seed: int = 0, log=print) -> list[str]:
    """Write `count` procedural foregrounds (kinds in turn) into OUT/Train/{fg,alpha,bg_own}; returns names."""
    train = Path(out) / "Train"
    names = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        name = f"synth_{kind}_{i:02d}"
        arrays = make_structure(np.random.default_rng([seed, i]), size, kind)
        for folder, array in zip(FOLDERS, arrays, strict=True):
            write_png(train / folder / f"{name}.png", array)
        names.append(name)
    if names:
        log(f"{count} procedural foregrounds ({', '.join(KINDS[:count])}) of {size}x{size} px as synth_*.png")
    return names
