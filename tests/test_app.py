"""The demo's server, driven through its API with gradio_client as a Space's API user would."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from app import EXAMPLES, Models, build_demo, describe, read_canvas
from pix2pix import Translator, UNetGenerator
from tests.conftest import small_generator

pytest_plugins = ["tests.conftest_app"]  # the app_url fixture


@pytest.fixture(scope="module")
def client(app_url) -> Client:
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def translator(model_dir) -> Translator:
    """What the server runs, built here to say which photo each sketch must give."""
    return Translator(str(model_dir))


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def data_url(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def test_canvas_dict_in_photo_out(client, translator):
    canvas = {"background": None, "layers": [], "composite": handle_file(EXAMPLES[0])}
    photo = client.predict(canvas, api_name="/translate")
    assert Image.open(photo).size == (256, 256) and Image.open(photo).mode == "RGB"
    np.testing.assert_array_equal(pixels(photo), np.asarray(translator.translate(EXAMPLES[0])))


def test_what_the_page_sends(client, translator):
    """The canvas sends a PNG data URL, and "" when it is blank (then there is no photo)."""
    photo = client.predict(data_url(EXAMPLES[1]), api_name="/translate")
    np.testing.assert_array_equal(pixels(photo), np.asarray(translator.translate(EXAMPLES[1])))
    assert client.predict("", api_name="/translate") is None


def test_bad_upload_is_a_sentence_and_the_server_keeps_serving(client, tmp_path):
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("a shopping list, not a drawing")
    with pytest.raises(Exception, match="not an image that can be read"):
        client.predict(handle_file(not_an_image), api_name="/translate")
    with pytest.raises(Exception, match="not valid base64"):
        client.predict("data:image/png;base64,@@@", api_name="/translate")
    assert Image.open(client.predict(handle_file(EXAMPLES[0]), api_name="/translate")).size == (
        256,
        256,
    )


def test_paths_from_a_client_are_never_read(client):
    """Only files Gradio checked were uploaded count; a bare path could name any server file."""
    with pytest.raises(Exception, match="Cannot read a sketch"):
        client.predict({"path": str(EXAMPLES[0])}, api_name="/translate")
    with pytest.raises(Exception, match="must be an image"):
        client.predict(str(EXAMPLES[0]), api_name="/translate")
    with pytest.raises(ValueError, match="Cannot read a sketch"):
        read_canvas({"background": None, "layers": [], "composite": {"path": str(EXAMPLES[0])}})


def test_eight_parallel_clients_each_get_the_photo_of_their_sketch(app_url, translator):
    sketches = [EXAMPLES[i % len(EXAMPLES)] for i in range(8)]

    def draw(sketch):
        return Client(app_url, verbose=False).predict(handle_file(sketch), api_name="/translate")

    with ThreadPoolExecutor(8) as pool:
        photos = list(pool.map(draw, sketches))
    for sketch, photo in zip(sketches, photos, strict=True):
        np.testing.assert_array_equal(pixels(photo), np.asarray(translator.translate(sketch)))


def test_batched_requests_each_get_their_photo_and_a_bad_one_fails_alone(
    model_dir, translator, serve, tmp_path
):
    """As on a GPU: requests that wait together run as one batch (here up to 8, on the CPU)."""
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("a shopping list, not a drawing")
    sketches = [EXAMPLES[i % 3] for i in range(7)] + [not_an_image]
    url = serve(build_demo(Models(str(model_dir)), max_batch=8))
    clients = [Client(url, verbose=False) for _ in sketches]

    def draw(job):
        client, sketch = job
        try:
            return client.predict(handle_file(sketch), api_name="/translate")
        except Exception as err:
            return err

    with ThreadPoolExecutor(len(sketches)) as pool:
        photos = list(pool.map(draw, zip(clients, sketches, strict=True)))
    for sketch, photo in zip(sketches[:-1], photos, strict=False):
        # bf16 kernels may round differently for a batch of 8 than for one image: a level or two.
        alone = np.asarray(translator.translate(sketch)).astype(int)
        assert np.abs(pixels(photo).astype(int) - alone).max() <= 2
    # Alone in its batch the bad sketch is an error; among others it gets no photo.
    assert photos[-1] is None or "not an image" in str(photos[-1])


def test_variation_gives_a_photo_per_seed(client):
    sketch = handle_file(EXAMPLES[2])
    plain = pixels(client.predict(sketch, api_name="/translate"))
    one = pixels(client.predict(sketch, variation=True, seed=1, api_name="/translate"))
    again = pixels(client.predict(sketch, variation=True, seed=1, api_name="/translate"))
    two = pixels(client.predict(sketch, variation=True, seed=2, api_name="/translate"))
    np.testing.assert_array_equal(one, again)
    assert not np.array_equal(one, two) and not np.array_equal(one, plain)


def test_a_model_typed_in_is_used(client, tmp_path):
    other = tmp_path / "other"
    small_generator(ngf=4, seed=1).save_pretrained(other)
    expected = np.asarray(Translator(str(other)).translate(EXAMPLES[0]))
    photo = client.predict(handle_file(EXAMPLES[0]), model=str(other), api_name="/translate")
    np.testing.assert_array_equal(pixels(photo), expected)
    with pytest.raises(Exception, match="is not a model folder"):
        client.predict(
            handle_file(EXAMPLES[0]), model=str(tmp_path / "nowhere"), api_name="/translate"
        )


def test_a_photo2sketch_model_turns_the_demo_around(client, tmp_path):
    folder = tmp_path / "photo2sketch"
    UNetGenerator(in_channels=3, out_channels=1, ngf=4).save_pretrained(folder)
    assert describe(Translator(str(folder))).startswith("Photo → sketch")
    sketch = client.predict(handle_file(EXAMPLES[0]), model=str(folder), api_name="/translate")
    assert Image.open(sketch).mode == "L"  # a grey sketch came back


def test_models_are_cached_and_the_least_recently_used_dropped(model_dir, tmp_path):
    folders = []
    for name in "abc":
        small_generator(ngf=4).save_pretrained(tmp_path / name)
        folders.append(str(tmp_path / name))
    models = Models(str(model_dir), keep=2)
    a = models.get(folders[0])
    assert models.get(folders[0]) is a  # loaded once
    models.get(folders[1])
    models.get(folders[0])  # a is now the most recently used
    models.get(folders[2])  # so b goes
    assert list(models.loaded) == [folders[0], folders[2]]
    assert models.get("") is models.default and models.get("  ") is models.default
    with pytest.raises(gr.Error):
        models.get(str(tmp_path / "nowhere"))


def test_no_bundled_model_is_a_clear_message(monkeypatch, tmp_path):
    """`python app.py` without a bundled model exits with the library's sentence, not a traceback."""
    import subprocess
    import sys

    import pix2pix.translate

    monkeypatch.setattr(pix2pix.translate, "DEFAULT_MODEL", tmp_path / "missing")
    with pytest.raises(ValueError, match="The bundled model is not at"):
        Models(None)
    repo = Path(__file__).resolve().parents[1]
    if (repo / "checkpoints" / "faces" / "model.safetensors").is_file():
        return  # the bundled model exists: the app would start, which the tests above cover
    result = subprocess.run(
        [sys.executable, str(repo / "app.py")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "The bundled model is not at" in result.stderr
    assert "Traceback" not in result.stderr
