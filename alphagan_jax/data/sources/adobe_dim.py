"""data.source='adobe_dim': foregrounds from the Adobe DIM TFDS build (data/adobe_dim.py; TensorFlow).

Imported only when this source is chosen (source_registry), so the other sources stay TensorFlow-free.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import tensorflow_datasets as tfds

from alphagan_jax.data.builders.adobe_dim_tfds import build
from alphagan_jax.data.io import ImageReadError
from alphagan_jax.data.pools import Pool, TrainPools, background_pool, require_path
from alphagan_jax.data.source_registry import register_source

if TYPE_CHECKING:  # only for annotations: the data package runs on any config-like object
    from ml_collections import ConfigDict


@register_source("adobe_dim")
def adobe_train_pools(data_config: ConfigDict, seed: int = 0) -> TrainPools:
    """Pools for data.source='adobe_dim': fg/alpha bytes from the built TFDS `fg` split (built from data.path
    on first use), backgrounds from data.bg_path (folder or TFDS name such as coco/2017 or voc/2012).

    All foregrounds are held in memory as encoded bytes (about 1 GB for the full set), so sampling any of
    them by index stays inside the TF graph. `seed` is unused: the pools are the files.
    """
    require_path(data_config)
    root = Path(data_config.path)
    if not root.is_dir():
        raise ImageReadError(f"Adobe DIM directory not found: {root} (config key data.path)")
    builder = build(str(root), data_config.tfds_data_dir)
    ds = builder.as_dataset(split="train", shuffle_files=False)
    fgs, alphas = [], []
    for ex in tfds.as_numpy(ds):
        fgs.append(ex["fg"])
        alphas.append(ex["alpha"])
    bg, bg_tfds = background_pool(data_config.bg_path, data_config.tfds_data_dir)
    return TrainPools(
        fg=Pool(encoded=tuple(fgs)),
        alpha=Pool(encoded=tuple(alphas)),
        bg=bg,
        bg_tfds=bg_tfds,
        tfds_data_dir=data_config.tfds_data_dir,
    )
