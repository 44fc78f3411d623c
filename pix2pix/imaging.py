"""Images in, tensors out, and back: the one place that knows what people hand us.

Everything a user can give the app, the command line or the trainer (a file, bytes, a PIL image of
any mode, a numpy array, a Gradio canvas value) becomes one clean 8-bit PIL image with `load_image`,
then a white-padded square tensor in [-1, 1] with `to_sketch_tensor` (for a hint model: the
drawing's lines, colours and hint mask, placed alike). `to_photo` turns the
generator's output back into a PIL image and crops the padding away again.

Anything we cannot read is a ValueError with a sentence a person understands; no other exception
type leaves `load_image` or `to_sketch_tensor`.
"""

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from pix2pix.hints import HINT_CHANNELS, split_drawing, stack_input

MAX_PIXELS: int = 50_000_000

# PIL warns above MAX_IMAGE_PIXELS and refuses above twice that, at Image.open. Set to our limit,
# PIL stays quiet for every image we accept; anything bigger we refuse ourselves with a ValueError.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

ImageSource = str | os.PathLike | bytes | BinaryIO | Image.Image | np.ndarray | dict[str, Any]

CANVAS_KEYS = ("background", "layers", "composite")  # a Gradio canvas value
# The picture files the command line, the trainer and the app take.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_GREY_MODES = ("1", "L", "LA", "La")


@dataclass(frozen=True)
class Placement:
    """Where the content sits inside the square the generator sees, in pixels."""

    left: int
    top: int
    width: int
    height: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom), as PIL's crop wants it."""
        return (self.left, self.top, self.left + self.width, self.top + self.height)


def load_image(source: ImageSource) -> Image.Image:
    """Any accepted input -> a fully decoded PIL image in mode 'RGB' or 'L'.

    Transparency is flattened onto white (a sketch is dark lines on white paper), EXIF orientation
    is applied and animations give their first frame. `source` may be a file path, bytes, a binary
    file object, a PIL image, a numpy array or a Gradio canvas dict (background, layers, composite).
    """
    return _flatten(_decode(source))


def to_sketch_tensor(
    source: ImageSource, size: int = 256, channels: int = 1
) -> tuple[torch.Tensor, Placement]:
    """Any accepted input -> a float32 tensor (1, channels, size, size) in [-1, 1], white = +1.

    The aspect ratio is kept: the long side is resized to `size` and the short side is padded with
    white, centred. Growing is bicubic; shrinking averages whole blocks first (Image.reduce: the
    canvas's 512 pixels to 256 is a 2x2 mean, much faster than LANCZOS, the photo within 1-3 of
    255 levels of it) and LANCZOS does what a whole factor leaves. The Placement says where the
    content went, so that `to_photo` can crop the padding away again. channels=1 is grey, 3 is RGB,
    5 the input of a hint model: a colour drawing split into its grey lines and its colour hints
    (pix2pix.hints.split_drawing), stacked as the sketch, the colours and the mask (`stack_input`).
    The lines are exactly what channels=1 gives for the same drawing without its hints.
    """
    if channels not in (1, 3, 1 + HINT_CHANNELS):
        raise ValueError(
            f"A sketch tensor has 1, 3 or {1 + HINT_CHANNELS} channels, not {channels}."
        )
    if not isinstance(size, int) or size < 1:
        raise ValueError(
            f"The sketch size must be a positive whole number of pixels, not {size!r}."
        )
    image = load_image(source)
    if channels == 1 + HINT_CHANNELS:
        image, colours, mask = split_drawing(image)
    else:
        image = image.convert("L" if channels == 1 else "RGB")

    square, placement = fit_square(image, size)
    pixels = np.asarray(square, dtype=np.float32) / 127.5 - 1.0
    if channels == 1 + HINT_CHANNELS and not mask.any():
        # No hint (most drawings): the hint planes are zeros, as stack_input makes them; written
        # straight into one array: torch's small operations on them cost more than the rest.
        planes = np.zeros((1, channels, size, size), np.float32)
        planes[0, 0] = pixels
        return torch.from_numpy(planes), placement
    tensor = torch.from_numpy(pixels)
    tensor = (tensor[None] if image.mode == "L" else tensor.permute(2, 0, 1))[None]
    if channels == 1 + HINT_CHANNELS:
        tensor = stack_input(tensor, *hint_planes(colours, mask, placement, size))
    return tensor.contiguous(), placement


