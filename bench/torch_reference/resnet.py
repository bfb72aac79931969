"""torchvision's ResNet-50 trunk in plain PyTorch: same module names, same semantics (v1.5 bottlenecks,
symmetric padding, `replace_stride_with_dilation`).

It stands in for torchvision (whose PyPI wheels do not import beside the CPU torch used here) in the
weight-parity tests, and is the encoder of the PyTorch peer model in `bench/`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

EXPANSION = 4


class Bottleneck(nn.Module):
    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * EXPANSION, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * EXPANSION)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + identity)


class ResNet(nn.Module):
    """Returns the same feature dict as `alphagan_jax.models.ResNetEncoder` (NCHW tensors)."""

    def __init__(
        self,
        stage_sizes: Sequence[int] = (3, 4, 6, 3),
        in_channels: int = 3,
        width: int = 64,
        replace_stride_with_dilation: Sequence[bool] = (False, False, False),
    ) -> None:
        super().__init__()
        self.inplanes, self.dilation = width, 1
        self.conv1 = nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        dilate = (False, *replace_stride_with_dilation)
        for i, blocks in enumerate(stage_sizes):
            layer = self._make_layer(width * 2**i, blocks, 1 if i == 0 else 2, dilate[i])
            setattr(self, f"layer{i + 1}", layer)
        self.num_stages = len(stage_sizes)

    def _make_layer(self, planes: int, blocks: int, stride: int, dilate: bool) -> nn.Sequential:
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != planes * EXPANSION:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * EXPANSION, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * EXPANSION),
            )
        layers = [Bottleneck(self.inplanes, planes, stride, previous_dilation, downsample)]
        self.inplanes = planes * EXPANSION
        layers += [Bottleneck(self.inplanes, planes, dilation=self.dilation) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(
        self, x: torch.Tensor, return_pool_indices: bool = False
    ) -> dict[str, torch.Tensor] | tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The feature dict; with `return_pool_indices`, also the stem max-pool's argmax indices (what
        `nn.MaxUnpool2d` takes), as `(features, indices)`."""
        x = self.relu(self.bn1(self.conv1(x)))
        features = {"stem": x}
        if return_pool_indices:
            p = self.maxpool
            x, indices = F.max_pool2d(
                x, p.kernel_size, p.stride, p.padding, p.dilation, ceil_mode=p.ceil_mode, return_indices=True
            )
        else:
            x = self.maxpool(x)
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
            features[f"layer{i + 1}"] = x
        return (features, indices) if return_pool_indices else features


def dilation_flags(output_stride: int) -> tuple[bool, bool, bool]:
    """torchvision's `replace_stride_with_dilation` for an output stride of 8, 16 or 32."""
    return {32: (False, False, False), 16: (False, False, True), 8: (False, True, True)}[output_stride]
