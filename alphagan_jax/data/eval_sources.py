"""Full-resolution evaluation samples from folders or the synthetic generator (NumPy/OpenCV, no TensorFlow).

Every sample is {'name': str, 'image': uint8 HxWx3, 'trimap': uint8 HxW in {0,128,255},
'alpha': uint8 HxW or None} plus 'fg'/'bg' (uint8 HxWx3) where the source has them. Nothing is resized.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from alphagan_jax.data.io import ImageReadError, list_images, read_alpha_u8, read_rgb, read_trimap

EVAL_SOURCES = ("synthetic", "alphamatting", "composition1k", "folder")


def _first_dir(root: Path, names: tuple[str, ...], required: bool = True) -> Path | None:
    for name in names:
        if (root / name).is_dir():
            return root / name
    if required:
        raise ImageReadError(f"none of the folders {', '.join(names)} found in {root}")
    return None


def _paired(
    root: Path,
    image_dirs: tuple[str, ...],
    trimap_dirs: tuple[str, ...],
    alpha_dirs: tuple[str, ...],
    num: int | None,
    unknown_value: int | None,
    fallback_key=None,
) -> Iterator[dict]:
    """Images paired with trimap and (optional) alpha files by stem.

    `fallback_key(stem)` gives a second stem to look up when a trimap/alpha has no file of the image's own
    name (Composition-1k shares one alpha between the 20 composites of a foreground).
    """
    if not root.is_dir():
        raise ImageReadError(f"evaluation data directory not found: {root}")
    images = list_images(_first_dir(root, image_dirs))
    trimaps = {p.stem: p for p in list_images(_first_dir(root, trimap_dirs))}
    alpha_dir = _first_dir(root, alpha_dirs, required=False)
    alphas = {p.stem: p for p in list_images(alpha_dir)} if alpha_dir else {}

    def find(table: dict, stem: str) -> Path | None:
        if stem in table:
            return table[stem]
        return table.get(fallback_key(stem)) if fallback_key else None

    for image_path in images[:num] if num is not None else images:
        stem = image_path.stem
        trimap_path = find(trimaps, stem)
        if trimap_path is None:
            raise ImageReadError(f"image {image_path} has no matching trimap in {root}")
        alpha_path = find(alphas, stem)
        if alpha_dir is not None and alpha_path is None:
            raise ImageReadError(f"image {image_path} has no matching alpha in {alpha_dir}")
        image = read_rgb(image_path)
        trimap = read_trimap(trimap_path, unknown_value)
        alpha = read_alpha_u8(alpha_path) if alpha_path is not None else None
        for other, path in ((trimap, trimap_path), (alpha, alpha_path)):
            if other is not None and other.shape != image.shape[:2]:
                raise ImageReadError(
                    f"{path} is {other.shape[1]}x{other.shape[0]} but image {image_path} is "
                    f"{image.shape[1]}x{image.shape[0]}"
                )
        yield {"name": stem, "image": image, "trimap": trimap, "alpha": alpha}


def alphamatting_samples(
    path: str | Path, num: int | None = None, unknown_value: int | None = None, trimap_dir: str = "trimap"
) -> Iterator[dict]:
    """alphamatting.com layout: `image/`, `trimap/` (or `trimap2/` via trimap_dir), optional `alpha/`."""
    return _paired(Path(path), ("image",), (trimap_dir,), ("alpha", "gt"), num, unknown_value)


def composition1k_samples(
    path: str | Path, num: int | None = None, unknown_value: int | None = None
) -> Iterator[dict]:
    """Composition-1k: `merged/<fg>_<bg index>.png`, `trimaps/`, `alpha_copy/` (per composite name).

    When alpha_copy/ is absent, `alpha/<fg>.png` (one matte per foreground) is used, and trimaps may
    likewise be per foreground.
    """
    return _paired(
        Path(path),
        ("merged",),
        ("trimaps", "trimap"),
        ("alpha_copy", "alpha"),
        num,
        unknown_value,
        fallback_key=lambda stem: stem.rsplit("_", 1)[0],
    )


def folder_samples(
    path: str | Path, num: int | None = None, unknown_value: int | None = None
) -> Iterator[dict]:
    """Original reimplementation's test layout: `{input|image|merged}/`, `trimap(s)/`, optional `alpha/`."""
    root = Path(path)
    if (root / "Test").is_dir():
        root = root / "Test"
    return _paired(
        root, ("input", "image", "merged"), ("trimap", "trimaps"), ("alpha", "alpha_copy"), num, unknown_value
    )


def eval_samples(
    source: str,
    path: str,
    *,
    num: int | None = None,
    size: int = 320,
    seed: int = 0,
    unknown_value: int | None = None,
) -> Iterator[dict]:
    """Full-resolution evaluation samples of a source (see module docstring for the dict layout).

    Args:
      source: 'synthetic', 'alphamatting', 'composition1k' or 'folder'.
      path: data root; for 'synthetic', '' or a folder of background photos.
      num: at most this many samples (synthetic: exactly; default 8).
      size: side of synthetic samples.
      seed: synthetic samples are a pure function of (seed, size).
      unknown_value: the trimaps' unknown value when not 128 (None: auto-detect).
    """
    if source == "synthetic":
        from alphagan_jax.data.synthetic import synthetic_eval_samples

        photos = [read_rgb(p) for p in list_images(path)] if path else None
        return synthetic_eval_samples(8 if num is None else num, size, seed, backgrounds=photos)
    if source not in EVAL_SOURCES:
        raise ValueError(
            f"unknown evaluation source {source!r} (data.val_source); allowed: {', '.join(EVAL_SOURCES)}"
        )
    if not path:
        raise ImageReadError(f"evaluation source {source!r} needs a data directory (data.val_path)")
    readers = {
        "alphamatting": alphamatting_samples,
        "composition1k": composition1k_samples,
        "folder": folder_samples,
    }
    return readers[source](path, num=num, unknown_value=unknown_value)
