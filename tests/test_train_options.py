"""Training options for realism: the inverted residual trunk, DiffAugment, the weight average, and
a time limit. Real steps on the tiny generated pairs of test_train.py."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from pix2pix.networks import InvertedResidual, UNetGenerator, resize_kernel
from tests.test_train import tiny
from train.augment import diff_augment
from train.loop import adopt_base_model, build_models, train


def test_the_trunk_adds_blocks_at_a_quarter_of_the_size_and_the_default_is_the_paper():
    paper = UNetGenerator(3, 3, 64, 8)
    assert sum(p.numel() for p in paper.parameters()) == 54_413_955
    assert not any(isinstance(m, InvertedResidual) for m in paper.modules())
    seen = []
    live = UNetGenerator(5, 3, ngf=8, trunk_blocks=3, upsample="resize", norm="instance")
    for block in (m for m in live.modules() if isinstance(m, InvertedResidual)):
        block.register_forward_hook(lambda module, args, out: seen.append(out.shape))
    photo = live(torch.zeros(1, 5, 256, 256))
    assert photo.shape == (1, 3, 256, 256)
    assert seen == [(1, 32, 64, 64)] * 3  # ngf * 4 channels (skip joined) at 64x64
    with pytest.raises(ValueError, match="trunk_blocks"):
        UNetGenerator(trunk_blocks=-1)


def test_diffaugment_moves_both_pairs_alike_and_passes_gradients():
    torch.manual_seed(0)
    real = torch.rand(4, 4, 32, 32) * 2 - 1
    made = real.clone().requires_grad_(True)
    out_made, out_real = diff_augment(made, real)
    assert torch.equal(out_made.detach(), out_real)  # the same choices for both pairs
    assert not torch.equal(out_real, real)
    out_made.sum().backward()
    assert made.grad is not None and made.grad.abs().sum() > 0
    sketch_in, sketch_out = real[:, :1], out_real[:, :1]
    # The sketch channel is only moved and cut, never recoloured: its values stay the input's or 0.
    values = set(sketch_in.flatten().tolist()) | {0.0}
    assert set(sketch_out.flatten().tolist()) <= values


def test_a_run_with_the_weight_average_saves_the_average(pairs_dir, tmp_path):
    run = tmp_path / "run"
    train(tiny(pairs_dir, run, ema=0.5, diffaugment=True, trunk_blocks=1, max_steps=6))
    state = torch.load(run / "state.pt", weights_only=True)
    saved = load_file(run / "model" / "model.safetensors")
    assert all(torch.equal(saved[k], v) for k, v in state["ema"].items())
    assert any(not torch.equal(state["generator"][k], v) for k, v in state["ema"].items())
    assert json.loads((run / "model" / "config.json").read_text())["trunk_blocks"] == 1


def test_the_average_follows_the_generator_by_its_decay(pairs_dir, tmp_path):
    models = build_models(tiny(pairs_dir, tmp_path / "run", ema=0.9), torch.device("cpu"))
    before = [p.clone() for p in models.ema.parameters()]
    with torch.no_grad():
        for p in models.bare_generator.parameters():
            p.add_(1.0)
    models.update_ema(0.9)
    after = list(models.ema.parameters())
    assert all(torch.allclose(a, b + 0.1) for a, b in zip(after, before, strict=True))


def test_max_minutes_stops_and_saves_the_model(pairs_dir, tmp_path):
    run = tmp_path / "run"
    train(tiny(pairs_dir, run, max_minutes=1e-6, epochs=50))
    rows = (run / "losses.csv").read_text().splitlines()
    assert len(rows) == 2  # the header and the one step the time allowed
    assert (run / "model" / "model.safetensors").is_file()
    assert "--max-minutes" in (run / "model" / "README.md").read_text()


def test_settings_that_cannot_train_are_refused(pairs_dir, tmp_path):
    for bad, message in (({"ema": 1.0}, "--ema"), ({"trunk_blocks": -1}, "--trunk-blocks")):
        with pytest.raises(ValueError, match=message):
            train(tiny(pairs_dir, tmp_path / "bad", **bad))


def tiny_args(data, out, *extra: str) -> list[str]:
    """`python -m train` arguments for a tiny CPU run of 32x32 pairs, plus `extra`."""
    return ["--data", str(data), "--out", str(out), "--image-size", "32", "--ndf", "4",
            "--workers", "0", "--device", "cpu", *extra]  # fmt: skip


def hint_model_with_framer(tmp_path):
    """A saved 5-channel (hint) generator with a framer and a card naming its terms."""
    from pix2pix.framing import Framer

    folder = tmp_path / "base"
    UNetGenerator(in_channels=5, ngf=4, num_downs=5).save_pretrained(folder)
    Framer().save(folder)
    card = "---\nlicense: other\nlicense_name: some-non-commercial-terms\n---\n# base\n"
    (folder / "README.md").write_text(card)
    return folder


def test_fine_tuning_a_hint_model_takes_hints_from_it_and_keeps_its_framer(pairs_dir, tmp_path):
    """The README's fine-tune command, without --hints, on the bundled kind of model."""
    from train.__main__ import main

    base = hint_model_with_framer(tmp_path)
    run = tmp_path / "mine"
    args = tiny_args(
        pairs_dir, run, "--init-from", str(base), "--max-steps", "2", "--layout", "cuhk"
    )
    assert main(args) == 0
    saved = json.loads((run / "args.json").read_text())
    assert saved["hints"] is True and saved["ngf"] == 4  # what actually trained
    assert json.loads((run / "model" / "config.json").read_text())["in_channels"] == 5
    card = (run / "model" / "README.md").read_text()
    assert "license_name: some-non-commercial-terms" in card and f"Fine-tuned from `{base}`" in card


