"""How many people can draw at once: N visitors each keep one request in flight against app.py.

    python benchmarks/capacity.py [--visitors 1 2 4 8 16] [--seconds 15] [--model DIR_OR_REPO]

Starts `python app.py` on a free port (as benchmarks/soak.py does) and, for each N, runs N threads
for a fixed time; each sends a drawing to the live route the page uses (POST /live/photo, live.py;
with --api through Gradio's plain HTTP API instead: POST /gradio_api/call/translate, then the
result stream, in a session of its own), waits for its photo and sends the next, with a different
drawing each time: what N visitors drawing live do (the page keeps one request in flight per
visitor). Prints a markdown table: photos a second for each visitor and in all, latency
p50 / p99, and the server's CPU use (from /proc: Linux; 200% is both cores of a 2-core machine).
Nothing here is a test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.soak import call, defaults, live_call, sketches, start_server
from live import LIVE_PATH


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def visitors(
    url: str,
    count: int,
    seconds: float,
    drawings: list[str],
    rest: list,
    api: bool = False,
    sessions: bool = True,
) -> dict:
    """count visitors for `seconds`: each sends, waits for its photo, sends the next. Through the
    live route as the page does, or (api) through Gradio's /translate, each visitor in its own
    session (sessions=False: every call a new session, as bare API calls are)."""
    latencies: list[list[float]] = [[] for _ in range(count)]
    failures: list[str] = []
    stop = time.monotonic() + seconds

    def visitor(k: int) -> None:
        session = f"capacity-{os.getpid()}-{k}" if sessions else None
        with httpx.Client(timeout=60) as http:
            i = k
            while time.monotonic() < stop:
                start = time.perf_counter()
                drawing = drawings[i % len(drawings)]
                why = (
                    call(http, url, [drawing, *rest], session)
                    if api
                    else live_call(http, url, drawing)
                )
                if why:
                    failures.append(why)
                else:
                    latencies[k].append(time.perf_counter() - start)
                i += count

    threads = [threading.Thread(target=visitor, args=(k,)) for k in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", nargs="+", type=int, default=[1, 2, 4, 8, 16])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--model", help="the app's --model (default: the bundled one)")
    parser.add_argument(
        "--api",
        action="store_true",
        help="through Gradio's /translate API (queue, result stream) instead of the live route",
    )
    parser.add_argument(
        "--fresh-sessions",
        action="store_true",
        help="every call in a new Gradio session (bare API calls) instead of one per visitor (pages)",
    )
    args = parser.parse_args()
    drawings = sketches(64)
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder) / "cache"
        cache.mkdir()
        server, url = start_server(args.model, cache)
        try:
            rest = defaults(url)
            visitors(url, 2, 5, drawings, rest)  # warm up: the ONNX export, the first sessions
            path = "Gradio's /translate API" if args.api else f"the live route {LIVE_PATH}"
            print(
                f"`python app.py`, {os.cpu_count()} CPU cores, {args.seconds:.0f} s per row, "
                f"through {path}\n"
            )
            print(
                "| visitors | photos/s each | photos/s in all | p50 ms | p99 ms | server CPU | failed |"
            )
            print("|---|---|---|---|---|---|---|")
            for count in args.visitors:
                used = cpu_seconds(server.pid)
                begin = time.monotonic()
                result = visitors(
                    url, count, args.seconds, drawings, rest, args.api, not args.fresh_sessions
                )
                taken = time.monotonic() - begin
                cpu = (cpu_seconds(server.pid) - used) / taken
                every = sorted(x for each in result["latencies"] for x in each)
                each = statistics.mean(len(x) for x in result["latencies"]) / taken
                p99 = every[min(len(every) - 1, int(0.99 * len(every)))] if every else float("nan")
                median = statistics.median(every) if every else float("nan")
                print(
                    f"| {count} | {each:.1f} | {len(every) / taken:.1f} | {1000 * median:.0f} | "
                    f"{1000 * p99:.0f} | {100 * cpu:.0f}% | {len(result['failures'])} |",
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
