"""How live is the demo: pointer release -> new photo, stroke by stroke, in headless Chromium.

    python benchmarks/app_latency.py [--model DIR_OR_REPO] [--runtime torch|onnxruntime] [--stock]

Starts `python app.py` (with GRADIO_PROFILING=1, so Gradio records its server-side phases), draws a
face stroke by stroke with the mouse, waiting for each photo, and prints a markdown table of the
milliseconds from release to the photo's load event and where they went:

- in the page: redraw + PNG export + dispatch (performance marks in canvas.js), the request until
  the photo is set (HTTP, queue, server, result message, Svelte), its decode; the photo comes
  inline as a data URL (the stock app's is a file: there the photo's GET is timed too);
- on the server: Gradio's queue wait, pre/postprocessing and the function (GRADIO_PROFILING), and
  the function split into its steps by replaying the sketches the page sent in this process.

Then it draws the face again without waiting between strokes and checks no stroke was lost: the
last drawing sent must hold every stroke, and the photo shown must be its translation.

Then the photo following the pen: one continuous 2-second stroke (pointer events at 60 Hz, sent in
the page itself so that the pen's pace does not depend on Playwright), by one visitor and by 4
visitors drawing at once (4 pages, one server): photos shown per second during the stroke, the
delay from each picture the canvas exported to its photo, release -> the final photo, and whether
the page stayed smooth meanwhile (the longest gap between the 16 ms pen events, which the page's
main thread fires, and Chrome's long tasks of 50 ms or more during the stroke). With
--stock it also measures a plain gr.Sketchpad -> gr.Image app running the same model, for contrast.
Nothing here is a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as app.py sets it, for the replay below

import argparse
import contextlib
import json
import math
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app import photo_data_url, read_canvas  # noqa: E402
from benchmarks.chromium import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    PHOTO_REQUESTS,
    photo_request_hook,
    sketch_sent,
)
from pix2pix import Translator  # noqa: E402
from pix2pix.export import onnx_installed  # noqa: E402
from pix2pix.imaging import load_image, to_photo, to_sketch_tensor  # noqa: E402

# The canvas (a CSS selector) is there and nothing covers it: Gradio lays a translucent status
# tracker over components for a moment after the page loads, and a stroke begun on it is lost.
READY = """(selector) => {
    const canvas = document.querySelector(selector);
    if (!canvas) return false;
    const box = canvas.getBoundingClientRect();
    const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return top.closest("#sketch") !== null && !top.closest("[data-testid=status-tracker]");
}"""

# Release times, photo load times and resource timings, recorded in the page itself.
PAGE_HOOKS = """() => {
    performance.setResourceTimingBufferSize(100000);
    window.bench = { releases: [], photos: [], longTasks: [] };
    addEventListener("pointerup", () => bench.releases.push(performance.now()), true);
    // Main-thread tasks of 50 ms or more (Chrome's long tasks): the page stuttering.
    new PerformanceObserver((list) => bench.longTasks.push(...list.getEntries()))
        .observe({ type: "longtask" });
    const hooked = new WeakSet();
    const hook = (img) => {
        if (hooked.has(img)) return;
        hooked.add(img);
        img.addEventListener("load", () => bench.photos.push({ t: performance.now(), src: img.src }));
    };
    new MutationObserver(() => document.querySelectorAll("#photo img").forEach(hook))
        .observe(document.body, { subtree: true, childList: true });
}"""

# Milestones of the last stroke, in ms since its release: what the page did, and when each request
# (resource timing) started and ended. The result stream (/queue/data) is opened after the join.
STROKE_TIMES = """(i) => {
    const release = bench.releases[bench.releases.length - 1];
    const photo = bench.photos[i];
    const after = (entries) => entries.filter((e) => e.startTime >= release);
    const first = (names) => after(performance.getEntriesByType("resource"))
        .find((r) => names.some((name) => r.name.includes(name)));
    const since = (t) => (t === undefined ? null : t - release);
    const sent = after(performance.getEntriesByName("sketch:sent"))[0];
    const uploads = after(performance.getEntriesByType("resource"))
        .filter((r) => r.name.includes("/gradio_api/upload") || r.name.includes("/component_server"));
    const fetch = performance.getEntriesByName(photo.src)[0];
    return {
        "canvas value set": since(sent?.startTime),
        "uploads start": since(uploads[0]?.startTime),
        "uploads end": since(uploads.length ? Math.max(...uploads.map((u) => u.responseEnd)) : undefined),
        "photo request start": since(first(PHOTO_REQUESTS)?.startTime),
        "photo request end": since(first(PHOTO_REQUESTS)?.responseEnd),
        "result stream start": since(first(["/queue/data"])?.startTime),
        "photo URL set (GET starts)": since(fetch?.startTime),
        "photo GET end": since(fetch?.responseEnd),
        "photo loaded": since(photo.t),
        uploads: uploads.length,
    };
}""".replace("PHOTO_REQUESTS", json.dumps(PHOTO_REQUESTS))
# The photo of the drawing at the last release (1 + its index in bench.photos), or false while it
# has not come: the photo that answers the last request, when that left after the release. Photos
# that answer pictures sent while the pen moved come before it.
RELEASE_PHOTO = """() => {
    const release = bench.releases[bench.releases.length - 1];
    const join = joins[joins.length - 1];
    if (!(join >= release)) return false;
    const i = bench.photos.findIndex((p) => p.t > join);
    return i >= 0 && i + 1;
}"""
MILESTONES = [
    "canvas value set",
    "uploads start",
    "uploads end",
    "photo request start",
    "photo request end",
    "result stream start",
    "photo URL set (GET starts)",
    "photo GET end",
    "photo loaded",
]


# Before the page's scripts: when each request for a photo leaves (to the live route, or a join of
# Gradio's queue), on the page's performance.now() clock.
JOIN_HOOK = photo_request_hook("performance.now()")

# One continuous stroke, drawn by the page itself: pointer events every 16 ms for `seconds`, a
# spiral around the canvas's middle. Returns at once; window.strokeDone is set when the pen lifts.
CONTINUOUS_STROKE = """(seconds) => {
    const canvas = document.querySelector("#sketch canvas");
    const box = canvas.getBoundingClientRect();
    const at = (f) => {
        const angle = 6 * Math.PI * f, radius = 0.1 + 0.3 * f;
        return {
            clientX: box.left + box.width * (0.5 + radius * Math.cos(angle)),
            clientY: box.top + box.height * (0.5 + radius * Math.sin(angle)),
        };
    };
    const fire = (type, f) => canvas.dispatchEvent(new PointerEvent(type, {
        ...at(f), pointerId: 1, pointerType: "mouse", isPrimary: true, button: 0,
        buttons: type === "pointerup" ? 0 : 1, bubbles: true,
    }));
    window.strokeDone = false;
    window.stroke = { down: performance.now(), moves: [] };
    fire("pointerdown", 0);
    const timer = setInterval(() => {
        stroke.moves.push(performance.now()); // late when the main thread was busy
        const f = Math.min(1, (performance.now() - stroke.down) / (1000 * seconds));
        fire("pointermove", f);
        if (f < 1) return;
        clearInterval(timer);
        stroke.up = performance.now();
        fire("pointerup", 1);
        window.strokeDone = true;
    }, 16);
}"""

# The stroke's numbers, from the marks canvas.js leaves, JOIN_HOOK and PAGE_HOOKS' photo loads.
STROKE_STATS = """() => {
    const { down, up } = stroke;
    const sent = performance.getEntriesByName("sketch:sent").map((m) => m.startTime)
        .filter((t) => t >= down);
    const sentJoins = joins.filter((t) => t >= down);
    const photos = bench.photos.map((p) => p.t).filter((t) => t >= down);
    // One request in flight: a photo answers the last request sent before it, which carried the
    // last picture the canvas exported before that request left.
    const delays = photos.map((t) => {
        const join = sentJoins.filter((j) => j < t).pop();
        const picture = join === undefined ? undefined : sent.filter((s) => s <= join).pop();
        return picture === undefined ? null : t - picture;
    }).filter((d) => d !== null);
    const lastJoin = sentJoins[sentJoins.length - 1];
    const final = photos.find((t) => t > lastJoin && lastJoin >= up);
    const gaps = stroke.moves.slice(1).map((t, i) => t - stroke.moves[i]);
    const stalls = bench.longTasks.filter((e) => e.startTime + e.duration > down && e.startTime < up);
    return {
        seconds: (up - down) / 1000,
        pictures: sent.filter((t) => t < up).length,
        requests: sentJoins.filter((t) => t < up).length,
        photos: photos.filter((t) => t < up).length,
        delays,
        release: final === undefined ? null : final - up,
        gap: Math.max(...gaps),
        stalls: stalls.length,
    };
}"""


def face_strokes() -> list[list[tuple[float, float]]]:
    """A face in 18 strokes, as fractions of the canvas: head, ears, eyes, brows, nose, mouth,
    hair (an outline, then each half scribbled dark, as people shade hair), neck and shoulders."""

    def arc(cx, cy, rx, ry, start, end, n=24):
        angles = np.radians(np.linspace(start, end, n))
        return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]

    def scribble(start, end, n=36):  # zig-zag across the band between the hairline and the skull
        angles = np.radians(np.linspace(start, end, n))
        radii = [(0.2, 0.22) if k % 2 else (0.29, 0.39) for k in range(n)]
        return [
            (0.5 + rx * math.cos(a), 0.48 + ry * math.sin(a))
            for a, (rx, ry) in zip(angles, radii, strict=True)
        ]

    return [
        arc(0.5, 0.5, 0.26, 0.34, 270, 90),  # right half of the head, top to chin
        arc(0.5, 0.5, 0.26, 0.34, 270, 450)[::-1],  # left half
        arc(0.24, 0.5, 0.035, 0.06, 270, 90)[::-1],  # ears
        arc(0.76, 0.5, 0.035, 0.06, 270, 450),
        arc(0.4, 0.46, 0.05, 0.022, 0, 360),  # eyes
        arc(0.6, 0.46, 0.05, 0.022, 0, 360),
        arc(0.4, 0.46, 0.01, 0.01, 0, 360, 6),  # pupils
        arc(0.6, 0.46, 0.01, 0.01, 0, 360, 6),
        arc(0.4, 0.42, 0.06, 0.02, 200, 340),  # brows
        arc(0.6, 0.42, 0.06, 0.02, 200, 340),
        [(0.5, 0.49), (0.48, 0.56), (0.47, 0.6), (0.5, 0.61), (0.53, 0.6)],  # nose
        arc(0.5, 0.66, 0.08, 0.04, 20, 160),  # mouth
        arc(0.5, 0.4, 0.27, 0.27, 190, 350),  # hair line
        [(0.3, 0.3), (0.4, 0.2), (0.5, 0.17), (0.62, 0.2), (0.7, 0.3)],  # hair
        [(0.42, 0.8), (0.42, 0.92), (0.2, 0.98)],  # neck and shoulders
        [(0.58, 0.8), (0.58, 0.92), (0.8, 0.98)],
        scribble(268, 185),  # hair, left half
        scribble(272, 355),  # right half
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(command: list[str], port: int) -> subprocess.Popen:
    """Start a server and wait until it answers."""
    env = {**os.environ, "GRADIO_PROFILING": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"The app did not start:\n{server.stdout.read()}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    sys.exit("The app did not answer within 3 minutes.")


def traces(port: int, name: str) -> list[dict]:
    url = f"http://127.0.0.1:{port}/gradio_api/profiling/traces"
    with urllib.request.urlopen(url) as response:
        return [t for t in json.load(response) if t["fn_name"] == name]


def draw(page, stroke, box) -> None:
    def at(p):
        return box["x"] + p[0] * box["width"], box["y"] + p[1] * box["height"]

    page.mouse.move(*at(stroke[0]))
    page.mouse.down()
    for p in stroke[1:]:
        page.mouse.move(*at(p), steps=2)
    page.mouse.up()


def open_page(browser, url: str, ready: str = "#sketch .pad[data-ready] canvas", then_click=""):
    """A new page at `url` once the `ready` canvas can be drawn on, `then_click` clicked, PAGE_HOOKS in."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.sent = []
    page.on("request", lambda r: record_sketch(page, r))
    page.add_init_script(JOIN_HOOK)
    page.goto(url)
    page.wait_for_function(READY, arg=ready)
    page.evaluate(PAGE_HOOKS)
    if then_click:
        page.click(then_click)
    return page


