"""Training sources: where the foreground/alpha pool and the background pool come from (no TensorFlow).

A source returns :class:`TrainPools`. Each pool holds either file paths, encoded file bytes, or decoded
same-sized arrays; `pipeline.py` turns any of them into TF ops. Fg and bg are separate pools so every
training sample is a fresh composite.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alphagan_jax.data.io import ImageReadError, has_meaningful_alpha, list_images, read_raw

SOURCES = ("synthetic", "folder", "adobe_dim")
_log = logging.getLogger(__name__)


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


def own_backgrounds(own_dir: Path, fg_paths: list[str]) -> Pool:
    """Each foreground's own background from `own_dir` by file stem (empty Pool when there is no folder).

    Raises:
      ImageReadError: the folder exists but lacks a foreground's background.
    """
    if not own_dir.is_dir():
        return Pool()
    from alphagan_jax.data.eval_sources import check_sizes

    by_stem = {p.stem: p for p in list_images(own_dir)}
    missing = [Path(f) for f in fg_paths if Path(f).stem not in by_stem]
    if missing:
        raise ImageReadError(
            f"foreground {missing[0]} has no background of the same name in {own_dir} ({len(missing)} missing)"
        )
    own = [by_stem[Path(f).stem] for f in fg_paths]
    for fg, bg in zip(fg_paths, own, strict=True):
        # The own background is cut with the foreground's window, so the sizes must agree.
        check_sizes(f"own background of {fg}", {Path(fg): read_raw(fg).shape[:2], bg: read_raw(bg).shape[:2]})
    return Pool(paths=tuple(str(p) for p in own))


def train_folder(root: Path) -> Path:
    """`root/Train` when it exists (the original layout), else `root` itself."""
    return root / "Train" if (root / "Train").is_dir() else root


def folder_pools(path: str, bg_path: str = "") -> TrainPools:
    """The original reimplementation's layout: `path/Train/{fg,alpha,bg}` (or `path/{fg,alpha,bg}`).

    Foregrounds and alphas pair by file stem; `bg_path` (image folders, comma-separated) overrides
    `Train/bg`. An optional `Train/bg_own` holds each foreground's own background (data/foregrounds.py).
    """
    root = Path(path)
    if not root.is_dir():
        raise ImageReadError(f"data directory not found: {root} (config key data.path)")
    train = train_folder(root)
    fg_paths, alpha_paths = pair_foregrounds(train / "fg", train / "alpha")
    bg = list_backgrounds(bg_path) if bg_path else list_images(train / "bg")
    return TrainPools(
        fg=Pool(paths=tuple(fg_paths)),
        alpha=Pool(paths=tuple(alpha_paths)),
        bg=Pool(paths=tuple(str(p) for p in bg)),
        own_bg=own_backgrounds(train / "bg_own", fg_paths),
    )


def check_held_out(data_config: Any, val_names: list[str]) -> None:
    """Refuse a `folder` training set holding a foreground named like a validation image (file stem):
    a held-out photo must never be trained on, and a photo's training copies keep its name.

    Raises:
      ValueError: naming the photos and the folder, with the config keys involved.
    """
    if data_config.source != "folder" or not data_config.path or not val_names:
        return
    fg_dir = train_folder(Path(data_config.path)) / "fg"
    if not fg_dir.is_dir():
        return  # building the pools names the missing folder
    leaked = sorted({p.stem for p in list_images(fg_dir)} & set(val_names))
    if leaked:
        raise ValueError(
            f"validation image(s) {', '.join(leaked)} (data.val_source={data_config.val_source!r}) are also "
            f"training foregrounds in {fg_dir} (data.path): rebuild the training set without them, e.g. "
            f"python -m alphagan_jax.data.foregrounds ... --exclude {','.join(leaked)}"
        )


def synthetic_train_pools(data_config: Any, seed: int) -> TrainPools:
    """Procedural pools (see synthetic.py); backgrounds are photos when data.bg_path names a folder."""
    from alphagan_jax.data.synthetic import synthetic_pools

    pools = synthetic_pools(
        data_config.synthetic_num_fg, data_config.synthetic_num_bg, data_config.synthetic_size, seed
    )
    bg = (
        Pool(paths=tuple(str(p) for p in list_backgrounds(data_config.bg_path)))
        if data_config.bg_path
        else Pool(arrays=pools.bg)
    )
    return TrainPools(fg=Pool(arrays=pools.fg), alpha=Pool(arrays=pools.alpha), bg=bg)


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


def build_train_pools(data_config: Any, seed: int) -> TrainPools:
    """Dispatch on data.source; '' path with a file-based source is an error naming the key."""
    source = data_config.source
    if source not in SOURCES:
        raise ValueError(f"unknown data.source {source!r}; allowed values: {', '.join(SOURCES)}")
    if source == "synthetic":
        return synthetic_train_pools(data_config, seed)
    if not data_config.path:
        raise ImageReadError(f"data.source={source!r} needs a data directory: set data.path")
    if source == "folder":
        return folder_pools(data_config.path, data_config.bg_path)
    from alphagan_jax.data.adobe_dim import adobe_train_pools

    return adobe_train_pools(data_config)
