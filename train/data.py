"""Training data: find (sketch, photo) pairs in whatever layout a user brings, serve augmented examples.

Layouts (`find_pairs(root, layout)`):

    cuhk     <root>/[<split>/]photos + sketches, paired by CUHK's names: f-005-01 <-> F2-005-01-sz1,
             f1-001-01 <-> f1-001-01-sz1, 100 <-> 100; numbered sketches (89 ... 188) go by position:
             the N-th sketch in numeric order with the N-th photo in sorted order.
    folders  two folders with the same file names: [<split>/]A + B (A = sketch, as pix2pix names the
             input of sketch2photo), A/<split> + B/<split> (the official combine script's input),
             or [<split>/]sketches + photos.
    aligned  the official pix2pix A|B files: sketch on the left half, photo on the right half, in
             <root>/[<split>/]. `python -m train.combine` writes them.
    csv      a manifest with `photo` and `sketch` columns (paths relative to the CSV); root is the
             file or a folder holding pairs.csv. Rows are filtered by the `split` column when there is
             one, and by `column=value` filters after a '?': "cufs/pairs.csv?subset=cuhk_student".
    photos   bare photos anywhere under <root>/[<split>/]; the sketch is drawn on the fly by
             pix2pix.sketchify. Never chosen by "auto": it must be asked for.
    faces    <root>/[<split>/]shapes.npz + photos/ (`train.faces` and `train.pack` write them): a
             fresh doodle is drawn from each photo's landmarks every epoch (train.doodle), with
             the traits `train.pack` measured (glasses, beard, where the hair is); a pair with
             `repeat` n in shapes.npz is listed n times.
    auto     the first of faces, cuhk, folders, aligned, csv that finds pairs.

Where <root>/<split> does not exist, root itself is searched (`has_split` tells whether it exists:
a test split that is only the training folder again is no test split). split=None searches root.

`scan_pairs` also names the files that have no partner (a sketch without its photo and the other way
round); `find_pairs` is its list of pairs. `check_pairs` is the gate: it decodes every file once
before training and drops (or, strict, refuses) pairs with a file that does not open or two images of
different sizes. `PairDataset.__getitem__` then just loads; it does not catch errors, so a file broken
after the check stops the run with PIL's error.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from tqdm import tqdm

from pix2pix.hints import stack_input
from pix2pix.imaging import IMAGE_SUFFIXES, fit_square
from train.doodle import draw_doodle
from train.glasses import paint_glasses
from train.hints import sample_hints
from train.regions import IGNORE, REGIONS, draw_regions
from train.shapes import SHAPE_SIZE, SHAPES_FILE, grow_mask, load_shapes

LAYOUTS = ("auto", "faces", "cuhk", "folders", "aligned", "csv", "photos")
DIRECTIONS = ("sketch2photo", "photo2sketch")
# train.combine tags the PNGs it writes, so that "auto" knows them whatever their shape (CUHK's
# 200x250 pairs make 400x250 files, which the official 2:1 shape test does not take).
ALIGNED_KEY, ALIGNED_VALUE = "pix2pix-layout", "aligned A|B"

# What each layout looks for, for the error message when nothing is found.
_LOOKED_FOR = {
    "cuhk": "cuhk (<root>/[<split>/]photos + sketches with CUHK names)",
    "folders": "folders (A + B, A/<split> + B/<split>, or sketches + photos, with matching file names)",
    "aligned": "aligned (A|B side-by-side images, twice as wide as high, in <root>/[<split>/])",
    "csv": "csv (a .csv file, or <root>/pairs.csv, with photo and sketch columns)",
    "photos": "photos (image files anywhere under <root>/[<split>/])",
    "faces": "faces (<root>/[<split>/]shapes.npz + photos/, written by train.faces or train.pack)",
}


@dataclass(frozen=True)
class Pair:
    """One training example on disk.

    sketch is None for the photos layout (the sketch is drawn from the photo). For an aligned A|B file
    sketch and photo are the same path and `sketch_half` says which half holds the sketch.
    """

    sketch: Path | None
    photo: Path
    sketch_half: str | None = None  # "left" or "right", only for aligned files
    face: int | None = None  # faces layout: the photo's row in shapes.npz beside photos/

    @property
    def shapes(self) -> Path:
        return self.photo.parent.parent / SHAPES_FILE

    @property
    def name(self) -> str:
        return self.photo.stem


@dataclass
class Found:
    """What scan_pairs found: the pairs, sentences naming the files without a partner, the layout."""

    pairs: list[Pair]
    unpaired: list[str]
    layout: str


def image_files(folder: Path, recursive: bool = False) -> list[Path]:
    """Image files in a folder, sorted; hidden files (macOS '._x.jpg' and the like) are left out."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        f
        for f in found
        if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".") and f.is_file()
    )


