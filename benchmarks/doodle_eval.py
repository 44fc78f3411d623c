"""Doodle quality (issue 9): does a model make a real-looking face from what people actually draw?

Each photo is judged by three face finders that never saw our data:

- detector: mediapipe's face detector (full-range model, min confidence 0.3), the best score per
  photo (0 when it finds none), averaged over the set.
- placed: mediapipe's face mesh finds the eye centres (means of the eye-contour points), the nose tip
  and the mouth centre; NME is their mean distance from where the doodle drew them, divided by the
  drawn eye distance. A photo is placed when NME < 0.25 (no face found: not placed). The median NME
  is reported beside the count.
- Haar: OpenCV's Viola-Jones cascades find a frontal face with two eyes in its upper half (the
  photo 256 px wide, grey).

and "spread" is the mean L1 distance (RGB in [0, 1]) between the photos of every two different
doodles: a model that answers every drawing with the same face scores near 0.

Two sets of doodles:

- eval doodles: 36 faces drawn by benchmarks/drawn_doodles.py, not by the training pair generator
  (train/doodle.py), in the ways visitors draw (pens, hair, glasses, beards, size and placement).
- val doodles: the first --val-count pairs (by name) of a held-out set made by `python -m train.faces`
  (people not in training); there the drawn positions are the face mesh's on the true photo.
  With --val-moved also the same pairs shrunk and moved on white paper (train.data.place_on_paper,
  seeded per pair): val faces are all centred and full size, visitors' drawings are not.

Every model makes its photos through the Translator, as the app does (fp32 on the CPU), with its
framer (pix2pix.framing) when its folder has one; --no-framing runs every drawing as drawn.

References: --bare judges the doodles themselves, --real the true val photos (placed is trivially
all of them there, the mesh compared with itself). What the project measured: real photos 0.77
(LFW) / 0.88 (CUHK test) detector mean with 40/40 two-eyed Haar faces; bare line doodles 0.60 and
3/36 Haar; the first bundled model (CUHK sketches) from doodles 0.16, 23/36 placed, 28/36 Haar.

    python benchmarks/doodle_eval.py --model checkpoints/faces --run runs/x \\
        --bare --real --grid eval/doodle_grid.png

Needs the optional extra `pip install .[faces]` (mediapipe, with OpenCV): it is imported here only.
mediapipe pins protobuf<5, so it lives in its own environment, beside the one with onnx.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.drawn_doodles import eval_doodles  # noqa: E402
from pix2pix.translate import Translator  # noqa: E402
from train.data import place_on_paper  # noqa: E402
from train.state import generator_of_run  # noqa: E402

SIZE = 256  # the frame everything is judged in: the model's, the val pairs', the doodles shrunk
PLACED_NME = 0.25
# Face mesh points: the eye contours train/faces.py aligns by (subject's right eye = image left),
# the nose tip, and the inner lip points above and below the middle of the mouth.
MESH_POINTS = (
    [33, 133, 160, 159, 158, 144, 145, 153],
    [362, 263, 387, 386, 385, 373, 374, 380],
    [1],
    [13, 14],
)
DEFAULT_VAL = ROOT.parent / "data" / "lfw_pairs" / "val"
HAAR_FILES = ("haarcascade_frontalface_default.xml", "haarcascade_eye.xml")


@dataclass
class Example:
    """A doodle ('L', SIZE x SIZE), its true photo when there is one, and where the face parts
    were drawn ((4, 2) pixels: left-hand eye, right-hand eye, nose tip, mouth centre)."""

    name: str
    doodle: Image.Image
    points: np.ndarray | None
    photo: Image.Image | None = None


@dataclass
class Scores:
    """One row of a table: the judges' verdicts on one kind of picture of a set."""

    detector: float
    placed: int
    median_nme: float
    haar: int
    count: int
    spread: float

    def row(self, label: str) -> str:
        nme = f"{self.median_nme:.2f}" if np.isfinite(self.median_nme) else "no face"
        return (
            f"| {label} | {self.detector:.2f} | {self.placed}/{self.count} ({nme}) "
            f"| {self.haar}/{self.count} | {self.spread:.3f} |"
        )


