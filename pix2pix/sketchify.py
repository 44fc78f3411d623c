"""Photo -> line drawing, for training without hand-drawn sketches.

Two uses: sketches for photos-only data (`python -m train --layout photos`), and "doodle-robust"
training: people draw thin black lines on a white canvas, nothing like the shaded CUHK pencil
sketches, so the model must also see line drawings made from its training photos.

Everything here is numpy + PIL: on a 256x256 face xdog takes a few milliseconds and a doodle about
20, so a data loader can call it per sample.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

STYLES = ("xdog", "edges", "doodle")
MIN_SIZE = 16  # pixels per side; below this there is no face to draw


def _grey(photo: Image.Image) -> np.ndarray:
    """Grey levels in [0, 1], contrast-stretched so thresholds mean the same on dim and bright photos."""
    if min(photo.size) < MIN_SIZE:
        raise ValueError(
            f"The photo is {photo.width}x{photo.height} pixels; sketchify needs at least "
            f"{MIN_SIZE}x{MIN_SIZE}."
        )
    grey = np.asarray(photo.convert("L"), dtype=np.float32) / 255.0
    lo, hi = np.percentile(grey, (1, 99))
    if hi - lo < 1 / 255:  # a flat photo: nothing to stretch, and nothing to draw
        return grey
    # Black point at the darkest 1%, but never above 20% grey: in a face without dark hair the
    # darkest 1% is skin, and clipping everything darker would erase the eyes and mouth.
    lo = min(lo, 0.2)
    return np.clip((grey - lo) / (hi - lo), 0.0, 1.0)


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur as two 1-D passes with mirrored borders."""
    radius = max(1, min(math.ceil(3 * sigma), min(a.shape) - 1))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2).astype(np.float32)
    taps /= taps.sum()
    padded = np.pad(a, radius, mode="reflect")
    rows = sum(w * padded[:, i : i + a.shape[1]] for i, w in enumerate(taps))
    return sum(w * rows[i : i + a.shape[0]] for i, w in enumerate(taps))


def _to_image(ink: np.ndarray) -> Image.Image:
    """Ink in [0, 1] (1 = black) -> mode 'L' image, white background."""
    return Image.fromarray(np.round(255 * (1 - np.clip(ink, 0, 1))).astype(np.uint8), mode="L")


def xdog(
    photo: Image.Image,
    sigma: float = 0.8,
    k: float = 1.6,
    p: float = 30.0,
    epsilon: float = 0.25,
    phi: float = 3.0,
) -> Image.Image:
    """Extended difference of Gaussians (Winnemöller et al. 2012): a pencil-like line drawing, mode 'L', white background.

    S = (1 + p) G_sigma - p G_{k sigma} sharpens edges; pixels with S >= epsilon are white, the rest
    fall off smoothly as 1 + tanh(phi (S - epsilon)). Grey levels are stretched to [0, 1] first, so an
    epsilon near 0 keeps only lines and a larger one also shades the darkest areas (hair, pupils).
    """
    grey = _grey(photo)
    sharpened = (1 + p) * _blur(grey, sigma) - p * _blur(grey, k * sigma)
    tone = np.where(sharpened >= epsilon, 1.0, 1.0 + np.tanh(phi * (sharpened - epsilon)))
    return _to_image(1.0 - tone)


def _edge_ridges(grey: np.ndarray) -> np.ndarray:
    """Gradient magnitude where it peaks across the edge (Canny's non-maximum suppression), else 0."""
    padded = np.pad(grey, 1, mode="edge")
    gx = (padded[1:-1, 2:] - padded[1:-1, :-2]) / 2
    gy = (padded[2:, 1:-1] - padded[:-2, 1:-1]) / 2
    magnitude = np.hypot(gx, gy)
    # Gradient direction rounded to one of four neighbour axes: 0, 45, 90, 135 degrees.
    sector = np.round(np.arctan2(gy, gx) / (np.pi / 4)).astype(np.int64) % 4
    m = np.pad(magnitude, 1)
    h, w = grey.shape
    peak = np.zeros_like(magnitude, dtype=bool)
    for axis, (dy, dx) in enumerate(((0, 1), (1, 1), (1, 0), (1, -1))):
        ahead = m[1 + dy : h + 1 + dy, 1 + dx : w + 1 + dx]
        behind = m[1 - dy : h + 1 - dy, 1 - dx : w + 1 - dx]
        peak |= (sector == axis) & (magnitude >= ahead) & (magnitude >= behind)
    return np.where(peak, magnitude, 0)


