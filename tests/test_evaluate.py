"""Evaluation: the app's path in float32, scored by the protocol of train/evaluate.py; files, bad
files, baseline and command line."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFilter

import train.evaluate as evaluate_module
from tests.conftest import small_generator
from train.data import Pair, find_pairs
from train.evaluate import EvaluationStopped, evaluate, main, mean_photo_baseline, score
from train.metrics import load_for_metrics

METRICS = ("fsim_gray", "fsim_chromatic", "ssim", "psnr")


def face(seed: int) -> tuple[Image.Image, Image.Image]:
    """A 200x250 (CUHK-sized) photo with a face-like blob, and its outline as a grey sketch."""
    rng = np.random.default_rng(seed)
    photo = Image.new("RGB", (200, 250), (235, 235, 235))
    sketch = Image.new("L", (200, 250), 255)
    box = (40 + seed * 5, 40, 160 - seed * 3, 210)
    skin = tuple(int(c) for c in rng.integers(120, 220, size=3))
    ImageDraw.Draw(photo).ellipse(box, fill=skin)
    ImageDraw.Draw(sketch).ellipse(box, outline=40, width=2)
    noise = rng.integers(-10, 10, size=(250, 200, 3))
    photo = Image.fromarray(np.clip(np.asarray(photo, dtype=int) + noise, 0, 255).astype(np.uint8))
    return sketch, photo


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny_model")
    small_generator(ngf=8, num_downs=8).save_pretrained(folder)
    return folder


def save_faces(folder: Path, seeds: range) -> None:
    """Pairs in sketches/ + photos/ with matching names (the 'folders' layout)."""
    for i in seeds:
        sketch, photo = face(i)
        for kind, image in (("sketches", sketch), ("photos", photo)):
            (folder / kind).mkdir(parents=True, exist_ok=True)
            image.save(folder / kind / f"face{i}.png")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """Three test pairs and two training pairs."""
    root = tmp_path_factory.mktemp("tiny_data")
    save_faces(root / "test", range(3))
    save_faces(root / "train", range(3, 5))
    return root


def test_evaluate_scores_every_pair_in_float32_and_writes_metrics_and_grid(
    tiny_model, tiny_data, tmp_path, monkeypatch
):
    made_in = []  # the CPU default would be bf16 where the CPU has it: evaluation must use fp32

    class Recording(evaluate_module.Translator):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made_in.append(self.dtype)

    monkeypatch.setattr(evaluate_module, "Translator", Recording)
    pairs = find_pairs(tiny_data, split="test")
    result = evaluate(tiny_model, pairs, out_dir=tmp_path, device="cpu")

    assert made_in == [torch.float32]
    assert result["pairs"] == 3
    assert [entry["name"] for entry in result["per_image"]] == ["face0", "face1", "face2"]
    for metric in METRICS:
        values = [entry[metric] for entry in result["per_image"]]
        assert result[metric] == pytest.approx(np.mean(values))
    for entry in result["per_image"]:
        assert 0 < entry["fsim_gray"] <= 1 and 0 < entry["fsim_chromatic"] <= 1
        assert -1 <= entry["ssim"] < 1
        assert 0 < entry["psnr"] < 60  # a random generator does not reproduce the photo
    assert json.loads((tmp_path / "metrics.json").read_text()) == result

    grid = Image.open(tmp_path / "results.png")
    assert grid.size == (3 * 256, 3 * 256)
    # Columns are sketch | made | true: the last cell of row 2 is the third true photo at 256x256.
    true_cell = np.asarray(grid.crop((512, 512, 768, 768)), dtype=np.float32) / 255
    expected = load_for_metrics(Image.open(pairs[2].photo))[0].permute(1, 2, 0).numpy()
    assert np.abs(true_cell - expected).max() <= 1 / 255


def test_evaluate_limits_grid_rows_and_draws_missing_sketches(tiny_model, tiny_data, tmp_path):
    photo_only = [Pair(None, p.photo) for p in find_pairs(tiny_data, split="test")[:2]]
    result = evaluate(tiny_model, photo_only, tmp_path, device="cpu", batch_size=1, grid_rows=1)
    assert result["pairs"] == 2
    assert Image.open(tmp_path / "results.png").size == (3 * 256, 256)


def test_evaluate_refuses_no_pairs(tiny_model):
    with pytest.raises(ValueError, match="no test pairs"):
        evaluate(tiny_model, [])


def test_bad_files_are_skipped_and_counted(tiny_model, tiny_data, tmp_path):
    """A broken photo and a CSV row naming a missing file: scored without them, and named."""
    rows = ["photo,sketch"] + [
        f"{tiny_data}/test/photos/face{i}.png,{tiny_data}/test/sketches/face{i}.png"
        for i in range(2)
    ]
    rows.append(f"{tmp_path}/gone.png,{tiny_data}/test/sketches/face2.png")
    (tmp_path / "broken.png").write_text("not an image")
    rows.append(f"{tmp_path}/broken.png,{tiny_data}/test/sketches/face2.png")
    (tmp_path / "pairs.csv").write_text("\n".join(rows) + "\n")
    result = evaluate(tiny_model, find_pairs(tmp_path / "pairs.csv"), tmp_path / "out", "cpu")
    assert result["pairs"] == 2
    assert [entry["name"] for entry in result["per_image"]] == ["face0", "face1"]
    assert len(result["skipped"]) == 2
    assert any("gone.png" in line for line in result["skipped"])
    assert any("broken.png" in line for line in result["skipped"])


def test_a_stop_ends_the_evaluation_between_batches(tiny_model, tiny_data):
    asked = []

    def stop() -> bool:
        asked.append(True)
        return len(asked) > 1  # a signal arrives while the first batch is scored

    pairs = find_pairs(tiny_data, split="test")
    with pytest.raises(EvaluationStopped, match="after 1 of 3"):
        evaluate(tiny_model, pairs, device="cpu", batch_size=1, stop=stop)


def test_score_is_perfect_for_identical_photos_and_lower_for_blurred(tiny_data):
    photos = [Image.open(p) for p in sorted((tiny_data / "test" / "photos").iterdir())]
    blurred = [p.filter(ImageFilter.GaussianBlur(3)) for p in photos]
    result = score(photos + blurred, photos + photos)
    perfect, worse = result["per_image"][:3], result["per_image"][3:]
    for same, blur in zip(perfect, worse, strict=True):
        for metric in ("fsim_gray", "fsim_chromatic", "ssim"):
            assert same[metric] == pytest.approx(1, abs=1e-6)
            assert blur[metric] < 0.99
        assert same["psnr"] > 60 and blur["psnr"] < 40

    with pytest.raises(ValueError, match="same, non-zero number"):
        score(photos[:2], photos)


@pytest.mark.slow
def test_mean_photo_baseline_on_cuhk_student_matches_design(shared_dir):
    """The 'for scale' numbers: FSIM(gray) 0.737, SSIM 0.644 (about 30 s: FSIM on 100 pairs)."""
    root = shared_dir / "data" / "cufs" / "cuhk_student"
    result = mean_photo_baseline(find_pairs(root, split="train"), find_pairs(root, split="test"))
    assert result["pairs"] == 100
    assert result["fsim_gray"] == pytest.approx(0.737, abs=0.01)
    assert result["ssim"] == pytest.approx(0.644, abs=0.01)


def test_cli_prints_the_table_and_writes_under_eval(
    tiny_model, tiny_data, capsys, monkeypatch, tmp_path
):
    """By default results go to eval/<model name>, never into the model folder (results.png shows
    the data set's images, which must not end up in a folder that is published)."""
    monkeypatch.chdir(tmp_path)
    args = ["--model", str(tiny_model), "--data", str(tiny_data), "--device", "cpu", "--baseline"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "| metric | value | mean training photo |" in out
    for label in ("FSIM (gray)", "FSIMc", "SSIM", "PSNR (dB)"):
        assert f"| {label} | " in out
    written = json.loads((tmp_path / "eval" / tiny_model.name / "metrics.json").read_text())
    assert f"| SSIM | {written['ssim']:.4f} |" in out
    assert (tmp_path / "eval" / tiny_model.name / "results.png").is_file()
    assert not (tiny_model / "results.png").exists()


def test_cli_refuses_data_without_the_split(tiny_model, tmp_path, capsys):
    """Scoring "the test split" of a folder that has none would score the training pairs."""
    save_faces(tmp_path / "flat", range(2))
    args = ["--model", str(tiny_model), "--data", str(tmp_path / "flat"), "--device", "cpu"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "no 'test' split" in err and "--split all" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
    assert main([*args, "--out", str(tmp_path / "out"), "--split", "all"]) == 0
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["pairs"] == 2
    assert main([*args, "--split", "all", "--baseline"]) == 2
    assert "--baseline needs a train split" in capsys.readouterr().err


def test_cli_names_the_folder_after_the_run_and_keeps_other_models_scores(
    tiny_model, tiny_data, tmp_path, monkeypatch, capsys
):
    import shutil

    monkeypatch.chdir(tmp_path)
    for run in ("first", "second"):
        shutil.copytree(tiny_model, tmp_path / "runs" / run / "model")
        args = ["--model", f"runs/{run}/model", "--data", str(tiny_data), "--device", "cpu"]
        assert main(args) == 0
    assert {p.name for p in (tmp_path / "eval").iterdir()} == {"first", "second"}
    shutil.copytree(tiny_model, tmp_path / "elsewhere" / "first" / "model")
    before = (tmp_path / "eval" / "first" / "metrics.json").read_text()
    args = ["--model", "elsewhere/first/model", "--data", str(tiny_data), "--device", "cpu"]
    assert main(args) == 2
    assert "pass --out" in capsys.readouterr().err
    assert (tmp_path / "eval" / "first" / "metrics.json").read_text() == before


@pytest.mark.parametrize("problem", ["missing model", "empty data"])
def test_cli_reports_bad_input_in_one_line(problem, tiny_model, tiny_data, tmp_path, capsys):
    model, data = tiny_model, tmp_path / "empty"
    data.mkdir()
    if problem == "missing model":
        model, data = tmp_path / "no_such_model", tiny_data
    assert main(["--model", str(model), "--data", str(data), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert ("no_such_model" if problem == "missing model" else "no 'test' split") in err
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_cli_help_names_every_option_and_default(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for option in ("--model", "--data", "--layout", "--split", "--out", "--device", "--baseline"):
        assert option in out
    for default in (
        "default: test",
        "default: auto",
        "default: eval/<model name>",
        "default: best",
    ):
        assert default in out