class Judges:
    """mediapipe's face detector and face mesh and OpenCV's Haar cascades, loaded once."""

    def __init__(self):
        try:
            import cv2
            import mediapipe as mp
        except ImportError:
            raise SystemExit(
                "The doodle evaluation needs mediapipe and OpenCV: pip install '.[faces]'."
            ) from None
        self.cv2 = cv2
        self.detector = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=0.3
        )
        self.mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1)
        face, eye = (str(haar_folder(cv2) / name) for name in HAAR_FILES)
        self.haar_face, self.haar_eye = cv2.CascadeClassifier(face), cv2.CascadeClassifier(eye)

    def detection_score(self, rgb: np.ndarray) -> float:
        """The best face detection's score, 0 when there is none."""
        found = self.detector.process(rgb).detections or []
        return max((d.score[0] for d in found), default=0.0)

    def face_points(self, rgb: np.ndarray) -> np.ndarray | None:
        """(4, 2) pixels: the two eye centres, the nose tip and the mouth centre; None: no face."""
        found = self.mesh.process(rgb).multi_face_landmarks
        if not found:
            return None
        h, w = rgb.shape[:2]
        mesh = np.array([(p.x * w, p.y * h) for p in found[0].landmark])
        return np.array([mesh[indices].mean(0) for indices in MESH_POINTS])

    def two_eyed_face(self, rgb: np.ndarray) -> bool:
        """Some Haar face holds two Haar eyes whose centres are in the upper half of its box."""
        cv2 = self.cv2
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if grey.shape[1] != 256:
            grey = cv2.resize(grey, (256, round(256 * grey.shape[0] / grey.shape[1])))
        faces = self.haar_face.detectMultiScale(
            grey, scaleFactor=1.1, minNeighbors=5, minSize=(60, 60)
        )
        for x, y, w, h in faces:
            eyes = self.haar_eye.detectMultiScale(
                grey[y : y + h, x : x + w], scaleFactor=1.1, minNeighbors=5
            )
            if sum(ey + eh / 2 < h / 2 for _, ey, _, eh in eyes) >= 2:
                return True
        return False

    def score(self, images: list[Image.Image], drawn: list[np.ndarray | None]) -> Scores:
        """All judges on a set of pictures; `drawn` holds each one's drawn face points."""
        detector, nmes, haar = [], [], 0
        for image, points in zip(images, drawn, strict=True):
            rgb = np.ascontiguousarray(image.convert("RGB"))
            detector.append(self.detection_score(rgb))
            found = self.face_points(rgb)
            nmes.append(nme(found, points))
            haar += self.two_eyed_face(rgb)
        return Scores(
            detector=float(np.mean(detector)),
            placed=sum(n < PLACED_NME for n in nmes),
            median_nme=statistics.median(nmes),
            haar=haar,
            count=len(images),
            spread=spread(images),
        )


def haar_folder(cv2) -> Path:
    """The Haar cascades inside the OpenCV wheel. OpenCV 5.0's wheels ship cv2/data empty
    (opencv/opencv-python#1244), which is why the `faces` extra pins OpenCV 4."""
    folder = Path(cv2.data.haarcascades)
    if not all((folder / name).is_file() for name in HAAR_FILES):
        raise SystemExit(
            f"OpenCV {cv2.__version__} has no Haar cascades in {folder}: "
            "pip install 'opencv-contrib-python>=4.10,<5' (the faces extra does)."
        )
    return folder


def nme(found: np.ndarray | None, drawn: np.ndarray | None) -> float:
    """Mean distance of the found face points from the drawn ones over the drawn eye distance;
    infinite when either is missing."""
    if found is None or drawn is None:
        return float("inf")
    eye_distance = np.linalg.norm(drawn[1] - drawn[0])
    return float(np.linalg.norm(found - drawn, axis=1).mean() / eye_distance)


def spread(images: list[Image.Image]) -> float:
    """Mean L1 distance (RGB in [0, 1]) over all pairs of different pictures."""
    pixels = [np.asarray(im.convert("RGB"), np.float32) / 255 for im in images]
    return float(np.mean([np.abs(a - b).mean() for a, b in itertools.combinations(pixels, 2)]))


def translate(translator: Translator, doodles: list[Image.Image]) -> list[Image.Image]:
    """Photos the way the app makes them (Translator.translate, with the model folder's framer
    when it has one), in fp32 on the CPU."""
    return [translator.translate(doodle) for doodle in doodles]


def eval_examples() -> list[Example]:
    """The drawn doodles, shrunk from 512 to the model's 256 as the app would."""
    examples = []
    for doodle in eval_doodles():
        scale = SIZE / doodle.image.width
        small = doodle.image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)
        examples.append(Example(doodle.name, small, doodle.points * scale))
    return examples


def val_examples(folder: Path, count: int, judges: Judges) -> list[Example]:
    """The first `count` pairs by name; the drawn points are the mesh's on the true photo."""
    examples = []
    for path in sorted((folder / "sketches").glob("*.png"))[:count]:
        photo = Image.open(folder / "photos" / f"{path.stem}.jpg").convert("RGB")
        doodle = Image.open(path).convert("L")
        if doodle.size != (SIZE, SIZE) or photo.size != (SIZE, SIZE):
            raise SystemExit(
                f"{path.stem}: val pairs must be {SIZE}x{SIZE}, as train.faces writes."
            )
        points = judges.face_points(np.asarray(photo))
        examples.append(Example(path.stem, doodle, points, photo))
    return examples


