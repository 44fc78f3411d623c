"""Translator: a generator loaded once, kept warm, and run the fastest correct way for the device."""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from pix2pix.export import onnx_session
from pix2pix.framing import (
    Frame,
    Framer,
    average_views,
    frame,
    frame_for,
    framer_beside,
    shifted_views,
    shrink,
    unframe,
)
from pix2pix.hints import HINT_CHANNELS, no_hints
from pix2pix.imaging import Placement, to_photo, to_sketch_tensor
from pix2pix.networks import UNetGenerator
from pix2pix.variation import with_variation

RUNTIMES = ("torch", "onnxruntime")
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "checkpoints" / "faces"


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """None means the best there is: cuda, then mps, then cpu."""
    if device is not None:
        try:
            chosen = torch.device(device)
        except RuntimeError as err:
            raise ValueError(f"Unknown device {device!r}: use cpu, cuda, cuda:N or mps.") from err
        if not device_exists(chosen):
            raise ValueError(f"There is no {chosen} device on this machine; use cpu.")
        return chosen
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_exists(device: torch.device) -> bool:
    """Whether this machine has the device: asking for cuda without one is a sentence, not the
    "Torch not compiled with CUDA enabled" traceback of the first tensor moved there."""
    if device.type == "cuda":
        return torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()
    if device.type == "mps":
        return torch.backends.mps.is_available()
    return True


def load_generator(model_or_path: UNetGenerator | str | Path | None = None) -> UNetGenerator:
    """A copy of a generator object (the Translator converts it in place); a folder or Hub repo id
    through from_pretrained; None: the bundled one."""
    if isinstance(model_or_path, UNetGenerator):
        return copy.deepcopy(model_or_path)
    if model_or_path is None:
        if not (DEFAULT_MODEL / "model.safetensors").is_file():
            raise ValueError(
                f"The bundled model is not at {DEFAULT_MODEL} (it lives in the repository's "
                "checkpoints/faces, which `pip install .` does not copy); pass a model folder or "
                "a Hub repo id, or install the checkout with `pip install -e .`."
            )
        model_or_path = DEFAULT_MODEL
    return UNetGenerator.from_pretrained(str(model_or_path))


def load_framer(model_or_path: UNetGenerator | str | Path | None) -> Framer | None:
    """The framer saved beside a local model folder's generator (None: the bundled model's), or
    None when there is none: generator objects and Hub repos run as drawn."""
    folder = DEFAULT_MODEL if model_or_path is None else model_or_path
    if isinstance(folder, UNetGenerator):
        return None
    path = framer_beside(folder)
    return Framer.load(path) if path is not None else None


def cpu_has_bf16() -> bool:
    """True when oneDNN runs bf16 convolutions natively (AVX-512 BF16 or AMX), not emulated."""
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


