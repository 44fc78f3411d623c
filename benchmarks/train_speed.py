"""Training speed: steps/s and images/s of the real train_step, per setting, with peak memory.

Each setting runs in its own process so its peak resident memory is its own. The paper's settings
are unet_256 (ngf 64) against the 70x70 PatchGAN (ndf 64), batch 1, 256x256.

    python benchmarks/train_speed.py [--device cpu|cuda] [--steps 5] [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class Setting(NamedTuple):
    """One row of the table: what differs from the paper's step (batch 1, fp32, L1 + GAN)."""

    label: str
    ngf: int
    ndf: int
    batch: int = 1
    amp: bool = False
    hints: bool = False
    threads: int = 0  # 0: torch's default
    lambda_fm: float = 0
    d_scales: int = 1
    lambda_regions: float = 0


PAPER = dict(label="paper: unet_256 + PatchGAN", ngf=64, ndf=64)
BUNDLED = dict(label="bundled: ngf 16 + ndf 32", ngf=16, ndf=32, hints=True)
SETTINGS = [
    Setting(**PAPER),
    Setting(**PAPER, amp=True),
    Setting(**PAPER, batch=16),
    Setting(**PAPER, batch=16, amp=True),
    Setting(**BUNDLED),
    Setting(**BUNDLED, amp=True),
    Setting(**BUNDLED, amp=True, threads=1),
    Setting(**BUNDLED, amp=True, threads=1, lambda_fm=10),
    Setting(**BUNDLED, amp=True, batch=4),
    Setting(**BUNDLED, batch=16),
    Setting(**BUNDLED, amp=True, threads=1, lambda_fm=10, d_scales=2),
    Setting(**BUNDLED, amp=True, threads=1, lambda_fm=10, d_scales=3),
    Setting(**BUNDLED, amp=True, threads=1, lambda_fm=10, lambda_regions=1),
]


def measure(setting: Setting, device: str, steps: int) -> dict:
    from train.config import TrainConfig
    from train.loop import Precision, build_models, train_step
    from train.regions import REGIONS

    torch.set_num_threads(setting.threads or torch.get_num_threads())
    dev = torch.device(device)
    batch = setting.batch
    config = TrainConfig(
        ngf=setting.ngf,
        ndf=setting.ndf,
        batch_size=batch,
        amp=setting.amp,
        hints=setting.hints,
        lambda_fm=setting.lambda_fm,
        d_scales=setting.d_scales,
        lambda_regions=setting.lambda_regions,
    )
    models = build_models(config, dev)
    precision = Precision(setting.amp, dev)
    fmt = torch.channels_last
    data = {
        "input": (
            torch.rand(batch, 5 if setting.hints else 1, 256, 256, device=dev) * 2 - 1
        ).contiguous(memory_format=fmt),
        "target": (torch.rand(batch, 3, 256, 256, device=dev) * 2 - 1).contiguous(
            memory_format=fmt
        ),
        # a region map with every region (--lambda-regions): random labels, as costly as real ones
        "regions": torch.randint(0, len(REGIONS), (batch, 256, 256), device=dev),
    }
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for _ in range(2):
        train_step(models, data, config, precision)
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        train_step(models, data, config, precision)
    sync()
    seconds = (time.perf_counter() - start) / steps
    peak = (torch.cuda.max_memory_allocated() / 2**20) if dev.type == "cuda" else None
    return {
        "s_per_step": seconds,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "gpu_mib": peak,
        # --amp on a CPU without native bf16 trains in fp32 (train.loop.Precision)
        "precision": "fp32 (--amp ignored)"
        if precision.emulated
        else ("amp (bf16)" if precision.enabled else "fp32"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--steps", type=int, default=5, help="timed steps per setting (after 2 warm-up steps)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="skip the batch-16 unet_256 rows (minutes each on a CPU)",
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one setting, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(Setting(*json.loads(args.one)), args.device, args.steps)))
        return

    print(
        f"device: {args.device} ({torch.cuda.get_device_name() if args.device.startswith('cuda') else torch.backends.cpu.get_cpu_capability()}), "
        f"torch {torch.__version__}, threads {torch.get_num_threads()}\n"
    )
    print(
        "| setting | input | threads | batch | precision | loss | s / step | steps / s | images / s | peak RSS MiB | peak GPU MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for setting in SETTINGS:
        if args.quick and setting.ngf == 64 and setting.batch == 16:
            continue
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--device",
                args.device,
                "--steps",
                str(args.steps),
                "--one",
                json.dumps(setting),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        loss = f"L1 + GAN + FM x {setting.lambda_fm:g}" if setting.lambda_fm else "L1 + GAN"
        loss += f", D at {setting.d_scales} scales" if setting.d_scales > 1 else ""
        loss += f" + regions x {setting.lambda_regions:g}" if setting.lambda_regions else ""
        gpu = f"{r['gpu_mib']:.0f}" if r["gpu_mib"] is not None else "-"
        print(
            f"| {setting.label} | {'sketch + hints' if setting.hints else 'sketch'} "
            f"| {setting.threads or torch.get_num_threads()} "
            f"| {setting.batch} | {r['precision']} "
            f"| {loss} | {r['s_per_step']:.3f} | "
            f"{1 / r['s_per_step']:.2f} | {setting.batch / r['s_per_step']:.1f} "
            f"| {r['rss_mib']:.0f} | {gpu} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
