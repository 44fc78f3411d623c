"""Draw a face doodle the way visitors draw on the canvas, from face-mesh landmarks and a person mask.

Every choice is random, so that the model meets as many ways of drawing as possible: the pen (1-12 px
at 512x512, pencil grey to marker black), how steady the hand is (wobble), sketchy double strokes,
parts left out, the face as its true outline or as a perfect or sloppy ellipse, eyes as almonds or
circles with pupils, brows, a nose as a line, a hook or two nostrils, a mouth as one or two lines,
ears, neck and shoulders, and hair from the person mask as an outline, a scribble, strands, curls or
nothing. Landmark indices are mediapipe's face mesh (478 points with irises).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67,
             109]  # fmt: skip
JAW = FACE_OVAL[FACE_OVAL.index(454) : FACE_OVAL.index(234) + 1]  # ear, chin, ear
EYES = {  # upper lid, lower lid, iris centre, iris edge
    "right": ([33, 246, 161, 160, 159, 158, 157, 173, 133],
              [33, 7, 163, 144, 145, 153, 154, 155, 133], 468, 469),
    "left": ([263, 466, 388, 387, 386, 385, 384, 398, 362],
             [263, 249, 390, 373, 374, 380, 381, 382, 362], 473, 474),
}  # fmt: skip
BROWS = ([70, 63, 105, 66, 107], [300, 293, 334, 296, 336])
LIPS_OUTER = ([61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291],
              [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291])  # fmt: skip
LIPS_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
NOSE_BRIDGE = [168, 6, 197, 195, 5, 4]
NOSE_WINGS = (98, 327)  # the sides of the nostrils
NOSE_BOTTOM = 2
CROWN, CHIN, EARS = 168, 152, ((234, 132), (454, 361))  # ear: (top, bottom) on each side
IRISES = (468, 473)
TEMPLE_ENDS = (234, 454)  # the face's edges at eye level, beside each eye of EYES
SCALE = 2  # drawn at twice the size, then shrunk: smooth edges, and a 1 px pen becomes a faint line

Points = np.ndarray


class Pen:
    """One hand: width, ink, how much it wobbles and whether it goes over lines twice."""

    def __init__(self, rng: np.random.Generator, eye_distance: float):
        self.rng = rng
        self.width = int(rng.choice([1, 2, 3, 4, 5, 6, 8, 10, 12], p=PEN_WEIGHTS))
        self.ink = 0 if rng.random() < 0.75 else int(rng.integers(30, 110))
        self.wobble = eye_distance * rng.choice([0.0, 0.02, 0.05, 0.09], p=[0.25, 0.35, 0.3, 0.1])
        self.sketchy = rng.random() < 0.2

    def line(self, draw: ImageDraw.ImageDraw, points: Points, closed: bool = False) -> None:
        """A stroke through the points (a closed loop when closed), as this hand draws it."""
        if len(points) < 2:
            return
        passes = int(self.rng.integers(2, 4)) if self.sketchy else 1
        for n in range(passes):
            path = _resample(np.vstack([points, points[:1]]) if closed else points)
            path = path + _smooth_noise(len(path), self.wobble * (1 + n), self.rng)
            if n and self.sketchy:  # a second pass starts and stops a little off the first
                cut = int(len(path) * self.rng.uniform(0, 0.15))
                path = path[cut : len(path) - int(len(path) * self.rng.uniform(0, 0.15))]
            width = max(1, self.width if n == 0 else self.width // 2 + 1)
            draw.line([tuple(p) for p in path * SCALE], fill=self.ink, width=width, joint="curve")

    def dot(self, draw: ImageDraw.ImageDraw, centre: Points, radius: float) -> None:
        x, y = centre * SCALE
        r = max(radius * SCALE, self.width / 2)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=self.ink)


PEN_WEIGHTS = np.array([1, 2, 3, 3, 2.5, 2, 1.2, 0.8, 0.5])
PEN_WEIGHTS = PEN_WEIGHTS / PEN_WEIGHTS.sum()


def _resample(points: Points, step: float = 2.0) -> Points:
    """Points every `step` pixels along the polyline (so wobble is even along it)."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    length = np.concatenate([[0], np.cumsum(seg)])
    if length[-1] == 0:
        return points
    at = np.linspace(0, length[-1], max(2, int(length[-1] / step)))
    return np.stack([np.interp(at, length, points[:, i]) for i in (0, 1)], axis=1)


