"""Colour hints: a few coloured strokes that tell the generator the colour of hair, skin or clothes.

A model with hints takes 1 + 4 input channels: the grey sketch, then the hint colours (RGB in
[-1, 1], zero where there is no hint) and the hint mask (1 on a hint, 0 elsewhere). A model
trained with hints also learns to work without any (all-zero hint channels), so a black-only
drawing gives the photo the sketch alone gives.

A visitor gives hints by drawing with a coloured pen on the same canvas as the black lines, so one
colour image holds both; `split_drawing` takes it apart again.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageFilter

HINT_CHANNELS = 4  # RGB colour + mask
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # PIL's RGB -> L weights

# The colour pens a drawing app offers, as RGB. Each is clearly coloured (chroma at least 0.15) so
# that it reads as a hint, even the near-black and the grey: a neutral pen would be line ink.
PALETTE: dict[str, tuple[int, int, int]] = {
    "black": (64, 40, 24),
    "brown": (105, 62, 30),
    "blond": (225, 190, 100),
    "red": (200, 60, 30),
    "grey": (140, 150, 180),
    "light skin": (240, 200, 165),
    "tan skin": (200, 140, 100),
    "dark skin": (125, 85, 60),
    "blue": (40, 80, 170),
    "green": (50, 130, 70),
}

# How split_drawing reads a drawing:
# - A pixel is the core of a hint when it is clearly coloured: its chroma, max(R, G, B) -
#   min(R, G, B) on [0, 1], is at least CORE_CHROMA (26 of 255). Black and grey ink, white paper
#   and JPEG noise on them have chroma near 0 (JPEG keeps a neutral image neutral to 1-3 levels).
#   Chroma, not HSV saturation: saturation divides by the brightness and calls the noise in black
#   ink, (5, 3, 2), 60% saturated.
CORE_CHROMA = 0.1
# - Cores thinner than OPENING pixels are dropped (a morphological opening): colour fringes of a
#   phone photo and hairline coloured strokes stay lines.
OPENING = 3
# - Pixels up to EDGE pixels from a core are the stroke's anti-aliased edge. Each is explained as a
#   mix of the stroke's colour, white paper and black ink, which says how much of it is hint (it
#   is on the mask when the colour covers at least half) and how much ink the lines keep. Pixels
#   further than MIX_TOLERANCE (RGB distance on [0, 1]; JPEG moves a red edge by up to 0.15) from
#   every such mix are not part of the stroke.
EDGE = 2
MIX_TOLERANCE = 0.2
# - The drawing is white-balanced on its paper first (`paper_colour`), so a phone photo under warm
#   light does not turn its paper and pencil into hints; a canvas's white paper changes nothing.
PAPER_PERCENTILE = 75


def stack_input(sketch: torch.Tensor, colours: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(..., 1, H, W) sketch, (..., 3, H, W) colours in [-1, 1], (..., 1, H, W) mask in {0, 1}
    -> the generator's (..., 5, H, W) input. Colours count only where the mask is set."""
    return torch.cat([sketch, colours * mask, mask], dim=-3)


def no_hints(sketch: torch.Tensor) -> torch.Tensor:
    """The input of a hint model for a sketch alone."""
    shape = (*sketch.shape[:-3], HINT_CHANNELS, *sketch.shape[-2:])
    return torch.cat([sketch, sketch.new_zeros(shape)], dim=-3)


def split_drawing(image: Image.Image) -> tuple[Image.Image, np.ndarray, np.ndarray]:
    """A drawing with black lines and coloured strokes -> (lines 'L', colours (H, W, 3) uint8,
    mask (H, W) bool).

    Dark or grey neutral strokes are lines, clearly coloured ones hints. Outside the hints and their
    edges `lines` is exactly image.convert("L"), so a black-only drawing gives the grey image it
    gave before hints existed and an empty mask. Under a hint the lines are paper (a stroke hides
    what it covers); a black line crossing a hint's edge keeps its ink. A hint pixel's colour is
    that of the most colourful core pixel within EDGE pixels, so anti-aliased edges (pink around
    red) neither wash the colour out nor leave a grey outline in the lines. `image` is any PIL
    image as imaging.load_image gives it ('L' or 'RGB'); thresholds are set for drawings of
    canvas size (256 to 1024 pixels), whose strokes are anti-aliased over 1 or 2 pixels.
    """
    if image.mode not in ("L", "RGB"):  # convert() to the same mode would copy the picture
        image = image.convert("RGB")
    if image.mode == "L" or is_neutral(image):  # grey strokes only (most drawings): no hint
        size = (image.height, image.width)
        return image.convert("L"), np.zeros((*size, 3), np.uint8), np.zeros(size, bool)
    lines = np.array(image.convert("L"))
    rgb = np.asarray(image, dtype=np.float32) / 255
    paper = paper_colour(rgb)
    rgb = np.minimum(rgb / paper, 1.0)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    chroma = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
    colours = np.zeros(rgb.shape, np.uint8)
    mask = np.zeros(lines.shape, bool)
    core, near = _zones(chroma >= CORE_CHROMA)
    if not near.any():
        return Image.fromarray(lines), colours, mask
    pixels, hint = rgb[near], _most_colourful(rgb, np.where(core, chroma, -1.0), near, EDGE)
    coverage, blank, residual = _mix(pixels, hint)
    # A clearly coloured pixel that is no mix of its neighbour's colour (two hints touching) is a
    # hint of its own colour.
    own = (residual > MIX_TOLERANCE) & (chroma[near] >= CORE_CHROMA)
    hint[own], coverage[own], blank[own] = pixels[own], 1.0, 0.0
    explained = (residual <= MIX_TOLERANCE) | own
    # What is not ink is paper in the lines, at the paper's grey (255 on a canvas).
    paper_grey = 255 * float(paper @ LUMA)
    near_lines = lines[near]
    near_lines[explained] = np.rint(paper_grey * (coverage + blank)[explained]).astype(np.uint8)
    lines[near] = near_lines
    on = explained & (coverage >= 0.5)
    mask[near] = on
    colours[mask] = np.rint(255 * hint[on]).astype(np.uint8)
    return Image.fromarray(lines), colours, mask


