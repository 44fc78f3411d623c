"""Traits measured from photos, packs, and the faces layout that draws doodles from them.

The landmarks are mediapipe's face mesh on the project's own drawing (tests/data), as in
test_faces.py; the photos are painted here so that each trait is known to be there or not.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import train.doodle as doodle_module
from tests.painted_faces import LANDMARKS, head_mask, paint
from train.data import PairDataset, find_pairs, scan_pairs
from train.doodle import LANDMARKS_DRAWN, draw_doodle
from train.pack import main as pack_main
from train.palette import binned
from train.shapes import grow_mask, load_shapes, shrink_mask
from train.traits import measure


def traits_of(photo: Image.Image):
    person = head_mask() | (np.asarray(photo.convert("L")) < 250)  # the person: all that is painted
    return measure(np.asarray(photo), LANDMARKS.astype(np.float32), person)


def test_each_trait_is_found_where_it_was_painted_and_nowhere_else():
    plain = traits_of(paint())
    assert not (plain.glasses or plain.beard or plain.long_hair)
    assert plain.bad_target is None
    assert traits_of(paint(glasses=True)).glasses
    assert traits_of(paint(beard=True)).beard and not traits_of(paint(beard=True)).glasses
    long = traits_of(paint(long_hair=True))
    assert long.long_hair and not long.beard
    assert long.hair[int(LANDMARKS[152, 1]) - 5, int(LANDMARKS[234, 0]) - 8]  # hair beside the jaw
    assert traits_of(paint(blur=True)).bad_target == "blurred"


def test_masks_shrink_to_bits_and_grow_back():
    person = head_mask()
    packed = shrink_mask(person)
    assert packed.dtype == np.uint8 and packed.size == 64 * 64 // 8
    back = grow_mask(packed, 256)
    assert back.shape == (256, 256) and (back == person).mean() > 0.97


def test_a_doodle_needs_only_the_landmarks_a_pack_keeps():
    kept = np.full_like(LANDMARKS, np.nan)
    kept[LANDMARKS_DRAWN] = LANDMARKS[LANDMARKS_DRAWN]
    for seed in range(6):
        full = draw_doodle(LANDMARKS, head_mask(), np.random.default_rng(seed))
        packed = draw_doodle(kept, head_mask(), np.random.default_rng(seed))
        assert np.array_equal(np.asarray(full), np.asarray(packed))


def bridge_ink(doodle: Image.Image) -> float:
    inner_r, inner_l = LANDMARKS[133], LANDMARKS[362]
    y = int((inner_r[1] + inner_l[1]) / 2)
    strip = np.asarray(doodle)[y - 8 : y + 8, int(inner_r[0]) + 2 : int(inner_l[0]) - 2]
    return float((strip < 160).mean())


def test_glasses_and_beards_are_drawn_when_the_photo_has_them_and_only_then(monkeypatch):
    person, hair = head_mask(), np.zeros((256, 256), bool)

    def doodles(glasses: bool, beard: bool) -> list[np.ndarray]:
        traits = {"glasses": glasses, "beard": beard, "hair": hair}
        return [
            np.asarray(draw_doodle(LANDMARKS, person, np.random.default_rng(s), traits=traits))
            for s in range(30)
        ]

    plain, specs, bearded = doodles(False, False), doodles(True, False), doodles(False, True)
    more_on_bridge = [
        bridge_ink(Image.fromarray(b)) > bridge_ink(Image.fromarray(a))
        for a, b in zip(plain, specs, strict=True)
    ]
    assert sum(more_on_bridge) >= 24  # 90% of the photos with glasses get them drawn
    changed = [not np.array_equal(a, b) for a, b in zip(plain, bearded, strict=True)]
    assert sum(changed) >= 24
    # Where the photo has neither, neither is ever drawn: the same doodles as with both parts gone.
    monkeypatch.setattr(doodle_module, "_glasses", lambda *args: None)
    monkeypatch.setattr(doodle_module, "_beard", lambda *args: None)
    assert all(np.array_equal(a, b) for a, b in zip(plain, doodles(False, False), strict=True))


def test_a_pack_keeps_clean_targets_repeats_rare_traits_and_reads_as_faces(faces_pairs, tmp_path):
    out = tmp_path / "pack"
    assert (
        pack_main([str(faces_pairs), "-o", str(out), "--contact-sheets", str(tmp_path / "sheets")])
        == 0
    )
    report = json.loads((out / "pack.json").read_text())[f"{faces_pairs.name}/train"]
    assert report["dropped"] == {"blurred": 1} and report["kept"] == 3
    assert report["glasses"] == 1 and report["long_hair"] == 1
    split = out / faces_pairs.name / "train"
    assert sorted(p.name for p in (split / "photos").iterdir()) == [
        "hair.webp",
        "plain.webp",
        "specs.webp",
    ]
    shapes = load_shapes(split / "shapes.npz")
    assert shapes["points"].shape == (3, 478, 2)
    dropped = sorted(set(range(478)) - set(LANDMARKS_DRAWN))
    assert np.isnan(shapes["points"][:, dropped]).all()
    assert not np.isnan(shapes["points"][:, LANDMARKS_DRAWN]).any()
    assert dict(zip(shapes["names"], shapes["repeat"], strict=True)) == {
        "plain": 1,
        "specs": 3,
        "hair": 3,
    }
    assert (tmp_path / "sheets" / faces_pairs.name / "train" / "glasses_top.png").is_file()

    found = scan_pairs(split, split=None)
    assert found.layout == "faces" and len(found.pairs) == 7  # 1 + 3 + 3
    data = PairDataset(find_pairs(split, split=None), augment=False, seed=0)
    specs = next(i for i, p in enumerate(data.pairs) if p.photo.stem == "specs")
    first = data[specs]["sketch"]
    data.set_epoch(1)
    assert not np.array_equal(first.numpy(), data[specs]["sketch"].numpy())  # a fresh doodle
    assert data[specs]["photo"].shape == (3, 256, 256)

    heavier = tmp_path / "heavier"
    assert pack_main([str(faces_pairs), "-o", str(heavier), "--extra-repeats", "5"]) == 0
    shapes = load_shapes(heavier / faces_pairs.name / "train" / "shapes.npz")
    assert dict(zip(shapes["names"], shapes["repeat"], strict=True)) == {
        "plain": 1,
        "specs": 6,
        "hair": 6,
    }


def test_train_faces_output_is_read_with_fresh_doodles(faces_pairs):
    found = scan_pairs(faces_pairs, split="train")
    assert found.layout == "faces" and len(found.pairs) == 4
    data = PairDataset(found.pairs, augment=False, seed=0)
    stored = np.asarray(Image.open(faces_pairs / "train" / "sketches" / "plain.png"))
    drawn = ((data[0]["sketch"][0].numpy() + 1) * 127.5).round()
    assert drawn.shape == stored.shape and not np.array_equal(drawn, stored)


def test_doodle_variants_are_drawn_once_and_reused_over_the_epochs(faces_pairs, tmp_path):
    """--doodle-variants 2: epochs 0 and 2 share a doodle, read back from the run's doodles/; epoch
    1 has another. Another worker or a resumed run gets the very same doodles, with the folder or
    without it, and a damaged file is drawn again."""
    pairs = scan_pairs(faces_pairs, split="train").pairs
    cache = tmp_path / "doodles"

    def sketches(epochs, folder=cache):
        data = PairDataset(pairs, augment=False, seed=0, doodle_variants=2, doodle_cache=folder)
        out = []
        for epoch in epochs:
            data.set_epoch(epoch)
            out.append(data[0]["sketch"].numpy())
        return out

    first, second, third = sketches([0, 1, 2])
    assert np.array_equal(first, third) and not np.array_equal(first, second)
    assert sorted(p.name for p in cache.iterdir()) == ["0000000-0.png", "0000000-1.png"]
    drawn = cache / "0000000-0.png"
    drawn.write_bytes(b"torn")  # a damaged file: drawn again, the same doodle
    assert np.array_equal(sketches([0])[0], first)
    assert np.array_equal(sketches([1], tmp_path / "elsewhere")[0], second)  # same seed, no folder
    before = drawn.stat().st_mtime_ns
    sketches([2])
    assert drawn.stat().st_mtime_ns == before  # read, not drawn again
    with pytest.raises(ValueError, match="doodle_cache"):
        PairDataset(pairs, doodle_variants=2)


def test_the_variation_palette_gives_dark_and_light_tones_equal_room():
    """LFW is mostly light-skinned: binning by luminance gives the few dark faces their own tones
    rather than one in ten."""
    rng = np.random.default_rng(0)
    light = rng.normal((220, 170, 140), 4, size=(900, 3))
    dark = rng.normal((110, 75, 55), 4, size=(100, 3))
    tones = binned(np.concatenate([light, dark]).astype(np.float32), bins=4)
    assert tones == sorted(tones, key=sum)  # darkest first
    assert max(abs(a - b) for a, b in zip(tones[0], (110, 75, 55), strict=True)) <= 3
    assert max(abs(a - b) for a, b in zip(tones[-1], (220, 170, 140), strict=True)) <= 3
    few = [[165.0, 120.0, 95.0]] * 4  # alone in a bin of their own: four photos are no tone
    tones = binned(np.concatenate([light, dark, few]).astype(np.float32), bins=4)
    assert tones == binned(np.concatenate([light, dark]).astype(np.float32), bins=4)  # no tone
