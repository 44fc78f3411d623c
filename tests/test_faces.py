"""Doodle pairs from face photos (train/faces.py, train/doodle.py) without mediapipe.

The landmarks in tests/data/long_hair_landmarks.npy are mediapipe's face mesh (478 points, irises
refined) found on the project's own drawing examples/long_hair.png at 256x256, so these tests run
the real drawing and alignment code on real landmark geometry; the detector itself is replaced at
its boundary.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

import train.faces as faces
from tests.painted_faces import LANDMARKS, head_mask
from train.doodle import FACE_OVAL, draw_doodle
from train.faces import LEFT_EYE, RIGHT_EYE, SIZE, Detection, alignment, make_pair, person_mask


def eye_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return points[RIGHT_EYE].mean(0), points[LEFT_EYE].mean(0)


def ink_near(doodle: Image.Image, centre: np.ndarray, radius: float) -> bool:
    ink = np.asarray(doodle) < 160
    ys, xs = np.nonzero(ink)
    return bool(np.any(np.hypot(xs - centre[0], ys - centre[1]) < radius))


def test_doodles_are_deterministic_and_vary_with_the_seed():
    person = head_mask()
    first = [
        np.asarray(draw_doodle(LANDMARKS, person, np.random.default_rng(s))) for s in range(12)
    ]
    again = [
        np.asarray(draw_doodle(LANDMARKS, person, np.random.default_rng(s))) for s in range(12)
    ]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    ink = [float((d < 160).mean()) for d in first]
    assert len({d.tobytes() for d in first}) == 12
    assert max(ink) > 3 * min(ink)  # thin pens and markers, sparse and busy drawings
    assert all(0.003 < i < 0.5 for i in ink)  # lines on white paper, never a blank or a black page


def test_eyes_are_always_drawn_where_the_face_has_them():
    person = head_mask()
    right, left = eye_centres(LANDMARKS)
    radius = 0.35 * float(np.linalg.norm(left - right))
    for seed in range(25):
        doodle = draw_doodle(LANDMARKS, person, np.random.default_rng(seed))
        assert doodle.mode == "L" and doodle.size == (256, 256)
        assert ink_near(doodle, right, radius) and ink_near(doodle, left, radius), seed


def test_hair_is_sometimes_drawn_and_sometimes_left_out():
    """Ink above the forehead comes only from hair (or the head outline): some doodles have it."""
    person = head_mask()
    forehead = int(LANDMARKS[10, 1]) - 6
    above = [
        float(
            (
                np.asarray(draw_doodle(LANDMARKS, person, np.random.default_rng(s)))[:forehead]
                < 160
            ).sum()
        )
        for s in range(30)
    ]
    assert sum(a > 150 for a in above) >= 8  # outlines, scribbles, strands, curls
    assert sum(a < 30 for a in above) >= 2  # bald, or an ellipse for a head


def test_alignment_puts_the_eyes_where_the_canvas_invites_them():
    for seed in range(20):
        matrix = alignment(LANDMARKS * 0.6 + [40, 10], np.random.default_rng(seed))
        moved = (LANDMARKS * 0.6 + [40, 10]) @ matrix[:, :2].T + matrix[:, 2]
        right, left = eye_centres(moved)
        distance = np.linalg.norm(left - right) / SIZE
        assert 0.21 * math.exp(-0.25) - 1e-6 <= distance <= 0.21 * math.exp(0.2) + 1e-6
        assert np.all(np.abs((right + left) / 2 - SIZE / 2) <= 0.06 * SIZE + 1e-6)
        tilt = math.degrees(math.atan2(left[1] - right[1], left[0] - right[0]))
        assert abs(tilt) <= 4 + 1e-6


def test_person_mask_keeps_only_the_person_whose_face_it_is():
    mask = head_mask().astype(np.float32)
    mask[10:60, 200:250] = 1.0  # somebody else, not touching the face's person
    kept = person_mask(mask, LANDMARKS)
    assert kept[10:60, 215:250].max() == 0
    nose = LANDMARKS[1].astype(int)
    assert kept[nose[1], nose[0]] == 1.0
    soft = person_mask(np.full_like(mask, 0.5), LANDMARKS)  # the selfie mask's doubtful middle
    assert 0 < soft[nose[1], nose[0]] < 1


def test_a_pair_is_aligned_and_the_background_is_paper():
    photo = Image.new("RGB", (256, 256), (20, 90, 40))  # a green background
    hair = Image.fromarray(head_mask().astype(np.uint8) * 255)
    photo.paste((90, 60, 40), mask=hair)  # the person: brown hair, shoulders
    ImageDraw.Draw(photo).polygon([tuple(p) for p in LANDMARKS[FACE_OVAL]], fill=(200, 150, 120))
    detection = Detection(LANDMARKS, head_mask().astype(np.float32))
    pair = make_pair(photo, detection, np.random.default_rng(0))
    doodle, aligned, eyes = pair.doodle, pair.photo, pair.eyes
    assert doodle.size == aligned.size == (SIZE, SIZE) and aligned.mode == "RGB"
    assert eyes.shape == (2, 2) and eyes[0, 0] < eyes[1, 0]  # the image-left eye first
    assert (
        0.21 * math.exp(-0.25) <= np.linalg.norm(eyes[1] - eyes[0]) / SIZE <= 0.21 * math.exp(0.2)
    )
    assert all(ink_near(doodle, eye, 6) for eye in eyes)  # the doodle's eyes are where it says
    pixels = np.asarray(aligned).reshape(-1, 3).astype(int)
    green = np.all(np.abs(pixels - (20, 90, 40)) < 30, axis=1)
    assert green.mean() < 0.01  # the background became white, not left as it was
    assert (pixels.min(axis=1) > 245).mean() > 0.2
    assert np.any(np.all(np.abs(pixels - (200, 150, 120)) < 20, axis=1))  # the face is kept
    # What a later doodle is drawn from: the landmarks and the person, in the square's pixels.
    assert np.allclose(pair.points[[33, 263]].mean(0), eyes.mean(0), atol=6)
    assert pair.person.shape == (SIZE, SIZE) and pair.person[int(eyes[0, 1]), int(eyes[0, 0])]
    assert not pair.person[0, 0]


class FakeDetector:
    """Finds the fixture's face in photos whose name says 'face', none in the others."""

    calls = 0

    def __call__(self, photo: Image.Image) -> Detection | str:
        FakeDetector.calls += 1
        if photo.size == (256, 256) and photo.getpixel((0, 0)) == (1, 2, 3):
            return "no face found"
        return Detection(LANDMARKS, head_mask().astype(np.float32))