def _smooth_noise(n: int, amount: float, rng: np.random.Generator) -> Points:
    """A slow drift of about `amount` pixels: the sum of a few low-frequency waves."""
    if amount == 0:
        return np.zeros((n, 2))
    t = np.linspace(0, 1, n)[:, None]
    waves = rng.integers(1, 4, size=(3, 1, 2)) * t[None]
    phases = rng.uniform(0, 2 * math.pi, size=(3, 1, 2))
    return amount * np.sin(2 * math.pi * waves + phases).sum(0) / 1.7


def _ellipse(centre: Points, rx: float, ry: float, tilt: float = 0.0, n: int = 60) -> Points:
    a = np.linspace(0, 2 * math.pi, n, endpoint=False)
    x, y = rx * np.cos(a), ry * np.sin(a)
    c, s = math.cos(tilt), math.sin(tilt)
    return np.stack([c * x - s * y, s * x + c * y], axis=1) + centre


def _face(draw, pen: Pen, pts: Points, rng: np.random.Generator, hair_drawn: bool) -> None:
    """The outline: the true one, its lower part only (under hair), or a perfect or sloppy ellipse."""
    choice = rng.random()
    if choice < 0.45:
        pen.line(draw, pts[JAW] if hair_drawn and rng.random() < 0.6 else pts[FACE_OVAL],
                 closed=not hair_drawn)  # fmt: skip
        return
    oval = pts[FACE_OVAL]
    centre = (oval.max(0) + oval.min(0)) / 2
    rx, ry = (oval.max(0) - oval.min(0)) / 2 * rng.uniform(0.95, 1.08, 2)
    ellipse = _ellipse(centre, rx, ry, rng.normal(0, 0.04))
    if choice < 0.75:  # sloppy: an egg, wider at the cheeks, narrower at the chin
        below = ellipse[:, 1] > centre[1]
        ellipse[below, 0] = centre[0] + (ellipse[below, 0] - centre[0]) * rng.uniform(0.75, 0.95)
    pen.line(draw, ellipse, closed=True)


def _eyes(draw, pen: Pen, pts: Points, rng: np.random.Generator) -> None:
    style = rng.choice(["almond", "almond_iris", "circle_pupil", "dot", "upper"],
                       p=[0.2, 0.3, 0.3, 0.1, 0.1])  # fmt: skip
    for upper, lower, iris, edge in EYES.values():
        centre, radius = pts[iris], np.linalg.norm(pts[edge] - pts[iris])
        width = np.linalg.norm(pts[upper[0]] - pts[upper[-1]])
        if style in ("almond", "almond_iris", "upper"):
            pen.line(draw, pts[upper])
            if style != "upper":
                pen.line(draw, pts[lower])
            if style == "almond_iris":
                pen.line(draw, _ellipse(centre, radius, radius, n=24), closed=True)
                pen.dot(draw, centre, radius * rng.uniform(0.3, 0.6))
            elif rng.random() < 0.5:
                pen.dot(draw, centre, radius * rng.uniform(0.4, 0.9))
        elif style == "circle_pupil":
            r = width * rng.uniform(0.3, 0.55)
            eye_centre = pts[upper + lower].mean(0)
            pen.line(draw, _ellipse(eye_centre, r, r * rng.uniform(0.7, 1.0), n=30), closed=True)
            pen.dot(draw, centre, r * rng.uniform(0.25, 0.5))
        else:
            pen.dot(draw, centre, radius * rng.uniform(0.5, 1.0))


def _nose(draw, pen: Pen, pts: Points, rng: np.random.Generator) -> None:
    style = rng.choice(
        ["line", "hook", "nostrils", "bottom", "wings"], p=[0.2, 0.3, 0.2, 0.15, 0.15]
    )
    wing_r, wing_l, bottom = pts[NOSE_WINGS[0]], pts[NOSE_WINGS[1]], pts[NOSE_BOTTOM]
    if style == "line":
        pen.line(draw, pts[NOSE_BRIDGE[1:]])
    elif style == "hook":
        side = wing_r if rng.random() < 0.5 else wing_l
        pen.line(draw, np.vstack([pts[NOSE_BRIDGE[1:-1]], bottom, side]))
    elif style == "nostrils":
        size = np.linalg.norm(wing_l - wing_r) * 0.1
        for wing in (wing_r, wing_l):
            pen.dot(draw, (wing * 0.55 + bottom * 0.45) - [0, size * 0.5], size)
    elif style == "bottom":
        pen.line(draw, np.vstack([wing_r, bottom + np.array([0, 1]), wing_l]))
    else:
        pen.line(draw, np.vstack([wing_r - [0, 4], wing_r, bottom, wing_l, wing_l - [0, 4]]))


