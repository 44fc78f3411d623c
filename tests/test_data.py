"""train.data and train.combine: every layout pairs the right files, bad files are caught, augmentation
keeps a pair aligned and is reproducible from (seed, epoch, index) alone."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from train.combine import combine, main
from train.data import (
    LAYOUTS,
    PairDataset,
    check_pairs,
    find_pairs,
    first_few,
    has_split,
    load_pair,
    scan_pairs,
)


def _save(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path)
    return path


def _tagged(path: Path, k: int, photo: bool, size: tuple[int, int] = (16, 16)) -> Path:
    """A flat image that carries the pair number k in its grey level (sketch) or red channel (photo)."""
    level = 30 + 20 * k
    w, h = size
    pixel = [level, 255 - level, 90] if photo else level
    return _save(path, np.full((h, w, 3) if photo else (h, w), pixel))


def _pair_numbers(pairs) -> list[tuple[int, int]]:
    """(number in the sketch, number in the photo) for each pair, read back through PairDataset."""
    dataset = PairDataset(pairs, image_size=8, augment=False)
    numbers = []
    for example in dataset:
        sketch = (example["sketch"].mean().item() + 1) * 127.5
        red = (example["photo"][0].mean().item() + 1) * 127.5
        numbers.append((round((sketch - 30) / 20), round((red - 30) / 20)))
    return numbers


def _ramp(size: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """An asymmetric pair: the sketch's grey level and the photo's red channel are the same 2-D ramp."""
    y, x = np.mgrid[:size, :size]
    ramp = 3 * x + y
    return ramp, np.stack([ramp, 255 - ramp, np.zeros_like(ramp)], axis=-1)


def _ramp_pairs(tmp_path: Path, count: int = 4):
    sketch, photo = _ramp()
    for i in range(count):
        _save(tmp_path / "A" / f"{i}.png", sketch)
        _save(tmp_path / "B" / f"{i}.png", photo)
    return find_pairs(tmp_path, "folders")


# ---------------------------------------------------------------- layouts


def test_cuhk_names_and_numbered_sketches(tmp_path):
    train = ["f-005-01", "f-006-01", "m-010-01", "f1-001-01", "m1-002-01"]
    sketch_names = [
        "F2-005-01-sz1",
        "F2-006-01-sz1",
        "M2-010-01-sz1",
        "f1-001-01-sz1",
        "m1-002-01-sz1",
    ]
    for k, (photo, sketch) in enumerate(zip(train, sketch_names, strict=True)):
        _tagged(tmp_path / "train" / "photos" / f"{photo}.jpg", k, photo=True)
        _tagged(tmp_path / "train" / "sketches" / f"{sketch}.jpg", k, photo=False)
    # Test sketches numbered 95..106: numeric order is not string order ("100" < "95").
    test = sorted(["f-039-01", "f-040-01", "f1-001-01", "f1-002-01", "m-063-01", "m-064-01"] +
                  [f"m1-{n:03d}-01" for n in range(1, 7)])  # fmt: skip
    for k, photo in enumerate(test):
        _tagged(tmp_path / "test" / "photos" / f"{photo}.jpg", k, photo=True)
        _tagged(tmp_path / "test" / "sketches" / f"{95 + k}.jpg", k, photo=False)

    train_pairs = find_pairs(tmp_path, "cuhk", "train")
    assert {(p.photo.stem, p.sketch.stem) for p in train_pairs} == set(
        zip(train, sketch_names, strict=True)
    )
    assert all(s == p for s, p in _pair_numbers(train_pairs))

    test_pairs = find_pairs(tmp_path, "cuhk", "test")
    assert [p.photo.stem for p in test_pairs] == test
    assert [p.sketch.stem for p in test_pairs] == [str(95 + k) for k in range(len(test))]
    assert _pair_numbers(test_pairs) == [(k, k) for k in range(len(test))]
    assert find_pairs(tmp_path, "auto", "test") == test_pairs


@pytest.mark.parametrize(
    ("layout", "sketch_dir", "photo_dir"),
    [
        ("cuhk", "train/sketches", "train/photos"),  # AR / XM2VTS: same names
        ("folders", "A", "B"),
        ("folders", "train/A", "train/B"),
        ("folders", "A/train", "B/train"),  # the official combine script's input
        ("folders", "sketches", "photos"),
    ],
)
def test_folders_with_matching_names(tmp_path, layout, sketch_dir, photo_dir):
    names = ["100", "9", "b", "a"]
    for k, name in enumerate(names):
        _tagged(tmp_path / sketch_dir / f"{name}.png", k, photo=False)
        _tagged(tmp_path / photo_dir / f"{name}.JPG", k, photo=True)
    _tagged(tmp_path / sketch_dir / "only-a-sketch.png", 9, photo=False)
    (tmp_path / photo_dir / "notes.txt").write_text("not an image")

    pairs = find_pairs(tmp_path, layout)
    assert [p.photo.stem for p in pairs] == sorted(names)
    assert all(p.sketch.stem == p.photo.stem for p in pairs)
    assert all(s == p for s, p in _pair_numbers(pairs))
    assert find_pairs(tmp_path) == pairs


def test_files_without_a_partner_are_named_on_both_sides(tmp_path, recwarn):
    for k, name in enumerate(["a", "b", "c"]):
        _tagged(tmp_path / "B" / f"{name}.png", k, photo=True)
    _tagged(tmp_path / "A" / "a.png", 0, photo=False)
    _tagged(tmp_path / "A" / "lonely.png", 1, photo=False)
    found = scan_pairs(tmp_path, "folders")
    assert [p.photo.name for p in found.pairs] == ["a.png"]
    assert found.layout == "folders"
    assert len(found.unpaired) == 3
    assert any("sketch" in line and "lonely.png" in line for line in found.unpaired)
    for photo in ("b.png", "c.png"):
        assert any(line.startswith("the photo") and photo in line for line in found.unpaired)
    assert find_pairs(tmp_path, "folders") == found.pairs
    assert not recwarn.list  # said in the run's output, not as a warning about a code line


def test_has_split_tells_a_real_split_from_the_fallback(tmp_path):
    for split in ("train", "test"):
        _tagged(tmp_path / "cuhk" / split / "sketches" / "1.png", 1, photo=False)
        _tagged(tmp_path / "cuhk" / split / "photos" / "1.png", 1, photo=True)
    _tagged(tmp_path / "flat" / "A" / "1.png", 1, photo=False)
    _tagged(tmp_path / "flat" / "B" / "1.png", 1, photo=True)
    assert has_split(tmp_path / "cuhk", "test") and has_split(tmp_path / "cuhk", "train")
    assert not has_split(tmp_path / "flat", "test")
    # find_pairs still falls back to all pairs; has_split is what says they are no test split
    assert find_pairs(tmp_path / "flat", split="test") == find_pairs(tmp_path / "flat", split=None)
    manifest = tmp_path / "pairs.csv"
    manifest.write_text("photo,sketch,split\nflat/B/1.png,flat/A/1.png,train\n")
    assert has_split(manifest, "train") and not has_split(manifest, "test")


def test_first_few_counts_the_rest():
    lines = [f"file {i}" for i in range(12)]
    assert first_few(lines) == [*lines[:5], "... and 7 more"]
    assert first_few(lines[:5]) == lines[:5]


def test_combine_then_aligned_gives_the_pixels_back(tmp_path, capsys):
    rng = np.random.default_rng(0)
    sketches = {name: rng.integers(0, 256, (8, 8)) for name in ["x", "y", "z"]}
    photos = {name: rng.integers(0, 256, (8, 8, 3)) for name in sketches}
    for name in sketches:
        _save(tmp_path / "a" / f"{name}.png", sketches[name])
        _save(tmp_path / "b" / f"{name}.png", photos[name])
    _save(tmp_path / "a" / "small.png", np.zeros((6, 8)))
    _save(tmp_path / "b" / "small.png", np.zeros((8, 8, 3)))
    _save(tmp_path / "a" / "alone.png", np.zeros((8, 8)))

    written, problems = combine(tmp_path / "a", tmp_path / "b", tmp_path / "ab" / "train")
    assert written == 3
    assert len(problems) == 2
    assert any("alone.png" in p for p in problems)
    assert any("small.png" in p and "8x6" in p for p in problems)

    pairs = find_pairs(tmp_path / "ab", "aligned")
    assert find_pairs(tmp_path / "ab") == pairs
    assert [p.name for p in pairs] == ["x", "y", "z"]
    for pair in pairs:
        sketch, photo = load_pair(pair)
        assert np.array_equal(np.asarray(sketch), sketches[pair.name])
        assert np.array_equal(np.asarray(photo), photos[pair.name])

    folders = ["--a", str(tmp_path / "a"), "--b", str(tmp_path / "b")]
    assert main([*folders, "--out", str(tmp_path / "o")]) == 0
    assert "written 3, skipped 2" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    nothing = ["--a", str(tmp_path / "empty"), "--b", str(tmp_path / "b")]
    assert main([*nothing, "--out", str(tmp_path / "o2")]) == 1
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "--out" in capsys.readouterr().out


def test_combine_then_auto_layout_for_non_square_faces(tmp_path):
    """CUHK's 200x250 pairs make 400x250 A|B files: not the official 2:1 shape, still found."""
    sketch, photo = _ramp(40)
    _save(tmp_path / "a" / "face.png", sketch[:, :32])
    _save(tmp_path / "b" / "face.png", photo[:, :32])
    assert combine(tmp_path / "a", tmp_path / "b", tmp_path / "ab") == (1, [])
    assert Image.open(tmp_path / "ab" / "face.png").size == (64, 40)
    found = scan_pairs(tmp_path / "ab")
    assert found.layout == "aligned"
    sketch_back, photo_back = load_pair(found.pairs[0])
    assert np.array_equal(np.asarray(sketch_back), sketch[:, :32])
    assert np.array_equal(np.asarray(photo_back), photo[:, :32])
    _save(tmp_path / "plain" / "photo.png", photo)  # an untagged square image is still no A|B
    with pytest.raises(ValueError, match="No pairs"):
        find_pairs(tmp_path / "plain")


