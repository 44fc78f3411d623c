"""The pix2pix training loop: the models, precision, one training step, and `train()` with the
epoch and step loop in plain sight.

Around it, each in a module of its own: train.split (the data and what the end scores),
train.run_folder (the folder a run writes), train.state (exact checkpoints and resume),
train.distributed (device, torchrun, stop signals) and train.console (what is printed).
"""

from __future__ import annotations

import copy
import math
import random
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from pix2pix.hints import HINT_CHANNELS
from pix2pix.losses import feature_matching, gan_loss, gradient_penalty, r1_penalty, region_loss
from pix2pix.networks import (
    MultiScaleDiscriminator,
    NLayerDiscriminator,
    PixelDiscriminator,
    RegionDiscriminator,
    UNetGenerator,
    init_weights,
)
from pix2pix.translate import cpu_has_bf16
from train.augment import diff_augment
from train.config import TrainConfig
from train.console import Progress, start_up, trained
from train.data import (
    PairDataset,
    RunData,
    first_few,
)
from train.distributed import (
    StopRequested,
    bare,
    checked_on_main,
    epoch_order,
    ignore_stop_signals,
    parameter_checksum,
    setup_device,
)
from train.regions import IGNORE, REGIONS
from train.report import loss_curve, sample_grid
from train.run_folder import keep_loss_rows, log_losses, refuse_existing_run, start_run_dir
from train.split import load_data
from train.state import follow_schedule, load_state, save_state


@dataclass
class TrainingModels:
    generator: torch.nn.Module  # DDP-wrapped when distributed
    discriminator: torch.nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    sched_g: torch.optim.lr_scheduler.LambdaLR
    sched_d: torch.optim.lr_scheduler.LambdaLR
    ema: UNetGenerator | None = None  # --ema: the moving average of the generator's weights
    regions: torch.nn.Module | None = None  # --lambda-regions: the face-region discriminator
    teacher: UNetGenerator | None = None  # --teacher: frozen, its photos are the L1 targets

    @property
    def bare_generator(self) -> UNetGenerator:
        return bare(self.generator)

    @property
    def photo_generator(self) -> UNetGenerator:
        """The generator whose photos the run shows and saves: the average with --ema."""
        return self.ema if self.ema is not None else self.bare_generator

    def update_ema(self, decay: float) -> None:
        """ema <- decay * ema + (1 - decay) * generator; buffers (norm statistics) are copied."""
        if self.ema is None:
            return
        with torch.no_grad():
            theirs = [p.detach() for p in self.bare_generator.parameters()]
            torch._foreach_lerp_(list(self.ema.parameters()), theirs, 1 - decay)
            for mine_b, theirs_b in zip(
                self.ema.buffers(), self.bare_generator.buffers(), strict=True
            ):
                mine_b.copy_(theirs_b)


def linear_decay(config: TrainConfig):
    """The official 'linear' policy: lr constant for `epochs`, then down towards 0 over `epochs_decay`."""
    return lambda epoch: 1.0 - max(0, epoch + 1 - config.epochs) / float(config.epochs_decay + 1)


