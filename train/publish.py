"""The end of a run: the model folder (weights, config, model card) and, if asked, the Hub upload.

`python -m train.publish MODEL_DIR --repo USER/NAME` uploads a model folder on its own (to retry an
upload that failed at the end of a run, say).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from huggingface_hub import HfApi, get_token

from pix2pix.framing import FRAMER_NAME, framer_beside
from pix2pix.networks import UNetGenerator
from train.config import TrainConfig
from train.data import RunData

CARD_HEAD = """---
library_name: sketch2photo
license: other
{license_name}pipeline_tag: image-to-image
tags:
- pix2pix
- sketch-to-photo
- image-to-image
---

# sketch2photo generator

"""  # every model card's opening: the Hub reads its front matter (the terms, the task)

USAGE = """```python
from pix2pix import Translator
photo = Translator("{model_ref}").translate("sketch.png")
```"""

CARD = (
    CARD_HEAD
    + """A pix2pix generator (U-Net{decoder}, ngf {ngf}, {size}x{size}, {direction}) trained with
sketch2photo's trainer (pix2pix, [Isola et al. 2017](https://arxiv.org/abs/1611.07004)): L1 x {lambda_l1} + {gan_mode} GAN loss against a
{disc} discriminator, Adam lr {lr}, batch size {batch_size}, {trained}.

"""
    + USAGE
    + """

## Data

{data}

{framing}## Quality

{metrics}

## How it was made

```
{command}
```
"""
)


FRAMED_LAYOUTS = ("faces", "cuhk")  # framed as the bundled framer learnt (train.faces, CUHK)


def carry_framer(config: TrainConfig, data: RunData, model_dir: Path) -> str:
    """Copy the base model's framer (pix2pix.framing) into the new model folder when the new model
    learnt the same framing (every source is train.faces pairs or CUHK portraits), and say so;
    otherwise say plainly that faces drawn small or off-centre are not moved."""
    base = Path(config.init_from).expanduser() if config.init_from else None
    framer = framer_beside(base) if base is not None else None
    if framer is not None:
        if all(layout in FRAMED_LAYOUTS for layout in data.layouts):
            shutil.copyfile(framer, model_dir / FRAMER_NAME)
            return (
                f"framer: carried over from {base} (the training pairs are framed as it expects): "
                "a face drawn small or off-centre is moved to the framing and its photo moved back."
            )
        why = "its training pairs are not all framed as the base model's framer expects"
    else:
        why = "its base model has none" if base is not None else "it was trained from scratch"
    return (
        f"framer: none ({why}). Faces drawn small or off-centre are translated as drawn; "
        f"python -m train.framer PAIRS --model {model_dir} trains one for pairs from train.faces."
    )


def describe_generator(config: TrainConfig) -> str:
    """The card's words for what the U-Net has beyond the paper's."""
    parts = ["resize-convolutions"] if config.upsample == "resize" else []
    if config.trunk_blocks:
        parts.append(f"{config.trunk_blocks} inverted residual blocks at a quarter of the size")
    return f" with {' and '.join(parts)}" if parts else ""


def describe_discriminator(config: TrainConfig) -> str:
    """The card's words for the discriminator the run trained against."""
    if config.n_layers_d == 0:
        return "1x1 pixel"
    patch = "70x70 PatchGAN" if config.n_layers_d == 3 else f"{config.n_layers_d}-layer PatchGAN"
    if config.d_scales > 1:
        patch = f"{patch} at {config.d_scales} image sizes (pix2pixHD's multi-scale)"
    if config.lambda_regions:
        patch += f" and a face-region (OASIS, x {config.lambda_regions:g})"
    return patch


def describe_metrics(metrics: dict | None, about: str) -> str:
    """The card's quality section: the scores and what they were computed on, or why there are none."""
    if not metrics:
        return f"No scores: {about}."
    rows = "\n".join(
        f"| {name} | {metrics[key]:.4f} |"
        for key, name in [
            ("fsim_gray", "FSIM (gray)"),
            ("fsim_chromatic", "FSIMc"),
            ("ssim", "SSIM"),
            ("psnr", "PSNR (dB)"),
        ]
    )
    skipped = len(metrics.get("skipped", []))
    left_out = f"; {skipped} of them left out for a file that does not open" if skipped else ""
    pairs = f"{metrics['pairs']} pair{'s' if metrics['pairs'] != 1 else ''}"
    return (
        f"On {pairs} {about}{left_out}. The made and the true photo are each resized to 256x256 "
        "and compared in RGB in [0, 1]:\n\n| metric | value |\n|---|---|\n" + rows
    )