def _mouth(draw, pen: Pen, pts: Points, rng: np.random.Generator) -> None:
    style = rng.choice(["one", "two", "lips"], p=[0.45, 0.3, 0.25])
    if style == "one":
        pen.line(draw, pts[LIPS_INNER])
    elif style == "two":
        pen.line(draw, pts[LIPS_OUTER[0]])
        pen.line(draw, pts[LIPS_OUTER[1]])
    else:
        pen.line(draw, np.vstack([pts[LIPS_OUTER[0]], pts[LIPS_OUTER[1]][::-1]]), closed=True)
        pen.line(draw, pts[LIPS_INNER])


def face_oval(pts: Points, scale: float = 1.0) -> Points:
    """The face's outline, grown `scale` times about its centre."""
    oval = pts[FACE_OVAL]
    middle = oval.mean(0)
    return middle + (oval - middle) * scale


def _ears(draw, pen: Pen, pts: Points, eye_distance: float) -> None:
    for side, (top, bottom) in zip((-1, 1), EARS, strict=True):
        a, b = pts[top], pts[bottom]
        bulge = (a + b) / 2 + [side * eye_distance * 0.22, 0]
        pen.line(draw, np.vstack([a, a * 0.4 + bulge * 0.6, bulge, b * 0.4 + bulge * 0.6, b]))


def _silhouette(person: np.ndarray, centre: Points, rays: int = 120) -> Points:
    """The person's outline, walking out from `centre` along rays (NaN where a ray leaves the picture)."""
    h, w = person.shape
    reach = np.arange(0, math.hypot(h, w))
    outline = np.full((rays, 2), np.nan)
    for i, angle in enumerate(np.linspace(-math.pi, math.pi, rays, endpoint=False)):
        xs = centre[0] + reach * math.cos(angle)
        ys = centre[1] + reach * math.sin(angle)
        on = (xs >= 0) & (xs < w - 1) & (ys >= 0) & (ys < h - 1)
        first_off = np.flatnonzero(~on)
        stop = first_off[0] if len(first_off) else len(xs)
        outside = np.flatnonzero(~person[ys[:stop].astype(int), xs[:stop].astype(int)])
        if len(outside):
            outline[i] = xs[outside[0]], ys[outside[0]]
    return outline


def _runs(outline: Points, keep: np.ndarray) -> list[Points]:
    """Unbroken stretches of the outline where `keep` holds and the ray found an edge."""
    good = keep & ~np.isnan(outline[:, 0])
    runs, current = [], []
    for point, ok in zip(outline, good, strict=True):
        if ok:
            current.append(point)
        elif current:
            runs.append(np.array(current))
            current = []
    if current:
        runs.append(np.array(current))
    return [r for r in runs if len(r) > 2]


