"""Framing: a face drawn small or off-centre is moved to where the generator paints faces, and back.

The face generators learn from pairs aligned one way (train.faces and the CUHK portraits: the eyes
0.21 of the side apart, at mid height, within a small spread). Given a face drawn small in a corner,
such a generator paints its one centred head anyway, over the drawing. The framer, a small network
(0.2 M weights), finds the drawn eyes; the sketch is scaled and moved so that they sit exactly at
the trained framing, the generator runs, and the photo is scaled and moved back onto white paper,
so the face lands where it was drawn. Drawings inside the spread the generator learnt are left
as drawn: framing every drawing exactly gave a few more two-eyed faces on held-out doodles but
blurred artist sketches (resampled twice), which the generator already knows at their own framing.

A model folder may hold the framer beside its generator (framer.safetensors, trained with
`python -m train.framer`); the Translator uses it when it is there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFilter
from safetensors.torch import save
from torch import nn

from pix2pix.checkpoint import load_strict

FRAMER_NAME = "framer.safetensors"
EYE_DISTANCE = 0.21  # of the side: where train.faces puts the eyes, as in the CUHK portraits
EYE_HEIGHT = 0.50
# The spread of the training pairs around that (train.faces.alignment): the eye distance times a
# factor in SIZE_SPREAD, the eye midpoint moved up to SHIFT_SPREAD of the side on each axis.
SIZE_SPREAD = (math.exp(-0.25), math.exp(0.2))
SHIFT_SPREAD = 0.06
SCALE_LIMITS = (0.4, 3.0)  # beyond these the eyes found are not to be trusted
MIN_INK = 0.002  # share of dark pixels below which there is no face yet (a blank or a first stroke)
INPUT_SIZE = 128
FADE = 9  # pixels over which a moved-back photo fades into the paper


@dataclass(frozen=True)
class Frame:
    """Scale the drawing by `scale` about its eye midpoint (`centre`, pixels) and put that point at
    the trained framing."""

    scale: float
    centre: tuple[float, float]


class Framer(nn.Module):
    """Where the eyes of a drawn face are: a sketch shrunk to 128 px (`shrink`), (N, 1, 128, 128)
    in [-1, 1] -> (N, 2, 2) eye centres in units of the side, the image-left eye first."""

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for width in (16, 32, 64, 64, 64):  # 128 -> 4 pixels
            layers += [
                nn.Conv2d(channels, width, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            channels = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 4 * 4, 128), nn.ReLU(inplace=True), nn.Linear(128, 4)
        )

    def forward(self, small: torch.Tensor) -> torch.Tensor:
        # the head answers around the middle of the square, where most eyes are
        return self.head(self.features(small)).view(-1, 2, 2) + 0.5

    def save(self, folder: str | Path) -> Path:
        """framer.safetensors in `folder` (an ordinary 0644 file, like the generator's weights)."""
        state = {k: v.detach().float().contiguous().cpu() for k, v in self.state_dict().items()}
        path = Path(folder) / FRAMER_NAME
        path.write_bytes(save(state, metadata={"format": "pt"}))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Framer:
        """A framer from its safetensors file, key for key and shape for shape."""
        framer = cls()
        load_strict(framer, Path(path))
        return framer.eval().requires_grad_(False)


def shrink(sketch: torch.Tensor) -> torch.Tensor:
    """(N, 1, S, S) -> (N, 1, 128, 128), what the framer looks at (area average)."""
    return F.interpolate(sketch, size=(INPUT_SIZE, INPUT_SIZE), mode="area")


def frame_for(eyes: torch.Tensor, sketch: torch.Tensor) -> Frame | None:
    """The framing for a sketch (1, S, S) whose eyes were found at `eyes` (2, 2), or None when it
    is left as drawn: too little ink to be a face yet, eyes inside the trained spread, or eyes too
    close together or too far apart to be believed."""
    size = sketch.shape[-1]
    (left_x, left_y), (right_x, right_y) = eyes.tolist()
    scale = EYE_DISTANCE * size / max(math.hypot(right_x - left_x, right_y - left_y), 1e-6)
    centre = ((left_x + right_x) / 2, (left_y + right_y) / 2)
    shift = max(abs(centre[0] - 0.5 * size), abs(centre[1] - EYE_HEIGHT * size)) / size
    if not SCALE_LIMITS[0] <= scale <= SCALE_LIMITS[1]:
        return None
    if SIZE_SPREAD[0] <= 1 / scale <= SIZE_SPREAD[1] and shift <= SHIFT_SPREAD:
        return None
    if torch.count_nonzero(sketch[0] < 0) < MIN_INK * sketch[0].numel():
        return None
    return Frame(scale, centre)


def place(
    image: torch.Tensor,
    scale: float,
    source: tuple[float, float],
    target: tuple[float, float],
    fill: torch.Tensor,
) -> torch.Tensor:
    """(C, S, S) scaled by `scale` so that the point `source` lands on `target`, on a same-size
    canvas of `fill` (C,) values; what falls outside is cut off."""
    channels, size = image.shape[0], image.shape[-1]
    side = max(1, round(size * scale))
    ratio = side / size
    left = round(target[0] - source[0] * ratio)
    top = round(target[1] - source[1] * ratio)
    canvas = fill.view(channels, 1, 1).expand(channels, size, size).clone()
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + side, size), min(top + side, size)
    if x1 <= x0 or y1 <= y0:
        return canvas
    # Only the rows and columns that land on the canvas are resized, with a margin for the filter:
    # a small drawing grown 2.5 times would otherwise be resized whole, six times what is kept.
    margin = math.ceil(2 / ratio) + 1
    xa, ya = max(0, int((x0 - left) / ratio) - margin), max(0, int((y0 - top) / ratio) - margin)
    xb = min(size, math.ceil((x1 - left) / ratio) + margin)
    yb = min(size, math.ceil((y1 - top) / ratio) + margin)
    part = F.interpolate(
        image[None, :, ya:yb, xa:xb],
        scale_factor=ratio,
        mode="bilinear",
        antialias=scale < 1,
        recompute_scale_factor=False,
    )[0]
    px, py = left + round(xa * ratio), top + round(ya * ratio)
    x1, y1 = min(x1, px + part.shape[-1]), min(y1, py + part.shape[-2])  # a pixel short at the edge
    canvas[:, y0:y1, x0:x1] = part[:, y0 - py : y1 - py, x0 - px : x1 - px]
    return canvas


