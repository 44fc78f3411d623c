"""Fuzzing what strangers can send: random bytes, damaged image files, arrays of any dtype and
shape, and canvas values full of junk go through pix2pix.imaging and the app's canvas reader.

The only outcomes allowed are a photo, or a ValueError whose message is a sentence (a capital
first, a full stop last: not a raw decoder message), each within CPU_SECONDS of processor time (not
wall-clock time, which a busy machine stretches at random). The examples are the same on every run
(derandomize), so a failure in CI is one anyone can reproduce.
"""

from __future__ import annotations

import base64
import io
import struct
import time
import zlib
from functools import cache

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from app import read_canvas
from pix2pix import Translator
from pix2pix.imaging import load_image
from tests.conftest import small_generator

CPU_SECONDS = 1.0  # per example, all threads together; a damaged file is refused in milliseconds
FUZZ = settings(
    max_examples=150,
    deadline=None,  # CPU_SECONDS instead
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# What each format can store, and so what visitors' files come in.
SAVED = [
    ("PNG", "1"),
    ("PNG", "L"),
    ("PNG", "LA"),
    ("PNG", "P"),
    ("PNG", "RGB"),
    ("PNG", "RGBA"),
    ("PNG", "I;16"),
    ("JPEG", "L"),
    ("JPEG", "RGB"),
    ("JPEG", "CMYK"),
    ("WEBP", "RGB"),
    ("WEBP", "RGBA"),
    ("GIF", "P"),
    ("GIF", "L"),
]


@pytest.fixture(scope="module")
def translator() -> Translator:
    """A tiny model (32x32): the fuzzing is about the input, and each example should take ms.

    On one thread: tensors this small gain nothing from more, and on a busy machine each parallel
    op waits for its descheduled sibling threads.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield Translator(small_generator(ngf=4, num_downs=5), device="cpu")
    torch.set_num_threads(threads)


def assert_photo_or_sentence(make_photo) -> None:
    """make_photo() gives a photo, or raises a ValueError that reads as a sentence, in time."""
    start = time.process_time()
    try:
        photo = make_photo()
    except ValueError as err:
        message = str(err)
        assert message[:1].isupper() and message.rstrip().endswith("."), message
    else:
        assert isinstance(photo, Image.Image) and photo.mode in ("L", "RGB")
        assert min(photo.size) >= 1
    assert time.process_time() - start < CPU_SECONDS


@cache
def encoded(fmt: str, mode: str, width: int, height: int, seed: int) -> bytes:
    """A real file: noise in `mode`, JPEGs with an EXIF orientation, GIFs with two frames."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    image = image.convert("L").convert("I;16") if mode == "I;16" else image.convert(mode)
    buffer = io.BytesIO()
    options = {}
    if fmt == "JPEG":
        exif = Image.Exif()
        exif[0x0112] = 1 + seed % 8  # orientation: each of the eight
        options["exif"] = exif.tobytes()
    if fmt == "GIF":
        options = {"save_all": True, "append_images": [image.transpose(Image.Transpose.ROTATE_90)]}
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@st.composite
def damaged_files(draw) -> bytes:
    """A real PNG, JPEG, WebP or GIF, intact, cut short, with bytes flipped, or with junk inserted."""
    fmt, mode = draw(st.sampled_from(SAVED))
    width, height = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    data = encoded(fmt, mode, width, height, draw(st.integers(0, 7)))
    damages = ["none", "cut", "flip", "insert"] + (["dimensions"] if fmt == "PNG" else [])
    damage = draw(st.sampled_from(damages))
    if damage == "cut":
        return data[: draw(st.integers(0, len(data) - 1))]
    if damage == "flip":
        spoilt = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            spoilt[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
        return bytes(spoilt)
    if damage == "insert":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=64)) + data[at:]
    if damage == "dimensions":  # a header that claims another size, with a correct checksum
        width, height = draw(st.integers(0, 2**31 - 1)), draw(st.integers(0, 2**31 - 1))
        header = b"IHDR" + struct.pack(">II", width, height) + data[24:29]
        return data[:12] + header + struct.pack(">I", zlib.crc32(header)) + data[33:]
    return data


def data_url(data: bytes, kind: str = "png") -> str:
    return f"data:image/{kind};base64," + base64.b64encode(data).decode()


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(translator, data):
    assert_photo_or_sentence(lambda: translator.translate(data))
    assert_photo_or_sentence(lambda: translator.translate(load_image(read_canvas(data_url(data)))))


@FUZZ
@given(data=damaged_files())
def test_damaged_files(translator, data):
    assert_photo_or_sentence(lambda: translator.translate(data))
    assert_photo_or_sentence(lambda: translator.translate(load_image(read_canvas(data_url(data)))))


SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=9)
ARRAYS = st.one_of(
    hnp.arrays(  # numbers of every size and byte order, bools, dates, strings, records
        dtype=hnp.scalar_dtypes()
        | hnp.byte_string_dtypes()
        | hnp.unicode_string_dtypes()
        | hnp.array_dtypes(),
        shape=SHAPES,
    ),
    hnp.arrays(dtype=object, shape=SHAPES, elements=st.none() | st.integers() | st.text()),
)


@FUZZ
@given(array=ARRAYS)
def test_arrays_of_every_dtype_and_shape(translator, array):
    assert_photo_or_sentence(lambda: translator.translate(array))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[dict]:
    """Gradio FileData references a client could send: a sketch, a damaged file, a missing path,
    a folder (the only paths the canvas junk may name: nothing else on this machine is read)."""
    folder = tmp_path_factory.mktemp("uploads")
    (folder / "sketch.png").write_bytes(encoded("PNG", "L", 16, 16, 0))
    (folder / "cut.jpg").write_bytes(encoded("JPEG", "RGB", 16, 16, 0)[:100])
    paths = [folder / "sketch.png", folder / "cut.jpg", folder / "missing.png", folder]
    return [{"path": str(path), "meta": {"_type": "gradio.FileData"}} for path in paths]


def junk(files: list[dict]):
    """JSON-like values such as a client can post, leaning towards canvas dicts and images."""
    pictures = st.one_of(
        damaged_files().map(data_url),
        st.text(max_size=40).map(lambda text: "data:image/png;base64," + text),
        st.sampled_from(files),
    )
    leaves = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20), pictures
    )
    keys = st.sampled_from(["background", "layers", "composite", "path", "meta", "url", "x"])
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=12,
    )


@FUZZ
@given(data=st.data())
def test_canvas_values_with_junk(translator, files, data):
    value = data.draw(junk(files))
    assert_photo_or_sentence(lambda: translator.translate(load_image(read_canvas(value))))
