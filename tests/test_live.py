"""The live route (live.py): the canvas's photos over one plain HTTP request each, beside Gradio's
queue; requests that arrive together are translated together, the waiting ones are bounded."""

from __future__ import annotations

import base64
import threading
import time

import httpx
import numpy as np
import pytest

from app import EXAMPLES
from live import LIVE_URL, LivePhotos, PhotoRequest
from pix2pix import Translator
from tests.conftest_app import as_sent, decode

pytest_plugins = ["tests.conftest_app"]  # the app_url and listed_model_dir fixtures

SKETCH = "data:image/png;base64," + base64.b64encode(EXAMPLES[0].read_bytes()).decode()


def post(app_url: str, body) -> httpx.Response:
    options = {"json": body} if not isinstance(body, bytes) else {"content": body}
    return httpx.post(app_url + LIVE_URL, timeout=60, **options)


def test_the_canvas_gets_the_photo_of_its_sketch(app_url, model_dir):
    answer = post(app_url, {"sketch": SKETCH})
    assert answer.status_code == 200
    expected = as_sent(Translator(str(model_dir)).translate(decode(SKETCH)))
    np.testing.assert_array_equal(decode(answer.json()["photo"]), expected)
    assert post(app_url, {"sketch": ""}).json() == {"photo": None}  # a blank canvas: no photo


def test_the_options_are_the_visitors_among_what_the_operator_listed(app_url, listed_model_dir):
    listed = post(app_url, {"sketch": SKETCH, "model": str(listed_model_dir)}).json()["photo"]
    expected = as_sent(Translator(str(listed_model_dir)).translate(decode(SKETCH)))
    np.testing.assert_array_equal(decode(listed), expected)
    unlisted = post(app_url, {"sketch": SKETCH, "model": "/etc"})
    assert unlisted.status_code == 400 and "Unknown model" in unlisted.json()["error"]
    seeds = [
        post(app_url, {"sketch": SKETCH, "variation": True, "seed": seed}).json()["photo"]
        for seed in (1, 1, 2)
    ]
    assert seeds[0] == seeds[1] != seeds[2]  # a seed is a photo; another seed, another photo


@pytest.mark.parametrize(
    "body, says",
    [
        (b"not json", "Send JSON"),
        ({"sketch": 3}, "Send JSON"),
        ({"sketch": "data:image/png;base64,AAAA"}, "not an image"),
        ({"sketch": "hello"}, "must be an image"),
        ({"sketch": SKETCH, "seed": -1}, "seed must be"),
        ({"sketch": SKETCH, "seed": 1.5}, "seed must be"),
        ({"sketch": SKETCH, "variation": "yes"}, "variation true or false"),
    ],
)
def test_bad_requests_are_a_sentence_and_the_server_keeps_serving(app_url, body, says):
    answer = post(app_url, body)
    assert answer.status_code == 400 and says in answer.json()["error"]
    assert post(app_url, {"sketch": SKETCH}).json()["photo"].startswith("data:image/jpeg;base64,")


def test_an_oversized_body_is_refused_unread(app_url):
    answer = post(app_url, {"sketch": "data:image/png;base64," + "A" * (2 * 2**20)})
    assert answer.status_code == 413


def test_requests_that_wait_together_are_translated_together():
    batches, started, release = [], threading.Event(), threading.Event()

    def translate(requests):
        batches.append([r.sketch for r in requests])
        started.set()
        release.wait(10)
        return [f"photo of {r.sketch}" for r in requests]

    live = LivePhotos(translate, max_batch=3, queue_size=10, workers=1)
    first = live.submit(PhotoRequest("a"))
    assert started.wait(10)  # the worker holds "a"; four more wait meanwhile
    rest = [live.submit(PhotoRequest(name)) for name in "bcde"]
    release.set()
    assert first.result(10) == "photo of a"
    assert [f.result(10) for f in rest] == ["photo of b", "photo of c", "photo of d", "photo of e"]
    assert batches == [["a"], ["b", "c", "d"], ["e"]]


def test_the_waiting_requests_are_bounded_and_a_failure_is_each_requests_answer():
    release = threading.Event()

    def translate(requests):
        release.wait(10)
        raise RuntimeError("out of memory")

    live = LivePhotos(translate, max_batch=1, queue_size=2, workers=1)
    held = live.submit(PhotoRequest("a"))
    time.sleep(0.2)  # the worker took "a"
    waiting = [live.submit(PhotoRequest(name)) for name in "bc"]
    assert live.submit(PhotoRequest("d")) is None  # two wait already: the next is turned away
    release.set()
    for future in [held, *waiting]:
        answer = future.result(10)
        assert isinstance(answer, ValueError) and "could not be made" in str(answer)
    assert isinstance(live.submit(PhotoRequest("e")).result(10), ValueError)  # it still works
