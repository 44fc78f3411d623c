"""`python -m train --data PATH --out RUN_DIR [...]` and `python -m train --resume RUN_DIR`."""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import fields
from pathlib import Path

from pix2pix.losses import GAN_MODES
from pix2pix.networks import NORMS, UPSAMPLES
from train.config import TrainConfig
from train.data import DIRECTIONS, LAYOUTS

DEFAULTS = TrainConfig()  # shown in --help
# What --resume may change: the schedule, the upload, and how the run is carried out. Anything
# else would make the resumed run a different run than args.json says.
RESUME_CHANGES = (
    "epochs",
    "epochs_decay",
    "max_steps",
    "max_minutes",
    "push_to_hub",
    "device",
    "workers",
    "save_every",
    "sample_every",
    "log_every",
)


class ConfigDefaultsFormatter(argparse.HelpFormatter):
    """Shows TrainConfig's default once after each help text. argparse's own defaults stay None,
    which is how main() tells an option given on the command line from one left out."""

    def _get_help_string(self, action: argparse.Action) -> str:
        value = getattr(DEFAULTS, action.dest, None)
        if value is None or value is False or value in ("", []) or "default" in (action.help or ""):
            return action.help or ""
        return f"{action.help} (default: {value})"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m train",
        description="Train or fine-tune a sketch-to-photo generator with the pix2pix recipe "
        "(defaults are the official pix2pix defaults unless marked 'ours').",
        formatter_class=ConfigDefaultsFormatter,
    )
    data = p.add_argument_group("data")
    data.add_argument(
        "--data",
        nargs="+",
        metavar="PATH",
        help="folders (or CSV manifests) of training pairs, mixed; the first one's test (or val) "
        "split is scored at the end (without one, --holdout pairs of it are held out)",
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
        choices=LAYOUTS,
        help="how pairs are stored; auto tries faces, cuhk, folders, aligned, csv (photos must be asked for)",
    )
    data.add_argument(
        "--direction",
        choices=DIRECTIONS,
        help="what is translated into what",
    )
    data.add_argument(
        "--photos",
        help="ours: extra folder of bare photos mixed in; sketches are drawn from them",
    )
    data.add_argument(
        "--doodle-prob",
        type=float,
        help="ours: share of examples whose sketch is replaced by a doodle drawn from the photo",
    )
    data.add_argument(
        "--place-prob",
        type=float,
        help="ours: share of pairs shrunk to 50-100%% and moved to a random spot on white paper, "
        "so that faces drawn small or off-centre are met in training (0, the default: the paper's "
        "crop only)",
    )
    data.add_argument(
        "--strict",
        action="store_true",
        help="stop before training if any file is unreadable, a pair mismatched, or a sketch or "
        "photo has no partner (default: skip them and name them)",
    )
    data.add_argument(
        "--workers",
        type=int,
        help="data loading processes (0: load in the training process)",
    )
    data.add_argument(
        "--holdout",
        type=int,
        metavar="N",
        help="ours: when the first --data has no test or val split, hold out N of its pairs (drawn with "
        "--seed, recorded in args.json, never trained on) for the end-of-run scores; 0 trains on "
        "all and reports no scores (default: a tenth, at most --eval-pairs)",
    )
    data.add_argument(
        "--eval-pairs",
        type=int,
        metavar="N",
        help="ours: the end-of-run evaluation scores at most N pairs (a fixed sample of a larger "
        "test split)",
    )

    model = p.add_argument_group("model")
    model.add_argument(
        "--image-size",
        type=int,
        help="training resolution (power of two); the U-Net depth is log2 of it",
    )
    model.add_argument("--ngf", type=int, help="generator filters in the first layer")
    model.add_argument(
        "--upsample",
        choices=UPSAMPLES,
        help="the decoder's upsampling: transpose, the paper's transposed convolutions (default), "
        "or resize, nearest-neighbour resize then a 3x3 convolution (no checkerboard)",
    )
    model.add_argument("--ndf", type=int, help="discriminator filters in the first layer")
    model.add_argument(
        "--d-scales",
        type=int,
        help="ours: the PatchGAN at this many image sizes, each half the last (pix2pixHD's "
        "multi-scale discriminator; 2-3 see the whole face); 1, the default, is the paper's",
    )
    model.add_argument(
        "--n-layers-d",
        type=int,
        help="discriminator depth: 3 is the 70x70 PatchGAN, 0 the 1x1 pixel discriminator",
    )
    model.add_argument("--norm", choices=NORMS, help="normalisation layers")
    model.add_argument(
        "--trunk-blocks",
        type=int,
        metavar="N",
        help="ours: N inverted residual blocks (MobileNetV2) at a quarter of the image size, "
        "where texture is made; 0, the default, is the paper's U-Net",
    )
    model.add_argument(
        "--hints",
        action="store_true",
        help="ours: the generator also takes colour hints (sketch + RGB + mask = 5 channels), "
        "sampled from the photo in training; a 1-channel --init-from model is widened",
    )
    model.add_argument(
        "--init-from",
        metavar="DIR_OR_REPO",
        help="fine-tune this saved generator (its architecture wins over --ngf)",
    )

    opt = p.add_argument_group("optimisation")
    opt.add_argument("--epochs", type=int, help="epochs at the initial learning rate")
    opt.add_argument(
        "--epochs-decay",
        type=int,
        help="epochs of linear decay of the learning rate to zero",
    )
    opt.add_argument(
        "--max-steps",
        type=int,
        metavar="N",
        help="ours: stop after step N and save the model (a short trial of the settings); 0: no "
        "limit",
    )
    opt.add_argument(
        "--max-minutes",
        type=float,
        metavar="M",
        help="ours: stop after M minutes of training and save the model (a rented GPU's time); "
        "0: no limit",
    )
    opt.add_argument("--batch-size", type=int, help="images per step (per process)")
    opt.add_argument("--lr", type=float, help="Adam learning rate")
    opt.add_argument("--beta1", type=float, help="Adam beta1")
    opt.add_argument(
        "--gan-mode",
        choices=GAN_MODES,
        help="adversarial loss",
    )
    opt.add_argument("--lambda-l1", type=float, help="weight of the L1 loss")
    opt.add_argument(
        "--lambda-fm",
        type=float,
        help="ours: weight of pix2pixHD's discriminator feature-matching loss (sharper, steadier "
        "GAN training; pix2pixHD uses 10); 0, the default, is the paper's loss",
    )
    opt.add_argument(
        "--diffaugment",
        action="store_true",
        help="ours: DiffAugment (colour, translation, cutout) on every pair the discriminator "
        "judges, so that it cannot learn a small data set by heart",
    )
    opt.add_argument(
        "--ema",
        type=float,
        metavar="DECAY",
        help="ours: keep a moving average of the generator's weights with this decay (e.g. 0.999) "
        "and save it as the model: steadier photos than the last step's weights; 0: off",
    )
    opt.add_argument(
        "--seed",
        type=int,
        help="seed of every random choice (weights, data order, augmentation, dropout)",
    )
    opt.add_argument(
        "--device",
        help="cpu, cuda or cuda:N (default: cuda if available, else cpu)",
    )
    opt.add_argument(
        "--amp",
        action="store_true",
        help="mixed precision: bf16 autocast (fp16 with loss scaling where bf16 is missing)",
    )

    run = p.add_argument_group("run")
    run.add_argument(
        "--out",
        help="new run folder: args.json, state.pt, losses.csv, samples/, model/ (an existing run "
        "folder is refused: continue it with --resume, or replace it with --overwrite)",
    )
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="start again in an existing --out folder, deleting the files of the run there",
    )
    run.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR exactly where its last saved state left off; "
        f"{', '.join('--' + n.replace('_', '-') for n in RESUME_CHANGES)} may change "
        "(recorded in args.json): e.g. --epochs to extend a run, --push-to-hub to retry an upload",
    )
    run.add_argument(
        "--save-every",
        type=int,
        help="steps between resumable states (also saved every epoch and on Ctrl-C / SIGTERM)",
    )
    run.add_argument(
        "--sample-every",
        type=int,
        help="steps between sample grids in RUN_DIR/samples",
    )
    run.add_argument(
        "--log-every",
        type=int,
        metavar="N",
        help="steps between progress lines when the output goes to a file (a terminal gets a bar)",
    )
    run.add_argument(
        "--push-to-hub",
        metavar="USER/NAME",
        help="upload the final model to this Hub repo; the token (HF_TOKEN or `hf auth login`) is "
        "checked before the first step",
    )
    return p


