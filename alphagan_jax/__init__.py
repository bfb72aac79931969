"""AlphaGAN natural image matting in JAX/Flax.

The public API (:mod:`alphagan_jax.api`) is imported on first use, so ``import alphagan_jax`` stays
light: no JAX, Flax or TensorFlow until a model is loaded.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {
    "Model": "alphagan_jax.api",
    "load": "alphagan_jax.api",
    "trimap_from_mask": "alphagan_jax.api",
    "from_pretrained": "alphagan_jax.hub",
}
__all__ = ["Model", "__version__", "from_pretrained", "load", "trimap_from_mask"]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'alphagan_jax' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