def _split_dir(root: Path, split: str | None) -> Path:
    return root / split if split and (root / split).is_dir() else root


def index_by_stem(files: list[Path], key=str) -> dict[str, Path]:
    """{key(file stem): file}; two files with one key (x.jpg and x.png) are an error, not a guess."""
    index: dict[str, Path] = {}
    for f in files:
        k = key(f.stem)
        if k in index:
            raise ValueError(f"{index[k]} and {f} have the same name; keep one of them.")
        index[k] = f
    return index


def _cuhk_key(stem: str) -> str:
    """The name a photo and its sketch share: F2-005-01-sz1 -> f-005-01, f1-001-01-sz1 -> f1-001-01."""
    return re.sub(r"^([fm])2-", r"\1-", stem.lower().removesuffix("-sz1"))


def _match(sketch_dir: Path, photo_dir: Path, cuhk: bool) -> tuple[list[Pair], list[str]]:
    """Pair a sketch folder with a photo folder by file name (CUHK's naming rules when cuhk);
    also return a sentence for every file of either folder that has no partner."""
    if not (sketch_dir.is_dir() and photo_dir.is_dir()):
        return [], []
    sketches, photos = image_files(sketch_dir), image_files(photo_dir)
    key = _cuhk_key if cuhk else str
    by_key, photo_by_key = index_by_stem(sketches, key), index_by_stem(photos, key)
    pairs = [Pair(by_key[k], p) for k, p in photo_by_key.items() if k in by_key]
    numbered = sketches and all(s.stem.isdigit() for s in sketches)  # the CUHK test sketches
    if not pairs and cuhk and numbered and len(sketches) == len(photos):
        sketches = sorted(sketches, key=lambda s: int(s.stem))
        return [Pair(s, p) for s, p in zip(sketches, photos, strict=True)], []
    if not pairs:
        return [], []
    naming = "CUHK's naming" if cuhk else "the same name"
    unpaired = [
        f"the sketch {s} has no photo of {naming} in {photo_dir}."
        for s in without_partner(by_key, photo_by_key)
    ]
    unpaired += [
        f"the photo {p} has no sketch of {naming} in {sketch_dir}."
        for p in without_partner(photo_by_key, by_key)
    ]
    return pairs, unpaired


def without_partner(files: dict[str, Path], others: dict[str, Path]) -> list[Path]:
    """The files (by key, as index_by_stem gives them) whose key `others` does not have."""
    return [f for k, f in files.items() if k not in others]


def _cuhk_pairs(root: Path, split: str | None, guess: bool) -> tuple[list[Pair], list[str]]:
    """CUHK's pairs. "auto" leaves folders whose sketches and photos share plain names to the
    folders layout: they are anybody's pairs, not CUHK's."""
    base = _split_dir(root, split)
    pairs, unpaired = _match(base / "sketches", base / "photos", cuhk=True)
    if guess and pairs and all(p.sketch.stem == p.photo.stem for p in pairs):
        return [], []
    return pairs, unpaired


def _folder_pairs(root: Path, split: str | None) -> tuple[list[Pair], list[str]]:
    base = _split_dir(root, split)
    candidates = [(base / "A", base / "B"), (base / "sketches", base / "photos")]
    if split:
        candidates.insert(1, (root / "A" / split, root / "B" / split))
    for sketch_dir, photo_dir in candidates:
        pairs, unpaired = _match(sketch_dir, photo_dir, cuhk=False)
        if pairs:
            return pairs, unpaired
    return [], []


def _aligned_pairs(root: Path, split: str | None, guess: bool) -> list[Pair]:
    files = image_files(_split_dir(root, split))
    if guess and files and not _looks_aligned(files[0]):  # "auto" takes only what looks like A|B
        return []
    return [Pair(f, f, sketch_half="left") for f in files]


