"""Resumable state: everything a run needs to continue bit for bit (weights, optimisers,
schedules, the loss scaler, every random generator), written atomically to state.pt."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from pix2pix.networks import UNetGenerator
from train.config import TrainConfig
from train.distributed import bare, parameter_checksum

if TYPE_CHECKING:
    from train.loop import Precision, TrainingModels


def rng_state() -> dict:
    np_state = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": (np_state[0], torch.from_numpy(np_state[1].copy()), *np_state[2:]),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy(), *rest))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_state(
    run_dir: Path,
    models: TrainingModels,
    precision: Precision,
    step: int,
    epoch: int,
    step_in_epoch: int,
) -> None:
    """Write state.pt atomically: a kill during the save leaves the previous state intact."""
    state = {
        "generator": models.bare_generator.state_dict(),
        "ema": models.ema.state_dict() if models.ema is not None else None,
        "discriminator": bare(models.discriminator).state_dict(),
        "regions": bare(models.regions).state_dict() if models.regions is not None else None,
        "opt_g": models.opt_g.state_dict(),
        "opt_d": models.opt_d.state_dict(),
        "sched_g": models.sched_g.state_dict(),
        "sched_d": models.sched_d.state_dict(),
        "scaler": precision.scaler.state_dict(),
        "step": step,
        "epoch": epoch,
        "step_in_epoch": step_in_epoch,
        "rng": rng_state(),
        "teacher": teacher_checksum(models),
    }
    tmp = run_dir / "state.pt.tmp"
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, run_dir / "state.pt")


def load_state(
    run_dir: Path, models: TrainingModels, precision: Precision, device: torch.device
) -> tuple[int, int, int]:
    state = torch.load(run_dir / "state.pt", map_location=device, weights_only=True)
    if state.get("teacher") != teacher_checksum(models):
        raise ValueError(
            f"The --teacher of {run_dir} is not the one its saved state learned from (another model, "
            "or its weights changed): a resume would not continue the same run. Resume with the "
            "teacher it had, or start a new run."
        )
    models.bare_generator.load_state_dict(state["generator"])
    if models.ema is not None:
        models.ema.load_state_dict(state["ema"])
    bare(models.discriminator).load_state_dict(state["discriminator"])
    if models.regions is not None:
        bare(models.regions).load_state_dict(state["regions"])
    models.opt_g.load_state_dict(state["opt_g"])
    models.opt_d.load_state_dict(state["opt_d"])
    models.sched_g.load_state_dict(state["sched_g"])
    models.sched_d.load_state_dict(state["sched_d"])
    precision.scaler.load_state_dict(state["scaler"])
    set_rng_state({k: _cpu(v) for k, v in state["rng"].items()})
    return state["step"], state["epoch"], state["step_in_epoch"]


def teacher_checksum(models: TrainingModels) -> float | None:
    """The --teacher's weights summed, so that a resume can tell it still learns from the same one."""
    return parameter_checksum(models.teacher) if models.teacher is not None else None


def follow_schedule(models: TrainingModels) -> None:
    """Set the learning rates the schedule gives for the current epoch. A resume may change
    --epochs / --epochs-decay; the saved optimizers hold the old schedule's rate. With an unchanged
    schedule this is the same number LambdaLR computed, so resumed runs stay exact."""
    for scheduler in (models.sched_g, models.sched_d):
        for group, base, rule in zip(
            scheduler.optimizer.param_groups,
            scheduler.base_lrs,
            scheduler.lr_lambdas,
            strict=True,
        ):
            group["lr"] = base * rule(scheduler.last_epoch)


def _cpu(value):
    """RNG states must be CPU byte tensors whatever map_location put them on."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, list | tuple):
        return type(value)(_cpu(v) for v in value)
    return value


def generator_of_run(run_dir: Path, average: bool = True) -> UNetGenerator:
    """The generator of a run's last saved state, built as its args.json says (architecture, hints,
    direction): the weight average when the run keeps one (--ema) and `average`, else the
    generator's own weights. For looking at a run before it ends."""
    config = TrainConfig.load(run_dir / "args.json")
    state = torch.load(run_dir / "state.pt", map_location="cpu", weights_only=True)
    weights = state.get("ema") if average and state.get("ema") is not None else state["generator"]
    generator = UNetGenerator.from_config(config.unet)
    generator.load_state_dict(weights)
    return generator.eval()
