"""`python -m train.average`: the weighted average of saved generators, a new model folder."""

from pathlib import Path

import numpy as np
import pytest
import torch

import train.average as average
from pix2pix import Translator
from pix2pix.framing import FRAMER_NAME
from pix2pix.networks import UNetGenerator
from tests.conftest import face_sketch, framer_that_finds, small_generator

CARD_TERMS = "license_name: some-data-terms\n"


def saved(tmp_path: Path, name: str, seed: int, ngf: int = 4, framer: bool = False) -> Path:
    folder = tmp_path / name
    small_generator(ngf=ngf, num_downs=6, seed=seed).save_pretrained(folder)
    (folder / "README.md").write_text(f"---\nlicense: other\n{CARD_TERMS}---\n")
    if framer:
        framer_that_finds(np.array([[20.0, 28.0], [44.0, 28.0]]), size=64).save(folder)
    return folder


def test_the_average_is_the_weighted_mean_of_every_parameter(tmp_path):
    a, b = saved(tmp_path, "a", seed=1), saved(tmp_path, "b", seed=2)
    out = tmp_path / "soup"
    assert average.main([str(a), str(b), "--weights", "1", "3", "--out", str(out)]) == 0
    states = [UNetGenerator.from_pretrained(p).state_dict() for p in (a, b, out)]
    floats = [k for k, v in states[0].items() if v.is_floating_point()]
    assert len(floats) > 10
    for key in floats:
        expected = 0.25 * states[0][key] + 0.75 * states[1][key]
        assert torch.allclose(states[2][key], expected, atol=1e-6), key
    assert not torch.allclose(states[2][floats[0]], states[0][floats[0]])


def test_the_soup_makes_photos_between_its_ingredients(tmp_path):
    a, b = saved(tmp_path, "a", seed=1), saved(tmp_path, "b", seed=2)
    out = tmp_path / "soup"
    average.main([str(a), str(a), "--out", str(out)])
    sketch = face_sketch(64)
    photo_of_a = np.asarray(Translator(str(a)).translate(sketch))
    same = Translator(str(out)).translate(sketch)
    assert np.array_equal(np.asarray(same), photo_of_a)
    average.main([str(a), str(b), "--out", str(out)])
    mixed = np.asarray(Translator(str(out)).translate(sketch), dtype=float)
    assert not np.array_equal(mixed, photo_of_a.astype(float))


def test_the_folder_carries_the_framer_the_terms_and_the_command(tmp_path):
    a, b = saved(tmp_path, "a", seed=1, framer=True), saved(tmp_path, "b", seed=2)
    out = tmp_path / "soup"
    average.main([str(a), str(b), "--half", "--out", str(out)])
    assert (out / FRAMER_NAME).read_bytes() == (a / FRAMER_NAME).read_bytes()
    card = (out / "README.md").read_text()
    assert CARD_TERMS in card
    assert f"`{a}` x 0.5" in card and f"`{b}` x 0.5" in card
    assert f"python -m train.average {a} {b} --half --out {out}" in card
    half = (out / "model.safetensors").stat().st_size
    average.main([str(a), str(b), "--out", str(out)])
    assert (out / "model.safetensors").stat().st_size > 1.9 * half


def test_a_model_without_a_framer_makes_a_soup_without_one(tmp_path):
    a, b = saved(tmp_path, "a", seed=1), saved(tmp_path, "b", seed=2, framer=True)
    out = tmp_path / "soup"
    assert average.main([str(a), str(b), "--out", str(out)]) == 0
    assert not (out / FRAMER_NAME).exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["b2", "--out", "o"], "different generator"),
        (["b", "--weights", "1", "--out", "o"], "2 models need 2 weights"),
        (["b", "--weights", "1", "-1", "--out", "o"], "non-negative"),
        (["--out", "o"], "at least two models"),
        (["missing", "--out", "o"], "missing has no config.json"),
    ],
)
def test_models_that_cannot_average_are_refused_with_a_reason(tmp_path, capsys, args, message):
    a = saved(tmp_path, "a", seed=1)
    saved(tmp_path, "b", seed=2)
    saved(tmp_path, "b2", seed=2, ngf=8)
    (tmp_path / "missing").mkdir()
    args = [str(tmp_path / x) if x in ("b", "b2", "o", "missing") else x for x in args]
    assert average.main([str(a), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