def fit_square(
    image: Image.Image, size: int, nearest: bool = False
) -> tuple[Image.Image, Placement]:
    """The image on a white size x size square: the long side resized to `size` (bicubic when
    growing; block means then LANCZOS when shrinking, see to_sketch_tensor), the short side
    padded, centred; and where it went. The one way a picture is brought to the generator's size,
    for the Translator and the trainer alike, so that training sees what the app sends.
    nearest: resize by nearest neighbour, for a map of labels (whose values must not blend)."""
    width, height = image.size
    scale = size / max(width, height)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if new_size != image.size:
        if nearest:
            image = image.resize(new_size, Image.Resampling.NEAREST)
        elif scale < 1:
            image = image.resize(new_size, Image.Resampling.LANCZOS, reducing_gap=1.0)
        else:
            image = image.resize(new_size, Image.Resampling.BICUBIC)
    placement = Placement((size - new_size[0]) // 2, (size - new_size[1]) // 2, *new_size)
    square = Image.new(image.mode, (size, size), "white")
    square.paste(image, (placement.left, placement.top))
    return square, placement


def hint_planes(
    colours: np.ndarray, mask: np.ndarray, placement: Placement, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(H, W, 3) uint8 colours and an (H, W) bool mask -> colours (1, 3, size, size) in [-1, 1]
    and mask (1, 1, size, size), resized into `placement` and padded with zeros (no hint).

    Resized by area, the mask kept where it covers at least half of a pixel and the colours
    averaged over the hint only, so that a hint neither blurs into the pixels around it nor
    darkens towards the zeros outside it.
    """
    on = torch.from_numpy(mask.astype(np.float32))[None, None]
    rgb = torch.from_numpy(colours.astype(np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]
    shape = (placement.height, placement.width)
    area = F.interpolate(on, size=shape, mode="area")
    summed = F.interpolate(rgb * on, size=shape, mode="area")
    kept = (area >= 0.5).float()
    placed_colours, placed_mask = torch.zeros(1, 3, size, size), torch.zeros(1, 1, size, size)
    rows = slice(placement.top, placement.top + placement.height)
    cols = slice(placement.left, placement.left + placement.width)
    placed_colours[..., rows, cols] = summed / area.clamp_min(1e-6) * kept
    placed_mask[..., rows, cols] = kept
    return placed_colours, placed_mask


def to_photo(output: torch.Tensor, placement: Placement) -> Image.Image:
    """Generator output (C, H, W) or (1, C, H, W) in [-1, 1], C = 1 or 3 -> 'L' or 'RGB' PIL image.

    The padding `to_sketch_tensor` added is cropped away, so the photo has the input's aspect ratio
    at the model's resolution on its long side.
    """
    if output.ndim == 4 and output.shape[0] == 1:
        output = output[0]
    if output.ndim != 3 or output.shape[0] not in (1, 3):
        raise ValueError(
            f"The generator output must have shape (C, H, W) or (1, C, H, W) with C = 1 or 3, "
            f"not {tuple(output.shape)}."
        )
    height, width = output.shape[1:]
    right, bottom = placement.box[2:]
    if min(placement.left, placement.top) < 0 or right > width or bottom > height:
        raise ValueError(f"{placement} does not fit in a {width}x{height} output.")
    # In numpy: a few small torch operations cost more in waking torch's threads than in work;
    # np.rint rounds halves to even as torch does.
    values = output.detach().float().cpu().numpy()
    pixels = np.rint((np.clip(values, -1, 1) + 1) * 127.5).astype(np.uint8)
    pixels = pixels[0] if pixels.shape[0] == 1 else np.ascontiguousarray(pixels.transpose(1, 2, 0))
    return Image.fromarray(pixels).crop(placement.box)


def _decode(source: ImageSource) -> Image.Image:
    """Any accepted input -> a decoded PIL image in whatever mode it came in (alpha kept)."""
    if source is None or (isinstance(source, str) and not source):
        raise ValueError("No image was given.")
    if isinstance(source, Image.Image):
        _check_size(*source.size)
        return _decoded_frame(source, "The image")
    if isinstance(source, np.ndarray):
        return _from_array(source)
    if isinstance(source, dict):
        if "path" in source:  # a Gradio FileData reference
            return _decode(source["path"])
        if any(key in source for key in CANVAS_KEYS):
            return _from_canvas(source)
        raise ValueError(
            "A dict must be a Gradio canvas value (background, layers, composite) "
            "or a file reference with a 'path'."
        )
    if isinstance(source, str | os.PathLike):
        return _from_file(Path(source))
    if isinstance(source, bytes | bytearray | memoryview):
        return _open(io.BytesIO(source), "The data", in_memory=True)
    if hasattr(source, "read"):
        name = getattr(source, "name", None)
        return _open(source, f"The file '{name}'" if isinstance(name, str) else "The file")
    raise ValueError(
        f"Cannot read an image from a value of type {type(source).__name__}: give a file path, "
        "bytes, a file, a PIL image, a numpy array or a canvas dict."
    )


def _check_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise ValueError(f"The image has no pixels ({width}x{height}).")
    if width * height > MAX_PIXELS:
        raise ValueError(
            f"The image is too large: {width}x{height} is {width * height:,} pixels, "
            f"more than the {MAX_PIXELS:,} accepted."
        )


def _from_file(path: Path) -> Image.Image:
    if path.is_dir():
        raise ValueError(f"'{path}' is a folder, not an image file.")
    if not path.is_file():
        raise ValueError(f"There is no file at '{path}'.")
    return _open(path, f"The file '{path}'")


def _open(source: Path | BinaryIO, name: str, in_memory: bool = False) -> Image.Image:
    """Decode a file, checking the size its header declares before decoding a single pixel.

    in_memory: `source` is bytes we wrapped, with no file to close, so the decoded frame need not
    be copied away from it.
    """
    try:
        image = Image.open(source)  # lazy: reads the header only
    except Image.DecompressionBombError:
        raise ValueError(f"{name} is too large: more than {MAX_PIXELS:,} pixels.") from None
    except Exception as err:  # unidentified, unreadable, not binary...: all mean "not an image"
        raise ValueError(
            f"{name} is not an image that can be read (try PNG, JPEG, WebP, GIF or BMP)."
        ) from err
    if in_memory:
        _check_size(*image.size)
        return _decoded_frame(image, name, copy=False)
    with image:
        _check_size(*image.size)
        return _decoded_frame(image, name)


def _decoded_frame(image: Image.Image, name: str, copy: bool = True) -> Image.Image:
    """First frame, fully loaded, EXIF orientation applied: a new image, detached from any file
    (copy=False: `image` itself, turned in place)."""
    try:
        if getattr(image, "is_animated", False):
            image.seek(0)
        image.load()
        if copy:
            return ImageOps.exif_transpose(image)
        ImageOps.exif_transpose(image, in_place=True)
        return image
    except Exception as err:  # PIL's decoders raise OSError, SyntaxError, EOFError, zlib.error...
        raise ValueError(
            f"{name} could not be decoded; it may be damaged or cut short ({err})."
        ) from err


def _from_array(array: np.ndarray) -> Image.Image:
    """HxW, HxWx1, HxWx3 or HxWx4 array of bools, ints or floats -> 8-bit 'L', 'RGB' or 'RGBA'."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise ValueError(
            f"An image array must have shape HxW, HxWx1, HxWx3 or HxWx4, not {array.shape}."
        )
    _check_size(array.shape[1], array.shape[0])
    return Image.fromarray(_to_uint8(array))


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """Scale pixel values of any numeric type to 0..255.

    bool: True is white. Floats: [0, 1], or [0, 255] when the maximum is above 1. Integers: kept
    when they fit in 0..255, divided by 257 when they fit in 16 bits (65535 -> 255), else stretched
    from their minimum to their maximum.
    """
    kind = values.dtype.kind  # by kind: numpy counts timedelta64 among the integers
    if kind == "b":
        return values.astype(np.uint8) * 255
    if kind == "f":
        if not np.isfinite(values).all():
            raise ValueError("The image contains NaN or infinite values.")
        scaled = values.astype(np.float32) * (1.0 if values.max() > 1 else 255.0)
        return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    if kind in "iu":
        low, high = int(values.min()), int(values.max())
        if low >= 0 and high <= 255:
            return values.astype(np.uint8)
        if low >= 0 and high <= 65535:
            return np.rint(values / 257.0).astype(np.uint8)
        stretched = (values.astype(np.float64) - low) * (255.0 / max(high - low, 1))
        return np.rint(stretched).astype(np.uint8)
    raise ValueError(f"Cannot make an image from values of type {values.dtype}.")


def _from_canvas(canvas: dict[str, Any]) -> Image.Image:
    """A gr.Sketchpad / gr.ImageEditor value -> one RGBA image of everything drawn."""
    if canvas.get("composite") is not None:
        return _decode(canvas["composite"])
    layers = canvas.get("layers") or []
    if not isinstance(layers, list | tuple):
        raise ValueError("The canvas's layers must be a list of images.")
    layers = [_eight_bit(_decode(layer)).convert("RGBA") for layer in layers if layer is not None]
    if canvas.get("background") is not None:
        picture = _eight_bit(_decode(canvas["background"])).convert("RGBA")
    elif layers:
        picture = Image.new("RGBA", layers[0].size, "white")
    else:
        raise ValueError("The canvas is empty: it has no composite, background or layers.")
    for layer in layers:
        picture.alpha_composite(layer)
    return picture


def _eight_bit(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit and float images -> 'L'; every other mode is 8-bit already."""
    if image.mode == "F" or image.mode.startswith("I"):
        return Image.fromarray(_to_uint8(np.asarray(image)))
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """Any mode -> 'L' (grey sources) or 'RGB', with transparent pixels laid on white paper."""
    image = _eight_bit(image)
    target = "L" if image.mode in _GREY_MODES else "RGB"
    if not image.has_transparency_data or _opaque(image):
        return image.convert(target)
    with_alpha = image.convert(target + "A")
    paper = Image.new(target, image.size, "white")
    paper.paste(with_alpha.convert(target), mask=with_alpha.getchannel("A"))
    return paper


def _opaque(image: Image.Image) -> bool:
    """An RGBA or LA image whose alpha is 255 everywhere, as a browser canvas's PNG is: laying it
    on paper changes nothing, and skipping it saves a whole-image composite per picture."""
    return image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema()[0] == 255
