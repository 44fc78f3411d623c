"""Adversarial losses for the discriminator's patch scores (logits, not probabilities)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

GAN_MODES = ("vanilla", "lsgan", "hinge", "wgangp")


def gan_loss(
    scores: torch.Tensor | list[torch.Tensor],
    real: bool,
    mode: str = "vanilla",
    for_discriminator: bool = True,
) -> torch.Tensor:
    """How far the patch scores are from saying `real`.

    vanilla is the paper's cross-entropy; lsgan least squares; hinge and wgangp critics, for which the
    generator's loss is just the negated score (`for_discriminator=False`). A list of score maps
    (a multi-scale discriminator's) gives the mean of their losses.
    """
    if isinstance(scores, list):
        losses = [gan_loss(s, real, mode, for_discriminator) for s in scores]
        return torch.stack(losses).mean()
    scores = scores.float()  # losses in fp32 also under autocast
    if mode == "vanilla":
        target = torch.ones_like(scores) if real else torch.zeros_like(scores)
        return F.binary_cross_entropy_with_logits(scores, target)
    if mode == "lsgan":
        return F.mse_loss(scores, torch.full_like(scores, float(real)))
    if mode == "hinge" and for_discriminator:
        return F.relu(1 - scores).mean() if real else F.relu(1 + scores).mean()
    if mode in ("hinge", "wgangp"):
        return -scores.mean() if real else scores.mean()
    raise ValueError(f"Unknown GAN mode {mode!r}: choose one of {', '.join(GAN_MODES)}.")


def gradient_penalty(
    discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, weight: float = 10.0
) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): the critic's gradient norm at random interpolates pushed to 1."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = discriminator(mixed)
    scores = scores if isinstance(scores, list) else [scores]
    total = sum(s.float().sum() for s in scores)
    (grad,) = torch.autograd.grad(total, mixed, create_graph=True)
    norm = grad.flatten(1).float().norm(2, dim=1)
    return weight * ((norm - 1) ** 2).mean()


def r1_penalty(
    discriminator: nn.Module, sketch: torch.Tensor, photo: torch.Tensor, gamma: float
) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): gamma/2 x the squared gradient of D's scores on real pairs with
    respect to the photo (the sketch is the condition, not judged). It keeps D from growing steep
    around the real photos, the steadier alternative to WGAN-GP that StyleGAN2 uses."""
    photo = photo.detach().requires_grad_(True)
    scores = discriminator(torch.cat([sketch, photo], 1))
    scores = scores if isinstance(scores, list) else [scores]
    total = sum(s.float().sum() for s in scores)
    (grad,) = torch.autograd.grad(total, photo, create_graph=True)
    return gamma / 2 * grad.float().pow(2).flatten(1).sum(1).mean()


def feature_matching(fake: list[torch.Tensor], real: list[torch.Tensor]) -> torch.Tensor:
    """pix2pixHD's feature matching: the mean over the discriminator's hidden layers of the L1
    distance between the generated and the real photo's activations (the real ones are targets:
    no gradient)."""
    return sum(
        F.l1_loss(f.float(), r.detach().float()) for f, r in zip(fake, real, strict=True)
    ) / len(fake)


def region_loss(
    logits: torch.Tensor, regions: torch.Tensor | None, ignore: int = 255
) -> torch.Tensor:
    """OASIS's loss for a region discriminator's per-pixel logits (B, R + 1, H, W).

    regions (B, H, W) names each pixel's region (`ignore` where unknown): the loss of a real photo
    for D, and of a generated one for G. Each region is weighted by the inverse of its share of the
    known pixels, so the small ones (irises, lips) count as much as skin and background.
    regions None: every pixel should be called fake (the last logit), D's loss on generated photos."""
    logits = logits.float()
    if regions is None:
        fake = torch.full_like(logits[:, 0], logits.shape[1] - 1, dtype=torch.long)
        return F.cross_entropy(logits, fake)
    known = regions[regions != ignore]
    if known.numel() == 0:
        return logits.sum() * 0  # nothing to name in this batch (no face pairs)
    counts = torch.bincount(known, minlength=logits.shape[1]).float()
    present = (counts > 0).sum()
    weights = torch.where(counts > 0, known.numel() / (counts * present), torch.zeros_like(counts))
    # unknown pixels: zero loss (ignore_index); clamped only to index the weights
    per_pixel = F.cross_entropy(logits, regions, ignore_index=ignore, reduction="none")
    return (per_pixel * weights[regions.clamp(max=logits.shape[1] - 1)]).sum() / known.numel()
