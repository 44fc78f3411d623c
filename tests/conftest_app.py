"""Fixtures for the app's tests (test_app.py and test_browser.py load them with pytest_plugins):
the demo served in this process on a free port, with the small generators of tests/conftest.py:
the default model and one more listed model a visitor may choose."""

from __future__ import annotations

import base64
import io
import socket
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image

import app
from app import Models, build_demo
from tests.conftest import small_generator


def decode(data_url: str) -> np.ndarray:
    """The pixels of an image data URL (a sketch the page sent, a photo the app returned)."""
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.partition(",")[2]))))


def as_sent(photo: Image.Image) -> np.ndarray:
    """The pixels a page or an API client gets for `photo`: app.photo_data_url's JPEG, decoded."""
    return decode(app.photo_data_url(photo))


def launch(demo: gr.Blocks) -> str:
    """Serve `demo` on a free local port without blocking, as app.py does; its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.serve(demo, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="session")
def listed_model_dir(tmp_path_factory) -> Path:
    """A second model the test app lists (other weights than model_dir, so other photos)."""
    folder = tmp_path_factory.mktemp("listed")
    small_generator(ngf=4, seed=1).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def app_demo(model_dir, listed_model_dir) -> gr.Blocks:
    """The demo as `python app.py --model model_dir --models listed_model_dir` serves it."""
    demo = build_demo(Models(str(model_dir), [str(listed_model_dir)]))
    launch(demo)
    yield demo
    demo.close()


@pytest.fixture(scope="module")
def app_url(app_demo) -> str:
    return app_demo.local_url


@pytest.fixture
def serve():
    """serve(demo) -> URL, for a test that needs an app of its own; closed after the test."""
    demos = []

    def serve_demo(demo: gr.Blocks) -> str:
        demos.append(demo)
        return launch(demo)

    yield serve_demo
    for demo in demos:
        demo.close()
