"""A face painted where the project's test landmarks are (mediapipe's face mesh on the project's own
drawing, tests/data), with traits known to be there or not: shared by the faces, traits and regions
tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from train.doodle import FACE_OVAL

LANDMARKS = np.load(Path(__file__).parent / "data" / "long_hair_landmarks.npy")


def head_mask(points: np.ndarray = LANDMARKS, size: int = 256) -> np.ndarray:
    """A person: the face oval grown upwards and sideways (hair), plus shoulders at the bottom."""
    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    top, chin = points[10], points[152]
    left, right = points[234, 0], points[454, 0]
    draw.ellipse([left - 20, top[1] - 35, right + 20, chin[1] + 5], fill=255)
    draw.rectangle([left - 10, chin[1] - 10, right + 10, size], fill=255)
    return np.asarray(image) > 0


SKIN, HAIR = (205, 160, 130), (40, 30, 25)


def paint(glasses=False, beard=False, long_hair=False, blur=False) -> Image.Image:
    """A face photo on white: hair on top (and down beside the jaw when long), a skin-coloured face
    with some texture, optionally a dark bar over the nose bridge and a dark chin."""
    photo = Image.new("RGB", (256, 256), "white")
    draw = ImageDraw.Draw(photo)
    oval = [tuple(p) for p in LANDMARKS[FACE_OVAL]]
    top, chin = LANDMARKS[10], LANDMARKS[152]
    left, right = LANDMARKS[234, 0], LANDMARKS[454, 0]
    draw.ellipse([left - 18, top[1] - 30, right + 18, top[1] + 40], fill=HAIR)
    if long_hair:
        draw.rectangle([left - 45, top[1], left + 10, chin[1] + 5], fill=HAIR)
        draw.rectangle([right - 10, top[1], right + 45, chin[1] + 5], fill=HAIR)
    draw.polygon(oval, fill=SKIN)
    rng = np.random.default_rng(0)
    pixels = np.asarray(photo).astype(np.int16)
    face = np.asarray(photo.convert("L")) < 250
    pixels[face] += rng.integers(-25, 26, size=(int(face.sum()), 1))  # skin texture, edges
    photo = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(photo)
    if glasses:
        inner_r, inner_l = LANDMARKS[133], LANDMARKS[362]
        y = (inner_r[1] + inner_l[1]) / 2 - 3
        draw.rectangle([inner_r[0] - 2, y - 2, inner_l[0] + 2, y + 2], fill=(20, 20, 20))
    if beard:
        lip, corner_r, corner_l = LANDMARKS[17], LANDMARKS[61], LANDMARKS[291]
        draw.rectangle([corner_r[0] - 4, lip[1] + 2, corner_l[0] + 4, chin[1]], fill=HAIR)
    return photo.filter(ImageFilter.GaussianBlur(6)) if blur else photo
