"""split_drawing: a colour drawing comes apart into grey lines and colour hints, as a canvas draws it.

Drawings are made like the app's canvas makes them: strokes drawn at twice the size and scaled
down, so every edge is anti-aliased (a red stroke's rim is pink, a black line's rim grey).
"""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from pix2pix.hints import PALETTE, split_drawing

SIZE = 128
RED = (200, 40, 30)
OUTLINE = [(20, 15), (108, 15), (108, 115), (20, 115), (20, 15)]  # a box of black lines
SCRIBBLE = [(30, 30), (95, 34), (32, 42), (96, 46), (34, 55)]  # a thick zigzag over the "hair"
CROSSING = [(64, 8), (64, 70)]  # a line through the scribble


def drawing(*strokes, size: int = SIZE) -> Image.Image:
    """(colour, points, width) strokes on white paper, drawn at 2x and scaled down (anti-aliased)."""
    big = Image.new("RGB", (2 * size, 2 * size), "white")
    draw = ImageDraw.Draw(big)
    for colour, points, width in strokes:
        draw.line([(2 * x, 2 * y) for x, y in points], fill=colour, width=2 * width, joint="curve")
    return big.resize((size, size), Image.Resampling.BOX)


def coverage(points, width: int) -> np.ndarray:
    """How much of each pixel the stroke covers, 0..1, drawn the same way as `drawing`."""
    return 1 - np.asarray(drawing(((0, 0, 0), points, width)).convert("L"), np.float32) / 255


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(buffer).convert("RGB")


def grey(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"))


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(drawing(((0, 0, 0), OUTLINE, 3), ((0, 0, 0), CROSSING, 2)), id="black-pen"),
        pytest.param(
            drawing(((110, 110, 110), OUTLINE, 2), ((170, 170, 170), SCRIBBLE, 6)), id="pencil"
        ),
        pytest.param(
            jpeg(drawing(((0, 0, 0), OUTLINE, 3), ((60, 60, 60), SCRIBBLE, 8)), 50), id="jpeg"
        ),
        pytest.param(drawing(((0, 0, 0), OUTLINE, 3)).convert("L"), id="grey-image"),
    ],
)
def test_black_and_grey_drawings_are_all_lines(image):
    """Exactly the grey image of before (bit for bit) and no hint: a black-only drawing gives the
    photo it always gave."""
    lines, colours, mask = split_drawing(image)
    assert lines.mode == "L"
    assert np.array_equal(np.asarray(lines), grey(image))
    assert not mask.any() and not colours.any()
    assert colours.shape == (SIZE, SIZE, 3) and mask.shape == (SIZE, SIZE)


def test_red_stroke_is_a_hint_with_its_colour_and_a_clean_mask():
    image = drawing(((0, 0, 0), OUTLINE, 3), (RED, SCRIBBLE, 8))
    lines, colours, mask = split_drawing(image)
    covered = coverage(SCRIBBLE, 8)
    assert np.array_equal(mask, covered >= 0.5)  # the stroke where it covers half a pixel or more
    assert (colours[mask] == RED).all()  # the pen's colour, also on the pink rim
    assert not colours[~mask].any()
    # No grey outline where the pink rim was, and the box's lines are untouched.
    alone = grey(drawing(((0, 0, 0), OUTLINE, 3)))
    assert np.array_equal(np.asarray(lines), np.where(covered > 0, 255, alone))


def test_black_line_over_a_hint_stays_a_line_and_under_a_hint_is_hidden():
    over = drawing((RED, SCRIBBLE, 8), ((0, 0, 0), CROSSING, 2))
    lines, _, mask = split_drawing(over)
    line = coverage(CROSSING, 2) >= 0.99
    assert np.asarray(lines)[line].max() <= 10  # the line's ink, across the red
    assert not mask[line].any()  # and no colour under it
    assert mask.sum() > 0.8 * (coverage(SCRIBBLE, 8) >= 0.5).sum()

    under = drawing(((0, 0, 0), CROSSING, 2), (RED, SCRIBBLE, 8))
    lines, _, mask = split_drawing(under)
    hidden = (coverage(SCRIBBLE, 8) >= 0.99) & line
    assert hidden.any() and (np.asarray(lines)[hidden] == 255).all() and mask[hidden].all()