def _neighbourhood(mask: np.ndarray) -> np.ndarray:
    """Each pixel's 8 neighbours as one byte: bit i is neighbour P(i+2) of Zhang & Suen (1984),
    clockwise from north. Rules about neighbourhoods then become 256-entry lookup tables."""
    m = np.pad(mask, 1).astype(np.uint8)
    ring = (
        m[:-2, 1:-1], m[:-2, 2:], m[1:-1, 2:], m[2:, 2:],
        m[2:, 1:-1], m[2:, :-2], m[1:-1, :-2], m[:-2, :-2],
    )  # fmt: skip
    code = np.zeros(mask.shape, dtype=np.uint8)
    for bit, neighbour in enumerate(ring):
        code |= neighbour << bit
    return code


_RING = (np.arange(256)[:, None] >> np.arange(8)) & 1  # the neighbours P2..P9 of every byte
# How many separate runs of line pixels surround a pixel: 1 at a line's end, 2 along it, 3 or more
# where lines meet. Unlike a neighbour count, it ignores the staircase corners of diagonal lines.
_CROSSINGS = ((_RING == 0) & (np.roll(_RING, -1, axis=1) == 1)).sum(axis=1)
_P2, _P4, _P6, _P8 = _RING[:, 0], _RING[:, 2], _RING[:, 4], _RING[:, 6]
_PEELABLE = (_RING.sum(axis=1) >= 2) & (_RING.sum(axis=1) <= 6) & (_CROSSINGS == 1)
# Zhang-Suen's two sub-iterations peel south-east and north-west boundary pixels in turn.
_PEEL = (
    _PEELABLE & (_P2 * _P4 * _P6 == 0) & (_P4 * _P6 * _P8 == 0),
    _PEELABLE & (_P2 * _P4 * _P8 == 0) & (_P2 * _P6 * _P8 == 0),
)


