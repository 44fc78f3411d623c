"""sketchify: photo -> line drawing, checked on a synthetic face drawn here (no data files)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pix2pix.sketchify import STYLES, doodle, edges, sketchify, xdog

SIZE = 256
FACE_BOX = (0.2 * SIZE, 0.12 * SIZE, 0.8 * SIZE, 0.88 * SIZE)
EYES = ((0.4 * SIZE, 0.42 * SIZE), (0.6 * SIZE, 0.42 * SIZE))
MOUTH = (0.4 * SIZE, 0.68 * SIZE, 0.6 * SIZE, 0.68 * SIZE)


def draw_face(fill: str | tuple[int, int, int], band: int = 0) -> Image.Image:
    """The synthetic face or, with band, a band that wide centred on each of its edges."""
    image = Image.new("RGB", (SIZE, SIZE), "white")
    draw = ImageDraw.Draw(image)
    if band:
        x0, y0, x1, y1 = FACE_BOX
        half = band / 2
        draw.ellipse((x0 - half, y0 - half, x1 + half, y1 + half), outline=fill, width=band)
        for x, y in EYES:
            draw.ellipse((x - 8 - half, y - 8 - half, x + 8 + half, y + 8 + half), fill=fill)
        draw.line(MOUTH, fill=fill, width=4 + band)
        return image
    draw.ellipse(FACE_BOX, fill=fill)
    for x, y in EYES:
        draw.ellipse((x - 8, y - 8, x + 8, y + 8), fill=(30, 20, 20))
    draw.line(MOUTH, fill=(90, 30, 30), width=4)
    return image


@pytest.fixture(scope="module")
def face() -> Image.Image:
    return draw_face((200, 160, 140))


@pytest.fixture(scope="module")
def near_edges() -> np.ndarray:
    """True within 15 px of an edge of the synthetic face: the doodle's jitter moves lines up to
    about 13 px (5% scale at the outline plus 3% shift)."""
    return np.asarray(draw_face("black", band=30).convert("L")) < 128


def ink(drawing: Image.Image) -> np.ndarray:
    return np.asarray(drawing) < 128


def border_points(inset: float) -> list[tuple[int, int]]:
    """(row, col) of 16 points on the face ellipse, moved `inset` pixels towards its centre."""
    x0, y0, x1, y1 = FACE_BOX
    cx, cy, ax, ay = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2 - inset, (y1 - y0) / 2 - inset
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    return [(round(cy + ay * np.sin(t)), round(cx + ax * np.cos(t))) for t in angles]


@pytest.mark.parametrize("style", STYLES)
def test_every_style_gives_a_grey_image_of_the_photo_size(style: str) -> None:
    photo = draw_face((200, 160, 140)).resize((200, 250))
    drawing = sketchify(photo, style, rng=np.random.default_rng(0))
    assert drawing.mode == "L"
    assert drawing.size == (200, 250)


@pytest.mark.parametrize("style", STYLES)
def test_lines_on_a_white_background(face: Image.Image, style: str) -> None:
    pixels = np.asarray(sketchify(face, style, rng=np.random.default_rng(1)))
    assert (pixels > 200).mean() > 0.9
    corners = [pixels[:16, :16], pixels[:16, -16:], pixels[-16:, :16], pixels[-16:, -16:]]
    assert all((corner == 255).all() for corner in corners)
    assert (pixels < 128).sum() > 100


@pytest.mark.parametrize("draw", [xdog, edges])
def test_dark_lines_follow_the_face_outline(face: Image.Image, draw) -> None:
    drawn = ink(draw(face))
    for row, col in border_points(inset=1):
        assert drawn[row - 3 : row + 4, col - 3 : col + 4].any(), (row, col)


@pytest.mark.parametrize("draw", [xdog, edges])
def test_eyes_and_mouth_are_drawn(face: Image.Image, draw) -> None:
    drawn = ink(draw(face))
    for x, y in EYES:
        assert drawn[round(y) - 10 : round(y) + 11, round(x) - 10 : round(x) + 11].any()
    x0, y, x1, _ = (round(v) for v in MOUTH)
    assert drawn[y - 5 : y + 6, x0:x1].any()


def test_face_interior_and_background_stay_white(face: Image.Image) -> None:
    for drawing in (xdog(face), edges(face)):
        pixels = np.asarray(drawing)
        assert (pixels[140:150, 80:100] > 230).all()  # cheek, below the eyes
        assert (pixels[120:136, :24] == 255).all()  # background left of the face


def test_edges_are_thin(face: Image.Image) -> None:
    drawn = ink(edges(face))
    assert 0 < drawn.mean() < 0.03
    # One pixel wide: no 2x2 block is all ink.
    blocks = drawn[:-1, :-1] & drawn[1:, :-1] & drawn[:-1, 1:] & drawn[1:, 1:]
    assert not blocks.any()


def test_doodle_ink_lies_on_the_face_edges(face: Image.Image, near_edges: np.ndarray) -> None:
    for seed in range(6):
        drawn = ink(doodle(face, np.random.default_rng(seed)))
        assert drawn.any()
        assert near_edges[drawn].mean() > 0.9, seed


def test_doodle_is_deterministic_per_seed(face: Image.Image) -> None:
    first = np.asarray(doodle(face, np.random.default_rng(7)))
    again = np.asarray(doodle(face, np.random.default_rng(7)))
    other = np.asarray(doodle(face, np.random.default_rng(8)))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_doodle_without_rng_uses_a_fixed_seed(face: Image.Image) -> None:
    assert np.array_equal(
        np.asarray(sketchify(face, "doodle")), np.asarray(sketchify(face, "doodle"))
    )


def stroke_width(drawn: np.ndarray) -> float:
    """Median length of the ink runs across lines (rows or columns, whichever are shorter)."""
    medians = []
    for lines in (drawn, drawn.T):
        steps = np.diff(np.pad(lines, ((0, 0), (1, 1))).astype(np.int8), axis=1)
        medians.append(np.median(np.nonzero(steps == -1)[1] - np.nonzero(steps == 1)[1]))
    return min(medians)


def test_doodle_pen_width_varies_with_the_seed(face: Image.Image) -> None:
    drawings = [ink(doodle(face, np.random.default_rng(seed))) for seed in range(8)]
    widths = [stroke_width(d) for d in drawings if d.any()]
    assert min(widths) <= 1.5
    assert max(widths) >= 3
    fractions = [d.mean() for d in drawings]
    assert max(fractions) > 2 * min(fractions)


def test_blank_photo_gives_a_blank_drawing() -> None:
    blank = Image.new("RGB", (64, 64), (180, 180, 180))
    for style in STYLES:
        assert (np.asarray(sketchify(blank, style)) == 255).all(), style


def test_unknown_style_names_the_choices(face: Image.Image) -> None:
    with pytest.raises(ValueError, match="xdog, edges, doodle"):
        sketchify(face, "charcoal")


def test_too_small_photo_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        sketchify(Image.new("RGB", (8, 8)), "edges")
