"""The page's photos while the pen moves: one plain HTTP route beside Gradio's queue.

Gradio's queue costs about 20 ms of its event loop per event (the request, the session, the result
stream), three times the generator's own time here, and that loop is one Python thread: on a
2-core machine it capped the server at ~40 photos a second, shared by everyone drawing
(benchmarks/live.md). The canvas posts its picture to LIVE_PATH instead, one request per photo,
and gets the JPEG data URL back in the answer. Requests from different visitors that arrive
together are translated together (up to `max_batch`), by `workers` threads beside the web server.

It stays within what the queue guaranteed: a visitor's page keeps one request in flight (the
newest picture waits and replaces older ones, app_static/canvas.js); at most `queue_size` requests
wait, and one more is told to retry (503); bodies are bounded by serving.SmallBodies; the model is
one of those the operator listed (Models.get). The `/translate` API on Gradio's queue is unchanged,
and on ZeroGPU, where the GPU is lent only inside a Gradio event, the page uses it instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

LIVE_URL = "live/photo"  # relative to the app's root, as the page and clients name it
LIVE_PATH = "/" + LIVE_URL


@dataclass(frozen=True)
class PhotoRequest:
    """What the canvas sends: its PNG data URL ("" when blank) and the visitor's options."""

    sketch: str | dict  # the page sends a data URL; API clients may send a file or a canvas dict
    model: str = ""
    variation: bool = False
    seed: int = 0

    @classmethod
    def from_json(cls, body) -> PhotoRequest:
        """A request from a decoded JSON body; a ValueError with a sentence when it is not one."""
        if not isinstance(body, dict) or not isinstance(body.get("sketch"), str):
            raise ValueError('Send JSON {"sketch": "data:image/png;base64,...", ...}.')
        model = body.get("model", "")
        variation = body.get("variation", False)
        seed = body.get("seed", 0)
        if not isinstance(model, str) or not isinstance(variation, bool):
            raise ValueError("model must be a string and variation true or false.")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError("seed must be a whole number, 0 or more.")
        return cls(body["sketch"], model, variation, seed)


# Each request's photo data URL, None for a blank canvas, or the ValueError that says why not.
Translate = Callable[[list[PhotoRequest]], list["str | ValueError | None"]]


class LivePhotos:
    """The route and the threads behind it. `translate` turns a batch of requests into photos."""

    def __init__(self, translate: Translate, max_batch: int, queue_size: int, workers: int = 2):
        self.translate = translate
        self.max_batch = max(1, max_batch)
        self.queue_size = queue_size
        self.workers = workers
        self.waiting: deque[tuple[PhotoRequest, Future]] = deque()
        self.ready = threading.Condition()
        self.started = False

    @property
    def route(self) -> Route:
        return Route(LIVE_PATH, self.answer, methods=["POST"])

    def submit(self, request: PhotoRequest) -> Future | None:
        """The future photo of `request`, or None when queue_size requests already wait."""
        with self.ready:
            if not self.started:  # on the first request: a demo built and never served has none
                for _ in range(self.workers):
                    threading.Thread(target=self.work, daemon=True).start()
                self.started = True
            if len(self.waiting) >= self.queue_size:
                return None
            future: Future = Future()
            self.waiting.append((request, future))
            self.ready.notify()
            return future

    async def answer(self, request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:  # json.JSONDecodeError, UnicodeDecodeError
            body = None
        try:
            wanted = PhotoRequest.from_json(body)
        except ValueError as err:
            return JSONResponse({"error": str(err)}, status_code=400)
        future = self.submit(wanted)
        if future is None:
            return JSONResponse({"error": "The app is busy; try again."}, status_code=503)
        result = await asyncio.wrap_future(future)
        if isinstance(result, ValueError):
            return JSONResponse({"error": str(result)}, status_code=400)
        return JSONResponse({"photo": result})

    def work(self) -> None:
        """One worker: take what waits (up to max_batch), translate it together, answer each."""
        while True:
            with self.ready:
                while not self.waiting:
                    self.ready.wait()
                count = min(self.max_batch, len(self.waiting))
                batch = [self.waiting.popleft() for _ in range(count)]
            try:
                results = self.translate([request for request, _ in batch])
            except Exception as err:  # never lose the worker: each request gets the failure
                results = [ValueError(f"The photo could not be made ({type(err).__name__}).")]
                results *= len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)