def _hair_and_body(
    draw, pen: Pen, pts: Points, person: np.ndarray, rng, eye_distance: float, hair=None
):
    """Hair (outline, scribble, strands, curls or nothing), then neck and shoulders. Returns whether
    hair was drawn. `hair` is where the photo's hair is (train.traits); without it, the person
    above the ears outside the face."""
    centre = pts[CROWN]
    outline = _silhouette(person, centre)
    jaw_level = pts[CHIN, 1] - eye_distance * 0.3
    ear_level = pts[[EARS[0][0], EARS[1][0]], 1].mean()
    style = rng.choice(["outline", "scribble", "strands", "curls", "none"],
                       p=[0.3, 0.25, 0.2, 0.1, 0.15])  # fmt: skip
    rows = np.arange(person.shape[0])[:, None]
    if hair is None:
        oval = Image.new("1", person.shape[::-1], 0)
        ImageDraw.Draw(oval).polygon([tuple(p) for p in pts[FACE_OVAL]], fill=1)
        hair = person & ~np.asarray(oval) & (rows < ear_level + eye_distance * 0.6)
        hair_bottom = ear_level + eye_distance * 0.4
    else:  # the outline follows the hair down as far as it goes (long hair beside the jaw)
        head = Image.new("1", person.shape[::-1], 0)  # hair-coloured bits far off are not hair
        ImageDraw.Draw(head).polygon([tuple(p) for p in face_oval(pts, 1.8)], fill=1)
        hair = hair & np.asarray(head)
        ys = np.nonzero(hair)[0]
        hair_bottom = max(ear_level, float(np.percentile(ys, 95))) if len(ys) else ear_level
    if style != "none" and hair.sum() > eye_distance**2 * 0.3:
        top = _runs(outline, outline[:, 1] < hair_bottom)
        if style == "outline" or rng.random() < 0.5:
            for run in top:
                pen.line(draw, run)
        ys, xs = np.nonzero(hair)
        if style == "scribble":  # short back-and-forth strokes that fill the hair in
            angle = rng.uniform(0, math.pi)
            along = np.array([math.cos(angle), math.sin(angle)])
            across = np.array([-along[1], along[0]])
            for _ in range(int(rng.integers(8, 30))):
                start = np.array([xs[i := rng.integers(len(xs))], ys[i]], float)
                length = eye_distance * rng.uniform(0.2, 0.6)
                j = np.arange(int(rng.integers(4, 12)))[:, None]
                path = start + (j % 2) * length * along + j * eye_distance * 0.06 * across
                inside = hair[np.clip(path[:, 1].astype(int), 0, hair.shape[0] - 1),
                              np.clip(path[:, 0].astype(int), 0, hair.shape[1] - 1)]  # fmt: skip
                cut = np.flatnonzero(~inside)
                pen.line(draw, path[: cut[0] if len(cut) else len(path)])
        elif style == "strands":  # lines from the crown downwards
            crown = np.array([centre[0], ys.min()])
            for _ in range(int(rng.integers(5, 14))):
                end = np.array([xs[i := rng.integers(len(xs))], ys[i]], float)
                middle = (crown + end) / 2 + rng.normal(0, eye_distance * 0.1, 2)
                pen.line(draw, np.vstack([crown + rng.normal(0, 3, 2), middle, end]))
        elif style == "curls":
            for _ in range(int(rng.integers(8, 25))):
                at = np.array([xs[i := rng.integers(len(xs))], ys[i]], float)
                r = eye_distance * rng.uniform(0.06, 0.14)
                pen.line(draw, _ellipse(at, r, r * rng.uniform(0.7, 1), n=16), closed=True)
        hair_drawn = True
    else:
        hair_drawn = False
    if rng.random() < 0.75:  # neck and shoulders
        for run in _runs(outline, outline[:, 1] > jaw_level + eye_distance * 0.5):
            pen.line(draw, run)
    return hair_drawn


def glasses_frames(
    pts: Points, round_frames: bool, temples: bool = False
) -> list[tuple[Points, bool]]:
    """Where a pair of glasses sits on the face: each frame (a closed loop around an eye, round or
    square), the bridge between them and, with `temples`, a temple from each frame out to the
    face's edge, as (polyline, closed). The doodle draws these lines and `train.glasses` paints
    frames along the same ones, so drawn and painted glasses agree."""
    frames, inner, arms = [], [], []
    for (upper, lower, _, _), edge, out in zip(EYES.values(), TEMPLE_ENDS, (-1, 1), strict=True):
        eye = pts[upper + lower]
        c = eye.mean(0)
        rx = (eye[:, 0].max() - eye[:, 0].min()) * 0.75
        inner.append(c - np.array([out * rx, 0]))
        if round_frames:
            frames.append((_ellipse(c, rx, rx * 0.8, n=30), True))
        else:
            box = np.array([[-rx, -0.7 * rx], [rx, -0.7 * rx], [rx, 0.7 * rx], [-rx, 0.7 * rx]])
            frames.append((box + c, True))
        if (pts[edge, 0] - c[0]) * out > rx * 1.1:  # the face's edge lies beyond the frame
            arms.append((np.array([c + np.array([out * rx, 0]), [pts[edge, 0], c[1]]]), False))
    return [*frames, (np.array(inner), False), *(arms if temples else [])]


def _glasses(
    draw, pen: Pen, pts: Points, rng: np.random.Generator, round_frames: bool | None = None
) -> None:
    """Glasses as the hand draws them, temples half the time; round or square at random unless
    `round_frames` says."""
    round_frames = rng.random() < 0.5 if round_frames is None else round_frames
    for line, closed in glasses_frames(pts, round_frames, temples=rng.random() < 0.5):
        pen.line(draw, line, closed=closed)


