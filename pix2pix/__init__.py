"""sketch2photo: pix2pix for drawing faces. `from pix2pix import UNetGenerator, PatchDiscriminator, Translator`."""

from pix2pix.networks import (
    MultiScaleDiscriminator,
    NLayerDiscriminator,
    PatchDiscriminator,
    PixelDiscriminator,
    UNetConfig,
    UNetGenerator,
    init_weights,
)
from pix2pix.translate import Translator

__all__ = [
    "MultiScaleDiscriminator",
    "NLayerDiscriminator",
    "PatchDiscriminator",
    "PixelDiscriminator",
    "Translator",
    "UNetConfig",
    "UNetGenerator",
    "init_weights",
]
