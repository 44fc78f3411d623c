"""Fixtures for the app's tests (imported by test_app.py and test_browser.py): the demo served in
this process on a free port, with the small generator of tests/conftest.py."""

from __future__ import annotations

import socket

import pytest

from app import Models, build_demo


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(model_dir) -> str:
    demo = build_demo(Models(str(model_dir)))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()