def write_card(
    model_dir: Path,
    config: TrainConfig,
    data: RunData,
    trained: str,
    metrics: dict | None,
    about: str,
    command: str,
    framing: str = "",
) -> None:
    """README.md of the model folder: what it is, how to load it, its data and its terms, its
    scores, its framing, its command. A fine-tuned model names its base model and carries the
    base's license: its weights are made from the base's data too."""
    text = data.describe()
    license_name = base_license(config)
    if config.doodle_prob:
        text += f"; {config.doodle_prob:.0%} of sketches replaced by doodles drawn from the photo"
    if config.place_prob:
        text += f"; {config.place_prob:.0%} of pairs shrunk and moved on white paper"
    if config.teacher:
        text += (
            f"; distilled from `{config.teacher}` (the L1 loss compared with its photos), whose "
            "training data's terms this model carries too"
        )
    if data.problems:
        text += (
            f". {len(data.problems)} file(s) were left out (unreadable, mismatched, or without a "
            "partner; named in the run's summary.json)"
        )
    card = CARD.format(
        ngf=config.ngf,
        decoder=describe_generator(config),
        size=config.image_size,
        direction=config.direction,
        lambda_l1=config.lambda_l1,
        gan_mode=config.gan_mode,
        disc=describe_discriminator(config),
        lr=config.lr,
        batch_size=config.batch_size,
        trained=trained,
        model_ref=config.push_to_hub or "path/to/this/folder",
        data=text
        + ". The card's license is `other`: a model carries the terms of its training data."
        + base_model_terms(config, license_name),
        metrics=describe_metrics(metrics, about),
        command=command,
        license_name=f"license_name: {license_name}\n" if license_name else "",
        framing=f"## Framing\n\n{framing.removeprefix('framer: ')}\n\n" if framing else "",
    )
    (model_dir / "README.md").write_text(card)


def base_license(config: TrainConfig) -> str | None:
    """The license_name of a local --init-from model's card, if it has one."""
    return card_license(config.init_from) if config.init_from else None


def card_license(model: str | Path) -> str | None:
    """The license_name in a local model folder's card (None for a Hub id or a card without one)."""
    card = Path(model).expanduser() / "README.md"
    if not card.is_file():
        return None
    for line in card.read_text().splitlines():
        if line.startswith("license_name:"):
            return line.partition(":")[2].strip()
    return None


def base_model_terms(config: TrainConfig, license_name: str | None) -> str:
    if not config.init_from:
        return ""
    text = f"\n\nFine-tuned from `{config.init_from}`"
    if license_name:
        return text + (
            f", whose weights carry the terms `{license_name}`: this model carries them too "
            "(for the bundled model: CUHK non-commercial research use, LFW research use). Check "
            "them before publishing it."
        )
    return text + ": this model also carries the terms of the base model's training data."


def save_model(
    generator: UNetGenerator,
    run_dir: Path,
    config: TrainConfig,
    data: RunData,
    trained: str,
    rank_checksums: list[float],
    stop: Callable[[], bool] | None = None,
) -> bool:
    """save_pretrained, the evaluation of the held-out pairs, the card, a run summary, the upload.

    The card is ours whatever happens during the evaluation (a stop, an error): save_pretrained
    writes huggingface_hub's generic one first. Returns False when a stop signal ended the
    evaluation (the model and its card are written, without scores, and nothing is uploaded).
    Pictures of the data (sample grids, the test results grid) stay in the run folder, never in
    model/: that folder is what gets published, and data sets often may not be redistributed.
    """
    from train.evaluate import EvaluationStopped, evaluate

    model_dir = run_dir / "model"
    generator.eval().save_pretrained(model_dir)
    framing = carry_framer(config, data, model_dir)
    print(framing, flush=True)
    metrics, about, finished = None, "the evaluation did not finish", False
    try:
        if data.eval_pairs:
            print(f"scoring {len(data.eval_pairs)} pairs {data.eval_about}", flush=True)
            metrics = evaluate(
                model_dir, data.eval_pairs, run_dir / "eval", device=config.device, stop=stop
            )
        about, finished = data.eval_about, True
    except EvaluationStopped as stopped:
        about = f"the evaluation was stopped ({stopped}); `python -m train --resume {run_dir}` scores it"
    finally:
        command_file = run_dir / "command.txt"
        command = (
            command_file.read_text().strip() if command_file.exists() else "(called from Python)"
        )
        write_card(model_dir, config, data, trained, metrics, about, command, framing)
        summary = {
            "train_pairs": len(data.dataset),
            "skipped": data.problems,
            "evaluated_on": about,
            "rank_checksums": rank_checksums,
            "metrics": metrics,
        }
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    if finished and config.push_to_hub:
        push(model_dir, config.push_to_hub)
    return finished