def test_csv_manifest_with_split_and_subset(tmp_path):
    rows = []
    for k, (subset, split) in enumerate(
        [("s1", "train"), ("s1", "test"), ("s2", "train"), ("s2", "train")]
    ):
        sketch = _tagged(tmp_path / subset / "sketches" / f"{k}.jpg", k, photo=False)
        photo = _tagged(tmp_path / subset / "photos" / f"{k}.jpg", k, photo=True)
        rows.append({"subset": subset, "split": split, "photo": photo.relative_to(tmp_path).as_posix(),
                     "sketch": sketch.relative_to(tmp_path).as_posix()})  # fmt: skip
    manifest = tmp_path / "pairs.csv"
    with open(manifest, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["subset", "split", "photo", "sketch"])
        writer.writeheader()
        writer.writerows(rows)

    train = find_pairs(manifest, "csv")
    assert [p.photo.stem for p in train] == ["0", "2", "3"]
    assert all(s == p for s, p in _pair_numbers(train))
    assert [p.photo.stem for p in find_pairs(manifest, "csv", "test")] == ["1"]
    assert [p.photo.stem for p in find_pairs(f"{manifest}?subset=s2")] == ["2", "3"]
    assert find_pairs(tmp_path, "csv") == train  # a folder holding pairs.csv
    with pytest.raises(ValueError, match="no column colour"):
        find_pairs(f"{manifest}?colour=red")

    bad = tmp_path / "bad.csv"
    bad.write_text("image,drawing\na.jpg,b.jpg\n")
    with pytest.raises(ValueError, match="photo and sketch"):
        find_pairs(bad)