def moved_examples(examples: list[Example], judges: Judges) -> list[Example]:
    """Each val pair shrunk and moved on white paper as `--place-prob` trains (seeded by its index,
    so every run scores the same pictures): the val faces are all centred and full size. The
    drawn points are the mesh's on the moved true photo."""
    moved = []
    for k, example in enumerate(examples):
        doodle, photo, _ = place_on_paper(example.doodle, example.photo, np.random.default_rng(k))
        moved.append(Example(example.name, doodle, judges.face_points(np.asarray(photo)), photo))
    return moved


def grid(blocks: list[dict[str, list[Image.Image]]], cell: int = 160) -> Image.Image:
    """One row per doodle: the blocks (one per set, a column per picture kind) side by side."""
    rows = max(len(images) for block in blocks for images in block.values())
    gap, header = cell // 8, 14
    width = sum(len(block) * cell for block in blocks) + gap * (len(blocks) - 1)
    sheet = Image.new("RGB", (width, header + rows * cell), "white")
    draw = ImageDraw.Draw(sheet)
    x = 0
    for block in blocks:
        for label, images in block.items():
            draw.text((x + 2, 1), label[-(cell // 6) :], fill="black")
            for row, image in enumerate(images):
                sheet.paste(image.convert("RGB").resize((cell, cell)), (x, header + row * cell))
            x += cell
        x += gap
    return sheet


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", default=[], help="a model folder (repeatable)")
    parser.add_argument(
        "--run",
        action="append",
        default=[],
        help="a training run folder: its last saved state, as its args.json builds it (repeatable)",
    )
    parser.add_argument("--bare", action="store_true", help="also judge the doodles themselves")
    parser.add_argument("--real", action="store_true", help="also judge the true val photos")
    parser.add_argument(
        "--val", type=Path, default=DEFAULT_VAL, help="held-out pairs from train.faces"
    )
    parser.add_argument("--val-count", type=int, default=36)
    parser.add_argument(
        "--val-moved",
        action="store_true",
        help="also score the val doodles shrunk and moved on white paper (as --place-prob trains)",
    )
    parser.add_argument(
        "--no-framing",
        action="store_true",
        help="run every drawing as drawn, even with a model folder's framer (pix2pix.framing)",
    )
    parser.add_argument("--grid", type=Path, default=ROOT / "eval" / "doodle_grid.png")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 leaves a core to training)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    judges = Judges()
    options = dict(device="cpu", dtype=torch.float32, framing=not args.no_framing)
    models = {name: Translator(name, **options) for name in args.model}
    models.update({name: Translator(generator_of_run(Path(name)), **options) for name in args.run})
    for name, translator in models.items():
        if translator.size != SIZE:
            raise SystemExit(f"{name} makes {translator.size} px photos; this needs {SIZE}.")

    sets = {"eval doodles": eval_examples()}
    if args.val.is_dir():
        sets["val doodles"] = val_examples(args.val, args.val_count, judges)
        if args.val_moved:
            sets["val doodles, shrunk and moved"] = moved_examples(sets["val doodles"], judges)
    else:
        print(f"No val pairs at {args.val} (make them with python -m train.faces); skipped.")

    blocks = []
    for set_name, examples in sets.items():
        doodles = [e.doodle for e in examples]
        drawn = [e.points for e in examples]
        pictures = {set_name: doodles}
        rows = {}
        if args.bare:
            rows["bare doodles"] = judges.score(doodles, drawn)
        if args.real and examples[0].photo is not None:
            pictures["real photos"] = [e.photo for e in examples]
            rows["real photos"] = judges.score(pictures["real photos"], drawn)
        for name, translator in models.items():
            pictures[name] = translate(translator, doodles)
            rows[name] = judges.score(pictures[name], drawn)
        blocks.append(pictures)

        missing = sum(points is None for points in drawn)
        note = f", {missing} true photos without a mesh face (never placed)" if missing else ""
        print(f"\n### {set_name} ({len(examples)}{note})\n")
        print("| | detector mean | placed / N (median NME) | Haar two-eye / N | spread (L1) |")
        print("|---|---|---|---|---|")
        for name, scores in rows.items():
            print(scores.row(name))

    args.grid.parent.mkdir(parents=True, exist_ok=True)
    grid(blocks).save(args.grid)
    print(f"\nGrid: {args.grid} ({time.perf_counter() - start:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