def record_sketch(page, request) -> None:
    sketch = sketch_sent(request)
    if sketch is not None:
        page.sent.append(sketch)


def draw_waiting(page, strokes, canvas: str) -> list[dict | None]:
    """Each stroke, then wait for its photo; per stroke the page's timings (None: no photo)."""
    box = page.locator(canvas).bounding_box()
    rows = []
    for stroke in strokes:
        draw(page, stroke, box)
        try:
            found = page.wait_for_function(RELEASE_PHOTO, timeout=10_000)
        except Exception:  # playwright's TimeoutError: this stroke brought no photo
            rows.append(None)
            continue
        rows.append(page.evaluate(STROKE_TIMES, found.json_value() - 1))
    return rows


def median(values) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def replay(translator: Translator, sketches: list[str]) -> dict[str, float]:
    """The function's steps, timed in this process on the sketches the page sent (median ms)."""
    steps = {
        "decode data URL": [],
        "sketch tensor": [],
        "generator": [],
        "photo + JPEG data URL": [],
    }
    for sketch in sketches * 2:
        t0 = time.perf_counter()
        picture = load_image(read_canvas(sketch))
        t1 = time.perf_counter()
        tensor, placement = to_sketch_tensor(picture, translator.size, translator.in_channels)
        t2 = time.perf_counter()
        output = translator.run(tensor)
        t3 = time.perf_counter()
        photo_data_url(to_photo(output[0], placement))
        t4 = time.perf_counter()
        for step, ms in zip(steps, np.diff([t0, t1, t2, t3, t4]) * 1000, strict=True):
            steps[step].append(ms)
    return {step: statistics.median(ms) for step, ms in steps.items()}


