"""Full-resolution evaluation samples from folders or the synthetic generator (NumPy/OpenCV, no TensorFlow).

Every sample is {'name': str, 'image': uint8 HxWx3, 'trimap': uint8 HxW in {0,128,255},
'alpha': uint8 HxW or None} plus 'fg'/'bg' (uint8 HxWx3) where the source has them. Nothing is resized.

The folder layouts are paired here once, by file stem and without reading pixels (:func:`pair_files`),
for this module's readers, the test items of ``evaluate.py`` (:func:`list_eval_items`, loaded one by one
so a bad pair fails only its image) and the Adobe TFDS builder (which stores the files' bytes).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from alphagan_jax.data.io import ImageReadError, list_images, read_alpha_u8, read_rgb, read_trimap

if TYPE_CHECKING:
    import numpy as np

_log = logging.getLogger(__name__)

# Folder names of each layout: images, trimaps, ground-truth alphas (the first existing one wins).
#   alphamatting: alphamatting.com; composition1k: merged/<fg>_<bg index>.png with alpha_copy/ per composite,
#   or alpha/<fg>.png (and maybe trimaps) per foreground; folder: the original reimplementation's [Test/].
LAYOUTS = {
    "alphamatting": (("image",), ("trimap",), ("alpha", "gt")),
    "composition1k": (("merged",), ("trimaps", "trimap"), ("alpha_copy", "alpha")),
    "folder": (("input", "image", "merged"), ("trimap", "trimaps"), ("alpha", "alpha_copy")),
}
EVAL_SOURCES = ("synthetic", *LAYOUTS)


class EvalFolders(NamedTuple):
    root: Path
    image: Path
    trimap: Path
    alpha: Path | None  # None: no ground truth (predict only)


@dataclass
class EvalFiles:
    """One test image's files; `problem` is set (and raised by :func:`load_files`) when pairing failed."""

    name: str
    image: Path | None  # None only in EvalItem's in-memory (synthetic) items
    trimap: Path | None
    alpha: Path | None = None
    problem: str = ""


def eval_folders(source: str, path: str | Path) -> EvalFolders:
    """The image, trimap and (optional) alpha folders of a layout in :data:`LAYOUTS`.

    Raises:
      ImageReadError: the folder, its image or its trimap subfolder is missing.
    """
    root = Path(path)
    if source == "folder" and (root / "Test").is_dir():
        root = root / "Test"
    if not root.is_dir():
        raise ImageReadError(f"{source} data folder not found: {root}")
    image_dir, trimap_dir, alpha_dir = (_first_dir(root, names) for names in LAYOUTS[source])
    if image_dir is None or trimap_dir is None:
        image_names, trimap_names, _ = LAYOUTS[source]
        raise ImageReadError(
            f"{source} layout needs an image folder ({'|'.join(image_names)}) and a trimap folder "
            f"({'|'.join(trimap_names)}) inside {root}"
        )
    return EvalFolders(root, image_dir, trimap_dir, alpha_dir)


def _first_dir(root: Path, names: tuple[str, ...]) -> Path | None:
    return next((root / n for n in names if (root / n).is_dir()), None)


def files_by_stem(directory: Path) -> dict[str, Path]:
    """{stem: path} of a folder's images (of two files with one stem, the later by name wins)."""
    return {p.stem: p for p in list_images(directory)}


def pair_files(source: str, folders: EvalFolders) -> list[EvalFiles]:
    """Every image with its trimap and alpha by stem, in file-name order (as list_images); no pixel read.

    A Composition-1k composite `<fg>_<bg index>` without a file of its own name uses `<fg>`'s trimap or
    alpha (alpha/ holds one matte per foreground). A missing trimap, or a missing alpha while the alpha
    folder exists, sets the item's `problem` rather than raising, so callers can decide per image.
    """
    images = list_images(folders.image)
    trimaps = files_by_stem(folders.trimap)
    alphas = files_by_stem(folders.alpha) if folders.alpha is not None else {}

    def find(table: dict[str, Path], stem: str) -> Path | None:
        if stem in table or source != "composition1k":
            return table.get(stem)
        return table.get(stem.rsplit("_", 1)[0])

    pairs = []
    for image in images:
        files = EvalFiles(image.stem, image, find(trimaps, image.stem), find(alphas, image.stem))
        if files.trimap is None:
            files.problem = f"no trimap for image {image} in {folders.trimap}"
        elif folders.alpha is not None and files.alpha is None:
            files.problem = f"no ground-truth alpha for image {image} in {folders.alpha}"
        pairs.append(files)
    return pairs


def check_sizes(
    name: str, shapes: dict[Path | None, tuple[int, ...] | None], error: type[ValueError] = ImageReadError
) -> None:
    """Raise `error` naming every file when the given files' sizes (HxW) differ; None entries are skipped."""
    present = {p: s for p, s in shapes.items() if p is not None and s is not None}
    if len(set(present.values())) > 1:
        detail = ", ".join(f"{p} is {s[1]}x{s[0]} (WxH)" for p, s in present.items())
        raise error(f"{name}: image sizes differ: {detail}")


