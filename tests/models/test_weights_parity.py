"""ImageNet weight import: a torchvision-layout ResNet-50 with random weights and non-trivial BN
statistics, converted, must give the same features as PyTorch (eval mode)."""

import numpy as np
import pytest
from helpers import require_module

torch = require_module("torch", "the parity test needs the torch extra (pip install torch==2.13.0)")

import jax  # noqa: E402

from alphagan_jax.models import ResNetEncoder  # noqa: E402
from alphagan_jax.train.pretrained import torchvision_resnet50_to_flax  # noqa: E402
from bench.torch_reference.resnet import ResNet  # noqa: E402


@pytest.fixture(scope="module")
def torch_resnet50() -> "torch.nn.Module":
    torch.manual_seed(0)
    model = ResNet()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                # Non-trivial statistics and affine terms, so a swapped mean/var or scale/bias shows.
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.fixture(scope="module")
def converted(torch_resnet50):
    state = {k: v.numpy() for k, v in torch_resnet50.state_dict().items()}
    return torchvision_resnet50_to_flax(state)


@pytest.mark.slow
@pytest.mark.parametrize("size", [224, 225])
def test_resnet50_features_match_torch(torch_resnet50, converted, size):
    rng = np.random.default_rng(size)
    rgb = rng.standard_normal((1, size, size, 3)).astype(np.float32)
    with torch.no_grad():
        ref = torch_resnet50(torch.from_numpy(rgb).permute(0, 3, 1, 2))
    # The trimap channel is random too: its zeroed stem weights must make it irrelevant.
    x = np.concatenate([rgb, rng.standard_normal((1, size, size, 1)).astype(np.float32)], axis=-1)
    enc = ResNetEncoder(output_stride=32)
    out = jax.jit(lambda v, x: enc.apply(v, x))(converted, x)
    for name in ("stem", "layer1", "layer2", "layer3", "layer4"):
        expected = ref[name].permute(0, 2, 3, 1).numpy()
        got = np.asarray(out[name])
        assert got.shape == expected.shape, name
        scale = np.abs(expected).max()
        err = np.abs(got - expected).max() / scale
        assert err < 1e-4, f"{name} at {size}px: max abs error {err:.2e} of the feature scale {scale:.3g}"


def test_stem_fourth_channel_is_zero(converted):
    kernel = converted["params"]["conv1"]["kernel"]
    assert kernel.shape == (7, 7, 4, 64)
    assert np.all(kernel[:, :, 3, :] == 0)
    assert np.any(kernel[:, :, :3, :] != 0)


def test_converted_tree_matches_the_encoder(converted):
    enc = ResNetEncoder()
    shapes = jax.eval_shape(enc.init, jax.random.PRNGKey(0), np.zeros((1, 64, 64, 4), np.float32))
    expected = jax.tree_util.tree_map(lambda s: s.shape, shapes)
    got = jax.tree_util.tree_map(lambda a: a.shape, converted)
    assert got == expected


def test_bad_state_dict_lists_every_problem(torch_resnet50):
    state = {k: v.numpy() for k, v in torch_resnet50.state_dict().items()}
    del state["layer2.1.bn2.running_var"]
    state["layer9.0.conv1.weight"] = np.zeros((1,))
    state["layer1.0.conv2.weight"] = np.zeros((64, 64, 1, 1), np.float32)
    with pytest.raises(ValueError) as info:
        torchvision_resnet50_to_flax(state)
    msg = str(info.value)
    assert "layer2.1.bn2.running_var" in msg and "missing" in msg
    assert "layer9.0.conv1.weight" in msg and "unexpected" in msg
    assert "layer1.0.conv2.weight" in msg and "(64, 64, 3, 3)" in msg
