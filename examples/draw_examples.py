"""Draw the demo's example sketches: faces in a few styles, black on white, 512x512 PNG.

`python examples/draw_examples.py` rewrites examples/*.png. Everything is drawn here with PIL
curves and ellipses (no photo, no dataset image), framed like the CUHK portraits the model learnt
from: the face fills the picture, the eyes a little below half height, shoulders at the bottom;
one is drawn small in a corner, which the model's framer (pix2pix.framing) moves for it.
The styles run from a plain line doodle to pencil-like hatched hair, and differ in face shape,
hair, glasses, beard and pen width, so the gallery shows what a drawing changes in the photo.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 512
HERE = Path(__file__).resolve().parent

Point = tuple[float, float]


@dataclass(frozen=True)
class Face:
    name: str
    pen: int = 4  # outline width in pixels at 512x512
    width: float = 0.26  # half the face's width, as a fraction of the picture
    chin: float = 0.85  # height of the chin
    eye_size: float = 1.0
    hair: str = "outline"  # outline (a doodle), long, short, bob, curly
    glasses: bool = False
    beard: bool = False
    smile: float = 0.01  # how far the mouth's corners rise (negative: a frown)
    scale: float = 1.0  # below 1, the drawing is small, as visitors often draw: shrunk to this
    corner: Point = (0.0, 0.0)  # and its top-left corner put here (fractions of the picture)


FACES = [
    Face("doodle", pen=5),
    Face("long_hair", pen=3, width=0.25, eye_size=1.1, hair="long", smile=0.015),
    Face("short_hair_glasses", pen=3, width=0.27, chin=0.87, hair="short", glasses=True),
    Face("bob", pen=3, width=0.25, chin=0.84, eye_size=1.1, hair="bob", smile=0.02),
    Face("beard_marker", pen=8, width=0.28, chin=0.86, hair="short", beard=True, smile=-0.005),
    Face("curly", pen=3, width=0.26, hair="curly", smile=0.02),
    Face("small_off_centre", pen=7, hair="bob", smile=0.02, scale=0.5, corner=(0.08, 0.1)),
]


def bezier(*controls: Point, steps: int = 40) -> list[Point]:
    """Points along a Bezier curve from the first to the last control point (de Casteljau)."""
    points = []
    for i in range(steps + 1):
        t = i / steps
        layer = list(controls)
        while len(layer) > 1:
            layer = [
                (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)
                for a, b in itertools.pairwise(layer)
            ]
        points.append(layer[0])
    return points


def curve(draw: ImageDraw.ImageDraw, pen: int, *controls: Point) -> None:
    """A curve through fractions of the picture."""
    points = [(x * SIZE, y * SIZE) for x, y in bezier(*controls)]
    draw.line(points, fill=0, width=pen, joint="curve")


def ellipse(
    draw: ImageDraw.ImageDraw, pen: int, cx: float, cy: float, rx: float, ry: float, fill=None
):
    box = [(cx - rx) * SIZE, (cy - ry) * SIZE, (cx + rx) * SIZE, (cy + ry) * SIZE]
    draw.ellipse(box, outline=0, width=pen, fill=fill)


def face_outline(draw: ImageDraw.ImageDraw, face: Face) -> None:
    """Cheeks, jaw and chin, ears, neck and shoulders."""
    w, chin, pen = face.width, face.chin, face.pen
    for side in (-1, 1):
        x = 0.5 + side * w
        curve(
            draw,
            pen,
            (x, 0.36),
            (x + side * 0.01, 0.62),
            (0.5 + side * w * 0.55, chin),
            (0.5, chin),
        )
        curve(
            draw,
            pen,
            (x, 0.45),
            (x + side * 0.05, 0.43),
            (x + side * 0.05, 0.56),
            (x - side * 0.005, 0.58),
        )
        neck = 0.5 + side * w * 0.55
        curve(draw, pen, (neck, chin - 0.06), (neck, chin + 0.04), (neck + side * 0.01, 0.93))
        curve(
            draw,
            pen,
            (neck + side * 0.01, 0.93),
            (neck + side * 0.15, 0.95),
            (0.5 + side * 0.5, 0.99),
        )


def eyes_and_brows(draw: ImageDraw.ImageDraw, face: Face) -> None:
    pen, s = max(2, face.pen - 1), face.eye_size
    for side in (-1, 1):
        cx, cy = 0.5 + side * face.width * 0.42, 0.49
        rx, ry = 0.045 * s, 0.017 * s
        curve(
            draw, pen + 1, (cx - rx, cy + 0.003), (cx - rx * 0.3, cy - 2.3 * ry), (cx + rx, cy)
        )  # upper lid
        curve(
            draw, max(2, pen - 1), (cx - rx * 0.8, cy + 0.004), (cx, cy + 1.5 * ry), (cx + rx, cy)
        )
        ellipse(draw, 1, cx, cy - 0.002, ry * 0.95, ry * 0.95, fill=0)  # iris
        inner, outer = cx - side * 0.05 * s, cx + side * 0.06 * s
        for k in range(3 if face.pen < 6 else 1):  # a brow in a few pencil passes
            dy = 0.004 * k
            curve(draw, face.pen, (inner, 0.435 + dy), (cx, 0.415 + dy), (outer, 0.43 + dy))
        if face.glasses:
            ellipse(draw, pen, cx, cy, 0.075, 0.055)
            curve(
                draw,
                pen,
                (cx + side * 0.075, cy - 0.01),
                (0.5 + side * (face.width + 0.01), cy - 0.02),
            )
    if face.glasses:
        gap = face.width * 0.42 - 0.075
        curve(draw, pen, (0.5 - gap, cy - 0.005), (0.5, cy - 0.02), (0.5 + gap, cy - 0.005))


def nose_and_mouth(draw: ImageDraw.ImageDraw, face: Face) -> None:
    pen = max(2, face.pen - 1)
    curve(draw, pen, (0.475, 0.5), (0.47, 0.56), (0.455, 0.6), (0.475, 0.615))  # side of the nose
    curve(draw, pen, (0.47, 0.617), (0.5, 0.628), (0.53, 0.617))  # nostrils
    curve(draw, pen, (0.525, 0.6), (0.545, 0.605), (0.53, 0.617))
    y, half, lift = 0.69, 0.06, face.smile
    curve(draw, face.pen, (0.5 - half, y - lift), (0.5, y + 0.012 + lift), (0.5 + half, y - lift))
    curve(
        draw,
        pen,
        (0.5 - half * 0.7, y - lift * 0.5),
        (0.5, y - 0.015),
        (0.5 + half * 0.7, y - lift * 0.5),
    )
    curve(draw, pen, (0.47, y + 0.035), (0.5, y + 0.045), (0.53, y + 0.035))  # lower lip


def strands(
    draw: ImageDraw.ImageDraw, face: Face, length: float, spread: float, count: int
) -> None:
    """Hatched hair: pencil strands from the parting down each side, filling the band between the
    hairline (inner curve) and the outline of the hair (outer curve), down to height `length`."""
    rng = random.Random(face.name)
    w = face.width
    inner_end = (w - 0.01, 0.36) if length < 0.5 else (w + 0.01, length)
    inner = [
        (0.0, 0.12),
        (w * 0.7, 0.15),
        (w - 0.01, 0.25),
        inner_end,
    ]  # (distance from the middle, height)
    outer = [(0.0, 0.065), (w + 0.07, 0.06), (w + 0.04, 0.3), (w + 0.02 + spread, length)]
    for side in (-1, 1):
        for i in range(count):
            u = i / (count - 1)
            controls = [
                (
                    0.5 + side * (a[0] + (b[0] - a[0]) * u + rng.uniform(-0.006, 0.006)),
                    a[1] + (b[1] - a[1]) * u,
                )
                for a, b in zip(inner, outer, strict=True)
            ]
            controls[-1] = (controls[-1][0], controls[-1][1] + rng.uniform(-0.03, 0.02))
            curve(draw, rng.choice((1, 2, 2, 3)), *controls)


def hair(draw: ImageDraw.ImageDraw, face: Face) -> None:
    w, pen = face.width, face.pen
    top = [
        (0.5 - w - 0.01, 0.4),
        (0.5 - w - 0.04, 0.06),
        (0.5 + w + 0.04, 0.06),
        (0.5 + w + 0.01, 0.4),
    ]
    curve(draw, pen, *top)  # the skull
    if face.hair == "outline":
        curve(draw, pen, (0.5 - w + 0.01, 0.33), (0.4, 0.2), (0.62, 0.22), (0.5 + w - 0.01, 0.33))
    elif face.hair == "long":
        strands(draw, face, length=0.95, spread=0.07, count=45)
    elif face.hair == "short":
        strands(draw, face, length=0.42, spread=0.02, count=40)
        rng = random.Random(face.name)
        for i in range(26):  # a fringe swept to one side
            x = 0.5 - w + 0.02 + i * (2 * w - 0.04) / 25
            curve(
                draw,
                rng.choice((1, 2)),
                (x - 0.05, 0.12),
                (x - 0.02, 0.2),
                (x + 0.02, 0.29 + rng.uniform(-0.01, 0.01)),
            )
    elif face.hair == "bob":
        strands(draw, face, length=0.74, spread=0.05, count=45)
        rng = random.Random(face.name)
        for i in range(30):  # a straight fringe down to the brows
            x = 0.5 - w + 0.01 + i * (2 * w - 0.02) / 29
            curve(
                draw,
                rng.choice((1, 2)),
                (0.5 + (x - 0.5) * 0.6, 0.1),
                (x, 0.25),
                (x + rng.uniform(-0.005, 0.005), 0.37),
            )
    elif face.hair == "curly":
        for row, y in enumerate((0.1, 0.16, 0.23, 0.3)):
            n = 7 + row
            for i in range(n):
                x = 0.5 - w - 0.02 + i * (2 * w + 0.04) / (n - 1)
                ellipse(draw, max(2, pen - 1), x, y + 0.02 * abs(i - (n - 1) / 2) / n, 0.035, 0.03)
        for side in (-1, 1):
            for j in range(3):
                ellipse(
                    draw, max(2, pen - 1), 0.5 + side * (w + 0.015), 0.36 + 0.06 * j, 0.03, 0.03
                )


def beard(draw: ImageDraw.ImageDraw, face: Face) -> None:
    if not face.beard:
        return
    w, chin, pen = face.width, face.chin, face.pen
    curve(
        draw,
        pen,
        (0.5 - w, 0.58),
        (0.5 - w * 0.6, chin + 0.08),
        (0.5 + w * 0.6, chin + 0.08),
        (0.5 + w, 0.58),
    )
    curve(draw, pen, (0.44, 0.66), (0.5, 0.645), (0.56, 0.66))  # moustache


def draw_face(face: Face) -> Image.Image:
    image = Image.new("L", (SIZE, SIZE), 255)
    draw = ImageDraw.Draw(image)
    for part in (face_outline, hair, eyes_and_brows, nose_and_mouth, beard):
        part(draw, face)
    if face.scale == 1:
        return image
    paper = Image.new("L", (SIZE, SIZE), 255)
    small = image.resize((round(SIZE * face.scale),) * 2, Image.Resampling.LANCZOS)
    paper.paste(small, (round(SIZE * face.corner[0]), round(SIZE * face.corner[1])))
    return paper


def main() -> None:
    for old in HERE.glob("*.png"):
        old.unlink()
    for face in FACES:
        draw_face(face).save(HERE / f"{face.name}.png", optimize=True)
        print(f"examples/{face.name}.png")


if __name__ == "__main__":
    main()
