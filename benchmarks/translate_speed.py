"""Inference speed on this CPU, measured so that numbers from different machines compare: everything
side by side in one process, as ratios against the paper's unet_256 (ngf 64, batch norm, fp32, eager, 2 threads, batch 1, 256x256), median of >= 20
runs after warm-up. Prints a markdown table; ratios are what to quote.

    python benchmarks/translate_speed.py [--model checkpoints/faces] [--runs 30] [--no-compile]

With onnxruntime installed each model also gets a row for its ONNX export, and the whole
Translator.translate is measured on both runtimes (torch with the Translator's default options),
for a model with a framer also without it (framing=False; the two called in turn), on a blank
picture and on canvas PNGs at 512x512 and at 256x256 (what the page sends). Last, a table of the
whole call's steps (decode, tensor, framer, generator, photo), each timed in turn with the
reference's forward pass, so that every ratio there has its reference measured alongside.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as app.py sets it, before torch loads

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pix2pix import Translator, UNetGenerator
from pix2pix.export import onnx_installed, onnx_session
from pix2pix.imaging import load_image, to_photo, to_sketch_tensor
from pix2pix.translate import DEFAULT_MODEL, cpu_has_bf16


def median_ms(fn, runs: int, warmup: int = 5) -> float:
    return interleaved_ms([fn], runs, warmup)[0]


def interleaved_ms(fns: list, runs: int, warmup: int = 5) -> list[float]:
    """The median time of each function, called in turn within every run, so that a machine that
    slows down or speeds up meanwhile (a shared VM does) weighs on all of them alike."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, taken in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            taken.append(time.perf_counter() - start)
    return [1000 * statistics.median(taken) for taken in times]


def calibrate(generator: UNetGenerator) -> UNetGenerator:
    """Give a random generator measured batch-norm statistics (speed does not depend on them, but a
    flat grey output would make the accuracy column meaningless)."""
    generator.train()
    with torch.no_grad():
        generator(torch.rand(2, generator.in_channels, 256, 256) * 2 - 1)
    return generator.eval()


def paths(compile: bool) -> list[tuple[str, dict]]:
    bf16 = torch.bfloat16 if cpu_has_bf16() else torch.float32
    rows = [
        ("eager fp32", dict(dtype=torch.float32, channels_last=False)),
        ("channels_last fp32", dict(dtype=torch.float32, channels_last=True)),
        ("channels_last bf16", dict(dtype=bf16, channels_last=True)),
    ]
    if compile:
        rows.append(
            ("compiled bf16 (inductor, frozen)", dict(dtype=bf16, channels_last=True, compile=True))
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="the compact model to compare")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile column")
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)

    reference = calibrate(UNetGenerator(in_channels=3, out_channels=3, ngf=64, num_downs=8))
    models = {"paper unet_256 (3->3, ngf 64)": (reference, torch.rand(1, 3, 256, 256) * 2 - 1)}
    if Path(args.model, "model.safetensors").is_file():
        compact = UNetGenerator.from_pretrained(args.model).eval()
        models[f"{Path(args.model).name} ({compact.in_channels}->3, ngf {compact.ngf})"] = (
            compact,
            torch.rand(1, compact.in_channels, 256, 256) * 2 - 1,  # a hint model takes 5
        )

    with torch.inference_mode():
        base = median_ms(lambda: reference(models["paper unet_256 (3->3, ngf 64)"][1]), args.runs)
    print(
        f"CPU: {torch.backends.cpu.get_cpu_capability()}, threads {torch.get_num_threads()}, "
        f"torch {torch.__version__}, bf16 native: {cpu_has_bf16()}\n"
    )
    # The ONNX rows need the optional packages, and are compared only when the compact model exists.
    with_onnx = onnx_installed() and len(models) > 1
    print("| model | path | ms / photo (median) | x reference | max abs diff vs fp32 eager |")
    print("|---|---|---|---|---|")
    print(f"| paper unet_256 | reference: fp32 eager | {base:.1f} | 1.00 | 0 |")
    for name, (generator, sketch) in models.items():
        expected = Translator(
            generator, device="cpu", dtype=torch.float32, channels_last=False
        ).run(sketch)
        for label, options in paths(not args.no_compile):
            translator = Translator(generator, device="cpu", **options)
            start = time.perf_counter()
            got = translator.run(sketch)  # the first call pays for compiling
            first = time.perf_counter() - start
            ms = median_ms(lambda t=translator, s=sketch: t.run(s), args.runs)
            note = f" (first call {first:.1f} s)" if options.get("compile") else ""
            diff = (got - expected).abs().max().item()
            print(f"| {name} | {label}{note} | {ms:.1f} | {ms / base:.3f} | {diff:.4f} |")
        if with_onnx:
            session = onnx_session(generator, threads=2)
            feed = {"sketch": sketch.numpy()}
            ms = median_ms(lambda s=session, f=feed: s.run(["photo"], f), args.runs)
            (got,) = session.run(["photo"], feed)
            diff = (torch.from_numpy(got) - expected).abs().max().item()
            print(f"| {name} | onnxruntime CPU fp32 | {ms:.1f} | {ms / base:.3f} | {diff:.4f} |")

    if len(models) > 1:
        runtimes = ["torch", "onnxruntime"] if with_onnx else ["torch"]
        pictures = canvas_pictures()
        for runtime in runtimes:
            translators = {runtime: Translator(args.model, device="cpu", runtime=runtime)}
            if translators[runtime].framer is not None:  # what finding the eyes costs
                translators[f"{runtime} without its framer"] = Translator(
                    args.model, device="cpu", runtime=runtime, framing=False
                )
            for label, picture in pictures.items():
                calls = [lambda t=t, p=picture: t.translate(p) for t in translators.values()]
                for how, ms in zip(translators, interleaved_ms(calls, args.runs), strict=True):
                    print(
                        f"| {Path(args.model).name} | Translator.translate on {how}, {label} -> "
                        f"PIL out | {ms:.1f} | {ms / base:.3f} | - |"
                    )
        sample = models["paper unet_256 (3->3, ngf 64)"][1]
        with torch.inference_mode():
            print_steps(translators[runtimes[-1]], pictures, lambda: reference(sample), args.runs)