def _looks_aligned(path: Path) -> bool:
    """Written by train.combine (tagged), or twice as wide as high (the official script's files)."""
    try:
        with Image.open(path) as im:
            return im.info.get(ALIGNED_KEY) == ALIGNED_VALUE or im.width == 2 * im.height
    except Exception:  # PIL raises OSError, SyntaxError, ValueError, ... for broken files
        return False


def _manifest(root: str) -> Path | None:
    """The CSV file that root names (a .csv file, or a folder holding pairs.csv), if there is one."""
    path = Path(root.partition("?")[0])
    if path.is_dir():
        path = path / "pairs.csv"
    return path if path.suffix.lower() == ".csv" and path.is_file() else None


def _read_manifest(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _csv_pairs(root: str, split: str | None) -> list[Pair]:
    path = _manifest(root)
    if path is None:
        return []
    query = root.partition("?")[2]
    try:
        filters = dict(item.split("=", 1) for item in query.split("&") if item)
    except ValueError:
        raise ValueError(f"Cannot read the filter {query!r}; write it as column=value.") from None
    columns, rows = _read_manifest(path)
    if missing := {"photo", "sketch"} - set(columns):
        raise ValueError(
            f"{path} needs the columns photo and sketch; {' and '.join(sorted(missing))} is missing "
            f"(it has {', '.join(columns)})."
        )
    if "split" in columns and split:
        filters.setdefault("split", split)
    if unknown := set(filters) - set(columns):
        raise ValueError(f"{path} has no column {', '.join(sorted(unknown))} to filter on.")
    return [
        Pair(sketch=path.parent / row["sketch"], photo=path.parent / row["photo"])
        for row in rows
        if all(row[column] == value for column, value in filters.items())
    ]


def _face_pairs(root: Path, split: str | None) -> list[Pair]:
    base = _split_dir(root, split)
    if not (base / SHAPES_FILE).is_file():
        return []
    with np.load(base / SHAPES_FILE) as shapes:
        names = [str(n) for n in shapes["names"]]
        repeats = shapes["repeat"] if "repeat" in shapes.files else np.ones(len(names), int)
    photos = index_by_stem(image_files(base / "photos"))
    return [
        Pair(None, photos[name], face=i)
        for i, name in enumerate(names)
        if name in photos
        for _ in range(int(repeats[i]))
    ]


def _photo_pairs(root: Path, split: str | None) -> list[Pair]:
    return [Pair(None, f) for f in image_files(_split_dir(root, split), recursive=True)]


def has_split(root: str | Path, split: str) -> bool:
    """Whether the data has a `split` of its own: a <root>/<split> or A/<split> folder, or a CSV
    `split` column holding it. Without one, find_pairs gives all of root's pairs for any split."""
    path = Path(str(root).partition("?")[0])
    if path.is_dir() and ((path / split).is_dir() or (path / "A" / split).is_dir()):
        return True
    manifest = _manifest(str(root))
    return manifest is not None and any(
        row.get("split") == split for row in _read_manifest(manifest)[1]
    )


def scan_pairs(root: str | Path, layout: str = "auto", split: str | None = "train") -> Found:
    """All (sketch, photo) pairs of one split in a fixed order, the files left without a partner,
    and the layout they were found in. split=None: root itself, whatever splits it has.

    Raises ValueError for an unknown layout, a missing root, or when nothing is found (the message
    says which layouts were looked for and where).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"Unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}.")
    root_text = str(root)
    root_path = Path(root_text.partition("?")[0])
    if not root_path.exists():
        raise ValueError(f"The data path {root_path} does not exist.")
    finders = {
        "cuhk": lambda: _cuhk_pairs(root_path, split, guess=layout == "auto"),
        "folders": lambda: _folder_pairs(root_path, split),
        "aligned": lambda: (_aligned_pairs(root_path, split, guess=layout == "auto"), []),
        "csv": lambda: (_csv_pairs(root_text, split), []),
        "photos": lambda: (_photo_pairs(root_path, split), []),
        "faces": lambda: (_face_pairs(root_path, split), []),
    }
    auto = ["faces", "cuhk", "folders", "aligned", "csv"]
    tried = auto if layout == "auto" else [layout]
    for name in tried:
        if not (root_path.is_dir() or name == "csv"):  # only csv takes a file as root
            continue
        pairs, unpaired = finders[name]()
        if pairs:
            return Found(pairs, unpaired, name)
    looked_for = "; ".join(_LOOKED_FOR[name] for name in tried)
    hint = " For bare photos without sketches, ask for layout 'photos'." if layout == "auto" else ""
    if root_path.is_dir():
        hint = _names_apart(_split_dir(root_path, split)) or hint
    raise ValueError(
        f"No pairs found in {root_path} for split {split!r}. "
        f"Looked for layouts: {looked_for}.{hint}"
    )


def _names_apart(base: Path) -> str:
    """When sketch and photo folders both hold images but no name is shared: say so, with an
    example of each (the usual mistake: a.png beside photo_a.jpg)."""
    for sketch_dir, photo_dir in ((base / "sketches", base / "photos"), (base / "A", base / "B")):
        if not (sketch_dir.is_dir() and photo_dir.is_dir()):
            continue
        sketches, photos = image_files(sketch_dir), image_files(photo_dir)
        if sketches and photos:
            return (
                f" {sketch_dir} holds {len(sketches)} sketches and {photo_dir} {len(photos)} "
                f"photos, but no sketch has a photo of the same name (e.g. {sketches[0].name} "
                f"and {photos[0].name}): name each pair alike, e.g. 001.png and 001.jpg."
            )
    return ""


def find_pairs(root: str | Path, layout: str = "auto", split: str | None = "train") -> list[Pair]:
    """The pairs of scan_pairs; files without a partner are left out (scan_pairs names them)."""
    return scan_pairs(root, layout, split).pairs


def hold_out(pairs: list[Pair], count: int, seed: int) -> tuple[list[Pair], list[Pair]]:
    """(kept, held out): `count` pairs drawn with `seed`, the same on every call and every rank,
    both in the original order."""
    chosen = set(np.random.default_rng(seed).permutation(len(pairs))[:count].tolist())
    kept = [pair for i, pair in enumerate(pairs) if i not in chosen]
    return kept, [pair for i, pair in enumerate(pairs) if i in chosen]


def first_few(lines: list[str], shown: int = 5) -> list[str]:
    """The first lines, then one that counts the rest: 3,000 names would bury the message."""
    more = [f"... and {len(lines) - shown} more"] if len(lines) > shown else []
    return lines[:shown] + more


def open_image(path: Path) -> Image.Image:
    """The decoded image, turned upright by its EXIF orientation (phone photos)."""
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im)


def load_pair(pair: Pair) -> tuple[Image.Image | None, Image.Image]:
    """(sketch as 'L', photo as 'RGB') at their size on disk; the sketch is None for the photos layout."""
    if pair.sketch_half is not None:
        both = open_image(pair.photo)
        half = both.width // 2
        left, right = (
            both.crop((0, 0, half, both.height)),
            both.crop((half, 0, both.width, both.height)),
        )
        sketch, photo = (left, right) if pair.sketch_half == "left" else (right, left)
        return sketch.convert("L"), photo.convert("RGB")
    sketch = None if pair.sketch is None else open_image(pair.sketch).convert("L")
    return sketch, open_image(pair.photo).convert("RGB")


def _image_size(path: Path) -> tuple[int, int] | str:
    """The (width, height) after EXIF rotation, or why the file does not open.

    A full decode, not just Image.verify(): verify() does not notice a truncated JPEG.
    """
    try:
        return open_image(path).size
    except Exception as error:  # PIL raises OSError, SyntaxError, ValueError, ... for broken files
        return f"{type(error).__name__}: {error}"


def check_pairs(pairs: list[Pair], strict: bool = False) -> tuple[list[Pair], list[str]]:
    """Open every file; return (good pairs, problems as sentences naming the files).

    A pair is dropped when a file does not open or its sketch and photo differ in size. strict=True
    raises ValueError listing the problems instead, before any training starts.
    """
    sizes: dict[Path, tuple[int, int] | str] = {}
    good, problems = [], []
    for pair in tqdm(pairs, desc="checking files", unit="pair", disable=None, leave=False):
        files = {pair.sketch, pair.photo} - {None}
        for path in files - set(sizes):
            sizes[path] = _image_size(path)
            if isinstance(sizes[path], str):
                problems.append(f"{path} does not open as an image ({sizes[path]}).")
        if any(isinstance(sizes[path], str) for path in files):
            continue
        if pair.sketch is not None and sizes[pair.sketch] != sizes[pair.photo]:
            (sw, sh), (pw, ph) = sizes[pair.sketch], sizes[pair.photo]
            problems.append(
                f"The sketch {pair.sketch} is {sw}x{sh} but its photo {pair.photo} is {pw}x{ph}; "
                "a pair must have one size."
            )
            continue
        good.append(pair)
    if strict and problems:
        raise ValueError(refusal(problems))
    return good, problems


def refusal(problems: list[str]) -> str:
    """What --strict says: how many problems, the first few of them, and what to do."""
    return (
        f"{len(problems)} problem(s) in the training data; fix or remove these files "
        "(without --strict they are skipped):\n" + "\n".join(first_few(problems))
    )


def _to_tensor(image: Image.Image) -> torch.Tensor:
    """'L' -> (1,H,W), 'RGB' -> (3,H,W), float32 in [-1, 1]."""
    array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(array))


class PairDataset(torch.utils.data.Dataset):
    """Augmented (sketch, photo) examples, as the paper's `--preprocess resize_and_crop`.

    Training (augment=True): both images are brought to a white square of the load size (286 for
    256, the official ratio) by pix2pix.imaging.fit_square, as the Translator brings a drawing to
    the generator's size (ours: the official code stretches), cropped at one random spot to
    image_size and flipped left-right together, so the pair stays aligned. augment=False:
    fit_square to image_size, the very tensor the Translator makes of a grey sketch.

    Every random choice of an example comes from np.random.default_rng((seed, epoch, index)), never
    from global state: the same (seed, epoch, index) gives the same example in any worker or process,
    which makes resumed runs exact. Call set_epoch(epoch) before each epoch's iterator is created (a
    DataLoader with persistent_workers=True keeps its workers' copies and would not see the change).

    With place_prob > 0 (ours) that share of training pairs is shrunk to 50-100% and laid at a
    random spot on white paper (sketch and photo alike): the official crop moves a face by at most
    30 pixels, so a model trained on aligned faces paints its usual centred head whatever is drawn
    small or off-centre. Photos on a white background (train.faces writes them so) stay natural.

    With doodle_prob > 0 that share of examples gets a sketch drawn from the photo in the "doodle"
    style instead of the artist's sketch. Photos-only pairs always get a drawn sketch (sketch_style,
    or doodle with doodle_prob). Sketches are drawn from the whole photo, then augmented with it.

    An example is {"sketch": (1,S,S), "photo": (3,S,S), "input", "target", "name"}; "input" is the
    sketch and "target" the photo for sketch2photo, the other way round for photo2sketch.
    """

    def __init__(
        self,
        pairs: list[Pair],
        image_size: int = 256,
        direction: str = "sketch2photo",
        augment: bool = True,
        seed: int = 0,
        doodle_prob: float = 0.0,
        sketch_style: str = "xdog",
        hints: bool = False,
        place_prob: float = 0.0,
        doodle_variants: int = 0,
        doodle_cache: Path | None = None,
        regions: bool = False,
        painted_glasses: float = 0.0,
    ):
        if not pairs:
            raise ValueError("The data set has no pairs to train on.")
        if direction not in DIRECTIONS:
            raise ValueError(
                f"Unknown direction {direction!r}; choose one of {', '.join(DIRECTIONS)}."
            )
        if image_size < 8:
            raise ValueError(f"image_size must be at least 8 pixels, not {image_size}.")
        probs = (
            ("doodle_prob", doodle_prob),
            ("place_prob", place_prob),
            ("painted_glasses", painted_glasses),
        )
        for name, prob in probs:
            if not 0.0 <= prob <= 1.0:
                raise ValueError(f"{name} is a probability between 0 and 1, not {prob}.")
        self.pairs = list(pairs)
        self.image_size = image_size
        self.load_size = image_size * 286 // 256
        self.direction = direction
        self.augment = augment
        self.seed = seed
        self.doodle_prob = doodle_prob
        self.sketch_style = sketch_style
        self.hints = hints
        self.place_prob = place_prob
        if doodle_variants < 0 or (doodle_variants and doodle_cache is None):
            raise ValueError("doodle_variants is 0 or more, and needs a doodle_cache folder.")
        self.doodle_variants = doodle_variants
        self.doodle_cache = doodle_cache
        self.regions = regions
        self.painted_glasses = painted_glasses
        self.epoch = 0
        # read once here, before the loader's workers fork (they share the arrays)
        self._shapes = {
            path: load_shapes(path) for path in {p.shapes for p in self.pairs if p.face is not None}
        }

    def _face_shapes(
        self, pair: Pair, size: int, frames: bool | None = None
    ) -> tuple[np.ndarray, np.ndarray, dict | None]:
        """A faces-layout pair's landmarks, person mask and traits (as train.pack measured them:
        glasses, beard, hair mask; None for a train.faces folder) at `size` pixels; `frames` (not
        None) are glasses painted on the photo, so its traits say glasses, and which frames."""
        shapes, i = self._shapes[pair.shapes], pair.face
        points = shapes["points"][i].astype(np.float64) * size / SHAPE_SIZE
        traits = None
        if "glasses" in shapes:
            traits = {
                "glasses": bool(shapes["glasses"][i]),
                "beard": bool(shapes["beard"][i]),
                "hair": grow_mask(shapes["hair"][i], size),
            }
            if frames is not None:
                traits.update(glasses=True, frames=frames)
        return points, grow_mask(shapes["person"][i], size), traits

    def _draw_face(
        self,
        pair: Pair,
        photo: Image.Image,
        rng: np.random.Generator,
        frames: bool | None = None,
    ) -> Image.Image:
        """A fresh doodle of a faces-layout photo, from its landmarks, masks and traits."""
        points, person, traits = self._face_shapes(pair, photo.width, frames)
        return draw_doodle(points, person, rng, photo.width, traits)

    def _face_regions(
        self, pair: Pair, photo: Image.Image, frames: bool | None = None
    ) -> Image.Image:
        """The region map of train.regions for a faces-layout photo; all IGNORE for other pairs."""
        if pair.face is None:
            return Image.new("L", photo.size, IGNORE)
        points, person, traits = self._face_shapes(pair, photo.width, frames)
        return draw_regions(points, person, photo.width, np.asarray(photo), traits)

    def _glasses_on(
        self, pair: Pair, photo: Image.Image, i: int
    ) -> tuple[Image.Image, bool | None]:
        """With painted_glasses, that share of the faces-layout photos train.pack found without
        glasses wear painted ones (train.glasses): (the photo, True for round frames, False for
        square). Otherwise (the photo, None). Its own random stream, so runs without it are as
        before; with doodle_variants, one per variant, so a kept doodle's glasses stay painted."""
        points, _, traits = self._face_shapes(pair, photo.width)
        key = self.epoch % self.doodle_variants if self.doodle_variants else self.epoch
        rng = np.random.default_rng((self.seed, key, i, 2))
        if traits is None or traits["glasses"] or rng.random() >= self.painted_glasses:
            return photo, None
        frames = bool(rng.random() < 0.5)
        return paint_glasses(photo, points, rng, frames), frames

    def _kept_face(
        self, pair: Pair, photo: Image.Image, i: int, frames: bool | None
    ) -> Image.Image:
        """This epoch's variant of example i's doodle: read from doodle_cache, or drawn with its own
        seed (the same in any worker, process or resumed run) and written there for later epochs.
        The file appears whole (written aside, then renamed), so workers may race for it."""
        variant = self.epoch % self.doodle_variants
        path = self.doodle_cache / f"{i:07d}-{variant}.png"
        try:
            with Image.open(path) as kept:
                return kept.convert("L")
        except (OSError, ValueError):  # not drawn yet (or damaged): draw it
            pass
        rng = np.random.default_rng((self.seed, variant, i, 1))
        sketch = self._draw_face(pair, photo, rng, frames)
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_suffix(f".{os.getpid()}.tmp")
        sketch.save(aside, format="PNG")
        os.replace(aside, path)
        return sketch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> dict:
        pair = self.pairs[i]
        rng = np.random.default_rng((self.seed, self.epoch, i))
        doodle = rng.random() < self.doodle_prob
        sketch, photo = load_pair(pair)
        frames = None
        if pair.face is not None and self.painted_glasses:
            photo, frames = self._glasses_on(pair, photo, i)
        if pair.face is not None and not doodle:
            sketch = (
                self._kept_face(pair, photo, i, frames)
                if self.doodle_variants
                else self._draw_face(pair, photo, rng, frames)
            )
        if sketch is None or doodle:
            from pix2pix.sketchify import sketchify  # only needed here; keeps this module light

            style = "doodle" if doodle else self.sketch_style
            sketch = sketchify(photo, style=style, rng=rng)
        regions = self._face_regions(pair, photo, frames) if self.regions else None
        sketch, photo, regions = self._resize_crop_flip(sketch, photo, rng, regions)
        # drawn only when asked for, so runs without it keep their random stream (exact resume)
        if self.augment and self.place_prob and rng.random() < self.place_prob:
            sketch, photo, regions = place_on_paper(sketch, photo, rng, regions)
        hints = sample_hints(np.asarray(photo), rng) if self.hints else None
        sketch, photo = _to_tensor(sketch), _to_tensor(photo)
        source, target = (sketch, photo) if self.direction == "sketch2photo" else (photo, sketch)
        if hints is not None:
            colours, mask = hints
            mask = torch.from_numpy(mask[None].astype(np.float32))
            source = stack_input(sketch, _to_tensor(Image.fromarray(colours)), mask)
        example = {
            "sketch": sketch,
            "photo": photo,
            "input": source,
            "target": target,
            "name": pair.name,
        }
        if regions is not None:
            example["regions"] = torch.from_numpy(np.asarray(regions, np.int64))
        return example

    def _resize_crop_flip(
        self,
        sketch: Image.Image,
        photo: Image.Image,
        rng: np.random.Generator,
        regions: Image.Image | None = None,
    ) -> tuple[Image.Image, Image.Image, Image.Image | None]:
        """The pair (and its region map, moved alike, resized by nearest neighbour) cropped and
        flipped together."""
        size = self.image_size
        if not self.augment:
            x, y, flip, load = 0, 0, False, size
        else:
            x, y = (int(v) for v in rng.integers(0, self.load_size - size + 1, size=2))
            flip, load = rng.random() < 0.5, self.load_size
        out = []
        for im, labels in ((sketch, False), (photo, False), (regions, True)):
            if im is not None:
                im = fit_square(im, load, nearest=labels)[0].crop((x, y, x + size, y + size))
                im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if flip else im
            out.append(im)
        return out[0], out[1], out[2]


