"""The demo: draw a face in the browser, see a photo after every stroke.

    python app.py [--model DIR_OR_REPO] [--port N] [--share]

How it stays live: the canvas is our own (gr.HTML + app_static/canvas.js) rather than gr.Sketchpad.
When a stroke ends it writes one small PNG data URL (the model's size, a few kB) into its value and
fires one `input` event: no layer export, no file upload, no debouncing. That event runs
`translate` on the queue with trigger_mode="always_last": a stroke that ends while the previous one
is being translated is not dropped, the latest drawing always runs next. benchmarks/app_latency.py
measures release -> photo. The same function is the API endpoint `/translate`.
"""

from __future__ import annotations

import os

# Before torch loads: OpenMP threads that spin while waiting for a sibling the OS has descheduled
# (the CPU is shared with Gradio, the browser, other tenants) turn a 20 ms forward pass into a second.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import base64
import binascii
import io
import sys
import tempfile
import threading
import time
from collections import OrderedDict, defaultdict
from pathlib import Path

import gradio as gr
from PIL import Image, ImageOps

from pix2pix import Translator
from pix2pix.imaging import load_image

try:  # Hugging Face ZeroGPU: the GPU is attached only while a spaces.GPU function runs
    import spaces
except ImportError:
    spaces = None

HERE = Path(__file__).resolve().parent
STATIC = HERE / "app_static"
EXAMPLES = sorted((HERE / "examples").glob("*.png"))
CANVAS_SIZE = 512  # the canvas's pixels (canvas.html); uploads are fitted into this square
MAX_BATCH = 8  # requests translated in one forward pass on a GPU
API_DESCRIPTION = (
    "Sketch in, photo out. sketch: a PNG data URL, an image file (handle_file) or a canvas dict "
    "{background, layers, composite}; '' gives no photo. model: '' for the bundled faces model, or "
    "a model folder or Hub repo id. variation: keep dropout on, so each seed gives another photo."
)


class Models:
    """Translators by name ("" is the default model), each built and warmed up once.

    Besides the default, the `keep` most recently used models stay loaded; older ones are dropped.
    """

    def __init__(self, default: str | None = None, keep: int = 3):
        self.keep = keep
        self.loaded: OrderedDict[str, Translator] = OrderedDict()
        self.lock = threading.Lock()
        self.default = self.load(default)

    @staticmethod
    def load(name: str | None) -> Translator:
        translator = Translator(name)
        if spaces is None:  # on ZeroGPU there is no GPU outside a request to warm up on
            translator.warm_up()
        return translator

    def get(self, name: str = "") -> Translator:
        name = name.strip()
        if not name:
            return self.default
        with self.lock:
            if name not in self.loaded:
                try:
                    self.loaded[name] = self.load(name)
                except ValueError as err:
                    raise gr.Error(str(err)) from None
                except Exception as err:  # the Hub, the file system, a foreign checkpoint...
                    raise gr.Error(f"Could not load the model '{name}': {err}") from None
                while len(self.loaded) > self.keep:
                    self.loaded.popitem(last=False)
            self.loaded.move_to_end(name)
            return self.loaded[name]


def is_photo2sketch(translator: Translator) -> bool:
    return translator.in_channels == 3 and translator.generator.out_channels == 1


def describe(translator: Translator) -> str:
    """Which way the model translates (a photo2sketch model turns the demo around), size, device."""
    what = "Photo → sketch: upload a photo" if is_photo2sketch(translator) else "Sketch → photo"
    return f"{what} · {translator.size}×{translator.size} · {translator.device}"


def read_canvas(value):
    """The canvas value, as the page or an API client sends it -> what Translator reads.

    The page sends a PNG data URL. API clients may also send a file (gradio_client's handle_file)
    or a gr.Sketchpad-style dict {background, layers, composite} of files. A file counts only when
    Gradio vouches for it (a FileData it checked was uploaded): a bare path from a client could
    name any file on the server.
    """
    if isinstance(value, str):
        if not value.startswith("data:image/"):
            raise ValueError(
                "The sketch must be an image: a data URL ('data:image/png;base64,...') or a file."
            )
        try:
            return base64.b64decode(value.partition(",")[2], validate=True)
        except binascii.Error:
            raise ValueError("The sketch's data URL is not valid base64.") from None
    if isinstance(value, dict) and value.get("meta", {}).get("_type") == "gradio.FileData":
        return Path(value["path"]).read_bytes()  # errors then say "the data", not a server path
    if isinstance(value, dict) and {"background", "layers", "composite"} & value.keys():
        canvas = {
            key: value.get(key) and read_canvas(value[key]) for key in ("background", "composite")
        }
        canvas["layers"] = [read_canvas(layer) for layer in value.get("layers") or []]
        return canvas
    raise ValueError(f"Cannot read a sketch from a {type(value).__name__}.")


def as_data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def save_photo(photo: Image.Image, folder: str) -> str:
    """The photo as a PNG file of its own in Gradio's cache folder, for the Image component to serve.

    Gradio would name the file by a hash of its bytes and rewrite it in place, so two visitors
    getting the same photo at once (the same example clicked) could be served a half-written file.
    """
    Path(folder).mkdir(parents=True, exist_ok=True)
    handle, path = tempfile.mkstemp(prefix="photo-", suffix=".png", dir=folder)
    with os.fdopen(handle, "wb") as file:
        photo.save(file, format="PNG", compress_level=1)  # 4x faster than the default, 10% larger
    return path


