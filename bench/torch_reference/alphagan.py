"""The AlphaGAN generator and PatchGAN discriminator in plain PyTorch (NCHW), layer for layer the Flax models.

Same layer sizes and parameter counts as `alphagan_jax.models` (tests/models/test_torch_peer.py checks both), so
`bench/peer_torch.py` times the same network. Values are not expected to match the Flax models: the
initialisers differ, and a transposed conv's output grid is only the same up to a shift.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from bench.torch_reference.resnet import EXPANSION, ResNet, dilation_flags

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalize_image(image: torch.Tensor) -> torch.Tensor:
    """[0, 1] RGB (N, 3, H, W) to ImageNet mean/std units."""
    mean = torch.tensor(IMAGENET_MEAN, device=image.device, dtype=image.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=image.device, dtype=image.dtype).view(1, 3, 1, 1)
    return (image - mean) / std


class ConvBNReLU(nn.Sequential):
    """conv (torchvision's symmetric padding) -> BatchNorm -> ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, dilation: int = 1) -> None:
        pad = dilation * (kernel - 1) // 2
        super().__init__(
            nn.Conv2d(cin, cout, kernel, padding=pad, dilation=dilation, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


class _PooledBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm for the 1x1 image-pooling branch.

    At batch 1 it sees one value per channel; `nn.BatchNorm2d` refuses that in training, Flax normalises it to
    the bias. The raw op gives Flax's behaviour (the running variance of such a batch is meaningless, as in Flax).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.batch_norm(
            x,
            self.weight,
            self.bias,
            self.running_mean,
            self.running_var,
            self.training,
            self.momentum,  # type: ignore[arg-type]  # set in __init__ (never None here); typed Optional by torch
            self.eps,
            torch.backends.cudnn.enabled,
        )


class ASPP(nn.Module):
    def __init__(self, cin: int, channels: int = 256, rates: Sequence[int] = (6, 12, 18)) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            [ConvBNReLU(cin, channels, 1)] + [ConvBNReLU(cin, channels, 3, dilation=r) for r in rates]
        )
        self.pool = nn.Sequential(
            nn.Conv2d(cin, channels, 1, bias=False), _PooledBatchNorm2d(channels), nn.ReLU(inplace=True)
        )
        self.project = ConvBNReLU(channels * (len(rates) + 2), channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [b(x) for b in self.branches]
        pooled = self.pool(x.mean(dim=(2, 3), keepdim=True))
        outs.append(pooled.expand(-1, -1, x.shape[2], x.shape[3]))
        return self.project(torch.cat(outs, dim=1))


class Decoder(nn.Module):
    """ASPP features -> one-channel logits; channel counts as `alphagan_jax.models.Decoder` (base 32)."""

    def __init__(self, aspp_channels: int, layer1_channels: int, stem_channels: int, base: int = 32) -> None:
        super().__init__()
        b = base
        self.skip_layer1 = ConvBNReLU(layer1_channels, b * 3 // 2, 1)
        self.deconv1 = nn.Sequential(
            ConvBNReLU(aspp_channels + b * 3 // 2, b * 8),
            ConvBNReLU(b * 8, b * 4),
            ConvBNReLU(b * 4, stem_channels),
        )
        self.unpool = nn.MaxUnpool2d(3, stride=2, padding=1)
        self.skip_stem = ConvBNReLU(stem_channels, b, 1)
        self.deconv2_1 = ConvBNReLU(stem_channels + b, b * 2)
        # padding 1 + output_padding 1 doubles the size, as Flax's 'SAME' ConvTranspose with stride 2 does.
        self.deconv2_up = nn.ConvTranspose2d(b * 2, b * 2, 3, stride=2, padding=1, output_padding=1, bias=False)
        self.deconv2_up_bn = nn.BatchNorm2d(b * 2)
        self.deconv2_3 = ConvBNReLU(b * 2, b)
        self.deconv3 = nn.Sequential(ConvBNReLU(b + 3, b), ConvBNReLU(b, b))
        self.deconv4 = nn.Conv2d(b, 1, 3, padding=1, bias=True)

    def forward(
        self, x: torch.Tensor, features: dict[str, torch.Tensor], pool_indices: torch.Tensor, rgb: torch.Tensor
    ) -> torch.Tensor:
        layer1, stem = features["layer1"], features["stem"]
        x = F.interpolate(x, size=layer1.shape[2:], mode="bilinear", align_corners=False)
        x = self.deconv1(torch.cat([x, self.skip_layer1(layer1)], dim=1))
        x = self.unpool(x, pool_indices, output_size=stem.shape[2:])
        x = self.deconv2_1(torch.cat([x, self.skip_stem(stem)], dim=1))
        x = F.relu(self.deconv2_up_bn(self.deconv2_up(x)))
        x = self.deconv2_3(x)
        x = self.deconv3(torch.cat([x, rgb.to(x.dtype)], dim=1))
        return self.deconv4(x)


class Generator(nn.Module):
    """`G(image N x 3 x H x W in [0, 1], trimap N x 1 x H x W in {0, .5, 1}) -> alpha N x 1 x H x W`."""

    def __init__(
        self,
        stage_sizes: Sequence[int] = (3, 4, 6, 3),
        width: int = 64,
        output_stride: int = 8,
        aspp_channels: int = 256,
        aspp_rates: Sequence[int] = (6, 12, 18),
        decoder_base: int = 32,
    ) -> None:
        super().__init__()
        self.encoder = ResNet(
            stage_sizes, in_channels=4, width=width, replace_stride_with_dilation=dilation_flags(output_stride)
        )
        last = width * 2 ** (len(stage_sizes) - 1) * EXPANSION
        self.aspp = ASPP(last, aspp_channels, aspp_rates)
        self.decoder = Decoder(aspp_channels, width * EXPANSION, width, decoder_base)

    def forward(self, image: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
        rgb = normalize_image(image)
        features, indices = self.encoder(torch.cat([rgb, trimap], dim=1), return_pool_indices=True)
        y = self.aspp(features[f"layer{self.encoder.num_stages}"])
        return torch.sigmoid(self.decoder(y, features, indices, rgb).float())


class Discriminator(nn.Module):
    """PatchGAN (pix2pix n_layers = 3): C64/2 (no norm), C128/2, C256/2, C512/1, 1-channel conv; kernel 4,
    padding 1, LeakyReLU 0.2; returns logits."""

    def __init__(self, in_channels: int = 4, width: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        prev = width
        for i in range(1, n_layers + 1):
            out = width * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [
                nn.Conv2d(prev, out, 4, stride, 1, bias=False),
                nn.BatchNorm2d(out),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            prev = out
        layers.append(nn.Conv2d(prev, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).float()


def build_generator(model: Any) -> Generator:
    """The generator `config.model` describes (the same ConfigDict the Flax builder reads)."""
    return Generator(
        tuple(model.stage_sizes),
        model.width,
        model.output_stride,
        model.aspp_channels,
        tuple(model.aspp_rates),
        model.decoder_base,
    )


def build_discriminator(model: Any) -> Discriminator:
    return Discriminator(4, model.disc_width, model.disc_layers)


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters (BatchNorm running statistics are buffers, as Flax keeps them out of 'params')."""
    return sum(p.numel() for p in module.parameters())
