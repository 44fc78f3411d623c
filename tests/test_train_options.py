"""Training options for realism: the inverted residual trunk, DiffAugment, the weight average, and
a time limit. Real steps on the tiny generated pairs of test_train.py."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from pix2pix.networks import InvertedResidual, UNetGenerator
from tests.test_train import tiny
from train.augment import diff_augment
from train.loop import build_models, train


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
