"""--teacher: a generator learns another generator's photos (distillation), resumes exactly, and
refuses a teacher that does not fit or that changed under a resume."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from pix2pix import UNetGenerator
from pix2pix.hints import HINT_CHANNELS
from tests.test_train import tiny
from train.data import PairDataset, find_pairs
from train.loop import train, train_step


def save_teacher(folder, seed: int, **settings) -> UNetGenerator:
    """A small generator whose photos are nothing like the true ones (random weights)."""
    torch.manual_seed(seed)
    teacher = UNetGenerator(ngf=settings.pop("ngf", 8), num_downs=5, **settings)
    teacher.save_pretrained(folder)
    return teacher.eval()


def distance_to(run_dir, data_dir, targets) -> float:
    """Mean L1 between the run's photos of the training sketches and `targets` (a function)."""
    student = UNetGenerator.from_pretrained(run_dir / "model").eval()
    data = PairDataset(find_pairs(data_dir / "train"), image_size=32, augment=False)
    sketches = torch.stack([data[i]["input"] for i in range(len(data))])
    photos = torch.stack([data[i]["target"] for i in range(len(data))])
    with torch.no_grad():
        return (student(sketches) - targets(sketches, photos)).abs().mean().item()


def test_a_student_learns_the_teachers_photos_instead_of_the_true_ones(pairs_dir, tmp_path):
    teacher = save_teacher(tmp_path / "teacher", seed=1)
    settings = dict(epochs=6, epochs_decay=0, lambda_l1=100.0)
    train(tiny(pairs_dir, tmp_path / "student", teacher=str(tmp_path / "teacher"), **settings))
    train(tiny(pairs_dir, tmp_path / "plain", **settings))

    def taught(sketches, photos):
        with torch.no_grad():
            return teacher(sketches)

    def true(sketches, photos):
        return photos

    student, plain = tmp_path / "student", tmp_path / "plain"
    # each run is nearer the photos it was taught with than the other run is
    assert distance_to(student, pairs_dir, taught) < distance_to(plain, pairs_dir, taught)
    assert distance_to(plain, pairs_dir, true) < distance_to(student, pairs_dir, true)
    card = (student / "model" / "README.md").read_text()
    assert f"distilled from `{tmp_path / 'teacher'}`" in card


def test_the_l1_loss_compares_with_the_teachers_photo(pairs_dir, tmp_path):
    """The logged L1 is the distance to the teacher's photo of the very input, not to the target."""
    save_teacher(tmp_path / "teacher", seed=1)
    config = tiny(pairs_dir, tmp_path / "run", teacher=str(tmp_path / "teacher"))
    from train.loop import Precision, build_models

    torch.manual_seed(0)
    models = build_models(config, torch.device("cpu"))
    models.generator.eval()  # no dropout: the photo the step makes is the one computed here
    batch = {"input": torch.rand(2, 1, 32, 32) * 2 - 1, "target": torch.rand(2, 3, 32, 32) * 2 - 1}
    with torch.no_grad():
        fake = models.generator(batch["input"])
        to_teacher = (fake - models.teacher(batch["input"])).abs().mean().item() * 100
        to_target = (fake - batch["target"]).abs().mean().item() * 100
    losses = train_step(models, batch, config, Precision(False, torch.device("cpu")))
    assert losses["G_L1"] == pytest.approx(to_teacher, rel=1e-4)
    assert abs(to_teacher - to_target) > 1  # the two targets are told apart
    assert not any(p.requires_grad for p in models.teacher.parameters())


def test_a_teacher_that_does_not_fit_is_refused(pairs_dir, tmp_path):
    save_teacher(tmp_path / "hints", seed=1, in_channels=1 + HINT_CHANNELS)
    with pytest.raises(ValueError, match=r"--teacher .* maps 5 to 3 channels.*--hints"):
        train(tiny(pairs_dir, tmp_path / "a", teacher=str(tmp_path / "hints")))
    torch.manual_seed(1)
    UNetGenerator(ngf=8, num_downs=6).save_pretrained(tmp_path / "big")
    with pytest.raises(ValueError, match="makes 64x64 photos; this run trains at 32x32"):
        train(tiny(pairs_dir, tmp_path / "b", teacher=str(tmp_path / "big")))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_distilled_run_resumes_exactly_and_refuses_another_teacher(
    pairs_dir,
    tmp_path,
    monkeypatch,
):
    save_teacher(tmp_path / "teacher", seed=1)
    settings = dict(teacher=str(tmp_path / "teacher"))
    train(tiny(pairs_dir, tmp_path / "reference", **settings))
    calls = {"n": 0}

    def crash_at_step_11(*args):
        calls["n"] += 1
        if calls["n"] == 11:
            raise KeyboardInterrupt("power cut")
        return train_step(*args)

    monkeypatch.setattr("train.loop.train_step", crash_at_step_11)
    run = tmp_path / "crashed"
    with pytest.raises(KeyboardInterrupt):
        train(tiny(pairs_dir, run, **settings))
    monkeypatch.setattr("train.loop.train_step", train_step)
    save_teacher(tmp_path / "teacher", seed=2)  # the teacher's folder now holds another model
    with pytest.raises(ValueError, match="not the one its saved state learned from"):
        train(tiny(pairs_dir, run, **settings), resume=True)
    save_teacher(tmp_path / "teacher", seed=1)
    train(tiny(pairs_dir, run, **settings), resume=True)
    reference = load_file(tmp_path / "reference" / "model" / "model.safetensors")
    resumed = load_file(run / "model" / "model.safetensors")
    assert all(torch.equal(v, reference[k]) for k, v in resumed.items())