def test_photos_layout_draws_the_sketch_from_the_augmented_photo(tmp_path, monkeypatch):
    _, photo = _ramp()
    _save(tmp_path / "train" / "people" / "p1.jpg", photo)
    _save(tmp_path / "train" / "p0.png", photo)
    with pytest.raises(ValueError, match="'photos'"):
        find_pairs(tmp_path)  # never guessed
    pairs = find_pairs(tmp_path, "photos")
    assert [(p.sketch, p.photo.name) for p in pairs] == [(None, "p0.png"), (None, "p1.jpg")]

    styles = []

    def fake_sketchify(photo, style="xdog", rng=None):
        assert isinstance(rng, np.random.Generator)
        styles.append(style)
        return photo.getchannel("R")  # same size as the photo, so alignment can be checked exactly

    monkeypatch.setattr("pix2pix.sketchify.sketchify", fake_sketchify)
    dataset = PairDataset(pairs, image_size=32, sketch_style="edges")
    for epoch in range(3):
        dataset.set_epoch(epoch)
        for example in dataset:
            assert torch.equal(example["sketch"][0], example["photo"][0])
    assert styles == ["edges"] * 6
    styles.clear()
    PairDataset(pairs, image_size=32, doodle_prob=1.0)[0]
    assert styles == ["doodle"]


