"""recipe.py: the data config read once for both pipelines, its errors naming the key, the host's share of
a batch, and that it imports neither TensorFlow nor JAX."""

import subprocess
import sys
from types import SimpleNamespace

import pytest
from conftest import REPO_ROOT

from alphagan_jax.data.recipe import SAMPLE_KEYS, SampleRecipe, check_data_config, host_share
from configs.default import get_data_config


def _config(**overrides):
    """The default data block as a plain namespace, so that a value of the wrong type can be set too."""
    return SimpleNamespace(**{**get_data_config().to_dict(), **overrides})


def test_reads_the_default_config():
    r = SampleRecipe.from_config(get_data_config())
    assert r == SampleRecipe(
        crop_size=320,
        crop_choices=(320, 480, 640),
        scale_range=(0.75, 1.5),
        trimap_kernel_range=(1, 30),
        flip=True,
        own_bg_prob=0.0,
        color_jitter=(0.0, 0.0, 0.0),
    )
    assert r.max_window == round(640 / 0.75) and not r.jitters
    assert not r.replays_own_bg(5) and SampleRecipe.from_config(_config(own_bg_prob=0.5)).replays_own_bg(5)
    assert not SampleRecipe.from_config(_config(own_bg_prob=0.5)).replays_own_bg(0)


@pytest.mark.parametrize(
    "key, value",
    [
        ("crop_size", 0),
        ("crop_size", 64.5),
        ("crop_size", "big"),
        ("crop_choices", ()),
        ("crop_choices", (64, -1)),
        ("crop_choices", 64),
        ("scale_range", (1.5, 0.75)),
        ("scale_range", (1.0,)),
        ("trimap_kernel_range", (0, 3)),
        ("trimap_kernel_range", (5, 3)),
        ("flip", "yes"),
        ("own_bg_prob", 1.5),
        ("color_jitter", (0.6, 0.0, 0.0)),
        ("color_jitter", (0.1, 0.1)),
    ],
)
def test_a_bad_value_names_its_key(key, value):
    with pytest.raises(ValueError, match=f"data.{key}="):
        SampleRecipe.from_config(_config(**{key: value}))


@pytest.mark.parametrize("key, value", [("crop_size", 48), ("pipeline", "torch"), ("decoded_cache_mb", -1)])
def test_the_data_checks_name_the_key(key, value):
    check_data_config(_config())
    with pytest.raises(ValueError, match=f"data.{key}="):
        check_data_config(_config(**{key: value}))


def test_host_share():
    assert host_share(8, 0, 2) == (0, 4) and host_share(8, 1, 2) == (1, 4)
    with pytest.raises(ValueError, match="not divisible by 4"):
        host_share(6, 0, 4)


def test_sample_keys_keep_their_streams():
    """A key's position is its random stream: reordering them would change every run's samples."""
    assert SAMPLE_KEYS[:12] == (
        "fg_window",
        "fg_centre",
        "fg_flip",
        "bg_window",
        "bg_y",
        "bg_x",
        "bg_flip",
        "k_fg",
        "k_unk",
        "own_bg",
        "jitter_fg",
        "jitter_bg",
    )


def test_imports_neither_tensorflow_nor_jax():
    code = "import sys, alphagan_jax.data.recipe; print(sorted({'jax', 'tensorflow'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