@pytest.fixture
def photo_folder(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for person in ("Ada_Lovelace", "Alan_Turing", "Grace_Hopper", "Edsger_Dijkstra"):
        for n in (1, 2):
            Image.new("RGB", (256, 256), (200, 180, 160)).save(folder / f"{person}_{n:04d}.jpg")
    Image.new("RGB", (256, 256), (1, 2, 3)).save(folder / "Nobody_0001.png")
    (folder / "Broken_0001.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    return folder


def test_the_command_writes_pairs_skips_and_counts_and_caches(
    photo_folder, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(faces, "Detector", FakeDetector)
    FakeDetector.calls = 0
    out = tmp_path / "pairs"
    assert faces.main([str(photo_folder), "-o", str(out), "--val-share", "0.5"]) == 0
    summary = json.loads((out / "faces.json").read_text())
    assert summary["skipped"] == {"no face found": 1, "unreadable (UnidentifiedImageError)": 1}
    written = {
        split: sorted(p.stem for p in (out / split / "photos").iterdir())
        for split in ("train", "val")
    }
    assert sum(map(len, written.values())) == 8
    for split in ("train", "val"):
        sketches = sorted(p.stem for p in (out / split / "sketches").iterdir())
        assert sketches == written[split]  # the same-name layout the trainer reads
    for split in ("train", "val"):  # where each pair's eyes are, for train.framer
        eyes = json.loads((out / split / faces.EYES_FILE).read_text())
        assert sorted(eyes) == written[split]
        assert all(np.array(points).shape == (2, 2) for points in eyes.values())
    people = {split: {faces.identity(out / n) for n in names} for split, names in written.items()}
    assert not people["train"] & people["val"]  # a person is never on both sides
    assert "wrote" in capsys.readouterr().out

    calls = FakeDetector.calls
    assert faces.main([str(photo_folder), "-o", str(out), "--val-share", "0.5"]) == 0
    assert FakeDetector.calls == calls  # every detection came from the cache


def test_the_trainer_reads_what_the_command_writes(photo_folder, tmp_path, monkeypatch):
    from train.data import find_pairs

    monkeypatch.setattr(faces, "Detector", FakeDetector)
    out = tmp_path / "pairs"
    faces.main([str(photo_folder), "-o", str(out), "--val-share", "0"])
    # "auto" reads the faces layout (a fresh doodle from the landmarks every epoch)...
    pairs = find_pairs(out, "auto", split="train")
    assert len(pairs) == 8 and all(p.sketch is None and p.face is not None for p in pairs)
    names = [str(n) for n in np.load(out / "train" / "shapes.npz")["names"]]
    assert [p.photo.stem for p in pairs] == names
    # ...and the stored doodles are there for the plain folders layout.
    stored = find_pairs(out, "folders", split="train")
    assert len(stored) == 8 and all(p.sketch.stem == p.photo.stem for p in stored)


def test_a_missing_folder_is_a_sentence(tmp_path, capsys):
    assert faces.main([str(tmp_path / "nothing"), "-o", str(tmp_path / "out")]) == 2
    assert "is not a folder of photos" in capsys.readouterr().err
