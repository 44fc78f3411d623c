"""The pix2pix training loop: one step, the loop around it, exact checkpoints and resume.

One code path for everything: a single CPU or GPU, or several under torchrun (DistributedDataParallel;
NCCL on GPUs, gloo on CPUs). Rank 0 writes every file. A run folder holds:

    command.txt   the command that started the run
    args.json     the settings, written before the first step (and on a resume that changes them)
    state.pt      everything needed to continue bit for bit (written atomically)
    losses.csv    one row per step; samples/*.png  sketch | made | true grids
    model/        the final generator (save_pretrained), with its model card
    eval/         the end-of-run scores on pairs it never trained on; summary.json
"""

from __future__ import annotations

import copy
import csv
import math
import os
import random
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from pix2pix.hints import HINT_CHANNELS
from pix2pix.losses import feature_matching, gan_loss, gradient_penalty
from pix2pix.networks import (
    MultiScaleDiscriminator,
    NLayerDiscriminator,
    PixelDiscriminator,
    UNetGenerator,
    init_weights,
)
from pix2pix.translate import pick_device
from train.augment import diff_augment
from train.config import TrainConfig
from train.data import (
    Found,
    Pair,
    PairDataset,
    RunData,
    check_pairs,
    find_pairs,
    first_few,
    has_split,
    hold_out,
    refusal,
    scan_pairs,
)
from train.report import loss_curve, sample_grid

LOSS_COLUMNS = ["step", "epoch", "lr", "G_GAN", "G_L1", "D_real", "D_fake", "G_FM"]
# What a run writes: --overwrite deletes these and nothing else.
RUN_FILES = ("command.txt", "args.json", "state.pt", "state.pt.tmp", "losses.csv")
RUN_FILES += ("loss_curve.png", "summary.json", "samples", "model", "eval")
ESTIMATE_AFTER = 20  # steps timed before the run's duration is estimated
EVAL_SPLITS = ("test", "val")  # what the end of a run scores, the first the data has


@dataclass
class Models:
    generator: torch.nn.Module  # DDP-wrapped when distributed
    discriminator: torch.nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    sched_g: torch.optim.lr_scheduler.LambdaLR
    sched_d: torch.optim.lr_scheduler.LambdaLR
    ema: UNetGenerator | None = None  # --ema: the moving average of the generator's weights

    @property
    def bare_generator(self) -> UNetGenerator:
        return _bare(self.generator)

    @property
    def photo_generator(self) -> UNetGenerator:
        """The generator whose photos the run shows and saves: the average with --ema."""
        return self.ema if self.ema is not None else self.bare_generator

    def update_ema(self, decay: float) -> None:
        """ema <- decay * ema + (1 - decay) * generator; buffers (norm statistics) are copied."""
        if self.ema is None:
            return
        with torch.no_grad():
            mine = [p for p in self.ema.parameters()]
            theirs = [p.detach() for p in self.bare_generator.parameters()]
            torch._foreach_lerp_(mine, theirs, 1 - decay)
            for mine_b, theirs_b in zip(
                self.ema.buffers(), self.bare_generator.buffers(), strict=True
            ):
                mine_b.copy_(theirs_b)


def linear_decay(config: TrainConfig):
    """The official 'linear' policy: lr constant for `epochs`, then down towards 0 over `epochs_decay`."""
    return lambda epoch: 1.0 - max(0, epoch + 1 - config.epochs) / float(config.epochs_decay + 1)


