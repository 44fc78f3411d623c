"""Variation: a seed gives another person for one drawing, still the drawing.

The paper's noise is dropout, and a generator trained with L1 learns to ignore it: different seeds
moved the bundled model's photo by about 5 levels of 255. A hint model (pix2pix.hints) follows
colour hints closely, so the seed also picks a skin tone and a hair colour and paints them as a
visitor would with a coloured pen: a blob on each cheek and on the forehead where nothing is drawn
there, and one on the hair where hair is drawn (on a bald drawing a hair hint would grow hair). The drawing is framed first (pix2pix.framing), so
the cheeks are where the trained framing puts them. Drawings that carry hints of their own keep
them and get dropout noise only.

The colours are real photos' (`python -m train.palette` on the LFW training photos: the cheeks' and
the crown's median colours in equal luminance steps), so dark and light tones come up equally often.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from pix2pix.framing import EYE_DISTANCE, EYE_HEIGHT
from pix2pix.hints import HINT_CHANNELS

SKIN_TONES = (
    (130, 86, 61),
    (149, 99, 74),
    (163, 113, 86),
    (178, 126, 98),
    (191, 140, 113),
    (204, 154, 128),
    (216, 169, 141),
    (227, 184, 160),
)
HAIR_COLOURS = (
    (39, 31, 23),
    (76, 61, 44),
    (109, 90, 69),
    (139, 120, 99),
    (175, 157, 134),
    (208, 184, 165),
)
HAIR_FROM_SKIN = 45  # RGB distance: a hair colour nearer the skin tone than this reads as skin
# Where the hints go, in eye distances from the eyes' midpoint of the trained framing.
CHEEKS = ((-0.75, 0.55), (0.75, 0.55))
FOREHEAD = (0.0, -0.6)  # only where nothing is drawn there (not on a fringe)
HINT_RADIUS = 0.17  # a blob's radius (9 px at 256: train/hints.py draws 3-12 px)
HAIR_BAND = (-1.9, -0.9)  # rows above the eyes where a drawing's hair is
HAIR_WIDTH = 1.5  # columns either side of the middle
HAIR_INK = 0.25  # share of dark pixels around a spot that makes it hair, not an outline


def _along(palette: tuple[tuple[int, int, int], ...], at: float) -> tuple[int, int, int]:
    """The colour `at` (0 to len - 1) of the way along a palette, between its neighbours."""
    low = min(int(at), len(palette) - 2)
    mix = np.asarray(palette[low]) * (low + 1 - at) + np.asarray(palette[low + 1]) * (at - low)
    r, g, b = (round(float(c)) for c in mix)
    return r, g, b


def colours_for(seed: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The seed's (skin tone, hair colour), anywhere along the palettes (so two seeds rarely share
    a tone), the hair far enough from the skin not to read as skin."""
    rng = np.random.default_rng(seed)
    skin = _along(SKIN_TONES, rng.uniform(0, len(SKIN_TONES) - 1))
    while True:
        hair = _along(HAIR_COLOURS, rng.uniform(0, len(HAIR_COLOURS) - 1))
        if np.linalg.norm(np.subtract(hair, skin)) > HAIR_FROM_SKIN:
            return skin, hair


def _disc(size: int, centre: tuple[float, float], radius: float) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return (xs - centre[0]) ** 2 + (ys - centre[1]) ** 2 <= radius**2


def ink_density(sketch: torch.Tensor) -> torch.Tensor:
    """(S, S): the share of dark pixels within half an eye distance of each pixel."""
    window = max(3, round(0.5 * EYE_DISTANCE * sketch.shape[-1])) | 1
    ink = (sketch[:1] < 0).float()
    return F.avg_pool2d(ink[None], window, stride=1, padding=window // 2)[0, 0]


def hair_spot(density: torch.Tensor) -> tuple[float, float] | None:
    """Where a framed sketch (its ink_density) has hair drawn: the densest ink in the band above
    the eyes, or None when no spot there is dense enough (a bald head's outline is a thin line)."""
    size = density.shape[-1]
    eye = EYE_DISTANCE * size
    top = round(EYE_HEIGHT * size + HAIR_BAND[0] * eye)
    bottom = round(EYE_HEIGHT * size + HAIR_BAND[1] * eye)
    left, right = round(size / 2 - HAIR_WIDTH * eye), round(size / 2 + HAIR_WIDTH * eye)
    band = density[max(top, 0) : bottom, max(left, 0) : right]
    if band.numel() == 0 or band.max() < HAIR_INK:
        return None
    row, column = divmod(int(band.argmax()), band.shape[1])
    return max(left, 0) + column, max(top, 0) + row


def with_variation(sketch: torch.Tensor, seed: int) -> torch.Tensor:
    """A framed hint-model input (1 + 4, S, S) in [-1, 1] with the seed's skin and hair hints;
    returned unchanged when it already carries hints."""
    mask = sketch[-1]
    if sketch.shape[0] != 1 + HINT_CHANNELS or bool((mask > 0).any()):
        return sketch
    size = sketch.shape[-1]
    eye = EYE_DISTANCE * size
    skin, hair = colours_for(seed)
    middle = (size / 2, EYE_HEIGHT * size)
    density = ink_density(sketch)
    spots = [((middle[0] + dx * eye, middle[1] + dy * eye), skin) for dx, dy in CHEEKS]
    forehead = (round(middle[0] + FOREHEAD[0] * eye), round(middle[1] + FOREHEAD[1] * eye))
    if density[forehead[1], forehead[0]] < HAIR_INK / 5:
        spots.append((forehead, skin))
    spot = hair_spot(density)
    if spot is not None:
        spots.append((spot, hair))
    out = sketch.clone()
    for centre, colour in spots:
        where = _disc(size, centre, HINT_RADIUS * eye)
        value = torch.tensor(colour, dtype=out.dtype) / 127.5 - 1
        out[1:4, where] = value[:, None]
        out[4, where] = 1
    return out
