"""data.source dispatch: each source module registers its pool builder under its name."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import small_config

from alphagan_jax.data import source_registry
from alphagan_jax.data.pools import Pool, TrainPools
from alphagan_jax.data.sources import build_train_pools, source_names


def test_known_sources_are_the_modules_of_the_sources_package():
    assert {"synthetic", "folder", "adobe_dim"} <= set(source_names())


def test_unknown_source_is_one_line_naming_the_key_and_the_known_names():
    with pytest.raises(ValueError) as e:
        build_train_pools(small_config(source="nope"), 0)
    message = str(e.value)
    assert "\n" not in message and "data.source" in message and "'nope'" in message
    assert all(name in message for name in ("adobe_dim", "folder", "synthetic"))


def test_a_registered_builder_is_dispatched_to(monkeypatch):
    monkeypatch.setattr(source_registry, "_BUILDERS", dict(source_registry._BUILDERS))
    pools = TrainPools(fg=Pool(paths=("f.png",)), alpha=Pool(paths=("a.png",)))

    @source_registry.register_source("plugin")
    def plugin(data_config, seed):
        return pools

    assert build_train_pools(small_config(source="plugin"), 0) is pools
    assert "plugin" in source_names()
    with pytest.raises(ValueError, match="registered twice"):
        source_registry.register_source("plugin")(lambda data_config, seed: pools)


def test_the_numpy_sources_import_no_tensorflow():
    """The accelerator host has no TensorFlow: only choosing adobe_dim imports its module (and TF)."""
    code = (
        "import sys\n"
        "from helpers import small_config\n"
        "from alphagan_jax.data.sources import build_train_pools\n"
        "build_train_pools(small_config(source='synthetic'), 0)\n"
        "loaded = [m for m in ('tensorflow', 'alphagan_jax.data.sources.adobe_dim') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    tests = Path(__file__).parents[1]
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=tests.parent,
        env={**os.environ, "PYTHONPATH": f"{tests.parent}:{tests}"},
        check=True,
        timeout=120,
    )