def _thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning, vectorised: peel boundary pixels until every line is 1 px wide."""
    mask = mask.copy()
    while True:
        changed = False
        for peelable in _PEEL:
            peel = mask & peelable[_neighbourhood(mask)]
            if peel.any():
                mask[peel] = False
                changed = True
        if not changed:
            return mask


def edges(
    photo: Image.Image,
    sigma: float = 2.0,
    low: float = 0.02,
    high: float = 0.06,
    min_length: int = 10,
) -> Image.Image:
    """Thin dark edge lines (gradient magnitude, thresholded, thinned), mode 'L', white background.

    sigma smooths away skin texture before the gradient. Thresholds are in grey levels per pixel of
    the contrast-stretched photo, with hysteresis as in Canny: a thinned line piece above `low` is
    kept when some pixel of it is above `high` and it is at least min_length pixels long.
    """
    magnitude = _edge_ridges(_blur(_grey(photo), sigma))
    lines = _label(_thin(magnitude > low))
    strong = np.zeros(lines.max() + 2, dtype=bool)  # the spare last slot is what -1 indexes
    strong[lines[(magnitude > high) & (lines >= 0)]] = True
    lines[~strong[lines]] = -1
    return _to_image(_keep_long(lines, min_length) >= 0)


def _label(mask: np.ndarray) -> np.ndarray:
    """Connected pieces (8-neighbourhood) of a mask: -1 off the mask, else a piece id.

    A vectorised union-find: hook each root onto the smallest root it touches, then jump pointers
    until every pixel points at its root; a few rounds suffice even for long lines.
    """
    h, w = mask.shape
    index = np.full((h + 2, w + 2), -1, dtype=np.int64)
    ys, xs = np.nonzero(mask)
    index[ys + 1, xs + 1] = np.arange(len(ys))
    pairs = [
        (index[1:-1, 1:-1], index[1 + dy : h + 1 + dy, 1 + dx : w + 1 + dx])
        for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1))
    ]
    a = np.concatenate([u[(u >= 0) & (v >= 0)] for u, v in pairs])
    b = np.concatenate([v[(u >= 0) & (v >= 0)] for u, v in pairs])
    parent = np.arange(len(ys))
    while True:
        ra, rb = parent[a], parent[b]
        if np.array_equal(ra, rb):
            break
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))
        while not np.array_equal(parent[parent], parent):
            parent = parent[parent]
    labels = np.full((h, w), -1, dtype=np.int64)
    labels[ys, xs] = parent
    return labels


def _strokes(skeleton: np.ndarray) -> np.ndarray:
    """Cut a 1-px skeleton into strokes at its junctions, where three or more lines meet.

    Returns piece ids as _label does; each junction pixel joins a neighbouring stroke.
    """
    junction = skeleton & (_CROSSINGS[_neighbourhood(skeleton)] >= 3)
    labels = _label(skeleton & ~junction)
    h, w = skeleton.shape
    padded = np.pad(labels, 1, constant_values=-1)
    for dy, dx in ((-1, 0), (0, 1), (1, 0), (0, -1), (-1, 1), (1, 1), (1, -1), (-1, -1)):
        near = padded[1 + dy : h + 1 + dy, 1 + dx : w + 1 + dx]
        take = junction & (labels < 0) & (near >= 0)
        labels[take] = near[take]
    return labels


def _clean_strokes(skeleton: np.ndarray, min_length: int) -> np.ndarray:
    """Strokes of a skeleton without specks and short spurs (thinning grows whiskers on blobs)."""
    strokes = _strokes(skeleton)
    ends = skeleton & (_CROSSINGS[_neighbourhood(skeleton)] == 1)
    spur = np.zeros(strokes.max() + 2, dtype=bool)  # the spare last slot is what -1 indexes
    spur[strokes[ends & (strokes >= 0)]] = True
    spur &= np.bincount(strokes[strokes >= 0], minlength=len(spur)) < min_length
    skeleton = skeleton & ~spur[strokes]
    return _strokes(_keep_long(_label(skeleton), min_length) >= 0)


def _keep_long(labels: np.ndarray, min_length: int) -> np.ndarray:
    """Set pieces shorter than min_length pixels to -1."""
    sizes = np.bincount(labels[labels >= 0], minlength=1)
    short = (labels >= 0) & (sizes[np.maximum(labels, 0)] < min_length)
    return np.where(short, -1, labels)


def _pen(ink: np.ndarray, width: int) -> np.ndarray:
    """Re-draw 1-px lines with a round pen `width` pixels across (a dilation)."""
    centre = (width - 1) / 2
    h, w = ink.shape
    padded = np.pad(ink, width)
    out = np.zeros_like(ink)
    for dy in range(width):
        for dx in range(width):
            if math.hypot(dy - centre, dx - centre) <= width / 2:
                out |= padded[width - dy : width - dy + h, width - dx : width - dx + w]
    return out


def doodle(photo: Image.Image, rng: np.random.Generator) -> Image.Image:
    """What a person might draw: a thinned binary line drawing from the photo (xdog or edges, chosen at
    random), strokes re-drawn with a random pen width (1-4 px at 256^2), a random fraction of strokes
    (connected line pieces) dropped, small random jitter of position and scale; mode 'L', black lines on white.

    Pixel sizes scale with the photo, so a 512^2 photo gets the same drawing twice as large.
    """
    size = min(photo.size) / 256
    if rng.random() < 0.5:
        lines = xdog(photo, sigma=rng.uniform(1.8, 2.5) * size, p=200.0, epsilon=-1.0, phi=100.0)
    else:
        # Blur spreads an edge over more pixels, so its gradient per pixel falls as 1/sigma.
        sigma = rng.uniform(2.0, 3.0) * size
        lines = edges(photo, sigma=sigma, low=0.05 / sigma, high=rng.uniform(0.1, 0.15) / sigma)
    strokes = _clean_strokes(_thin(np.asarray(lines) < 128), round(16 * size))
    ids = np.unique(strokes[strokes >= 0])
    dropped = ids[rng.random(len(ids)) < rng.uniform(0.0, 0.3)]
    kept = (strokes >= 0) & ~np.isin(strokes, dropped)

    # Each connected line moves on its own by a pixel or so, as a hand would place it.
    pieces = _label(kept)
    ys, xs = np.nonzero(kept)
    shift = np.round(rng.uniform(-1.5, 1.5, (pieces.max() + 1, 2)) * size).astype(np.int64)
    h, w = kept.shape
    owner = pieces[ys, xs]
    ink = np.zeros((h, w), dtype=bool)
    ink[np.clip(ys + shift[owner, 0], 0, h - 1), np.clip(xs + shift[owner, 1], 0, w - 1)] = True
    ink = _pen(ink, max(1, round(rng.integers(1, 5) * size)))

    # The whole drawing sits a little off, a little larger or smaller than the photo.
    scale = rng.uniform(0.95, 1.05)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    ty, tx = rng.uniform(-0.03, 0.03, 2) * (h, w)
    inverse = (1 / scale, 0, cx - (cx + tx) / scale, 0, 1 / scale, cy - (cy + ty) / scale)
    drawing = _to_image(ink.astype(np.float32))
    return drawing.transform(drawing.size, Image.AFFINE, inverse, Image.BILINEAR, fillcolor=255)


def sketchify(
    photo: Image.Image, style: str = "xdog", rng: np.random.Generator | None = None
) -> Image.Image:
    """One entry point: style in {"xdog", "edges", "doodle"}; same size as the photo, mode 'L'.

    Deterministic for a given rng state; doodle without an rng uses a fixed seed.
    """
    if style == "xdog":
        return xdog(photo)
    if style == "edges":
        return edges(photo)
    if style == "doodle":
        return doodle(photo, rng if rng is not None else np.random.default_rng(0))
    raise ValueError(f"Unknown sketch style {style!r}; choose one of {', '.join(STYLES)}.")
