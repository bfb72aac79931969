"""data.source='synthetic': procedural pools (see data/synthetic.py), no files needed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alphagan_jax.data.pools import Pool, TrainPools, list_backgrounds
from alphagan_jax.data.source_registry import register_source
from alphagan_jax.data.synthetic import synthetic_pools

if TYPE_CHECKING:  # only for annotations: the data package runs on any config-like object
    from ml_collections import ConfigDict


@register_source("synthetic")
def synthetic_train_pools(data_config: ConfigDict, seed: int) -> TrainPools:
    """Procedural pools (see synthetic.py); backgrounds are photos when data.bg_path names a folder."""
    pools = synthetic_pools(
        data_config.synthetic_num_fg, data_config.synthetic_num_bg, data_config.synthetic_size, seed
    )
    bg = (
        Pool(paths=tuple(str(p) for p in list_backgrounds(data_config.bg_path)))
        if data_config.bg_path
        else Pool(arrays=pools.bg)
    )
    return TrainPools(fg=Pool(arrays=pools.fg), alpha=Pool(arrays=pools.alpha), bg=bg)
