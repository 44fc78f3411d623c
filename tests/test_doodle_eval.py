"""The doodle evaluation's own parts: the drawn doodles, NME, spread, and how models are run.

The face judges (mediapipe, OpenCV) are an optional extra and are not needed here.
"""

import numpy as np
import pytest
import torch
from PIL import Image

from benchmarks.doodle_eval import nme, spread, translate
from benchmarks.drawn_doodles import COUNT, OPTIONS, draw_eval_doodle, eval_doodles, styles
from pix2pix import Translator
from tests.conftest import small_generator
from train.config import TrainConfig
from train.state import generator_of_run


@pytest.fixture(scope="module")
def doodles():
    return eval_doodles()


def test_36_distinct_doodles_on_a_white_512_canvas(doodles):
    assert len(doodles) == COUNT == 36
    assert len({d.name for d in doodles}) == 36
    assert len({d.image.tobytes() for d in doodles}) == 36
    for d in doodles:
        assert d.image.mode == "L" and d.image.size == (512, 512)
        ink = np.asarray(d.image) < 128
        assert 0.005 < ink.mean() < 0.3, d.name  # a line drawing, not a blank or a blot


def test_doodles_are_the_same_every_time(doodles):
    again = draw_eval_doodle(doodles[7].style, 7)
    assert again.image.tobytes() == doodles[7].image.tobytes()
    np.testing.assert_array_equal(again.points, doodles[7].points)
    other_seed = draw_eval_doodle(doodles[7].style, 8)
    assert other_seed.image.tobytes() != doodles[7].image.tobytes()


def test_every_option_is_dealt_out_evenly():
    dealt = styles()
    for part, options in OPTIONS.items():
        counts = [sum(getattr(s, part) == option for s in dealt) for option in options]
        assert min(counts) >= COUNT // len(options) - 1, (part, counts)
    assert sum(s.glasses for s in dealt) == sum(s.beard for s in dealt) == COUNT // 4
    assert len(set(dealt)) == COUNT  # no two doodles share every choice


def test_recorded_face_parts_are_where_the_ink_is(doodles):
    for d in doodles:
        left_eye, right_eye, nose, mouth = d.points
        eye_distance = np.linalg.norm(right_eye - left_eye)
        assert left_eye[0] < right_eye[0] and abs(left_eye[1] - right_eye[1]) < 1
        assert max(left_eye[1], right_eye[1]) < nose[1] < mouth[1], d.name
        assert abs(nose[0] - (left_eye[0] + right_eye[0]) / 2) < 0.1 * eye_distance
        assert 0.1 * 512 < eye_distance < 0.35 * 512, d.name
        ink = np.argwhere(np.asarray(d.image) < 128)[:, ::-1]  # (x, y)
        for point in d.points:
            nearest = np.linalg.norm(ink - point, axis=1).min()
            assert nearest < 0.1 * eye_distance, (d.name, point)


def test_small_large_and_shifted_faces_are_where_they_say(doodles):
    distance = {d.name: np.linalg.norm(d.points[1] - d.points[0]) / d.image.width for d in doodles}
    by_place = {place: [d for d in doodles if d.style.place == place] for place in OPTIONS["place"]}
    small = np.mean([distance[d.name] for d in by_place["small"]])
    large = np.mean([distance[d.name] for d in by_place["large"]])
    assert 1.4 < large / small < 2.0
    for d in by_place["centre"]:
        assert abs(d.points[:2].mean(0)[0] / 512 - 0.5) < 0.02
    off = [abs(d.points[:2].mean(0) / 512 - [0.5, 0.5]).max() for d in by_place["shifted"]]
    assert max(off) > 0.08


def test_nme_is_the_mean_distance_over_the_drawn_eye_distance():
    drawn = np.array([[100.0, 100], [200, 100], [150, 150], [150, 190]])
    assert nme(drawn, drawn) == 0
    assert nme(drawn + np.array([25, 0]), drawn) == pytest.approx(0.25)
    bigger = drawn * 2 - drawn.mean(0)  # twice the size: still over the drawn eye distance
    assert nme(bigger, drawn) == pytest.approx(
        np.linalg.norm(drawn - drawn.mean(0), axis=1).mean() / 100
    )
    assert nme(None, drawn) == float("inf")
    assert nme(drawn, None) == float("inf")


def test_spread_is_the_mean_l1_between_different_pictures():
    white, black = Image.new("RGB", (8, 8), "white"), Image.new("L", (8, 8), 0)
    assert spread([white, white]) == 0
    assert spread([white, white, black]) == pytest.approx(2 / 3)


def test_a_hint_model_in_a_run_folder_answers_with_no_hints(tmp_path, doodles):
    """A 1-channel model widened to 5 with zero weights makes the same photos, which it does only
    when the hint channels are fed as zeros; a run's generator is built as its args.json says, and
    its weight average is what is looked at when the run keeps one."""
    narrow = small_generator(ngf=8)
    wide = narrow.widened(5)
    TrainConfig(ngf=8, hints=True, ema=0.9).save(tmp_path / "args.json")
    noise = {k: v + 1 for k, v in wide.state_dict().items()}  # the last step's own weights
    torch.save({"generator": noise, "ema": wide.state_dict(), "step": 1}, tmp_path / "state.pt")
    loaded = generator_of_run(tmp_path)
    assert (loaded.in_channels, loaded.ngf) == (5, 8)
    assert all(torch.equal(v, wide.state_dict()[k]) for k, v in loaded.state_dict().items())

    sketches = [d.image.resize((256, 256), Image.Resampling.LANCZOS) for d in doodles[:2]]
    photos = translate(Translator(loaded, device="cpu", dtype=torch.float32), sketches)
    assert [p.size for p in photos] == [(256, 256)] * 2 and photos[0].mode == "RGB"
    expected = translate(Translator(narrow, device="cpu", dtype=torch.float32), sketches)
    for photo, same in zip(photos, expected, strict=True):
        assert np.abs(np.asarray(photo, int) - np.asarray(same, int)).max() <= 1
    assert photos[0].tobytes() != photos[1].tobytes()
