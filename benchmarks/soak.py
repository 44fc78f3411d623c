"""Soak: many clients calling /translate for a long time; does the server stay flat?

    python benchmarks/soak.py [--clients 16] [--calls 10000] [--warmup 300] [--model DIR_OR_REPO]
                              [--live]
    python benchmarks/soak.py --url http://host:7860/ [--pid PID] [--cache DIR]

Starts `python app.py` on a free port with a fresh GRADIO_TEMP_DIR (or uses the server at --url),
then `--clients` threads send `--warmup` calls and then `--calls` more, each through Gradio's plain
HTTP API (POST /gradio_api/call/translate, then read the result stream): what a script does,
every call in a session of its own, the worst case for the server's per-session state. With --live
they call the live route the page uses (POST /live/photo, live.py) instead. Each sketch is one of
the examples with a random stroke added, so no two calls are alike.

Prints, as markdown: the server's resident memory (VmRSS, from /proc: Linux) and the size of
Gradio's cache folder as the calls go by, then failures, calls/s and latency (p50, p99) after the
warm-up, and how far memory grew from the end of the warm-up. Nothing here is a test: the numbers
depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from live import LIVE_URL  # noqa: E402

EXAMPLES = sorted((REPO / "examples").glob("*.png"))
SKETCH_SIZE = 256  # what the page's canvas sends: the model's size
VARIANTS = 64  # distinct sketches made up front, so the clients spend their time waiting


def sketches(count: int, seed: int = 0) -> list[str]:
    """PNG data URLs as the canvas sends them: an example, fitted to the model's size, plus a stroke."""
    rng = random.Random(seed)
    urls = []
    for i in range(count):
        picture = Image.open(EXAMPLES[i % len(EXAMPLES)]).convert("L")
        picture = picture.resize((SKETCH_SIZE, SKETCH_SIZE))
        points = [(rng.randrange(SKETCH_SIZE), rng.randrange(SKETCH_SIZE)) for _ in range(4)]
        ImageDraw.Draw(picture).line(points, fill=0, width=3)
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        urls.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode())
    return urls


def defaults(url: str) -> list:
    """/translate's parameters after the sketch, at their defaults (the plain HTTP API wants them all)."""
    info = httpx.get(f"{url}gradio_api/info", timeout=30).json()
    parameters = info["named_endpoints"]["/translate"]["parameters"]
    return [parameter.get("parameter_default") for parameter in parameters[1:]]


