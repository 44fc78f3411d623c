"""`python -m train.evaluate`: how close a generator's photos come to the true ones on a held-out split.

The protocol: every sketch goes through the Translator exactly as in the app (aspect kept, padding
cropped), in float32 so that the score is the model's own and not that of a fast reduced-precision
path; then the made and the true photo are each resized to 256x256 (bicubic) and compared in RGB in
[0, 1] with FSIM (gray and chromatic), SSIM and PSNR (train/metrics.py, which match piq 0.8.0).
Pairs with a file that does not open are skipped and counted, as in training.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from pix2pix.networks import UNetGenerator
from pix2pix.translate import Translator
from train.data import LAYOUTS, Pair, check_pairs, find_pairs, first_few, has_split, load_pair
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


class EvaluationStopped(Exception):
    """A stop was asked for (Ctrl-C, SIGTERM) while scoring; the caller keeps what it has."""


def batch_scores(made: list[Image.Image], true: list[Image.Image]) -> dict[str, list[float]]:
    """One score per metric and image for a few (made, true) photos."""
    x = torch.cat([load_for_metrics(im) for im in made])
    y = torch.cat([load_for_metrics(im) for im in true])
    return {metric: fn(x, y).tolist() for metric, fn in METRICS.items()}


def summarize(scores: dict[str, list[float]], names: list[str]) -> dict:
    """{"pairs", one mean per metric, "per_image": [{"name", ...}]}."""
    per_image = [
        {"name": name, **{metric: values[i] for metric, values in scores.items()}}
        for i, name in enumerate(names)
    ]
    means = {metric: float(np.mean(values)) for metric, values in scores.items()}
    return {"pairs": len(names), **means, "per_image": per_image}


def score(
    made: list[Image.Image],
    true: list[Image.Image],
    names: list[str] | None = None,
    batch_size: int = 8,
) -> dict:
    """Made photos against true ones (see `summarize`), batch_size at a time: FSIM's filter
    responses for a whole test set at once would take gigabytes."""
    if len(made) != len(true) or not made:
        raise ValueError(
            f"Need the same, non-zero number of made and true photos, not {len(made)} and {len(true)}."
        )
    scores = {metric: [] for metric in METRICS}
    for start in range(0, len(made), batch_size):
        batch = batch_scores(made[start : start + batch_size], true[start : start + batch_size])
        for metric, values in batch.items():
            scores[metric] += values
    return summarize(scores, names or [str(i) for i in range(len(made))])


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
    stop: Callable[[], bool] | None = None,
) -> dict:
    """Translate every test sketch and score the photos (see `summarize`), with a progress bar.

    Pairs with a file that does not open (or two sizes) are skipped and named in "skipped", as
    training skips them. stop() is asked after each batch is translated; when it says True,
    EvaluationStopped is raised within a batch's time. With out_dir, writes out_dir/metrics.json
    (the returned dict) and out_dir/results.png: rows of sketch | made | true photo for the first
    grid_rows pairs, each 256x256.
    """
    pairs, skipped = check_pairs(pairs)
    if not pairs:
        raise ValueError(
            "There are no test pairs to evaluate"
            + (f": every one has a bad file ({skipped[0]})." if skipped else ".")
        )
    translator = Translator(model, device=device, dtype=torch.float32)
    grid: list[tuple[Image.Image, Image.Image, Image.Image]] = []
    scores = {metric: [] for metric in METRICS}
    with tqdm(total=len(pairs), desc="scoring", unit="pair", disable=None) as bar:
        for start in range(0, len(pairs), batch_size):
            loaded = [sketch_of(pair) for pair in pairs[start : start + batch_size]]
            made = translator.translate_batch([sketch for sketch, _ in loaded])
            if stop is not None and stop():  # before FSIM, the slow part
                raise EvaluationStopped(f"stopped after {start} of {len(pairs)} pairs")
            true = [photo for _, photo in loaded]
            for metric, values in batch_scores(made, true).items():
                scores[metric] += values
            rows = zip([sketch for sketch, _ in loaded], made, true, strict=True)
            grid += list(rows)[: max(0, grid_rows - len(grid))]
            bar.update(len(loaded))
    result = summarize(scores, [pair.name for pair in pairs])
    result["skipped"] = skipped
    if not isinstance(model, UNetGenerator):
        result["model"] = str(model)
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
        if grid:
            columns = [
                torch.cat([load_for_metrics(im) for im in column]) * 2 - 1
                for column in zip(*grid, strict=True)
            ]
            to_rgb_rows(*columns).save(out_dir / "results.png")
    return result


def mean_photo_baseline(train_pairs: list[Pair], test_pairs: list[Pair]) -> dict:
    """The scores of answering every test sketch with the mean training photo: the number to beat,
    for scale (FSIM 0.737 on the CUHK student test split). Pairs with a bad file are left out."""
    train_pairs, test_pairs = check_pairs(train_pairs)[0], check_pairs(test_pairs)[0]
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
        "results.png (sketch | made | true). Pairs with a broken file are skipped and counted.",
    )
    p.add_argument(
        "--model", required=True, metavar="DIR_OR_REPO", help="model folder or Hub repo id"
    )
    p.add_argument("--data", required=True, help="folder (or CSV manifest) holding the pairs")
    p.add_argument(
        "--layout",
        default="auto",
        choices=LAYOUTS,
        help="how pairs are stored, see train/data.py (default: %(default)s)",
    )
    p.add_argument(
        "--split",
        default="test",
        help="which split to score: a <data>/<split> folder or a CSV split value; 'all' scores every "
        "pair in --data (only for data that holds no training pairs) (default: %(default)s)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="folder for metrics.json and results.png (default: eval/<model name>, or eval/<run "
        "name> for RUN/model; results.png shows the data set's images, so keep it out of folders "
        "you publish)",
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


def default_out(model: str) -> Path:
    """eval/<model folder name>; a trained run's model folder (RUN/model) is named after its run."""
    path = Path(model)
    named = path.parent if path.name == "model" and path.parent.name else path
    return Path("eval") / named.name


