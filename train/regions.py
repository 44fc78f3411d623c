"""Face-region maps: which part of the face each pixel of a training photo is, for --lambda-regions.

The face-region discriminator (OASIS, Schönfeld et al. 2021) must name every pixel of a real photo
(skin, eye white, iris, lips, brow, hair, the rest of the person, the background) and call every
pixel of a generated photo fake. Its verdict is per pixel and per region, so a pale iris or a
smeared cheek is punished where it is, not averaged into one score for a 70x70 patch.

The map is drawn from what a pack already keeps (the face-mesh landmarks, the person and hair
masks, the glasses and beard traits), so it costs no extra data. Glasses and beards are named on
the photos `train.traits` found them in, where the doodle draws them: the pixels of the skin there
that are much darker than the cheeks (the frames, the beard's hair). A generated photo that ignores
glasses drawn on the doodle then shows skin where the discriminator is told to find frames, and is
punished there; L1 alone cannot do that, as a thin frame a few pixels off is cheaper left out.

Pixels the map cannot tell are IGNORE: the rest of the person when there is no hair mask (a
`train.faces` folder), and the padding added around a photo.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from train.doodle import BROWS, EYES, FACE_OVAL, LIPS_OUTER, NOSE_BOTTOM
from train.traits import (
    bridge_strip,
    cheeks_mask,
    disc_mask,
    ellipse_mask,
    luminance,
    polygon_mask,
)

REGIONS = (
    "background", "skin", "eye white", "iris", "lips", "brow", "hair", "person", "glasses", "beard"
)  # fmt: skip
IGNORE = 255  # unknown: no loss is taken there (also the white fit_square pads a map with)
BROW_WIDTH = 0.12  # of the distance between the eyes
DARKER = 50  # levels below the cheeks that make a pixel of skin a frame or a beard's hair
FRAME_REACH = (1.6, 1.25)  # the frames' ellipse around an eye, in half eye widths (across, down)


def draw_regions(
    points: np.ndarray,
    person: np.ndarray,
    size: int,
    photo: np.ndarray | None = None,
    traits: dict | None = None,
) -> Image.Image:
    """The region map of one photo ('L', values are indices into REGIONS, or IGNORE).

    points: (478, 2) landmarks in this photo's pixels; person: (size, size) bool mask; traits: what
    `train.traits` measured, as `train.doodle.draw_doodle` takes them (hair mask, glasses, beard),
    None when unknown (a `train.faces` folder); photo: (size, size, 3) uint8, where the frames and
    the beard are found when traits says they are worn. Later layers cover earlier ones: person,
    hair, skin (the face oval less the hair that covers it), then brows, glasses, beard, lips, eye
    whites and irises (cut to the lids)."""
    shape = (size, size)
    regions = np.zeros(shape, np.uint8)
    regions[person] = IGNORE if traits is None else REGIONS.index("person")
    hair = np.zeros(shape, bool) if traits is None else traits["hair"]
    regions[hair] = REGIONS.index("hair")
    regions[polygon_mask(shape, points[FACE_OVAL]) & ~hair] = REGIONS.index("skin")
    brows = Image.new("1", (size, size), 0)
    eye_distance = float(np.linalg.norm(points[EYES["right"][2]] - points[EYES["left"][2]]))
    width = max(1, round(BROW_WIDTH * eye_distance))
    for line in BROWS:
        ImageDraw.Draw(brows).line([tuple(p) for p in points[line].tolist()], fill=1, width=width)
    regions[np.asarray(brows)] = REGIONS.index("brow")
    if traits is not None and (traits["glasses"] or traits["beard"]):
        _worn(regions, points, photo, eye_distance, traits["glasses"], traits["beard"])
    lips = points[LIPS_OUTER[0] + LIPS_OUTER[1][::-1]]
    regions[polygon_mask(shape, lips)] = REGIONS.index("lips")
    for upper, lower, centre, edge in EYES.values():
        lids = polygon_mask(shape, points[upper + lower[::-1]])
        radius = float(np.linalg.norm(points[edge] - points[centre]))
        regions[lids] = REGIONS.index("eye white")
        regions[lids & disc_mask(shape, points[centre], radius)] = REGIONS.index("iris")
    return Image.fromarray(regions)


def _worn(
    regions: np.ndarray,
    points: np.ndarray,
    photo: np.ndarray,
    eye_distance: float,
    glasses: bool,
    beard: bool,
) -> None:
    """Names the dark skin pixels where glasses' frames (around the eyes and across the bridge) or a
    beard (from below the nose to the chin) are, in place."""
    shape = regions.shape
    light = luminance(photo)
    dark = light < float(np.median(light[cheeks_mask(shape, points)])) - DARKER
    skin = regions == REGIONS.index("skin")  # frames and beards are named over the skin only
    ys, xs = np.ogrid[: shape[0], : shape[1]]
    if glasses:
        top, bottom, left, right = bridge_strip(points)
        frames = (ys >= top) & (ys <= bottom) & (xs >= left) & (xs <= right)
        for upper, lower, _, _ in EYES.values():
            eye = points[upper + lower]
            half = (eye[:, 0].max() - eye[:, 0].min()) / 2
            frames |= ellipse_mask(shape, eye.mean(0), FRAME_REACH[0] * half, FRAME_REACH[1] * half)
        regions[frames & dark & skin] = REGIONS.index("glasses")
    if beard:
        below_nose = ys > points[NOSE_BOTTOM, 1] + 0.15 * eye_distance
        regions[below_nose & dark & skin] = REGIONS.index("beard")