class Translator:
    """Sketch in, photo out. Build once; `translate` is safe to call from several threads.

    The options default to the fastest path that stays within 0.02 (mean absolute difference on
    [0, 1]) of plain fp32: on CUDA half precision and channels_last; on CPU channels_last and bf16
    where the CPU has it natively. `compile=True` adds torch.compile (inductor, with weight freezing
    on CPU); it costs seconds once, on the first call, so it is off unless asked for.

    runtime="onnxruntime" (CPU only; needs onnx, onnxscript and onnxruntime) runs the deterministic
    photos through onnxruntime in fp32, about three times faster than torch for the bundled
    generator. The ONNX export costs seconds the first time and is cached on disk
    (pix2pix.export.cached_onnx). Photos with a seed (dropout noise) still run on torch.

    framing=True (the default) uses the framer of a model folder that has one (pix2pix.framing):
    a face drawn small or off-centre is moved to where the generator paints faces and the photo
    moved back, so the face appears where it was drawn. Folders without a framer, generator
    objects and Hub repos run as drawn.
    """

    def __init__(
        self,
        model_or_path: UNetGenerator | str | Path | None = None,
        device: str | torch.device | None = None,
        *,
        dtype: torch.dtype | None = None,
        channels_last: bool = True,
        compile: bool = False,
        runtime: str = "torch",
        framing: bool = True,
    ):
        if runtime not in RUNTIMES:
            raise ValueError(f"Unknown runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}.")
        self.device = pick_device(device)
        if runtime == "onnxruntime" and self.device.type != "cpu":
            raise ValueError(f"onnxruntime runs on the CPU here, not on {self.device}.")
        if dtype is None:
            if self.device.type == "cuda":
                dtype = torch.float16
            elif self.device.type == "cpu" and cpu_has_bf16():
                dtype = torch.bfloat16
            else:
                dtype = torch.float32
        self.dtype = dtype
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        generator = load_generator(model_or_path)
        self.framer = load_framer(model_or_path) if framing else None
        # The framer is tiny: one onnxruntime thread finds the eyes faster than torch's threads
        # wake up (benchmarks/live.md).
        self.framer_session = (
            onnx_session(self.framer, threads=1)
            if self.framer is not None and runtime == "onnxruntime"
            else None
        )
        # Exported before the conversion below, so that onnxruntime gets the weights as stored.
        self.session = onnx_session(generator) if runtime == "onnxruntime" else None
        generator = generator.to(self.device, dtype=dtype, memory_format=self.memory_format)
        self.generator = generator.eval().requires_grad_(False)
        self.in_channels = self.generator.in_channels
        # A hint model takes colour hints besides the sketch (pix2pix.hints); the app shows its
        # colour pens only then. Other models read a colour drawing as grey lines.
        self.hints = self.in_channels == 1 + HINT_CHANNELS
        self.size = self.generator.image_size
        self._forward = self.generator
        if compile:
            options = {"freezing": True} if self.device.type == "cpu" else None
            self._forward = torch.compile(self.generator, options=options)
        self._lock = threading.Lock()

    @property
    def runtime(self) -> str:
        """What runs the deterministic photos: "onnxruntime" or "torch"."""
        return "torch" if self.session is None else "onnxruntime"

    def translate(self, image, seed: int | None = None) -> Image.Image:
        """One photo. `image`: PIL image, numpy array, file path or Gradio canvas dict. For a hint
        model, coloured strokes in it are colour hints (pix2pix.hints.split_drawing); any other
        model sees the whole drawing in grey.

        seed=None is deterministic; an int turns on the paper's dropout noise with that seed and,
        for a hint model on a framed face drawn without hints, paints the seed's skin tone and hair
        colour as hints (pix2pix.variation), so different seeds give different people.
        """
        return self.translate_batch([image], seed=seed)[0]

    def translate_batch(self, images: Sequence, seed: int | None = None) -> list[Image.Image]:
        """Several photos in one forward pass (what a GPU wants). Bad input raises ValueError."""
        if len(images) == 0:
            return []
        prepared = [to_sketch_tensor(im, self.size, self.in_channels) for im in images]
        batch = torch.cat([tensor for tensor, _ in prepared])
        framings = self.find_frames(batch)
        if any(framings):
            # What the moved drawing lies on: white paper, and for a hint model no hint there.
            white = torch.ones(1 if self.hints else self.in_channels, 1, 1)
            fill = (no_hints(white) if self.hints else white).flatten()

            def placed(sketch: torch.Tensor, framing: Frame) -> torch.Tensor:
                sketch = frame(sketch, framing, fill)
                if seed is not None and self.hints:  # another person: the seed's skin and hair
                    sketch = with_variation(sketch, seed)
                return sketch

            batch = torch.stack(
                [
                    sketch if f is None else placed(sketch, f)
                    for sketch, f in zip(batch, framings, strict=True)
                ]
            )
        with self._lock:
            output = self.run(batch, seed)
        square = Placement(0, 0, self.size, self.size)
        return [
            to_photo(photo, placement)
            if framing is None
            else unframe(to_photo(photo, square), framing).crop(placement.box)
            for photo, (_, placement), framing in zip(output, prepared, framings, strict=True)
        ]

    @torch.inference_mode()
    def find_frames(self, sketches: torch.Tensor) -> list[Frame | None]:
        """The framing of each sketch (N, C, S, S), None where it stays as drawn (or no framer)."""
        if self.framer is None:
            return [None] * len(sketches)
        views = shifted_views(shrink(sketches[:, :1].float()))
        if self.framer_session is not None:
            (found,) = self.framer_session.run(["eyes"], {"sketch": views.numpy()})
            found = torch.from_numpy(found)
        else:
            found = self.framer(views)
        eyes = average_views(found) * sketches.shape[-1]
        return [frame_for(e, sketch) for e, sketch in zip(eyes, sketches, strict=True)]

    @torch.inference_mode()
    def run(self, sketches: torch.Tensor, seed: int | None = None) -> torch.Tensor:
        """The raw generator call: (N, C, S, S) in [-1, 1] -> float32 photos on the CPU."""
        if seed is None and self.session is not None:
            (photos,) = self.session.run(["photo"], {"sketch": sketches.float().numpy()})
            return torch.from_numpy(photos)
        x = sketches.to(self.device, self.dtype).contiguous(memory_format=self.memory_format)
        y = self._forward(x) if seed is None else self._noisy_forward(x, seed)
        return y.float().cpu()

    def _noisy_forward(self, x: torch.Tensor, seed: int) -> torch.Tensor:
        """Eager, with only the dropout layers in training mode (batch norm keeps its statistics)."""
        dropouts = [m for m in self.generator.modules() if isinstance(m, torch.nn.Dropout)]
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            try:
                for m in dropouts:
                    m.train()
                return self.generator(x)
            finally:
                for m in dropouts:
                    m.eval()

    def warm_up(self) -> None:
        """One blank sketch through the whole path, so the first visitor does not pay for it."""
        blank = Image.new("L", (self.size, self.size), 255)
        self.run(to_sketch_tensor(blank, self.size, self.in_channels)[0])
