"""Colour hints: a few coloured strokes that tell the generator the colour of hair, skin or clothes.

A model with hints takes 1 + 4 input channels: the grey sketch, then the hint colours (RGB in
[-1, 1], zero where there is no hint) and the hint mask (1 on a hint, 0 elsewhere). A model
trained with hints also learns to work without any (all-zero hint channels), so a black-only
drawing gives the photo the sketch alone gives.
"""

from __future__ import annotations

import torch

HINT_CHANNELS = 4  # RGB colour + mask


def stack_input(sketch: torch.Tensor, colours: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(..., 1, H, W) sketch, (..., 3, H, W) colours in [-1, 1], (..., 1, H, W) mask in {0, 1}
    -> the generator's (..., 5, H, W) input. Colours count only where the mask is set."""
    return torch.cat([sketch, colours * mask, mask], dim=-3)


def no_hints(sketch: torch.Tensor) -> torch.Tensor:
    """The input of a hint model for a sketch alone."""
    shape = (*sketch.shape[:-3], HINT_CHANNELS, *sketch.shape[-2:])
    return torch.cat([sketch, sketch.new_zeros(shape)], dim=-3)
