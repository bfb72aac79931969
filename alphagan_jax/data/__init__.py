"""Matting data: on-the-fly training composites (tf.data, or JAX on the accelerator) and full-resolution
evaluation samples (NumPy).

Importing this package does not import TensorFlow; only building a training pipeline does, so evaluation
and the accelerator host (which has no TensorFlow) can use `eval_samples` and `io`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from alphagan_jax.data.eval_sources import eval_samples
from alphagan_jax.data.io import ImageReadError

if TYPE_CHECKING:  # only for annotations: the data package runs on any config-like object
    from ml_collections import ConfigDict

__all__ = ["ImageReadError", "eval_samples", "make_train_dataset", "make_train_iterator"]


def make_train_dataset(data_config: ConfigDict, *, global_batch_size: int, seed: int, start_step: int = 0, **kwargs):
    """This host's tf.data.Dataset of training batches; see pipeline.make_train_dataset."""
    from alphagan_jax.data.pipeline import make_train_dataset as build  # lazy: only training needs a pipeline

    return build(data_config, global_batch_size=global_batch_size, seed=seed, start_step=start_step, **kwargs)


def make_train_iterator(
    data_config: ConfigDict, *, global_batch_size: int, seed: int, start_step: int = 0, **kwargs
) -> Iterator[dict]:
    """This host's training batches: NumPy dicts from tf.data (pipeline.make_train_iterator), or jax Arrays
    made on the accelerator when data_config.pipeline is "jax" (device_pipeline.make_device_train_iterator)."""
    # Lazy imports: `import alphagan_jax.data` stays light for evaluation; only training builds a pipeline.
    if getattr(data_config, "pipeline", "tf") == "jax":
        from alphagan_jax.data.device_pipeline import make_device_train_iterator

        return make_device_train_iterator(
            data_config, global_batch_size=global_batch_size, seed=seed, start_step=start_step, **kwargs
        )
    from alphagan_jax.data.pipeline import make_train_iterator

    return make_train_iterator(
        data_config, global_batch_size=global_batch_size, seed=seed, start_step=start_step, **kwargs
    )
