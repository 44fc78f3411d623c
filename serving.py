"""The server around the page: the models a server runs (Models), the request limits that make it
safe to host, and launching it (serve). app.py is the page; this is the plumbing beside it.

Safe to host for the public: visitors choose among the models the operator listed (a visitor's
model name never opens a folder or reaches the Hub), request bodies, uploads, the queue and the
sessions Gradio keeps in memory are bounded, and benchmarks/soak.py checks memory stays flat.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence

import gradio as gr
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse

from pix2pix import Translator, UNetGenerator
from pix2pix.checkpoint import check_hub_model, hub_repo_id

try:  # Hugging Face ZeroGPU: the GPU is attached only while a spaces.GPU function runs
    import spaces
except ImportError:
    spaces = None

# Gradio keeps each visitor's (and each plain API call's) session in memory: a copy of the page's
# config (~50 kB here) plus the last sketch and photo. Only the most recent SESSIONS are kept; an
# older one is made afresh on its next request, which costs this app nothing (it has no gr.State).
SESSIONS = 128
MAX_UPLOAD_BYTES = 10 * 2**20  # an uploaded file (a phone photo of a drawing is a few MB)
MAX_BODY_BYTES = 2**20  # any other request: the canvas's sketch is a few kB; big images go as files
MAX_HUB_MODEL_BYTES = 256 * 2**20  # a Hub repo typed in with --allow-any-model (unet_256: 218 MB)


class Models:
    """The models this server runs, by name: the ones its operator listed, each loaded at start.

    "" is the first of them, the default. Any other name is refused with `unlisted`, a sentence
    that does not depend on the name: a visitor can neither learn which folders the server has nor
    make it download anything. With allow_any (--allow-any-model, for someone running the app on
    their own machine) a name typed in is loaded too, a folder or a Hub repo (looked at before
    download, see check_hub_model); the `keep` most recently used of those stay loaded.
    """

    def __init__(
        self,
        default: str | None = None,
        others: Sequence[str] = (),
        allow_any: bool = False,
        keep: int = 3,
    ):
        self.default_name = default or ""
        self.sources: dict[str, str | None] = {"": default}
        self.listed: dict[str, Translator] = {"": self.load(default)}
        for name in others:
            if name not in self.listed and name != self.default_name:
                self.sources[name] = name
                self.listed[name] = self.load(name)
        self.allow_any = allow_any
        self.keep = keep
        self.typed: OrderedDict[str, Translator] = OrderedDict()
        self.lock = threading.Lock()
        names = "".join(f", or {name!r}" for name in self.listed if name)
        self.unlisted = (
            f"Unknown model: this server runs only the models listed under Options "
            f"('' for the default{names})."
        )

    @property
    def default(self) -> Translator:
        return self.listed[""]

    @staticmethod
    def load(model: UNetGenerator | str | None) -> Translator:
        translator = Translator(model)
        if spaces is None:  # on ZeroGPU there is no GPU outside a request to warm up on
            translator.warm_up()
        return translator

    def move_to_onnxruntime(self, strict: bool = False) -> None:
        """Load each listed model that runs on the CPU again on onnxruntime (about three times
        faster there) and swap it in. Meant for a background thread at start: the first export
        takes seconds to tens of seconds (then it is cached on disk), and visitors get photos from
        torch meanwhile. A model that fails to export stays on torch, with a message (strict: the
        error is raised)."""
        for name, source in self.sources.items():
            if self.listed[name].device.type != "cpu":
                continue
            start = time.perf_counter()
            try:
                translator = Translator(source, device="cpu", runtime="onnxruntime")
            except Exception as err:
                if strict:
                    raise
                print(f"{name or 'the default model'} stays on torch: onnxruntime failed ({err})")
                continue
            self.listed[name] = translator
            print(
                f"{name or 'the default model'} now runs on onnxruntime "
                f"(ready in {time.perf_counter() - start:.1f} s)"
            )

    def choices(self) -> list[tuple[str, str]]:
        """(label, name) of each listed model, for the dropdown: its name and what it does."""
        return [
            (f"{name or self.default_name or 'faces (bundled)'} · {describe(translator)}", name)
            for name, translator in self.listed.items()
        ]

    def get(self, name: str = "") -> Translator:
        """The translator called `name`; a ValueError with a sentence when there is none."""
        if not isinstance(name, str):
            raise ValueError(self.unlisted)
        name = name.strip()
        if name == self.default_name:
            name = ""
        if name in self.listed:
            return self.listed[name]
        if not self.allow_any:
            raise ValueError(self.unlisted)
        with self.lock:
            if name not in self.typed:
                try:
                    self.typed[name] = self.load_typed(name)
                except ValueError:
                    raise
                except Exception as err:  # the Hub, the file system, a foreign checkpoint...
                    raise ValueError(f"Could not load the model '{name}': {err}") from None
                while len(self.typed) > self.keep:
                    self.typed.popitem(last=False)
            self.typed.move_to_end(name)
            return self.typed[name]

    def load_typed(self, name: str) -> Translator:
        """A folder, or a Hub repo once check_hub_model has seen its files and their sizes."""
        repo = hub_repo_id(name)
        if repo is None:
            return self.load(name)
        revision = check_hub_model(repo, MAX_HUB_MODEL_BYTES)
        return self.load(UNetGenerator.from_pretrained(repo, revision=revision))


def describe(translator: Translator) -> str:
    """Which way the model translates (a photo2sketch model turns the demo around), size, device."""
    what = (
        "Photo → sketch: upload a photo" if translator.generator.photo2sketch else "Sketch → photo"
    )
    return f"{what} · {translator.size}×{translator.size} · {translator.device}"


class SmallBodies:
    """ASGI middleware: a request body over `limit` bytes is refused before it is read.

    Gradio bounds uploaded files (launch's max_file_size) but reads any other body whole, and keeps
    the last input of every session in memory: without this, one client posting huge "sketches"
    could fill the server's memory. File uploads (paths ending in /upload) are left to Gradio.
    """

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].endswith("/upload"):
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.limit:
            message = (
                f"The request is larger than {self.limit / 2**20:g} MiB: send a big image as a "
                f"file (gradio_client's handle_file), up to {MAX_UPLOAD_BYTES / 2**20:g} MiB."
            )
            return await PlainTextResponse(message, status_code=413)(scope, receive, send)
        received = 0

        async def receive_within_limit():
            """A body sent without its length (chunked) ends the request once over the limit."""
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            return {"type": "http.disconnect"} if received > self.limit else message

        return await self.app(scope, receive_within_limit, send)


def serve(demo: gr.Blocks, **options) -> None:
    """Launch `demo` with the limits that bound what one visitor can cost the server (main() and
    the tests launch the same way): upload size, request size, the sessions kept in memory.

    run_history=False: Gradio's page otherwise saves every call, sketch and photo data URLs
    included, to localStorage, rewriting the whole JSON list (up to 100 calls, megabytes) a few
    times per call. With photos following the pen that blocked the page for 100-400 ms per photo
    and made drawing stutter (tests/test_browser.py's live tests time the stroke).

    demo.live_photos (app.build_demo), when there is one, adds the canvas's live route (live.py)."""
    demo.launch(
        run_history=False,
        max_file_size=MAX_UPLOAD_BYTES,
        state_session_capacity=SESSIONS,
        app_kwargs={
            "middleware": [Middleware(SmallBodies, limit=MAX_BODY_BYTES)],
            "routes": [demo.live_photos.route] if demo.live_photos else [],
        },
        **options,
    )


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False