def build_models(config: TrainConfig, device: torch.device) -> Models:
    in_ch, out_ch = (1, 3) if config.direction == "sketch2photo" else (3, 1)
    in_ch += HINT_CHANNELS if config.hints else 0
    if config.init_from:
        generator = UNetGenerator.from_pretrained(config.init_from)
        if config.hints and generator.in_channels == 1 and config.direction == "sketch2photo":
            generator = generator.widened(in_ch)
        if (generator.in_channels, generator.out_channels) != (in_ch, out_ch):
            raise ValueError(
                f"--init-from {config.init_from} maps {generator.in_channels} to "
                f"{generator.out_channels} channels; {config.direction} needs {in_ch} to {out_ch}."
            )
        if generator.image_size != config.image_size:
            raise ValueError(
                f"--init-from {config.init_from} was built for {generator.image_size}x"
                f"{generator.image_size}; pass --image-size {generator.image_size}."
            )
    else:
        generator = init_weights(
            UNetGenerator(
                in_ch,
                out_ch,
                config.ngf,
                config.num_downs,
                config.norm,
                upsample=config.upsample,
                trunk_blocks=config.trunk_blocks,
            )
        )
    pair_channels = in_ch + out_ch
    if config.n_layers_d == 0:
        discriminator = PixelDiscriminator(pair_channels, config.ndf, config.norm)
    elif config.d_scales > 1:
        discriminator = MultiScaleDiscriminator(
            pair_channels, config.ndf, config.n_layers_d, config.norm, config.d_scales
        )
    else:
        discriminator = NLayerDiscriminator(
            pair_channels, config.ndf, config.n_layers_d, config.norm
        )
    init_weights(discriminator)
    fmt = torch.channels_last
    generator = generator.to(device, memory_format=fmt)
    discriminator = discriminator.to(device, memory_format=fmt)
    if dist.is_initialized():
        ids = [device.index] if device.type == "cuda" else None
        generator = DistributedDataParallel(generator, device_ids=ids)
        discriminator = DistributedDataParallel(discriminator, device_ids=ids)
    fused = {"fused": True} if device.type in ("cuda", "cpu") else {}
    adam = dict(lr=config.lr, betas=(config.beta1, 0.999), **fused)
    opt_g = torch.optim.Adam(generator.parameters(), **adam)
    opt_d = torch.optim.Adam(discriminator.parameters(), **adam)
    rule = linear_decay(config)
    ema = None
    if config.ema:
        ema = copy.deepcopy(_bare(generator)).requires_grad_(False)
    return Models(
        generator,
        discriminator,
        opt_g,
        opt_d,
        torch.optim.lr_scheduler.LambdaLR(opt_g, rule),
        torch.optim.lr_scheduler.LambdaLR(opt_d, rule),
        ema,
    )


ARCHITECTURE = ("ngf", "norm", "upsample", "trunk_blocks")  # what a saved generator decides


def adopt_base_model(config: TrainConfig) -> tuple[TrainConfig, list[str]]:
    """The settings a --init-from model decides, taken from its config.json before anything runs:
    its architecture, and --hints when it takes colour hints (the bundled model does), so that
    args.json and the card record what actually trains. Returns the settings and a line for each
    change."""
    if not config.init_from:
        return config, []
    from dataclasses import replace

    saved = UNetGenerator.from_pretrained(config.init_from)._hub_mixin_config
    changes = {
        name: saved[name]
        for name in ARCHITECTURE
        if name in saved and saved[name] != getattr(config, name)
    }
    hint_model = saved.get("in_channels") == 1 + HINT_CHANNELS
    if hint_model and not config.hints and config.direction == "sketch2photo":
        changes["hints"] = True
    said = [
        f"--init-from {config.init_from} decides --{name.replace('_', '-')}: "
        f"{getattr(config, name)} -> {value}"
        for name, value in changes.items()
    ]
    return replace(config, **changes), said


class Precision:
    """--amp: bf16 autocast where the device has bf16, else fp16 with a gradient scaler."""

    def __init__(self, enabled: bool, device: torch.device):
        bf16 = device.type == "cpu" or (device.type == "cuda" and torch.cuda.is_bf16_supported())
        self.dtype = torch.bfloat16 if bf16 else torch.float16
        self.enabled = enabled
        self.device_type = device.type
        self.scaler = torch.amp.GradScaler(device.type, enabled=enabled and not bf16)

    @property
    def name(self) -> str:
        if not self.enabled:
            return "fp32"
        scaling = " with loss scaling" if self.scaler.is_enabled() else ""
        return f"{'bf16' if self.dtype == torch.bfloat16 else 'fp16'} autocast{scaling} (--amp)"

    def autocast(self):
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.enabled)

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()


