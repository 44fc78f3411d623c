"""`python -m pix2pix export`: the ONNX file gives PyTorch's photo, any batch size, and fails in one line."""

import sys

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from pix2pix.__main__ import main
from pix2pix.export import export_onnx
from pix2pix.hints import stack_input
from pix2pix.networks import UNetGenerator
from tests.conftest import small_generator


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(model folder, ONNX file written by the CLI) for a small 256x256 generator."""
    folder = tmp_path_factory.mktemp("export")
    small_generator(ngf=8).save_pretrained(folder / "model")
    path = folder / "out" / "generator.onnx"
    assert (
        main(["export", "--model", str(folder / "model"), "--format", "onnx", "-o", str(path)]) == 0
    )
    return folder / "model", path


def test_file_is_a_valid_onnx_model_with_named_dynamic_batch(exported):
    _, path = exported
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    (sketch,), (photo,) = model.graph.input, model.graph.output
    assert (sketch.name, photo.name) == ("sketch", "photo")
    dims = [
        [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in (sketch, photo)
    ]
    assert dims[0][1:] == [1, 256, 256] and dims[1][1:] == [3, 256, 256]
    assert isinstance(dims[0][0], str) and isinstance(dims[1][0], str)  # a named, free batch size


@pytest.mark.parametrize("batch", [1, 3])
def test_onnxruntime_gives_the_pytorch_photo(exported, batch):
    folder, path = exported
    generator = UNetGenerator.from_pretrained(folder).eval()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    sketches = (
        torch.rand(batch, 1, 256, 256, generator=torch.Generator().manual_seed(batch)) * 2 - 1
    )
    with torch.no_grad():
        expected = generator(sketches).numpy()
    (got,) = session.run(["photo"], {"sketch": sketches.numpy()})
    assert got.shape == (batch, 3, 256, 256)
    assert expected.std() > 0.05  # a flat grey photo would match trivially
    assert np.abs(got - expected).max() < 1e-3


def test_training_generator_exports_the_eval_photo_with_fixed_batch_and_chosen_opset(tmp_path):
    generator = small_generator(ngf=4, num_downs=6).train()  # batch statistics and dropout on
    path = export_onnx(generator, tmp_path / "g.onnx", opset=20, dynamic_batch=False)
    assert not generator.training
    model = onnx.load(path)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [20]
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [1, 1, 64, 64]
    sketch = torch.rand(1, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        expected = generator(sketch).numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(["photo"], {"sketch": sketch.numpy()})
    assert np.abs(got - expected).max() < 1e-3


def test_bad_model_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["export", "--model", str(tmp_path / "nowhere"), "-o", str(tmp_path / "g.onnx")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and "nowhere" in err
    assert not (tmp_path / "g.onnx").exists()


def test_unknown_opset_is_one_line_and_exit_2(exported, tmp_path, capsys):
    folder, _ = exported
    code = main(["export", "--model", str(folder), "--opset", "11", "-o", str(tmp_path / "g.onnx")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "opset 11" in err


def test_missing_onnx_package_says_what_to_install(exported, tmp_path, capsys, monkeypatch):
    folder, _ = exported
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # makes `import onnxscript` fail
    code = main(["export", "--model", str(folder), "-o", str(tmp_path / "g.onnx")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "onnxscript" in err and "pip install onnx onnxscript onnxruntime" in err


def test_help_mentions_format(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--format" in text and "onnx" in text and "--opset" in text


def test_hint_model_exports_five_channels_and_runs_in_onnxruntime(tmp_path, capsys):
    """A hint model's file takes the 5-channel input (sketch, colours times mask, mask) and gives
    PyTorch's photo, with hints and without."""
    folder = tmp_path / "model"
    small_generator(ngf=4, num_downs=6, in_channels=5).save_pretrained(folder)
    path = tmp_path / "hints.onnx"
    assert main(["export", "--model", str(folder), "-o", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(N, 5, 64, 64)" in out and "hint mask" in out
    model = onnx.load(path)
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1:] == [5, 64, 64]

    generator = UNetGenerator.from_pretrained(folder).eval()
    sketch = torch.rand(2, 1, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    mask = torch.zeros(2, 1, 64, 64)
    mask[0, :, 10:30, 10:40] = 1
    colours = torch.tensor([0.6, -0.7, -0.8]).view(1, 3, 1, 1).expand(2, 3, 64, 64)
    inputs = stack_input(sketch, colours, mask)  # the second has no hint
    with torch.no_grad():
        expected = generator(inputs).numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(["photo"], {"sketch": inputs.numpy()})
    assert expected.std() > 0.05
    assert np.abs(got - expected).max() < 1e-3


def test_resize_convolution_generator_exports_its_photo(tmp_path):
    """The resize decoder's nearest upsampling goes through the exporter as ONNX Resize."""
    torch.manual_seed(0)
    generator = UNetGenerator(ngf=4, num_downs=6, upsample="resize").eval()
    path = export_onnx(generator, tmp_path / "resize.onnx")
    assert "Resize" in {node.op_type for node in onnx.load(path).graph.node}
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    sketch = torch.rand(1, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        expected = generator(sketch).numpy()
    (got,) = session.run(["photo"], {"sketch": sketch.numpy()})
    assert expected.std() > 0.01
    assert np.abs(got - expected).max() < 1e-3
