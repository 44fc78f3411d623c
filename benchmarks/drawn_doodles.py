"""Face doodles for the doodle evaluation (benchmarks/doodle_eval.py), drawn here from scratch.

The training doodles come from train/doodle.py, which traces real photos' face-mesh landmarks. A
model can learn that generator's habits and still fail on what visitors draw, so the evaluation
draws its own faces with plain PIL lines and ellipses, black on a white 512x512 canvas: a thin pen,
a marker or sketchy double strokes; bald, outlined, scribbled, long or curly hair; glasses, beards;
round, oval and long faces, centred, off-centre, small and large; eyes as circles with pupils or as
almonds; a nose as a line, a hook or nostrils; a mouth as a line or two lips.

Each style option is dealt out evenly over the doodles, in shuffled combinations, and each doodle
has its own fixed seed, so the set is the same on every machine. Each doodle records where it drew
the eyes, the nose tip and the mouth centre, to check the face found in the model's photo against.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, fields

import numpy as np
from PIL import Image, ImageDraw

SIZE = 512
COUNT = 36

OPTIONS = {
    "pen": ("thin", "marker", "sketchy"),
    "hair": ("bald", "outline", "scribble", "long", "curly"),
    "place": ("centre", "shifted", "small", "large"),
    "shape": ("round", "oval", "long"),
    "eyes": ("circle", "almond"),
    "nose": ("line", "hook", "nostrils"),
    "mouth": ("line", "lips"),
    "glasses": (False, False, False, True),
    "beard": (False, False, False, True),
}
SCALES = {"centre": 1.0, "shifted": 1.0, "small": 0.7, "large": 1.2}
SHAPES = {"round": (0.26, 0.28), "oval": (0.24, 0.3), "long": (0.21, 0.32)}  # half width, height


@dataclass(frozen=True)
class Style:
    pen: str
    hair: str
    place: str
    shape: str
    eyes: str
    nose: str
    mouth: str
    glasses: bool
    beard: bool


@dataclass
class Doodle:
    """A drawing and where its face parts are: `points` is (4, 2) in pixels of `image`, in the order
    eye on the image's left, eye on the image's right, nose tip, mouth centre."""

    name: str
    style: Style
    image: Image.Image
    points: np.ndarray


@dataclass
class Face:
    """Where the parts go: offsets from the centre of the face outline, in pixels."""

    centre: np.ndarray
    w: float  # half the width of the face outline
    h: float  # half its height
    eye_y: float
    eye_dx: float  # from the middle to each eye
    eye_r: float
    nose: np.ndarray  # the tip
    mouth_y: float
    mouth_w: float  # half the width of the mouth

    def at(self, dx: float, dy: float) -> np.ndarray:
        """The point `dx`, `dy` pixels from the centre."""
        return self.centre + xy(dx, dy)


def styles(count: int = COUNT, seed: int = 0) -> list[Style]:
    """`count` styles in which every option of every part appears about equally often."""
    rng = random.Random(seed)
    columns = {}
    for part, options in OPTIONS.items():
        dealt = [options[i % len(options)] for i in range(count)]
        rng.shuffle(dealt)
        columns[part] = dealt
    return [Style(**{f.name: columns[f.name][i] for f in fields(Style)}) for i in range(count)]


def eval_doodles(count: int = COUNT) -> list[Doodle]:
    """The evaluation set: doodle i is drawn in styles()[i] with seed i."""
    return [draw_eval_doodle(style, seed) for seed, style in enumerate(styles(count))]


class Hand:
    """One pen and one hand: a line width, a slow wobble, and two passes per line when sketchy."""

    def __init__(self, pen: str, rng: np.random.Generator, draw: ImageDraw.ImageDraw):
        self.rng, self.draw = rng, draw
        if pen == "thin":
            self.width = int(rng.integers(2, 4))
        elif pen == "marker":
            self.width = int(rng.integers(8, 13))
        else:
            self.width = 2
        self.passes = 2 if pen == "sketchy" else 1
        self.wobble = rng.uniform(0.5, 2.5)  # pixels

    def line(self, points: np.ndarray, closed: bool = False) -> None:
        """A stroke through the points (back to the first when closed), as this hand draws it."""
        points = np.asarray(points, dtype=float)
        if closed:
            points = np.vstack([points, points[:1]])
        for n in range(self.passes):
            path = _resample(points)
            path = path + _drift(len(path), self.wobble * (1 + 1.5 * n), self.rng)
            if n:  # the second pass of a sketchy line is off the first, and shorter or longer
                path = path + self.rng.normal(0, 2.5, 2)
                cut = int(len(path) * self.rng.uniform(0, 0.1))
                path = path[cut : len(path) - int(len(path) * self.rng.uniform(0, 0.1))]
            if len(path) < 2:
                continue
            self.draw.line([tuple(p) for p in path], fill=0, width=self.width, joint="curve")
            for end in (path[0], path[-1]):  # round pen tips, not PIL's square ends
                self.dot(end, self.width / 2)

    def dot(self, centre: np.ndarray, radius: float) -> None:
        x, y = centre
        radius = max(radius, self.width / 2)
        self.draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=0)


def _spaced(points: np.ndarray, n: int) -> np.ndarray:
    """`n` points evenly spaced along the polyline."""
    length = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    at = np.linspace(0, length[-1], n)
    return np.stack([np.interp(at, length, points[:, i]) for i in (0, 1)], axis=1)


def _resample(points: np.ndarray, step: float = 3.0) -> np.ndarray:
    """Points every `step` pixels along the polyline, so that the wobble is even along it."""
    length = np.linalg.norm(np.diff(points, axis=0), axis=1).sum()
    return _spaced(points, max(2, int(length / step)))


def _drift(n: int, amount: float, rng: np.random.Generator) -> np.ndarray:
    """A slow drift of about `amount` pixels along a line: two low waves in x and in y."""
    t = np.linspace(0, 1, n)[:, None]
    waves = rng.uniform(0.5, 2.5, size=(2, 1, 2)) * t[None]
    phases = rng.uniform(0, 2 * math.pi, size=(2, 1, 2))
    return amount * np.sin(2 * math.pi * waves + phases).sum(0) / 1.4


def xy(x: float, y: float) -> np.ndarray:
    """A point or an offset, in pixels."""
    return np.array([x, y], dtype=float)


def arc(
    centre: np.ndarray, rx: float, ry: float, start: float, end: float, n: int = 40
) -> np.ndarray:
    """Points on an ellipse from angle `start` to `end` in degrees (0 right, 90 down, as in PIL)."""
    angles = np.radians(np.linspace(start, end, n))
    return centre + np.stack([rx * np.cos(angles), ry * np.sin(angles)], axis=1)


def parabola(left: np.ndarray, right: np.ndarray, sag: float, n: int = 20) -> np.ndarray:
    """A curve from `left` to `right` whose middle lies `sag` pixels below their midpoint."""
    t = np.linspace(0, 1, n)[:, None]
    return left + (right - left) * t + np.array([0, sag]) * 4 * t * (1 - t)


def fill(a: np.ndarray, b: np.ndarray, turns: int, rng: np.random.Generator) -> np.ndarray:
    """One stroke looping across the band between two lines and along it: scribbled-in hair."""
    n = 200
    a, b = _spaced(a, n), _spaced(b, n)
    phase = np.cumsum(rng.uniform(0.2, 1.8, 12 * turns)) * 2 * math.pi / 12  # an uneven hand
    along = np.linspace(0, n - 1, len(phase)) + np.cos(phase) * rng.uniform(0.5, 1.5) * n / turns
    across = (0.5 - 0.5 * np.sin(phase) * rng.uniform(0.8, 1.0))[:, None]
    at = np.clip(along, 0, n - 1).round().astype(int)
    return a[at] * (1 - across) + b[at] * across


def draw_eval_doodle(style: Style, seed: int) -> Doodle:
    """One doodle in `style`; `seed` fixes every size, position and wobble."""
    rng = np.random.default_rng(seed)
    image = Image.new("L", (SIZE, SIZE), 255)
    hand = Hand(style.pen, rng, ImageDraw.Draw(image))

    scale = SCALES[style.place] * rng.uniform(0.95, 1.05)
    shift = np.zeros(2)
    if style.place == "shifted":
        angle = rng.uniform(0, 2 * math.pi)
        shift = SIZE * rng.uniform(0.07, 0.12) * np.array([math.cos(angle), math.sin(angle)])
    w, h = np.array(SHAPES[style.shape]) * SIZE * scale * rng.uniform(0.95, 1.05, 2)
    face = Face(
        centre=SIZE * np.array([0.5, 0.52]) + shift,
        w=w,
        h=h,
        eye_y=-h * rng.uniform(0.0, 0.15),
        eye_dx=w * rng.uniform(0.4, 0.5),
        eye_r=w * rng.uniform(0.11, 0.16),
        nose=xy(w * rng.uniform(-0.03, 0.03), h * rng.uniform(0.25, 0.35)),
        mouth_y=h * rng.uniform(0.52, 0.62),
        mouth_w=w * rng.uniform(0.28, 0.42),
    )

    outline(hand, face, rng)
    HAIR[style.hair](hand, face, rng)
    if rng.random() < 0.4:
        ears(hand, face)
    if rng.random() < 0.4:
        neck(hand, face, rng)
    if style.beard:
        beard(hand, face, rng)
    eyes(hand, face, rng, style.eyes)
    if style.glasses:
        glasses(hand, face, rng)
    nose(hand, face, rng, style.nose)
    mouth(hand, face, rng, style.mouth)

    points = np.array(
        [
            face.at(-face.eye_dx, face.eye_y),
            face.at(face.eye_dx, face.eye_y),
            face.centre + face.nose,
            face.at(0, face.mouth_y),
        ]
    )
    name = f"{seed:02d}_{style.pen}_{style.hair}_{style.place}"
    return Doodle(name, style, image, points)


def outline(hand: Hand, face: Face, rng: np.random.Generator) -> None:
    """An ellipse that narrows below the cheeks into a chin (an egg), as most people draw a face."""
    points = arc(face.centre, face.w, face.h, 0, 360, n=72)
    below = np.clip((points[:, 1] - face.centre[1]) / face.h, 0, 1)
    points[:, 0] = face.centre[0] + (points[:, 0] - face.centre[0]) * (
        1 - rng.uniform(0.05, 0.2) * below
    )
    hand.line(points, closed=True)


def _cap(face: Face, rng: np.random.Generator, down_to: float = 0.1) -> np.ndarray:
    """The outer edge of the hair: over the skull from one side of the face (at `down_to` of the
    half height below the centre) to the other."""
    rx, ry = face.w * rng.uniform(1.06, 1.15), face.h * rng.uniform(1.08, 1.18)
    start = math.degrees(math.asin(min(down_to, 0.9)))
    return arc(face.centre, rx, ry, 180 - start, 360 + start)


def _hairline(face: Face, rng: np.random.Generator) -> np.ndarray:
    """Across the forehead from temple to temple, higher on the side of the parting."""
    temple = face.h * rng.uniform(0.2, 0.35)
    left = face.at(-face.w * 0.97, -temple)
    right = face.at(face.w * 0.97, -temple)
    top = face.at(face.w * rng.uniform(-0.4, 0.4), -face.h * rng.uniform(0.55, 0.75))
    return np.vstack([parabola(left, top, -face.h * 0.12), parabola(top, right, -face.h * 0.12)])


def bald_hair(hand: Hand, face: Face, rng: np.random.Generator) -> None:
    """No hair."""


def outlined_hair(hand: Hand, face: Face, rng: np.random.Generator) -> None:
    hand.line(_cap(face, rng))
    hand.line(_hairline(face, rng))


def scribbled_hair(hand: Hand, face: Face, rng: np.random.Generator) -> None:
    """Back-and-forth strokes between the hairline and the top of the head, filling the hair in."""
    inner, outer = _hairline(face, rng), _cap(face, rng)
    hand.line(fill(inner, outer, int(rng.integers(14, 28)), rng))
    if rng.random() < 0.5:
        hand.line(outer)


def long_hair(hand: Hand, face: Face, rng: np.random.Generator) -> None:
    """Hair over the skull that falls past the cheeks on both sides, with a few strands."""
    bottom = face.centre[1] + face.h * rng.uniform(0.7, 1.3)
    cap = _cap(face, rng, down_to=0.0)
    outer = np.vstack(
        [[cap[0, 0] - face.w * 0.1, bottom], cap, [cap[-1, 0] + face.w * 0.1, bottom]]
    )
    hand.line(outer)
    parting = face.at(face.w * rng.uniform(-0.3, 0.3), -face.h * rng.uniform(0.8, 0.95))
    middle = len(outer) // 2
    for side, half in ((-1, outer[: middle + 1][::-1]), (1, outer[middle:])):  # from the top
        temple = face.at(side * face.w * 0.95, -face.h * 0.3)
        end = xy(face.centre[0] + side * face.w, bottom)
        inner = np.vstack([parabola(parting, temple, face.h * 0.05 * side), end])
        hand.line(inner)
        for _ in range(int(rng.integers(1, 4))):  # strands between the inner and the outer line
            f = rng.uniform(0.3, 0.7)
            strand = _spaced(inner, 50) * (1 - f) + _spaced(half, 50) * f
            hand.line(strand[5 : int(50 * rng.uniform(0.6, 0.95))])


def curly_hair(hand: Hand, face: Face, rng: np.random.Generator) -> None:
    """Two rows of small loops over the top of the head and down the sides."""
    r = face.w * rng.uniform(0.1, 0.14)
    for row, grow in enumerate((1.0, 1.0 + 2.2 * r / face.h)):
        rx, ry = face.w * grow + r * 0.5, face.h * grow
        count = int(math.pi * (rx + ry) / 2 / (1.8 * r)) + row
        for angle in np.linspace(170, 370, count):
            centre = arc(face.centre, rx, ry, angle, angle, n=1)[0]
            loop = arc(centre, r, r * rng.uniform(0.75, 1.0), 0, 360, n=14)
            hand.line(loop + rng.normal(0, r * 0.1, 2), closed=True)


HAIR = {
    "bald": bald_hair,
    "outline": outlined_hair,
    "scribble": scribbled_hair,
    "long": long_hair,
    "curly": curly_hair,
}


def ears(hand: Hand, face: Face) -> None:
    middle = face.centre[1] + (face.eye_y + face.nose[1]) / 2
    height = (face.nose[1] - face.eye_y) * 0.7
    for side, (start, end) in ((-1, (110, 250)), (1, (-70, 70))):
        centre = np.array([face.centre[0] + side * face.w * 0.97, middle])
        hand.line(arc(centre, face.w * 0.16, height, start, end, n=16))


def neck(hand: Hand, face: Face, rng: np.random.Generator) -> None:
    chin = face.centre[1] + face.h * 0.8
    for side in (-1, 1):
        x = face.centre[0] + side * face.w * 0.45
        collar = np.array([x + side * face.w * 0.05, chin + face.h * 0.45])
        shoulder = collar + xy(side * face.w * rng.uniform(1.2, 1.8), face.h * 0.25)
        hand.line(np.array([[x, chin], collar]))
        hand.line(parabola(collar, shoulder, -face.h * 0.06))


def eyes(hand: Hand, face: Face, rng: np.random.Generator, style: str) -> None:
    r = face.eye_r
    look = xy(rng.uniform(-0.25, 0.25) * r, 0)  # both pupils look the same way
    brows = rng.random() < 0.5
    for side in (-1, 1):
        centre = face.at(side * face.eye_dx, face.eye_y)
        if style == "circle":
            hand.line(arc(centre, r, r * rng.uniform(0.85, 1.1), 0, 360, n=24), closed=True)
            hand.dot(centre + look, r * rng.uniform(0.3, 0.5))
        else:
            corners = centre - xy(1.4 * r, 0), centre + xy(1.4 * r, 0)
            hand.line(parabola(*corners, -r * 1.3))
            hand.line(parabola(*corners, r * 0.9))
            if rng.random() < 0.5:
                hand.line(arc(centre + look, 0.5 * r, 0.5 * r, 0, 360, n=16), closed=True)
            hand.dot(centre + look, r * 0.3)
        if brows:
            y = -r * rng.uniform(1.6, 2.2)
            hand.line(parabola(centre + xy(-1.5 * r, y), centre + xy(1.5 * r, y), -r * 0.4))


def glasses(hand: Hand, face: Face, rng: np.random.Generator) -> None:
    radius = min(face.eye_r * 1.9, face.eye_dx * 0.8)
    round_frames = rng.random() < 0.5
    for side in (-1, 1):
        centre = face.at(side * face.eye_dx, face.eye_y)
        if round_frames:
            hand.line(arc(centre, radius, radius * 0.85, 0, 360, n=32), closed=True)
        else:
            corners = np.array([[-1, -0.7], [1, -0.7], [1, 0.7], [-1, 0.7]])
            hand.line(centre + corners * radius, closed=True)
        hand.line([centre + xy(side * radius, 0), face.at(side * face.w * 0.97, face.eye_y - 4)])
    inner = face.eye_dx - radius
    hand.line(parabola(face.at(-inner, face.eye_y), face.at(inner, face.eye_y), -4))


def nose(hand: Hand, face: Face, rng: np.random.Generator, style: str) -> None:
    tip = face.centre + face.nose
    length = face.nose[1] - face.eye_y
    if style == "line":
        hand.line([tip + xy(rng.uniform(-0.1, 0.1) * face.w, -0.75 * length), tip])
    elif style == "hook":
        side = rng.choice([-1, 1])
        top = tip + xy(side * 0.05 * face.w, -0.7 * length)
        bend = tip + xy(-side * 0.1 * face.w, 0.04 * face.h)
        end = tip + xy(side * 0.06 * face.w, 0.05 * face.h)
        hand.line(np.vstack([parabola(top, bend, 0, n=8), parabola(bend, end, 0.02 * face.h)]))
    else:
        for side in (-1, 1):
            hand.dot(tip + xy(side * 0.07 * face.w, 0.03 * face.h), 0.025 * face.w)
        if rng.random() < 0.5:
            left, right = tip + xy(-0.15 * face.w, 0), tip + xy(0.15 * face.w, 0)
            hand.line(parabola(left, right, 0.1 * face.h))


def mouth(hand: Hand, face: Face, rng: np.random.Generator, style: str) -> None:
    centre = face.at(0, face.mouth_y)
    half = face.mouth_w
    lift = half * rng.uniform(-0.1, 0.35)  # how far the corners rise: a smile, or a frown
    left, right = centre + xy(-half, -lift), centre + xy(half, -lift)
    hand.line(parabola(left, right, lift))
    if style == "lips":
        lip = half * rng.uniform(0.22, 0.35)
        bow = centre + xy(0, -0.7 * lip)
        hand.line(np.vstack([parabola(left, bow, -lip * 0.9), parabola(bow, right, -lip * 0.9)]))
        hand.line(parabola(left, right, lift + 1.3 * lip))


def beard(hand: Hand, face: Face, rng: np.random.Generator) -> None:
    """A jaw-line beard from ear to ear under the chin, a moustache, and often scribble inside."""
    outer = arc(face.centre, face.w * 1.0, face.h * rng.uniform(1.08, 1.18), 5, 175)
    hand.line(outer)
    moustache = (face.nose[1] + face.mouth_y) / 2 + 0.06 * face.h
    left, right = face.at(-face.mouth_w * 1.1, moustache), face.at(face.mouth_w * 1.1, moustache)
    hand.line(parabola(left, right, -0.06 * face.h))
    if rng.random() < 0.6:
        inner = arc(face.at(0, face.mouth_y), face.mouth_w * 1.3, face.h * 0.2, 5, 175, n=20)
        hand.line(fill(inner, outer, int(rng.integers(10, 20)), rng))
