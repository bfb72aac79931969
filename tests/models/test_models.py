"""Generator, encoder and discriminator: shapes, receptive fields, parameter counts, dtypes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import param_count, require_module

from alphagan_jax.models import (
    Discriminator,
    ResNetEncoder,
    build_discriminator,
    build_generator,
    max_unpool,
    window_argmax,
)
from configs import default as default_config
from configs import test as test_config

# torchvision's resnet50 has 25,557,032 parameters, of which the fc layer is 2048*1000 + 1000.
TORCHVISION_RESNET50_TRUNK = 25_557_032 - 2_049_000
assert TORCHVISION_RESNET50_TRUNK == 23_508_032


def analytic_receptive_field(output_stride: int) -> int:
    """Receptive field of ResNet-50's layer4, walked layer by layer from torchvision's definition
    (stem conv7/2, max-pool 3/2, then per bottleneck 1x1 -> 3x3 (stride, dilation) -> 1x1)."""
    # (stride, first-block dilation, other-blocks dilation) of layer1..layer4, transcribed by hand
    # from torchvision's `_make_layer` for each `replace_stride_with_dilation`.
    plans = {
        32: [(1, 1, 1), (2, 1, 1), (2, 1, 1), (2, 1, 1)],
        16: [(1, 1, 1), (2, 1, 1), (2, 1, 1), (1, 1, 2)],
        8: [(1, 1, 1), (2, 1, 1), (1, 1, 2), (1, 2, 4)],
    }
    r, j = 1, 1
    for k, s, d in [(7, 2, 1), (3, 2, 1)]:
        r, j = r + (d * (k - 1)) * j, j * s
    for blocks, (stride, first, rest) in zip((3, 4, 6, 3), plans[output_stride], strict=True):
        for b in range(blocks):
            d = first if b == 0 else rest
            r, j = r + 2 * d * j, j * (stride if b == 0 else 1)
    assert j == output_stride
    return r


@pytest.mark.parametrize("output_stride", [8, 16, 32])
def test_encoder_shapes_and_receptive_field(output_stride):
    """A NaN placed at one input column poisons exactly the outputs whose receptive field covers it.

    With symmetric padding, output column i is centred on input column i * stride, so for the analytic
    field R the NaN at i*stride + (R-1)/2 reaches output i and the one at i*stride + (R+1)/2 does not.
    """
    enc = ResNetEncoder(width=4, output_stride=output_stride)  # the field does not depend on width
    r = analytic_receptive_field(output_stride)
    width = 2 * r + 64
    x = np.ones((1, 32, width, 4), np.float32)
    variables = enc.init(jax.random.PRNGKey(0), x[:, :, :64])
    apply = jax.jit(lambda x: enc.apply(variables, x))

    feats = apply(x)
    expected = {"stem": 2, "layer1": 4, "layer2": 8, "layer3": min(16, output_stride), "layer4": output_stride}
    channels = {"stem": 4, "layer1": 16, "layer2": 32, "layer3": 64, "layer4": 128}
    for name, stride in expected.items():
        assert feats[name].shape == (1, -(-32 // stride), -(-width // stride), channels[name]), name

    i = (width // 2) // output_stride
    half = (r - 1) // 2  # r is odd
    for offset, poisoned in ((half, True), (half + 1, False), (-half, True), (-half - 1, False)):
        xn = x.copy()
        xn[:, :, i * output_stride + offset, :] = np.nan
        out = np.asarray(apply(xn)["layer4"])
        assert bool(np.isnan(out[0, 0, i]).any()) == poisoned, (output_stride, offset, r)


def test_resnet50_parameter_count():
    enc = ResNetEncoder()
    shapes = jax.eval_shape(enc.init, jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 4)))
    # Plus the trimap channel of the stem: 64 filters of 7x7.
    assert param_count(shapes["params"]) == TORCHVISION_RESNET50_TRUNK + 64 * 7 * 7


@pytest.mark.slow
@pytest.mark.parametrize("hw", [(320, 320), (352, 480)])
def test_full_generator_forward(hw):
    g = build_generator(default_config.get_config().model)
    h, w = hw
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(1, h, w, 3)).astype(np.float32)
    trimap = rng.choice([0.0, 0.5, 1.0], size=(1, h, w, 1)).astype(np.float32)
    variables = jax.jit(g.init)(jax.random.PRNGKey(0), image[:, :64, :64], trimap[:, :64, :64])
    alpha = jax.jit(lambda v, i, t: g.apply(v, i, t, clamp=True))(variables, image, trimap)
    alpha = np.asarray(alpha)
    assert alpha.shape == (1, h, w, 1) and alpha.dtype == np.float32
    assert np.all((alpha >= 0) & (alpha <= 1)) and np.all(np.isfinite(alpha))
    assert np.all(alpha[trimap == 1.0] == 1.0) and np.all(alpha[trimap == 0.0] == 0.0)


def test_generator_rejects_sizes_not_multiple_of_32():
    g = build_generator(test_config.get_config().model)
    with pytest.raises(ValueError, match="multiples of 32"):
        g.init(jax.random.PRNGKey(0), jnp.zeros((1, 64, 80, 3)), jnp.zeros((1, 64, 80, 1)))


def test_discriminator_patch_is_70x70():
    d = Discriminator(width=8)
    x = jax.random.normal(jax.random.PRNGKey(1), (1, 160, 160, 4))
    variables = d.init(jax.random.PRNGKey(0), x)
    logits = d.apply(variables, x)
    assert logits.shape == (1, 18, 18, 1)
    i, j = 9, 9
    grad = jax.grad(lambda x: d.apply(variables, x)[0, i, j, 0])(x)
    rows, cols = np.nonzero(np.abs(np.asarray(grad)[0]).sum(-1))
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (70, 70)
    # Walking back through the paddings of 1 and strides 2, 2, 2, 1, 1 puts the patch's first row at 8i - 23.
    assert rows.min() == 8 * i - 23 and cols.min() == 8 * j - 23


def test_discriminator_parameter_count_matches_pix2pix():
    # Hand count of pix2pix n_layers=3 on 4 input channels (conv weights + biases + BN scale/bias).
    expected = (4 * 16 * 64 + 64) + (64 * 16 * 128 + 2 * 128) + (128 * 16 * 256 + 2 * 256)
    expected += (256 * 16 * 512 + 2 * 512) + (512 * 16 * 1 + 1)
    d = build_discriminator(default_config.get_config().model)
    shapes = jax.eval_shape(d.init, jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 4)))
    assert param_count(shapes["params"]) == expected


def test_max_unpool_matches_torch():
    torch = require_module("torch", "compares against torch.nn.MaxUnpool2d (pip install torch==2.13.0)")
    rng = np.random.default_rng(0)
    stem = rng.standard_normal((2, 16, 16, 3)).astype(np.float32)  # continuous values: no ties
    pooled = rng.standard_normal((2, 8, 8, 3)).astype(np.float32)
    got = np.asarray(max_unpool(jnp.asarray(pooled), window_argmax(jnp.asarray(stem)), 16, 16))

    t_stem = torch.from_numpy(stem).permute(0, 3, 1, 2)
    _, idx = torch.nn.MaxPool2d(3, 2, 1, return_indices=True)(t_stem)
    # torch keeps one value where two windows chose the same pixel; ours adds them. Compare where
    # each target pixel was chosen once.
    ref = torch.nn.MaxUnpool2d(3, 2, 1)(torch.from_numpy(pooled).permute(0, 3, 1, 2), idx, output_size=(16, 16))
    ref = ref.permute(0, 2, 3, 1).numpy()
    # torch's indices count within each (n, c) plane of 16x16; turn them into NHWC flat indices.
    plane = idx.permute(0, 2, 3, 1).numpy()
    n_ix, _, _, c_ix = np.indices(plane.shape)
    hits = np.zeros(2 * 16 * 16 * 3, int)
    np.add.at(hits, ((n_ix * 256 + plane) * 3 + c_ix).ravel(), 1)
    once = hits.reshape(2, 16, 16, 3) <= 1
    np.testing.assert_allclose(got[once], ref[once], rtol=0, atol=0)
    assert once.mean() > 0.8


def test_bfloat16_compute_keeps_float32_params_and_stats():
    cfg = test_config.get_config().model
    g16 = build_generator(cfg, "bfloat16")
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(2, 64, 64, 3)).astype(np.float32)
    trimap = rng.choice([0.0, 0.5, 1.0], size=(2, 64, 64, 1)).astype(np.float32)
    variables = g16.init(jax.random.PRNGKey(0), image, trimap)
    for leaf in jax.tree_util.tree_leaves(variables):
        assert leaf.dtype == jnp.float32
    alpha, updates = g16.apply(variables, image, trimap, train=True, mutable=["batch_stats"])
    assert alpha.dtype == jnp.float32 and np.all(np.isfinite(np.asarray(alpha)))
    for leaf in jax.tree_util.tree_leaves(updates):
        assert leaf.dtype == jnp.float32


def test_bfloat16_encoder_tracks_float32():
    """Same weights, bf16 compute: features within a few percent of float32 through all of ResNet-50.

    Eval mode: in train mode an untrained net's batch statistics divide out a mean that is far larger
    than the spread, which multiplies bf16's rounding and says nothing about trained networks.
    """
    x = np.random.default_rng(0).standard_normal((2, 64, 64, 4)).astype(np.float32)
    e32 = ResNetEncoder(width=16)
    e16 = ResNetEncoder(width=16, dtype=jnp.bfloat16)
    variables = e32.init(jax.random.PRNGKey(0), x)
    f32, f16 = e32.apply(variables, x), e16.apply(variables, x)
    for name in f32:
        assert f16[name].dtype == jnp.bfloat16
        err = float(jnp.max(jnp.abs(f32[name] - f16[name].astype(jnp.float32))) / jnp.max(jnp.abs(f32[name])))
        assert err < 0.05, (name, err)


@pytest.mark.parametrize("shape", [(2, 7, 9, 5), (1, 8, 8, 16)])
def test_upsample2x_equals_flax_conv_transpose(shape):
    """The pixel-shuffle form of the decoder's stride-2 transposed conv: same parameter, same output."""
    import flax.linen as nn

    from alphagan_jax.models.layers import Upsample2x

    x = jax.random.normal(jax.random.PRNGKey(0), shape)
    up = Upsample2x(6)
    variables = up.init(jax.random.PRNGKey(1), x)
    reference = nn.ConvTranspose(6, (3, 3), strides=(2, 2), padding="SAME", use_bias=False)
    expected = reference.apply(variables, x)  # same {'params': {'kernel'}} tree
    got = up.apply(variables, x)
    assert got.shape == (shape[0], 2 * shape[1], 2 * shape[2], 6)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), atol=1e-5, rtol=1e-5)


