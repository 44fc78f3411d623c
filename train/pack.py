"""`python -m train.pack PAIRS -o PACK`: `train.faces` pairs -> a compact training pack.

A pack is what travels to a rented GPU (a few tens of MB for ten thousand faces) and what the
trainer reads as the `faces` layout: per split, `photos/NAME.webp` and `shapes.npz` with the
landmarks that `train.doodle` draws from (only those it uses), the person and hair masks (64x64
bits), and the traits of `train.traits` (glasses, beard, long hair). No doodle is stored: the trainer
draws a fresh one every epoch, with glasses where the photo wears them, a beard where it has one and
hair where the hair is.

It also cleans the targets: photos that make bad targets (blurred, blown out by a flash, the face
covered; `Traits.bad_target`) are left out of the training split and counted, and photos with a
rare trait are listed more than once (`repeat`) so that the model sees enough of each.
`--contact-sheets DIR` writes the photos each measure picks, to check the thresholds by eye.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from train.doodle import LANDMARKS_DRAWN
from train.shapes import SHAPES_FILE, grow_mask, load_shapes, shrink_mask
from train.traits import Traits, measure

TRAITS = ("glasses", "beard", "long_hair")
EXTRA_REPEATS = 2  # the default of --extra-repeats
MOST_TRAITS_COUNTED = 2  # a photo with all three rare traits is listed as often as one with two


def repeat_for(traits: Traits, extra: int = EXTRA_REPEATS) -> int:
    """How often a photo is listed per epoch: once, and `extra` more times for each rare trait it
    shows (at most two counted)."""
    rare = sum(bool(getattr(traits, name)) for name in TRAITS)
    return 1 + extra * min(rare, MOST_TRAITS_COUNTED)


def pack_split(
    source: Path,
    out: Path,
    quality: int,
    clean: bool,
    sheets: Path | None,
    extra_repeats: int = EXTRA_REPEATS,
) -> dict:
    shapes = load_shapes(source / SHAPES_FILE)
    names = [str(n) for n in shapes["names"]]
    (out / "photos").mkdir(parents=True, exist_ok=True)
    kept: dict[str, list] = {
        k: [] for k in ("names", "points", "person", "hair", "repeat", *TRAITS)
    }
    report = {"photos": len(names), "dropped": {}, **{name: 0 for name in TRAITS}}
    scores = []
    for i, name in enumerate(tqdm(names, desc=source.name, unit="photo", dynamic_ncols=True)):
        photo = Image.open(source / "photos" / f"{name}.jpg").convert("RGB")
        pixels = np.asarray(photo)
        points = shapes["points"][i].astype(np.float32)
        person = grow_mask(shapes["person"][i], pixels.shape[0])
        traits = measure(pixels, points, person)
        scores.append((name, traits))
        why = traits.bad_target
        if clean and why:
            report["dropped"][why] = report["dropped"].get(why, 0) + 1
            continue
        photo.save(out / "photos" / f"{name}.webp", quality=quality, method=6)
        kept["names"].append(name)
        kept["points"].append(points[LANDMARKS_DRAWN].astype(np.float16))
        kept["person"].append(shrink_mask(person))
        kept["hair"].append(shrink_mask(traits.hair))
        kept["repeat"].append(repeat_for(traits, extra_repeats) if clean else 1)
        for trait in TRAITS:
            kept[trait].append(getattr(traits, trait))
            report[trait] += int(getattr(traits, trait))
    arrays = {k: np.stack(v) if k != "names" else np.array(v) for k, v in kept.items()}
    np.savez_compressed(out / SHAPES_FILE, index=np.array(LANDMARKS_DRAWN), **arrays)
    report["kept"] = len(kept["names"])
    report["listed per epoch"] = int(arrays["repeat"].sum())
    if sheets:
        contact_sheets(source, scores, sheets / source.name)
    return report


def contact_sheets(source: Path, scores: list[tuple[str, Traits]], out: Path, n: int = 48) -> None:
    """For each measure, the n photos it scores highest and the n just above its threshold."""
    out.mkdir(parents=True, exist_ok=True)
    measures = {  # label: (score, whether the photo is picked)
        "glasses": (lambda t: t.bridge, lambda t: t.glasses),
        "beard": (lambda t: t.chin, lambda t: t.beard),
        "long_hair": (lambda t: t.beside_jaw, lambda t: t.long_hair),
        "blurred": (lambda t: -t.sharpness, lambda t: t.bad_target == "blurred"),
        "blown_out": (lambda t: t.blown_out, lambda t: t.bad_target == "blown out"),
        "covered": (lambda t: -t.skin_share, lambda t: t.bad_target == "face covered"),
    }
    for label, (score, flagged) in measures.items():
        ranked = sorted(scores, key=lambda item: -score(item[1]))
        at_threshold = [item for item in ranked if flagged(item[1])][-n:]
        for part, items in (("top", ranked[:n]), ("threshold", at_threshold)):
            sheet = Image.new("RGB", (8 * 96, 6 * 96), "white")
            for k, (name, _) in enumerate(items[:n]):
                im = Image.open(source / "photos" / f"{name}.jpg").resize((96, 96))
                sheet.paste(im, ((k % 8) * 96, (k // 8) * 96))
            sheet.save(out / f"{label}_{part}.png")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m train.pack",
        description="Pack train.faces pairs (PAIRS/train, PAIRS/val) into a compact folder the "
        "trainer reads (layout faces): WebP photos, landmarks, masks, traits.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("pairs", nargs="+", help="train.faces output folders (with train/ and val/)")
    p.add_argument("-o", "--out", required=True, help="the pack folder")
    p.add_argument("--quality", type=int, default=80, help="WebP quality of the photos")
    p.add_argument("--contact-sheets", metavar="DIR", help="write each measure's photos here")
    p.add_argument(
        "--extra-repeats",
        type=int,
        default=EXTRA_REPEATS,
        metavar="N",
        help="a training photo is listed N more times per epoch for each rare trait it shows "
        "(glasses, beard, long hair; two at most): LFW is mostly short-haired men",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    summary = {}
    for pairs in map(Path, args.pairs):
        splits = [s for s in ("train", "val") if (pairs / s / SHAPES_FILE).is_file()]
        if not splits:
            print(f"error: {pairs} holds no train.faces split with {SHAPES_FILE}.", file=sys.stderr)
            return 2
        for split in splits:
            target = out / pairs.name / split
            sheets = Path(args.contact_sheets) / pairs.name if args.contact_sheets else None
            # held-out splits are packed whole: a cleaned validation set would flatter the model
            report = pack_split(
                pairs / split, target, args.quality, split == "train", sheets, args.extra_repeats
            )
            summary[f"{pairs.name}/{split}"] = report
            print(f"{pairs.name}/{split}: {json.dumps(report)}")
    (out / "pack.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
