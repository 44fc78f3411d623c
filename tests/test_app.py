"""The demo's server, driven through its API with gradio_client as a Space's API user would, and
with a plain HTTP client as anyone on the internet can."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file

import app
import serving
from app import EXAMPLES, Models, build_demo, describe, parse_args, read_canvas
from pix2pix import Translator, UNetGenerator
from pix2pix.hints import PALETTE
from tests.conftest import face_sketch, small_generator
from tests.conftest_app import as_sent, decode

pytest_plugins = ["tests.conftest_app"]  # the app_demo and app_url fixtures


@pytest.fixture(scope="module")
def client(app_url) -> Client:
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def translator(model_dir) -> Translator:
    """What the server runs, built here to say which photo each sketch must give."""
    return Translator(str(model_dir))


def pixels(photo: str) -> np.ndarray:
    """The pixels of a photo as /translate returns it: a JPEG data URL."""
    assert photo.startswith("data:image/jpeg;base64,")
    return decode(photo)


def data_url(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def test_canvas_dict_in_photo_out(client, translator):
    canvas = {"background": None, "layers": [], "composite": handle_file(EXAMPLES[0])}
    photo = pixels(client.predict(canvas, api_name="/translate"))
    assert photo.shape == (256, 256, 3)
    np.testing.assert_array_equal(photo, as_sent(translator.translate(EXAMPLES[0])))


def test_what_the_page_sends(client, translator):
    """The canvas sends a PNG data URL, and "" when it is blank (then there is no photo)."""
    photo = client.predict(data_url(EXAMPLES[1]), api_name="/translate")
    np.testing.assert_array_equal(pixels(photo), as_sent(translator.translate(EXAMPLES[1])))
    assert client.predict("", api_name="/translate") is None


def test_bad_upload_is_a_sentence_and_the_server_keeps_serving(client, tmp_path):
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("a shopping list, not a drawing")
    with pytest.raises(Exception, match="not an image that can be read"):
        client.predict(handle_file(not_an_image), api_name="/translate")
    with pytest.raises(Exception, match="not valid base64"):
        client.predict("data:image/png;base64,@@@", api_name="/translate")
    assert pixels(client.predict(handle_file(EXAMPLES[0]), api_name="/translate")).shape[:2] == (
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
        np.testing.assert_array_equal(pixels(photo), as_sent(translator.translate(sketch)))


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
    expected = {
        sketch: as_sent(translator.translate(sketch)).astype(int) for sketch in EXAMPLES[:3]
    }
    for sketch, photo in zip(sketches[:-1], photos, strict=False):
        # A batch of another size may round a pixel the other way (bf16 convolutions on some CPUs),
        # which the JPEG spreads over its 8x8 block: the photo is its sketch's, give or take that.
        distance = {other: np.abs(pixels(photo) - e).mean() for other, e in expected.items()}
        assert distance[sketch] < 0.5 and min(distance, key=distance.get) == sketch
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


def test_a_listed_model_is_used(client, listed_model_dir):
    expected = as_sent(Translator(str(listed_model_dir)).translate(EXAMPLES[0]))
    photo = client.predict(
        handle_file(EXAMPLES[0]), model=str(listed_model_dir), api_name="/translate"
    )
    np.testing.assert_array_equal(pixels(photo), expected)
    assert not np.array_equal(
        pixels(client.predict(handle_file(EXAMPLES[0]), api_name="/translate")), expected
    )


def call(url: str, *data) -> tuple[str, object]:
    """/translate through Gradio's plain HTTP API, as curl would: (event, data) of its result."""
    with httpx.Client(base_url=url, timeout=60) as http:
        posted = http.post("gradio_api/call/translate", json={"data": list(data)})
        posted.raise_for_status()
        answer = http.get(f"gradio_api/call/translate/{posted.json()['event_id']}").text
    event = answer.split("event: ")[-1].split("\n")[0]
    return event, json.loads(answer.split("data: ")[-1].split("\n")[0])


