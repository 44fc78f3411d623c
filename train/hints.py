"""Colour hints sampled from the true photo, as a visitor would give them with a coloured pen.

Following real-time user-guided colourisation (Zhang et al., SIGGRAPH 2017): a few strokes or blobs,
each filled with one colour, the photo's mean colour under it, placed on the person (not on the white
paper), and for a good share of the examples no hint at all, so the model stays as good on a sketch
alone.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

NO_HINT_SHARE = 0.4


def sample_hints(photo: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(colours (H, W, 3) uint8, mask (H, W) bool) for an (H, W, 3) uint8 photo."""
    h, w = photo.shape[:2]
    colours = np.zeros_like(photo)
    mask = np.zeros((h, w), dtype=bool)
    if rng.random() < NO_HINT_SHARE:
        return colours, mask
    ys, xs = np.nonzero(photo.min(axis=2) < 235)  # the person, not the paper
    if len(ys) == 0:
        return colours, mask
    scale = h / 256
    for _ in range(int(rng.integers(1, 6))):
        i = rng.integers(len(ys))
        start = np.array([xs[i], ys[i]], dtype=float)
        stroke = Image.new("1", (w, h), 0)
        draw = ImageDraw.Draw(stroke)
        if rng.random() < 0.7:  # a stroke: a short random walk with a thick pen
            steps = rng.normal(0, 12 * scale, size=(int(rng.integers(2, 7)), 2))
            points = np.vstack([start, start + np.cumsum(steps, axis=0)])
            width = max(1, round(rng.uniform(3, 14) * scale))
            draw.line([tuple(p) for p in points], fill=1, width=width, joint="curve")
        else:  # a blob
            r = rng.uniform(3, 12, size=2) * scale
            draw.ellipse([*(start - r), *(start + r)], fill=1)
        region = np.asarray(stroke) & ~mask
        if region.sum() < 4:
            continue
        colours[region] = photo[region].reshape(-1, 3).mean(axis=0).round().astype(np.uint8)
        mask |= region
    return colours, mask
