"""Colour hints, measured: do a hint model's photos take the colours its hints ask for?

    python benchmarks/hint_eval.py --model DIR_OR_REPO | --run RUN
        [--data ROOT ...] [--limit N] [--seed 0] [--baseline checkpoints/faces] [--out DIR]

On the held-out pairs of each data set (its val/ split, else test/), hints are sampled from the
true photo by train/hints.py as in training (seeded per pair; drawn again until there is a hint),
and each sketch is translated with them and without. Printed per data set:

- CIEDE2000 between the made and the true photo (CIELAB, per pixel, the mean of each image, then
  over images) on the hinted pixels, and on a ring RING pixels wide around them: hints should bring
  the hinted colours closer without smearing into their surroundings;
- the sketch metrics of train.evaluate (FSIM, FSIMc, SSIM, PSNR) without and with hints, and of
  --baseline (a sketch-only model) on the same sketches: without hints a hint model should score
  as the sketch model does.

Then the pen, as a visitor gives hints: a face doodle from examples/ with the hair scribbled
black, blond, red or grey and the skin light or dark with pix2pix.hints.PALETTE's pens, as one
image read by split_drawing -> OUT/grid.png (drawings above, photos below); and the issue's done-when
check (`check_pen`), printed PASS or FAIL. OUT/metrics.json holds every number.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pix2pix.hints import PALETTE, no_hints, split_drawing, stack_input  # noqa: E402
from pix2pix.imaging import to_photo, to_sketch_tensor  # noqa: E402
from pix2pix.networks import UNetGenerator  # noqa: E402
from pix2pix.translate import Translator, load_generator  # noqa: E402
from train.data import Pair, find_pairs, has_split  # noqa: E402
from train.evaluate import LABELS, score, sketch_of  # noqa: E402
from train.hints import sample_hints  # noqa: E402
from train.metrics import ciede2000, srgb_to_lab  # noqa: E402
from train.state import generator_of_run  # noqa: E402

DEFAULT_DATA = [ROOT.parent / "data" / "lfw_pairs", ROOT.parent / "shared/data/cufs/cuhk_student"]
DOODLES = [ROOT / "examples" / "doodle.png", ROOT / "examples" / "bob.png"]
RING = 8  # pixels around the hints (at the model's 256) where colour must not smear
TRIES = 50  # draws of sample_hints before a photo counts as having no place for a hint

# Where a visitor scribbles on a face framed as the examples are (eyes at half height, face half
# the picture wide): zigzags as fractions of the picture, drawn with a pen PEN of it wide.
HAIR = [[(0.34, 0.11), (0.66, 0.10), (0.33, 0.15), (0.67, 0.14), (0.33, 0.19), (0.67, 0.18)]]
SKIN = [
    [(0.31, 0.56), (0.41, 0.57), (0.32, 0.61), (0.41, 0.62)],  # the cheeks
    [(0.59, 0.57), (0.69, 0.56), (0.59, 0.62), (0.68, 0.61)],
    [(0.42, 0.33), (0.58, 0.33), (0.43, 0.37), (0.57, 0.37)],  # the forehead
]
PEN = 0.04
GRID = {
    "no hint": None,
    "black hair": ("black", HAIR),
    "blond hair": ("blond", HAIR),
    "red hair": ("red", HAIR),
    "grey hair": ("grey", HAIR),
    "light skin": ("light skin", SKIN),
    "dark skin": ("dark skin", SKIN),
}
# The done-when check: the red-scribbled hair's mean hue within HUE_TOLERANCE degrees of the pen's,
# its saturation SATURATION_GAIN above the hair of the black-pen photo (on [0, 1]), and light and
# dark skin pens SKIN_DIFFERENCE apart (CIEDE2000 of the mean skin colours; 10 is clearly so).
HUE_TOLERANCE = 20.0
SATURATION_GAIN = 0.15
SKIN_DIFFERENCE = 10.0


def load_model(model: str | None, run: str | None) -> UNetGenerator:
    """A model folder or Hub repo id (None: the bundled one), or a training run's generator (its
    last saved state, as its args.json builds it)."""
    return load_generator(model) if run is None else generator_of_run(Path(run))


def held_out(root: Path) -> tuple[str, list[Pair]]:
    """(split, pairs) of a data set's held-out split: val/ where there is one, else test/. Without
    either, find_pairs would give all of root's pairs, which may be training pairs."""
    for split in ("val", "test"):
        if has_split(root, split):
            return split, find_pairs(root, split=split)
    raise SystemExit(f"error: {root} has no val/ or test/ split; its pairs may be training pairs.")