def report(title: str, rows: list[dict | None], server: list[dict]) -> float:
    """Per-stroke table, then the median of every milestone and of the server's share; the median."""
    got = [r for r in rows if r]
    total = median(r["photo loaded"] for r in got)
    print(f"## {title}\n")
    print(
        "| stroke | request leaves | photo URL set | release → photo | server (queue + process) |"
    )
    print("|---:|---:|---:|---:|---:|")
    traces_left = iter(server)
    for i, row in enumerate(rows, 1):
        if row is None:
            print(f"| {i} | | | no photo within 10 s | |")
            continue
        trace = next(traces_left, None)
        cells = [
            row["photo request start"],
            row["photo URL set (GET starts)"],
            row["photo loaded"],
            trace and trace["queue_wait_ms"] + trace["total_ms"],
        ]
        print(f"| {i} | " + " | ".join("" if c is None else f"{c:.0f}" for c in cells) + " |")
    print(
        f"\nMedian release → photo: **{total:.0f} ms**; {len(rows) - len(got)} of {len(rows)} strokes brought no photo.\n"
    )
    print("Timeline of a stroke (median ms after the pointer's release):\n")
    print("| milestone | ms |\n|---|---:|")
    for milestone in MILESTONES:
        value = median(r[milestone] for r in got)
        if not math.isnan(value):
            print(f"| {milestone} | {value:.1f} |")
    if any(r["uploads"] for r in got):
        print(
            f"| (uploads + component_server calls per stroke) | {median(r['uploads'] for r in got):.0f} |"
        )
    print("\nOn the server (GRADIO_PROFILING, median ms):\n")
    print("| phase | ms |\n|---|---:|")
    print(f"| queue wait | {median(t['queue_wait_ms'] for t in server):.1f} |")
    print(f"| preprocess + function + postprocess | {median(t['total_ms'] for t in server):.1f} |")
    return total