def test_export_friendly_forms_equal_the_originals():
    """The max-pool and max-unpooling were rewritten so jax2onnx converts them (alphagan_jax/inference/exports/
    onnx_export.py); the originals, kept here, must give the same values and, for the pool, gradients."""
    import flax.linen as nn

    from alphagan_jax.models.decoder import _OFFSETS
    from alphagan_jax.models.resnet import max_pool_3x3_s2

    def unpool_interior_pad(values, indices, height, width):
        zero, out = jnp.zeros((), values.dtype), 0
        for k, (dy, dx) in enumerate(_OFFSETS):
            picked = jnp.where(indices == k, values, zero)
            out = out + jax.lax.pad(picked, zero, ((0, 0, 0), (dy, 3 - dy, 1), (dx, 3 - dx, 1), (0, 0, 0)))
        return out[:, 1 : 1 + height, 1 : 1 + width, :]

    def pool_explicit(x):
        return nn.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))

    rng = np.random.default_rng(0)
    for h, w in [(16, 16), (15, 17)]:
        # After a ReLU, as in the stem: many ties, where the max-pool's gradient routing matters.
        x = jnp.maximum(jnp.asarray(rng.standard_normal((2, h, w, 4)), jnp.float32), 0)
        np.testing.assert_array_equal(max_pool_3x3_s2(x), pool_explicit(x))
        weights = jnp.asarray(rng.standard_normal(pool_explicit(x).shape), jnp.float32)
        grads = [jax.grad(lambda v, f=f, c=weights: (f(v) * c).sum())(x) for f in (max_pool_3x3_s2, pool_explicit)]
        np.testing.assert_array_equal(*grads)
        indices = window_argmax(x)
        values = jnp.asarray(rng.standard_normal(indices.shape), jnp.float32)
        np.testing.assert_array_equal(max_unpool(values, indices, h, w), unpool_interior_pad(values, indices, h, w))