def call(http: httpx.Client, url: str, data: list, session: str | None = None) -> str | None:
    """One /translate call through the plain HTTP API; None when a photo came back, else why not.
    `session`: the session it belongs to, as a page's calls all belong to the page's session (None:
    Gradio makes a new session for the call, which costs the server ~3 ms of its event loop)."""
    try:
        body = {"data": data} if session is None else {"data": data, "session_hash": session}
        posted = http.post(f"{url}gradio_api/call/translate", json=body)
        if posted.status_code != 200:
            return f"HTTP {posted.status_code}: {posted.text[:120]}"
        event_id = posted.json()["event_id"]
        event = None
        with http.stream("GET", f"{url}gradio_api/call/translate/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.partition(":")[2].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    data = json.loads(line.partition(":")[2])
                    if event == "error":
                        return f"error: {str(data)[:120]}"
                    return None if data and data[0] else "complete without a photo"
        return "the result stream ended without a result"
    except (httpx.HTTPError, ValueError, KeyError) as err:
        return f"{type(err).__name__}: {str(err)[:120]}"


def live_call(http: httpx.Client, url: str, drawing: str) -> str | None:
    """One photo from the live route, as the page asks for it; None when it came, else why not."""
    try:
        answer = http.post(url + LIVE_URL, json={"sketch": drawing})
        if answer.status_code != 200 or not answer.json().get("photo"):
            return f"HTTP {answer.status_code}: {answer.text[:120]}"
        return None
    except (httpx.HTTPError, ValueError) as err:
        return f"{type(err).__name__}: {str(err)[:120]}"


def rss_mib(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def folder_mib(folder: Path | None) -> float:
    if folder is None or not folder.is_dir():
        return float("nan")
    total = 0
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):  # deleted meanwhile
            total += path.stat().st_size if path.is_file() else 0
    return total / 2**20


class Soak:
    """Clients that share one counter of calls left; results and samples of the server over time."""

    def __init__(
        self, url: str, pid: int | None, cache: Path | None, clients: int, seed: int, live: bool
    ):
        self.url, self.pid, self.cache, self.clients, self.live = url, pid, cache, clients, live
        self.sketches = sketches(VARIANTS, seed)
        self.rest = defaults(url)
        self.lock = threading.Lock()
        self.samples: list[tuple[str, int, float, float, float]] = []
        self.done = 0

    def run(self, calls: int, label: str, every: int) -> tuple[list[float], Counter]:
        """`calls` calls from all clients; (latencies of the good ones in ms, failures by reason)."""
        left = iter(range(calls))
        latencies, failures = [], Counter()
        start = time.perf_counter()

        def client() -> None:
            with httpx.Client(timeout=120) as http:
                while True:
                    with self.lock:
                        if next(left, None) is None:
                            return
                    sketch = random.choice(self.sketches)
                    t0 = time.perf_counter()
                    problem = (
                        live_call(http, self.url, sketch)
                        if self.live
                        else call(http, self.url, [sketch, *self.rest])
                    )
                    ms = (time.perf_counter() - t0) * 1000
                    with self.lock:
                        self.done += 1
                        if problem is None:
                            latencies.append(ms)
                        else:
                            failures[problem] += 1
                        if self.done % every == 0:
                            self.sample(label, start)

        threads = [threading.Thread(target=client) for _ in range(self.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self.samples[-1][1] != self.done:
            self.sample(label, start)
        return latencies, failures

    def sample(self, label: str, start: float) -> None:
        rss, cache = rss_mib(self.pid), folder_mib(self.cache)
        self.samples.append((label, self.done, time.perf_counter() - start, rss, cache))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: str | None, cache: Path) -> tuple[subprocess.Popen, str]:
    """`python app.py` on a free port, its cache in `cache`; the process and its URL once it answers."""
    port = free_port()
    command = [sys.executable, "app.py", "--port", str(port)] + (
        ["--model", model] if model else []
    )
    env = {**os.environ, "GRADIO_TEMP_DIR": str(cache), "GRADIO_ANALYTICS_ENABLED": "False"}
    log = open(cache.parent / "server.log", "w")  # noqa: SIM115 (the server writes it while we run)
    server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(
                f"app.py exited with {server.returncode}: {(cache.parent / 'server.log').read_text()}"
            )
        try:
            httpx.get(url, timeout=2)
            return server, url
        except httpx.HTTPError:
            time.sleep(0.3)
    server.kill()
    sys.exit("app.py did not answer within 3 minutes.")


def report(soak: Soak, latencies: list[float], failures: Counter, seconds: float, args) -> None:
    print(f"## Soak: {args.clients} clients, {args.warmup} warm-up calls, then {args.calls}\n")
    print(
        f"CPU threads: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at the end; "
        f"server {soak.url}\n"
    )
    print("| phase | calls done | s | resident memory (MiB) | cache folder (MiB) |")
    print("|---|---:|---:|---:|---:|")
    for label, done, at, rss, cache in soak.samples:
        print(f"| {label} | {done} | {at:.0f} | {rss:.0f} | {cache:.1f} |")
    warm = [rss for label, _, _, rss, _ in soak.samples if label == "warm-up"][-1]
    after = [rss for label, _, _, rss, _ in soak.samples if label == "soak"]
    cache = max(sample[4] for sample in soak.samples)
    failed = sum(failures.values())
    ms = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    print(
        "\n| failures | calls/s | p50 latency (ms) | p99 latency (ms) | memory after warm-up "
        "(MiB) | at the end | growth | peak | cache folder at most (MiB) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {failed} of {args.calls} | {args.calls / seconds:.1f} | {ms[49]:.0f} | {ms[98]:.0f} | "
        f"{warm:.0f} | {after[-1]:.0f} | {after[-1] - warm:+.0f} | {max(after):.0f} | {cache:.1f} |"
    )
    for reason, count in failures.most_common(5):
        print(f"\n{count} x {reason}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--calls", type=int, default=10_000, help="calls after the warm-up")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--samples", type=int, default=10, help="rows in the table over time")
    parser.add_argument("--model", help="--model for app.py (default: the bundled one)")
    parser.add_argument("--url", help="soak this server instead of starting app.py")
    parser.add_argument("--pid", type=int, help="with --url: the server's process id, for memory")
    parser.add_argument("--cache", type=Path, help="with --url: its GRADIO_TEMP_DIR")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--live", action="store_true", help="call the live route the page uses (live.py) instead"
    )
    args = parser.parse_args()

    random.seed(args.seed)
    if args.url:
        return measure(args.url.rstrip("/") + "/", args.pid, args.cache, args)
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        cache = Path(folder) / "gradio"
        server, url = start_server(args.model, cache)
        try:
            measure(url, server.pid, cache, args)
        finally:
            server.terminate()
            server.wait(timeout=30)


def measure(url: str, pid: int | None, cache: Path | None, args) -> None:
    """The warm-up, then the soak, then the report."""
    soak = Soak(url, pid, cache, args.clients, args.seed, args.live)
    soak.sample("start", time.perf_counter())
    soak.run(args.warmup, "warm-up", max(1, args.warmup))
    start = time.perf_counter()
    latencies, failures = soak.run(args.calls, "soak", max(1, args.calls // args.samples))
    report(soak, latencies, failures, time.perf_counter() - start, args)


if __name__ == "__main__":
    main()
