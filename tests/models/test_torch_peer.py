"""The PyTorch peer model (bench/peer_torch.py times it) has exactly the Flax models' parameters and shapes.

Flax parameters are counted from `jax.eval_shape` (tracing only, nothing is computed), so the full
ResNet-50 configuration stays cheap.
"""

import jax
import jax.numpy as jnp
import pytest
from helpers import param_count, require_module

torch = require_module("torch", "the peer model needs the torch extra (pip install torch==2.13.0)")

from alphagan_jax.models import build_discriminator, build_generator  # noqa: E402
from bench.torch_reference import alphagan as peer  # noqa: E402
from configs import default, test  # noqa: E402

SIZE = 64


def _flax_shapes(model_config):
    g, d = build_generator(model_config), build_discriminator(model_config)
    rng = jax.random.PRNGKey(0)
    image = jax.ShapeDtypeStruct((2, SIZE, SIZE, 3), jnp.float32)
    trimap = jax.ShapeDtypeStruct((2, SIZE, SIZE, 1), jnp.float32)
    d_in = jax.ShapeDtypeStruct((2, SIZE, SIZE, 4), jnp.float32)
    g_vars = jax.eval_shape(g.init, rng, image, trimap)
    d_vars = jax.eval_shape(d.init, rng, d_in)
    g_out = jax.eval_shape(g.apply, g_vars, image, trimap)
    d_out = jax.eval_shape(d.apply, d_vars, d_in)
    return param_count(g_vars["params"]), param_count(d_vars["params"]), g_out.shape, d_out.shape


def _model_config(name: str, output_stride: int):
    config = (default if name == "default" else test).get_config().model
    config.output_stride = output_stride
    return config


@pytest.mark.parametrize(("name", "output_stride"), [("test", 16), ("test", 8), ("default", 8), ("default", 16)])
def test_parameter_counts_and_shapes_match_flax(name, output_stride):
    config = _model_config(name, output_stride)
    g_params, d_params, g_shape, d_shape = _flax_shapes(config)
    torch.manual_seed(0)
    g, d = peer.build_generator(config), peer.build_discriminator(config)
    assert peer.count_parameters(g) == g_params
    assert peer.count_parameters(d) == d_params
    if name == "default":
        # A guard against both sides drifting together: ResNet-50 alone has 23.5M parameters (no fc).
        assert 25e6 < peer.count_parameters(g) < 60e6

    image, trimap = torch.rand(2, 3, SIZE, SIZE), torch.full((2, 1, SIZE, SIZE), 0.5)
    with torch.no_grad():
        alpha = g.eval()(image, trimap)
        logits = d.eval()(torch.cat([image, trimap], dim=1))
    assert tuple(alpha.permute(0, 2, 3, 1).shape) == g_shape
    assert tuple(logits.permute(0, 2, 3, 1).shape) == d_shape
    assert float(alpha.min()) >= 0.0 and float(alpha.max()) <= 1.0


def test_pooled_branch_trains_at_batch_one():
    # nn.BatchNorm2d refuses one value per channel in training; the ASPP's pooled branch must not.
    g = peer.build_generator(test.get_config().model).train()
    alpha = g(torch.rand(1, 3, SIZE, SIZE), torch.full((1, 1, SIZE, SIZE), 0.5))
    alpha.mean().backward()
    assert tuple(alpha.shape) == (1, 1, SIZE, SIZE)
