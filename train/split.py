"""A run's data: every source found and checked, and the pairs set aside for the end-of-run scores
(the data's test or val split, else pairs held out before training)."""

from __future__ import annotations

from pathlib import Path

from train.config import TrainConfig
from train.data import (
    Found,
    Pair,
    PairDataset,
    RunData,
    check_pairs,
    find_pairs,
    has_split,
    hold_out,
    refusal,
    scan_pairs,
)

EVAL_SPLITS = ("test", "val")  # what the end of a run scores, the first the data has


def load_data(config: TrainConfig) -> RunData:
    """Find and check every source's pairs, and set aside what the end of the run scores."""
    pairs, problems, described, layouts = [], [], [], []
    eval_pairs, eval_about, holdout = [], "", config.holdout
    sources = [
        (path, config.layout, n) for path, n in zip(config.data, config.repeats, strict=True)
    ]
    if config.photos:
        sources.append((config.photos, "photos", 1))
    for index, (path, layout, times) in enumerate(sources):
        found = scan_pairs(path, layout, split="train")
        train_pairs = found.pairs
        if index == 0:
            train_pairs, eval_pairs, eval_about, holdout = set_aside(path, found, config)
        good, bad = check_pairs(train_pairs)
        pairs += good * times
        problems += found.unpaired + bad
        layouts.append(found.layout)
        kind = f"layout {found.layout}"
        if found.layout == "photos":
            kind = "bare photos, their sketches drawn by pix2pix.sketchify"
        described.append(f"`{path}` ({kind}{f', x{times}' if times > 1 else ''})")
    if config.strict and problems:
        raise ValueError(refusal(problems))
    regions = bool(config.lambda_regions or config.l1_parts)
    if regions and not any(pair.face is not None for pair in pairs):
        flag = "--lambda-regions" if config.lambda_regions else "--l1-parts"
        raise ValueError(
            f"{flag} draws each photo's face regions from its landmarks: it needs faces "
            "data made by python -m train.faces or train.pack, and none of --data is."
        )
    dataset = PairDataset(
        pairs,
        image_size=config.image_size,
        direction=config.direction,
        seed=config.seed,
        doodle_prob=config.doodle_prob,
        place_prob=config.place_prob,
        hints=config.hints,
        doodle_variants=config.doodle_variants,
        doodle_cache=Path(config.out) / "doodles" if config.doodle_variants else None,
        regions=regions,
        painted_glasses=config.painted_glasses,
    )
    return RunData(dataset, problems, described, eval_pairs, eval_about, layouts, holdout)


def set_aside(
    path: str, found: Found, config: TrainConfig
) -> tuple[list[Pair], list[Pair], str, int]:
    """(pairs to train on, at most config.eval_pairs pairs to score, where those come from or why
    there are none, the pairs held out of the training ones: what args.json records as --holdout).

    The test split beside the data when there is one, else its val split (train.faces holds whole
    people out there). Without either, config.holdout pairs (a tenth by default, at most
    eval_pairs) are held out before training, drawn with the seed; the count goes into args.json,
    so a resume holds out the same pairs. Scores of training pairs are never reported as held-out
    scores."""
    for split in EVAL_SPLITS:
        if has_split(path, split):
            test = find_pairs(path, found.layout, split)
            scored = bounded(test, config.eval_pairs, config.seed)
            about = f"of the {split} split of `{path}`"
            if len(scored) < len(test):
                about += f" (a sample of its {len(test)}, drawn with seed {config.seed})"
            return found.pairs, scored, about, 0
    holdout = config.holdout
    if holdout is None:
        holdout = min(config.eval_pairs, len(found.pairs) // 10)
        if holdout == 0:
            few = f"{len(found.pairs)} pairs are too few to hold a tenth out"
            return found.pairs, [], f"`{path}` has no test or val split, and {few}", 0
    if holdout == 0:
        return (
            found.pairs,
            [],
            f"`{path}` has no test or val split, and --holdout 0 held none out",
            0,
        )
    if holdout >= len(found.pairs):
        raise ValueError(
            f"--holdout {holdout} leaves none of the {len(found.pairs)} pairs of {path} "
            "to train on."
        )
    kept, held = hold_out(found.pairs, holdout, config.seed)
    scored = bounded(held, config.eval_pairs, config.seed)
    about = (
        f"held out of `{path}` before training (drawn with seed {config.seed}, never trained on; "
        f"it has no test or val split)"
    )
    if len(scored) < len(held):
        about += f", a sample of the {len(held)} held out"
    return kept, scored, about, holdout


def bounded(pairs: list[Pair], count: int, seed: int) -> list[Pair]:
    """At most count pairs, a fixed sample: the end of a run scores minutes, not hours."""
    return pairs if len(pairs) <= count else hold_out(pairs, count, seed)[1]
