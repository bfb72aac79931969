"""Helpers shared by several test files: `from helpers import ...` (pytest puts tests/ on sys.path)."""

import hashlib
import itertools
import math
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import cv2
import numpy as np

from configs.default import get_data_config

CROP = 64


def unavailable(why: str) -> NoReturn:
    """Skip, saying `why`, on a user's machine; fail under CI=true, where .ci/run provides everything the
    suite needs, so a missing dependency or privilege can never turn a claim into a silent skip."""
    import pytest

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {why}")
    pytest.skip(why, allow_module_level=True)


def require_module(name: str, why: str) -> Any:
    """`importlib.import_module(name)`, or :func:`unavailable` naming the module, why it is needed and the
    import error (a dependency of the module itself may be the missing piece)."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as e:
        unavailable(f"{name} cannot be imported ({e}): {why}")


def script(name: str) -> str:
    """The console script `name` (alphagan-predict, ...) of the environment running the tests: the one form
    of each command (pyproject.toml [project.scripts]), installed by ``pip install -e``."""
    path = Path(sys.executable).with_name(name)
    assert path.is_file(), f"{path} is not installed: run pip install -e . in this environment"
    return str(path)


def small_config(**overrides):
    """The default data config cut down to 64 px crops, small kernels and a small synthetic pool."""
    c = get_data_config()
    c.crop_size = CROP
    c.crop_choices = (48, 64, 96)
    c.synthetic_num_fg, c.synthetic_num_bg, c.synthetic_size = 4, 3, 128
    c.trimap_kernel_range = (1, 9)
    for k, v in overrides.items():
        setattr(c, k, v)
    return c


def batches(config, n, pools=None, batch=4, seed=0, start_step=0, host=(0, 1)):
    """The first `n` batches of the training iterator for `config` (NumPy dicts)."""
    from alphagan_jax.data import make_train_iterator

    it = make_train_iterator(
        config,
        global_batch_size=batch,
        seed=seed,
        start_step=start_step,
        pools=pools,
        process_index=host[0],
        process_count=host[1],
    )
    return list(itertools.islice(it, n))


def sample_hashes(batch) -> list[str]:
    """One digest per sample over all of its arrays (NumPy or jax), so samples can be matched one by one."""
    keys = sorted(batch)
    return [
        hashlib.sha1(b"".join(np.ascontiguousarray(batch[k][i]).tobytes() for k in keys)).hexdigest()
        for i in range(len(batch[keys[0]]))
    ]


def train_cmd(workdir, *overrides: str) -> list[str]:
    """`python train.py` on configs/test.py into `workdir` (run it with cwd at the repository root)."""
    return [sys.executable, "train.py", "--config", "configs/test.py", "--workdir", str(workdir), *overrides]


def random_batch(seed: int, n: int = 4, size: int = 64) -> dict[str, np.ndarray]:
    """A float32 training batch that satisfies the pipeline's contract (image = alpha F + (1 - alpha) B);
    about half its pixels are unknown, a quarter each foreground and background."""
    rng = np.random.default_rng(seed)
    alpha = np.clip(rng.uniform(-0.5, 1.5, (n, size, size, 1)), 0, 1).astype(np.float32)
    fg = rng.uniform(size=(n, size, size, 3)).astype(np.float32)
    bg = rng.uniform(size=(n, size, size, 3)).astype(np.float32)
    trimap = np.where(alpha == 0, 0.0, np.where(alpha == 1, 1.0, 0.5)).astype(np.float32)
    return {"image": alpha * fg + (1 - alpha) * bg, "trimap": trimap, "alpha": alpha, "fg": fg, "bg": bg}


def leaves(tree) -> list[np.ndarray]:
    """A pytree's leaves as host NumPy arrays (copies: a donated state's buffers may be reused)."""
    import jax

    return [np.asarray(x) for x in jax.tree_util.tree_leaves(jax.device_get(tree))]


def write_image(path: Path, arr: np.ndarray) -> None:
    """Write with OpenCV (parents created): RGB/RGBA arrays are given in RGB order, uint16 stays 16-bit,
    and the extension picks the format (.jpg is JPEG)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA if arr.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(path), arr)


def param_count(tree) -> int:
    """Total number of elements over a pytree's leaves (arrays or ShapeDtypeStructs)."""
    import jax  # here, so the data tests that import this module do not load JAX for it

    return sum(math.prod(x.shape) for x in jax.tree_util.tree_leaves(tree))


def downscaled_photo(shared_data, name: str, trimap_dir: str, height: int):
    """(image, trimap) of an alphamatting photo resized to `height` px high (nearest for the trimap: it
    keeps 0/128/255)."""
    import cv2

    from alphagan_jax.data.io import read_rgb, read_trimap

    root = shared_data / "alphamatting"
    image, trimap = read_rgb(root / "image" / f"{name}.png"), read_trimap(root / trimap_dir / f"{name}.png")
    h, w = trimap.shape
    size = (round(w * height / h), height)
    return (
        cv2.resize(image, size, interpolation=cv2.INTER_AREA),
        cv2.resize(trimap, size, interpolation=cv2.INTER_NEAREST),
    )


def data_files(step_dir: Path) -> list[Path]:
    """The array data files of one Orbax checkpoint step (its `d/` folders)."""
    return sorted(p for p in step_dir.rglob("*") if p.is_file() and p.parent.name == "d")


def truncate(step_dir: Path) -> None:
    """An interrupted copy: every array data file of the step cut to half its size."""
    files = data_files(step_dir)
    assert files, step_dir
    for f in files:
        os.truncate(f, f.stat().st_size // 2)
