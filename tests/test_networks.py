import pytest
import torch
import torch.nn.functional as F

from pix2pix import (
    MultiScaleDiscriminator,
    PatchDiscriminator,
    PixelDiscriminator,
    UNetGenerator,
    init_weights,
)


def count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_paper_parameter_counts():
    assert count(UNetGenerator(in_channels=3, out_channels=3, ngf=64, num_downs=8)) == 54_413_955
    assert count(PatchDiscriminator(in_channels=6, ndf=64, n_layers=3)) == 2_768_705


@pytest.mark.parametrize("num_downs", [6, 7, 8])
@pytest.mark.parametrize("in_channels", [1, 3])
def test_generator_shapes(num_downs, in_channels):
    size = 2**num_downs
    generator = UNetGenerator(in_channels=in_channels, out_channels=3, ngf=8, num_downs=num_downs)
    photo = generator(torch.randn(2, in_channels, size, size))
    assert photo.shape == (2, 3, size, size)
    assert photo.abs().max() <= 1  # tanh output
    assert generator.image_size == size


def test_dropout_sits_in_the_innermost_levels():
    """The paper's noise: dropout in num_downs - 5 decoder levels (three for unet_256)."""
    for num_downs, expected in [(8, 3), (7, 2), (6, 1)]:
        generator = UNetGenerator(num_downs=num_downs, ngf=4)
        assert sum(isinstance(m, torch.nn.Dropout) for m in generator.modules()) == expected
    assert not any(
        isinstance(m, torch.nn.Dropout) for m in UNetGenerator(ngf=4, dropout=False).modules()
    )


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_norms(norm):
    generator = UNetGenerator(ngf=4, num_downs=6, norm=norm).eval()
    kinds = {type(m).__name__ for m in generator.modules()}
    assert ("ImageBatchNorm2d" in kinds) == (norm == "batch")
    assert ("InstanceNorm2d" in kinds) == (norm == "instance")
    assert generator(torch.randn(1, 1, 64, 64)).shape == (1, 3, 64, 64)


def test_unknown_norm_and_depth_are_refused():
    with pytest.raises(ValueError, match="norm"):
        UNetGenerator(norm="group")
    with pytest.raises(ValueError, match="num_downs"):
        UNetGenerator(num_downs=4)


def test_discriminators_judge_pairs():
    pair = torch.randn(2, 4, 256, 256)  # grey sketch + RGB photo
    assert PatchDiscriminator(in_channels=4, ndf=8)(pair).shape == (2, 1, 30, 30)  # 70x70 patches
    assert PatchDiscriminator(in_channels=4, ndf=8, n_layers=1)(pair).shape == (2, 1, 126, 126)
    assert PixelDiscriminator(in_channels=4, ndf=8)(pair).shape == (2, 1, 256, 256)


def test_multi_scale_discriminator_judges_the_pair_at_each_size():
    """pix2pixHD's layout: scale k sees the pair average-pooled k-1 times; features lists every
    scale's hidden layers, then the score maps, as the single PatchGAN's does."""
    torch.manual_seed(0)
    D = MultiScaleDiscriminator(in_channels=4, ndf=8, scales=3)
    pair = torch.randn(2, 4, 256, 256)
    scores = D(pair)
    assert [tuple(s.shape) for s in scores] == [(2, 1, 30, 30), (2, 1, 14, 14), (2, 1, 6, 6)]
    half = F.avg_pool2d(pair, 3, stride=2, padding=1, count_include_pad=False)
    assert torch.allclose(scores[0], D.scales[0](pair))
    assert torch.allclose(scores[1], D.scales[1](half))
    assert not torch.allclose(D.scales[1](half), D.scales[2](half))  # each scale its own weights
    *hidden, last = D.features(pair)
    assert len(hidden) == 3 * 4  # 4 LeakyReLUs per 3-layer PatchGAN
    assert all(torch.allclose(a, b) for a, b in zip(last, scores, strict=True))