def refuse_other_models_scores(out: Path, model: str) -> None:
    """Two models with one folder name must not overwrite each other's scores in eval/."""
    written = out / "metrics.json"
    if not written.is_file():
        return
    previous = json.loads(written.read_text()).get("model")
    if previous is not None and Path(previous).resolve() != Path(model).resolve():
        raise ValueError(
            f"{out} holds the scores of {previous}; pass --out to score {model} elsewhere."
        )


def split_pairs(data: str, layout: str, split: str) -> list[Pair]:
    """The pairs of the split asked for; a split the data does not have is an error, not all of
    its pairs (they would be the training pairs, and the scores would flatter the model)."""
    if split == "all":
        return find_pairs(data, layout, split=None)
    if not has_split(data, split):
        raise ValueError(
            f"{data} has no {split!r} split (no {split}/ folder, no CSV split column with it), so "
            f"its pairs may be the training pairs. Lay them out as {data}/train and {data}/{split}, "
            "or pass --split all if every pair in it was held out of training."
        )
    return find_pairs(data, layout, split)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Path(args.out) if args.out else default_out(args.model)
    try:
        if not args.out:
            refuse_other_models_scores(out, args.model)
        pairs = split_pairs(args.data, args.layout, args.split)
        baseline = None
        if args.baseline:
            if not has_split(args.data, "train"):
                raise ValueError(f"--baseline needs a train split in {args.data}.")
            baseline = mean_photo_baseline(find_pairs(args.data, args.layout, "train"), pairs)
        result = evaluate(args.model, pairs, out_dir=out, device=args.device)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for line in first_few(result["skipped"]):
        print(f"skipped: {line}", file=sys.stderr)
    header, rule = "| metric | value |", "|---|---|"
    if baseline:
        header, rule = "| metric | value | mean training photo |", "|---|---|---|"
    skipped = f" ({len(result['skipped'])} skipped)" if result["skipped"] else ""
    print(f"{result['pairs']} {args.split} pairs of {args.data}{skipped}\n\n{header}\n{rule}")
    for metric, label in LABELS.items():
        extra = f" {baseline[metric]:.4f} |" if baseline else ""
        print(f"| {label} | {result[metric]:.4f} |{extra}")
    print(f"\nwrote {out / 'metrics.json'} and {out / 'results.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