@pytest.fixture
def nothing_loads(monkeypatch):
    """Fail the test if a model is opened or anything is asked of the Hub."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a model was loaded: {args}")

    monkeypatch.setattr(app.Models, "load", staticmethod(refuse))
    monkeypatch.setattr("pix2pix.checkpoint.hf_hub_download", refuse)
    monkeypatch.setattr("pix2pix.checkpoint.model_info", refuse)


def test_unlisted_models_are_refused_with_one_sentence(app_url, tmp_path, nothing_loads):
    """What a visitor sends as `model` opens nothing and tells nothing about the server's files."""
    sketch = "data:image/png;base64," + base64.b64encode(EXAMPLES[0].read_bytes()).decode()
    folder = tmp_path / "model"
    small_generator(ngf=4).save_pretrained(folder)  # a real model folder, just not a listed one
    answers = {
        name: call(app_url, sketch, name, False, 0)
        for name in ["/etc", "/nonexistent-dir", str(folder), "openai-community/gpt2", "../x"]
    }
    assert len(set(json.dumps(a) for a in answers.values())) == 1
    event, data = answers["/etc"]
    assert event == "error" and data["error"].startswith("Unknown model: this server runs only")
    assert call(app_url, sketch, "", False, 0)[0] == "complete"  # the server keeps serving


def test_the_listed_models_are_the_dropdowns_choices(model_dir, listed_model_dir):
    models = Models(str(model_dir), [str(listed_model_dir), str(model_dir)])
    assert [name for _, name in models.choices()] == ["", str(listed_model_dir)]
    assert all("Sketch → photo · 256×256" in label for label, _ in models.choices())


def test_listed_models_move_to_onnxruntime_and_a_failure_keeps_torch(
    model_dir, listed_model_dir, monkeypatch, capsys
):
    models = Models(str(model_dir), [str(listed_model_dir)])
    sketch = face_sketch()
    before = np.asarray(models.default.translate(sketch), dtype=float)
    models.move_to_onnxruntime()
    assert [models.get(name).runtime for name in ("", str(listed_model_dir))] == ["onnxruntime"] * 2
    after = np.asarray(models.default.translate(sketch), dtype=float)
    assert np.abs(after - before).mean() < 0.02 * 255  # the torch path's bf16 tolerance

    def broken(*args, **kwargs):
        raise RuntimeError("no exporter today")

    monkeypatch.setattr("pix2pix.translate.onnx_session", broken)
    models = Models(str(model_dir))
    models.move_to_onnxruntime()
    assert models.default.runtime == "torch"
    assert "stays on torch: onnxruntime failed (no exporter today)" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="no exporter today"):
        models.move_to_onnxruntime(strict=True)  # --runtime onnxruntime: the app stops


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    """The Hub, played by a local folder: model_info answers with `sizes`, downloads come from it."""
    small_generator(ngf=4).save_pretrained(tmp_path)
    hub = SimpleNamespace(sizes={}, downloads=[], lookups=[])

    def model_info(repo_id, files_metadata, token=None):
        hub.lookups.append(repo_id)
        siblings = [SimpleNamespace(rfilename=n, size=size) for n, size in hub.sizes.items()]
        return SimpleNamespace(sha="c0ffee", siblings=siblings)

    def download(repo_id, filename, **kwargs):
        hub.downloads.append((repo_id, filename, kwargs.get("revision")))
        return str(tmp_path / filename)

    monkeypatch.setattr("pix2pix.checkpoint.model_info", model_info)
    monkeypatch.setattr("pix2pix.checkpoint.hf_hub_download", download)
    return hub


def test_any_model_may_be_typed_in_only_when_allowed(model_dir, tmp_path, fake_hub):
    folder = tmp_path / "typed"
    small_generator(ngf=4).save_pretrained(folder)
    with pytest.raises(ValueError, match="Unknown model"):
        Models(str(model_dir)).get(str(folder))
    models = Models(str(model_dir), allow_any=True)
    assert models.get(str(folder)).size == 256
    with pytest.raises(ValueError, match="is not a model folder"):
        models.get(str(tmp_path / "nowhere"))  # on your own machine, the plain truth
    assert fake_hub.lookups == [] and fake_hub.downloads == []


