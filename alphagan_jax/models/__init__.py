"""Flax Linen modules: the AlphaGAN generator, its ResNet encoder, and the PatchGAN discriminator."""

from __future__ import annotations

import ml_collections

from alphagan_jax.models.aspp import ASPP
from alphagan_jax.models.decoder import Decoder, max_unpool, window_argmax
from alphagan_jax.models.discriminator import Discriminator
from alphagan_jax.models.generator import Generator, clamp_known, normalize_image
from alphagan_jax.models.layers import dtype_from_name
from alphagan_jax.models.resnet import ResNetEncoder

__all__ = [
    "ASPP",
    "Decoder",
    "Discriminator",
    "Generator",
    "ResNetEncoder",
    "build_discriminator",
    "build_generator",
    "clamp_known",
    "max_unpool",
    "normalize_image",
    "window_argmax",
]


def build_generator(model: ml_collections.ConfigDict, dtype: str | None = None) -> Generator:
    """The generator that `config.model` describes (`dtype` overrides `model.dtype`)."""
    return Generator(
        stage_sizes=tuple(model.stage_sizes),
        width=model.width,
        output_stride=model.output_stride,
        aspp_channels=model.aspp_channels,
        aspp_rates=tuple(model.aspp_rates),
        decoder_base=model.decoder_base,
        dtype=dtype_from_name(dtype or model.dtype),
    )


def build_discriminator(model: ml_collections.ConfigDict, dtype: str | None = None) -> Discriminator:
    """The PatchGAN that `config.model` describes."""
    return Discriminator(
        width=model.disc_width, n_layers=model.disc_layers, dtype=dtype_from_name(dtype or model.dtype)
    )
