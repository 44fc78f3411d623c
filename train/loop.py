"""The pix2pix training loop: one step, the loop around it, exact checkpoints and resume.

One code path for everything: a single CPU or GPU, or several under torchrun (DistributedDataParallel;
NCCL on GPUs, gloo on CPUs). Rank 0 writes every file. A run folder holds:

    args.json     the settings, written before the first step
    state.pt      everything needed to continue bit for bit (written atomically)
    losses.csv    one row per step; samples/*.png  sketch | made | true grids
    model/        the final generator (save_pretrained), with its model card
"""

from __future__ import annotations

import csv
import os
import random
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from pix2pix.hints import HINT_CHANNELS
from pix2pix.losses import gan_loss, gradient_penalty
from pix2pix.networks import NLayerDiscriminator, PixelDiscriminator, UNetGenerator, init_weights
from train.config import TrainConfig
from train.data import PairDataset, check_pairs, find_pairs
from train.report import loss_curve, sample_grid

LOSS_COLUMNS = ["step", "epoch", "lr", "G_GAN", "G_L1", "D_real", "D_fake"]


@dataclass
class Models:
    generator: torch.nn.Module  # DDP-wrapped when distributed
    discriminator: torch.nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    sched_g: torch.optim.lr_scheduler.LambdaLR
    sched_d: torch.optim.lr_scheduler.LambdaLR

    @property
    def bare_generator(self) -> UNetGenerator:
        return _bare(self.generator)


def linear_decay(config: TrainConfig):
    """The official 'linear' policy: lr constant for `epochs`, then down towards 0 over `epochs_decay`."""
    return lambda epoch: 1.0 - max(0, epoch + 1 - config.epochs) / float(config.epochs_decay + 1)


def build_models(config: TrainConfig, device: torch.device) -> Models:
    in_ch, out_ch = (1, 3) if config.direction == "sketch2photo" else (3, 1)
    in_ch += HINT_CHANNELS if config.hints else 0
    if config.init_from:
        generator = UNetGenerator.from_pretrained(config.init_from)
        if config.hints and generator.in_channels == 1:
            generator = widen_input(generator, in_ch)
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
        config.ngf = generator.ngf  # the saved architecture wins; the card and args.json say so
    else:
        generator = init_weights(
            UNetGenerator(in_ch, out_ch, config.ngf, config.num_downs, config.norm)
        )
    pair_channels = in_ch + out_ch
    if config.n_layers_d == 0:
        discriminator = PixelDiscriminator(pair_channels, config.ndf, config.norm)
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
    return Models(
        generator,
        discriminator,
        opt_g,
        opt_d,
        torch.optim.lr_scheduler.LambdaLR(opt_g, rule),
        torch.optim.lr_scheduler.LambdaLR(opt_d, rule),
    )


def widen_input(generator: UNetGenerator, in_channels: int) -> UNetGenerator:
    """The same generator taking more input channels, the new ones with zero weights: it makes
    exactly the photos it made before until training teaches it to use them (a sketch-only model
    fine-tuned into a hint model starts from what it knew)."""
    config = {**generator._hub_mixin_config, "in_channels": in_channels}
    wide = UNetGenerator(**config)
    state = generator.state_dict()
    first = "model.model.0.weight"
    weight = state[first]
    state[first] = torch.cat(
        [
            weight,
            weight.new_zeros(weight.shape[0], in_channels - weight.shape[1], *weight.shape[2:]),
        ],
        1,
    )
    wide.load_state_dict(state)
    return wide