def test_a_hub_repo_is_checked_before_download(model_dir, monkeypatch, fake_hub):
    monkeypatch.setattr(serving, "MAX_HUB_MODEL_BYTES", 1000)
    models = Models(str(model_dir), allow_any=True)
    fake_hub.sizes = {"config.json": 100, "README.md": 10**9}
    with pytest.raises(ValueError, match=r"has no model\.safetensors"):
        models.get("someone/no-weights")
    fake_hub.sizes = {"config.json": 100, "model.safetensors": 901}
    with pytest.raises(ValueError, match="too large"):
        models.get("someone/big")
    assert fake_hub.downloads == []  # looked at, never fetched
    fake_hub.sizes = {"config.json": 100, "model.safetensors": 900}  # exactly the limit
    assert models.get("someone/small").generator.ngf == 4  # the fake Hub's model
    assert fake_hub.lookups == ["someone/no-weights", "someone/big", "someone/small"]
    assert fake_hub.downloads == [
        ("someone/small", "config.json", "c0ffee"),  # the commit that was checked
        ("someone/small", "model.safetensors", "c0ffee"),
    ]


def test_a_photo2sketch_model_turns_the_demo_around(tmp_path, serve):
    folder = tmp_path / "photo2sketch"
    UNetGenerator(in_channels=3, out_channels=1, ngf=4).save_pretrained(folder)
    assert describe(Translator(str(folder))).startswith("Photo → sketch")
    client = Client(serve(build_demo(Models(str(folder)))), verbose=False)
    sketch = pixels(client.predict(handle_file(EXAMPLES[0]), api_name="/translate"))
    assert sketch.ndim == 2  # a grey sketch came back


def test_typed_models_are_cached_and_the_least_recently_used_dropped(model_dir, tmp_path):
    folders = []
    for name in "abc":
        small_generator(ngf=4).save_pretrained(tmp_path / name)
        folders.append(str(tmp_path / name))
    models = Models(str(model_dir), allow_any=True, keep=2)
    a = models.get(folders[0])
    assert models.get(folders[0]) is a  # loaded once
    models.get(folders[1])
    models.get(folders[0])  # a is now the most recently used
    models.get(folders[2])  # so b goes
    assert list(models.typed) == [folders[0], folders[2]]
    assert models.get("") is models.default and models.get("  ") is models.default
    assert models.get(str(model_dir)) is models.default  # the default by its name too


