"""DiffAugment for the discriminator (Zhao et al., NeurIPS 2020): colour, translation and cutout,
differentiable, applied to every pair the discriminator judges, real and made alike.

A discriminator that sees ten thousand faces for many epochs learns them by heart and then gives
the generator no useful signal; judging randomly shifted, cut and recoloured pairs it cannot, and
because the same augmentation goes through the generator's gradient, the generator is not taught
to paint the augmentation. The pairs of one call get the same random choices per example, so that
the made and the real pair of one sketch stay comparable for feature matching. The colour changes
touch the photo channels only: the sketch and the hints are what the visitor drew.
"""

from __future__ import annotations

import torch

PHOTO_CHANNELS = 3  # the last channels of a (sketch, photo) pair


def diff_augment(*pairs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The pairs (N, C, H, W) in [-1, 1], each example moved, cut and recoloured the same way in
    every pair given."""
    first = pairs[0]
    n, _, h, w = first.shape
    device = first.device
    brightness = torch.rand(n, 1, 1, 1, device=device) - 0.5
    saturation = torch.rand(n, 1, 1, 1, device=device) * 2
    contrast = torch.rand(n, 1, 1, 1, device=device) + 0.5
    shift = [torch.randint(-s // 8, s // 8 + 1, (n,), device=device) for s in (h, w)]
    cut = [s // 2 for s in (h, w)]
    corner = [torch.randint(0, s + (1 - s % 2), (n,), device=device) for s in (h, w)]
    return tuple(
        _cutout(_translate(_colour(p, brightness, saturation, contrast), *shift), *corner, *cut)
        for p in pairs
    )


def _colour(pair, brightness, saturation, contrast):
    drawn, photo = pair[:, :-PHOTO_CHANNELS], pair[:, -PHOTO_CHANNELS:]
    photo = photo + brightness
    mean = photo.mean(dim=1, keepdim=True)
    photo = (photo - mean) * saturation + mean
    mean = photo.mean(dim=(1, 2, 3), keepdim=True)
    photo = (photo - mean) * contrast + mean
    return torch.cat([drawn, photo], 1)


def _translate(pair, dy, dx):
    """Shift each example by (dy, dx) pixels, the uncovered border zero (mid grey)."""
    n, _, h, w = pair.shape
    ys = torch.arange(h, device=pair.device)[None, :] - dy[:, None]  # (n, h)
    xs = torch.arange(w, device=pair.device)[None, :] - dx[:, None]
    inside = ((ys >= 0) & (ys < h))[:, None, :, None] & ((xs >= 0) & (xs < w))[:, None, None, :]
    ys, xs = ys.clamp(0, h - 1), xs.clamp(0, w - 1)
    rows = torch.gather(pair, 2, ys[:, None, :, None].expand(n, pair.shape[1], h, w))
    moved = torch.gather(rows, 3, xs[:, None, None, :].expand(n, pair.shape[1], h, w))
    return moved * inside


def _cutout(pair, y, x, cut_h, cut_w):
    """Zero a cut_h x cut_w square centred at (y, x) in each example."""
    h, w = pair.shape[2:]
    rows = torch.arange(h, device=pair.device)[None, :]
    cols = torch.arange(w, device=pair.device)[None, :]
    keep_rows = (rows - y[:, None]).abs() >= cut_h // 2
    keep_cols = (cols - x[:, None]).abs() >= cut_w // 2
    keep = keep_rows[:, None, :, None] | keep_cols[:, None, None, :]
    return pair * keep
