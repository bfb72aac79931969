"""ImageNet initialisation: torchvision ResNet-50 state dicts to the Flax encoder's variables.

`torchvision_resnet50_to_flax` converts, `save_encoder_variables` writes the `{'params', 'batch_stats'}`
tree with Orbax and `load_encoder_variables` reads it back (`config.model.pretrained` names the folder).
The command ``alphagan-weights --torchvision resnet50.pth --out DIR`` is
:mod:`alphagan_jax.cli.weights`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

STAGE_SIZES = (3, 4, 6, 3)
EXPANSION = 4


def _expected_shapes(stage_sizes: Sequence[int] = STAGE_SIZES, width: int = 64) -> dict[str, tuple]:
    """torchvision key -> tensor shape for a ResNet-50's convolutional trunk (no `fc`)."""
    shapes: dict[str, tuple] = {"conv1.weight": (width, 3, 7, 7)}

    def bn(prefix: str, c: int) -> None:
        for name in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.{name}"] = (c,)

    bn("bn1", width)
    in_c = width
    for i, blocks in enumerate(stage_sizes):
        planes = width * 2**i
        for j in range(blocks):
            p = f"layer{i + 1}.{j}"
            shapes[f"{p}.conv1.weight"] = (planes, in_c, 1, 1)
            bn(f"{p}.bn1", planes)
            shapes[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
            bn(f"{p}.bn2", planes)
            shapes[f"{p}.conv3.weight"] = (planes * EXPANSION, planes, 1, 1)
            bn(f"{p}.bn3", planes * EXPANSION)
            if j == 0:
                shapes[f"{p}.downsample.0.weight"] = (planes * EXPANSION, in_c, 1, 1)
                bn(f"{p}.downsample.1", planes * EXPANSION)
            in_c = planes * EXPANSION
    return shapes


# Keys a torchvision checkpoint carries that the encoder has no use for.
_IGNORED_SUFFIXES = (".num_batches_tracked",)
_IGNORED_PREFIXES = ("fc.",)


def _flax_path(key: str) -> tuple[str, ...]:
    """'layer2.0.downsample.1.weight' -> ('layer2_0', 'downsample_bn', 'weight')."""
    parts = key.split(".")
    if parts[0].startswith("layer"):
        module = f"{parts[0]}_{parts[1]}"
        rest = parts[2:]
        if rest[0] == "downsample":
            rest = ["downsample_conv" if rest[1] == "0" else "downsample_bn", rest[2]]
        return (module, *rest)
    return tuple(parts)


def torchvision_resnet50_to_flax(state_dict: Mapping[str, Any], in_channels: int = 4) -> dict[str, dict]:
    """Convert a torchvision ResNet-50 state dict (key -> array) to `{'params', 'batch_stats'}` for
    `ResNetEncoder`. Input channels beyond RGB (the trimap) get zero weights in the stem conv, so the
    network starts out computing exactly the ImageNet features.

    Raises ValueError listing every missing, unexpected and wrongly shaped key.
    """
    expected = _expected_shapes()
    given = {
        k: np.asarray(v)
        for k, v in state_dict.items()
        if not k.endswith(_IGNORED_SUFFIXES) and not k.startswith(_IGNORED_PREFIXES)
    }
    missing = sorted(set(expected) - set(given))
    extra = sorted(set(given) - set(expected))
    wrong = sorted(
        f"{k}: expected {expected[k]}, got {tuple(given[k].shape)}"
        for k in set(expected) & set(given)
        if tuple(given[k].shape) != expected[k]
    )
    if missing or extra or wrong:
        lines = ["state dict does not match torchvision's ResNet-50:"]
        for title, keys in (("missing keys", missing), ("unexpected keys", extra), ("wrong shapes", wrong)):
            if keys:
                lines.append(f"  {title} ({len(keys)}): " + ", ".join(keys))
        raise ValueError("\n".join(lines))

    params: dict[str, Any] = {}
    stats: dict[str, Any] = {}

    def put(tree: dict, path: tuple[str, ...], value: np.ndarray) -> None:
        for name in path[:-1]:
            tree = tree.setdefault(name, {})
        tree[path[-1]] = value.astype(np.float32)

    for key, value in given.items():
        *module_path, leaf = _flax_path(key)
        module = tuple(module_path)
        if leaf == "weight" and value.ndim == 4:
            kernel = np.transpose(value, (2, 3, 1, 0))  # OIHW -> HWIO
            if key == "conv1.weight" and in_channels > kernel.shape[2]:
                pad = np.zeros(kernel.shape[:2] + (in_channels - kernel.shape[2], kernel.shape[3]), kernel.dtype)
                kernel = np.concatenate([kernel, pad], axis=2)
            put(params, module + ("kernel",), kernel)
        elif leaf == "weight":
            put(params, module + ("scale",), value)
        elif leaf == "bias":
            put(params, module + ("bias",), value)
        elif leaf == "running_mean":
            put(stats, module + ("mean",), value)
        elif leaf == "running_var":
            put(stats, module + ("var",), value)
    return {"params": params, "batch_stats": stats}


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a torchvision checkpoint: `.pth`/`.pt` through torch (weights only), or `.npz`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    if path.suffix == ".npz":
        with np.load(path) as f:
            return {k: f[k] for k in f.files}
    try:
        import torch
    except ImportError as e:
        raise ImportError(
            f"reading {path} needs PyTorch: pip install 'alphagan-jax[torch]', or save the state dict as .npz"
        ) from e
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    return {k: v.detach().cpu().numpy() for k, v in state.items()}


def save_encoder_variables(variables: dict, out_dir: str | Path) -> Path:
    """Write converted encoder variables where `config.model.pretrained` can find them."""
    import orbax.checkpoint as ocp

    out = Path(out_dir).absolute() / "encoder"
    if out.exists():
        raise FileExistsError(f"{out} already exists; choose another --out or remove it")
    with ocp.StandardCheckpointer() as ckptr:
        ckptr.save(out, variables)
    return out


def load_encoder_variables(pretrained_dir: str | Path) -> dict:
    """Read the tree written by `save_encoder_variables` (the `model.pretrained` folder)."""
    import orbax.checkpoint as ocp

    path = Path(pretrained_dir).absolute() / "encoder"
    if not path.is_dir():
        raise FileNotFoundError(
            f"model.pretrained={str(pretrained_dir)!r}: no converted weights at {path}; "
            "make them with `alphagan-weights --torchvision resnet50.pth --out DIR`"
        )
    with ocp.StandardCheckpointer() as ckptr:
        return ckptr.restore(path)