def test_doodle_prob_replaces_artist_sketches(tmp_path, monkeypatch):
    for k in range(3):
        _tagged(tmp_path / "A" / f"{k}.png", k, photo=False)
        _tagged(tmp_path / "B" / f"{k}.png", k + 3, photo=True)
    pairs = find_pairs(tmp_path)
    monkeypatch.setattr(
        "pix2pix.sketchify.sketchify", lambda photo, style, rng: photo.getchannel("R")
    )

    def drawn(dataset):  # was the example's sketch drawn from its photo?
        return [torch.equal(e["sketch"][0], e["photo"][0]) for e in dataset]

    assert drawn(PairDataset(pairs, image_size=8, doodle_prob=0.0)) == [False] * 3
    assert drawn(PairDataset(pairs, image_size=8, doodle_prob=1.0)) == [True] * 3
    mixed = drawn(PairDataset(pairs * 20, image_size=8, doodle_prob=0.5))
    assert 10 < sum(mixed) < 50


def test_real_sketchify_is_deterministic(tmp_path):
    _, photo = _ramp(48)
    _save(tmp_path / "face.png", photo)
    pairs = find_pairs(tmp_path, "photos")
    for style in ["xdog", "doodle"]:
        first = PairDataset(pairs, image_size=32, sketch_style=style, seed=1)[0]["sketch"]
        again = PairDataset(pairs, image_size=32, sketch_style=style, seed=1)[0]["sketch"]
        assert first.shape == (1, 32, 32)
        assert torch.equal(first, again)


def test_empty_folder_says_what_was_looked_for(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError) as error:
        find_pairs(tmp_path / "empty")
    message = str(error.value)
    assert str(tmp_path / "empty") in message
    for layout in LAYOUTS[1:]:
        assert layout in message
    with pytest.raises(ValueError, match="cuhk"):
        find_pairs(tmp_path / "empty", "cuhk")
    with pytest.raises(ValueError, match="does not exist"):
        find_pairs(tmp_path / "missing")
    with pytest.raises(ValueError, match="Unknown layout"):
        find_pairs(tmp_path, "pairs")


# ---------------------------------------------------------------- the real CUFS folders


def test_real_cufs_pairs_match_the_manifest(shared_dir):
    cufs = shared_dir / "data" / "cufs"
    with open(cufs / "pairs.csv", newline="") as f:
        manifest = list(csv.DictReader(f))
    counts = {("cuhk_student", "train"): 88, ("cuhk_student", "test"): 100, ("ar", "train"): 80,
              ("ar", "test"): 43, ("xm2vts", "train"): 100, ("xm2vts", "test"): 195}  # fmt: skip
    for (subset, split), count in counts.items():
        pairs = find_pairs(cufs / subset, split=split)
        assert len(pairs) == count
        expected = [
            (r["photo"], r["sketch"])
            for r in manifest
            if (r["subset"], r["split"]) == (subset, split)
        ]
        found = [
            (p.photo.relative_to(cufs).as_posix(), p.sketch.relative_to(cufs).as_posix())
            for p in pairs
        ]
        assert sorted(found) == sorted(expected)
    first = find_pairs(cufs / "cuhk_student", split="test")[0]
    assert (first.photo.name, first.sketch.name) == ("f-039-01.jpg", "89.jpg")

    assert (
        len(find_pairs(cufs / "pairs.csv")) + len(find_pairs(cufs / "pairs.csv", split="test"))
        == 606
    )
    assert len(find_pairs(f"{cufs / 'pairs.csv'}?subset=cuhk_student", split="test")) == 100
    good, problems = check_pairs(find_pairs(cufs / "cuhk_student", split="test"))
    assert (len(good), problems) == (100, [])


# ---------------------------------------------------------------- bad files