def place_on_paper(
    sketch: Image.Image,
    photo: Image.Image,
    rng: np.random.Generator,
    regions: Image.Image | None = None,
) -> tuple[Image.Image, Image.Image, Image.Image | None]:
    """The pair shrunk to a random 50-100% of its side and laid at the same random spot on white
    paper of the same size; the region map alike, on paper that is background."""
    size = sketch.width
    side = max(1, round(size * rng.uniform(0.5, 1.0)))
    x, y = (int(v) for v in rng.integers(0, size - side + 1, size=2))
    out = []
    for im in (sketch, photo):
        paper = Image.new(im.mode, im.size, "white")
        paper.paste(im.resize((side, side), Image.Resampling.LANCZOS), (x, y))
        out.append(paper)
    if regions is not None:
        paper = Image.new("L", regions.size, REGIONS.index("background"))
        paper.paste(regions.resize((side, side), Image.Resampling.NEAREST), (x, y))
        regions = paper
    return out[0], out[1], regions


@dataclass
class RunData:
    """A run's data once found and checked: what it trains on and what its end scores."""

    dataset: PairDataset
    problems: list[str]  # files skipped and files without a partner, as sentences
    sources: list[str]  # each source with the layout it was found in, for the log and the card
    eval_pairs: list[Pair]  # scored at the end of the run, never trained on
    eval_about: str  # where eval_pairs come from, or why there are none
    layouts: list[str] = field(default_factory=list)  # each source's layout, in order
    holdout: int | None = None  # the training pairs held out for scoring (args.json's --holdout)

    def describe(self) -> str:
        """'88 training pairs from `path` (layout cuhk)'; with --repeat, also the epoch's size."""
        distinct = len(set(self.dataset.pairs))
        per_epoch = f" ({len(self.dataset):,} per epoch)" if distinct != len(self.dataset) else ""
        return f"{distinct:,} training pairs{per_epoch} from {', '.join(self.sources)}"