def train_step(
    models: Models, batch: dict, config: TrainConfig, precision: Precision
) -> dict[str, float]:
    """The paper's alternating update: D on (sketch, photo) vs (sketch, G(sketch)), then G."""
    G, D = models.generator, models.discriminator
    sketch, photo = batch["input"], batch["target"]
    judged = diff_augment if config.diffaugment else (lambda *pairs: pairs)
    with precision.autocast():
        fake = G(sketch)
        # Discriminator: real pairs towards 1, generated pairs towards 0; its loss is halved.
        D.requires_grad_(True)
        models.opt_d.zero_grad(set_to_none=True)
        fake_pair, real_pair = judged(
            torch.cat([sketch, fake.detach()], 1), torch.cat([sketch, photo], 1)
        )
        d_fake = gan_loss(D(fake_pair), False, config.gan_mode)
        d_real = gan_loss(D(real_pair), True, config.gan_mode)
        loss_d = (d_fake + d_real) * 0.5
        if config.gan_mode == "wgangp":
            loss_d = loss_d + gradient_penalty(D, real_pair, fake_pair)
    precision.step(loss_d, models.opt_d)
    with precision.autocast():
        # Generator: fool D, and stay close to the true photo (L1, weighted lambda).
        D.requires_grad_(False)
        models.opt_g.zero_grad(set_to_none=True)
        fake_pair, real_pair = judged(torch.cat([sketch, fake], 1), torch.cat([sketch, photo], 1))
        if config.lambda_fm:
            *fake_features, scores = _bare(D).features(fake_pair)
            g_fm = feature_matching(fake_features, _bare(D).features(real_pair)[:-1])
            g_fm = g_fm * config.lambda_fm
        else:
            scores, g_fm = D(fake_pair), torch.zeros((), device=fake.device)
        g_gan = gan_loss(scores, True, config.gan_mode, for_discriminator=False)
        g_l1 = F.l1_loss(fake.float(), photo.float()) * config.lambda_l1
    precision.step(g_gan + g_l1 + g_fm, models.opt_g)
    models.update_ema(config.ema)
    return {
        "G_GAN": g_gan.item(),
        "G_L1": g_l1.item(),
        "D_real": d_real.item(),
        "D_fake": d_fake.item(),
        "G_FM": g_fm.item(),
    }


# ---------------------------------------------------------------------------------------------
# resumable state


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
    run_dir: Path, models: Models, precision: Precision, step: int, epoch: int, step_in_epoch: int
) -> None:
    """Write state.pt atomically: a kill during the save leaves the previous state intact."""
    state = {
        "generator": models.bare_generator.state_dict(),
        "ema": models.ema.state_dict() if models.ema is not None else None,
        "discriminator": _bare(models.discriminator).state_dict(),
        "opt_g": models.opt_g.state_dict(),
        "opt_d": models.opt_d.state_dict(),
        "sched_g": models.sched_g.state_dict(),
        "sched_d": models.sched_d.state_dict(),
        "scaler": precision.scaler.state_dict(),
        "step": step,
        "epoch": epoch,
        "step_in_epoch": step_in_epoch,
        "rng": rng_state(),
    }
    tmp = run_dir / "state.pt.tmp"
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, run_dir / "state.pt")


def load_state(
    run_dir: Path, models: Models, precision: Precision, device: torch.device
) -> tuple[int, int, int]:
    state = torch.load(run_dir / "state.pt", map_location=device, weights_only=True)
    models.bare_generator.load_state_dict(state["generator"])
    if models.ema is not None:
        models.ema.load_state_dict(state["ema"])
    _bare(models.discriminator).load_state_dict(state["discriminator"])
    models.opt_g.load_state_dict(state["opt_g"])
    models.opt_d.load_state_dict(state["opt_d"])
    models.sched_g.load_state_dict(state["sched_g"])
    models.sched_d.load_state_dict(state["sched_d"])
    precision.scaler.load_state_dict(state["scaler"])
    set_rng_state({k: _cpu(v) for k, v in state["rng"].items()})
    return state["step"], state["epoch"], state["step_in_epoch"]