def frame(sketch: torch.Tensor, framing: Frame, fill: torch.Tensor) -> torch.Tensor:
    """The sketch (C, S, S) with its face moved to the trained framing."""
    size = sketch.shape[-1]
    target = (0.5 * size, EYE_HEIGHT * size)
    return place(sketch, framing.scale, framing.centre, target, fill)


def unframe(photo: Image.Image, framing: Frame) -> Image.Image:
    """The photo (a square PIL image) made from a framed sketch, moved back to where the face was
    drawn, on white paper. Its edges fade into the paper over FADE pixels: the generator paints up
    to the border of its square, which would otherwise end in a hard line (through a neck, say).
    Done on the 8-bit photo with PIL, which takes a tenth of the time of torch's small operations."""
    size = photo.width
    side = max(1, round(size / framing.scale))
    left = round(framing.centre[0] - 0.5 * side)
    top = round(framing.centre[1] - EYE_HEIGHT * side)
    inset = FADE // 2
    fade = Image.new("L", (side, side), 0)
    ImageDraw.Draw(fade).rectangle((inset, inset, side - 1 - inset, side - 1 - inset), fill=255)
    paper = Image.new(photo.mode, (size, size), "white")
    paper.paste(
        photo.resize((side, side), Image.Resampling.BILINEAR),
        (left, top),
        fade.filter(ImageFilter.BoxBlur(inset)),
    )
    return paper
