"""Fixtures for the app's tests (test_app.py and test_browser.py load them with pytest_plugins):
the demo served in this process on a free port, with the small generator of tests/conftest.py."""

from __future__ import annotations

import socket

import gradio as gr
import pytest

from app import Models, build_demo

# Debian's Chromium, as the project's machines run it (Playwright cannot download its own here).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(demo: gr.Blocks) -> str:
    """Serve `demo` on a free local port without blocking; its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def app_url(model_dir) -> str:
    demo = build_demo(Models(str(model_dir)))
    yield launch(demo)
    demo.close()


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