def given_options(args: argparse.Namespace) -> dict:
    """The TrainConfig settings typed on the command line (argparse leaves the others None)."""
    names = {f.name for f in fields(TrainConfig)}
    return {k: v for k, v in vars(args).items() if k in names and v is not None and v is not False}


def resumed_config(run_dir: Path, given: dict) -> tuple[TrainConfig, list[str]]:
    """The run's stored settings with the options typed beside --resume applied, and a line per
    change. Options that repeat the stored value are fine (the start command run again with
    --resume added); other changes outside RESUME_CHANGES are refused."""
    config = TrainConfig.load(run_dir / "args.json")
    out = given.pop("out", None)
    if out is not None and Path(out).resolve() != run_dir.resolve():
        raise ValueError(
            f"--out {out} and --resume {run_dir} name two folders; give --resume alone."
        )
    changes = {k: v for k, v in given.items() if getattr(config, k) != v}
    refused = sorted(set(changes) - set(RESUME_CHANGES))
    if refused:
        names = ", ".join("--" + n.replace("_", "-") for n in refused)
        raise ValueError(
            f"{names} cannot change when resuming: the run's settings are in {run_dir}/args.json. "
            "To train further with other settings, start a new run with "
            f"--init-from {run_dir}/model."
        )
    said = []
    for name, value in changes.items():
        said.append(f"--{name.replace('_', '-')} {getattr(config, name)} -> {value}")
        setattr(config, name, value)
    return config, said


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from train.loop import train

    given = given_options(args)
    command = "python -m train " + shlex.join(argv if argv is not None else sys.argv[1:])
    try:
        if args.resume:
            run_dir = Path(args.resume)
            if not (run_dir / "args.json").is_file():
                parser.error(f"{args.resume} is not a run folder (it has no args.json).")
            if args.overwrite:
                parser.error("--overwrite starts a new run; it does not go with --resume.")
            config, changes = resumed_config(run_dir, given)
            config.out = str(run_dir)
            if changes:
                print(
                    f"changed for the rest of the run (recorded in args.json): {'; '.join(changes)}"
                )
            model_dir = train(config, resume=True, command=command if changes else None)
        else:
            if not args.data or not args.out:
                parser.error(
                    "--data and --out are needed to start a run (or --resume RUN_DIR to continue one)."
                )
            config = TrainConfig(**given)
            model_dir = train(config, overwrite=args.overwrite, command=command)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C while the data is checked, before the first step
        print("interrupted before training started; nothing was trained", file=sys.stderr)
        return 130
    print(f"model saved in {model_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
