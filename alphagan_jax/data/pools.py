"""Training pools and the helpers every training source shares (a leaf: of the package, only data.io).

A source returns :class:`TrainPools`. Each pool holds either file paths, encoded file bytes, or decoded
same-sized arrays; `pipeline.py` turns any of them into TF ops. Fg and bg are separate pools so every
training sample is a fresh composite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alphagan_jax.data.io import ImageReadError, has_meaningful_alpha, list_images, read_raw

if TYPE_CHECKING:  # only for annotations: the data package runs on any config-like object
    from ml_collections import ConfigDict


@dataclass(frozen=True)
class Pool:
    """One image pool, exactly one of: `paths` (files), `encoded` (file bytes) or `arrays` (N,H,W[,C] uint8).

    For alpha pools, a path equal to the matching foreground path means "the foreground's A channel".
    """

    paths: tuple[str, ...] = ()
    encoded: tuple[bytes, ...] = ()
    arrays: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.arrays) if self.arrays is not None else len(self.paths) + len(self.encoded)


@dataclass(frozen=True)
class TrainPools:
    """Foregrounds with their alphas (same length, paired by index) and an independent background pool.

    `bg_tfds` names a TFDS dataset streamed for backgrounds instead of `bg` (too large to index in memory).
    `own_bg`, when not empty, pairs each foreground (by index) with the background it was photographed on,
    so the photo itself can be replayed as a sample (data.own_bg_prob).
    """

    fg: Pool
    alpha: Pool
    bg: Pool = field(default_factory=Pool)
    own_bg: Pool = field(default_factory=Pool)
    bg_tfds: str = ""
    tfds_data_dir: str = ""


def check_pair_size(fg_name: Any, alpha_name: Any, fg_hw: tuple, alpha_hw: tuple) -> None:
    """ImageReadError naming both files unless the (height, width) of a foreground and its alpha agree."""
    if tuple(fg_hw[:2]) != tuple(alpha_hw[:2]):
        raise ImageReadError(
            f"foreground {fg_name} is {fg_hw[1]}x{fg_hw[0]} but its alpha {alpha_name} is "
            f"{alpha_hw[1]}x{alpha_hw[0]} (width x height)"
        )


def require_path(data_config: ConfigDict) -> None:
    """ImageReadError naming the key unless a file-based source has its data directory (data.path)."""
    if not data_config.path:
        raise ImageReadError(f"data.source={data_config.source!r} needs a data directory: set data.path")


def _check_pair(fg_path: Path, alpha_path: Path) -> None:
    """Decode both files (catching corrupt ones early, by name) and require equal sizes."""
    fg = read_raw(fg_path)
    alpha = fg if alpha_path == fg_path else read_raw(alpha_path)
    check_pair_size(fg_path, alpha_path, fg.shape, alpha.shape)


def pair_foregrounds(fg_dir: Path, alpha_dir: Path | None, names: list[str] | None = None) -> tuple[list, list]:
    """(fg paths, alpha paths) paired by file stem; validated.

    An fg without an alpha file is accepted when it is RGBA with a non-opaque A channel (its alpha path is
    then its own path); otherwise it is an error naming the fg file. `names` restricts to these file names.
    """
    fgs = list_images(fg_dir)
    if names is not None:
        by_name = {p.name: p for p in fgs}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ImageReadError(f"foreground {fg_dir / missing[0]} listed but not found ({len(missing)} missing)")
        fgs = [by_name[n] for n in names]
    alphas = {p.stem: p for p in list_images(alpha_dir)} if alpha_dir is not None and alpha_dir.is_dir() else {}
    fg_paths, alpha_paths = [], []
    for fg in fgs:
        alpha = alphas.get(fg.stem)
        if alpha is None:
            if not has_meaningful_alpha(read_raw(fg)):
                raise ImageReadError(f"foreground {fg} has no matching alpha (same name) in {alpha_dir}")
            alpha = fg
        _check_pair(fg, alpha)
        fg_paths.append(str(fg))
        alpha_paths.append(str(alpha))
    return fg_paths, alpha_paths


def list_backgrounds(bg_path: str) -> list[Path]:
    """The images of one background folder, or of several joined by commas (``photos,more/photos``)."""
    return [p for folder in bg_path.split(",") if folder.strip() for p in list_images(folder.strip())]


def background_pool(bg_path: str, tfds_data_dir: str = "") -> tuple[Pool, str]:
    """(folder pool, '') when bg_path is a directory, else (empty pool, bg_path) as a TFDS dataset name."""
    if not bg_path:
        raise ImageReadError("backgrounds needed: set data.bg_path to an image folder or a TFDS name (coco/2017)")
    if Path(bg_path).is_dir() or "," in bg_path:
        return Pool(paths=tuple(str(p) for p in list_backgrounds(bg_path))), ""
    # TFDS names look like 'coco/2017'; anything path-like that is not a directory is a missing folder.
    if bg_path.startswith(("/", ".", "~")) or "\\" in bg_path or bg_path.count("/") > 2:
        raise ImageReadError(f"background directory not found: {bg_path} (config key data.bg_path)")
    return Pool(), bg_path
