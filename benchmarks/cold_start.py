"""Cold start: from `python app.py` to the first photo served, and the server's peak memory.

Starts app.py as a user would, asks for a photo through the API as soon as the port answers, and
reads the server's peak resident memory (VmHWM) after a few more photos.

    python benchmarks/cold_start.py [--model checkpoints/faces] [--runs 3]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKETCH = ROOT / "examples" / "doodle.png"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_start(model: str | None) -> tuple[float, float, float]:
    """(seconds to the port answering, seconds to the first photo, peak RSS MiB after 10 photos)."""
    from gradio_client import Client, handle_file

    port = free_port()
    command = [sys.executable, "app.py", "--port", str(port)] + (
        ["--model", model] if model else []
    )
    start = time.perf_counter()
    server = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while True:
            if server.poll() is not None:
                raise SystemExit(
                    f"app.py exited with {server.returncode}; run it by hand to see why"
                )
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.02)
        listening = time.perf_counter() - start
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        client.predict(handle_file(str(SKETCH)), api_name="/translate")
        first = time.perf_counter() - start
        for _ in range(10):
            client.predict(handle_file(str(SKETCH)), api_name="/translate")
        return listening, first, peak_rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", default=None, help="model folder or Hub id (default: the bundled model)"
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = [one_start(args.model) for _ in range(args.runs)]
    print(
        "| run | port answers (s) | first photo served (s) | server peak RSS after 11 photos (MiB) |"
    )
    print("|---|---|---|---|")
    for i, (listening, first, rss) in enumerate(results, 1):
        print(f"| {i} | {listening:.2f} | {first:.2f} | {rss:.0f} |")
    print(
        f"| median | {statistics.median(r[0] for r in results):.2f} | "
        f"{statistics.median(r[1] for r in results):.2f} | {statistics.median(r[2] for r in results):.0f} |"
    )


if __name__ == "__main__":
    main()