def follow_schedule(models: Models) -> None:
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


def _bare(module: torch.nn.Module) -> torch.nn.Module:
    return module.module if isinstance(module, DistributedDataParallel) else module


def _cpu(value):
    """RNG states must be CPU byte tensors whatever map_location put them on."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, list | tuple):
        return type(value)(_cpu(v) for v in value)
    return value


# ---------------------------------------------------------------------------------------------
# the loop


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


def load_data(config: TrainConfig) -> RunData:
    """Find and check every source's pairs, and set aside what the end of the run scores."""
    pairs, problems, described, layouts = [], [], [], []
    eval_pairs, eval_about = [], ""
    sources = [
        (path, config.layout, n) for path, n in zip(config.data, config.repeats, strict=True)
    ]
    if config.photos:
        sources.append((config.photos, "photos", 1))
    for index, (path, layout, times) in enumerate(sources):
        found = scan_pairs(path, layout, split="train")
        train_pairs = found.pairs
        if index == 0:
            train_pairs, eval_pairs, eval_about = set_aside(path, found, config)
        good, bad = check_pairs(train_pairs)
        pairs += good * times
        problems += found.unpaired + bad
        layouts.append(found.layout)
        kind = f"layout {found.layout}"
        if found.layout == "photos":
            kind = "bare photos, their sketches drawn by pix2pix.sketchify"
        described.append(f"`{path}` ({kind}{f', x{times}' if times > 1 else ''})")
    if config.strict and problems:
        raise ValueError(refusal(problems))
    dataset = PairDataset(
        pairs,
        image_size=config.image_size,
        direction=config.direction,
        seed=config.seed,
        doodle_prob=config.doodle_prob,
        place_prob=config.place_prob,
        hints=config.hints,
    )
    return RunData(dataset, problems, described, eval_pairs, eval_about, layouts)


