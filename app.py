"""The demo: draw a face in the browser, see a photo after every stroke.

    python app.py [--model DIR_OR_REPO] [--models DIR_OR_REPO ...] [--allow-any-model]
                  [--queue-size N] [--live-fps N] [--runtime auto|torch|onnxruntime]
                  [--port N] [--share]

How it stays live: the canvas is our own (gr.HTML + app_static/canvas.js) rather than gr.Sketchpad.
While the pen moves (at most --live-fps times a second) and when a stroke ends it writes one small
PNG data URL (the model's size, a few kB) into its value and posts it to the live route (live.py,
beside Gradio's queue, which cost ~20 ms of one Python thread per photo): no layer export, no file
upload. A visitor has at most one request in flight, a picture drawn meanwhile waits and the newest
replaces it, so photos follow the pen as fast as the server keeps up and the drawing at pen release
always gets its photo. The photo comes back as a JPEG data URL shown in an <img>: no file per
stroke in Gradio's cache and no second request to fetch it. benchmarks/app_latency.py measures
release -> photo. The same translation is the API endpoint `/translate` on Gradio's queue (with
trigger_mode="always_last"), which the canvas uses on ZeroGPU and the Translate button always.

The models a server runs, its request limits and launching it live beside this page in
serving.py.
"""

from __future__ import annotations

import os

# Before torch loads: OpenMP threads that spin while waiting for a sibling the OS has descheduled
# (the CPU is shared with Gradio, the browser, other tenants) turn milliseconds into a second.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import base64
import io
import shlex
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import gradio as gr
from PIL import Image, ImageOps

from live import LIVE_URL, LivePhotos, PhotoRequest
from pix2pix import Translator
from pix2pix.export import onnx_installed
from pix2pix.hints import PALETTE
from pix2pix.imaging import CANVAS_KEYS, load_image
from serving import Models, describe, port_in_use, serve, spaces

HERE = Path(__file__).resolve().parent
STATIC = HERE / "app_static"
EXAMPLES = sorted((HERE / "examples").glob("*.png"))
CANVAS_SIZE = 512  # the canvas's pixels (canvas.html); uploads are fitted into this square
MAX_BATCH = 8  # requests translated in one forward pass on a GPU
QUEUE_SIZE = (
    64  # requests waiting at most; one more is told the app is busy rather than kept waiting
)
# Pictures a second the canvas sends at most while the pen moves (--live-fps; 0: only at release):
# enough to follow the pen closely while leaving most of a small CPU to other visitors (the
# measurements behind the number are in benchmarks/live.md).
LIVE_FPS = 15
PHOTO_QUALITY = 95  # the JPEG quality of the photos sent (photo_data_url)
API_DESCRIPTION = (
    "Sketch in, photo out. sketch: a PNG data URL, an image file (handle_file) or a canvas dict "
    "{background, layers, composite}; '' gives no photo (None). model: '' for the default model or "
    "one of the names listed under Options. variation: each seed gives another person (a skin "
    "tone and hair colour of its own, and dropout noise). Returns the photo as a JPEG data URL ('data:image/jpeg;base64,...', quality 95)."
)


def swatches() -> str:
    """The colour pen's swatches for canvas.html: one button per colour of pix2pix.hints.PALETTE."""
    buttons = []
    for name, (r, g, b) in PALETTE.items():
        colour = f"#{r:02x}{g:02x}{b:02x}"
        buttons.append(
            f'<button type="button" class="swatch" data-colour="{colour}" title="{name}" '
            f'aria-label="{name}" style="background: {colour}"></button>'
        )
    return "".join(buttons)


def hint_classes(translator: Translator) -> list[str]:
    """The canvas's classes: "no-hints" hides the colour pen for a model that does not read it."""
    return [] if translator.hints else ["no-hints"]


def read_canvas(value):
    """The canvas value, as the page or an API client sends it -> what Translator reads.

    The page sends a PNG data URL. API clients may also send a file (gradio_client's handle_file)
    or a gr.Sketchpad-style dict {background, layers, composite} of those. Anything else, however
    malformed, is a ValueError with a sentence (tests/test_fuzz.py feeds it junk).
    """
    if isinstance(value, dict) and not is_file(value) and set(CANVAS_KEYS) & value.keys():
        layers = value.get("layers") or []
        if not isinstance(layers, list):
            raise ValueError("The canvas's layers must be a list of images.")
        canvas = {
            key: read_picture(value[key])
            for key in ("background", "composite")
            if value.get(key) is not None
        }
        canvas["layers"] = [read_picture(layer) for layer in layers]
        return canvas
    return read_picture(value)


def is_file(value: dict) -> bool:
    meta = value.get("meta")
    return isinstance(meta, dict) and meta.get("_type") == "gradio.FileData"