def measure_app(browser, args, strokes) -> None:
    port = free_port()
    command = [sys.executable, "app.py", "--port", str(port), "--runtime", args.runtime]
    server = serve(command + (["--model", args.model] if args.model else []), port)
    try:
        url = f"http://127.0.0.1:{port}/"
        page = open_page(browser, url)
        rows = draw_waiting(page, strokes, "#sketch canvas")
        if args.screenshot:
            page.screenshot(
                path=args.screenshot, clip={"x": 0, "y": 0, "width": 1280, "height": 720}
            )
        sent = list(page.sent)
        final = sent[-1]
        server_traces = traces(port, "translate")
        page.close()

        page = open_page(browser, url)  # the same face, strokes back to back
        box = page.locator("#sketch canvas").bounding_box()
        start = time.monotonic()
        for stroke in strokes:
            draw(page, stroke, box)
        drawing_s = time.monotonic() - start
        translator = Translator(args.model, runtime=args.runtime)
        photo = photo_data_url(translator.translate(read_canvas(final)))  # as the app sends it
        expected = np.asarray(load_image(read_canvas(photo)))
        settled = wait_for_photo(page, final, expected)
        quick = (len(page.evaluate("bench.photos")), len(page.sent), settled)
        page.close()
        continuous = {n: measure_continuous(browser, url, n) for n in (1, 4)}
    finally:
        server.terminate()
        server.wait()

    report("sketch2photo app: gr.HTML canvas -> gr.Image", rows, server_traces)
    print("\nThe function's steps, replayed here on the sketches the page sent (median ms):\n")
    print("| step | ms |\n|---|---:|")
    for step, ms in replay(translator, sent).items():
        print(f"| {step} | {ms:.1f} |")
    photos, requests, settled = quick
    print(
        f"\nQuick drawing ({len(strokes)} strokes in {drawing_s:.1f} s, no waiting): {requests} "
        f"requests sent (one in flight: strokes that end while one runs are merged), {photos} photos "
        f"shown; the last photo shows the complete drawing: {'yes' if settled else 'NO'}.\n"
    )
    report_continuous(continuous)


