"""The pix2pix networks: a U-Net generator and PatchGAN discriminators (Isola et al., CVPR 2017).

The layer layout follows the official implementation (junyanz/pytorch-CycleGAN-and-pix2pix) exactly,
down to the module nesting, so a legacy `latest_net_G.pth` maps onto our state dict key for key.
"""

from __future__ import annotations

import functools
import inspect
import itertools
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from safetensors.torch import save
from torch import nn

from pix2pix.checkpoint import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    load_strict,
    read_config,
    read_official_state,
    resolve_file,
)

NORMS = ("batch", "instance", "none")
UPSAMPLES = ("transpose", "resize")
INIT_TYPES = ("normal", "xavier", "kaiming", "orthogonal")


class ImageBatchNorm2d(nn.BatchNorm2d):
    """Batch norm that, outside training, normalises each image by its own statistics.

    pix2pix trains at batch size 1, where the batch statistics are one image's statistics, and the
    official test script never calls eval(), so its photos come from per-image statistics too. The
    running averages are a blend of many images and give worse photos (bundled model on the CUHK
    test split: FSIM 0.734 with running averages, 0.776 with per-image statistics). Per image, not
    per batch, so that a photo does not depend on what else is in the batch. The state dict is
    nn.BatchNorm2d's; set `use_running_stats = True` for the textbook eval behaviour.
    """

    use_running_stats = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or self.use_running_stats:
            return super().forward(x)
        return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)


def norm_layer(norm: str) -> type[nn.Module] | functools.partial:
    """batch: learned affine + running stats; instance: neither (as the official code)."""
    if norm == "batch":
        return functools.partial(ImageBatchNorm2d, affine=True, track_running_stats=True)
    if norm == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if norm == "none":
        return lambda channels: nn.Identity()
    raise ValueError(f"Unknown norm {norm!r}: choose one of {', '.join(NORMS)}.")


def up_conv(in_channels: int, out_channels: int, upsample: str, bias: bool = True) -> nn.Module:
    """Double the resolution. transpose: the paper's 4x4 stride-2 transposed convolution. resize:
    nearest-neighbour upsampling then a 3x3 convolution (Odena et al., Distill 2016), which cannot
    paint the checkerboard a transposed convolution's uneven kernel overlap paints (at 2.25x the
    decoder's multiply-adds)."""
    if upsample == "transpose":
        return nn.ConvTranspose2d(
            in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=bias
        )
    if upsample == "resize":
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=bias),
        )
    raise ValueError(f"Unknown upsample {upsample!r}: choose one of {', '.join(UPSAMPLES)}.")