def test_check_pairs_names_bad_files_and_skips_them(tmp_path):
    _tagged(tmp_path / "A" / "ok.png", 1, photo=False)
    _tagged(tmp_path / "B" / "ok.png", 1, photo=True)
    # A JPEG cut in its pixel data: the header still opens, only a full decode notices.
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3))
    _save(tmp_path / "A" / "cut.png", noise[..., 0])
    whole = _save(tmp_path / "B" / "cut.jpg", noise).read_bytes()
    (tmp_path / "B" / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    assert Image.open(tmp_path / "B" / "cut.jpg").size == (64, 64)
    (tmp_path / "A" / "text.jpg").write_text("this is not a picture")
    _tagged(tmp_path / "B" / "text.png", 3, photo=True)
    _tagged(tmp_path / "A" / "big.png", 4, photo=False, size=(20, 20))
    _tagged(tmp_path / "B" / "big.png", 4, photo=True, size=(10, 10))

    pairs = find_pairs(tmp_path)
    assert len(pairs) == 4
    good, problems = check_pairs(pairs)
    assert [p.name for p in good] == ["ok"]
    assert len(problems) == 3
    for bad in ["cut.jpg", "text.jpg", "big.png"]:
        assert sum(bad in problem for problem in problems) == 1
    assert any("20x20" in p and "10x10" in p for p in problems)
    with pytest.raises(ValueError, match=r"cut\.jpg") as error:
        check_pairs(pairs, strict=True)
    assert "text.jpg" in str(error.value) and "--strict" in str(error.value)
    assert check_pairs(good, strict=True) == (good, [])


# ---------------------------------------------------------------- augmentation


def test_augmentation_crops_and_flips_both_images_alike(tmp_path):
    dataset = PairDataset(_ramp_pairs(tmp_path), image_size=32)
    flips, corners = set(), set()
    for epoch in range(6):
        dataset.set_epoch(epoch)
        for example in dataset:
            sketch, photo = example["sketch"], example["photo"]
            assert sketch.shape == (1, 32, 32) and photo.shape == (3, 32, 32)
            assert sketch.dtype == photo.dtype == torch.float32
            assert sketch.min() >= -1 and sketch.max() <= 1
            assert photo.min() >= -1 and photo.max() <= 1
            assert torch.equal(sketch[0], photo[0])  # one crop and one flip for both
            flips.add(bool(sketch[0, :, 0].mean() > sketch[0, :, -1].mean()))
            corners.add(round(sketch[0, 0, 0].item(), 3))
    assert flips == {True, False}
    assert len(corners) > 4

    plain = PairDataset(dataset.pairs, image_size=16, augment=False)[0]
    assert plain["sketch"].shape == (1, 16, 16)
    assert torch.equal(plain["sketch"][0], plain["photo"][0])
    assert plain["sketch"][0, 0, 0] < plain["sketch"][0, 0, -1]  # never flipped


def _box(mask: torch.Tensor) -> tuple[int, int, int, int]:
    rows, cols = torch.where(mask.any(1))[0], torch.where(mask.any(0))[0]
    return rows.min().item(), rows.max().item(), cols.min().item(), cols.max().item()


def test_place_prob_shrinks_and_moves_both_images_alike_on_white_paper(tmp_path):
    """A black square drawn where the photo has a red one, on white: placed pairs keep the two
    squares together, smaller than the crop alone leaves them and at many spots."""
    sketch = np.full((64, 64), 255, np.uint8)
    sketch[16:48, 16:48] = 0
    photo = np.full((64, 64, 3), 255, np.uint8)
    photo[16:48, 16:48] = (200, 0, 0)
    for i in range(8):
        _save(tmp_path / "A" / f"{i}.png", sketch)
        _save(tmp_path / "B" / f"{i}.png", photo)
    pairs = find_pairs(tmp_path, "folders")

    def boxes(dataset: PairDataset) -> list[tuple[int, int, int, int]]:
        found = []
        for epoch in range(3):
            dataset.set_epoch(epoch)
            for example in dataset:
                ink, red = _box(example["sketch"][0] < 0), _box(example["photo"][1] < 0)
                assert all(abs(a - b) <= 1 for a, b in zip(ink, red, strict=True))
                found.append(ink)
        return found

    def sides(found: list[tuple[int, int, int, int]]) -> list[int]:
        return [bottom - top + 1 for top, bottom, _, _ in found]

    cropped = boxes(PairDataset(pairs, image_size=64))
    placed = boxes(PairDataset(pairs, image_size=64, place_prob=1.0))
    assert min(sides(cropped)) >= 35  # 32 pixels grown to the load size
    assert min(sides(placed)) < 24 and max(sides(placed)) <= 37
    assert len({(top, left) for top, _, left, _ in placed}) > 12
    unplaced = PairDataset(pairs, image_size=64, place_prob=1.0, augment=False)[0]
    assert _box(unplaced["sketch"][0] < 0) == (16, 47, 16, 47)  # evaluation is never moved
    with pytest.raises(ValueError, match="place_prob"):
        PairDataset(pairs, place_prob=-0.1)


def test_examples_depend_only_on_seed_epoch_and_index(tmp_path):
    pairs = _ramp_pairs(tmp_path)

    def epoch_of(epoch, seed=0):
        dataset = PairDataset(pairs, image_size=32, seed=seed)
        dataset.set_epoch(epoch)
        return torch.stack([e["sketch"] for e in dataset])

    np.random.seed(1)
    torch.manual_seed(1)
    first = epoch_of(3)
    np.random.seed(2)
    torch.manual_seed(2)
    assert torch.equal(epoch_of(3), first)
    assert not torch.equal(epoch_of(4), first)
    assert not torch.equal(epoch_of(3, seed=1), first)

    dataset = PairDataset(pairs, image_size=32)
    dataset.set_epoch(3)
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=2)
    assert torch.equal(torch.cat([batch["sketch"] for batch in loader]), first)