def test_a_framer_is_carried_only_to_pairs_framed_as_it_expects(pairs_dir, tmp_path, capsys):
    from train.__main__ import main

    base = hint_model_with_framer(tmp_path)
    base_args = ("--init-from", str(base), "--max-steps", "1")
    cuhk, own = tmp_path / "cuhk", tmp_path / "own"
    assert main(tiny_args(pairs_dir, cuhk, *base_args, "--layout", "cuhk")) == 0
    assert (cuhk / "model" / "framer.safetensors").is_file()
    assert main(tiny_args(pairs_dir, own, *base_args)) == 0  # plain same-name folders
    assert not (own / "model" / "framer.safetensors").exists()
    out = capsys.readouterr().out
    assert "framer: carried over" in out and "framer: none" in out
    assert "translated as drawn" in (tmp_path / "own" / "model" / "README.md").read_text()


def test_a_start_that_cannot_train_leaves_no_run_behind(pairs_dir, tmp_path, capsys):
    from train.__main__ import main

    base = hint_model_with_framer(tmp_path)
    run = tmp_path / "mine"
    args = [*tiny_args(pairs_dir, run, "--init-from", str(base)), "--image-size", "64"]
    assert main(args) == 2
    assert "--image-size 32" in capsys.readouterr().err
    assert not run.exists()  # the next try is not refused as "already holds a run"


@pytest.mark.parametrize("name", ["norm", "gan_mode", "upsample", "layout", "direction"])
def test_a_mistyped_choice_is_refused_before_any_data_is_read(tmp_path, name, monkeypatch):
    """Python callers skip argparse's choices: check() names the setting and what it takes."""
    from train import loop

    monkeypatch.setattr(loop, "load_data", lambda config: pytest.fail("the data was read"))
    config = tiny(tmp_path / "no-data", tmp_path / "run", **{name: "typo"})
    with pytest.raises(ValueError, match=f"--{name.replace('_', '-')} 'typo' is not one of"):
        train(config)


def transposed_twin(taps: torch.Tensor) -> torch.Tensor:
    """The 4x4 stride-2 transposed kernel (in, out, 4, 4) that paints exactly what nearest x2 then
    the 3x3 convolution `taps` (out, in, 3, 3) paints: per axis, output parity a reads input offset
    d with tap a + 1 - 2d, and the resize-convolution with the sum of the taps p whose nearest
    source (a + p - 1) // 2 is d."""
    per_axis = torch.zeros(4, 3)  # transposed tap k <- resize tap p
    for a in (0, 1):
        for d in (-1, 0, 1):
            k = a + 1 - 2 * d
            if 0 <= k < 4:
                for p in range(3):
                    per_axis[k, p] += float((a + p - 1) // 2 == d)
    return torch.einsum("kp,lq,oipq->iokl", per_axis, per_axis, taps)


def resize_photo(x: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    return F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), taps, padding=1)


