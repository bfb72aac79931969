"""The Laplacian-pyramid alpha loss (losses.laplacian_loss, train.w_lap), checked against OpenCV's pyramid."""

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import leaves, random_batch

from alphagan_jax.train import losses
from alphagan_jax.train.state import create_state
from alphagan_jax.train.step import train_step
from configs import test as test_config


def _opencv_bands(image: np.ndarray, levels: int) -> list[np.ndarray]:
    """Band-pass images from cv2.pyrDown/pyrUp: G_l - pyrUp(pyrDown(G_l))."""
    bands = []
    for _ in range(levels):
        down = cv2.pyrDown(image)
        bands.append(image - cv2.pyrUp(down, dstsize=(image.shape[1], image.shape[0])))
        image = down
    return bands


# 32 px with 5 levels: the smallest crop the trainer allows, down to a 2 x 2 level; (3, 5): 1-px levels.
@pytest.mark.parametrize("shape, levels", [((64, 64), 3), ((40, 56), 3), ((37, 50), 3), ((32, 32), 5), ((3, 5), 3)])
def test_pyramid_matches_opencv(shape, levels):
    image = np.random.default_rng(0).uniform(size=shape).astype(np.float32)
    ours = losses.laplacian_pyramid(jnp.asarray(image)[None, ..., None], levels)
    for level, (a, b) in enumerate(zip(ours, _opencv_bands(image, levels), strict=True)):
        np.testing.assert_allclose(np.asarray(a)[0, ..., 0], b, atol=1e-5, err_msg=f"level {level}")


def _trimap_and_alphas(seed: int):
    rng = np.random.default_rng(seed)
    n, h, w = 2, 64, 64
    trimap = np.zeros((n, h, w, 1), np.float32)
    trimap[:, :, 32:] = 1.0
    trimap[:, :, 24:40] = 0.5
    trimap[1, 10:20, 5:12] = 0.5  # a second unknown patch in one sample
    gt = np.clip(rng.uniform(-0.2, 1.2, trimap.shape), 0, 1).astype(np.float32)
    gt = np.where(trimap == 0.5, gt, trimap)  # known regions are exactly 0 or 1
    pred = rng.uniform(size=trimap.shape).astype(np.float32)
    return trimap, gt, pred


def test_loss_against_opencv_reference():
    """sum_l 2^l * mean|band_l(clamped pred - gt)| / unknown fraction, every band from OpenCV."""
    trimap, gt, pred = _trimap_and_alphas(1)
    clamped = np.where(trimap == 0.5, pred, trimap)
    fraction = np.mean(trimap == 0.5)
    expected = 0.0
    for level in range(5):
        per_sample = [_opencv_bands((clamped - gt)[i, ..., 0], 5)[level] for i in range(len(gt))]
        expected += 2.0**level * np.mean(np.abs(np.stack(per_sample))) / fraction
    got = float(losses.laplacian_loss(jnp.asarray(pred), jnp.asarray(gt), jnp.asarray(trimap)))
    assert got == pytest.approx(expected, rel=1e-5)


def test_only_unknown_pixels_count():
    trimap, gt, pred = _trimap_and_alphas(2)
    unknown = trimap == 0.5
    exact = np.where(unknown, gt, pred)  # right in the unknown region, anything in the known ones
    assert float(losses.laplacian_loss(jnp.asarray(exact), jnp.asarray(gt), jnp.asarray(trimap))) == 0.0
    grad = jax.grad(lambda p: losses.laplacian_loss(p, jnp.asarray(gt), jnp.asarray(trimap)))(jnp.asarray(pred))
    assert np.all(np.asarray(grad)[~unknown] == 0) and np.any(np.asarray(grad)[unknown] != 0)
    # No unknown pixel at all (and a ground truth that agrees with the trimap): zero, like the other losses.
    known = jnp.asarray(np.where(unknown, 1.0, trimap))
    assert float(losses.laplacian_loss(jnp.asarray(pred), known, known)) == 0.0
    grad = jax.grad(lambda p: losses.laplacian_loss(p, known, known))(jnp.asarray(pred))
    assert np.all(np.asarray(grad) == 0)


def test_train_step_adds_the_weighted_term():
    """w_lap = 0 leaves the step as it was (no lap_loss metric); w_lap > 0 reports the loss of G's alpha on the
    batch and changes G's update."""
    config = test_config.get_config()
    batch = random_batch(0)
    state = create_state(config, jax.random.PRNGKey(0))

    def run(w_lap: float):
        config.train.w_lap = w_lap
        return jax.jit(lambda s, b: train_step(s, b, config.train))(state, batch)

    off_state, off_metrics = run(0.0)
    on_state, on_metrics = run(0.5)
    assert "lap_loss" not in off_metrics
    alpha, _ = state.g.apply_fn(
        state.g.variables(), batch["image"], batch["trimap"], train=True, mutable=["batch_stats"]
    )
    expected = losses.laplacian_loss(alpha, batch["alpha"], batch["trimap"])
    assert float(on_metrics["lap_loss"]) == pytest.approx(float(expected), rel=1e-4)
    assert float(on_metrics["g_loss"]) == pytest.approx(float(off_metrics["g_loss"]) + 0.5 * float(expected), rel=1e-4)
    pairs = zip(leaves(on_state.g.params), leaves(off_state.g.params), strict=True)
    changed = [not np.allclose(a, b) for a, b in pairs]
    assert any(changed)


@pytest.mark.parametrize("key", ["w_lap", "w_gan"])
def test_negative_loss_weight_names_the_key(tmp_path, key):
    from alphagan_jax.train.trainer import train_and_evaluate

    config = test_config.get_config()
    config.train[key] = -0.5
    with pytest.raises(ValueError, match=f"train.{key}"):
        train_and_evaluate(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()
