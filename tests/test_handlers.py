"""The page's handlers as plain functions: no Gradio server, no browser."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from app import Models, as_data_url, canvas_picture, translate_requests
from tests.conftest import face_sketch
from tests.conftest_app import decode

pytest_plugins = ["tests.conftest_app"]  # listed_model_dir


@pytest.fixture(scope="module")
def models(model_dir, listed_model_dir) -> Models:
    return Models(str(model_dir), [str(listed_model_dir)])


def test_each_request_gets_its_photo_a_blank_none_and_a_bad_one_none(models, listed_model_dir):
    good = as_data_url(face_sketch())
    photos = translate_requests(
        models,
        [good, "", "data:image/png;base64,bm90IGFuIGltYWdl", good],
        ["", "", "", str(listed_model_dir)],
        [False] * 4,
        [0] * 4,
    )
    assert photos[1] is None and photos[2] is None  # blank canvas, unreadable sketch
    first, other = decode(photos[0]), decode(photos[3])
    assert first.shape == other.shape == (256, 256, 3)
    assert np.abs(first.astype(int) - other.astype(int)).mean() > 1  # the listed model's own photo


def test_a_request_that_cannot_be_served_is_a_sentence(models):
    with pytest.raises(ValueError, match="Unknown model"):
        translate_requests(models, [as_data_url(face_sketch())], ["/etc"], [False], [0])


def test_variation_with_a_seed_changes_the_photo_and_repeats_with_it(models):
    sketch = as_data_url(face_sketch())
    plain, seven, again = (
        decode(translate_requests(models, [sketch], [""], [noisy], [7])[0])
        for noisy in (False, True, True)
    )
    assert np.array_equal(seven, again) and not np.array_equal(plain, seven)


def test_an_upload_lands_on_the_canvas_grey_and_with_its_levels_stretched(models, tmp_path):
    dim = Image.new("RGB", (300, 150), (120, 110, 100))  # paper photographed in a dim room
    dim.paste((40, 35, 30), (100, 50, 200, 100))  # a dark stroke
    dim.save(tmp_path / "drawing.jpg")
    url = canvas_picture(models, str(tmp_path / "drawing.jpg"), "")
    picture = Image.open(io.BytesIO(base64.b64decode(url.partition(",")[2])))
    assert picture.size == (512, 512) and picture.mode == "L"
    pixels = np.asarray(picture)
    assert pixels[256, 50] >= 250 and pixels[256, 256] <= 5  # the paper white, the stroke black
    assert pixels[10, 256] == 255  # the padding above the landscape picture: white
    with pytest.raises(ValueError):
        canvas_picture(models, str(tmp_path / "missing.png"), "")
