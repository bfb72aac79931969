"""data.source='folder': the original reimplementation's layout, `path/Train/{fg,alpha,bg[,bg_own]}`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alphagan_jax.data.eval_sources import check_sizes
from alphagan_jax.data.io import ImageReadError, list_images, read_raw
from alphagan_jax.data.pools import Pool, TrainPools, list_backgrounds, pair_foregrounds, require_path
from alphagan_jax.data.source_registry import register_source

if TYPE_CHECKING:  # only for annotations: the data package runs on any config-like object
    from ml_collections import ConfigDict


def own_backgrounds(own_dir: Path, fg_paths: list[str]) -> Pool:
    """Each foreground's own background from `own_dir` by file stem (empty Pool when there is no folder).

    Raises:
      ImageReadError: the folder exists but lacks a foreground's background.
    """
    if not own_dir.is_dir():
        return Pool()
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
    `Train/bg`. An optional `Train/bg_own` holds each foreground's own background (written by tools/foregrounds.py).
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


@register_source("folder")
def folder_train_pools(data_config: ConfigDict, seed: int) -> TrainPools:
    """Pools of data.path in the folder layout; backgrounds from data.bg_path when set."""
    require_path(data_config)
    return folder_pools(data_config.path, data_config.bg_path)


def check_held_out(data_config: ConfigDict, val_names: list[str]) -> None:
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
            f"alphagan-foregrounds ... --exclude {','.join(leaked)}"
        )
