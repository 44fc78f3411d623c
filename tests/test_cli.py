"""`python -m pix2pix translate`: folders of good and bad files, errors as one line each."""

import subprocess
import sys

import numpy as np
from PIL import Image

from pix2pix.__main__ import main
from tests.conftest import REPO, face_sketch, small_generator


def make_inputs(folder):
    folder.mkdir()
    Image.new("L", (64, 80), 255).save(folder / "good.png")
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(folder / "clear.png")
    (folder / "sub").mkdir()
    Image.new("RGB", (30, 30), "white").save(folder / "sub" / "nested.jpg")
    (folder / "notes.png").write_text("not an image")
    data = (folder / "good.png").read_bytes()
    (folder / "cut.png").write_bytes(data[: len(data) // 2])
    return folder


def test_folder_with_good_and_bad_files(tmp_path, model_dir):
    inputs = make_inputs(tmp_path / "in")
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pix2pix",
            "translate",
            str(inputs),
            "-o",
            str(out),
            "--model",
            str(model_dir),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    bad_lines = [line for line in result.stderr.splitlines() if line.startswith(str(inputs))]
    assert sorted(line.split(":")[0].rsplit("/", 1)[1] for line in bad_lines) == [
        "cut.png",
        "notes.png",
    ]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "clear.png",
        "good.png",
        "sub/nested.png",
    ]
    assert Image.open(out / "good.png").size == (
        205,
        256,
    )  # 64x80 at the model's 256 on the long side


def translate(inputs, out, model) -> int:
    """`python -m pix2pix translate INPUT -o OUT --model MODEL`, in this process."""
    return main(["translate", str(inputs), "-o", str(out), "--model", str(model)])


def test_all_good_exits_zero(tmp_path, model_dir, capsys):
    Image.new("L", (32, 32), 255).save(tmp_path / "a.png")
    assert translate(tmp_path / "a.png", tmp_path / "out", model_dir) == 0
    assert (tmp_path / "out" / "a.png").is_file()
    assert "wrote 1 photo" in capsys.readouterr().out


def test_missing_input_and_bad_model(tmp_path, model_dir, capsys):
    assert translate(tmp_path / "nope.png", tmp_path, model_dir) == 1
    assert "no such file or folder" in capsys.readouterr().err
    Image.new("L", (32, 32), 255).save(tmp_path / "a.png")
    assert translate(tmp_path / "a.png", tmp_path, tmp_path / "none") == 2
    assert "error: " in capsys.readouterr().err


def test_help_explains_options(capsys):
    for argv in (["--help"], ["translate", "--help"]):
        try:
            main(argv)
        except SystemExit as exit:
            assert exit.code == 0
    text = capsys.readouterr().out
    assert "--model" in text and "--device" in text and "--seed" in text


def test_colour_drawing_gives_hints_to_a_hint_model_only(tmp_path):
    """A colour PNG as it is: a hint model reads the red scribble as a colour hint (its photo is not
    that of the grey drawing), a sketch model reads the whole drawing in grey (the same photo)."""
    drawing = face_sketch(hair=(200, 40, 30))
    drawing.save(tmp_path / "colour.png")
    drawing.convert("L").save(tmp_path / "grey.png")
    photos = {}
    for in_channels in (1, 5):
        model = tmp_path / f"model{in_channels}"
        small_generator(ngf=8, in_channels=in_channels).save_pretrained(model)
        out = tmp_path / f"out{in_channels}"
        assert (
            main(
                [
                    "translate",
                    str(tmp_path / "colour.png"),
                    str(tmp_path / "grey.png"),
                    "-o",
                    str(out),
                    "--model",
                    str(model),
                ]
            )
            == 0
        )
        photos[in_channels] = [
            np.asarray(Image.open(out / name)) for name in ("colour.png", "grey.png")
        ]
    colour, grey = photos[5]
    assert np.abs(colour.astype(int) - grey).mean() > 0.5
    colour, grey = photos[1]
    assert np.array_equal(colour, grey)


def test_inputs_that_share_a_name_never_overwrite_each_other(tmp_path, model_dir, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name, shade in (("a.png", 0), ("a.jpg", 120), ("a-2.png", 240)):
        Image.new("L", (32, 32), shade).save(inputs / name)
    out = tmp_path / "out"
    assert translate(inputs, out, model_dir) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a-2.png", "a-3.png", "a.png"]
    printed = capsys.readouterr().out
    assert "wrote 3 photo(s)" in printed
    assert "a.jpg -> a-3.png" in printed  # a-2.png is the photo of the input a-2.png
    photos = {p.name: Image.open(p).tobytes() for p in out.iterdir()}
    assert len(set(photos.values())) == 3
    assert translate(inputs, out, model_dir) == 0
    assert "replacing 3 that were there" in capsys.readouterr().out


def test_output_that_is_a_file_and_missing_cuda_are_one_line_errors(
    tmp_path, model_dir, capsys, monkeypatch
):
    Image.new("L", (32, 32), 255).save(tmp_path / "a.png")
    (tmp_path / "photo.png").write_bytes(b"keep me")
    assert translate(tmp_path / "a.png", tmp_path / "photo.png", model_dir) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "is a file" in err
    assert (tmp_path / "photo.png").read_bytes() == b"keep me"

    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    args = ["translate", str(tmp_path / "a.png"), "-o", str(tmp_path / "out")]
    assert main([*args, "--model", str(model_dir), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "no cuda device" in err
    assert main([*args, "--model", str(model_dir), "--device", "tpu"]) == 2
    assert "Unknown device" in capsys.readouterr().err
    assert main(["export", "--model", str(model_dir), "-o", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