REFERENCE = "reference: paper unet_256, fp32 eager (forward pass)"


def print_steps(translator: Translator, pictures: dict, reference, runs: int) -> None:
    """Where Translator.translate's time goes for the canvas PNGs of a centred drawing (which the
    framer leaves as drawn). Each step, the whole call and the reference's forward pass are timed
    in turn within every run, so the ratios hold however the machine's speed drifts meanwhile."""
    print(
        f"\nTranslator.translate on {translator.runtime}, step by step (median ms, and x the "
        "reference timed in the same runs):\n"
    )
    pictures = {k: v for k, v in pictures.items() if "canvas PNG" in k and "small" not in k}
    print("| step | " + " | ".join(pictures) + " |")
    print("|---|" + "---:|" * len(pictures))
    columns = []
    for png in pictures.values():
        picture = load_image(png)
        sketch, placement = to_sketch_tensor(picture, translator.size, translator.in_channels)
        output = translator.run(sketch)
        steps = {
            "decode the PNG (load_image)": lambda p=png: load_image(p),
            "grey, hints, resize, tensor (to_sketch_tensor)": lambda p=picture: to_sketch_tensor(
                p, translator.size, translator.in_channels
            ),
            "find the eyes (find_frames)": lambda s=sketch: translator.find_frames(s),
            "generator (run)": lambda s=sketch: translator.run(s),
            "back to an image (to_photo)": lambda o=output[0], pl=placement: to_photo(o, pl),
            "the whole call (translate)": lambda p=png: translator.translate(p),
            REFERENCE: reference,
        }
        columns.append(dict(zip(steps, interleaved_ms(list(steps.values()), runs), strict=True)))
    for step in columns[0]:
        cells = " | ".join(f"{c[step]:.2f} ({c[step] / c[REFERENCE]:.3f}x)" for c in columns)
        print(f"| {step} | {cells} |")


def canvas_pictures() -> dict:
    """What translate is handed: a blank 512x512 PIL image, and canvas PNG bytes (RGBA, opaque) of
    faces drawn in black, at 512x512 (the canvas's own size, the issue's measure) and at 256x256
    (what the app's page sends for a 256 model: it exports at the model's size): the first example,
    and the one drawn small in a corner (which a model with a framer moves to its framing and back,
    pix2pix.framing)."""
    import io

    from PIL import Image

    examples = Path(__file__).resolve().parents[1] / "examples"
    pictures = {"512x512 blank PIL in": Image.new("L", (512, 512), 255)}
    for example in (sorted(examples.glob("*.png"))[0], examples / "small_off_centre.png"):
        for size in (512, 256):
            drawing = Image.open(example).convert("RGBA").resize((size, size))
            png = io.BytesIO()
            drawing.save(png, format="PNG")
            label = f"{size}x{size} canvas PNG in ({example.name}, black lines, RGBA)"
            pictures[label] = png.getvalue()
    return pictures


if __name__ == "__main__":
    main()
