"""Training sources by name (data.source): each source module registers its pool builder under its name.

The source named N is module ``alphagan_jax.data.sources.N``, imported the first time N is asked for, so
a new source is a new file there and nothing else changes, and a source that needs TensorFlow (adobe_dim)
is only imported when chosen. A builder takes (data_config, seed) and returns data.pools.TrainPools.
This module imports nothing of the package: sources import it, never the other way round.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from typing import Any

SOURCE_PACKAGE = "alphagan_jax.data.sources"

Builder = Callable[[Any, int], Any]
_BUILDERS: dict[str, Builder] = {}


def register_source(name: str) -> Callable[[Builder], Builder]:
    """Decorator: `fn` builds the training pools of data.source=`name`."""

    def register(fn: Builder) -> Builder:
        if _BUILDERS.get(name, fn) is not fn:
            raise ValueError(f"data.source {name!r} is registered twice")
        _BUILDERS[name] = fn
        return fn

    return register


def source_names() -> tuple[str, ...]:
    """Every known source: the modules of the sources package (not imported) and any registered otherwise."""
    spec = importlib.util.find_spec(SOURCE_PACKAGE)
    locations = (spec.submodule_search_locations or []) if spec is not None else []
    found = {m.name for m in pkgutil.iter_modules(locations) if not m.name.startswith("_")}
    return tuple(sorted(found | set(_BUILDERS)))


def source_builder(name: str) -> Builder:
    """The builder registered under `name`, importing its module on first use.

    Raises:
      ValueError: no such source, in one line naming the key and the known names.
    """
    if name not in _BUILDERS:
        known = source_names()
        if name not in known:
            raise ValueError(f"unknown data.source {name!r}; allowed values: {', '.join(known)}")
        importlib.import_module(f"{SOURCE_PACKAGE}.{name}")  # registers its builder as it is imported
        if name not in _BUILDERS:
            raise ValueError(f"{SOURCE_PACKAGE}.{name} registers no builder for data.source {name!r}")
    return _BUILDERS[name]