def set_aside(path: str, found: Found, config: TrainConfig) -> tuple[list[Pair], list[Pair], str]:
    """(pairs to train on, at most config.eval_pairs pairs to score, where those come from or why
    there are none).

    The test split beside the data when there is one, else its val split (train.faces holds whole
    people out there). Without either, config.holdout pairs (a tenth by default, at most
    eval_pairs) are held out before training, drawn with the seed; the count goes into args.json,
    so a resume holds out the same pairs. Scores of training pairs are never reported as held-out
    scores."""
    for split in EVAL_SPLITS:
        if has_split(path, split):
            config.holdout = 0
            test = find_pairs(path, found.layout, split)
            scored = bounded(test, config.eval_pairs, config.seed)
            about = f"of the {split} split of `{path}`"
            if len(scored) < len(test):
                about += f" (a sample of its {len(test)}, drawn with seed {config.seed})"
            return found.pairs, scored, about
    if config.holdout is None:
        config.holdout = min(config.eval_pairs, len(found.pairs) // 10)
        if config.holdout == 0:
            few = f"{len(found.pairs)} pairs are too few to hold a tenth out"
            return found.pairs, [], f"`{path}` has no test or val split, and {few}"
    if config.holdout == 0:
        return found.pairs, [], f"`{path}` has no test or val split, and --holdout 0 held none out"
    if config.holdout >= len(found.pairs):
        raise ValueError(
            f"--holdout {config.holdout} leaves none of the {len(found.pairs)} pairs of {path} "
            "to train on."
        )
    kept, held = hold_out(found.pairs, config.holdout, config.seed)
    scored = bounded(held, config.eval_pairs, config.seed)
    about = (
        f"held out of `{path}` before training (drawn with seed {config.seed}, never trained on; "
        f"it has no test or val split)"
    )
    if len(scored) < len(held):
        about += f", a sample of the {len(held)} held out"
    return kept, scored, about


def bounded(pairs: list[Pair], count: int, seed: int) -> list[Pair]:
    """At most count pairs, a fixed sample: the end of a run scores minutes, not hours."""
    return pairs if len(pairs) <= count else hold_out(pairs, count, seed)[1]


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


def train(
    config: TrainConfig, resume: bool = False, overwrite: bool = False, command: str | None = None
) -> Path:
    """Run (or continue) training in config.out; returns the folder of the final model.

    A new run refuses a folder that holds a run unless overwrite. A Hub upload is checked before
    any data is read. command is what the card shows under "How it was made" (appended on a
    resume). Raises ValueError with a sentence for anything the user can fix."""
    if not resume:
        config, adopted = adopt_base_model(config)
        for line in adopted:
            print(line, flush=True)
    config.check()
    run_dir = Path(config.out)
    device, rank, world = setup_device(config)
    main = rank == 0
    if config.push_to_hub:
        from train.publish import check_hub_access

        checked_on_main(main, lambda: check_hub_access(config.push_to_hub))
    if not resume:
        checked_on_main(main, lambda: refuse_existing_run(run_dir, overwrite))
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    np.random.seed(config.seed)

    data = load_data(config)
    steps_per_epoch = math.ceil(len(data.dataset) / world) // config.batch_size
    if steps_per_epoch == 0:
        raise ValueError(
            f"--batch-size {config.batch_size} is more than the {len(data.dataset)} training pairs "
            f"{'each process gets' if world > 1 else 'there are'}."
        )
    # Built before the run folder exists: a base model that cannot train here leaves nothing behind.
    models = build_models(config, device)
    if main:
        if not resume:
            start_run_dir(run_dir, command, overwrite)
        elif command:  # a resume that changed settings: the card lists it under the start command
            with open(run_dir / "command.txt", "a") as f:
                f.write(command + "\n")
        (run_dir / "samples").mkdir(exist_ok=True)
        config.save(run_dir / "args.json")
        for line in first_few(data.problems):
            tqdm.write(f"warning: skipped {line}", file=sys.stderr)
    precision = Precision(config.amp, device)
    position = (0, 0, 0)
    if resume and (run_dir / "state.pt").exists():
        position = load_state(run_dir, models, precision, device)
    follow_schedule(models)
    if main and resume and position[0] >= last_step_of(config, steps_per_epoch):
        print(
            f"{run_dir} already trained to step {position[0]:,}, the end of its schedule"
            + (f" (--max-steps {config.max_steps})" if config.max_steps else "")
            + ": its model is saved again and scored. To train further, resume with a larger "
            "--max-steps, or --epochs / --epochs-decay.",
            flush=True,
        )
    if main:
        keep_loss_rows(run_dir / "losses.csv", position[0])
        print(
            start_up(config, data, steps_per_epoch, world, device, precision, position), flush=True
        )
    with StopRequested() as stop:
        step = run_steps(
            run_dir, config, data, models, precision, stop, position, steps_per_epoch, rank, world
        )
        return finish(
            run_dir, models, data, config, main, world, stop, trained(config, step, steps_per_epoch)
        )


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


def run_steps(
    run_dir: Path,
    config: TrainConfig,
    data: RunData,
    models: Models,
    precision: Precision,
    stop: StopRequested,
    position: tuple[int, int, int],
    steps_per_epoch: int,
    rank: int,
    world: int,
) -> int:
    """The loop over epochs and steps from position (step, epoch, step in epoch); returns the last
    step. A stop signal saves the state and leaves with exit code 130."""
    main = rank == 0
    step, epoch, step_in_epoch = position
    dataset, device = data.dataset, next(models.generator.parameters()).device
    last_step = last_step_of(config, steps_per_epoch)
    fixed = sample_batch(dataset, device)
    progress = Progress(step, last_step, config, show=main)
    deadline = time.monotonic() + 60 * config.max_minutes if config.max_minutes else None
    while epoch < config.total_epochs and step < last_step:
        order = epoch_order(len(dataset), config.seed, epoch, rank, world)
        dataset.set_epoch(epoch)
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_size=config.batch_size,
            sampler=order[step_in_epoch * config.batch_size : steps_per_epoch * config.batch_size],
            num_workers=config.workers,
            pin_memory=device.type == "cuda",
            drop_last=True,
            generator=torch.Generator(),
            worker_init_fn=ignore_stop_signals,  # else the loader draws from the global RNG, and dropout's
        )  # masks after a mid-epoch resume would differ from an uninterrupted run
        for batch in loader:
            batch = {
                k: v.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
                for k, v in batch.items()
                if isinstance(v, torch.Tensor)
            }
            losses = train_step(models, batch, config, precision)
            step += 1
            step_in_epoch += 1
            if deadline and time.monotonic() > deadline:
                last_step = step  # --max-minutes: this step is the last (saved below)
            if main:
                progress.update(step, epoch, losses)
                lr = models.opt_g.param_groups[0]["lr"]  # the rate used, after follow_schedule too
                log_losses(run_dir / "losses.csv", step, epoch, lr, losses)
                if step % config.sample_every == 0:
                    sample_grid(
                        models.photo_generator, fixed, run_dir / "samples" / f"step_{step:07d}.png"
                    )
            if main and (stop.requested or step % config.save_every == 0 or step == last_step):
                save_state(run_dir, models, precision, step, epoch, step_in_epoch)
            if stop.requested:
                progress.close()
                if main:
                    tqdm.write(
                        f"stopped at step {step}; continue with: python -m train --resume {run_dir}",
                        file=sys.stderr,
                    )
                raise SystemExit(130)
            if step == last_step:
                break
        if step_in_epoch < steps_per_epoch:  # --max-steps ended the run inside this epoch
            break
        models.sched_g.step()
        models.sched_d.step()
        epoch += 1
        step_in_epoch = 0
        if main:
            save_state(run_dir, models, precision, step, epoch, step_in_epoch)
    progress.close()
    return step


