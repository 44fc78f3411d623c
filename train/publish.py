"""The end of a run: the model folder (weights, config, model card) and, if asked, the Hub upload."""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import HfApi

from pix2pix.networks import UNetGenerator
from train.config import TrainConfig

CARD = """---
library_name: sketch2photo
license: other
pipeline_tag: image-to-image
tags:
- pix2pix
- sketch-to-photo
- image-to-image
---

# sketch2photo generator

A pix2pix generator (U-Net, ngf {ngf}, {size}x{size}, {direction}) trained with
[sketch2photo](https://arxiv.org/abs/1611.07004)'s trainer: L1 x {lambda_l1} + {gan_mode} GAN loss against a
{disc} discriminator, Adam lr {lr}, {epochs} + {epochs_decay} epochs, batch size {batch_size}.

```python
from pix2pix import Translator
photo = Translator("{model_ref}").translate("sketch.png")
```

## Data

{data}

## Quality

{metrics}

## How it was made

```
{command}
```
"""


def describe_metrics(metrics: dict | None) -> str:
    if not metrics:
        return "No test split was found next to the training data, so no metrics were computed."
    rows = "\n".join(
        f"| {name} | {metrics[key]:.4f} |"
        for key, name in [
            ("fsim_gray", "FSIM (gray)"),
            ("fsim_chromatic", "FSIMc"),
            ("ssim", "SSIM"),
            ("psnr", "PSNR (dB)"),
        ]
    )
    return f"On {metrics['pairs']} held-out test pairs (both images resized to 256x256, RGB in [0, 1]):\n\n| metric | value |\n|---|---|\n{rows}"


def write_card(
    model_dir: Path,
    config: TrainConfig,
    n_train: int,
    metrics: dict | None,
    command: str,
) -> None:
    sources = ", ".join(
        f"`{path}`" + (f" (x{n})" if n > 1 else "")
        for path, n in zip(config.data, config.repeats, strict=True)
    )
    data = f"{n_train} training pairs from {sources} (layout {config.layout})"
    if config.photos:
        data += (
            f", plus bare photos from `{config.photos}` with sketches drawn by pix2pix.sketchify"
        )
    if config.doodle_prob:
        data += f"; {config.doodle_prob:.0%} of sketches replaced by doodles drawn from the photo"
    card = CARD.format(
        ngf=config.ngf,
        size=config.image_size,
        direction=config.direction,
        lambda_l1=config.lambda_l1,
        gan_mode=config.gan_mode,
        disc="70x70 PatchGAN" if config.n_layers_d == 3 else f"{config.n_layers_d}-layer",
        lr=config.lr,
        epochs=config.epochs,
        epochs_decay=config.epochs_decay,
        batch_size=config.batch_size,
        model_ref=config.push_to_hub or model_dir,
        data=data
        + ". The card's license is `other`: a model carries the terms of its training data.",
        metrics=describe_metrics(metrics),
        command=command,
    )
    (model_dir / "README.md").write_text(card)


def save_model(
    generator: UNetGenerator,
    model_dir: Path,
    run_dir: Path,
    config: TrainConfig,
    n_train: int,
    problems: list[str],
    rank_checksums: list[float],
) -> None:
    """save_pretrained, evaluation on the test split when there is one, the card, and a run summary.

    Pictures of the data (sample grids, the test results grid) stay in the run folder, never in
    model/: that folder is what gets published, and data sets often may not be redistributed.
    """
    from train.data import find_pairs
    from train.evaluate import evaluate

    generator.eval().save_pretrained(model_dir)
    try:
        test_pairs = find_pairs(config.data[0], config.layout, split="test")
    except ValueError:
        test_pairs = []
    metrics = (
        evaluate(model_dir, test_pairs, out_dir=run_dir / "eval", device=config.device)
        if test_pairs
        else None
    )
    command_file = run_dir / "command.txt"
    command = command_file.read_text().strip() if command_file.exists() else "(called from Python)"
    write_card(model_dir, config, n_train, metrics, command)
    summary = {
        "train_pairs": n_train,
        "skipped": problems,
        "rank_checksums": rank_checksums,
        "metrics": metrics,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    if config.push_to_hub:
        push(model_dir, config.push_to_hub)


def push(model_dir: Path, repo_id: str, token: str | None = None, private: bool = False) -> str:
    """Upload a model folder. The token comes from HF_TOKEN or the cached login and is never printed.

    A failed upload raises ValueError saying why; the local folder is left as it was.
    """
    missing = [
        n
        for n in ("config.json", "model.safetensors", "README.md")
        if not (model_dir / n).is_file()
    ]
    if missing:
        raise ValueError(
            f"{model_dir} is not a complete model folder: {', '.join(missing)} missing."
        )
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=model_dir,
            repo_type="model",
            commit_message="Upload sketch2photo generator",
        )
    except (
        Exception
    ) as err:  # any failure (HTTP, network, auth) becomes one sentence; nothing is lost
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(
            f"Upload to {repo_id} failed ({reason}); the model is still in {model_dir}."
        ) from err
    return str(getattr(info, "commit_url", repo_id))
