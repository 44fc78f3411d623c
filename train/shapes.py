"""shapes.npz: what a face doodle is drawn from, per split of a `train.faces` or `train.pack` folder.

It holds the pairs' names, their face-mesh landmarks in the square's pixels (all 478, or only the
ones `train.doodle` uses with their `index`), the person (and, in a pack, the hair) as packed bit
masks, and in a pack the traits of `train.traits` and how often each pair is listed (`repeat`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SHAPES_FILE = "shapes.npz"
SHAPE_SIZE = 256  # the side of the square the landmarks are measured in (train.faces.SIZE)
MASK_SIDE = 64  # a pack keeps masks at this side: the drawing needs outlines, not pixels
LANDMARKS = 478  # mediapipe's face mesh with irises


def shrink_mask(mask: np.ndarray, side: int = MASK_SIDE) -> np.ndarray:
    """A bool mask at side x side, packed into bits."""
    small = Image.fromarray(mask.astype(np.uint8) * 255).resize((side, side), Image.BILINEAR)
    return np.packbits(np.asarray(small) > 127)


def grow_mask(packed: np.ndarray, size: int) -> np.ndarray:
    """A packed square mask back at size x size (bilinear, so outlines stay smooth)."""
    bits = np.unpackbits(packed)
    side = round(np.sqrt(bits.size))
    small = Image.fromarray(bits[: side * side].reshape(side, side) * 255)
    return np.asarray(small.resize((size, size), Image.BILINEAR)) > 127


def load_shapes(path: Path) -> dict[str, np.ndarray]:
    """A split's shapes.npz with the landmarks back at their 478 indices (NaN where not kept)."""
    with np.load(path) as stored:
        shapes = {key: stored[key] for key in stored.files}
    if "index" in shapes:
        full = np.full((len(shapes["points"]), LANDMARKS, 2), np.nan, np.float32)
        full[:, shapes.pop("index")] = shapes["points"]
        shapes["points"] = full
    return shapes
