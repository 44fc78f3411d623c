"""Realism, variety and what was drawn: are a model's photos taken for photos? (docs/realism.md)

For each model, on held-out data only:

- critic: a small CNN trained afresh to tell real photos from the model's photos, 5-fold
  cross-validated at 96x96 (thumbnail size). 50% means it cannot tell; 100% that every photo gives
  itself away. Real photos: the LFW validation people's aligned photos (`train.faces` / `train.pack`
  val split, never trained on); the model's photos: of doodles drawn from those same people's
  landmarks (train.doodle, with their traits, one fixed seed per photo).
- same person: the share of pairs of photos of *different* doodles that dlib's face descriptor
  (dlib-bin + face-recognition-models; measuring only) puts closer than 0.6, its "same person"
  threshold. Real LFW people are about 1%. A model that answers every drawing with one face is near
  100%.
- long hair and glasses: the 36 doodles of benchmarks/drawn_doodles.py (drawn by other code than
  the training doodles) drawn again bald and with long hair, and without and with glasses, the
  same seed otherwise: how much darker the photo gets where the long hair was drawn beside the jaw,
  and on the bridge between the eyes where glasses were drawn (levels of 255).
- seeds: how far the face's colour (mean RGB between the eyes and the mouth) moves between the
  Variation seeds 1-4 of one drawing (median over the 36 doodles and the pairs of seeds): does a
  seed give another person?
- a grid: the same held-out doodles, each model's photo, the real photo.

    python benchmarks/realism.py --val pairs/val_pack/lfw/val --model checkpoints/faces \\
        --model runs/x/model --count 300 --grid eval/realism.png

Photos are made as the app makes them (Translator.translate, fp32 on the CPU, with the folder's
framer). Needs dlib-bin and face-recognition-models for the same-person column (else "-").
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFilter
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.drawn_doodles import draw_eval_doodle, styles  # noqa: E402
from pix2pix.translate import Translator  # noqa: E402
from train.data import PairDataset, find_pairs  # noqa: E402
from train.traits import luminance  # noqa: E402

THUMB = 96
FOLDS = 5
SAME_PERSON = 0.6
MODEL_SIZE = 256


def held_out(val: Path, count: int) -> tuple[list[Image.Image], list[Image.Image]]:
    """(doodles, real photos) of the first `count` val pairs, each doodle drawn with a fixed seed."""
    pairs = find_pairs(val, layout="faces", split=None)[:count]
    data = PairDataset(pairs, augment=False, seed=2026)
    doodles, photos = [], []
    for example in (data[i] for i in range(len(data))):
        doodles.append(_image(example["sketch"]))
        photos.append(_image(example["photo"]))
    return doodles, photos


def _image(tensor: torch.Tensor) -> Image.Image:
    array = ((tensor.clamp(-1, 1) + 1) * 127.5).round().byte()
    return Image.fromarray(array[0].numpy() if len(array) == 1 else array.permute(1, 2, 0).numpy())


class Critic(nn.Module):
    """Four strided convolutions and a linear read-out: enough to see texture and colour."""

    def __init__(self):
        super().__init__()
        layers, channels = [], 3
        for width in (32, 64, 128, 128):
            layers += [
                nn.Conv2d(channels, width, 3, 2, 1),
                nn.BatchNorm2d(width),
                nn.LeakyReLU(0.2),
            ]
            channels = width
        self.features = nn.Sequential(*layers)
        self.read_out = nn.Linear(channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.read_out(self.features(x).mean(dim=(2, 3))).squeeze(1)


def _thumbs(images: list[Image.Image]) -> torch.Tensor:
    arrays = [np.asarray(im.convert("RGB").resize((THUMB, THUMB), Image.LANCZOS)) for im in images]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 127.5 - 1


def critic_accuracy(real: list[Image.Image], made: list[Image.Image], seed: int = 0) -> float:
    """Cross-validated accuracy of critics trained afresh on each fold's other folds."""
    x = torch.cat([_thumbs(real), _thumbs(made)])
    y = torch.cat([torch.ones(len(real)), torch.zeros(len(made))])
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=generator)
    folds = order.chunk(FOLDS)
    correct = 0
    for k, test in enumerate(folds):
        train = torch.cat([f for j, f in enumerate(folds) if j != k])
        torch.manual_seed(seed * 100 + k)
        critic = Critic()
        optimiser = torch.optim.Adam(critic.parameters(), lr=1e-3)
        for _ in range(12):
            for batch in train[torch.randperm(len(train), generator=generator)].split(32):
                images = x[batch]
                flip = torch.rand(len(batch), generator=generator) < 0.5
                images = torch.where(flip[:, None, None, None], images.flip(3), images)
                loss = F.binary_cross_entropy_with_logits(critic(images), y[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        critic.eval()
        with torch.no_grad():
            correct += int(((critic(x[test]) > 0).float() == y[test]).sum())
    return correct / len(x)


def same_person_share(photos: list[Image.Image]) -> tuple[float, int] | None:
    """(share of pairs closer than SAME_PERSON, faces found), or None without dlib."""
    try:
        import dlib
        import face_recognition_models as models
    except ImportError:
        return None
    detector = dlib.get_frontal_face_detector()
    shapes = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
    encoder = dlib.face_recognition_model_v1(models.face_recognition_model_location())
    codes = []
    for photo in photos:
        rgb = np.asarray(photo.convert("RGB"))
        faces = detector(rgb, 1)
        if faces:
            face = max(faces, key=lambda r: r.area())
            codes.append(np.array(encoder.compute_face_descriptor(rgb, shapes(rgb, face))))
    if len(codes) < 2:
        return 0.0, len(codes)
    close = [np.linalg.norm(a - b) < SAME_PERSON for a, b in itertools.combinations(codes, 2)]
    return float(np.mean(close)), len(codes)


def _grown(ink: np.ndarray, pixels: int) -> np.ndarray:
    image = Image.fromarray(ink.astype(np.uint8) * 255).filter(
        ImageFilter.MaxFilter(2 * pixels + 1)
    )
    return np.asarray(image) > 0


def drawn_traits(translator: Translator) -> tuple[float, float]:
    """(long hair: levels darker beside the jaw, glasses: levels darker on the bridge), means over
    the 36 evaluation doodles drawn both ways."""
    hair, bridge = [], []
    for seed, style in enumerate(styles()):
        base = replace(style, hair="bald", glasses=False, beard=False)
        plain = draw_eval_doodle(base, seed)
        long = draw_eval_doodle(replace(base, hair="long"), seed)
        specs = draw_eval_doodle(replace(base, glasses=True), seed)
        scale = MODEL_SIZE / plain.image.width
        eyes, mouth = plain.points[:2] * scale, plain.points[3] * scale
        eye_distance = float(np.linalg.norm(eyes[1] - eyes[0]))
        photos = {
            name: luminance(np.asarray(translator.translate(d.image.resize((MODEL_SIZE,) * 2))))
            for name, d in (("plain", plain), ("long", long), ("specs", specs))
        }

        def ink(doodle) -> np.ndarray:
            return np.asarray(doodle.image.resize((MODEL_SIZE,) * 2)) < 128

        rows = np.arange(MODEL_SIZE)[:, None]
        cols = np.arange(MODEL_SIZE)[None, :]
        beside_jaw = (
            _grown(ink(long) & ~ink(plain), 4)
            & (rows >= mouth[1] - 0.2 * eye_distance)
            & (rows <= mouth[1] + 0.6 * eye_distance)
        )
        between_eyes = (
            _grown(ink(specs) & ~ink(plain), 3)
            & (cols > eyes[0, 0] + 0.25 * eye_distance)
            & (cols < eyes[1, 0] - 0.25 * eye_distance)
        )
        if beside_jaw.any():
            hair.append(
                float(photos["plain"][beside_jaw].mean() - photos["long"][beside_jaw].mean())
            )
        if between_eyes.any():
            bridge.append(
                float(photos["plain"][between_eyes].mean() - photos["specs"][between_eyes].mean())
            )
    return float(np.mean(hair)), float(np.mean(bridge))


def seed_variety(translator: Translator, seeds: tuple[int, ...] = (1, 2, 3, 4)) -> float:
    """The median, over the 36 evaluation doodles and pairs of seeds, of how far the face's colour
    (the mean RGB of the cheeks and nose, between the eyes and the mouth) moves between seeds."""
    apart = []
    for seed, style in enumerate(styles()):
        doodle = draw_eval_doodle(style, seed)
        scale = MODEL_SIZE / doodle.image.width
        eyes, mouth = doodle.points[:2] * scale, doodle.points[3] * scale
        eye_distance = float(np.linalg.norm(eyes[1] - eyes[0]))
        top, bottom = int(eyes[:, 1].mean() + 0.3 * eye_distance), int(mouth[1])
        left, right = int(eyes[:, 0].min()), int(eyes[:, 0].max())
        picture = doodle.image.resize((MODEL_SIZE,) * 2)
        faces = [
            np.asarray(translator.translate(picture, seed=s), np.float32)[top:bottom, left:right]
            .reshape(-1, 3)
            .mean(axis=0)
            for s in seeds
        ]
        apart += [float(np.linalg.norm(a - b)) for a, b in itertools.combinations(faces, 2)]
    return float(np.median(apart))


def grid(doodles, columns: dict[str, list[Image.Image]], rows: int, cell: int = 128) -> Image.Image:
    names = ["doodle", *columns]
    sheet = Image.new("RGB", (cell * len(names), cell * rows + 16), "white")
    draw = ImageDraw.Draw(sheet)
    for c, name in enumerate(names):
        draw.text((c * cell + 4, 2), name, fill=(0, 0, 0))
        images = doodles if name == "doodle" else columns[name]
        for r in range(rows):
            sheet.paste(
                images[r].convert("RGB").resize((cell, cell), Image.LANCZOS),
                (c * cell, 16 + r * cell),
            )
    return sheet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--val", required=True, type=Path, help="a faces-layout held-out split")
    parser.add_argument("--model", action="append", required=True, help="model folders")
    parser.add_argument("--count", type=int, default=300, help="held-out pairs used")
    parser.add_argument("--grid", type=Path, help="write the grid here (PNG)")
    parser.add_argument("--grid-rows", type=int, default=16)
    args = parser.parse_args(argv)
    doodles, real = held_out(args.val, args.count)
    columns: dict[str, list[Image.Image]] = {}
    print(f"{len(real)} held-out photos of people never trained on ({args.val})\n")
    print(
        "| model | critic accuracy | same person | long hair: darker beside the jaw | glasses: darker on the bridge | seeds: face colour apart |"
    )
    print("|---|---|---|---|---|---|")
    reference = same_person_share(real)
    for model in args.model:
        translator = Translator(model, device="cpu", dtype=torch.float32)
        made = [translator.translate(d) for d in doodles]
        columns[Path(model).parent.name + "/" + Path(model).name] = made
        accuracy = critic_accuracy(real, made)
        same = same_person_share(made)
        hair, bridge = drawn_traits(translator)
        same_text = "-" if same is None else f"{100 * same[0]:.0f}% ({same[1]} faces)"
        print(
            f"| {model} | {100 * accuracy:.1f}% | {same_text} | {hair:.0f} | {bridge:.0f} "
            f"| {seed_variety(translator):.0f} |",
            flush=True,
        )
    if reference is not None:
        print(f"| real photos | - | {100 * reference[0]:.0f}% ({reference[1]} faces) | - | - | - |")
    if args.grid:
        columns["real"] = real
        args.grid.parent.mkdir(parents=True, exist_ok=True)
        grid(doodles, columns, min(args.grid_rows, len(doodles))).save(args.grid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