def measure_continuous(browser, url: str, visitors: int, seconds: float = 2.0) -> list[dict]:
    """`visitors` pages draw one continuous stroke each, at the same time; each page's STROKE_STATS."""
    pages = [open_page(browser, url) for _ in range(visitors)]
    for page in pages:
        page.evaluate(CONTINUOUS_STROKE, seconds)
    stats = []
    for page in pages:
        page.wait_for_function("window.strokeDone", timeout=60_000)
        # The photo of the drawing at release: after the last request, which left after it. None
        # within 15 s (playwright's TimeoutError) is reported as no final photo.
        with contextlib.suppress(Exception):
            page.wait_for_function(
                "bench.photos.length && joins.length && stroke.up <= joins[joins.length - 1] "
                "&& bench.photos[bench.photos.length - 1].t > joins[joins.length - 1]",
                timeout=15_000,
            )
        stats.append(page.evaluate(STROKE_STATS))
    for page in pages:
        page.close()
    return stats


def report_continuous(rows: dict[int, list[dict]]) -> None:
    """One row per visitor of each run: the rates and delays of the continuous stroke."""
    print("## The photo following the pen: one continuous stroke\n")
    print(
        "| visitors drawing | visitor | stroke s | pictures exported | requests | photos during "
        "stroke | photos / s | sketch → photo ms (median, max) | release → photo ms | pen events: "
        "longest gap ms (sent every 16) | main-thread tasks ≥ 50 ms |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for visitors, stats in rows.items():
        for i, r in enumerate(stats, 1):
            delays = r["delays"]
            delay = f"{median(delays):.0f}, {max(delays):.0f}" if delays else "no photo"
            release = "no photo" if r["release"] is None else f"{r['release']:.0f}"
            print(
                f"| {visitors} | {i} | {r['seconds']:.1f} | {r['pictures']} | {r['requests']} | "
                f"{r['photos']} | {r['photos'] / r['seconds']:.1f} | {delay} | {release} | "
                f"{r['gap']:.0f} | {r['stalls']} |"
            )
    print()


def wait_for_photo(page, final: str, expected: np.ndarray, timeout: float = 15) -> bool:
    """Whether the page ends up sending `final` and showing `expected` for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        src = page.evaluate("document.querySelector('#photo img')?.src ?? null")
        if page.sent and page.sent[-1] == final and src:
            shown = np.asarray(load_image(read_canvas(src)))
            if np.array_equal(shown, expected):
                return True
        page.wait_for_timeout(50)
    return False


def serve_stock(model: str | None, port: int) -> None:
    """A plain gr.Sketchpad -> gr.Image app with the same model, as the issue measured it."""
    import gradio as gr

    translator = Translator(model)
    translator.warm_up()
    with gr.Blocks() as demo:
        with gr.Row():
            sketch = gr.Sketchpad(elem_id="sketch", type="pil")
            photo = gr.Image(elem_id="photo", format="png")
        sketch.change(
            lambda s: translator.translate(s) if s else None, sketch, photo, api_name="stock"
        )
    demo.launch(server_name="127.0.0.1", server_port=port, quiet=True)


def measure_stock(browser, args, strokes) -> None:
    port = free_port()
    command = [sys.executable, __file__, "--serve-stock", str(port)]
    server = serve(command + (["--model", args.model] if args.model else []), port)
    try:
        url = f"http://127.0.0.1:{port}/"
        page = open_page(browser, url, "#sketch canvas", then_click="button[aria-label='Brush']")
        rows = draw_waiting(page, strokes, "#sketch canvas >> nth=-1")
        server_traces = traces(port, "stock")
    finally:
        server.terminate()
        server.wait()
    report("stock gr.Sketchpad -> gr.Image, same model", rows, server_traces)
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model folder or Hub repo id (default: the bundled one)")
    parser.add_argument(
        "--stock", action="store_true", help="also measure a plain gr.Sketchpad app"
    )
    parser.add_argument(
        "--runtime",
        choices=("torch", "onnxruntime"),
        default="onnxruntime" if onnx_installed() else "torch",
        help="the app's --runtime (default: onnxruntime when installed, as app.py ends up using)",
    )
    parser.add_argument("--screenshot", type=Path, help="save the page with the face drawn here")
    parser.add_argument("--serve-stock", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stock:
        return serve_stock(args.model, args.serve_stock)

    from playwright.sync_api import sync_playwright

    strokes = face_strokes()
    print(
        f"Runtime: {args.runtime}. CPU threads: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} (other work skews this)\n"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        measure_app(browser, args, strokes)
        if args.stock:
            measure_stock(browser, args, strokes)
        browser.close()


if __name__ == "__main__":
    main()