@pytest.mark.parametrize("name", list(PALETTE))
def test_every_palette_pen_is_a_hint(name):
    colour = PALETTE[name]
    lines, colours, mask = split_drawing(drawing(((0, 0, 0), OUTLINE, 3), (colour, SCRIBBLE, 8)))
    covered = coverage(SCRIBBLE, 8)
    assert np.array_equal(mask, covered >= 0.5)
    assert (colours[mask] == colour).all()
    alone = grey(drawing(((0, 0, 0), OUTLINE, 3)))
    assert np.array_equal(np.asarray(lines), np.where(covered > 0, 255, alone))


def test_jpeg_keeps_the_hint_and_its_colour():
    image = jpeg(drawing(((0, 0, 0), OUTLINE, 3), (RED, SCRIBBLE, 8)), 75)
    lines, colours, mask = split_drawing(image)
    truth = coverage(SCRIBBLE, 8) >= 0.5
    assert (mask & truth).sum() / (mask | truth).sum() > 0.9
    assert np.abs(colours[mask].mean(axis=0) - RED).max() < 15
    rim = (coverage(SCRIBBLE, 8) > 0) & ~truth
    assert np.asarray(lines)[rim].mean() > 235  # no grey outline around the hint
    far = np.asarray(Image.fromarray(coverage(SCRIBBLE, 8) > 0).filter(ImageFilter.MaxFilter(9)))
    assert np.array_equal(np.asarray(lines)[~far], grey(image)[~far])


def test_two_hints_side_by_side_keep_their_colours():
    blond = PALETTE["blond"]
    image = drawing((RED, [(20, 40), (64, 40)], 12), (blond, [(64, 40), (108, 40)], 12))
    _, colours, mask = split_drawing(image)
    left, right = colours[35:46, 20:63], colours[35:46, 65:108]
    assert (left == RED).all() and (right == blond).all()  # no pale mix where they meet
    assert mask[35:46, 20:108].all() and not mask[:34].any() and not mask[47:].any()


def test_thin_coloured_lines_and_specks_are_lines():
    """A 1-pixel coloured line or a speck of colour is drawing ink, not a colour hint."""
    image = drawing((RED, [(20, 64), (108, 64)], 1), ((40, 200, 40), [(30, 30), (31, 30)], 1))
    lines, _, mask = split_drawing(image)
    assert not mask.any()
    assert np.array_equal(np.asarray(lines), grey(image))


def test_phone_photo_under_warm_light():
    """Paper and pencil tinted yellow by the light are not hints; a red stroke on it still is."""
    cast = np.array([1.0, 0.85, 0.6])

    def photographed(image: Image.Image) -> Image.Image:
        rng = np.random.default_rng(0)
        pixels = np.asarray(image, np.float64) * cast + rng.normal(0, 3, (SIZE, SIZE, 3))
        return jpeg(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), 85)

    black = photographed(drawing(((0, 0, 0), OUTLINE, 3), ((90, 90, 90), CROSSING, 2)))
    lines, _, mask = split_drawing(black)
    assert not mask.any() and np.array_equal(np.asarray(lines), grey(black))
    _, colours, mask = split_drawing(photographed(drawing((RED, SCRIBBLE, 8))))
    truth = coverage(SCRIBBLE, 8) >= 0.5
    assert (mask & truth).sum() / (mask | truth).sum() > 0.9
    assert np.abs(colours[mask].mean(axis=0) - RED).max() < 20  # the pen's colour, not the light's


def test_a_neutral_drawing_skips_the_analysis_with_the_same_answer(monkeypatch):
    """Grey strokes in an RGB picture (the canvas's black pen): the shortcut gives exactly what the
    full analysis gives, and a single coloured pixel is enough to run the analysis."""
    from pix2pix import hints

    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (64, 48), dtype=np.uint8)
    grey[grey > 100] = 255  # mostly paper
    drawing = Image.fromarray(grey).convert("RGB")
    assert hints.is_neutral(drawing)
    fast = split_drawing(drawing)
    monkeypatch.setattr(hints, "is_neutral", lambda image: False)
    slow = split_drawing(drawing)
    np.testing.assert_array_equal(np.asarray(fast[0]), np.asarray(slow[0]))
    for got, expected in zip(fast[1:], slow[1:], strict=True):
        np.testing.assert_array_equal(got, expected)
    monkeypatch.undo()
    drawing.putpixel((3, 4), (200, 40, 40))
    assert not hints.is_neutral(drawing)