def load_files(
    files: EvalFiles, unknown_value: int | None = None, size_error: type[ValueError] = ImageReadError
) -> dict:
    """Read a pair into a sample dict (alpha None without ground truth); raises naming the bad file."""
    if files.problem:
        raise ImageReadError(files.problem)
    if files.image is None or files.trimap is None:  # only an in-memory EvalItem has no files
        raise ImageReadError(f"{files.name}: no image or trimap file to read")
    image = read_rgb(files.image)
    trimap = read_trimap(files.trimap, unknown_value)
    alpha = read_alpha_u8(files.alpha) if files.alpha is not None else None
    check_sizes(
        files.name,
        {files.image: image.shape[:2], files.trimap: trimap.shape, files.alpha: None if alpha is None else alpha.shape},
        size_error,
    )
    return {"name": files.name, "image": image, "trimap": trimap, "alpha": alpha}


def select_names(pairs: list[EvalFiles], names: tuple[str, ...] | list[str], where: Path) -> list[EvalFiles]:
    """The pairs named in `names` (file stems), in that order; a name with no image is an error."""
    by_name = {files.name: files for files in pairs}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise ImageReadError(f"no image named {', '.join(missing)} in {where} (data.val_names)")
    return [by_name[n] for n in names]


def _read_folder(
    source: str, path: str, num: int | None, unknown_value: int | None, names: tuple[str, ...] = ()
) -> Iterator[dict]:
    folders = eval_folders(source, path)
    pairs = pair_files(source, folders)
    pairs = select_names(pairs, names, folders.image) if names else pairs[:num]

    # A generator, so a bad pair raises only when reached, after the samples before it.
    def read() -> Iterator[dict]:
        for files in pairs:
            yield load_files(files, unknown_value)

    return read()


def eval_samples(
    source: str,
    path: str,
    *,
    num: int | None = None,
    size: int = 320,
    seed: int = 0,
    unknown_value: int | None = None,
    names: tuple[str, ...] | list[str] = (),
) -> Iterator[dict]:
    """Full-resolution evaluation samples of a source (see module docstring for the dict layout).

    Args:
      source: 'synthetic', 'alphamatting', 'composition1k' or 'folder' (layouts in :data:`LAYOUTS`).
      path: data root; for 'synthetic', '' or a folder of background photos.
      num: at most this many samples, the first by file name (synthetic: exactly; default 8).
      size: side of synthetic samples.
      seed: synthetic samples are a pure function of (seed, size).
      unknown_value: the trimaps' unknown value when not 128 (None: auto-detect).
      names: folder sources: exactly these images (file stems, in this order) instead of the first `num`.
    """
    if source == "synthetic":
        from alphagan_jax.data.synthetic import synthetic_eval_samples

        # Paths: only the photos drawn are decoded.
        photos: list[np.ndarray | Path] | None = [*list_images(path)] if path else None
        return synthetic_eval_samples(8 if num is None else num, size, seed, backgrounds=photos)
    if source not in EVAL_SOURCES:
        raise ValueError(f"unknown evaluation source {source!r} (data.val_source); allowed: {', '.join(EVAL_SOURCES)}")
    if not path:
        raise ImageReadError(f"evaluation source {source!r} needs a data directory (data.val_path)")
    return _read_folder(source, path, num, unknown_value, tuple(names))


# --------------------------------------------------------------------------------------------------------
# Test items of evaluate.py: pairs listed up front, read one at a time.


@dataclass
class EvalItem(EvalFiles):
    """One test image: its files (alpha may be None), loaded lazily so a bad file fails only its item."""

    sample: dict[str, Any] | None = field(default=None, repr=False)  # in-memory sample (synthetic)

    def load(self, unknown_value: int | None = None) -> dict[str, Any]:
        """{'name', 'image', 'trimap', 'alpha' (uint8 or None)}; raises naming the bad file."""
        if self.sample is not None:
            return self.sample
        # ValueError rather than ImageReadError for sizes: the type names this image's error in metrics.csv.
        return load_files(self, unknown_value, size_error=ValueError)


def list_eval_items(source: str, path: str | Path, *, num: int | None = None) -> list[EvalItem]:
    """Pair test images with their trimaps and alphas by file stem, without reading any pixels.

    Args:
      source: 'composition1k' (merged/, trimaps/, alpha_copy/ or per-foreground alpha/), 'alphamatting'
        (image/, trimap/, alpha/) or 'folder' ([Test/]input|image|merged, trimap|trimaps, alpha|alpha_copy).
        The alpha folder is optional: without it, predictions are written and rows are 'no_gt'.
      path: the folder holding those subfolders.
      num: keep only the first `num` images (sorted by stem).

    Raises:
      ImageReadError: the folder, its image or trimap subfolder is missing, or one of them is empty.
    """
    if source not in LAYOUTS:
        raise ValueError(f"unknown file source {source!r}; choose from {sorted(LAYOUTS)} or 'synthetic'")
    folders = eval_folders(source, path)
    if folders.alpha is None:
        _log.warning(
            "no alpha folder (%s) in %s: predicting without scoring", "|".join(LAYOUTS[source][2]), folders.root
        )
    # Sorted by stem, one item per stem (the later file by name wins), unlike eval_samples' file-name
    # order: the two differ only for stems such as 'a' and 'a-b' or 'a.png' beside 'a.jpg'.
    by_stem = {f.name: f for f in pair_files(source, folders)}
    return [EvalItem(**vars(by_stem[stem])) for stem in sorted(by_stem)[:num]]


def synthetic_items(num: int = 8, size: int = 320, seed: int = 0, backgrounds: str = "") -> list[EvalItem]:
    """The built-in synthetic test set as in-memory items (no files needed; `backgrounds`: photo folder)."""
    return [
        EvalItem(s["name"], None, None, sample=s)
        for s in eval_samples("synthetic", backgrounds, num=num, size=size, seed=seed)
    ]