def last_step_of(config: TrainConfig, steps_per_epoch: int) -> int:
    """The step the run ends at: its schedule's end, or --max-steps."""
    last_step = steps_per_epoch * config.total_epochs
    return min(last_step, config.max_steps) if config.max_steps else last_step


def sample_batch(dataset: PairDataset, device: torch.device, n: int = 4) -> dict[str, torch.Tensor]:
    """The same few un-augmented training examples for every sample grid of the run."""
    plain = PairDataset(
        dataset.pairs,
        dataset.image_size,
        dataset.direction,
        augment=False,
        seed=dataset.seed,
        hints=dataset.hints,
    )
    items = [plain[i] for i in range(min(n, len(plain)))]
    return {k: torch.stack([it[k] for it in items]).to(device) for k in ("input", "target")}


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


def parameter_checksum(module: torch.nn.Module) -> float:
    """Sum of all weights. DDP keeps them equal on every rank; the batch-norm statistics are not
    (each rank updates them on its own batch after DDP broadcasts rank 0's), so they are left out."""
    return float(sum(p.detach().double().sum() for p in module.parameters()))


def finish(
    run_dir: Path,
    models: Models,
    data: RunData,
    config: TrainConfig,
    main: bool,
    world: int,
    stop: StopRequested,
    trained: str,
) -> Path:
    """Check the ranks agree, then (rank 0) save the model, its card, the loss curve and metrics.
    A stop signal during the evaluation leaves the model and its card written, and exit code 130."""
    checksum = torch.tensor([parameter_checksum(models.bare_generator)], dtype=torch.float64)
    checksums = [checksum.clone() for _ in range(world)]
    if dist.is_initialized():
        dist.all_gather(checksums, checksum)
    model_dir = run_dir / "model"
    finished = True
    if main:
        from train.publish import save_model

        loss_curve(run_dir / "losses.csv", run_dir / "loss_curve.png")
        finished = save_model(
            models.photo_generator,
            run_dir,
            config,
            data,
            trained,
            rank_checksums=[c.item() for c in checksums],
            stop=lambda: stop.requested,
        )
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    if not finished:
        print(
            f"stopped during the evaluation: {model_dir} is saved, without scores; "
            f"python -m train --resume {run_dir} scores it",
            file=sys.stderr,
        )
        raise SystemExit(130)
    return model_dir
