"""`python -m train.framer PAIRS... --model DIR`: teach the framer (pix2pix.framing) where drawn eyes are.

It learns from pair folders made by `python -m train.faces`, whose eyes.json says where each
pair's eyes are. The doodles are held in memory at the framer's 128 pixels, and every draw
shrinks or grows one and moves it on white paper (as visitors draw faces small, large and in
corners), so the framer sees the eyes everywhere while the pairs themselves are all centred.
The framer is written into the model folder (framer.safetensors), beside the generator it frames for.

    python -m train.framer runs/lfw_pairs/train runs/cuhk_doodles/train \\
        --val runs/lfw_pairs/val --model checkpoints/faces
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from pix2pix.framing import INPUT_SIZE, Framer, place
from train.faces import EYES_FILE

KEEP_SHARE = 0.25  # of the draws left at the pairs' own framing
SCALES = (0.4, 1.5)  # a moved doodle is shrunk or grown by a factor in this range (log-uniform)
CENTRES = ((0.2, 0.8), (0.25, 0.75))  # where its eye midpoint lands, x and y, of the side


def read_pairs(folders: list[Path]) -> tuple[torch.Tensor, torch.Tensor]:
    """Every doodle with known eyes: (N, 1, 128, 128) in [-1, 1] and eyes (N, 2, 2) in its pixels."""
    sketches, eyes = [], []
    for folder in folders:
        known = folder / EYES_FILE
        if not known.is_file():
            raise SystemExit(
                f"{folder} has no {EYES_FILE}: make the pairs with python -m train.faces."
            )
        for name, points in json.loads(known.read_text()).items():
            path = folder / "sketches" / f"{name}.png"
            if not path.is_file():
                continue
            with Image.open(path) as image:
                doodle = image.convert("L")
            scale = INPUT_SIZE / doodle.width
            doodle = doodle.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BOX)
            sketches.append(torch.from_numpy(np.asarray(doodle, np.float32) / 127.5 - 1))
            eyes.append(torch.tensor(points) * scale)
    if not sketches:
        raise SystemExit(f"No doodles with known eyes in {', '.join(map(str, folders))}.")
    return torch.stack(sketches)[:, None], torch.stack(eyes)


def moved(
    sketch: torch.Tensor, eyes: torch.Tensor, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """One random draw: the doodle (1, S, S) maybe mirrored, maybe shrunk or grown and moved."""
    size = sketch.shape[-1]
    if rng.random() < 0.5:  # a mirrored face: the other eye is now the image-left one
        sketch = sketch.flip(-1)
        # x runs over [0, size] (pixel i covers [i, i + 1]), so a point at x lands at size - x
        eyes = torch.stack([eyes[1], eyes[0]]) * torch.tensor([-1.0, 1.0]) + torch.tensor(
            [float(size), 0.0]
        )
    if rng.random() < KEEP_SHARE:
        return sketch, eyes
    scale = math.exp(rng.uniform(*np.log(SCALES)))
    centre = eyes.mean(0)
    target = torch.tensor([rng.uniform(*CENTRES[0]), rng.uniform(*CENTRES[1])]) * size
    out = place(sketch, scale, tuple(centre.tolist()), tuple(target.tolist()), torch.ones(1))
    return out, target + (eyes - centre) * scale


def batch_of(
    sketches: torch.Tensor, eyes: torch.Tensor, rng: np.random.Generator, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """`size` doodles picked at random (with replacement), each drawn as `moved` draws it."""
    picks = torch.from_numpy(rng.integers(0, len(sketches), size))
    return moved_each(sketches[picks], eyes[picks], rng)


def moved_each(
    sketches: torch.Tensor, eyes: torch.Tensor, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every doodle drawn once, as `moved` draws it (the held-out set's moved twin)."""
    pairs = [moved(s, e, rng) for s, e in zip(sketches, eyes, strict=True)]
    return torch.stack([s for s, _ in pairs]), torch.stack([e for _, e in pairs])


@torch.no_grad()
def eye_error(framer: Framer, sketches: torch.Tensor, eyes: torch.Tensor) -> float:
    """Mean distance of the eyes found from the true ones, in pixels of a 256 canvas."""
    framer.eval()
    found = torch.cat([framer(sketches[i : i + 256]) for i in range(0, len(sketches), 256)])
    framer.train()
    return float((found * sketches.shape[-1] - eyes).norm(dim=-1).mean()) * 256 / sketches.shape[-1]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m train.framer",
        description="Train the framer (where the drawn eyes are) into a model folder.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("pairs", nargs="+", type=Path, help="pair folders with eyes.json (train.faces)")
    p.add_argument(
        "--model", type=Path, required=True, help="model folder to write framer.safetensors into"
    )
    p.add_argument("--val", type=Path, action="append", default=[], help="held-out pair folder")
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.model.is_dir():
        print(f"error: {args.model} is not a model folder.", file=sys.stderr)
        return 2
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    sketches, eyes = read_pairs(args.pairs)
    val = read_pairs(args.val) if args.val else None
    val_moved = moved_each(*val, np.random.default_rng(1)) if val else None
    print(f"{len(sketches)} doodles with known eyes" + (f", {len(val[0])} held out" if val else ""))
    framer = Framer()
    optimizer = torch.optim.AdamW(framer.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=args.steps)
    start, report = time.perf_counter(), max(1, args.steps // 10)
    for step in range(1, args.steps + 1):
        batch, truth = batch_of(sketches, eyes, rng, args.batch_size)
        loss = F.smooth_l1_loss(framer(batch), truth / INPUT_SIZE, beta=0.02)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % report == 0 or step == args.steps:
            line = f"step {step}/{args.steps}  loss {loss.item():.4f}"
            if val:
                line += f"  val eye error {eye_error(framer, *val):.1f} px"
                line += f", moved {eye_error(framer, *val_moved):.1f} px"
            print(f"{line}  ({time.perf_counter() - start:.0f} s)", flush=True)
    path = framer.eval().save(args.model)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