def test_a_transposed_convolution_without_checkerboard_becomes_its_resize_convolution_exactly():
    torch.manual_seed(0)
    taps, x = torch.randn(4, 6, 3, 3), torch.randn(2, 6, 9, 9)
    twin = transposed_twin(taps)
    assert torch.allclose(
        F.conv_transpose2d(x, twin, stride=2, padding=1), resize_photo(x, taps), atol=1e-5
    )
    assert torch.allclose(resize_kernel(twin), taps, atol=1e-5)


def test_any_transposed_convolution_becomes_the_nearest_resize_convolution():
    torch.manual_seed(1)
    kernel, x = torch.randn(6, 4, 4, 4), torch.randn(8, 6, 12, 12)
    target = F.conv_transpose2d(x, kernel, stride=2, padding=1)
    nearest = resize_kernel(kernel)

    def error(taps: torch.Tensor) -> float:
        return (resize_photo(x, taps) - target).pow(2).mean().item()

    best = error(nearest)
    assert best < error(torch.zeros_like(nearest))
    for scale in (0.3, 0.03):  # least squares: every step away from it paints further off
        assert all(error(nearest + scale * torch.randn_like(nearest)) > best for _ in range(5))


def test_growing_keeps_the_photos_of_a_trunk_and_carries_every_weight_over():
    torch.manual_seed(2)
    small = UNetGenerator(5, 3, ngf=4, num_downs=6, trunk_blocks=1).eval()
    for p in small.parameters():  # a trained look: no parameter at its initial value
        p.data.add_(torch.randn_like(p) * 0.1)
    x = torch.randn(2, 5, 64, 64)
    deeper = small.grown("transpose", 3).eval()
    assert torch.allclose(deeper(x), small(x), atol=1e-6)  # the new trunk blocks add nothing yet
    kept = next(m for m in deeper.modules() if isinstance(m, InvertedResidual))
    theirs = next(m for m in small.modules() if isinstance(m, InvertedResidual))
    assert all(
        torch.equal(a, b) for a, b in zip(kept.parameters(), theirs.parameters(), strict=True)
    )
    resized = small.grown("resize", 1).eval()
    assert resized.config == replace(small.config, upsample="resize")
    first = "model.model.0.weight"  # the encoder's first convolution, carried over as it was
    assert torch.equal(resized.state_dict()[first], small.state_dict()[first])
    ups = [m for m in small.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    resize_convs = [
        m[1]
        for m in resized.modules()
        if isinstance(m, torch.nn.Sequential) and isinstance(m[0], torch.nn.Upsample)
    ]
    assert len(ups) == len(resize_convs) == 6
    for up, conv in zip(ups, resize_convs, strict=True):
        assert torch.allclose(conv.weight, resize_kernel(up.weight))
    for upsample, trunk_blocks in (("transpose", 1), ("resize", 0)):
        with pytest.raises(ValueError, match="grows, never shrinks"):
            resized.grown(upsample, trunk_blocks)


def test_fine_tuning_with_resize_and_a_trunk_grows_the_saved_generator(pairs_dir, tmp_path):
    start = UNetGenerator(5, 3, ngf=4, num_downs=5)
    start.save_pretrained(tmp_path / "start")
    config, said = adopt_base_model(
        tiny(
            pairs_dir,
            tmp_path / "run",
            hints=True,
            init_from=str(tmp_path / "start"),
            upsample="resize",
            trunk_blocks=2,
            max_steps=2,
        )
    )
    assert (config.upsample, config.trunk_blocks, config.ngf) == ("resize", 2, 4)
    assert any("is grown: --upsample transpose -> resize" in line for line in said)
    assert any("is grown: --trunk-blocks 0 -> 2" in line for line in said)
    models = build_models(config, torch.device("cpu"))
    x = torch.randn(1, 5, 32, 32)
    grown = start.grown("resize", 2).eval()
    assert torch.allclose(models.bare_generator.eval()(x), grown(x), atol=1e-6)
    train(config)
    saved = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert (saved["upsample"], saved["trunk_blocks"]) == ("resize", 2)