def is_neutral(image: Image.Image) -> bool:
    """Whether every pixel of an 'RGB' image is grey (R = G = B): then the paper is grey too, every
    chroma below is exactly 0 and split_drawing's answer is the plain 'L' image with no hint. A
    byte comparison of the bands, ~0.2 ms at 512x512 against ~15 ms for the full analysis."""
    red, green, blue = (band.tobytes() for band in image.split())
    return red == green == blue


def paper_colour(rgb: np.ndarray) -> np.ndarray:
    """The paper's colour (3,) of an (H, W, 3) drawing on [0, 1]: the median colour of its brightest
    quarter (a drawing is mostly paper), or white when that is dark in some channel (a drawing
    coloured all over has no paper to go by)."""
    pixels = rgb.reshape(-1, 3)
    luma = pixels @ LUMA
    paper = np.median(pixels[luma >= np.percentile(luma, PAPER_PERCENTILE)], axis=0)
    return paper.astype(np.float32) if paper.min() >= 0.25 else np.ones(3, np.float32)


def _zones(coloured: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cores: the coloured pixels after the opening, near: the cores and their edges)."""
    if not coloured.any():  # a black-only drawing: no filter to run
        return coloured, coloured
    core = _filter(coloured, ImageFilter.MinFilter(OPENING))
    core = _filter(core, ImageFilter.MaxFilter(OPENING))
    return core, _filter(core, ImageFilter.MaxFilter(2 * EDGE + 1))


def _filter(mask: np.ndarray, kind: ImageFilter.Filter) -> np.ndarray:
    """A min or max filter (erosion, dilation) of a bool mask, through PIL."""
    return np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).filter(kind)) > 127


def _most_colourful(rgb: np.ndarray, score: np.ndarray, at: np.ndarray, radius: int) -> np.ndarray:
    """For each pixel where `at` is set, the colour of the highest-scoring pixel in the square
    window around it: (N, 3), in the order of rgb[at]."""
    ys, xs = np.nonzero(at)
    score = np.pad(score, radius, constant_values=-np.inf)
    rgb = np.pad(rgb, ((radius, radius), (radius, radius), (0, 0)))
    offsets = np.arange(2 * radius + 1)
    wy = ys[:, None, None] + offsets[None, :, None]  # (N, window, 1)
    wx = xs[:, None, None] + offsets[None, None, :]  # (N, 1, window)
    windows = score[wy, wx].reshape(len(ys), -1)
    best = windows.argmax(axis=1)
    dy, dx = np.divmod(best, 2 * radius + 1)
    return rgb[ys + dy, xs + dx]


def _mix(pixels: np.ndarray, hint: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each pixel (N, 3) as colour * hint + paper * white + the rest black ink: (colour, paper,
    residual distance), each (N,), both shares in [0, 1] and at most 1 together.

    The stroke's colour on paper alone is tried first and kept when it explains the pixel: JPEG
    smears colour across edges, and a dark colour fitted freely then passes for black ink, which
    would draw a grey outline around every dark hint. Otherwise all three are fitted (least
    squares); hint colours are chromatic, so the two columns are never parallel.
    """
    gap = 1.0 - hint
    on_paper = np.clip(((1.0 - pixels) * gap).sum(1) / np.maximum((gap * gap).sum(1), 1e-9), 0, 1)
    paper_residual = np.linalg.norm(1.0 - pixels - on_paper[:, None] * gap, axis=1)
    hh, ho, hp, op = (hint * hint).sum(1), hint.sum(1), (hint * pixels).sum(1), pixels.sum(1)
    colour = np.clip((3 * hp - ho * op) / np.maximum(3 * hh - ho * ho, 1e-9), 0.0, 1.0)
    paper = np.clip((op - colour * ho) / 3, 0.0, 1.0 - colour)
    residual = np.linalg.norm(pixels - colour[:, None] * hint - paper[:, None], axis=1)
    plain = paper_residual <= MIX_TOLERANCE
    return (
        np.where(plain, on_paper, colour),
        np.where(plain, 1.0 - on_paper, paper),
        np.where(plain, paper_residual, residual),
    )
