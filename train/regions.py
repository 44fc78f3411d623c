"""Face-region maps: which part of the face each pixel of a training photo is, for --lambda-regions.

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
from train.traits import disc_mask, polygon_mask

REGIONS = ("background", "skin", "eye white", "iris", "lips", "brow", "hair", "person")
IGNORE = 255  # unknown: no loss is taken there (also the white fit_square pads a map with)
BROW_WIDTH = 0.12  # of the distance between the eyes


def draw_regions(
    points: np.ndarray, person: np.ndarray, hair: np.ndarray | None, size: int
) -> Image.Image:
    """The region map of one photo ('L', values are indices into REGIONS, or IGNORE).

    points: (478, 2) landmarks in this photo's pixels; person and hair: (size, size) bool masks
    (hair None when unknown). Later layers cover earlier ones: person, hair, skin (the face oval
    less the hair that covers it), then brows, lips, eye whites and irises (cut to the lids)."""
    shape = (size, size)
    regions = np.zeros(shape, np.uint8)
    regions[person] = IGNORE if hair is None else REGIONS.index("person")
    hair = np.zeros(shape, bool) if hair is None else hair
    regions[hair] = REGIONS.index("hair")
    regions[polygon_mask(shape, points[FACE_OVAL]) & ~hair] = REGIONS.index("skin")
    brows = Image.new("1", (size, size), 0)
    eye_distance = float(np.linalg.norm(points[EYES["right"][2]] - points[EYES["left"][2]]))
    width = max(1, round(BROW_WIDTH * eye_distance))
    for line in BROWS:
        ImageDraw.Draw(brows).line([tuple(p) for p in points[line].tolist()], fill=1, width=width)
    regions[np.asarray(brows)] = REGIONS.index("brow")
    lips = points[LIPS_OUTER[0] + LIPS_OUTER[1][::-1]]
    regions[polygon_mask(shape, lips)] = REGIONS.index("lips")
    for upper, lower, centre, edge in EYES.values():
        lids = polygon_mask(shape, points[upper + lower[::-1]])
        radius = float(np.linalg.norm(points[edge] - points[centre]))
        regions[lids] = REGIONS.index("eye white")
        regions[lids & disc_mask(shape, points[centre], radius)] = REGIONS.index("iris")
    return Image.fromarray(regions)
