"""Face-region maps: which part of the face each pixel of a training photo is, for --regions.

The face-region discriminator (OASIS, Schönfeld et al. 2021) must name every pixel of a real photo
(skin, eye white, iris, lips, brow, hair, the rest of the person, the background) and call every
pixel of a generated photo fake. Its verdict is per pixel and per region, so a pale iris or a
smeared cheek is punished where it is, not averaged into one score for a 70x70 patch.

The map is drawn from what a pack already keeps (the face-mesh landmarks, the person and hair
masks), so it costs no extra data. Pixels the map cannot tell are IGNORE: the rest of the person
when there is no hair mask (a `train.faces` folder), and the padding added around a photo.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from train.doodle import BROWS, EYES, FACE_OVAL, LIPS_OUTER

REGIONS = ("background", "skin", "eye white", "iris", "lips", "brow", "hair", "person")
IGNORE = 255  # unknown: no loss is taken there (also the white fit_square pads a map with)
BROW_WIDTH = 0.12  # of the distance between the eyes


def _polygon(draw: ImageDraw.ImageDraw, points: np.ndarray, value: int) -> None:
    draw.polygon([tuple(p) for p in points.tolist()], fill=value)


def draw_regions(
    points: np.ndarray, person: np.ndarray, hair: np.ndarray | None, size: int
) -> Image.Image:
    """The region map of one photo ('L', values are indices into REGIONS, or IGNORE).

    points: (478, 2) landmarks in this photo's pixels; person and hair: (size, size) bool masks
    (hair None when unknown). Later layers cover earlier ones: person, hair, skin (the face oval
    less the hair that covers it), then brows, lips, eye whites and irises (cut to the lids)."""
    regions = np.zeros((size, size), np.uint8)
    if hair is None:
        regions[person] = IGNORE
    else:
        regions[person] = REGIONS.index("person")
        regions[hair] = REGIONS.index("hair")
    image = Image.fromarray(regions)
    draw = ImageDraw.Draw(image)
    oval = Image.new("1", (size, size), 0)
    ImageDraw.Draw(oval).polygon([tuple(p) for p in points[FACE_OVAL].tolist()], fill=1)
    face = np.asarray(oval) & ~(hair if hair is not None else np.zeros_like(person))
    image.paste(REGIONS.index("skin"), mask=Image.fromarray(face))
    eye_distance = float(np.linalg.norm(points[EYES["right"][2]] - points[EYES["left"][2]]))
    brow = max(1, round(BROW_WIDTH * eye_distance))
    for line in BROWS:
        draw.line([tuple(p) for p in points[line].tolist()], fill=REGIONS.index("brow"), width=brow)
    _polygon(draw, points[LIPS_OUTER[0] + LIPS_OUTER[1][::-1]], REGIONS.index("lips"))
    for upper, lower, centre, edge in EYES.values():
        lids = Image.new("1", (size, size), 0)
        ImageDraw.Draw(lids).polygon(
            [tuple(p) for p in points[upper + lower[::-1]].tolist()], fill=1
        )
        ring = Image.new("1", (size, size), 0)
        x, y = points[centre]
        r = float(np.linalg.norm(points[edge] - points[centre]))
        ImageDraw.Draw(ring).ellipse((x - r, y - r, x + r, y + r), fill=1)
        image.paste(REGIONS.index("eye white"), mask=lids)
        iris = Image.fromarray(np.asarray(lids) & np.asarray(ring))
        image.paste(REGIONS.index("iris"), mask=iris)
    return image
