"""Pictures a person looks at: sample grids (sketch | made | true) and the loss curve."""

from __future__ import annotations

import csv
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from pix2pix.hints import HINT_CHANNELS
from pix2pix.networks import UNetGenerator


def _rgb(column: torch.Tensor) -> torch.Tensor:
    """Grey becomes RGB; a hint input (sketch, colours, mask) shows the colours over the sketch."""
    column = column.detach().float().cpu()
    if column.shape[1] == 1 + HINT_CHANNELS:
        sketch, colours, mask = column[:, :1], column[:, 1:4], column[:, 4:]
        return sketch.expand(-1, 3, -1, -1) * (1 - mask) + colours
    return column.expand(-1, 3, -1, -1) if column.shape[1] == 1 else column


def to_rgb_rows(*columns: torch.Tensor) -> Image.Image:
    """Tensors (N, C, H, W) in [-1, 1], one per column, laid out as N rows; grey becomes RGB."""
    columns = [_rgb(c) for c in columns]
    grid = torch.cat([torch.cat(list(c), dim=2) for c in zip(*columns, strict=True)], dim=1)
    array = ((grid.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(array)


@torch.no_grad()
def sample_grid(generator: UNetGenerator, batch: dict[str, torch.Tensor], path: Path) -> None:
    """Generate from the fixed samples in eval mode (as the app will), then restore training mode."""
    was_training = generator.training
    generator.eval()
    made = generator(batch["input"])
    generator.train(was_training)
    to_rgb_rows(batch["input"], made, batch["target"]).save(path)


def loss_curve(csv_path: Path, png_path: Path, width: int = 900, panel_height: int = 160) -> None:
    """G's L1, G's GAN loss and D's loss, smoothed, one panel each with its own scale (they differ
    by two orders of magnitude), drawn with PIL (no plotting library needed)."""
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    series = {
        "G_L1 (x lambda)": [float(r["G_L1"]) for r in rows],
        "G_GAN": [float(r["G_GAN"]) for r in rows],
        "D (real + fake) / 2": [(float(r["D_real"]) + float(r["D_fake"])) / 2 for r in rows],
    }
    image = Image.new("RGB", (width, panel_height * len(series) + 20), "white")
    draw = ImageDraw.Draw(image)
    smooth = max(1, len(rows) // 100)
    for i, (name, values) in enumerate(series.items()):
        left, top, right = 60, 10 + i * panel_height, width - 20
        bottom = top + panel_height - 20
        draw.rectangle((left, top, right, bottom), outline=(0, 0, 0))
        values = _moving_average(values, smooth)
        high = max(values) or 1.0
        n = max(len(values) - 1, 1)
        points = [
            (left + (right - left) * j / n, bottom - (bottom - top) * v / high)
            for j, v in enumerate(values)
        ]
        draw.line(points, fill=(200, 40, 40), width=2)
        draw.text((left + 10, top + 6), name, fill=(0, 0, 0))
        draw.text((4, top), f"{high:.2f}", fill=(0, 0, 0))
    draw.text((60, image.height - 16), f"step 1 .. {rows[-1]['step']}", fill=(0, 0, 0))
    image.save(png_path)


def _moving_average(values: list[float], window: int) -> list[float]:
    if window <= 1:
        return values
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out
