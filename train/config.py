"""Training settings as plain data: each field's default (the official pix2pix defaults unless the
help says "ours") and its help text, from which `python -m train` makes its command line."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from pix2pix.hints import HINT_CHANNELS
from pix2pix.losses import GAN_MODES
from pix2pix.networks import NORMS, UPSAMPLES, UNetConfig
from train.data import DIRECTIONS, LAYOUTS

GROUPS = ("data", "model", "optimisation", "run")  # the sections of `python -m train --help`


def option(default, help: str, group: str, metavar: str | None = None, choices=None):
    """A setting: its default, and what `python -m train --help` says of it (the command line is
    made from these, so each setting is described once, here)."""
    metadata = {"help": help, "group": group, "metavar": metavar, "choices": choices}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainConfig:
    data: list[str] = option(
        [],
        (
            "folders (or CSV manifests) of training pairs, mixed; the first one's test (or val) "
            "split is scored at the end (without one, --holdout pairs of it are held out)"
        ),
        group="data",
        metavar="PATH",
    )
    repeat: list[int] | None = option(
        None,
        (
            "ours: list each --data path N times per epoch, one N per path, to weight a small set "
            "against a large one (default: 1 each)"
        ),
        group="data",
        metavar="N",
    )
    out: str = option(
        "",
        (
            "new run folder: args.json, state.pt, losses.csv, samples/, model/ (an existing run "
            "folder is refused: continue it with --resume, or replace it with --overwrite)"
        ),
        group="run",
    )
    layout: str = option(
        "auto",
        (
            "how pairs are stored; auto tries faces, cuhk, folders, aligned, csv (photos must be "
            "asked for)"
        ),
        group="data",
        choices=LAYOUTS,
    )
    direction: str = option(
        "sketch2photo", "what is translated into what", group="data", choices=DIRECTIONS
    )
    strict: bool = option(
        False,
        (
            "stop before training if any file is unreadable, a pair mismatched, or a sketch or "
            "photo has no partner (default: skip them and name them)"
        ),
        group="data",
    )
    photos: str | None = option(
        None,
        "ours: extra folder of bare photos mixed in; sketches are drawn from them",
        group="data",
    )
    doodle_prob: float = option(
        0.0,
        "ours: share of examples whose sketch is replaced by a doodle drawn from the photo",
        group="data",
    )
    doodle_variants: int = option(
        0,
        (
            "ours: doodles of faces-layout photos (train.faces, train.pack) are drawn in N variants "
            "each, once, kept in the run folder's doodles/ and reused over the epochs (epoch e "
            "uses variant e mod N); 0, the default: a fresh doodle every epoch. Drawing is most of "
            "a data worker's time: on a GPU the loader otherwise keeps it waiting"
        ),
        group="data",
    )
    place_prob: float = option(
        0.0,
        (
            "ours: share of pairs shrunk to 50-100%% and moved to a random spot on white paper, so "
            "that faces drawn small or off-centre are met in training (0, the default: the paper's "
            "crop only)"
        ),
        group="data",
    )
    painted_glasses: float = option(
        0.0,
        (
            "ours: share of faces-layout photos without glasses (as train.pack measured) that get "
            "glasses painted on (train.glasses), drawn on their doodle alike; LFW's few glasses "
            "are mostly thin frames a model ignores (0, the default: none)"
        ),
        group="data",
    )
    hints: bool = option(
        False,
        (
            "ours: the generator also takes colour hints (sketch + RGB + mask = 5 channels), "
            "sampled from the photo in training; a 1-channel --init-from model is widened"
        ),
        group="model",
    )
    image_size: int = option(
        256, "training resolution (power of two); the U-Net depth is log2 of it", group="model"
    )
    ngf: int = option(64, "generator filters in the first layer", group="model")
    ndf: int = option(64, "discriminator filters in the first layer", group="model")
    n_layers_d: int = option(
        3,
        "discriminator depth: 3 is the 70x70 PatchGAN, 0 the 1x1 pixel discriminator",
        group="model",
    )
    d_scales: int = option(
        1,
        (
            "ours: the PatchGAN at this many image sizes, each half the last (pix2pixHD's multi-"
            "scale discriminator; 2-3 see the whole face); 1, the default, is the paper's"
        ),
        group="model",
    )
    norm: str = option("batch", "normalisation layers", group="model", choices=NORMS)
    upsample: str = option(
        "transpose",
        (
            "the decoder's upsampling: transpose, the paper's transposed convolutions (default), or"
            " resize, nearest-neighbour resize then a 3x3 convolution (no checkerboard)"
        ),
        group="model",
        choices=UPSAMPLES,
    )
    trunk_blocks: int = option(
        0,
        (
            "ours: N inverted residual blocks (MobileNetV2) at a quarter of the image size, where "
            "texture is made; 0, the default, is the paper's U-Net"
        ),
        group="model",
        metavar="N",
    )
    init_from: str | None = option(
        None,
        (
            "fine-tune this saved generator (its architecture wins over --ngf and --norm); "
            "--upsample resize and --trunk-blocks N beyond its own grow it: its transposed "
            "convolutions become the nearest resize-convolutions, new trunk blocks start as the "
            "identity"
        ),
        group="model",
        metavar="DIR_OR_REPO",
    )
    teacher: str | None = option(
        None,
        (
            "ours: distil this saved generator (usually a larger one) into the one trained: the "
            "L1 loss compares with the teacher's photo of the same sketch and hints instead of the "
            "true photo, so a small generator learns one photo per sketch rather than the blur of "
            "all the photos a sketch allows; the discriminators still judge against true photos"
        ),
        group="model",
        metavar="DIR_OR_REPO",
    )
    epochs: int = option(100, "epochs at the initial learning rate", group="optimisation")
    epochs_decay: int = option(
        100, "epochs of linear decay of the learning rate to zero", group="optimisation"
    )
    batch_size: int = option(1, "images per step (per process)", group="optimisation")
    lr: float = option(0.0002, "Adam learning rate", group="optimisation")
    beta1: float = option(0.5, "Adam beta1", group="optimisation")
    gan_mode: str = option("vanilla", "adversarial loss", group="optimisation", choices=GAN_MODES)
    lambda_l1: float = option(100.0, "weight of the L1 loss", group="optimisation")
    l1_pool: int = option(
        1,
        (
            "ours: take the L1 loss between the photos shrunk N times (N x N block means): a "
            "low-pass L1 that holds colour and layout and leaves texture to the GAN, instead of "
            "averaging the textures a sketch allows into a blur; 1, the default, is the paper's"
        ),
        group="optimisation",
        metavar="N",
    )
    l1_parts: float = option(
        0.0,
        (
            "ours: the L1 loss counts 1 + W times on the face's small parts (eye whites, irises, "
            "lips, brows, glasses, beard: the region map of --lambda-regions), so that a thin frame "
            "or a dark iris is not cheaper left out than a smooth cheek; needs "
            "faces data (python -m train.faces or train.pack); 0: off"
        ),
        group="optimisation",
        metavar="W",
    )
    lambda_fm: float = option(
        0.0,
        (
            "ours: weight of pix2pixHD's discriminator feature-matching loss (sharper, steadier GAN"
            " training; pix2pixHD uses 10); 0, the default, is the paper's loss"
        ),
        group="optimisation",
    )
    diffaugment: bool = option(
        False,
        (
            "ours: DiffAugment (colour, translation, cutout) on every pair the discriminator "
            "judges, so that it cannot learn a small data set by heart"
        ),
        group="optimisation",
    )
    r1: float = option(
        0.0,
        (
            "ours: lazy R1 (StyleGAN2): the discriminator's squared gradient on real pairs, with "
            "respect to the photo, times GAMMA/2, added every 16 steps (times 16); 0: off"
        ),
        group="optimisation",
        metavar="GAMMA",
    )
    lambda_regions: float = option(
        0.0,
        (
            "ours: weight of the face-region discriminator's loss (OASIS): a second discriminator "
            "names each pixel of the photo (skin, eye white, iris, lips, brow, hair, person, "
            "background) or calls it fake, so that flaws are punished where they are; needs faces "
            "data (python -m train.faces or train.pack); 0: off"
        ),
        group="optimisation",
    )
    spectral_norm: bool = option(
        False,
        (
            "ours: spectral normalisation of every discriminator convolution (Miyato et al. "
            "2018): D's steepness is bounded, which steadies the GAN"
        ),
        group="model",
    )
    ema: float = option(
        0.0,
        (
            "ours: keep a moving average of the generator's weights with this decay (e.g. 0.999) "
            "and save it as the model: steadier photos than the last step's weights; 0: off"
        ),
        group="optimisation",
        metavar="DECAY",
    )
    seed: int = option(
        0,
        "seed of every random choice (weights, data order, augmentation, dropout)",
        group="optimisation",
    )
    device: str | None = option(
        None, "cpu, cuda or cuda:N (default: cuda if available, else cpu)", group="optimisation"
    )
    amp: bool = option(
        False,
        "mixed precision: bf16 autocast (fp16 with loss scaling where bf16 is missing)",
        group="optimisation",
    )
    workers: int = option(
        2, "data loading processes (0: load in the training process)", group="data"
    )
    max_steps: int = option(
        0,
        "ours: stop after step N and save the model (a short trial of the settings); 0: no limit",
        group="optimisation",
        metavar="N",
    )
    max_minutes: float = option(
        0.0,
        (
            "ours: stop after M minutes of training and save the model (a rented GPU's time); 0: no"
            " limit"
        ),
        group="optimisation",
        metavar="M",
    )
    holdout: int | None = option(
        None,
        (
            "ours: when the first --data has no test or val split, hold out N of its pairs (drawn "
            "with --seed, recorded in args.json, never trained on) for the end-of-run scores; 0 "
            "trains on all and reports no scores (default: a tenth, at most --eval-pairs)"
        ),
        group="data",
        metavar="N",
    )
    eval_pairs: int = option(
        100,
        (
            "ours: the end-of-run evaluation scores at most N pairs (a fixed sample of a larger "
            "test split)"
        ),
        group="data",
        metavar="N",
    )
    save_every: int = option(
        500,
        "steps between resumable states (also saved every epoch and on Ctrl-C / SIGTERM)",
        group="run",
    )
    sample_every: int = option(200, "steps between sample grids in RUN_DIR/samples", group="run")
    log_every: int = option(
        100,
        "steps between progress lines when the output goes to a file (a terminal gets a bar)",
        group="run",
        metavar="N",
    )
    push_to_hub: str | None = option(
        None,
        (
            "upload the final model to this Hub repo; the token (HF_TOKEN or `hf auth login`) is "
            "checked before the first step"
        ),
        group="run",
        metavar="USER/NAME",
    )

    def __post_init__(self):
        if isinstance(self.data, str):  # one path, as older args.json files hold it
            self.data = [self.data] if self.data else []

    @property
    def repeats(self) -> list[int]:
        return self.repeat if self.repeat else [1] * len(self.data)

    @property
    def unet(self) -> UNetConfig:
        """The generator this run trains from scratch (an --init-from model brings its own)."""
        in_channels, out_channels = (1, 3) if self.direction == "sketch2photo" else (3, 1)
        return UNetConfig(
            in_channels + (HINT_CHANNELS if self.hints else 0),
            out_channels,
            self.ngf,
            self.num_downs,
            self.norm,
            True,
            self.upsample,
            self.trunk_blocks,
        )

    @property
    def num_downs(self) -> int:
        """The U-Net halves the image down to 1x1: log2 of the image size."""
        return self.image_size.bit_length() - 1

    def check(self) -> None:
        """Refuse settings that cannot train, with a sentence (before any data is touched)."""
        for name, allowed in (
            ("norm", NORMS),
            ("gan_mode", GAN_MODES),
            ("upsample", UPSAMPLES),
            ("layout", LAYOUTS),
            ("direction", DIRECTIONS),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"--{name.replace('_', '-')} {getattr(self, name)!r} is not one of "
                    f"{', '.join(allowed)}."
                )
        size = self.image_size
        if size < 32 or size & (size - 1):
            raise ValueError(f"--image-size must be a power of two of at least 32 (got {size}).")
        for name in (
            "epochs",
            "epochs_decay",
            "batch_size",
            "save_every",
            "sample_every",
            "log_every",
            "eval_pairs",
            "ngf",
            "ndf",
            "d_scales",
            "l1_pool",
        ):
            minimum = 0 if name == "epochs_decay" else 1
            if getattr(self, name) < minimum:
                raise ValueError(f"--{name.replace('_', '-')} must be at least {minimum}.")
        if len(self.repeats) != len(self.data) or min(self.repeats, default=1) < 1:
            raise ValueError("--repeat takes one whole number of at least 1 per --data path.")
        if self.hints and self.direction != "sketch2photo":
            raise ValueError("--hints colour the photo: they need --direction sketch2photo.")
        if self.lambda_fm < 0:
            raise ValueError("--lambda-fm cannot be negative.")
        if self.lambda_fm and self.n_layers_d == 0:
            raise ValueError(
                "--lambda-fm needs a PatchGAN with hidden layers (--n-layers-d 1 or more)."
            )
        if self.d_scales > 1 and self.n_layers_d == 0:
            raise ValueError(
                "--d-scales needs a PatchGAN (--n-layers-d 1 or more): the pixel discriminator "
                "judges single pixels, the same at every size."
            )
        if self.d_scales > 1 and self.image_size >> (self.d_scales - 1) < 32:
            raise ValueError(
                f"--d-scales {self.d_scales} shrinks {self.image_size}-pixel pairs below 32 pixels."
            )
        for name in ("doodle_prob", "place_prob", "painted_glasses"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"--{name.replace('_', '-')} is a probability between 0 and 1.")
        for name in ("lambda_regions", "l1_parts"):
            flag = f"--{name.replace('_', '-')}"
            if getattr(self, name) < 0:
                raise ValueError(f"{flag} cannot be negative.")
            if getattr(self, name) and self.direction != "sketch2photo":
                raise ValueError(f"{flag} reads face photos: it needs --direction sketch2photo.")
        if self.r1 < 0:
            raise ValueError("--r1 is a weight: 0 (off) or more, e.g. 1.")
        if not 0 <= self.ema < 1:
            raise ValueError("--ema is a decay between 0 (off) and 1, e.g. 0.999.")
        for name in (
            "max_steps",
            "max_minutes",
            "workers",
            "holdout",
            "trunk_blocks",
            "doodle_variants",
        ):
            if (getattr(self, name) or 0) < 0:
                raise ValueError(f"--{name.replace('_', '-')} cannot be negative.")

    @property
    def total_epochs(self) -> int:
        return self.epochs + self.epochs_decay

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        stored = json.loads(path.read_text())
        stored.setdefault("holdout", 0)  # runs from before --holdout trained on all their pairs
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in stored.items() if k in known})
