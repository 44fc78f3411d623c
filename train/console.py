"""What someone watching a run sees: the start-up summary, progress, and how long it trained."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import torch
from tqdm import tqdm

from train.config import TrainConfig
from train.data import RunData

if TYPE_CHECKING:
    from train.loop import Precision

ESTIMATE_AFTER = 20  # steps timed before the run's duration is estimated


def start_up(
    config: TrainConfig,
    data: RunData,
    steps_per_epoch: int,
    world: int,
    device: torch.device,
    precision: Precision,
    position: tuple[int, int, int],
) -> str:
    """What the run is about to do, before its first step: data, evaluation, schedule, hardware."""
    skipped = f"; {len(data.problems)} file(s) skipped (named above)" if data.problems else ""
    batch = f"batch {config.batch_size}" + (f" on each of {world} processes" if world > 1 else "")
    total = steps_per_epoch * config.total_epochs
    lines = [
        f"data: {data.describe()}{skipped}",
        f"evaluation at the end: {len(data.eval_pairs)} pairs {data.eval_about}"
        if data.eval_pairs
        else f"evaluation at the end: none ({data.eval_about})",
        f"schedule: {steps_per_epoch:,} steps per epoch ({batch}) x {config.total_epochs} epochs "
        f"({config.epochs} + {config.epochs_decay} decaying) = {total:,} steps"
        + (f", stopping at step {config.max_steps:,} (--max-steps)" if config.max_steps else ""),
        f"device: {device}"
        + (f" ({torch.get_num_threads()} threads)" if device.type == "cpu" else "")
        + f", precision {precision.name}",
    ]
    step, epoch, _ = position
    if step:
        lines.append(f"resuming at step {step:,} (epoch {epoch + 1})")
    lines.append(f"time: estimated after the first {ESTIMATE_AFTER} steps")
    return "\n".join(lines)


def trained(config: TrainConfig, step: int, steps_per_epoch: int) -> str:
    """How long the model trained, for the card: the schedule, and where --max-steps cut it."""
    total = steps_per_epoch * config.total_epochs
    text = f"{config.epochs} + {config.epochs_decay} epochs ({total:,} steps)"
    if step >= total:
        return text
    return f"{text} stopped at step {step:,} by {'--max-minutes' if config.max_minutes else '--max-steps'}"


def duration(seconds: float) -> str:
    """3 h 48 min, 12 min, 40 s."""
    minutes = round(seconds / 60)
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


class Progress:
    """What someone watching sees: on a terminal a bar over the whole run (losses, time left); when
    the output goes to a file, a line every log_every steps. After ESTIMATE_AFTER steps, one line
    with the time a step takes here and what the whole run will take."""

    def __init__(self, step: int, last_step: int, config: TrainConfig, show: bool):
        self.bar = tqdm(
            total=last_step,
            initial=step,
            unit="step",
            dynamic_ncols=True,
            disable=None if show else True,
        )
        self.lines = show and self.bar.disable  # not a terminal: tqdm turned itself off
        self.show, self.every, self.total_epochs = show, config.log_every, config.total_epochs
        self.first_step, self.last_step = step, last_step
        self.started = time.monotonic()

    def update(self, step: int, epoch: int, losses: dict[str, float]) -> None:
        if not self.show:
            return
        text = " ".join(f"{k}={v:.3f}" for k, v in losses.items())
        self.bar.set_description(f"epoch {epoch + 1}/{self.total_epochs}", refresh=False)
        self.bar.set_postfix_str(text, refresh=False)
        self.bar.update()
        per_step = (time.monotonic() - self.started) / (step - self.first_step)
        left = duration(per_step * (self.last_step - step))
        if step - self.first_step == ESTIMATE_AFTER:
            tqdm.write(
                f"time: {per_step:.2f} s per step here, so about {left} for the "
                f"{self.last_step - step:,} steps left",
                file=sys.stdout,
            )
        if self.lines and step % self.every == 0:
            print(
                f"step {step:,}/{self.last_step:,} epoch {epoch + 1}/{self.total_epochs} {text} "
                f"({per_step:.2f} s/step, {left} left)",
                flush=True,
            )

    def close(self) -> None:
        self.bar.close()
