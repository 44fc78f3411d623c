"""The run folder: refusing to overwrite a run, starting one, and its losses.csv.

command.txt   the command that started the run
args.json     the settings, written before the first step (and on a resume that changes them)
state.pt      everything needed to continue bit for bit (written atomically; train.state)
losses.csv    one row per step; samples/*.png  sketch | made | true grids
model/        the final generator (save_pretrained), with its model card
eval/         the end-of-run scores on pairs it never trained on; summary.json
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

LOSS_COLUMNS = [
    "step",
    "epoch",
    "lr",
    "G_GAN",
    "G_L1",
    "D_real",
    "D_fake",
    "G_FM",
    "D_R1",
    "G_REG",
    "D_REG",
]


# What a run writes: --overwrite deletes these and nothing else.
RUN_FILES = ("command.txt", "args.json", "state.pt", "state.pt.tmp", "losses.csv")
RUN_FILES += ("loss_curve.png", "summary.json", "samples", "model", "eval")


def refuse_existing_run(run_dir: Path, overwrite: bool) -> None:
    """A new run never silently replaces an old run's state.pt and losses.csv."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"--out {run_dir} is a file; name a folder for the run.")
    if overwrite or not any((run_dir / name).exists() for name in RUN_FILES):
        return
    raise ValueError(
        f"{run_dir} already holds a run. Continue it with: python -m train --resume {run_dir} "
        "(add --epochs N to extend it), or start it again from scratch with --overwrite, which "
        "deletes its state, losses, samples and model."
    )


def start_run_dir(run_dir: Path, command: str | None, overwrite: bool) -> None:
    """The run folder of a new run, with what an --overwrite'd old run wrote there removed."""
    if overwrite:
        for name in RUN_FILES:
            path = run_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "command.txt").write_text((command or "(called from Python)") + "\n")


def keep_loss_rows(path: Path, last_step: int) -> None:
    """After a resume, forget rows of steps that the saved state does not include."""
    if not path.exists():
        with open(path, "w", newline="") as f:
            csv.writer(f).writerow(LOSS_COLUMNS)
        return
    with open(path, newline="") as f:
        rows = [row for row in csv.DictReader(f) if int(row["step"]) <= last_step]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, LOSS_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def log_losses(path: Path, step: int, epoch: int, lr: float, losses: dict[str, float]) -> None:
    with open(path, "a", newline="") as f:
        csv.writer(f).writerow(
            [step, epoch, f"{lr:.3g}"] + [f"{losses[k]:.5f}" for k in LOSS_COLUMNS[3:]]
        )
