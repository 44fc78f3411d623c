"""How a run is carried out: the device, several processes under torchrun (DistributedDataParallel;
NCCL on GPUs, gloo on CPUs; rank 0 writes every file), and stop signals that save first."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from pix2pix.translate import pick_device
from train.config import TrainConfig


def bare(module: torch.nn.Module) -> torch.nn.Module:
    return module.module if isinstance(module, DistributedDataParallel) else module


class StopRequested:
    """SIGTERM / SIGINT: finish the current step, save, and leave (the run resumes exactly).

    A context manager: the previous handlers come back afterwards, so that Ctrl-C still interrupts
    a Python session that called train()."""

    def __init__(self):
        self.requested = False
        self.previous = {}

    def __enter__(self) -> StopRequested:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        self.requested = True


def ignore_stop_signals(worker_id: int) -> None:
    """Loader workers leave stopping to the trainer: a SIGTERM sent to the whole process group
    (Ctrl-C, `docker stop`, a cluster's pre-emption) must not kill them in the middle of the
    trainer's last save, which then fails with "DataLoader worker killed"."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def setup_device(config: TrainConfig) -> tuple[torch.device, int, int]:
    """(device, rank, world size); joins the process group when started by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = pick_device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device, rank, world


def checked_on_main(main: bool, check: Callable[[], None]) -> None:
    """Run a check on rank 0 only (it asks the Hub, or looks at a folder rank 0 is about to fill)
    and raise its ValueError on every rank: under torchrun the others would otherwise wait forever
    for a rank 0 that has stopped."""
    error = None
    if main:
        try:
            check()
        except ValueError as err:
            error = str(err)
    if dist.is_initialized():
        shared = [error]
        dist.broadcast_object_list(shared, src=0)
        error = shared[0]
    if error:
        raise ValueError(error)


def epoch_order(n: int, seed: int, epoch: int, rank: int, world: int) -> list[int]:
    """This rank's share of the epoch's shuffle; the same on every rank and every restart."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(n, generator=generator).tolist()
    order += order[: (-len(order)) % world]  # pad so every rank takes the same number of steps
    return order[rank::world]


def parameter_checksum(module: torch.nn.Module) -> float:
    """Sum of all weights. DDP keeps them equal on every rank; the batch-norm statistics are not
    (each rank updates them on its own batch after DDP broadcasts rank 0's), so they are left out."""
    return float(sum(p.detach().double().sum() for p in module.parameters()))
