"""Training sources: where the foreground/alpha pool and the background pool come from (no TensorFlow).

data.source names one module of this package, which registers its pool builder under that name
(:mod:`alphagan_jax.data.source_registry`): ``synthetic`` (procedural, synthetic.py), ``folder`` (an image
folder layout) and ``adobe_dim`` (the Adobe DIM TFDS build, imported only when chosen: it needs
TensorFlow). A new source is a new module here. The pools and the helpers the sources share are in
:mod:`alphagan_jax.data.pools`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alphagan_jax.data.source_registry import source_builder, source_names

if TYPE_CHECKING:  # only for annotations: the data package runs on any config-like object
    from ml_collections import ConfigDict

    from alphagan_jax.data.pools import TrainPools

__all__ = ["build_train_pools", "source_names"]


def build_train_pools(data_config: ConfigDict, seed: int) -> TrainPools:
    """The pools of data.source, from the builder its module registers; an unknown name, or '' path with a
    file-based source, is an error naming the key."""
    return source_builder(data_config.source)(data_config, seed)
