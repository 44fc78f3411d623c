"""`python -m train --data PATH --out RUN_DIR [...]` and `python -m train --resume RUN_DIR`."""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import fields
from pathlib import Path

from train.config import GROUPS, TrainConfig

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


TYPES = {"int": int, "float": float, "str": str}


def build_parser() -> argparse.ArgumentParser:
    """The command line, made from TrainConfig's fields: each setting's flag, type, choices and help
    come from its definition in train/config.py; --resume and --overwrite are about the run."""
    p = argparse.ArgumentParser(
        prog="python -m train",
        description="Train or fine-tune a sketch-to-photo generator with the pix2pix recipe "
        "(defaults are the official pix2pix defaults unless marked 'ours').",
        formatter_class=ConfigDefaultsFormatter,
    )
    groups = {name: p.add_argument_group(name) for name in GROUPS}
    for setting in fields(TrainConfig):
        meta = setting.metadata
        options = {"help": meta["help"]}
        if meta["metavar"]:
            options["metavar"] = meta["metavar"]
        if meta["choices"]:
            options["choices"] = meta["choices"]
        kind = setting.type.split(" | ")[0]  # "int | None" -> "int"
        if kind == "bool":
            options["action"] = "store_true"
        elif kind.startswith("list["):
            options.update(nargs="+", type=TYPES[kind[5:-1]])
        else:
            options["type"] = TYPES[kind]
        groups[meta["group"]].add_argument("--" + setting.name.replace("_", "-"), **options)
    groups["run"].add_argument(
        "--overwrite",
        action="store_true",
        help="start again in an existing --out folder, deleting the files of the run there",
    )
    groups["run"].add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR exactly where its last saved state left off; "
        f"{', '.join('--' + n.replace('_', '-') for n in RESUME_CHANGES)} may change "
        "(recorded in args.json): e.g. --epochs to extend a run, --push-to-hub to retry an upload",
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