def _beard(draw, pen: Pen, pts: Points, rng: np.random.Generator, eye_distance: float) -> None:
    """Short zigzag strokes over the jaw below the mouth, and now and then a moustache line."""
    jaw = pts[JAW]
    lower = jaw[jaw[:, 1] > pts[LIPS_OUTER[1]][:, 1].mean()]
    if len(lower) < 3:
        return
    top = pts[NOSE_BOTTOM, 1] + 0.15 * eye_distance
    lip_box = pts[LIPS_OUTER[0] + LIPS_OUTER[1]]
    lower = lower[np.argsort(lower[:, 0])]
    for _ in range(int(rng.integers(10, 28))):
        x = rng.uniform(lower[:, 0].min(), lower[:, 0].max())
        bottom = np.interp(x, lower[:, 0], lower[:, 1])
        y = rng.uniform(top, bottom)
        inside_lips = (lip_box[:, 0].min() - 2 < x < lip_box[:, 0].max() + 2) and (
            lip_box[:, 1].min() - 2 < y < lip_box[:, 1].max() + 2
        )
        if inside_lips:
            continue
        step = eye_distance * 0.05
        zig = np.array([[x, y], [x + step, y + step * 1.5], [x + 2 * step, y]])
        pen.line(draw, zig)
    if rng.random() < 0.6:
        corners = pts[[LIPS_OUTER[0][0], LIPS_OUTER[0][-1]]]
        middle = (corners.mean(0) + pts[NOSE_BOTTOM]) / 2
        pen.line(draw, np.vstack([corners[0] - [0, 2], middle, corners[1] - [0, 2]]))


def draw_doodle(
    points: np.ndarray,
    person: np.ndarray,
    rng: np.random.Generator,
    size: int = 256,
    traits: dict | None = None,
) -> Image.Image:
    """A face doodle ('L', size x size, dark lines on white) from 478 landmarks in pixels and a
    boolean person mask of the same size.

    `traits` (from `train.traits`, as `train.pack` stores them: glasses, beard, hair mask) makes
    the doodle draw what the photo has: glasses on 90% of the photos that wear them and on none of
    the others, a beard on 90% of those with one, hair strokes where the hair is; with "frames" (the
    glasses `train.glasses` painted on the photo: True round, False square) those glasses, always.
    Without traits, glasses are drawn on 8% at random and beards never (the photo is not known)."""
    eye_distance = float(np.linalg.norm(points[IRISES[0]] - points[IRISES[1]]))
    canvas = Image.new("L", (size * SCALE, size * SCALE), 255)
    draw = ImageDraw.Draw(canvas)
    pen = Pen(rng, eye_distance)
    leave_out = rng.random() < 0.3  # now and then a part is forgotten
    known = traits is not None
    hair_drawn = _hair_and_body(
        draw, pen, points, person, rng, eye_distance, traits["hair"] if known else None
    )
    frames = traits.get("frames") if known else None  # glasses painted on the photo: always drawn
    if frames is not None:
        glasses = True
    else:
        glasses = (
            rng.random() < (0.9 if traits["glasses"] else 0.0) if known else rng.random() < 0.08
        )
    beard = known and traits["beard"] and rng.random() < 0.9
    parts = [
        lambda: _face(draw, pen, points, rng, hair_drawn),
        lambda: _eyes(draw, pen, points, rng),
        lambda: [pen.line(draw, points[b]) for b in BROWS] if rng.random() < 0.8 else None,
        lambda: _nose(draw, pen, points, rng),
        lambda: _mouth(draw, pen, points, rng),
        lambda: _ears(draw, pen, points, eye_distance) if rng.random() < 0.5 else None,
        lambda: _glasses(draw, pen, points, rng, frames) if glasses else None,
        lambda: _beard(draw, pen, points, rng, eye_distance) if beard else None,
    ]
    skip = int(rng.integers(len(parts))) if leave_out else -1
    for i, part in enumerate(parts):
        if i != skip or i in (0, 1, 6, 7):  # outline, eyes, glasses, beard: never forgotten
            part()
    return canvas.resize((size, size), Image.Resampling.LANCZOS)


LANDMARKS_DRAWN = sorted(
    {
        *FACE_OVAL,
        *(i for upper, lower, iris, edge in EYES.values() for i in (*upper, *lower, iris, edge)),
        *(i for brow in BROWS for i in brow),
        *(i for lip in LIPS_OUTER for i in lip),
        *LIPS_INNER,
        *NOSE_BRIDGE,
        *NOSE_WINGS,
        NOSE_BOTTOM,
        CROWN,
        CHIN,
        *(i for ear in EARS for i in ear),
    }
)  # the landmarks a doodle is drawn from: what train.pack keeps
