"""imaging: every kind of input becomes one clean image, tensor and photo; bad input: ValueError.

Most inputs are built so that, read correctly, the left half is black and the right half white: a
wrong scale, a dropped alpha channel or transparency laid on black all break that.
"""

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from pix2pix import imaging
from pix2pix.hints import no_hints, split_drawing
from pix2pix.imaging import MAX_PIXELS, Placement, load_image, to_photo, to_sketch_tensor

W, H = 8, 6
TRANSPARENT_BLACK = (0, 0, 0, 0)


def split(mode: str, left, right) -> Image.Image:
    """A W x H image in `mode`: colour `left` on the left half, `right` on the right half."""
    image = Image.new(mode, (W, H), left)
    image.paste(right, (W // 2, 0, W, H))
    return image


def split_array(left, right, dtype, channels: int | None = None) -> np.ndarray:
    array = np.empty((H, W) if channels is None else (H, W, channels), dtype=dtype)
    array[:, : W // 2] = left
    array[:, W // 2 :] = right
    return array


def palette(transparent: bool) -> Image.Image:
    """Index 0 black, index 1 white, or, with transparency, index 1 a transparent black."""
    image = split("P", 0, 1)
    image.putpalette([0, 0, 0, 0 if transparent else 255] + [0 if transparent else 255] * 2)
    if transparent:
        image.info["transparency"] = 1
    return image


def stroke() -> Image.Image:
    """What a canvas layer looks like: black ink on the left, nothing (transparent) on the right."""
    return split("RGBA", (0, 0, 0, 255), TRANSPARENT_BLACK)


def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def assert_black_left_white_right(image: Image.Image) -> None:
    assert image.mode in ("L", "RGB")
    grey = np.asarray(image.convert("L"))
    assert grey.shape == (H, W)
    assert grey[:, : W // 2].max() <= 5
    assert grey[:, W // 2 :].min() >= 250


@pytest.mark.parametrize(
    "make, mode",
    [
        pytest.param(lambda: split("RGB", (0, 0, 0), (255, 255, 255)), "RGB", id="RGB"),
        pytest.param(lambda: split("RGBA", (0, 0, 0, 255), TRANSPARENT_BLACK), "RGB", id="RGBA"),
        pytest.param(lambda: split("LA", (0, 255), (0, 0)), "L", id="LA"),
        pytest.param(lambda: palette(transparent=True), "RGB", id="P-transparent"),
        pytest.param(lambda: palette(transparent=False), "RGB", id="P"),
        pytest.param(lambda: split("L", 0, 255), "L", id="L"),
        pytest.param(lambda: split("1", 0, 1), "L", id="1"),
        pytest.param(lambda: split("I;16", 0, 65535), "L", id="I;16-full-range"),
        pytest.param(lambda: split("I;16", 0, 255), "L", id="I;16-8-bit-values"),
        pytest.param(lambda: split("I", 0, 255), "L", id="I-8-bit-values"),
        pytest.param(lambda: split("I", -1000, 100_000), "L", id="I-stretched"),
        pytest.param(lambda: split("F", 0.0, 1.0), "L", id="F-0-1"),
        pytest.param(lambda: split("F", 0.0, 255.0), "L", id="F-0-255"),
        pytest.param(lambda: split("CMYK", (0, 0, 0, 255), (0, 0, 0, 0)), "RGB", id="CMYK"),
        pytest.param(lambda: split("YCbCr", (0, 128, 128), (255, 128, 128)), "RGB", id="YCbCr"),
    ],
)
def test_pil_modes(make, mode):
    image = load_image(make())
    assert image.mode == mode
    assert_black_left_white_right(image)


@pytest.mark.parametrize(
    "array",
    [
        pytest.param(split_array(0, 255, np.uint8), id="uint8-HxW"),
        pytest.param(split_array(0, 255, np.uint8, 1), id="uint8-HxWx1"),
        pytest.param(split_array(0, 255, np.uint8, 3), id="uint8-HxWx3"),
        pytest.param(split_array((0, 0, 0, 255), TRANSPARENT_BLACK, np.uint8, 4), id="RGBA"),
        pytest.param(split_array((0, 0, 0, 1), (0, 0, 0, 0), np.float32, 4), id="float-RGBA"),
        pytest.param(split_array(False, True, bool), id="bool"),
        pytest.param(split_array(0.0, 1.0, np.float32), id="float32-0-1"),
        pytest.param(split_array(0.0, 1.0, np.float16, 3), id="float16-0-1"),
        pytest.param(split_array(0.0, 255.0, np.float64), id="float64-0-255"),
        pytest.param(split_array(0, 65535, np.uint16), id="uint16"),
        pytest.param(split_array(0, 65535, np.uint16, 3), id="uint16-HxWx3"),
        pytest.param(split_array(0, 255, np.int32), id="int32-8-bit-values"),
        pytest.param(split_array(-5, 70_000, np.int64), id="int64-stretched"),
    ],
)
def test_numpy_arrays(array):
    assert_black_left_white_right(load_image(array))


@pytest.mark.parametrize(
    "values, expected",
    [
        pytest.param(np.array([0, 100, 200], np.int32), [0, 100, 200], id="ints-in-8-bits-kept"),
        pytest.param(np.array([0, 257, 32896], np.uint16), [0, 1, 128], id="16-bit-over-257"),
        pytest.param(np.array([-10, 0, 10], np.int64), [0, 128, 255], id="others-stretched"),
        pytest.param(np.array([0.0, 0.5, 1.0]), [0, 128, 255], id="float-0-1"),
        pytest.param(np.array([0.0, 100.0, 255.0]), [0, 100, 255], id="float-0-255"),
        pytest.param(np.array([-0.5, 0.5, 300.0]), [0, 0, 255], id="float-clipped"),
    ],
)
def test_value_scaling(values, expected):
    assert np.asarray(load_image(values[None])).ravel().tolist() == expected


def test_sixteen_bit_pil_image_is_scaled_like_an_array():
    image = Image.new("I;16", (2, 1), 0)
    image.putpixel((1, 0), 32896)
    assert np.asarray(load_image(image)).ravel().tolist() == [0, 128]


def save(tmp_path: Path, image: Image.Image, name: str) -> str:
    path = tmp_path / name
    image.save(path)
    return str(path)


@pytest.mark.parametrize(
    "make_canvas",
    [
        pytest.param(
            lambda tmp: {"background": None, "layers": [], "composite": stroke()}, id="composite"
        ),
        pytest.param(lambda tmp: {"composite": np.asarray(stroke())}, id="composite-numpy"),
        pytest.param(lambda tmp: {"composite": save(tmp, stroke(), "c.png")}, id="composite-path"),
        pytest.param(
            lambda tmp: {"composite": {"path": save(tmp, stroke(), "c.png")}},
            id="composite-filedata",
        ),
        pytest.param(
            lambda tmp: {"composite": stroke(), "layers": [Image.new("RGBA", (W, H), "black")]},
            id="composite-wins-over-layers",
        ),
        pytest.param(
            lambda tmp: {
                "background": Image.new("RGB", (W, H), "white"),
                "layers": [stroke()],
                "composite": None,
            },
            id="layers-over-background",
        ),
        pytest.param(
            lambda tmp: {"background": None, "layers": [None, stroke()], "composite": None},
            id="layers-on-white",
        ),
        pytest.param(
            lambda tmp: {
                "background": np.full((H, W, 3), 255, np.uint8),
                "layers": [np.asarray(stroke())],
            },
            id="numpy-layers-over-numpy-background",
        ),
        pytest.param(
            lambda tmp: {
                "background": {"path": save(tmp, Image.new("L", (W, H), 255), "bg.png")},
                "layers": [
                    {"path": save(tmp, stroke(), "layer.png"), "meta": {"_type": "gradio.FileData"}}
                ],
                "composite": None,
            },
            id="filedata-layers-over-filedata-background",
        ),
        pytest.param(
            lambda tmp: {
                "background": split("RGBA", (0, 0, 0, 255), TRANSPARENT_BLACK),
                "layers": [],
            },
            id="transparent-background",
        ),
    ],
)
def test_canvas_dicts(make_canvas, tmp_path):
    assert_black_left_white_right(load_image(make_canvas(tmp_path)))


@pytest.mark.parametrize(
    "as_source",
    [
        pytest.param(str, id="str"),
        pytest.param(lambda path: path, id="Path"),
        pytest.param(lambda path: path.read_bytes(), id="bytes"),
        pytest.param(lambda path: bytearray(path.read_bytes()), id="bytearray"),
        pytest.param(lambda path: memoryview(path.read_bytes()), id="memoryview"),
        pytest.param(lambda path: io.BytesIO(path.read_bytes()), id="BytesIO"),
        pytest.param(lambda path: {"path": str(path)}, id="FileData"),
    ],
)
@pytest.mark.parametrize("fmt", ["png", "bmp", "webp", "tiff"])
def test_files_and_bytes(as_source, fmt, tmp_path):
    path = tmp_path / f"sketch.{fmt}"
    split("RGB", (0, 0, 0), (255, 255, 255)).save(path, lossless=True)
    assert_black_left_white_right(load_image(as_source(path)))


def test_open_file_object(tmp_path):
    path = tmp_path / "sketch.png"
    split("L", 0, 255).save(path)
    with path.open("rb") as file:
        assert_black_left_white_right(load_image(file))


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_an_opaque_picture_keeps_every_pixel(mode):
    """A browser canvas sends opaque RGBA: its pixels come through unchanged, bytes or image."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (H, W, len(mode)), dtype=np.uint8)
    pixels[..., -1] = 255
    picture = Image.fromarray(pixels, mode)
    target = mode[:-1] if mode == "LA" else "RGB"
    for source in (picture, encoded(picture)):
        image = load_image(source)
        assert image.mode == target
        assert np.array_equal(np.asarray(image), np.asarray(picture.convert(target)))


def test_exif_orientation_is_applied():
    stored = Image.new("RGB", (40, 20), "white")
    stored.paste((0, 0, 0), (0, 0, 10, 10))  # a black mark in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    data = encoded(stored, "JPEG", exif=exif, quality=95)

    for source in (data, Image.open(io.BytesIO(data))):
        upright = load_image(source)
        assert upright.size == (20, 40)
        grey = np.asarray(upright.convert("L"))
        assert grey[:10, -10:].mean() < 30  # the mark is now in the top-right corner
        assert grey[:10, :10].mean() > 225


@pytest.mark.parametrize("fmt", ["GIF", "PNG"])
def test_animation_gives_first_frame(fmt):
    red, blue = Image.new("RGB", (W, H), "red"), Image.new("RGB", (W, H), "blue")
    data = encoded(red, fmt, save_all=True, append_images=[blue], duration=100)
    animation = Image.open(io.BytesIO(data))
    assert animation.n_frames == 2
    animation.seek(1)  # even when a caller has moved on to a later frame
    for source in (data, animation):
        assert load_image(source).convert("RGB").getpixel((0, 0)) == (255, 0, 0)


@pytest.mark.parametrize(
    "image_size, size, placement",
    [
        ((200, 100), 256, Placement(0, 64, 256, 128)),  # wide, grown
        ((600, 300), 256, Placement(0, 64, 256, 128)),  # wide, shrunk
        ((100, 300), 256, Placement(85, 0, 85, 256)),  # tall: 256 * 100 / 300 = 85.3
        ((50, 50), 64, Placement(0, 0, 64, 64)),  # square: no padding
    ],
)
def test_padding_and_placement(image_size, size, placement):
    sketch, where = to_sketch_tensor(Image.new("L", image_size, 0), size=size)
    assert where == placement
    assert sketch.shape == (1, 1, size, size) and sketch.dtype == torch.float32

    inside = torch.zeros(size, size, dtype=torch.bool)
    inside[where.top : where.top + where.height, where.left : where.left + where.width] = True
    assert (sketch[0, 0][inside] == -1).all()  # the black content
    assert (sketch[0, 0][~inside] == 1).all()  # white padding

    photo = to_photo(sketch.repeat(1, 3, 1, 1), where)
    assert photo.mode == "RGB" and photo.size == (placement.width, placement.height)
    assert np.asarray(photo).max() == 0  # only content survives the crop, no padding


def block_mean(image: Image.Image, factor: int) -> np.ndarray:
    pixels = np.asarray(image, dtype=np.float64)
    height, width = pixels.shape
    blocks = pixels.reshape(height // factor, factor, width // factor, factor)
    return np.rint(blocks.mean(axis=(1, 3)))


@pytest.mark.parametrize(
    "image_size, expected",
    [
        # a whole factor: the mean of each 2x2 block (the canvas's 512 pixels to 256)
        ((512, 256), lambda image: block_mean(image, 2)),
        ((768, 384), lambda image: block_mean(image, 3)),
        ((100, 50), lambda image: image.resize((256, 128), Image.Resampling.BICUBIC)),
    ],
    ids=["shrink-2x", "shrink-3x", "grow"],
)
def test_resampling_filter(image_size, expected):
    """Shrinking averages whole blocks (no aliasing, fast) and LANCZOS does the rest; growing is
    bicubic."""
    noise = np.random.default_rng(0).integers(0, 256, image_size[::-1], dtype=np.uint8)
    image = Image.fromarray(noise)
    want = np.asarray(expected(image), dtype=np.float32) / 127.5 - 1
    sketch, where = to_sketch_tensor(image, size=256)
    content = sketch[
        0, 0, where.top : where.top + where.height, where.left : where.left + where.width
    ]
    assert torch.allclose(content, torch.from_numpy(want), atol=1.01 / 127.5)


def test_three_channel_tensor_keeps_colour():
    sketch, where = to_sketch_tensor(Image.new("RGB", (30, 20), (255, 0, 0)), size=32, channels=3)
    assert sketch.shape == (1, 3, 32, 32)
    centre = sketch[0, :, 16, 16]
    assert centre.tolist() == [1.0, -1.0, -1.0]
    assert to_photo(sketch[0], where).getpixel((5, 5)) == (255, 0, 0)


def colour_drawing(size: tuple[int, int], colour=(200, 40, 30)) -> Image.Image:
    """Black lines along the left and top, and a solid coloured block in the middle."""
    width, height = size
    image = Image.new("RGB", size, "white")
    image.paste((0, 0, 0), (0, 0, width // 10, height))
    image.paste((0, 0, 0), (0, 0, width, height // 10))
    image.paste(colour, (width // 4, height // 4, 3 * width // 4, 3 * height // 4))
    return image


@pytest.mark.parametrize("image_size, size", [((300, 200), 64), ((60, 100), 256)])
def test_hint_tensor_places_lines_and_hints_alike(image_size, size):
    """Channel 0 is the grey tensor of the lines; the hints sit where the coloured block went, in
    its exact colour (no blur into the pixels around it), with zeros in the padding."""
    image = colour_drawing(image_size)
    tensor, where = to_sketch_tensor(image, size=size, channels=5)
    lines, _, _ = split_drawing(image)
    grey, grey_where = to_sketch_tensor(lines, size=size, channels=1)
    assert tensor.shape == (1, 5, size, size) and where == grey_where
    assert torch.equal(tensor[:, :1], grey)

    colours, mask = tensor[0, 1:4], tensor[0, 4]
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    expected = torch.tensor([200, 40, 30]) / 127.5 - 1
    assert torch.allclose(colours[:, mask == 1], expected[:, None].expand(3, int(mask.sum())))
    assert (colours[:, mask == 0] == 0).all()
    content = torch.zeros(size, size, dtype=torch.bool)
    content[where.top : where.top + where.height, where.left : where.left + where.width] = True
    assert not mask[~content].any()  # no hint in the padding
    area = (image_size[0] // 2) * (image_size[1] // 2) * (where.width / image_size[0]) ** 2
    assert abs(mask.sum().item() - area) <= 2 * (where.width + where.height) / 2  # one pixel rim


def test_hint_tensor_of_a_black_only_drawing_is_the_grey_tensor_and_no_hints():
    image = colour_drawing((90, 70), colour=(0, 0, 0))
    tensor, where = to_sketch_tensor(image, size=64, channels=5)
    grey, grey_where = to_sketch_tensor(image, size=64, channels=1)
    assert where == grey_where
    assert torch.equal(tensor, no_hints(grey))


def test_values_are_float32_in_range():
    noise = np.random.default_rng(0).random((37, 23, 3))
    for channels in (1, 3):
        sketch, _ = to_sketch_tensor(noise, size=64, channels=channels)
        assert sketch.dtype == torch.float32
        assert sketch.min() >= -1 and sketch.max() <= 1
        assert sketch.min() < -0.9  # the whole range is used, not squeezed into a corner of it


@pytest.mark.parametrize("channels", [1, 3])
def test_transparency_becomes_white(channels):
    sketch, _ = to_sketch_tensor(Image.new("RGBA", (30, 20), TRANSPARENT_BLACK), 32, channels)
    assert (sketch == 1).all()


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("channels, mode", [(1, "L"), (3, "RGB")])
def test_to_photo_maps_values_and_crops(batched, channels, mode):
    output = torch.tensor([-3.0, -1.0, 1.0, 2.0]).repeat(channels, 4, 1)  # (C, 4, 4)
    if batched:
        output = output[None]
    photo = to_photo(output, Placement(0, 1, 4, 2))
    assert photo.mode == mode and photo.size == (4, 2)
    assert np.asarray(photo.convert("L"))[0].tolist() == [0, 0, 255, 255]  # clamped to [-1, 1]


@pytest.mark.parametrize(
    "output, placement, message",
    [
        (torch.zeros(2, 8, 8), Placement(0, 0, 8, 8), "C = 1 or 3"),
        (torch.zeros(2, 3, 8, 8), Placement(0, 0, 8, 8), "(1, C, H, W)"),
        (torch.zeros(8, 8), Placement(0, 0, 8, 8), "shape"),
        (torch.zeros(3, 8, 8), Placement(4, 0, 8, 8), "does not fit"),
    ],
)
def test_to_photo_bad_input(output, placement, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        to_photo(output, placement)


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares a size but holds no pixels: cheap to make, huge if decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b""))


def truncated(fmt: str) -> bytes:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encoded(Image.fromarray(noise), fmt)
    return data[: len(data) // 2]


def text_file(tmp: Path) -> str:
    (tmp / "notes.png").write_text("not a picture")
    return str(tmp / "notes.png")


BAD_INPUTS = [
    (lambda tmp: None, "No image was given"),
    (lambda tmp: "", "No image was given"),
    (lambda tmp: 3, "value of type int"),
    (lambda tmp: [[0, 255]], "value of type list"),
    (lambda tmp: np.zeros((0, 10), np.uint8), r"no pixels \(10x0\)"),
    (lambda tmp: Image.new("L", (0, 10)), r"no pixels \(0x10\)"),
    (lambda tmp: np.array([[0.5, np.nan]]), "NaN"),
    (lambda tmp: np.array([[0.5, np.inf]]), "infinite"),
    (lambda tmp: np.zeros((4, 4, 2), np.uint8), "HxWx3"),
    (lambda tmp: np.zeros((1, 4, 4, 3), np.uint8), "shape"),
    (lambda tmp: np.zeros((4, 4), np.complex64), "values of type complex"),
    (lambda tmp: np.full((4, 4), "x"), "values of type"),
    (lambda tmp: np.broadcast_to(np.uint8(0), (10_000, MAX_PIXELS // 10_000 + 1)), "too large"),
    (lambda tmp: b"", "not an image"),
    (lambda tmp: b"GIF89a but not really", "not an image"),
    (lambda tmp: io.StringIO("text"), "not an image"),
    (text_file, "not an image"),
    (lambda tmp: truncated("PNG"), "cut short"),
    (lambda tmp: truncated("JPEG"), "cut short"),
    (lambda tmp: truncated("GIF"), "cut short"),
    (lambda tmp: tmp / "missing.png", "no file"),
    (lambda tmp: str(tmp), "is a folder"),
    (lambda tmp: {"path": str(tmp / "missing.png")}, "no file"),
    (lambda tmp: {}, "canvas value"),
    (lambda tmp: {"background": None, "layers": [], "composite": None}, "canvas is empty"),
    (lambda tmp: {"layers": [None, None]}, "canvas is empty"),
    (lambda tmp: {"layers": stroke()}, "must be a list"),
    (lambda tmp: {"composite": 5}, "value of type int"),
    (lambda tmp: png_header(8_000, 7_000), "too large"),  # above our limit
    (lambda tmp: png_header(20_000, 20_000), "too large"),  # above PIL's own bomb limit as well
]


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("read", [load_image, to_sketch_tensor])
@pytest.mark.parametrize("make, message", BAD_INPUTS)
def test_bad_input_is_a_value_error(make, message, read, tmp_path):
    with pytest.raises(ValueError, match=message):
        read(make(tmp_path))


def test_truncated_files_are_not_loaded_silently():
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS >= MAX_PIXELS


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda side: Image.new("L", (side, side)), id="PIL"),
        pytest.param(lambda side: np.zeros((side, side), np.uint8), id="numpy"),
        pytest.param(lambda side: encoded(Image.new("L", (side, side))), id="bytes"),
        pytest.param(lambda side: {"composite": Image.new("RGBA", (side, side))}, id="canvas"),
        pytest.param(lambda side: {"layers": [Image.new("RGBA", (side, side))]}, id="layers"),
    ],
)
def test_pixel_limit_applies_to_every_input(make, monkeypatch):
    monkeypatch.setattr(imaging, "MAX_PIXELS", 100)
    assert load_image(make(10)).size == (10, 10)
    with pytest.raises(ValueError, match=r"too large: 11x11 is 121 pixels"):
        load_image(make(11))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"channels": 2}, "1, 3 or 5 channels"),
        ({"size": 0}, "positive"),
        ({"size": 2.5}, "positive"),
    ],
)
def test_to_sketch_tensor_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        to_sketch_tensor(Image.new("L", (4, 4)), **options)
