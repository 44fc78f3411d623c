"""The app's GPU path: photos a second at batch 1-64 on a CUDA device. Prints markdown tables.

    python benchmarks/gpu_speed.py [--model checkpoints/faces] [--model other/folder ...]

For each model: the generator's forward pass alone (the Translator's CUDA settings: channels_last,
and fp16, or bf16 with --dtype bf16; CUDA events, median of 30 after warm-up), and the whole
`Translator.translate_batch` on 256x256 canvas PNGs (decode, tensors, framer, forward, photos),
wall-clock. The first table says what the GPU can do, the second what the app gets: on a GPU the
CPU work around the forward pass is most of a photo's time.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pix2pix import Translator
from pix2pix.translate import DEFAULT_MODEL

BATCHES = (1, 2, 4, 8, 16, 32, 64)
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "doodle.png"


def forward_ms(translator: Translator, batch: int, runs: int = 30) -> float:
    generator = translator.generator
    x = torch.zeros(batch, translator.in_channels, translator.size, translator.size)
    x = x.to("cuda", translator.dtype).contiguous(memory_format=translator.memory_format)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    with torch.inference_mode():
        for i in range(runs + 5):
            start.record()
            generator(x)
            end.record()
            torch.cuda.synchronize()
            if i >= 5:
                times.append(start.elapsed_time(end))
    return statistics.median(times)


def translate_ms(translator: Translator, pictures: list[bytes], runs: int = 10) -> float:
    times = []
    for i in range(runs + 2):
        images = [Image.open(io.BytesIO(p)) for p in pictures]
        begin = time.perf_counter()
        translator.translate_batch(images)
        if i >= 2:
            times.append(1000 * (time.perf_counter() - begin))
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="model folders (default: the bundled one)")
    parser.add_argument("--dtype", choices=["fp16", "bf16"], default="bf16")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("No CUDA device: this benchmark measures the GPU path.", file=sys.stderr)
        return 2
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float16
    picture = io.BytesIO()
    Image.open(EXAMPLE).convert("RGB").resize((256, 256)).save(picture, format="PNG")
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, {args.dtype}\n")
    for model in args.model or [str(DEFAULT_MODEL)]:
        translator = Translator(model, device="cuda", dtype=dtype)
        print(f"### {model}\n")
        print(
            "| batch | forward ms | photos/s (forward) | translate_batch ms | photos/s (whole call) |"
        )
        print("|---|---|---|---|---|")
        for batch in BATCHES:
            f = forward_ms(translator, batch)
            t = translate_ms(translator, [picture.getvalue()] * batch)
            print(
                f"| {batch} | {f:.2f} | {1000 * batch / f:,.0f} | {t:.1f} | {1000 * batch / t:,.0f} |"
            )
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