def _resize_from_transpose() -> torch.Tensor:
    """The (9, 16) matrix from a transposed convolution's 4x4 taps to the resize-convolution's 3x3
    taps that paint the same photo as nearly as one can (least squares).

    Both are linear maps that repeat every two output pixels: an output pixel of row parity ay and
    column parity ax reads the input pixels at offsets (dy, dx) in {-1, 0, 1}. The transposed
    convolution (stride 2, padding 1) reads each with its own tap, ay + 1 - 2 dy by ax + 1 - 2 dx;
    the resize-convolution reads with the sum of the 3x3 taps whose nearest-neighbour source is
    that pixel. Four parities, nine offsets: 36 equations in the 9 taps, solved by pseudo-inverse.
    What cannot be matched is the transposed convolution's difference between parities, its
    checkerboard."""
    resize_reads, transpose_reads = [], []
    for ay, ax, dy, dx in itertools.product((0, 1), (0, 1), (-1, 0, 1), (-1, 0, 1)):
        taps = torch.zeros(3, 3)
        for p, q in itertools.product(range(3), range(3)):
            taps[p, q] = float((ay + p - 1) // 2 == dy and (ax + q - 1) // 2 == dx)
        resize_reads.append(taps.flatten())
        taps = torch.zeros(4, 4)
        ky, kx = ay + 1 - 2 * dy, ax + 1 - 2 * dx
        if 0 <= ky < 4 and 0 <= kx < 4:
            taps[ky, kx] = 1.0
        transpose_reads.append(taps.flatten())
    return torch.linalg.pinv(torch.stack(resize_reads)) @ torch.stack(transpose_reads)


def resize_kernel(transposed: torch.Tensor) -> torch.Tensor:
    """A ConvTranspose2d(k=4, s=2, p=1) weight (in, out, 4, 4) as the nearest weight (out, in, 3, 3)
    of up_conv's resize-convolution; exact when the transposed one paints no checkerboard."""
    inner, outer = transposed.shape[:2]
    matrix = _resize_from_transpose().to(transposed)
    taps = torch.einsum("rk,iok->oir", matrix, transposed.flatten(2))
    return taps.reshape(outer, inner, 3, 3)


class InvertedResidual(nn.Module):
    """MobileNetV2's block (Sandler et al. 2018), as GAN Compression and CAT build their fast
    generators: 1x1 expand, 3x3 depthwise, 1x1 project, added to the input. Per pixel it costs
    about a third of a plain 3x3 convolution of the same width, so a trunk of them can sit at a
    quarter of the image size, where skin and hair texture is made, within a live budget."""

    def __init__(self, channels: int, norm: str, expand: int = 2):
        super().__init__()
        Norm, wide = norm_layer(norm), channels * expand
        bias = norm != "batch"
        self.block = nn.Sequential(
            nn.Conv2d(channels, wide, kernel_size=1, bias=bias),
            Norm(wide),
            nn.ReLU(True),
            nn.Conv2d(wide, wide, kernel_size=3, padding=1, groups=wide, bias=bias),
            Norm(wide),
            nn.ReLU(True),
            nn.Conv2d(wide, channels, kernel_size=1, bias=bias),
            Norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)

    @torch.no_grad()
    def start_as_identity(self) -> None:
        """Add nothing to its input, so that a block put into a trained generator changes none of
        its photos until training uses it. The last norm's scale is zeroed where it has one (batch
        norm: its gradient is smooth there); otherwise the last convolution is."""
        last_norm = self.block[-1]
        if getattr(last_norm, "weight", None) is not None:
            last_norm.weight.zero_()
            last_norm.bias.zero_()
        else:
            self.block[-2].weight.zero_()
            if self.block[-2].bias is not None:
                self.block[-2].bias.zero_()


class UNetBlock(nn.Module):
    """One level of the U-Net: down-sample, the inner levels, up-sample, then concat the skip.

    The outermost level has no skip (it returns the photo); the innermost has no inner levels.
    """

    def __init__(
        self,
        outer: int,
        inner: int,
        in_channels: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        norm: str = "batch",
        dropout: bool = False,
        upsample: str = "transpose",
        trunk_blocks: int = 0,
    ):
        super().__init__()
        self.outermost = outermost
        innermost = submodule is None
        Norm = norm_layer(norm)
        bias = norm != "batch"  # batch norm's shift makes a conv bias redundant
        in_channels = outer if in_channels is None else in_channels
        down_conv = nn.Conv2d(in_channels, inner, kernel_size=4, stride=2, padding=1, bias=bias)
        down_relu = nn.LeakyReLU(0.2, True)
        up_relu = nn.ReLU(True)
        if outermost:
            up = up_conv(inner * 2, outer, upsample)
            layers = [down_conv, submodule, up_relu, up, nn.Tanh()]
        elif innermost:
            up = up_conv(inner, outer, upsample, bias)
            layers = [down_relu, down_conv, up_relu, up, Norm(outer)]
        else:
            up = up_conv(inner * 2, outer, upsample, bias)
            trunk = [InvertedResidual(inner * 2, norm) for _ in range(trunk_blocks)]
            layers = [
                down_relu,
                down_conv,
                Norm(inner),
                submodule,
                *trunk,
                up_relu,
                up,
                Norm(outer),
            ]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


def _trunk_and_rest(block: UNetBlock) -> tuple[list[nn.Module], list[nn.Module]]:
    """A level's inverted residual blocks, and its other layers, each in order."""
    trunk = [layer for layer in block.model if isinstance(layer, InvertedResidual)]
    return trunk, [layer for layer in block.model if not isinstance(layer, InvertedResidual)]


@torch.no_grad()
def _carry_over(small: UNetBlock, big: UNetBlock) -> None:
    """small's weights into big, level by level: big has the same levels, possibly with
    resize-convolutions where small has transposed ones and more trunk blocks after small's."""
    small_trunk, small_rest = _trunk_and_rest(small)
    big_trunk, big_rest = _trunk_and_rest(big)
    for before, after in zip(small_rest, big_rest, strict=True):
        if isinstance(before, UNetBlock):
            _carry_over(before, after)
        elif isinstance(before, nn.ConvTranspose2d) and isinstance(after, nn.Sequential):
            conv = after[1]  # up_conv's resize: (Upsample, Conv2d)
            conv.weight.copy_(resize_kernel(before.weight))
            if before.bias is not None:
                conv.bias.copy_(before.bias)
        else:
            after.load_state_dict(before.state_dict())
    for before, after in zip(small_trunk, big_trunk[: len(small_trunk)], strict=True):
        after.load_state_dict(before.state_dict())
    for block in big_trunk[len(small_trunk) :]:
        block.start_as_identity()


@dataclass(frozen=True)
class UNetConfig:
    """A UNetGenerator as plain data: its constructor arguments, what config.json holds. The
    defaults are the paper's unet_256 for a 1-channel sketch."""

    in_channels: int = 1
    out_channels: int = 3
    ngf: int = 64
    num_downs: int = 8
    norm: str = "batch"
    dropout: bool = True
    upsample: str = "transpose"
    trunk_blocks: int = 0

    def growth(self, upsample: str, trunk_blocks: int) -> dict[str, bool]:
        """Which of these settings would grow this architecture (UNetGenerator.grown): a resize
        decoder where it has transposed convolutions, more trunk blocks than it has."""
        return {
            "upsample": (self.upsample, upsample) == ("transpose", "resize"),
            "trunk_blocks": trunk_blocks > self.trunk_blocks,
        }


class UNetGenerator(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="sketch2photo",
    tags=["pix2pix", "image-to-image", "sketch-to-photo"],
    paper_url="https://arxiv.org/abs/1611.07004",
    pipeline_tag="image-to-image",
    license="mit",
):
    """The pix2pix U-Net: `num_downs` halvings, so an image of 2**num_downs pixels reaches 1x1.

    num_downs=8 is the paper's unet_256 and 7 its unet_128. The `num_downs - 5` levels next to the
    bottleneck carry dropout(0.5), the paper's only source of noise (three of them for unet_256).
    `upsample="resize"` swaps the paper's transposed convolutions for resize-convolutions, and
    `trunk_blocks` adds that many inverted residual blocks at a quarter of the image size (after
    the skip joins, before the decoder goes up): capacity where texture is made, cheaply. The
    defaults are the paper's network, key for key.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 3,
        ngf: int = 64,
        num_downs: int = 8,
        norm: str = "batch",
        dropout: bool = True,
        upsample: str = "transpose",
        trunk_blocks: int = 0,
    ):
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"num_downs must be at least 5 (got {num_downs}).")
        if trunk_blocks < 0:
            raise ValueError(f"trunk_blocks cannot be negative (got {trunk_blocks}).")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.ngf, self.num_downs, self.upsample = ngf, num_downs, upsample
        self.norm, self.dropout, self.trunk_blocks = norm, dropout, trunk_blocks
        level = functools.partial(UNetBlock, norm=norm, upsample=upsample)
        block = level(ngf * 8, ngf * 8)
        for _ in range(num_downs - 5):
            block = level(ngf * 8, ngf * 8, submodule=block, dropout=dropout)
        block = level(ngf * 4, ngf * 8, submodule=block)
        block = level(ngf * 2, ngf * 4, submodule=block)
        block = level(ngf, ngf * 2, submodule=block, trunk_blocks=trunk_blocks)
        self.model = level(
            out_channels, ngf, in_channels=in_channels, submodule=block, outermost=True
        )

    @property
    def config(self) -> UNetConfig:
        return UNetConfig(
            self.in_channels,
            self.out_channels,
            self.ngf,
            self.num_downs,
            self.norm,
            self.dropout,
            self.upsample,
            self.trunk_blocks,
        )

    @classmethod
    def from_config(cls, config: UNetConfig) -> UNetGenerator:
        return cls(**asdict(config))

    @classmethod
    def saved_config(cls, model_id: str | Path) -> UNetConfig:
        """What a local model folder or Hub repo is, from its config.json alone (no weights)."""
        path = resolve_file(str(model_id), CONFIG_NAME)
        return UNetConfig(**read_config(path, allowed=inspect.signature(cls).parameters))

    def widened(self, in_channels: int) -> UNetGenerator:
        """The same generator taking more input channels, the new ones with zero weights: it
        makes exactly the photos it made before until training teaches it to use them (a
        sketch-only model fine-tuned into a hint model starts from what it knew)."""
        wide = UNetGenerator.from_config(replace(self.config, in_channels=in_channels))
        state = self.state_dict()
        first = "model.model.0.weight"
        weight = state[first]
        extra = weight.new_zeros(weight.shape[0], in_channels - weight.shape[1], *weight.shape[2:])
        state[first] = torch.cat([weight, extra], 1)
        wide.load_state_dict(state)
        return wide

    def grown(self, upsample: str, trunk_blocks: int) -> UNetGenerator:
        """This generator with resize-convolutions (`upsample="resize"`) and/or more trunk blocks,
        keeping what it learned: every other weight is carried over, each transposed convolution
        becomes its nearest resize-convolution (resize_kernel), and the new trunk blocks start as
        the identity. A trained transposed-convolution model (the bundled one) so starts close to
        its own photos, less the checkerboard, instead of from random weights. Never shrinks."""
        growth = self.config.growth(upsample, trunk_blocks)
        changed = {
            "upsample": upsample != self.upsample,
            "trunk_blocks": trunk_blocks != self.trunk_blocks,
        }
        if any(changed[name] and not grows for name, grows in growth.items()):
            raise ValueError(
                f"A generator grows, never shrinks: it has upsample={self.upsample!r} and "
                f"{self.trunk_blocks} trunk blocks; asked for {upsample!r} and {trunk_blocks}."
            )
        big = UNetGenerator.from_config(
            replace(self.config, upsample=upsample, trunk_blocks=trunk_blocks)
        )
        _carry_over(self.model, big.model)
        return big

    @property
    def photo2sketch(self) -> bool:
        """Whether it turns photos into sketches (3 channels in, 1 out, as `python -m train
        --direction photo2sketch` builds it) rather than sketches into photos."""
        return self.in_channels == 3 and self.out_channels == 1

    @property
    def image_size(self) -> int:
        """The resolution the generator was built for (it runs on any multiple of 2**num_downs)."""
        return 2**self.num_downs

    def forward(self, sketch: torch.Tensor) -> torch.Tensor:
        return self.model(sketch)

    def _save_pretrained(self, save_directory: Path) -> None:
        """Weights leave in the dtype they have in memory (half() first to ship a small file).

        Written as an ordinary file (mode 0644 under the usual umask): safetensors' save_file
        makes it 0600, which other users, a web server or a container cannot read."""
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        weights = save(state, metadata={"format": "pt"})
        (Path(save_directory) / WEIGHTS_NAME).write_bytes(weights)

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | Path,
        *,
        revision: str | None = None,
        token: str | bool | None = None,
        cache_dir: str | Path | None = None,
        force_download: bool = False,
        local_files_only: bool = False,
        map_location: str | torch.device = "cpu",
        **overrides,
    ) -> UNetGenerator:
        """A local model folder or a Hub repo id -> generator, loaded strictly and without pickle.

        The mixin's own loader is neither: it skips a missing config.json, ignores unknown config
        keys, loads non-strictly and falls back to pickled weights. Here config.json must exist and
        hold only constructor arguments (`overrides` replace some), and the weights must match the
        built model key for key and shape for shape; anything else is a ValueError naming keys and file.
        """
        where = dict(
            revision=revision,
            token=token,
            cache_dir=cache_dir,
            force_download=force_download,
            local_files_only=local_files_only,
        )
        model_id = str(pretrained_model_name_or_path)
        config_path = resolve_file(model_id, CONFIG_NAME, **where)
        config = read_config(config_path, allowed=inspect.signature(cls).parameters)
        config.update(overrides)
        try:
            model = cls(**config)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{config_path} does not describe a UNetGenerator: {err}") from err
        load_strict(model, resolve_file(model_id, WEIGHTS_NAME, **where))
        model._hub_mixin_config = config  # what save_pretrained and push_to_hub write back
        return model.to(map_location)

    @classmethod
    def from_official(cls, path: str | Path, **config) -> UNetGenerator:
        """Load a `latest_net_G.pth` saved by the official pix2pix code (junyanz/pytorch-CycleGAN-and-pix2pix).

        The file is a pickle, so it is read with `torch.load(weights_only=True)`, which refuses code.
        Pass the architecture it was trained with: the official unet_256 on facades is
        `UNetGenerator.from_official(path, in_channels=3, out_channels=3)`.
        """
        model = cls(**config)
        state = read_official_state(Path(path))
        # Old official checkpoints carry instance-norm statistics that the layer no longer keeps;
        # the official loader drops them too (its __patch_instance_norm_state_dict).
        stats = ("running_mean", "running_var", "num_batches_tracked")
        known = model.state_dict()
        state = {k: v for k, v in state.items() if k in known or not k.endswith(stats)}
        load_strict(model, Path(path), state=state)
        return model


class NLayerDiscriminator(nn.Module):
    """PatchGAN: judges overlapping patches; n_layers=3 sees 70x70 patches (the paper's choice)."""

    def __init__(self, in_channels: int = 6, ndf: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        Norm = norm_layer(norm)
        bias = norm != "batch"
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, ndf, kernel_size=4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
        ]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1  # the last hidden layer keeps the resolution
            layers += [
                nn.Conv2d(
                    ndf * prev, ndf * mult, kernel_size=4, stride=stride, padding=1, bias=bias
                ),
                Norm(ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(ndf * mult, 1, kernel_size=4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, pair: torch.Tensor) -> torch.Tensor:
        return self.model(pair)

    def features(self, pair: torch.Tensor) -> list[torch.Tensor]:
        """Each hidden layer's activations, then the patch scores: pix2pixHD's feature matching
        pulls the generated photo's activations towards the real photo's, layer by layer."""
        found = []
        for layer in self.model:
            pair = layer(pair)
            if isinstance(layer, nn.LeakyReLU):
                found.append(pair)
        return [*found, pair]


PatchDiscriminator = NLayerDiscriminator


class MultiScaleDiscriminator(nn.Module):
    """pix2pixHD's discriminator (Wang et al., CVPR 2018): the same PatchGAN at `scales` sizes.

    Scale k judges the pair shrunk k-1 times by 2 (3x3 average pooling, as pix2pixHD), so its
    70x70 patches cover 2**(k-1) times more of the face: at 256 pixels the third scale sees a whole
    face, the first the texture. The output is one score map per scale; `gan_loss` averages their
    losses, so each scale counts the same however many patches it has.
    """

    def __init__(
        self,
        in_channels: int = 6,
        ndf: int = 64,
        n_layers: int = 3,
        norm: str = "batch",
        scales: int = 2,
    ):
        super().__init__()
        self.scales = nn.ModuleList(
            NLayerDiscriminator(in_channels, ndf, n_layers, norm) for _ in range(scales)
        )

    def _pairs(self, pair: torch.Tensor):
        for i, scale in enumerate(self.scales):
            if i:
                pair = F.avg_pool2d(pair, 3, stride=2, padding=1, count_include_pad=False)
            yield scale, pair

    def forward(self, pair: torch.Tensor) -> list[torch.Tensor]:
        return [scale(shrunk) for scale, shrunk in self._pairs(pair)]

    def features(self, pair: torch.Tensor) -> list:
        """Every scale's hidden activations in order, then the list of score maps (the layout of
        NLayerDiscriminator.features, so feature matching reads both the same way)."""
        hidden, scores = [], []
        for scale, shrunk in self._pairs(pair):
            *found, score = scale.features(shrunk)
            hidden += found
            scores.append(score)
        return [*hidden, scores]


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN ("pixelGAN"): judges each pixel on its own; pushes colour, not structure."""

    def __init__(self, in_channels: int = 6, ndf: int = 64, norm: str = "batch"):
        super().__init__()
        bias = norm != "batch"
        self.model = nn.Sequential(
            nn.Conv2d(in_channels, ndf, kernel_size=1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, kernel_size=1, bias=bias),
            norm_layer(norm)(ndf * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, kernel_size=1, bias=bias),
        )

    def forward(self, pair: torch.Tensor) -> torch.Tensor:
        return self.model(pair)


class RegionDiscriminator(nn.Module):
    """OASIS's segmentation discriminator (Schönfeld et al. 2021), small: an encoder-decoder with
    skips that gives each pixel of a photo `regions + 1` logits, the regions of a face (skin, iris,
    lips, ...) and a last one for "fake". Where a PatchGAN says how real a 70x70 patch looks, this
    says which pixels fail and as what, so a pale iris is punished at the iris. It sees the photo
    alone: it must find the regions in the pixels, not read them off the sketch.

    It looks at the photo at half its side, and its decoder stops at half of that; the logits are
    enlarged from there. Regions are never a pixel wide (an iris is ~10 pixels across at 256), the
    PatchGAN beside it judges the fine texture, and on a 2-core CPU the whole-size network doubled
    the time of a training step (0.32 -> 0.70 s; 0.47 s as it is)."""

    def __init__(self, regions: int, in_channels: int = 3, ndf: int = 16, depth: int = 4):
        super().__init__()
        widths = [min(ndf * 2**i, ndf * 4) for i in range(depth + 1)]
        self.stem = nn.Conv2d(in_channels, widths[0], 3, padding=1)
        self.down = nn.ModuleList(
            nn.Conv2d(widths[i], widths[i + 1], 4, stride=2, padding=1) for i in range(depth)
        )
        self.up = nn.ModuleList(
            nn.Conv2d(widths[i + 1] + widths[i], widths[i], 3, padding=1)
            for i in reversed(range(1, depth))
        )
        self.head = nn.Conv2d(widths[1], regions + 1, 1)

    def forward(self, photo: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.stem(F.avg_pool2d(photo, 2)), 0.2)
        skips = []
        for conv in self.down:
            x = F.leaky_relu(conv(x), 0.2)
            skips.append(x)
        skips.pop()  # the bottom of the U: x itself
        for conv in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
            x = F.leaky_relu(conv(torch.cat([x, skip], 1)), 0.2)
        return F.interpolate(self.head(x), size=photo.shape[-2:], mode="bilinear")


def init_weights(net: nn.Module, init_type: str = "normal", gain: float = 0.02) -> nn.Module:
    """The paper's init: conv weights N(0, gain), norm weights N(1, gain), biases 0."""
    if init_type not in INIT_TYPES:
        raise ValueError(f"Unknown init {init_type!r}: choose one of {', '.join(INIT_TYPES)}.")

    def init(m: nn.Module) -> None:
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            if init_type == "normal":
                nn.init.normal_(m.weight, 0.0, gain)
            elif init_type == "xavier":
                nn.init.xavier_normal_(m.weight, gain=gain)
            elif init_type == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)

    return net.apply(init)
