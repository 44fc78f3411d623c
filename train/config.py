"""Training settings as plain data. The defaults are the official pix2pix defaults unless noted."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


@dataclass
class TrainConfig:
    data: list[str] = field(default_factory=list)  # folders (or CSV manifests) of pairs
    repeat: list[int] | None = None  # ours: how often each data source is listed per epoch
    out: str = ""  # the run folder
    layout: str = "auto"
    direction: str = "sketch2photo"
    strict: bool = False
    photos: str | None = (
        None  # extra bare photos mixed in; their sketches are drawn (ours, not official)
    )
    doodle_prob: float = (
        0.0  # share of examples whose sketch is a doodle drawn from the photo (ours)
    )
    place_prob: float = (
        0.0  # ours: share of pairs shrunk and moved on white paper (small/off-centre faces)
    )
    hints: bool = False  # ours: the generator also takes colour hints (1 + 4 input channels)
    image_size: int = 256
    ngf: int = 64
    ndf: int = 64
    n_layers_d: int = 3  # 3: the 70x70 PatchGAN; 0: the 1x1 pixel discriminator
    d_scales: int = 1  # ours: PatchGANs at this many image sizes (pix2pixHD uses 2-3); 1: the paper
    norm: str = "batch"
    upsample: str = "transpose"  # ours: "resize" for resize-convolutions in the decoder
    trunk_blocks: int = 0  # ours: inverted residual blocks at a quarter of the image size
    init_from: str | None = None
    epochs: int = 100
    epochs_decay: int = 100
    batch_size: int = 1
    lr: float = 2e-4
    beta1: float = 0.5
    gan_mode: str = "vanilla"
    lambda_l1: float = 100.0
    lambda_fm: float = 0.0  # ours: pix2pixHD's discriminator feature matching (they use 10); 0: off
    diffaugment: bool = False  # ours: DiffAugment on every pair the discriminator judges
    ema: float = (
        0.0  # ours: decay of a moving average of the generator's weights, saved as the model
    )
    seed: int = 0
    device: str | None = None
    amp: bool = False
    workers: int = 2
    max_steps: int = 0  # ours: stop (and save the model) after this step; 0: no limit
    max_minutes: float = 0.0  # ours: stop (and save the model) after this much training; 0: none
    holdout: int | None = None  # ours: pairs held out when there is no test split; None: auto
    eval_pairs: int = 100  # ours: at most this many pairs are scored at the end of the run
    save_every: int = 500  # steps between resumable states (also saved at each epoch's end)
    sample_every: int = 200  # steps between sample grids
    log_every: int = 100  # ours: steps between progress lines when the output is not a terminal
    push_to_hub: str | None = None

    def __post_init__(self):
        if isinstance(self.data, str):  # one path, as older args.json files hold it
            self.data = [self.data] if self.data else []

    @property
    def repeats(self) -> list[int]:
        return self.repeat if self.repeat else [1] * len(self.data)

    @property
    def num_downs(self) -> int:
        """The U-Net halves the image down to 1x1: log2 of the image size."""
        return self.image_size.bit_length() - 1

    def check(self) -> None:
        """Refuse settings that cannot train, with a sentence (before any data is touched)."""
        from pix2pix.losses import GAN_MODES
        from pix2pix.networks import NORMS, UPSAMPLES
        from train.data import DIRECTIONS, LAYOUTS

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
        for name in ("doodle_prob", "place_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"--{name.replace('_', '-')} is a probability between 0 and 1.")
        if not 0 <= self.ema < 1:
            raise ValueError("--ema is a decay between 0 (off) and 1, e.g. 0.999.")
        for name in ("max_steps", "max_minutes", "workers", "holdout", "trunk_blocks"):
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
