"""Framing: a face drawn small or off-centre is moved to where the generator paints faces, and back.

The face generators learn from pairs aligned one way (train.faces and the CUHK portraits: the eyes
0.21 of the side apart, at mid height, within a small spread). Given a face drawn small in a corner,
such a generator paints its one centred head anyway, over the drawing. The framer, a small network
(0.2 M weights), finds the drawn eyes; each eye then settles on the centre of its ink (settle), the
sketch is moved so that they sit at the trained framing, scaled only as far as it lies outside
SIZE_KEPT, the generator runs, and the photo is moved back onto white paper, so the face lands
where it was drawn.

Every step is continuous in the drawing, so an imperceptible change (a 2 px shift, a JPEG re-save,
a stroke far from the face) changes the photo imperceptibly (benchmarks/steadiness.py). An earlier
rule left drawings inside the trained spread as drawn and moved the rest: a drawing near the edge
of the spread flipped between the two from one stroke to the next, and its photo jumped by up to
25 levels of 255. The network alone also answers a 2 px shift with eyes moved by 0-3 px; the
average over shifted views and the settling make the framing follow the drawing pixel for pixel.

A model folder may hold the framer beside its generator (framer.safetensors, trained with
`python -m train.framer`); the Translator uses it when it is there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
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
SIZE_KEPT = (math.exp(-0.1), math.exp(0.1))  # drawn eye distances kept as drawn (frame_for)
SCALE_LIMITS = (0.4, 3.0)  # beyond these the eyes found are not to be trusted
# The framer looks at each drawing moved by these (x, y) pixels of its 128 px view and averages.
VIEW_SHIFTS = ((0, 0), (3, 1), (1, 3), (-2, -2))
SETTLE_SIGMA = 0.15  # of the eye distance found: the window in which an eye settles on its ink
LEASH = 0.1  # of the eye distance found: how far settling may move an eye
SETTLE_STEPS = 30  # at most; it stops when an eye moves less than a twentieth of a pixel
MIN_INK = 0.002  # share of dark pixels below which there is no face yet (a blank or a first stroke)
INPUT_SIZE = 128
FADE = 9  # pixels over which a moved-back photo fades into the paper


def framer_beside(folder: str | Path) -> Path | None:
    """The framer file saved beside a local model folder's generator, or None. Framers are read
    from local folders only (never the Hub), so a model fetched by repo id runs as drawn."""
    path = Path(folder).expanduser() / FRAMER_NAME
    return path if path.is_file() else None


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


def shifted_views(small: torch.Tensor) -> torch.Tensor:
    """(N, 1, 128, 128) -> (V*N, 1, 128, 128): the sketches moved by each of VIEW_SHIFTS on white
    paper, for the framer to look at every way (see average_views)."""
    pad = max(abs(v) for shift in VIEW_SHIFTS for v in shift)
    paper = F.pad(small, (pad, pad, pad, pad), value=1.0)
    end = pad + INPUT_SIZE
    return torch.cat(
        [paper[..., pad - dy : end - dy, pad - dx : end - dx] for dx, dy in VIEW_SHIFTS]
    )


def average_views(found: torch.Tensor) -> torch.Tensor:
    """(V*N, 2, 2) eyes found in shifted_views -> (N, 2, 2), each view's shift taken back, averaged.
    The framer's network, strided convolutions and all, answers a drawing moved by 2 px with eyes
    moved by 0-3 px; the average over moved views follows the drawing more closely."""
    shifts = torch.tensor(VIEW_SHIFTS, dtype=found.dtype).view(-1, 1, 1, 2) / INPUT_SIZE
    return (found.view(len(VIEW_SHIFTS), -1, 2, 2) - shifts).mean(0)


def settle(
    eye: tuple[float, float], ink: np.ndarray, sigma: float, steps: int = SETTLE_STEPS
) -> tuple[float, float]:
    """The eye found by the framer moved to the centre of the ink around it (a few mean-shift
    steps with a Gaussian window). The network's answer wanders by a pixel or two when the drawing
    moves by two (it is not shift-equivariant); the centre of the ink moves with the drawing, so
    the framing does too."""
    size = ink.shape[-1]
    reach = int(3 * sigma)
    x, y = eye
    for _ in range(steps):
        x0, y0 = max(0, int(x) - reach), max(0, int(y) - reach)
        x1, y1 = min(size, int(x) + reach + 1), min(size, int(y) + reach + 1)
        if x1 <= x0 or y1 <= y0:
            break
        xs, ys = np.arange(x0, x1) - x, np.arange(y0, y1) - y
        across = np.exp(-(xs**2) / (2 * sigma**2))  # the Gaussian window is separable
        down = np.exp(-(ys**2) / (2 * sigma**2))
        rows = down @ ink[y0:y1, x0:x1]  # the window's ink summed down each column
        total = rows @ across
        if total < 1e-3:
            break
        dx = float(rows @ (across * xs) / total)
        dy = float(down * ys @ ink[y0:y1, x0:x1] @ across / total)
        x, y = x + dx, y + dy
        if abs(dx) + abs(dy) < 0.05:
            break
    return x, y


def settle_on_leash(found: list[list[float]], ink: np.ndarray) -> list[tuple[float, float]]:
    """Both eyes the framer found, each settled on its ink (settle, in a window of SETTLE_SIGMA
    eye distances) but kept within LEASH eye distances of where the framer put it: on an artist's
    shaded sketch the ink around an eye is everywhere, and unleashed eyes wandered off."""
    distance = math.dist(*found)
    settled = []
    for x0, y0 in found:
        x, y = settle((x0, y0), ink, SETTLE_SIGMA * distance)
        keep = min(1.0, LEASH * distance / max(math.hypot(x - x0, y - y0), 1e-9))
        settled.append((x0 + keep * (x - x0), y0 + keep * (y - y0)))
    return settled


def frame_for(eyes: torch.Tensor, sketch: torch.Tensor) -> Frame | None:
    """The framing for a sketch (1, S, S) whose eyes were found at `eyes` (2, 2), or None when it
    is left as drawn: too little ink to be a face yet, or eyes too close together or too far apart
    to be believed.

    Every other drawing is moved so that its eyes sit exactly at the trained position: a face drawn
    2 px further right then reaches the generator as the same picture, and its photo moves with it
    (the generator alone is not shift-invariant: a 2 px shift changes its photo by ~5 levels of 255).
    The size is changed only as far as needed to bring it within SIZE_KEPT of the trained size, so
    a drawing the generator already knows is moved by whole pixels, never resampled (resampling
    blurs artist sketches), and the scale grows continuously as the drawing leaves that band: no
    threshold at which a drawing near the edge flips between two framings from stroke to stroke."""
    size = sketch.shape[-1]
    if torch.count_nonzero(sketch[0] < 0) < MIN_INK * sketch[0].numel():
        return None
    ink = np.clip(-sketch[0].float().numpy(), 0, None)  # how dark: paper 0, black 1
    (left_x, left_y), (right_x, right_y) = settle_on_leash(eyes.tolist(), ink)
    drawn = math.hypot(right_x - left_x, right_y - left_y) / (EYE_DISTANCE * size)
    if not SCALE_LIMITS[0] <= 1 / max(drawn, 1e-6) <= SCALE_LIMITS[1]:
        return None
    kept = min(max(drawn, SIZE_KEPT[0]), SIZE_KEPT[1])
    return Frame(kept / drawn, ((left_x + right_x) / 2, (left_y + right_y) / 2))


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
    drawn, on white paper. Edges that end inside the paper fade into it over up to FADE pixels
    (the generator paints up to the border of its square, which would otherwise end in a hard
    line, through a neck, say); an edge a pixel or two from the border fades over those pixels, so
    that a drawing moved by a pixel more gets a photo a pixel different, not a new border.
    Done on the 8-bit photo with PIL and numpy, a tenth of the time of torch's small operations."""
    size = photo.width
    side = max(1, round(size / framing.scale))
    left = round(framing.centre[0] - 0.5 * side)
    top = round(framing.centre[1] - EYE_HEIGHT * side)
    across = edge_fade(side, left, size - left - side)
    down = edge_fade(side, top, size - top - side)
    fade = Image.fromarray(np.round(np.outer(down, across) * 255).astype(np.uint8), "L")
    paper = Image.new(photo.mode, (size, size), "white")
    if side != size:
        photo = photo.resize((side, side), Image.Resampling.BILINEAR)
    paper.paste(photo, (left, top), fade)
    return paper


def edge_fade(side: int, before: int, after: int) -> np.ndarray:
    """(side,) weights in [0, 1] along one axis of a moved-back photo: rising over the first
    min(FADE, before) pixels and falling over the last min(FADE, after), where `before` and
    `after` are the paper's pixels beyond each end (an end at or past the border does not fade)."""
    position = np.arange(side) + 0.5
    weights = np.ones(side)
    if before > 0:
        weights = np.minimum(weights, position / min(FADE, before))
    if after > 0:
        weights = np.minimum(weights, (side - position) / min(FADE, after))
    return weights