def check_hub_access(repo_id: str) -> None:
    """Before the first step, not after hours of training: a token exists and the Hub takes it.

    Raises ValueError saying what to do. The token is never printed.
    """
    token = get_token()
    if token is None:
        raise ValueError(
            f"--push-to-hub {repo_id} needs a Hugging Face token and none is set: run `hf auth "
            "login` or set HF_TOKEN, then start again (nothing has been trained)."
        )
    try:
        who = HfApi(token=token).whoami()
    except Exception as err:  # HTTP, network, offline mode: each becomes one sentence
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(
            f"--push-to-hub {repo_id}: the Hub could not confirm the token ({reason}). Check the "
            "network and `hf auth whoami`, then start again (nothing has been trained)."
        ) from err
    if who.get("auth", {}).get("accessToken", {}).get("role") == "read":
        raise ValueError(
            f"--push-to-hub {repo_id}: the token is read-only; make one with write access "
            "(https://huggingface.co/settings/tokens) and `hf auth login` with it."
        )


def check_model_folder(model_dir: Path) -> list[Path]:
    """The files a model folder would upload; ValueError when one it needs is missing."""
    missing = [
        n
        for n in ("config.json", "model.safetensors", "README.md")
        if not (model_dir / n).is_file()
    ]
    if missing:
        raise ValueError(
            f"{model_dir} is not a complete model folder: {', '.join(missing)} missing."
        )
    return sorted(p for p in model_dir.iterdir() if p.is_file())


def dry_run(model_dir: Path, repo_id: str) -> str:
    """What `push` would do, without the network: the files, their sizes, the card's terms."""
    files = check_model_folder(model_dir)
    lines = [f"would upload to https://huggingface.co/{repo_id}:"]
    lines += [f"  {f.name} ({f.stat().st_size / 2**20:.1f} MiB)" for f in files]
    card = (model_dir / "README.md").read_text()
    terms = next((ln for ln in card.splitlines() if ln.startswith("license_name:")), None)
    lines.append(
        f"card terms: {terms.partition(':')[2].strip()}" if terms else "card terms: none named"
    )
    lines.append("token: found" if get_token() else "token: none (run `hf auth login` first)")
    return "\n".join(lines)


def push(model_dir: Path, repo_id: str, token: str | None = None, private: bool = False) -> str:
    """Upload a model folder. The token comes from HF_TOKEN or the cached login and is never printed.

    A failed upload raises ValueError saying why and how to retry; the local folder is left as it was.
    """
    check_model_folder(model_dir)
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=model_dir,
            repo_type="model",
            commit_message="Upload sketch2photo generator",
        )
    except Exception as err:  # any failure (HTTP, network, auth) becomes one sentence
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(
            f"Upload to {repo_id} failed ({reason}); the model is still in {model_dir}. Retry "
            f"with: python -m train.publish {model_dir} --repo {repo_id}"
        ) from err
    return str(getattr(info, "commit_url", repo_id))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m train.publish",
        description="Upload a model folder (config.json, model.safetensors, README.md) to the "
        "Hugging Face Hub. The token comes from HF_TOKEN or `hf auth login`.",
    )
    parser.add_argument("model", type=Path, help="the model folder, e.g. runs/NAME/model")
    parser.add_argument("--repo", required=True, metavar="USER/NAME", help="the Hub repo to create")
    parser.add_argument("--private", action="store_true", help="make a new repo private")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list what would be uploaded (files, sizes, the card's terms) and upload nothing",
    )
    args = parser.parse_args(argv)
    try:
        if args.dry_run:
            print(dry_run(args.model, args.repo))
            return 0
        url = push(args.model, args.repo, private=args.private)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"uploaded {args.model} to {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
