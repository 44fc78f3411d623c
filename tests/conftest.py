"""Shared fixtures: the local data folder and small generators made here (nothing is downloaded)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from pix2pix.framing import Framer
from pix2pix.networks import UNetGenerator
from tests.painted_faces import LANDMARKS, head_mask, paint
from train.doodle import draw_doodle

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The folder holding data/ and metrics/ (../shared beside the checkout on the project's machines)."""
    candidates = [
        os.environ.get("SKETCH2PHOTO_SHARED"),
        REPO.parent / "shared",
        Path("/work/shared"),
    ]
    for candidate in candidates:
        if (
            candidate
            and (Path(candidate) / "data").is_dir()
            and (Path(candidate) / "metrics").is_dir()
        ):
            return Path(candidate)
    pytest.fail(
        "No shared data folder: set SKETCH2PHOTO_SHARED to the folder holding data/ and metrics/."
    )


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory) -> Path:
    """Exported ONNX files go to a temporary folder (the app and its subprocesses too), never into
    the user's ~/.cache."""
    folder = tmp_path_factory.mktemp("onnx-cache")
    os.environ["SKETCH2PHOTO_CACHE"] = str(folder)
    return folder


def small_generator(
    ngf: int = 8, num_downs: int = 8, seed: int = 0, in_channels: int = 1
) -> UNetGenerator:
    """A seeded random generator in eval mode. Its photos are not flat: outside training, batch norm
    normalises each image by its own statistics (networks.ImageBatchNorm2d). in_channels=5 makes a
    hint model (pix2pix.hints)."""
    torch.manual_seed(seed)
    return UNetGenerator(in_channels, out_channels=3, ngf=ngf, num_downs=num_downs).eval()


def face_sketch(size: int = 256, shift: int = 0, hair=None) -> Image.Image:
    """A doodle of a face: outline, eyes, nose, mouth; with `hair`, an RGB colour, a scribble of
    that colour over the hair (the drawing is then RGB, as the canvas sends it)."""
    image = Image.new("L" if hair is None else "RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    s = size / 256
    black = 0 if hair is None else (0, 0, 0)
    draw.ellipse([60 * s + shift, 40 * s, 196 * s + shift, 220 * s], outline=black, width=3)
    for x in (100, 156):
        draw.ellipse(
            [(x - 10) * s + shift, 100 * s, (x + 10) * s + shift, 112 * s], outline=black, width=2
        )
    draw.line(
        [128 * s + shift, 115 * s, 120 * s + shift, 150 * s, 132 * s + shift, 152 * s],
        fill=black,
        width=2,
    )
    draw.arc([100 * s + shift, 160 * s, 156 * s + shift, 190 * s], 20, 160, fill=black, width=3)
    if hair is not None:
        zigzag = [(80, 50), (176, 52), (84, 62), (172, 64), (90, 74)]
        draw.line([(x * s + shift, y * s) for x, y in zigzag], fill=hair, width=round(10 * s))
    return image


def framer_that_finds(eyes: np.ndarray, size: int = 256) -> Framer:
    """A real Framer (pix2pix.framing) whose weights answer `eyes` ((2, 2) pixels of a `size`
    square) for every drawing: framing made predictable."""
    framer = Framer().eval()
    last = framer.head[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor(eyes / size - 0.5, dtype=torch.float32).flatten())
    return framer


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """A small 256x256 generator saved with save_pretrained, as a user's model folder would be."""
    folder = tmp_path_factory.mktemp("model")
    small_generator().save_pretrained(folder)
    return folder


def draw_pair(rng: np.random.Generator, size: int = 32) -> tuple[Image.Image, Image.Image]:
    """A sketch (outlines) and its 'photo' (the same shapes filled with colour)."""
    sketch = Image.new("L", (size, size), 255)
    photo = Image.new("RGB", (size, size), (235, 225, 210))
    for _ in range(3):
        x, y = rng.integers(0, size - 10, 2)
        w, h = rng.integers(6, 12, 2)
        box = [int(x), int(y), int(x + w), int(y + h)]
        ImageDraw.Draw(photo).ellipse(box, fill=tuple(int(c) for c in rng.integers(0, 200, 3)))
        ImageDraw.Draw(sketch).ellipse(box, outline=0)
    return sketch, photo


@pytest.fixture(scope="module")
def pairs_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("pairs")
    rng = np.random.default_rng(0)
    for split, n in (("train", 8), ("test", 2)):
        for i in range(n):
            sketch, photo = draw_pair(rng)
            for folder, image in (("sketches", sketch), ("photos", photo)):
                (root / split / folder).mkdir(parents=True, exist_ok=True)
                image.save(root / split / folder / f"{i:02d}.png")
    return root


@pytest.fixture(scope="module")
def faces_pairs(tmp_path_factory):
    """A train.faces output folder: photos/, sketches/ and shapes.npz, with known traits."""
    root = tmp_path_factory.mktemp("faces")
    kinds = {
        "plain": {},
        "specs": {"glasses": True},
        "hair": {"long_hair": True},
        "soft": {"blur": True},
    }
    split = root / "train"
    (split / "photos").mkdir(parents=True)
    (split / "sketches").mkdir()
    people = []
    for name, options in kinds.items():
        photo = paint(**options)
        photo.save(split / "photos" / f"{name}.jpg", quality=95)
        people.append(head_mask() | (np.asarray(photo.convert("L")) < 250))
        draw_doodle(LANDMARKS, people[-1], np.random.default_rng(0)).save(
            split / "sketches" / f"{name}.png"
        )
    np.savez_compressed(
        split / "shapes.npz",
        names=np.array(list(kinds)),
        points=np.stack([LANDMARKS.astype(np.float16)] * len(kinds)),
        person=np.stack([np.packbits(person) for person in people]),
    )
    return root
