"""Shared test fixtures.

Tests run on the CPU. Multi-device tests set XLA_FLAGS in a subprocess, never here, so the rest of the
suite keeps one device and compiles quickly.
"""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Many tests (and their subprocesses, which inherit this) compile the same train step; a persistent
# compilation cache turns the repeats from ~10 s into a file read.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(REPO_ROOT / ".pytest_cache" / "jax-compilation"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "1")
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data`: skipped with a reason on a fresh clone, a failure under CI (CI=true)."""
    if not (SHARED_DATA / "alphamatting" / "alpha").is_dir():
        msg = f"real matting data not found at {SHARED_DATA} (it sits beside the repo as ../shared/data)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but " + msg)
        pytest.skip(msg)
    return SHARED_DATA


@pytest.fixture(scope="session")
def trained_workdir(tmp_path_factory) -> Path:
    """A real training workdir: configs/test.py trained for 2 steps (latest and best checkpoints)."""
    from alphagan_jax.train.trainer import train_and_evaluate
    from configs import test as test_config

    config = test_config.get_config()
    config.train.num_steps = 2
    workdir = tmp_path_factory.mktemp("trained")
    train_and_evaluate(config, workdir)
    return workdir