def to_unit(tensor: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [-1, 1] -> (H, W, 3) in [0, 1]."""
    return ((tensor.clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()


def colour_errors(made: np.ndarray, true: np.ndarray, mask: np.ndarray, inside: np.ndarray):
    """Mean CIEDE2000 of two (H, W, 3) images on [0, 1] over the mask, and over the ring RING
    pixels around it (within `inside`, the picture without its padding)."""
    delta = ciede2000(srgb_to_lab(made), srgb_to_lab(true))
    grown = Image.fromarray(mask).filter(ImageFilter.MaxFilter(2 * RING + 1))
    ring = np.asarray(grown) & ~mask & inside
    return float(delta[mask].mean()), float(delta[ring].mean())


def evaluate_hints(
    translator: Translator, pairs: list[Pair], seed: int, batch_size: int = 8
) -> tuple[dict, list[Image.Image], list[Image.Image]]:
    """(scores with and without sampled hints, see the module's docstring; the sketches and the
    true photos scored)."""
    size = translator.size
    errors = {key: [] for key in ("hinted_no_hints", "hinted_hints", "ring_no_hints", "ring_hints")}
    made = {"no_hints": [], "hints": []}
    sketches, true_photos, names, no_place = [], [], [], 0
    for start in range(0, len(pairs), batch_size):
        inputs, examples = [], []
        for index in range(start, min(start + batch_size, len(pairs))):
            sketch, photo = sketch_of(pairs[index])
            grey, placement = to_sketch_tensor(sketch, size, channels=1)
            true, _ = to_sketch_tensor(
                photo, size, channels=3
            )  # a pair has one size: one placement
            pixels = np.rint(to_unit(true[0]) * 255).astype(np.uint8)
            rng = np.random.default_rng((seed, index))
            for _ in range(TRIES):
                colours, mask = sample_hints(pixels, rng)
                if mask.any():
                    break
            else:
                no_place += 1
                continue
            colours = torch.from_numpy(colours / 127.5 - 1).float().permute(2, 0, 1)[None]
            on = torch.from_numpy(mask)[None, None].float()
            inputs += [no_hints(grey), stack_input(grey, colours, on)]
            examples.append((sketch, photo, placement, true[0], mask))
            names.append(pairs[index].name)
        if not inputs:
            continue
        outputs = translator.run(torch.cat(inputs))
        for i, (sketch, photo, placement, true, mask) in enumerate(examples):
            inside = np.zeros(mask.shape, bool)
            left, top, right, bottom = placement.box
            inside[top:bottom, left:right] = True
            for key, output in zip(("no_hints", "hints"), outputs[2 * i : 2 * i + 2], strict=True):
                hinted, ring = colour_errors(to_unit(output), to_unit(true), mask, inside)
                errors[f"hinted_{key}"].append(hinted)
                errors[f"ring_{key}"].append(ring)
                made[key].append(to_photo(output, placement))
            sketches.append(sketch)
            true_photos.append(photo)
    if not names:
        raise ValueError("No pair has a photo with a place for a hint.")
    result = {"pairs": len(names), "without_a_place_for_hints": no_place}
    result |= {f"ciede2000_{key}": float(np.mean(values)) for key, values in errors.items()}
    for key, photos in made.items():
        scores = score(photos, true_photos, names, batch_size)
        result |= {f"{metric}_{key}": scores[metric] for metric in LABELS}
    return result, sketches, true_photos


def pen_drawing(drawing: Image.Image, colour=None, strokes=(), size: int = 256) -> Image.Image:
    """`drawing` with zigzag strokes of an RGB `colour` over it, made as the canvas makes its
    picture: strokes on the drawing at its own size (the canvas's is 512), the whole scaled down
    to `size` (anti-aliased edges, one RGB image)."""
    picture = drawing.convert("RGB")
    draw = ImageDraw.Draw(picture)
    width = round(PEN * picture.width)
    for points in strokes:
        scaled = [(x * picture.width, y * picture.height) for x, y in points]
        draw.line(scaled, fill=colour, width=width, joint="curve")
    return picture.resize((size, size), Image.Resampling.BOX)


def pen_drawings(drawing: Image.Image) -> dict[str, Image.Image]:
    """The doodle as it is and with each of GRID's pens."""
    return {
        name: pen_drawing(drawing) if pen is None else pen_drawing(drawing, PALETTE[pen[0]], pen[1])
        for name, pen in GRID.items()
    }


def hue_and_saturation(photo: Image.Image, where: np.ndarray) -> tuple[float, float]:
    """The mean hue in degrees (on the circle, weighted by saturation: grey has no hue) and the
    mean HSV saturation on [0, 1] of the photo's pixels where `where` is set."""
    hsv = np.asarray(photo.convert("RGB").convert("HSV"), dtype=np.float64)[where] / 255
    angle, saturation = hsv[:, 0] * 2 * np.pi, hsv[:, 1]
    x, y = (saturation * np.cos(angle)).sum(), (saturation * np.sin(angle)).sum()
    return float(np.degrees(np.arctan2(y, x)) % 360), float(saturation.mean())


def hint_region(drawing: Image.Image, photo: Image.Image) -> np.ndarray:
    """Where split_drawing finds the drawing's hints, at the photo's size."""
    mask = Image.fromarray(split_drawing(drawing)[2])
    return np.asarray(mask.resize(photo.size, Image.Resampling.NEAREST))


def check_pen(translator: Translator, drawing: Image.Image) -> dict:
    """The issue's done-when check on a face doodle drawn with pens, each as ONE colour image: a red
    scribble over the hair gives hair that is clearly red (mean hue within HUE_TOLERANCE degrees of
    the pen's, saturation SATURATION_GAIN above that of the photo of the same scribble in black),
    and light and dark skin pens give clearly different skin (SKIN_DIFFERENCE or more apart in
    CIEDE2000, the light one lighter)."""
    drawings = pen_drawings(drawing)
    black = pen_drawing(drawing, (0, 0, 0), HAIR)  # the same scribble, as lines
    black, red, light, dark = translator.translate_batch(
        [black] + [drawings[name] for name in ("red hair", "light skin", "dark skin")]
    )
    hair = hint_region(drawings["red hair"], red)
    hue, saturation = hue_and_saturation(red, hair)
    _, black_saturation = hue_and_saturation(black, hair)
    pen_hue, _ = hue_and_saturation(Image.new("RGB", (1, 1), PALETTE["red"]), np.ones((1, 1), bool))
    hue_error = abs((hue - pen_hue + 180) % 360 - 180)
    skin = hint_region(drawings["light skin"], light)
    light_lab, dark_lab = (
        srgb_to_lab(np.asarray(p, dtype=np.float64)[skin] / 255).mean(axis=0) for p in (light, dark)
    )
    skin_difference = float(ciede2000(light_lab, dark_lab))
    checks = {
        "red hair hue": bool(hue_error <= HUE_TOLERANCE),
        "red hair saturation": bool(saturation - black_saturation >= SATURATION_GAIN),
        "skin light vs dark": bool(
            skin_difference >= SKIN_DIFFERENCE and light_lab[0] > dark_lab[0]
        ),
    }
    return {
        "hair_hue": hue,
        "pen_hue": pen_hue,
        "hue_error": hue_error,
        "hair_saturation_red_pen": saturation,
        "hair_saturation_black_pen": black_saturation,
        "skin_ciede2000_light_vs_dark": skin_difference,
        "skin_lightness_light_dark": [float(light_lab[0]), float(dark_lab[0])],
        "checks": checks,
        "passed": all(checks.values()),
    }


def pen_grid(translator: Translator, doodles: list[Image.Image]) -> Image.Image:
    """For each doodle a row of GRID's pen drawings and a row of their photos, under a header."""
    rows = []
    for doodle in doodles:
        drawings = list(pen_drawings(doodle).values())
        photos = translator.translate_batch(drawings)
        rows += [drawings, [p.resize(drawings[0].size) for p in photos]]
    side, header = rows[0][0].width, 16
    grid = Image.new("RGB", (side * len(GRID), header + side * len(rows)), "white")
    draw = ImageDraw.Draw(grid)
    for column, name in enumerate(GRID):
        draw.text((column * side + 4, 2), name, fill=(0, 0, 0))
    for r, row in enumerate(rows):
        for column, image in enumerate(row):
            grid.paste(image, (column * side, header + r * side))
    return grid


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", help="a hint model: folder or Hub repo id (default: bundled)")
    source.add_argument(
        "--run", help="a training run folder (its last saved generator is evaluated)"
    )
    parser.add_argument(
        "--data",
        nargs="+",
        type=Path,
        default=DEFAULT_DATA,
        help="data sets whose val/ (else test/) pairs are scored (default: ../data/lfw_pairs and "
        "../shared/data/cufs/cuhk_student)",
    )
    parser.add_argument("--limit", type=int, default=None, help="score the first N pairs of each")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampled hints")
    parser.add_argument("--baseline", help="a sketch-only model scored on the same sketches")
    parser.add_argument(
        "--doodles", nargs="+", type=Path, default=DOODLES, help="doodles for the pen grid"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "hints", help="output folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.manual_seed(0)
    translator = Translator(load_model(args.model, args.run), device="cpu", dtype=torch.float32)
    if not translator.hints:
        print(
            f"error: the model takes {translator.in_channels} channels, not hints", file=sys.stderr
        )
        return 2
    baseline = args.baseline and Translator(args.baseline, device="cpu", dtype=torch.float32)
    report = {"model": args.run or args.model or "bundled", "seed": args.seed, "data": {}}
    for root in args.data:
        split, pairs = held_out(root)
        result, sketches, true_photos = evaluate_hints(translator, pairs[: args.limit], args.seed)
        if baseline:
            scores = score(baseline.translate_batch(sketches), true_photos)
            result |= {f"{metric}_baseline": scores[metric] for metric in LABELS}
        report["data"][f"{root} ({split})"] = result
        print(f"\n{result['pairs']} {split} pairs of {root}\n")
        print("| | without hints | with hints |" + (" baseline |" if baseline else ""))
        print("|---|---|---|" + ("---|" if baseline else ""))
        for key, label in (
            ("hinted", "CIEDE2000 on the hints"),
            ("ring", f"CIEDE2000 {RING} px around"),
        ):
            row = f"| {label} | {result[f'ciede2000_{key}_no_hints']:.2f} | {result[f'ciede2000_{key}_hints']:.2f} |"
            print(row + (" |" if baseline else ""))
        for metric, label in LABELS.items():
            row = f"| {label} | {result[f'{metric}_no_hints']:.4f} | {result[f'{metric}_hints']:.4f} |"
            print(row + (f" {result[f'{metric}_baseline']:.4f} |" if baseline else ""))
    doodles = [Image.open(path) for path in args.doodles]
    check = check_pen(translator, doodles[0])
    report["pen_check"] = check
    args.out.mkdir(parents=True, exist_ok=True)
    pen_grid(translator, doodles).save(args.out / "grid.png")
    (args.out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\npen check on {args.doodles[0].name}: {'PASS' if check['passed'] else 'FAIL'}")
    print(
        f"  red hair: hue {check['hair_hue']:.0f} (pen {check['pen_hue']:.0f}, off by "
        f"{check['hue_error']:.0f}, at most {HUE_TOLERANCE:.0f}); saturation "
        f"{check['hair_saturation_red_pen']:.2f} vs {check['hair_saturation_black_pen']:.2f} with "
        f"the black pen (needs +{SATURATION_GAIN})"
    )
    light, dark = check["skin_lightness_light_dark"]
    print(
        f"  skin: light vs dark pen CIEDE2000 {check['skin_ciede2000_light_vs_dark']:.1f} (needs "
        f"{SKIN_DIFFERENCE:.0f}), L* {light:.0f} vs {dark:.0f}"
    )
    print(f"wrote {args.out / 'metrics.json'} and {args.out / 'grid.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