def read_picture(value) -> bytes:
    """One picture: a data URL -> its bytes; a file -> its bytes.

    A file counts only when Gradio vouches for it (a FileData it checked was uploaded, in the
    upload folder): a bare path from a client could name any file on the server.
    """
    if isinstance(value, str):
        if not value.startswith("data:image/"):
            raise ValueError(
                "The sketch must be an image: a data URL ('data:image/png;base64,...') or a file."
            )
        try:
            return base64.b64decode(value.partition(",")[2], validate=True)
        except ValueError:  # binascii.Error, or characters that are not ASCII
            raise ValueError("The sketch's data URL is not valid base64.") from None
    if isinstance(value, dict) and is_file(value) and isinstance(value.get("path"), str):
        try:
            return Path(value["path"]).read_bytes()  # errors then say "the data", not a path
        except OSError:
            raise ValueError("The uploaded file could not be read.") from None
    raise ValueError(f"Cannot read a sketch from a {type(value).__name__}.")


def as_data_url(image: Image.Image) -> str:
    """A PNG data URL, compressed fast (compress_level=1: 4x faster than the default, 10% larger),
    for a picture the canvas draws on: lines stay exact."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def photo_data_url(photo: Image.Image) -> str:
    """The photo as a JPEG data URL: quality 95, colour at full resolution (no chroma subsampling).

    A photo is sent up to LIVE_FPS times a second per visitor while the pen moves: JPEG is about a
    tenth of the fastest PNG's time and a third of its size, the pixels within about one level of
    255 of it on average (benchmarks/live.md has the measurement).
    """
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=PHOTO_QUALITY, subsampling=0)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def translate_each(
    models: Models, requests: Sequence[PhotoRequest]
) -> list[str | ValueError | None]:
    """Sketch -> photo (a JPEG data URL) for each request; requests that share a model and seed
    share a forward pass. A blank canvas ("") gets None; a sketch that cannot be read or a model
    that is not there gets the ValueError that says why (its neighbours still get their photos)."""
    results: list[str | ValueError | None] = [None] * len(requests)
    groups = defaultdict(list)
    for i, request in enumerate(requests):
        if not request.sketch:
            continue
        try:
            translator = models.get(request.model or "")
            picture = load_image(read_canvas(request.sketch))
        except ValueError as err:
            results[i] = err
            continue
        groups[(translator, int(request.seed) if request.variation else None)].append((i, picture))
    for (translator, noise), items in groups.items():
        try:
            photos = translator.translate_batch([picture for _, picture in items], seed=noise)
        except ValueError as err:
            photos = [err] * len(items)
        for (i, _), photo in zip(items, photos, strict=True):
            results[i] = photo if isinstance(photo, ValueError) else photo_data_url(photo)
    return results


def translate_requests(
    models: Models, sketch: list, model: list, variation: list, seed: list
) -> list[str | None]:
    """translate_each for Gradio's batch (one value per request in each list). A request that
    failed gets None in a batch with photos (Gradio can only fail a batch as a whole, neighbours
    included); when no request got a photo, the first problem is raised."""
    requests = zip(sketch, model, variation, seed, strict=True)
    results = translate_each(models, [PhotoRequest(*request) for request in requests])
    photos = [None if isinstance(result, ValueError) else result for result in results]
    problems = [result for result in results if isinstance(result, ValueError)]
    if problems and all(photo is None for photo in photos):
        raise problems[0]
    return photos


def canvas_picture(models: Models, path: str, name: str) -> str:
    """An uploaded sketch (or photo of one) -> the canvas's PNG data URL, fitted into its square
    on white. For a sketch model it is made grey with its levels stretched, so that paper
    photographed in a dim room turns white again. A file or model that is not right: ValueError."""
    picture = load_image(path)
    if not models.get(name or "").generator.photo2sketch:
        picture = ImageOps.autocontrast(picture.convert("L"), cutoff=1)
    return as_data_url(ImageOps.pad(picture, (CANVAS_SIZE, CANVAS_SIZE), color="white"))


def build_demo(
    models: Models,
    max_batch: int | None = None,
    queue_size: int = QUEUE_SIZE,
    live_fps: float = LIVE_FPS,
    live_route: bool = spaces is None,
) -> gr.Blocks:
    """The Blocks app around `models` (tests build it with a small model).

    max_batch: requests translated in one forward pass, on Gradio's queue and the live route; by
    default MAX_BATCH on a GPU and 1 on a CPU, where a batch takes as long as its requests one
    after the other (onnxruntime: 6.0 ms a photo at batch 8, 6.5 at batch 1; 8 visitors got as
    many photos with either, benchmarks/live.md).
    queue_size: requests that may wait; one more gets Gradio's "busy, try again" (HTTP 503 for API
    clients). live_fps: pictures a second the canvas sends at most during a stroke (0: only when
    the pen lifts).

    live_route: the canvas gets its photos from the live route (live.py), which serve() mounts
    beside Gradio's routes from `demo.live_photos`; without it (the default on ZeroGPU, where the
    GPU is lent only inside a Gradio event) demo.live_photos is None and the canvas uses the queue.
    """
    if live_fps < 0:
        raise ValueError(f"live_fps must be 0 or more, not {live_fps}.")
    if max_batch is None:
        max_batch = MAX_BATCH if models.default.device.type == "cuda" else 1

    def translate(sketch: list, model: list, variation: list, seed: list) -> list:
        """translate_requests for Gradio's batch (batch=True: each argument lists one value per
        request; API clients send one sketch and get one photo)."""
        try:
            return [translate_requests(models, sketch, model, variation, seed)]
        except ValueError as err:
            raise gr.Error(str(err)) from None

    if spaces is not None:
        translate = spaces.GPU(translate)
    live_photos = (
        LivePhotos(partial(translate_each, models), max_batch, queue_size) if live_route else None
    )

    def load_model(name: str):
        """Load the chosen model now (not on the next stroke) and say what it does."""
        start = time.perf_counter()
        try:
            translator = models.get(name or "")
        except ValueError as err:
            raise gr.Error(str(err)) from None
        info = f"{describe(translator)} · ready in {time.perf_counter() - start:.1f} s"
        photo = gr.HTML(label="Sketch" if translator.generator.photo2sketch else "Photo")
        return info, photo, gr.HTML(elem_classes=hint_classes(translator))

    def load_picture(path: str, name: str) -> str:
        if not path:
            return gr.skip()
        try:
            return canvas_picture(models, path, name)
        except ValueError as err:  # name the file as the visitor knows it, not by its server path
            raise gr.Error(str(err).replace(path, Path(path).name)) from None

    def load_example(name: str, event: gr.SelectData) -> str:
        return load_picture(str(EXAMPLES[event.index]), name)

    # Uploads are read once, by the request that brings them; Gradio deletes them (and any other
    # file it made) after 10 minutes, so the cache holds at most 10 minutes of uploads.
    with gr.Blocks(title="sketch2photo", delete_cache=(300, 600)) as demo:
        gr.Markdown(
            "# sketch2photo\nDraw a face — outline, eyes, brows, nose, mouth, hair — with black "
            "lines on the white canvas. The photo follows the pen."
        )
        with gr.Row(equal_height=False):
            with gr.Column():
                sketch = gr.HTML(
                    value="",
                    html_template=(STATIC / "canvas.html").read_text(),
                    css_template=(STATIC / "canvas.css").read_text(),
                    js_on_load=(STATIC / "canvas.js").read_text(),
                    label="Sketch",
                    elem_id="sketch",
                    elem_classes=hint_classes(models.default),
                    export_size=models.default.size,
                    live_fps=f"{live_fps:g}",
                    live_url=LIVE_URL if live_photos else "",
                    swatches=swatches(),
                )
                with gr.Row():
                    upload = gr.UploadButton(
                        "Upload a sketch", file_types=["image"], elem_id="upload", size="sm"
                    )
                    translate_button = gr.Button(
                        "Translate", elem_id="translate", size="sm", variant="primary"
                    )
            with gr.Column():
                photo = gr.HTML(
                    value=None,
                    html_template=(STATIC / "photo.html").read_text(),
                    css_template=(STATIC / "photo.css").read_text(),
                    js_on_load=None,
                    label="Photo",
                    show_label=True,
                    container=True,
                    elem_id="photo",
                )
        examples = gr.Gallery(
            value=[str(path) for path in EXAMPLES],
            label="Examples: click one to load it into the canvas",
            columns=len(EXAMPLES),
            height=200,
            object_fit="contain",
            buttons=[],
            allow_preview=False,
            elem_id="examples",
        )
        with gr.Accordion("Options", open=False):
            with gr.Row():
                # Any value passes through to Models.get, which refuses an unlisted one request by
                # request (Gradio's own check would fail a whole batch, neighbours included).
                model = gr.Dropdown(
                    choices=models.choices(),
                    value="",
                    label="Model",
                    info="or type a model folder or Hub repo id" if models.allow_any else None,
                    allow_custom_value=True,
                    elem_id="model",
                )
                model_info = gr.Markdown(describe(models.default), elem_id="model_info")
            with gr.Row():
                variation = gr.Checkbox(
                    False,
                    label="Variation",
                    info="Each seed gives another person: its own skin tone and hair colour, and dropout noise.",
                )
                seed = gr.Number(label="Seed", value=0, precision=0, minimum=0)

        run = dict(
            fn=translate,
            inputs=[sketch, model, variation, seed],
            outputs=photo,
            batch=True,
            max_batch_size=max_batch,
            concurrency_id="model",
            concurrency_limit=1,
            trigger_mode="always_last",
            show_progress="hidden",
        )
        sketch.input(**run, api_name="translate", api_description=API_DESCRIPTION)
        gr.on(
            [translate_button.click, variation.change, seed.change],
            **run,
            api_visibility="private",
        )
        model.input(
            load_model, model, [model_info, photo, sketch], api_visibility="private"
        ).success(**run, api_visibility="private")
        # The live route gets the options with each picture: the page keeps them at hand.
        gr.on(
            [demo.load, model.change, variation.change, seed.change],
            fn=None,
            inputs=[model, variation, seed],
            js="(model, variation, seed) => { window.sketch2photoOptions = {model, variation, seed}; }",
        )
        upload.upload(load_picture, [upload, model], sketch, api_visibility="private")
        examples.select(load_example, model, sketch, api_visibility="private")
    demo.live_photos = live_photos
    return demo.queue(max_size=queue_size, default_concurrency_limit=2)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, after the words in $SKETCH2PHOTO_ARGS (a Space runs app.py bare: set its
    options there). --allow-any-model is turned off on Spaces and with --share: a public server."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", help="the default model: a folder or Hub repo id (default: the bundled one)"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=[],
        metavar="DIR_OR_REPO",
        help="more models visitors may choose from (each is loaded at start)",
    )
    parser.add_argument(
        "--allow-any-model",
        action="store_true",
        help="also load any folder or Hub repo id typed in the page or sent to the API; for your "
        "own machine only (ignored on Hugging Face Spaces and with --share)",
    )
    parser.add_argument(
        "--queue-size",
        type=int,
        default=QUEUE_SIZE,
        help=f"requests that may wait before the next is told to retry (default {QUEUE_SIZE})",
    )
    parser.add_argument(
        "--live-fps",
        type=float,
        default=LIVE_FPS,
        help=f"pictures a second the canvas sends at most while the pen moves; 0: only when the "
        f"pen lifts (default {LIVE_FPS})",
    )
    parser.add_argument(
        "--runtime",
        choices=("auto", "torch", "onnxruntime"),
        default="auto",
        help="what runs the listed models on a CPU. auto: torch at once, then onnxruntime (faster) "
        "from the moment it is ready, when it is installed; onnxruntime: before serving, or stop",
    )
    parser.add_argument("--port", type=int, help="default: $GRADIO_SERVER_PORT or 7860")
    parser.add_argument(
        "--share", action="store_true", help="also serve on a public gradio.live URL"
    )
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(shlex.split(os.environ.get("SKETCH2PHOTO_ARGS", "")) + argv)
    public = "on Hugging Face Spaces" if os.environ.get("SPACE_ID") else "with --share"
    if args.allow_any_model and (os.environ.get("SPACE_ID") or args.share):
        print(f"--allow-any-model is ignored {public}: visitors choose among the listed models.")
        args.allow_any_model = False
    return args


def main() -> None:
    args = parse_args()
    host = os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")
    port = args.port or int(os.environ.get("GRADIO_SERVER_PORT", 7860))
    if port_in_use(host, port):  # before loading anything: Gradio's own failure is a traceback
        sys.exit(
            f"error: port {port} on {host} is in use (another app.py?). Stop it, or start this one "
            f"with --port {port + 1}."
        )
    start = time.perf_counter()
    try:
        models = Models(args.model, args.models, allow_any=args.allow_any_model)
        if args.runtime == "onnxruntime":
            models.move_to_onnxruntime(strict=True)
    except Exception as err:  # no bundled model yet, a wrong folder, the Hub out of reach...
        sys.exit(f"error: {err}")
    # On ZeroGPU (spaces) the models belong on the GPU that each request gets.
    if args.runtime == "auto" and spaces is None and onnx_installed():
        threading.Thread(target=models.move_to_onnxruntime, daemon=True).start()
    translator = models.default
    print(
        f"{len(models.listed)} model(s) ready in {time.perf_counter() - start:.1f} s; the default: "
        f"{args.model or 'bundled faces model'}, {translator.size}x{translator.size}, "
        f"{translator.device}, {translator.dtype}"
        + ("; any folder or Hub repo typed in is loaded too" if models.allow_any else "")
    )
    if not args.share:  # Gradio's own lines would say "set share=True in launch()"
        print(f"Running on http://{host}:{port} (Ctrl-C stops it; --share makes a public link)")
    serve(
        build_demo(models, queue_size=args.queue_size, live_fps=args.live_fps),
        server_name=host,
        server_port=port,
        share=args.share,
        quiet=not args.share,
        theme=gr.themes.Soft(),
        css_paths=[STATIC / "app.css"],
    )


if __name__ == "__main__":
    main()
