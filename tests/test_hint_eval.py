"""benchmarks/hint_eval.py: the colour errors, the done-when check and the whole run on a tiny set."""

import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from benchmarks.hint_eval import (
    DOODLES,
    GRID,
    RING,
    check_pen,
    colour_errors,
    load_model,
    main,
    pen_drawing,
)
from pix2pix.hints import PALETTE, split_drawing
from tests.conftest import face_sketch, small_generator
from train.config import TrainConfig


def test_colour_errors_on_the_hints_and_the_ring_around_them():
    true = np.full((64, 64, 3), 0.5)
    mask = np.zeros((64, 64), bool)
    mask[20:30, 20:30] = True
    inside = np.ones((64, 64), bool)
    assert colour_errors(true, true, mask, inside) == (0.0, 0.0)
    wrong_hint = true.copy()
    wrong_hint[mask] = (0.9, 0.1, 0.1)
    hinted, ring = colour_errors(wrong_hint, true, mask, inside)
    assert hinted > 30 and ring == 0.0
    smeared = true.copy()
    smeared[20 - RING : 30 + RING, 20 - RING : 30 + RING] = (0.9, 0.1, 0.1)
    smeared[mask] = 0.5
    hinted, ring = colour_errors(smeared, true, mask, inside)
    assert hinted == 0.0 and ring > 30
    outside = np.zeros((64, 64), bool)
    outside[:, :25] = True  # a ring pixel in the padding does not count
    assert colour_errors(smeared, true, mask, outside)[1] > 30


class PaintingModel:
    """Stands in for a Translator: a fixed grey-brown face photo, with the hint colours painted on
    where a drawing has them when `follows` (an ideal hint model), else ignoring them."""

    def __init__(self, follows: bool):
        self.follows = follows

    def translate_batch(self, drawings):
        photos = []
        for drawing in drawings:
            photo = np.full((*drawing.size[::-1], 3), (120, 100, 90), np.uint8)
            _, colours, mask = split_drawing(drawing)
            if self.follows:
                photo[mask] = colours[mask]
            photos.append(Image.fromarray(photo))
        return photos


def test_done_when_check_tells_a_model_that_follows_hints_from_one_that_does_not():
    doodle = Image.open(DOODLES[0])
    passed = check_pen(PaintingModel(follows=True), doodle)
    assert passed["passed"], passed
    failed = check_pen(PaintingModel(follows=False), doodle)
    assert not failed["passed"], failed
    # Brown is within 20 degrees of red's hue: the saturation is what tells them apart.
    assert not failed["checks"]["red hair saturation"]
    assert not failed["checks"]["skin light vs dark"]


def test_pen_drawings_are_one_colour_image_whose_hints_are_the_palette_colours():
    doodle = Image.open(DOODLES[0])
    for name, pen in GRID.items():
        drawing = (
            pen_drawing(doodle) if pen is None else pen_drawing(doodle, PALETTE[pen[0]], pen[1])
        )
        assert drawing.mode == "RGB" and drawing.size == (256, 256)
        _, colours, mask = split_drawing(drawing)
        if pen is None:
            assert not mask.any()
        else:
            assert mask.sum() > 500, name
            assert (colours[mask] == PALETTE[pen[0]]).all(), name


def test_a_run_folder_loads_the_generator_of_a_training_run(tmp_path):
    generator = small_generator(ngf=4, in_channels=5)
    TrainConfig(ngf=4, hints=True).save(tmp_path / "args.json")
    torch.save({"generator": generator.state_dict(), "step": 3}, tmp_path / "state.pt")
    loaded = load_model(None, str(tmp_path))
    assert (loaded.in_channels, loaded.ngf) == (5, 4)
    x = torch.rand(1, 5, 256, 256)
    with torch.no_grad():
        assert torch.equal(loaded(x), generator(x))


@pytest.fixture
def tiny_data(tmp_path):
    """Three held-out pairs: face doodles and made-up photos of a face with hair and a shirt."""
    for folder in ("sketches", "photos"):
        (tmp_path / "data" / "val" / folder).mkdir(parents=True)
    for i in range(3):
        face_sketch(shift=8 * i).save(tmp_path / "data" / "val" / "sketches" / f"p{i}.png")
        photo = Image.new("RGB", (256, 256), "white")
        draw = ImageDraw.Draw(photo)
        draw.ellipse([50 + 8 * i, 25, 206 + 8 * i, 120], fill=(90 + 40 * i, 60, 30))
        draw.ellipse([60 + 8 * i, 40, 196 + 8 * i, 220], fill=(220, 170, 140))
        draw.rectangle([40, 225, 216, 256], fill=(40, 60, 150))
        photo.save(tmp_path / "data" / "val" / "photos" / f"p{i}.png")
    return tmp_path / "data"


def test_the_whole_run_writes_scores_grid_and_check(tmp_path, tiny_data, capsys):
    model = tmp_path / "model"
    small_generator(ngf=4, in_channels=5).save_pretrained(model)
    baseline = tmp_path / "baseline"
    small_generator(ngf=4).save_pretrained(baseline)
    out = tmp_path / "out"
    argv = ["--model", str(model), "--data", str(tiny_data), "--baseline", str(baseline)]
    assert main([*argv, "--limit", "2", "--doodles", str(DOODLES[0]), "--out", str(out)]) == 0
    report = json.loads((out / "metrics.json").read_text())
    (result,) = report["data"].values()
    assert result["pairs"] == 2
    for key in (
        "ciede2000_hinted_no_hints",
        "ciede2000_ring_hints",
        "psnr_hints",
        "fsim_gray_baseline",
    ):
        assert np.isfinite(result[key]) and result[key] > 0, key
    assert (
        result["ciede2000_hinted_hints"] != result["ciede2000_hinted_no_hints"]
    )  # hints were used
    assert isinstance(report["pen_check"]["passed"], bool)
    assert Image.open(out / "grid.png").size == (256 * len(GRID), 16 + 2 * 256)
    printed = capsys.readouterr().out
    assert "CIEDE2000 on the hints" in printed and "pen check" in printed


def test_a_sketch_only_model_is_refused(tmp_path, capsys):
    small_generator(ngf=4).save_pretrained(tmp_path / "model")
    assert main(["--model", str(tmp_path / "model"), "--data", str(tmp_path)]) == 2
    assert "not hints" in capsys.readouterr().err