def test_direction_sets_input_and_target(tmp_path):
    pairs = _ramp_pairs(tmp_path, count=1)
    forward = PairDataset(pairs, image_size=16)[0]
    assert forward["input"] is forward["sketch"] and forward["target"] is forward["photo"]
    backward = PairDataset(pairs, image_size=16, direction="photo2sketch")[0]
    assert backward["input"] is backward["photo"] and backward["target"] is backward["sketch"]
    assert backward["name"] == "0"
    with pytest.raises(ValueError, match="direction"):
        PairDataset(pairs, direction="AtoB")
    with pytest.raises(ValueError, match="doodle_prob"):
        PairDataset(pairs, doodle_prob=1.5)
    with pytest.raises(ValueError, match="no pairs"):
        PairDataset([])


def test_non_square_pairs_are_padded_white_not_stretched(tmp_path):
    """Training sees what the Translator sees: a 200x250 face keeps its shape, with white margins."""
    photo = np.zeros((250, 200, 3), np.uint8)
    sketch = np.zeros((250, 200), np.uint8)
    _save(tmp_path / "A" / "x.png", sketch)
    _save(tmp_path / "B" / "x.png", photo)
    example = PairDataset(find_pairs(tmp_path, "folders"), image_size=64, augment=False)[0]
    margin = round(64 * (250 - 200) / 2 / 250)  # columns of padding on each side at 64 px
    for image in (example["sketch"], example["photo"]):
        assert image[:, :, : margin - 1].min() == 1.0  # white margin
        assert (
            image[:, :, margin + 1 : 64 - margin - 1].max() == -1.0
        )  # the black content, unstretched


@pytest.mark.parametrize("shape", [(200, 250), (512, 512), (120, 90)])
def test_the_trainer_sees_a_sketch_exactly_as_the_translator_sends_it(tmp_path, shape):
    """One picture -> tensor path: an un-augmented training example's input is the tensor
    pix2pix.imaging.to_sketch_tensor makes of the same file (CUHK's 200x250, the canvas's 512, a
    small photo that is grown)."""
    from pix2pix.imaging import to_sketch_tensor
    from train.data import Pair, PairDataset

    rng = np.random.default_rng(1)
    sketch = Image.fromarray(rng.integers(0, 256, shape[::-1], dtype=np.uint8), "L")
    photo = Image.fromarray(rng.integers(0, 256, (*shape[::-1], 3), dtype=np.uint8), "RGB")
    sketch.save(tmp_path / "s.png")
    photo.save(tmp_path / "p.png")
    example = PairDataset([Pair(tmp_path / "s.png", tmp_path / "p.png")], augment=False)[0]
    expected, _ = to_sketch_tensor(tmp_path / "s.png", 256, 1)
    assert torch.equal(example["input"], expected[0])
    assert torch.equal(example["target"], to_sketch_tensor(tmp_path / "p.png", 256, 3)[0][0])
