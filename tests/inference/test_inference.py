"""Padding, cropping, bucketing, clamping and TTA of `alphagan_jax.inference.predictor`, with stand-in models."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

from alphagan_jax.data.io import to_uint8
from alphagan_jax.inference import predictor as inference


def grey_fn(variables, image, trimap):
    """A pointwise stand-in 'model': alpha = mean RGB * scale. Padding cannot change its interior."""
    return image.mean(axis=-1, keepdims=True) * variables["scale"]


def ramp_fn(variables, image, trimap):
    """A stand-in that ignores its input: alpha rises from 0 to 1 across the padded width."""
    n, h, w, _ = image.shape
    r = jnp.linspace(0.0, 1.0, w)[None, None, :, None]
    return jnp.broadcast_to(r, (n, h, w, 1))


def random_pair(h, w, seed=0, all_unknown=True):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    trimap = np.full((h, w), 128, np.uint8)
    if not all_unknown:
        trimap[: h // 3] = 0
        trimap[-h // 3 :] = 255
    return image, trimap


def test_padded_size_and_bucket_validation():
    assert inference.padded_size(100, 32) == 128
    assert inference.padded_size(128, 64) == 128
    assert inference.padded_size(129, 64) == 192
    assert inference.padded_size(1, 128) == 128
    with pytest.raises(ValueError, match="multiple of 32"):
        inference.padded_size(100, 48)


def test_pad_to_reflects_at_bottom_right():
    x = np.arange(5 * 4).reshape(5, 4)
    p = inference.pad_to(x, 8, 6)
    assert p.shape == (8, 6)
    np.testing.assert_array_equal(p[:5, :4], x)
    # Reflection without repeating the edge: row 5 mirrors row 3, row 6 row 2; column 4 mirrors column 2.
    np.testing.assert_array_equal(p[5, :4], x[3])
    np.testing.assert_array_equal(p[6, :4], x[2])
    np.testing.assert_array_equal(p[:5, 4], x[:, 2])
    rgb = np.random.default_rng(0).random((3, 7, 3))
    assert inference.pad_to(rgb, 32, 32).shape == (32, 32, 3)  # pad larger than the side still works


def test_predictor_round_trip_matches_unpadded_computation():
    image, trimap = random_pair(70, 45)
    pred = inference.Predictor(grey_fn, {"scale": jnp.float32(0.9)}, bucket=64)
    alpha = pred(image, trimap)
    assert alpha.shape == (70, 45) and alpha.dtype == np.float32
    expected = image.astype(np.float32).mean(axis=-1) / 255.0 * 0.9
    np.testing.assert_allclose(alpha, expected, atol=1e-6)


def test_known_regions_are_clamped():
    image, trimap = random_pair(50, 40, all_unknown=False)
    alpha = inference.Predictor(grey_fn, {"scale": jnp.float32(1.0)}, bucket=32)(image, trimap)
    assert (alpha[trimap == 255] == 1).all()
    assert (alpha[trimap == 0] == 0).all()
    unknown = trimap == 128
    np.testing.assert_allclose(alpha[unknown], image.astype(np.float32).mean(-1)[unknown] / 255.0, atol=1e-6)


def test_tta_averages_the_flipped_prediction():
    image, trimap = random_pair(40, 50)
    plain = inference.Predictor(ramp_fn, {}, bucket=32)(image, trimap)
    tta = inference.Predictor(ramp_fn, {}, bucket=32, tta=True)(image, trimap)
    padded_w = 64
    np.testing.assert_allclose(plain[0], np.linspace(0, 1, padded_w)[:50], atol=1e-6)
    # ramp(x) and the flipped-back ramp of the flipped input, 1 - ramp(x), average to 0.5 everywhere.
    np.testing.assert_allclose(tta, 0.5, atol=1e-6)


def test_compiles_once_per_bucket_shape():
    sizes = [(100, 90), (120, 70), (64, 64), (65, 64), (128, 128)]
    pred = inference.Predictor(grey_fn, {"scale": jnp.float32(1.0)}, bucket=64)
    for i, (h, w) in enumerate(sizes):
        image, trimap = random_pair(h, w, seed=i)
        assert pred(image, trimap).shape == (h, w)
    buckets = {(math.ceil(h / 64) * 64, math.ceil(w / 64) * 64) for h, w in sizes}
    assert pred.num_compiles == len(buckets) == 3
    assert set(pred.shapes) == buckets


def test_trimap_to_model_maps_any_middle_value_to_half():
    t = np.array([[0, 128, 255, 127, 1]], np.uint8)
    np.testing.assert_array_equal(inference.trimap_to_model(t), [[0, 0.5, 1, 0.5, 0.5]])


def test_size_mismatch_is_rejected():
    image, _ = random_pair(40, 50)
    with pytest.raises(ValueError, match="same size"):
        inference.Predictor(grey_fn, {"scale": 1.0})(image, np.zeros((40, 51), np.uint8))


def test_to_uint8_rounds_and_clips():
    out = to_uint8(np.array([-0.1, 0.0, 0.5, 1.0, 1.2]))
    np.testing.assert_array_equal(out, [0, 0, 128, 255, 255])
