"""`python -m train.palette PAIRS/train`: the skin tones and hair colours of pix2pix/variation.py.

The Variation seed paints a skin tone and a hair colour as colour hints (pix2pix.variation). Those
colours come from real photos: the cheeks' and the crown's median colours that `train.traits`
measures, over the `train.faces` training photos. LFW is mostly light-skinned, so the colours are
binned by luminance into equal steps and each bin gives its median: dark and light tones then come
up equally often, and the seed gives the variety a person expects, not LFW's.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from train.shapes import SHAPES_FILE, grow_mask, load_shapes
from train.traits import luminance, measure

MIN_PHOTOS = 5  # a bin with fewer photos is left out: a few odd photos are not a tone


def binned(colours: np.ndarray, bins: int) -> list[tuple[int, int, int]]:
    """The median colour of each of `bins` equal luminance steps between the 2nd and 98th
    percentile of (N, 3) colours, darkest first; bins with fewer than MIN_PHOTOS colours dropped."""
    light = luminance(colours)
    low, high = np.percentile(light, [2, 98])
    edges = np.linspace(low, high, bins + 1)
    found = []
    for a, b in itertools.pairwise(edges):
        inside = colours[(light >= a) & (light <= b)]
        if len(inside) >= MIN_PHOTOS:
            r, g, b_ = np.median(inside, axis=0).round().astype(int)
            found.append((int(r), int(g), int(b_)))
    return found


def measure_colours(split: Path, every: int) -> tuple[np.ndarray, np.ndarray]:
    """(skin colours, hair colours) of every `every`-th photo of a train.faces split."""
    shapes = load_shapes(split / SHAPES_FILE)
    skins, hairs = [], []
    for i in tqdm(range(0, len(shapes["names"]), every), unit="photo"):
        name = str(shapes["names"][i])
        pixels = np.asarray(Image.open(split / "photos" / f"{name}.jpg").convert("RGB"))
        person = grow_mask(shapes["person"][i], pixels.shape[0])
        traits = measure(pixels, shapes["points"][i].astype(np.float32), person)
        if traits.bad_target:
            continue
        skins.append(traits.skin)
        if traits.hair_colour is not None:
            hairs.append(traits.hair_colour)
    return np.array(skins, np.float32), np.array(hairs, np.float32)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.palette", description=__doc__.split("\n")[0])
    p.add_argument("split", help="a train.faces split folder (photos/ and shapes.npz)")
    p.add_argument("--every", type=int, default=4, help="measure every N-th photo")
    p.add_argument("--skin-bins", type=int, default=8)
    p.add_argument("--hair-bins", type=int, default=6)
    args = p.parse_args(argv)
    split = Path(args.split)
    if not (split / SHAPES_FILE).is_file():
        print(f"error: {split} holds no {SHAPES_FILE} (a train.faces split).", file=sys.stderr)
        return 2
    skins, hairs = measure_colours(split, args.every)
    print(f"# {len(skins)} photos measured, {len(hairs)} with hair seen")
    print(f"SKIN_TONES = {tuple(binned(skins, args.skin_bins))}")
    print(f"HAIR_COLOURS = {tuple(binned(hairs, args.hair_bins))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
