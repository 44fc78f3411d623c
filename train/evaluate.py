"""`python -m train.evaluate`: how close a generator's photos come to the true ones on a held-out split.

The protocol of DESIGN.md: every sketch goes through the Translator exactly as in the app (aspect
kept, padding cropped), in float32 so that the score is the model's own and not that of a fast
reduced-precision path; then the made and the true photo are each resized to 256x256 (bicubic) and
compared in RGB in [0, 1] with FSIM (gray and chromatic), SSIM and PSNR (train/metrics.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pix2pix.networks import UNetGenerator
from pix2pix.translate import Translator
from train.data import Pair, find_pairs, load_pair
from train.metrics import METRIC_SIZE, fsim, load_for_metrics, psnr, ssim
from train.report import to_rgb_rows

METRICS = {
    "fsim_gray": lambda x, y: fsim(x, y, chromatic=False),
    "fsim_chromatic": lambda x, y: fsim(x, y, chromatic=True),
    "ssim": ssim,
    "psnr": psnr,
}
LABELS = {
    "fsim_gray": "FSIM (gray)",
    "fsim_chromatic": "FSIMc",
    "ssim": "SSIM",
    "psnr": "PSNR (dB)",
}


def score(
    made: list[Image.Image],
    true: list[Image.Image],
    names: list[str] | None = None,
    batch_size: int = 8,
) -> dict:
    """Made photos against true ones: {"pairs", one mean per metric, "per_image": [{"name", ...}]}.

    Scored batch_size images at a time: FSIM's filter responses for a whole test set at once would
    take gigabytes.
    """
    if len(made) != len(true) or not made:
        raise ValueError(
            f"Need the same, non-zero number of made and true photos, not {len(made)} and {len(true)}."
        )
    names = names or [str(i) for i in range(len(made))]
    scores = {metric: [] for metric in METRICS}
    for start in range(0, len(made), batch_size):
        x = torch.cat([load_for_metrics(im) for im in made[start : start + batch_size]])
        y = torch.cat([load_for_metrics(im) for im in true[start : start + batch_size]])
        for metric, fn in METRICS.items():
            scores[metric] += fn(x, y).tolist()
    per_image = [
        {"name": name, **{metric: values[i] for metric, values in scores.items()}}
        for i, name in enumerate(names)
    ]
    means = {metric: float(np.mean(values)) for metric, values in scores.items()}
    return {"pairs": len(made), **means, "per_image": per_image}


def sketch_of(pair: Pair) -> tuple[Image.Image, Image.Image]:
    """(sketch, photo); photos-only pairs get the drawn sketch the trainer gives them by default."""
    sketch, photo = load_pair(pair)
    if sketch is None:
        from pix2pix.sketchify import sketchify

        sketch = sketchify(photo)
    return sketch, photo


def evaluate(
    model: UNetGenerator | str | Path,
    pairs: list[Pair],
    out_dir: Path | None = None,
    device: str | None = None,
    batch_size: int = 8,
    grid_rows: int = 8,
) -> dict:
    """Translate every test sketch and score the photos (see `score`).

    With out_dir, writes out_dir/metrics.json (the returned dict) and out_dir/results.png: rows of
    sketch | made | true photo for the first grid_rows pairs, each at 256x256.
    """
    if not pairs:
        raise ValueError("There are no test pairs to evaluate.")
    translator = Translator(model, device=device, dtype=torch.float32)
    sketches, made, true = [], [], []
    for start in range(0, len(pairs), batch_size):
        loaded = [sketch_of(pair) for pair in pairs[start : start + batch_size]]
        batch = [sketch for sketch, _ in loaded]
        made += translator.translate_batch(batch)
        true += [photo for _, photo in loaded]
        sketches += batch[: max(0, grid_rows - len(sketches))]
    result = score(made, true, [pair.name for pair in pairs], batch_size)
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
        if sketches:
            columns = [sketches, made[: len(sketches)], true[: len(sketches)]]
            grid = [
                torch.cat([load_for_metrics(im) for im in column]) * 2 - 1 for column in columns
            ]
            to_rgb_rows(*grid).save(out_dir / "results.png")
    return result


def mean_photo_baseline(train_pairs: list[Pair], test_pairs: list[Pair]) -> dict:
    """The scores of answering every test sketch with the mean training photo (DESIGN.md's 'for scale')."""
    if not train_pairs or not test_pairs:
        raise ValueError("The mean-photo baseline needs both training and test pairs.")
    size = (METRIC_SIZE, METRIC_SIZE)
    photos = [
        np.asarray(load_pair(pair)[1].resize(size, Image.Resampling.BICUBIC), dtype=np.float64)
        for pair in train_pairs
    ]
    mean_photo = Image.fromarray(np.mean(photos, axis=0).round().astype(np.uint8))
    true = [load_pair(pair)[1] for pair in test_pairs]
    return score([mean_photo] * len(true), true, [pair.name for pair in test_pairs])


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m train.evaluate",
        description="Score a generator on a held-out split: FSIM (gray and chromatic), SSIM and PSNR "
        "of its photos against the true ones, both resized to 256x256. Writes metrics.json and "
        "results.png (sketch | made | true).",
    )
    p.add_argument(
        "--model", required=True, metavar="DIR_OR_REPO", help="model folder or Hub repo id"
    )
    p.add_argument("--data", required=True, help="folder (or CSV manifest) holding the pairs")
    p.add_argument(
        "--layout",
        default="auto",
        choices=["auto", "cuhk", "folders", "aligned", "csv", "photos"],
        help="how pairs are stored, see train/data.py (default: %(default)s)",
    )
    p.add_argument("--split", default="test", help="which split to score (default: %(default)s)")
    p.add_argument(
        "--out",
        default=None,
        help="folder for metrics.json and results.png (default: eval/<model name>; results.png shows "
        "the data set's images, so keep it out of folders you publish)",
    )
    p.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:N or mps (default: best available)"
    )
    p.add_argument(
        "--baseline",
        action="store_true",
        help="also score the mean training photo as the answer to every sketch (needs the train split)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Path(args.out or Path("eval") / Path(args.model).name)
    try:
        pairs = find_pairs(args.data, args.layout, args.split)
        result = evaluate(args.model, pairs, out_dir=out, device=args.device)
        baseline = None
        if args.baseline:
            baseline = mean_photo_baseline(find_pairs(args.data, args.layout, "train"), pairs)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    header, rule = "| metric | value |", "|---|---|"
    if baseline:
        header, rule = "| metric | value | mean training photo |", "|---|---|---|"
    print(f"{result['pairs']} {args.split} pairs of {args.data}\n\n{header}\n{rule}")
    for metric, label in LABELS.items():
        extra = f" {baseline[metric]:.4f} |" if baseline else ""
        print(f"| {label} | {result[metric]:.4f} |{extra}")
    print(f"\nwrote {out / 'metrics.json'} and {out / 'results.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
