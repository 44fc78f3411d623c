"""Glasses painted on a face photo, along the lines the doodle draws them.

LFW has few glasses (4.6% of the kept photos), and their frames are mostly thin and pale: the L1
loss gains more from a smooth cheek than from a frame, so a model trained on them paints a dark band
where glasses are drawn, or nothing. Painting frames on photos without glasses, exactly under the
glasses the doodle draws (`train.doodle.glasses_frames`), gives the model many pairs where drawn
frames mean dark frames in the photo. Frames get a colour of real frames (black, browns, greys),
a width of 4-8% of the eye distance, temples to the face's edge and a soft shadow on the skin below.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from train.doodle import IRISES, glasses_frames

FRAME_COLOURS = np.array(
    [(24, 24, 28), (52, 36, 28), (88, 58, 38), (62, 64, 70), (32, 36, 62), (120, 108, 92)], float
)  # black, dark brown, tortoiseshell, grey, navy, brushed metal
SCALE = 2  # drawn at twice the size, then shrunk: smooth edges


def paint_glasses(
    photo: Image.Image, points: np.ndarray, rng: np.random.Generator, round_frames: bool
) -> Image.Image:
    """The photo (RGB) wearing glasses along `glasses_frames(points, round_frames, temples=True)`.
    `points` are the 478 face-mesh landmarks in the photo's pixels."""
    eye_distance = float(np.linalg.norm(points[IRISES[0]] - points[IRISES[1]]))
    width = max(1.0, eye_distance * rng.uniform(0.04, 0.08))
    lines = glasses_frames(points, round_frames, temples=True)
    mask = Image.new("L", (photo.width * SCALE, photo.height * SCALE), 0)
    draw = ImageDraw.Draw(mask)
    for line, closed in lines:
        path = np.vstack([line, line[:1]]) if closed else line
        draw.line(
            [tuple(p) for p in path * SCALE], fill=255, width=round(width * SCALE), joint="curve"
        )
    mask = mask.resize(photo.size, Image.Resampling.LANCZOS)
    shadow = mask.transform(
        mask.size, Image.Transform.AFFINE, (1, 0, 0, 0, 1, -width * 0.8)
    ).filter(ImageFilter.GaussianBlur(width * 0.6))
    frame = np.asarray(mask, np.float32)[..., None] / 255 * rng.uniform(0.85, 1.0)
    below = np.asarray(shadow, np.float32)[..., None] / 255 * 0.3
    colour = FRAME_COLOURS[rng.integers(len(FRAME_COLOURS))] + rng.normal(0, 8, 3)
    pixels = np.asarray(photo.convert("RGB"), np.float32) * (1 - below)
    pixels = pixels * (1 - frame) + np.clip(colour, 0, 255) * frame
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8))