def build_demo(models: Models, max_batch: int | None = None) -> gr.Blocks:
    """The Blocks app around `models` (tests build it with a small model).

    max_batch: requests translated in one forward pass; by default MAX_BATCH on a GPU and 1 on a
    CPU, where a batch takes as long as its requests one after the other.
    """
    if max_batch is None:
        max_batch = MAX_BATCH if models.default.device.type == "cuda" else 1

    def translate(sketch: list, model: list, variation: list, seed: list) -> list:
        """Sketch -> photo for a batch of requests (batch=True: each argument lists one value per
        request; API clients send one sketch and get one photo).

        Requests that share a model and seed share a forward pass. A blank canvas ("") gets no
        photo. A sketch that cannot be read, or a model that cannot be loaded, is an error for its
        request; in a batch with good ones it just gets no photo (Gradio can only fail a batch as
        a whole, neighbours included).
        """
        photos, problems = [None] * len(sketch), []
        groups = defaultdict(list)
        requests = zip(sketch, model, variation, seed, strict=True)
        for i, (value, name, noisy, number) in enumerate(requests):
            if not value:
                continue
            try:
                picture = load_image(read_canvas(value))
            except ValueError as err:
                problems.append(str(err))
                continue
            groups[(name or "", int(number) if noisy else None)].append((i, picture))
        for (name, noise), items in groups.items():
            try:
                translator = models.get(name)
            except gr.Error as err:
                problems.append(err.message)
                continue
            results = translator.translate_batch([picture for _, picture in items], seed=noise)
            for (i, _), result in zip(items, results, strict=True):
                photos[i] = save_photo(result, photo.GRADIO_CACHE)
        if problems and all(p is None for p in photos):
            raise gr.Error(problems[0])
        return [photos]

    if spaces is not None:
        translate = spaces.GPU(translate)

    def load_model(name: str):
        """Load the typed-in model now (not on the next stroke) and say what it does."""
        start = time.perf_counter()
        translator = models.get(name)
        info = f"{describe(translator)} · ready in {time.perf_counter() - start:.1f} s"
        return info, gr.Image(label="Sketch" if is_photo2sketch(translator) else "Photo")

    def load_picture(path: str, name: str) -> str:
        """An uploaded sketch (or photo of one) -> the canvas: fitted into the square on white.

        For a sketch model it is made grey with its levels stretched, so that paper photographed
        in a dim room turns white again.
        """
        if not path:
            return gr.skip()
        try:
            picture = load_image(path)
        except ValueError as err:  # name the file as the visitor knows it, not by its server path
            raise gr.Error(str(err).replace(path, Path(path).name)) from None
        if not is_photo2sketch(models.get(name)):
            picture = ImageOps.autocontrast(picture.convert("L"), cutoff=1)
        return as_data_url(ImageOps.pad(picture, (CANVAS_SIZE, CANVAS_SIZE), color="white"))

    def load_example(name: str, event: gr.SelectData) -> str:
        return load_picture(str(EXAMPLES[event.index]), name)

    with gr.Blocks(title="sketch2photo", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            "# sketch2photo\nDraw a face — outline, eyes, brows, nose, mouth, hair — with black "
            "lines on the white canvas. The photo follows every stroke."
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
                    export_size=models.default.size,
                )
                with gr.Row():
                    upload = gr.UploadButton(
                        "Upload a sketch", file_types=["image"], elem_id="upload", size="sm"
                    )
                    translate_button = gr.Button(
                        "Translate", elem_id="translate", size="sm", variant="primary"
                    )
            with gr.Column():
                photo = gr.Image(
                    label="Photo",
                    format="png",
                    interactive=False,
                    buttons=["download"],
                    height=CANVAS_SIZE + 50,
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
                model = gr.Textbox(
                    "",
                    label="Model",
                    placeholder="the bundled faces model; or a local folder, or a Hub repo id",
                    elem_id="model",
                )
                model_info = gr.Markdown(describe(models.default), elem_id="model_info")
            with gr.Row():
                variation = gr.Checkbox(
                    False,
                    label="Variation",
                    info="Keep dropout on, as in the paper: each seed gives a different photo.",
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
        model.submit(load_model, model, [model_info, photo], api_visibility="private").success(
            **run, api_visibility="private"
        )
        upload.upload(load_picture, [upload, model], sketch, api_visibility="private")
        examples.select(load_example, model, sketch, api_visibility="private")
    return demo.queue(max_size=64, default_concurrency_limit=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a model folder or Hub repo id (default: the bundled one)")
    parser.add_argument("--port", type=int, help="default: $GRADIO_SERVER_PORT or 7860")
    parser.add_argument(
        "--share", action="store_true", help="also serve on a public gradio.live URL"
    )
    args = parser.parse_args()

    start = time.perf_counter()
    try:
        models = Models(args.model)
    except Exception as err:  # no bundled model yet, a wrong folder, the Hub out of reach...
        sys.exit(f"error: {err}")
    translator = models.default
    print(
        f"Model ready in {time.perf_counter() - start:.1f} s: {args.model or 'bundled faces model'}, "
        f"{translator.size}x{translator.size}, {translator.device}, {translator.dtype}"
    )
    build_demo(models).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=args.port or int(os.environ.get("GRADIO_SERVER_PORT", 7860)),
        share=args.share,
        theme=gr.themes.Soft(),
        css_paths=[STATIC / "app.css"],
    )


if __name__ == "__main__":
    main()
