"""What a face photo shows that a doodle can draw, measured from the aligned photo and its landmarks.

Visitors draw long hair, glasses and beards. A model learns to paint them only if the training
doodles draw them where the photos have them, so `train.faces` pairs are measured here and
`train.pack` hands the measures to `train.doodle`: glasses are drawn on the photos that wear them
(and never on the others), a beard where there is one, hair strokes where the hair really is (long
hair beside the jaw too). The same measures pick photos that make bad targets (blurred, blown out
by a flash, a face covered) and tell how rare each trait is, for balancing.

No network judges these: each measure is a difference of brightness or colour in a region placed by
the face mesh, with thresholds chosen by looking at the photos they pick (`python -m train.pack
--contact-sheets`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from train.doodle import face_oval

RIGHT_CHEEK, LEFT_CHEEK = 50, 280
LOWER_LIP, CHIN, NOSE_BOTTOM = 17, 152, 2
RIGHT_INNER_EYE, LEFT_INNER_EYE = 133, 362
MOUTH_CORNERS = (61, 291)
IRISES = (468, 473)

# Thresholds, in levels of 255 unless noted; chosen on contact sheets of LFW pairs.
GLASSES_BRIDGE = 42  # a dark bar across the nose bridge, below the bridge's own median
BEARD_DARK = 55  # the chin below the lip, darker than the cheeks
LONG_HAIR_SHARE = 0.45  # of the bands beside the jaw covered by hair
HAIR_COLOUR_DISTANCE = 45  # RGB distance from the skin colour that makes a pixel hair
BLURRED = 8.5  # Laplacian standard deviation on the face below this: a blurred target
BLOWN_OUT = 0.08  # share of the face at 250 or brighter: a flash burnt it
COVERED = 0.35  # share of the face near the skin colour below this: something covers it


@dataclass
class Traits:
    """The measures of one aligned photo (see the module docstring), and what they say."""

    hair: np.ndarray  # (H, W) bool: hair pixels (outside the face oval, unlike the skin)
    bridge: float  # levels: the darkest row across the nose bridge below its median row
    chin: float  # levels: the chin below the lip darker than the cheeks
    beside_jaw: float  # share of the bands beside the jaw in the hair's colour
    sharpness: float
    blown_out: float
    skin_share: float
    skin: tuple[int, int, int]  # RGB: the cheeks' median colour
    hair_colour: tuple[int, int, int] | None  # RGB: the crown's median colour; None: no hair seen

    @property
    def glasses(self) -> bool:
        return self.bridge > GLASSES_BRIDGE

    @property
    def beard(self) -> bool:
        return self.chin > BEARD_DARK

    @property
    def long_hair(self) -> bool:
        return self.beside_jaw > LONG_HAIR_SHARE

    @property
    def bad_target(self) -> str | None:
        """Why this photo should not be a training target, or None."""
        if self.sharpness < BLURRED:
            return "blurred"
        if self.blown_out > BLOWN_OUT:
            return "blown out"
        if self.skin_share < COVERED:
            return "face covered"
        return None


def polygon_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """(H, W) bool: the inside of the polygon through points (x, y)."""
    mask = Image.new("1", shape[::-1], 0)
    ImageDraw.Draw(mask).polygon([tuple(p) for p in points], fill=1)
    return np.asarray(mask)


def ellipse_mask(
    shape: tuple[int, int], centre: np.ndarray, across: float, down: float
) -> np.ndarray:
    """(H, W) bool: the inside of the axis-aligned ellipse with these half-axes around centre (x, y)."""
    ys, xs = np.ogrid[: shape[0], : shape[1]]
    return ((xs - centre[0]) / across) ** 2 + ((ys - centre[1]) / down) ** 2 <= 1


def disc_mask(shape: tuple[int, int], centre: np.ndarray, radius: float) -> np.ndarray:
    """(H, W) bool: the pixels within radius of centre (x, y)."""
    ys, xs = np.ogrid[: shape[0], : shape[1]]
    return (xs - centre[0]) ** 2 + (ys - centre[1]) ** 2 <= radius**2


def bridge_strip(points: np.ndarray) -> tuple[float, float, float, float]:
    """(top, bottom, left, right) in pixels: the nose bridge between the inner eye corners, from a
    quarter of the eye distance above them (not a cap's brim) to a tenth below, where glasses'
    bridge sits."""
    eye_distance = float(np.linalg.norm(points[IRISES[0]] - points[IRISES[1]]))
    inner_r, inner_l = points[RIGHT_INNER_EYE], points[LEFT_INNER_EYE]
    eye_y = float((inner_r[1] + inner_l[1]) / 2)
    left, right = sorted((inner_r[0], inner_l[0]))
    return eye_y - 0.25 * eye_distance, eye_y + 0.1 * eye_distance, left, right


def cheeks_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """(H, W) bool: a disc on each cheek, where the skin's own colour and light are measured (the
    middle pixel when the landmarks are off the picture, so a median always exists)."""
    eye_distance = float(np.linalg.norm(points[IRISES[0]] - points[IRISES[1]]))
    cheeks = disc_mask(shape, points[RIGHT_CHEEK], 0.12 * eye_distance) | disc_mask(
        shape, points[LEFT_CHEEK], 0.12 * eye_distance
    )
    if not cheeks.any():
        cheeks[shape[0] // 2, shape[1] // 2] = True
    return cheeks


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def measure(photo: np.ndarray, points: np.ndarray, person: np.ndarray) -> Traits:
    """The traits of an aligned (H, W, 3) uint8 photo on white, its (478, 2) landmarks in its pixels
    and its (H, W) bool person mask."""
    shape = photo.shape[:2]
    light = luminance(photo)
    eye_distance = float(np.linalg.norm(points[IRISES[0]] - points[IRISES[1]]))
    cheeks = cheeks_mask(shape, points)
    colours = photo.astype(np.float32)
    skin = np.median(colours[cheeks], axis=0)
    skin_light = float(np.median(light[cheeks]))
    oval = polygon_mask(shape, face_oval(points))
    distance = np.linalg.norm(colours - skin, axis=-1)

    # Hair: the person outside the (slightly grown) face oval, above the chin, not skin-coloured.
    grown = (
        np.asarray(
            Image.fromarray(oval.astype(np.uint8) * 255).filter(
                ImageFilter.MaxFilter(2 * max(1, round(0.04 * eye_distance)) + 1)
            )
        )
        > 0
    )
    rows = np.arange(shape[0])[:, None]
    chin_y = float(points[CHIN, 1])
    hair = (
        person
        & ~grown
        & (rows < chin_y + 0.1 * eye_distance)
        & (distance > HAIR_COLOUR_DISTANCE)
        & (photo.min(axis=-1) < 235)
    )
    # Long hair: bands beside the jaw (between the mouth and the chin, out to half an eye distance
    # from the face) in the colour of the hair above the face: not the neck's shadow or a collar.
    mouth_y = float(points[list(MOUTH_CORNERS), 1].mean())
    wide = polygon_mask(shape, face_oval(points, 1.45))
    bands = wide & ~grown & (rows >= mouth_y) & (rows <= chin_y)
    crown = hair & (rows < float(points[list(IRISES), 1].mean()) - 0.3 * eye_distance)
    beside_jaw, hair_colour = 0.0, None
    if bands.any() and crown.sum() > 0.1 * eye_distance**2:
        hair_colour = np.median(colours[crown], axis=0)
        like_hair = np.linalg.norm(colours - hair_colour, axis=-1) < 50
        beside_jaw = float((hair & like_hair)[bands].mean())

    # Glasses: the darkest row of the nose bridge against the bridge's median row.
    y0, y1, x0, x1 = bridge_strip(points)
    margin = 0.2 * (x1 - x0)
    strip = light[
        max(0, int(y0)) : max(1, int(y1) + 1),
        max(0, int(x0 + margin)) : max(1, int(x1 - margin) + 1),
    ]
    row_means = strip.mean(axis=1) if strip.size else np.zeros(1)
    bridge = float(np.median(row_means) - row_means.min())

    # Beard: the chin under the lower lip (its lower part: the lip's shadow is above), between the
    # mouth corners, darker than the cheeks.
    columns = np.arange(shape[1])[None, :]
    lip_y = float(points[LOWER_LIP, 1])
    left, right = sorted(points[list(MOUTH_CORNERS), 0])
    chin_region = (
        (rows >= lip_y + 0.35 * (chin_y - lip_y))
        & (rows <= chin_y - 0.1 * (chin_y - lip_y))
        & (columns >= left)
        & (columns <= right)
        & oval
    )
    chin = skin_light - float(np.median(light[chin_region])) if chin_region.any() else 0.0

    face = oval & ~hair
    laplacian = np.asarray(Image.fromarray(light.astype(np.uint8)).filter(ImageFilter.FIND_EDGES))
    sharpness = float(laplacian[face].std()) if face.any() else 0.0
    blown_out = float((light[face] >= 250).mean()) if face.any() else 0.0
    skin_share = float((distance[oval] < 60).mean()) if oval.any() else 0.0
    return Traits(
        hair,
        bridge,
        chin,
        beside_jaw,
        sharpness,
        blown_out,
        skin_share,
        _rgb(skin),
        None if hair_colour is None else _rgb(hair_colour),
    )


def _rgb(colour: np.ndarray) -> tuple[int, int, int]:
    r, g, b = (round(float(c)) for c in colour)
    return r, g, b