@pytest.mark.parametrize(
    ("environ", "argv", "allowed"),
    [
        ({}, [], False),
        ({}, ["--allow-any-model"], True),
        ({"SPACE_ID": "someone/sketch2photo"}, ["--allow-any-model"], False),
        ({}, ["--allow-any-model", "--share"], False),
        ({"SKETCH2PHOTO_ARGS": "--allow-any-model --models a b"}, [], True),
    ],
)
def test_any_model_is_off_unless_asked_for_and_never_in_public(monkeypatch, environ, argv, allowed):
    for name in ("SPACE_ID", "SKETCH2PHOTO_ARGS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    args = parse_args(argv)
    assert args.allow_any_model is allowed
    assert args.models == (["a", "b"] if "SKETCH2PHOTO_ARGS" in environ else [])


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_a_photo_is_sent_as_a_jpeg_close_to_its_pixels_and_smaller_than_its_png(mode):
    photo = Translator().translate(EXAMPLES[0]).convert(mode)  # the bundled model: a real photo
    url = app.photo_data_url(photo)
    assert url.startswith("data:image/jpeg;base64,")
    sent = decode(url).astype(int)
    assert sent.shape == np.asarray(photo).shape
    assert np.abs(sent - np.asarray(photo)).mean() < 1.5
    assert len(url) < len(app.as_data_url(photo))


def test_photos_come_inline_and_leave_no_file(app_demo, client):
    """Each photo is a data URL in the answer: nothing is written to Gradio's cache per stroke."""
    files = sum(len(files) for files in app_demo.temp_file_sets)
    for i in range(3):
        photo = client.predict(data_url(EXAMPLES[i]), api_name="/translate")
        assert photo.startswith("data:image/jpeg;base64,")
    assert sum(len(files) for files in app_demo.temp_file_sets) == files


def test_oversized_requests_are_refused_unread(app_url):
    with httpx.Client(base_url=app_url, timeout=60) as http:
        sketch = "data:image/png;base64," + "A" * serving.MAX_BODY_BYTES
        answer = http.post("gradio_api/call/translate", json={"data": [sketch, "", False, 0]})
        assert answer.status_code == 413 and "send a big image as a file" in answer.text
        chunked = http.post(
            "gradio_api/call/translate",
            content=iter([b'{"data": ["', b"A" * serving.MAX_BODY_BYTES]),
        )
        assert chunked.status_code != 200
        upload = http.post(
            "gradio_api/upload",
            files={"files": ("big.png", b"\0" * (serving.MAX_UPLOAD_BYTES + 1), "image/png")},
        )
        assert upload.status_code == 413
        small = http.post(
            "gradio_api/upload", files={"files": ("doodle.png", EXAMPLES[0].read_bytes())}
        )
        assert small.status_code == 200
    assert call(app_url, data_url(EXAMPLES[0]), "", False, 0)[0] == "complete"


def test_sessions_kept_in_memory_are_bounded(model_dir, serve, monkeypatch):
    """Every plain API call is a session of its own; Gradio keeps only the last SESSIONS."""
    monkeypatch.setattr(serving, "SESSIONS", 5)
    demo = build_demo(Models(str(model_dir)))
    url = serve(demo)
    for _ in range(12):
        assert call(url, "", "", False, 0)[0] == "complete"
    assert len(demo.server_app.state_holder.session_data) == 5


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


def sketch_component(demo):
    return next(block for block in demo.blocks.values() if block.elem_id == "sketch")


def test_the_colour_pen_offers_the_palette_only_to_hint_models(model_dir):
    """The canvas gets a swatch per colour of pix2pix.hints.PALETTE; its colours show (no "no-hints"
    class) for the bundled hint model and are hidden for a sketch-only model, chosen or default."""
    hint_demo = build_demo(Models(None, [str(model_dir)]))
    sketch = sketch_component(hint_demo)
    assert sketch.elem_classes == []
    for name, (r, g, b) in PALETTE.items():
        assert f'data-colour="#{r:02x}{g:02x}{b:02x}" title="{name}"' in sketch.props["swatches"]
    assert sketch_component(build_demo(Models(str(model_dir)))).elem_classes == ["no-hints"]

    load_model = next(fn.fn for fn in hint_demo.fns.values() if fn.name == "load_model")
    *_, canvas = load_model(str(model_dir))
    assert canvas.elem_classes == ["no-hints"]
    *_, canvas = load_model("")
    assert canvas.elem_classes == []


def test_live_fps_is_an_option_and_reaches_the_canvas(model_dir):
    assert parse_args([]).runtime == "auto"
    assert parse_args(["--runtime", "torch"]).runtime == "torch"
    assert parse_args([]).live_fps == app.LIVE_FPS
    assert parse_args(["--live-fps", "4"]).live_fps == 4
    demo = build_demo(Models(str(model_dir)), live_fps=2.5)
    canvas = next(block for block in demo.blocks.values() if block.elem_id == "sketch")
    assert (
        canvas.props["live_fps"] == "2.5" and 'data-live-fps="${live_fps}"' in canvas.html_template
    )
    with pytest.raises(ValueError, match="live_fps"):
        build_demo(Models(str(model_dir)), live_fps=-1)