class Precision:
    """--amp: bf16 autocast where the device has bf16, else fp16 with a gradient scaler."""

    def __init__(self, enabled: bool, device: torch.device):
        bf16 = device.type == "cpu" or (device.type == "cuda" and torch.cuda.is_bf16_supported())
        self.dtype = torch.bfloat16 if bf16 else torch.float16
        self.enabled = enabled
        self.device_type = device.type
        self.scaler = torch.amp.GradScaler(device.type, enabled=enabled and not bf16)

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
    with precision.autocast():
        fake = G(sketch)
        # Discriminator: real pairs towards 1, generated pairs towards 0; its loss is halved.
        D.requires_grad_(True)
        models.opt_d.zero_grad(set_to_none=True)
        fake_pair = torch.cat([sketch, fake.detach()], 1)
        real_pair = torch.cat([sketch, photo], 1)
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
        g_gan = gan_loss(
            D(torch.cat([sketch, fake], 1)), True, config.gan_mode, for_discriminator=False
        )
        g_l1 = F.l1_loss(fake.float(), photo.float()) * config.lambda_l1
    precision.step(g_gan + g_l1, models.opt_g)
    return {
        "G_GAN": g_gan.item(),
        "G_L1": g_l1.item(),
        "D_real": d_real.item(),
        "D_fake": d_fake.item(),
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
    _bare(models.discriminator).load_state_dict(state["discriminator"])
    models.opt_g.load_state_dict(state["opt_g"])
    models.opt_d.load_state_dict(state["opt_d"])
    models.sched_g.load_state_dict(state["sched_g"])
    models.sched_d.load_state_dict(state["sched_d"])
    precision.scaler.load_state_dict(state["scaler"])
    set_rng_state({k: _cpu(v) for k, v in state["rng"].items()})
    return state["step"], state["epoch"], state["step_in_epoch"]


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
    """SIGTERM / SIGINT: finish the current step, save, and leave (the run resumes exactly)."""

    def __init__(self):
        self.requested = False
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

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
    if config.device:
        device = torch.device(config.device)
    else:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device, rank, world


def epoch_order(n: int, seed: int, epoch: int, rank: int, world: int) -> list[int]:
    """This rank's share of the epoch's shuffle; the same on every rank and every restart."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(n, generator=generator).tolist()
    order += order[: (-len(order)) % world]  # pad so every rank takes the same number of steps
    return order[rank::world]


def load_data(config: TrainConfig) -> tuple[PairDataset, list[str]]:
    pairs, problems = [], []
    sources = [
        (path, config.layout, n) for path, n in zip(config.data, config.repeats, strict=True)
    ]
    if config.photos:
        sources.append((config.photos, "photos", 1))
    for path, layout, times in sources:
        found, found_problems = check_pairs(find_pairs(path, layout, split="train"), config.strict)
        pairs += found * times
        problems += found_problems
    dataset = PairDataset(
        pairs,
        image_size=config.image_size,
        direction=config.direction,
        seed=config.seed,
        doodle_prob=config.doodle_prob,
        hints=config.hints,
    )
    return dataset, problems


def train(config: TrainConfig, resume: bool = False) -> Path:
    """Run (or continue) training in config.out; returns the folder of the final model."""
    config.check()
    run_dir = Path(config.out)
    device, rank, world = setup_device(config)
    main = rank == 0
    if main:
        (run_dir / "samples").mkdir(parents=True, exist_ok=True)
        if not resume:
            config.save(run_dir / "args.json")
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    np.random.seed(config.seed)

    dataset, problems = load_data(config)
    for problem in problems:
        if main:
            tqdm.write(f"warning: skipped {problem}", file=sys.stderr)
    models = build_models(config, device)
    precision = Precision(config.amp, device)
    step = epoch = step_in_epoch = 0
    if resume and (run_dir / "state.pt").exists():
        step, epoch, step_in_epoch = load_state(run_dir, models, precision, device)
    if main:
        keep_loss_rows(run_dir / "losses.csv", step)
    fixed = sample_batch(dataset, device)
    stop = StopRequested()
    total_epochs = config.epochs + config.epochs_decay
    losses: dict[str, float] = {}

    while epoch < total_epochs:
        order = epoch_order(len(dataset), config.seed, epoch, rank, world)
        steps_per_epoch = len(order) // config.batch_size
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
        bar = tqdm(
            loader,
            desc=f"epoch {epoch + 1}/{total_epochs}",
            initial=step_in_epoch,
            total=steps_per_epoch,
            disable=None if main else True,
            dynamic_ncols=True,
        )
        for batch in bar:
            batch = {
                k: v.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
                for k, v in batch.items()
                if isinstance(v, torch.Tensor)
            }
            losses = train_step(models, batch, config, precision)
            step += 1
            step_in_epoch += 1
            if main:
                bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()})
                log_losses(
                    run_dir / "losses.csv", step, epoch, models.sched_g.get_last_lr()[0], losses
                )
                if step % config.sample_every == 0:
                    sample_grid(
                        models.bare_generator, fixed, run_dir / "samples" / f"step_{step:07d}.png"
                    )
            if stop.requested or step % config.save_every == 0:
                if main:
                    save_state(run_dir, models, precision, step, epoch, step_in_epoch)
                if stop.requested:
                    if main:
                        tqdm.write(
                            f"stopped at step {step}; continue with: python -m train --resume {run_dir}",
                            file=sys.stderr,
                        )
                    raise SystemExit(130)
        bar.close()
        if main and bar.disable:  # no terminal (a log file): one line per epoch instead of a bar
            print(
                f"epoch {epoch + 1}/{total_epochs} step {step}: "
                + " ".join(f"{k}={v:.3f}" for k, v in losses.items()),
                flush=True,
            )
        models.sched_g.step()
        models.sched_d.step()
        epoch += 1
        step_in_epoch = 0
        if main:
            save_state(run_dir, models, precision, step, epoch, step_in_epoch)

    return finish(run_dir, models, dataset, problems, config, main, world)


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
    dataset: PairDataset,
    problems: list[str],
    config: TrainConfig,
    main: bool,
    world: int,
) -> Path:
    """Check the ranks agree, then (rank 0) save the model, its card, the loss curve and metrics."""
    checksum = torch.tensor([parameter_checksum(models.bare_generator)], dtype=torch.float64)
    checksums = [checksum.clone() for _ in range(world)]
    if dist.is_initialized():
        dist.all_gather(checksums, checksum)
    model_dir = run_dir / "model"
    if main:
        from train.publish import save_model

        loss_curve(run_dir / "losses.csv", run_dir / "loss_curve.png")
        save_model(
            models.bare_generator,
            model_dir,
            run_dir,
            config,
            len(dataset),
            problems,
            rank_checksums=[c.item() for c in checksums],
        )
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    return model_dir
