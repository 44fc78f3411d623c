"""`python -m train --data PATH --out RUN_DIR [...]` and `python -m train --resume RUN_DIR`."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from train.config import TrainConfig

D = TrainConfig()  # the defaults, shown in --help


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m train",
        description="Train or fine-tune a sketch-to-photo generator with the pix2pix recipe "
        "(defaults are the official pix2pix defaults unless marked 'ours').",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    data = p.add_argument_group("data")
    data.add_argument(
        "--data",
        nargs="+",
        metavar="PATH",
        help="folders (or CSV manifests) of training pairs, mixed; a test split beside the first "
        "is used for evaluation",
    )
    data.add_argument(
        "--repeat",
        nargs="+",
        type=int,
        metavar="N",
        help="ours: list each --data path N times per epoch, one N per path, to weight a small "
        "set against a large one (default: 1 each)",
    )
    data.add_argument(
        "--layout",
        default=D.layout,
        choices=["auto", "cuhk", "folders", "aligned", "csv", "photos"],
        help="how pairs are stored; auto tries cuhk, folders, aligned, csv (photos must be asked for)",
    )
    data.add_argument(
        "--direction",
        default=D.direction,
        choices=["sketch2photo", "photo2sketch"],
        help="what is translated into what",
    )
    data.add_argument(
        "--photos",
        default=D.photos,
        help="ours: extra folder of bare photos mixed in; sketches are drawn from them",
    )
    data.add_argument(
        "--doodle-prob",
        type=float,
        default=D.doodle_prob,
        help="ours: share of examples whose sketch is replaced by a doodle drawn from the photo",
    )
    data.add_argument(
        "--strict",
        action="store_true",
        help="stop before training if any file is unreadable or a pair mismatched (default: skip with a warning)",
    )
    data.add_argument(
        "--workers",
        type=int,
        default=D.workers,
        help="data loading processes (0: load in the training process)",
    )

    model = p.add_argument_group("model")
    model.add_argument(
        "--image-size",
        type=int,
        default=D.image_size,
        help="training resolution (power of two); the U-Net depth is log2 of it",
    )
    model.add_argument(
        "--ngf", type=int, default=D.ngf, help="generator filters in the first layer"
    )
    model.add_argument(
        "--ndf", type=int, default=D.ndf, help="discriminator filters in the first layer"
    )
    model.add_argument(
        "--n-layers-d",
        type=int,
        default=D.n_layers_d,
        help="discriminator depth: 3 is the 70x70 PatchGAN, 0 the 1x1 pixel discriminator",
    )
    model.add_argument(
        "--norm", default=D.norm, choices=["batch", "instance", "none"], help="normalisation layers"
    )
    model.add_argument(
        "--hints",
        action="store_true",
        help="ours: the generator also takes colour hints (sketch + RGB + mask = 5 channels), "
        "sampled from the photo in training; a 1-channel --init-from model is widened",
    )
    model.add_argument(
        "--init-from",
        default=D.init_from,
        metavar="DIR_OR_REPO",
        help="fine-tune this saved generator (its architecture wins over --ngf)",
    )

    opt = p.add_argument_group("optimisation")
    opt.add_argument(
        "--epochs", type=int, default=D.epochs, help="epochs at the initial learning rate"
    )
    opt.add_argument(
        "--epochs-decay",
        type=int,
        default=D.epochs_decay,
        help="epochs of linear decay of the learning rate to zero",
    )
    opt.add_argument(
        "--batch-size", type=int, default=D.batch_size, help="images per step (per process)"
    )
    opt.add_argument("--lr", type=float, default=D.lr, help="Adam learning rate")
    opt.add_argument("--beta1", type=float, default=D.beta1, help="Adam beta1")
    opt.add_argument(
        "--gan-mode",
        default=D.gan_mode,
        choices=["vanilla", "lsgan", "hinge", "wgangp"],
        help="adversarial loss",
    )
    opt.add_argument("--lambda-l1", type=float, default=D.lambda_l1, help="weight of the L1 loss")
    opt.add_argument(
        "--seed",
        type=int,
        default=D.seed,
        help="seed of every random choice (weights, data order, augmentation, dropout)",
    )
    opt.add_argument(
        "--device",
        default=D.device,
        help="cpu, cuda or cuda:N (default: cuda if available, else cpu)",
    )
    opt.add_argument(
        "--amp",
        action="store_true",
        help="mixed precision: bf16 autocast (fp16 with loss scaling where bf16 is missing)",
    )

    run = p.add_argument_group("run")
    run.add_argument("--out", help="run folder: args.json, state.pt, losses.csv, samples/, model/")
    run.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR exactly where its last saved state left off",
    )
    run.add_argument(
        "--save-every",
        type=int,
        default=D.save_every,
        help="steps between resumable states (also saved every epoch and on Ctrl-C / SIGTERM)",
    )
    run.add_argument(
        "--sample-every",
        type=int,
        default=D.sample_every,
        help="steps between sample grids in RUN_DIR/samples",
    )
    run.add_argument(
        "--push-to-hub",
        default=D.push_to_hub,
        metavar="USER/NAME",
        help="upload the final model to this Hub repo (token: HF_TOKEN or the cached login)",
    )
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    fields = vars(TrainConfig())
    return TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from train.loop import train

    try:
        if args.resume:
            stored = Path(args.resume) / "args.json"
            if not stored.is_file():
                parser.error(f"{args.resume} is not a run folder (it has no args.json).")
            config = TrainConfig.load(stored)
            model_dir = train(config, resume=True)
        else:
            if not args.data or not args.out:
                parser.error(
                    "--data and --out are needed to start a run (or --resume RUN_DIR to continue one)."
                )
            config = config_from_args(args)
            Path(config.out).mkdir(parents=True, exist_ok=True)
            command = "python -m train " + shlex.join(argv if argv is not None else sys.argv[1:])
            (Path(config.out) / "command.txt").write_text(command + "\n")
            model_dir = train(config)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"model saved in {model_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
