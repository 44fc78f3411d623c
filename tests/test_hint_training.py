"""Training with colour hints and with several data sources mixed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix.hints import no_hints
from tests.conftest import small_generator
from tests.test_train import tiny
from train.config import TrainConfig
from train.data import PairDataset, find_pairs
from train.hints import sample_hints
from train.loop import load_data, train


def portrait() -> np.ndarray:
    """A 'person' of two flat colours on white paper."""
    photo = np.full((64, 64, 3), 255, np.uint8)
    photo[8:40, 16:48] = (120, 60, 20)  # hair
    photo[40:64, 16:48] = (210, 170, 140)  # skin
    return photo


def test_hints_are_flat_strokes_of_the_photos_own_colours():
    photo = portrait()
    empty = 0
    for seed in range(40):
        colours, mask = sample_hints(photo, np.random.default_rng(seed))
        if not mask.any():
            empty += 1
            continue
        assert not colours[~mask].any()  # no colour outside the hints
        hinted = colours[mask].astype(int)
        # Each hint is the mean photo colour under its stroke: a blend of the person's colours and
        # the paper, never a colour the photo does not have.
        assert np.all(hinted.min(axis=1) >= 20 - 1)
        assert np.all((hinted[:, 0] >= hinted[:, 1]) & (hinted[:, 1] >= hinted[:, 2]))
    assert 8 <= empty <= 28  # a good share of examples have no hint at all (40% expected)


def test_hint_sampling_depends_only_on_the_rng():
    a = sample_hints(portrait(), np.random.default_rng(3))
    b = sample_hints(portrait(), np.random.default_rng(3))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_a_hint_dataset_gives_five_channels_of_the_documented_layout(pairs_dir):
    dataset = PairDataset(find_pairs(pairs_dir), image_size=32, hints=True)
    plain = PairDataset(find_pairs(pairs_dir), image_size=32)
    for i in range(len(dataset)):
        item = dataset[i]
        sketch, colours, mask = item["input"][:1], item["input"][1:4], item["input"][4:]
        assert item["input"].shape == (5, 32, 32)
        assert torch.equal(sketch, plain[i]["input"])  # the sketch channel is unchanged
        assert set(mask.unique().tolist()) <= {0.0, 1.0}
        assert torch.all(colours[:, mask[0] == 0] == 0)


def test_a_widened_generator_makes_the_same_photos_without_hints(model_dir):
    from pix2pix.networks import UNetGenerator

    narrow = UNetGenerator.from_pretrained(model_dir).eval()
    wide = narrow.widened(5).eval()
    assert wide.in_channels == 5 and wide.model.model[0].weight.shape[1] == 5
    sketch = torch.rand(2, 1, 256, 256) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(wide(no_hints(sketch)), narrow(sketch), atol=1e-6)
    hinted = no_hints(sketch)
    hinted[:, 1:] = 1.0
    wide.train()(hinted).mean().backward()
    new = wide.model.model[0].weight.grad[:, 1:]
    assert new.abs().sum() > 0  # the new channels are wired in: training can teach them


def test_fine_tuning_a_sketch_model_into_a_hint_model(pairs_dir, tmp_path):
    start = tmp_path / "start"
    small_generator(ngf=4, num_downs=5).save_pretrained(start)
    model_dir = train(tiny(pairs_dir, tmp_path / "run", hints=True, init_from=str(start)))
    from pix2pix.networks import UNetGenerator

    trained = UNetGenerator.from_pretrained(model_dir)
    assert trained.in_channels == 5 and trained.ngf == 4


def test_sources_are_mixed_with_their_repeats(pairs_dir, tmp_path):
    other = tmp_path / "other"
    (other / "sketches").mkdir(parents=True)
    (other / "photos").mkdir()
    for i in range(3):
        Image.new("L", (32, 32), 255).save(other / "sketches" / f"x{i}.png")
        Image.new("RGB", (32, 32), (9, 9, 9)).save(other / "photos" / f"x{i}.png")
    config = tiny(pairs_dir, tmp_path / "run", data=[str(pairs_dir), str(other)], repeat=[1, 4])
    data = load_data(config)
    names = [p.name for p in data.dataset.pairs]
    assert len(names) == 8 + 3 * 4 and names.count("x0") == 4 and not data.problems


def test_repeat_needs_one_number_per_source():
    with pytest.raises(ValueError, match="one whole number"):
        TrainConfig(data=["a", "b"], out="o", repeat=[2]).check()