def build_models(config: TrainConfig, device: torch.device) -> TrainingModels:
    in_ch, out_ch = config.unet.in_channels, config.unet.out_channels
    if config.init_from:
        generator = UNetGenerator.from_pretrained(config.init_from)
        if config.hints and generator.in_channels == 1 and config.direction == "sketch2photo":
            generator = generator.widened(in_ch)
        if (generator.upsample, generator.trunk_blocks) != (config.upsample, config.trunk_blocks):
            generator = generator.grown(config.upsample, config.trunk_blocks)
        check_fits(generator, config, f"--init-from {config.init_from}")
    else:
        generator = init_weights(UNetGenerator.from_config(config.unet))
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
    judges = [discriminator]
    if config.lambda_regions:
        judges.append(init_weights(RegionDiscriminator(len(REGIONS), ndf=max(1, config.ndf // 2))))
    for judge in judges:
        for module in judge.modules() if config.spectral_norm else []:
            if isinstance(module, nn.Conv2d):
                nn.utils.parametrizations.spectral_norm(module)
    fmt = torch.channels_last
    generator = generator.to(device, memory_format=fmt)
    judges = [judge.to(device, memory_format=fmt) for judge in judges]
    if dist.is_initialized():
        ids = [device.index] if device.type == "cuda" else None
        generator = DistributedDataParallel(generator, device_ids=ids)
        judges = [DistributedDataParallel(judge, device_ids=ids) for judge in judges]
    fused = {"fused": True} if device.type in ("cuda", "cpu") else {}
    adam = dict(lr=config.lr, betas=(config.beta1, 0.999), **fused)
    opt_g = torch.optim.Adam(generator.parameters(), **adam)
    # One optimiser (and schedule) for the discriminators: they learn side by side.
    opt_d = torch.optim.Adam([p for judge in judges for p in judge.parameters()], **adam)
    rule = linear_decay(config)
    ema = None
    if config.ema:
        ema = copy.deepcopy(bare(generator)).requires_grad_(False)
    return TrainingModels(
        generator,
        judges[0],
        opt_g,
        opt_d,
        torch.optim.lr_scheduler.LambdaLR(opt_g, rule),
        torch.optim.lr_scheduler.LambdaLR(opt_d, rule),
        ema,
        judges[1] if len(judges) > 1 else None,
        load_teacher(config, device),
    )


def check_fits(generator: UNetGenerator, config: TrainConfig, named: str) -> None:
    """A saved generator (`named`: the option and its model) must take this run's input and make
    its output at its size, to be fine-tuned (--init-from) or learned from (--teacher)."""
    in_ch, out_ch = config.unet.in_channels, config.unet.out_channels
    if (generator.in_channels, generator.out_channels) != (in_ch, out_ch):
        raise ValueError(
            f"{named} maps {generator.in_channels} to {generator.out_channels} channels; "
            f"{config.direction}{' with --hints' if config.hints else ''} needs {in_ch} to "
            f"{out_ch} (--hints and --direction must match the model's)."
        )
    size = generator.image_size
    if size != config.image_size:
        raise ValueError(
            f"{named} makes {size}x{size} photos; this run trains at {config.image_size}x"
            f"{config.image_size}: pass --image-size {size}."
        )


def load_teacher(config: TrainConfig, device: torch.device) -> UNetGenerator | None:
    """The --teacher generator, checked to fit, frozen and in eval mode (no dropout: one photo per
    sketch)."""
    if not config.teacher:
        return None
    teacher = UNetGenerator.from_pretrained(config.teacher)
    check_fits(teacher, config, f"--teacher {config.teacher}")
    return teacher.to(device, memory_format=torch.channels_last).eval().requires_grad_(False)


ARCHITECTURE = ("ngf", "norm", "upsample", "trunk_blocks")  # what a saved generator decides


def adopt_base_model(config: TrainConfig) -> tuple[TrainConfig, list[str]]:
    """The settings a --init-from model decides, taken from its config.json before anything runs:
    its architecture, and --hints when it takes colour hints (the bundled model does), so that
    args.json and the card record what actually trains. Returns the settings and a line for each
    change."""
    if not config.init_from:
        return config, []
    base = UNetGenerator.saved_config(config.init_from)
    saved = asdict(base)
    # ...except where the run asks for more of it than it has (UNetGenerator.grown)
    growing = base.growth(config.upsample, config.trunk_blocks)
    changes = {
        name: saved[name]
        for name in ARCHITECTURE
        if saved[name] != getattr(config, name) and not growing.get(name)
    }
    hint_model = saved["in_channels"] == 1 + HINT_CHANNELS
    if hint_model and not config.hints and config.direction == "sketch2photo":
        changes["hints"] = True
    said = [
        f"--init-from {config.init_from} decides --{name.replace('_', '-')}: "
        f"{getattr(config, name)} -> {value}"
        for name, value in changes.items()
    ]
    said += [
        f"--init-from {config.init_from} is grown: --{name.replace('_', '-')} "
        f"{saved[name]} -> {getattr(config, name)}"
        for name, grown in growing.items()
        if grown
    ]
    return replace(config, **changes), said


class Precision:
    """--amp: bf16 autocast where the device has bf16, else fp16 with a gradient scaler.

    A CPU without native bf16 (AVX-512 BF16 or AMX) emulates it: on an AVX2 EPYC a step of the
    bundled model took 8.5 s in bf16 against 0.34 s in fp32. There --amp is ignored, and said so."""

    def __init__(self, enabled: bool, device: torch.device):
        bf16 = device.type == "cpu" or (device.type == "cuda" and torch.cuda.is_bf16_supported())
        self.dtype = torch.bfloat16 if bf16 else torch.float16
        self.emulated = enabled and device.type == "cpu" and not cpu_has_bf16()
        self.enabled = enabled and not self.emulated
        self.device_type = device.type
        self.scaler = torch.amp.GradScaler(device.type, enabled=enabled and not bf16)

    @property
    def name(self) -> str:
        if self.emulated:
            return "fp32 (--amp ignored: this CPU has no native bf16, and emulated bf16 is ~25x slower)"
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


PARTS = [REGIONS.index(name) for name in ("eye white", "iris", "lips", "brow", "glasses", "beard")]


def l1_loss(
    fake: torch.Tensor, target: torch.Tensor, pool: int = 1, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """The mean absolute difference of the two photos, as --l1-pool compares them (shrunk `pool`
    times by block means; 1: as they are), each pixel counted `weight` times (None: once)."""
    weight = torch.ones_like(fake[:, :1]) if weight is None else weight
    if pool > 1:
        fake, target, weight = (
            F.avg_pool2d(t, pool, ceil_mode=True) for t in (fake, target, weight)
        )
    return ((fake - target).abs() * weight).mean()


def part_weights(regions: torch.Tensor, extra: float) -> torch.Tensor:
    """--l1-parts: 1 + extra on the pixels of the face's small parts, 1 elsewhere; (B, 1, H, W)."""
    parts = torch.isin(regions, torch.tensor(PARTS, device=regions.device))
    return (1 + extra * parts.float()).unsqueeze(1)


R1_EVERY = 16  # lazy R1: the penalty every 16th step, 16 times as heavy (StyleGAN2)


def train_step(
    models: TrainingModels, batch: dict, config: TrainConfig, precision: Precision, step: int = 1
) -> dict[str, float]:
    """The paper's alternating update: D on (sketch, photo) vs (sketch, G(sketch)), then G.
    `step` (counted from 1) decides whether the lazy R1 penalty is due. With --lambda-regions the
    region discriminator R learns beside D (name each pixel of the photo, call G's pixels fake),
    and G is also scored by how well R finds the true photo's regions in its photo."""
    G, D, R = models.generator, models.discriminator, models.regions
    sketch, photo = batch["input"], batch["target"]
    judged = diff_augment if config.diffaugment else (lambda *pairs: pairs)
    with precision.autocast():
        fake = G(sketch)
        if models.teacher is not None:  # --teacher: its photo is what the L1 loss compares with
            with torch.no_grad():
                l1_target = models.teacher(sketch).float()
        else:
            l1_target = photo.float()
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
        d_r1 = torch.zeros((), device=fake.device)
        if config.r1 and step % R1_EVERY == 0:
            d_r1 = r1_penalty(D, sketch, photo, config.r1) * R1_EVERY
            loss_d = loss_d + d_r1
        d_regions = torch.zeros((), device=fake.device)
        if R is not None:
            R.requires_grad_(True)
            d_regions = region_loss(R(photo), batch["regions"], IGNORE)
            d_regions = d_regions + region_loss(R(fake.detach()), None)
            loss_d = loss_d + d_regions
    precision.step(loss_d, models.opt_d)
    with precision.autocast():
        # Generator: fool D, and stay close to the true photo, or the teacher's (L1, weighted lambda).
        D.requires_grad_(False)
        models.opt_g.zero_grad(set_to_none=True)
        fake_pair, real_pair = judged(torch.cat([sketch, fake], 1), torch.cat([sketch, photo], 1))
        if config.lambda_fm:
            *fake_features, scores = bare(D).features(fake_pair)
            g_fm = feature_matching(fake_features, bare(D).features(real_pair)[:-1])
            g_fm = g_fm * config.lambda_fm
        else:
            scores, g_fm = D(fake_pair), torch.zeros((), device=fake.device)
        g_gan = gan_loss(scores, True, config.gan_mode, for_discriminator=False)
        weight = part_weights(batch["regions"], config.l1_parts) if config.l1_parts else None
        g_l1 = l1_loss(fake.float(), l1_target, config.l1_pool, weight) * config.lambda_l1
        g_regions = torch.zeros((), device=fake.device)
        if R is not None:
            R.requires_grad_(False)
            g_regions = region_loss(R(fake), batch["regions"], IGNORE) * config.lambda_regions
    precision.step(g_gan + g_l1 + g_fm + g_regions, models.opt_g)
    models.update_ema(config.ema)
    return {
        "G_GAN": g_gan.item(),
        "G_L1": g_l1.item(),
        "D_real": d_real.item(),
        "D_fake": d_fake.item(),
        "G_FM": g_fm.item(),
        "D_R1": d_r1.item(),
        "G_REG": g_regions.item(),
        "D_REG": d_regions.item(),
    }


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
    config = replace(
        config, holdout=data.holdout
    )  # what args.json records: a resume holds the same out
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


def run_steps(
    run_dir: Path,
    config: TrainConfig,
    data: RunData,
    models: TrainingModels,
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
                k: v.to(device, non_blocking=True).contiguous(
                    memory_format=torch.channels_last if v.ndim == 4 else torch.contiguous_format
                )
                for k, v in batch.items()
                if isinstance(v, torch.Tensor)
            }
            step += 1
            losses = train_step(models, batch, config, precision, step)
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


def finish(
    run_dir: Path,
    models: TrainingModels,
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