@pytest.mark.parametrize("init_type", ["normal", "xavier", "kaiming", "orthogonal"])
def test_init_weights(init_type):
    torch.manual_seed(0)
    net = init_weights(PatchDiscriminator(ndf=8), init_type)
    first = net.model[0]
    assert first.bias.abs().max() == 0
    std = first.weight.std().item()
    if init_type == "normal":
        assert std == pytest.approx(0.02, rel=0.1)
    assert std > 0
    with pytest.raises(ValueError, match="init"):
        init_weights(net, "uniform")


def test_batch_norm_uses_each_images_own_statistics_outside_training():
    """As the official test script (no eval()): a photo is what training at batch size 1 would give,
    and it does not depend on the other images in the batch."""
    from pix2pix.networks import ImageBatchNorm2d

    torch.manual_seed(0)
    generator = UNetGenerator(ngf=4, num_downs=6, dropout=False)
    norms = [m for m in generator.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(isinstance(m, ImageBatchNorm2d) for m in norms)
    sketches = torch.rand(3, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        generator.train()
        for m in norms:
            m.momentum = 0.0  # leave the running statistics alone while reading train-mode outputs
        one_by_one = torch.cat([generator(s[None]) for s in sketches])
        generator.eval()
        together = generator(sketches)
        for m in norms:
            m.use_running_stats = True
        textbook = generator(sketches)
    assert torch.allclose(together, one_by_one, atol=1e-5)
    assert not torch.allclose(textbook, together, atol=1e-2)


def test_resize_convolutions_paint_no_checkerboard_on_a_flat_input():
    """A transposed convolution gives a flat input a period-2 pattern (its kernel overlaps
    unevenly); nearest resize then a 3x3 convolution keeps it flat away from the border."""
    from pix2pix.networks import up_conv

    torch.manual_seed(0)
    flat = torch.ones(1, 4, 8, 8)
    inside = (slice(None), slice(None), slice(2, -2), slice(2, -2))
    transposed = up_conv(4, 2, "transpose")(flat)[inside]
    resized = up_conv(4, 2, "resize")(flat)[inside]
    assert transposed.shape == resized.shape == (1, 2, 12, 12)
    assert transposed.std(dim=(2, 3)).min() > 1e-3
    assert resized.std(dim=(2, 3)).max() < 1e-6


def test_resize_generator_round_trips_and_refuses_unknown_upsampling(tmp_path):
    generator = UNetGenerator(ngf=4, num_downs=6, upsample="resize")
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in generator.modules())
    assert generator(torch.randn(1, 1, 64, 64)).shape == (1, 3, 64, 64)
    generator.save_pretrained(tmp_path)
    loaded = UNetGenerator.from_pretrained(tmp_path)
    assert loaded.upsample == "resize"
    assert all(
        torch.equal(a, b)
        for a, b in zip(generator.state_dict().values(), loaded.state_dict().values(), strict=True)
    )
    with pytest.raises(ValueError, match="upsample"):
        UNetGenerator(ngf=4, upsample="bilinear")


def test_a_generator_says_which_way_it_translates():
    assert not UNetGenerator(ngf=4, num_downs=5).photo2sketch  # 1 -> 3: sketch to photo
    assert not UNetGenerator(5, 3, ngf=4, num_downs=5).photo2sketch  # with colour hints
    assert UNetGenerator(3, 1, ngf=4, num_downs=5).photo2sketch


def test_a_generator_is_built_from_its_config_and_gives_it_back(tmp_path):
    """UNetConfig is config.json as plain data: what a generator is built from and saves."""
    import json
    from dataclasses import asdict

    from pix2pix import UNetConfig

    config = UNetConfig(
        in_channels=5, ngf=4, num_downs=6, norm="instance", upsample="resize", trunk_blocks=1
    )
    generator = UNetGenerator.from_config(config)
    assert generator.config == config
    generator.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text()) == asdict(config)
    assert UNetGenerator.from_pretrained(tmp_path).config == config
    assert generator.widened(7).config == UNetConfig(**{**asdict(config), "in_channels": 7})
