"""The Translator: loading, the fast path against plain fp32, variation, threads."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix import Translator
from pix2pix.hints import no_hints
from pix2pix.imaging import to_photo, to_sketch_tensor
from pix2pix.translate import cpu_has_bf16, load_generator
from tests.conftest import face_sketch, small_generator


def to_unit(photo: Image.Image) -> np.ndarray:
    return np.asarray(photo, dtype=np.float32) / 255


RED, BLUE = (200, 40, 30), (40, 80, 170)


@pytest.fixture(scope="module", params=[1, 5], ids=["sketch-model", "hint-model"])
def generator(request):
    """A sketch-only model and a hint model: everything below holds for both."""
    return small_generator(ngf=16, in_channels=request.param)


def test_translate_gives_a_photo_of_the_input_shape(model_dir):
    translator = Translator(model_dir, device="cpu")
    photo = translator.translate(face_sketch())
    assert photo.mode == "RGB" and photo.size == (256, 256)
    wide = translator.translate(np.full((100, 200), 255, np.uint8))
    assert wide.size == (256, 128)  # aspect kept, padding cropped away


def test_fast_path_matches_fp32_eager(generator):
    """The default path (channels_last, bf16 where the CPU has it) stays within 0.02 of fp32 eager."""
    sketches = [face_sketch(shift=s, hair=RED) for s in (-20, 0, 20)]
    reference = Translator(generator, device="cpu", dtype=torch.float32, channels_last=False)
    fast = Translator(generator, device="cpu")
    assert fast.dtype == (torch.bfloat16 if cpu_has_bf16() else torch.float32)
    expected = [to_unit(p) for p in reference.translate_batch(sketches)]
    assert np.mean([e.std() for e in expected]) > 0.05  # a real picture, not flat grey
    for got, want in zip(fast.translate_batch(sketches), expected, strict=True):
        assert np.abs(to_unit(got) - want).mean() < 0.02


@pytest.mark.slow
def test_compiled_path_matches_fp32_eager():
    generator = small_generator(ngf=16, in_channels=5)  # a hint model's input, 5 channels
    reference = Translator(generator, device="cpu", dtype=torch.float32, channels_last=False)
    compiled = Translator(generator, device="cpu", dtype=torch.float32, compile=True)
    sketch = face_sketch(hair=RED)
    diff = np.abs(to_unit(compiled.translate(sketch)) - to_unit(reference.translate(sketch))).mean()
    assert diff < 0.02


def test_batch_equals_one_by_one(generator):
    translator = Translator(generator, device="cpu", dtype=torch.float32)
    sketches = [face_sketch(shift=s, hair=RED) for s in (-10, 10)]
    batch = translator.translate_batch(sketches)
    for sketch, photo in zip(sketches, batch, strict=True):
        assert np.abs(to_unit(translator.translate(sketch)) - to_unit(photo)).max() < 1e-4
    assert translator.translate_batch([]) == []


def test_variation_is_seeded(generator):
    translator = Translator(generator, device="cpu", dtype=torch.float32)
    sketch = face_sketch(hair=RED)
    plain = to_unit(translator.translate(sketch))
    assert np.array_equal(plain, to_unit(translator.translate(sketch)))  # deterministic by default
    one, again, other = (to_unit(translator.translate(sketch, seed=s)) for s in (1, 1, 2))
    assert np.array_equal(one, again)
    assert np.abs(one - other).mean() > 1e-3
    assert np.abs(one - plain).mean() > 1e-3
    assert not any(m.training for m in translator.generator.modules())  # noise switched off again
    state = torch.get_rng_state()
    translator.translate(sketch, seed=5)
    assert torch.equal(state, torch.get_rng_state())  # the caller's random stream is untouched


def test_eight_threads_at_once(generator):
    translator = Translator(generator, device="cpu")
    sketches = [face_sketch(shift=s, hair=RED) for s in range(-16, 16, 4)]
    expected = [to_unit(translator.translate(s)) for s in sketches]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda s: to_unit(translator.translate(s)), sketches * 2))
    for i, got in enumerate(results):
        assert np.array_equal(got, expected[i % len(sketches)])


def test_bad_input_is_a_value_error(generator):
    translator = Translator(generator, device="cpu")
    with pytest.raises(ValueError, match="empty"):
        translator.translate({"background": None, "layers": [], "composite": None})
    with pytest.raises(ValueError):
        translator.translate(None)


def test_no_bundled_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr("pix2pix.translate.DEFAULT_MODEL", tmp_path / "faces")
    with pytest.raises(ValueError, match=r"The bundled model is not at .*pip install -e"):
        load_generator(None)


def test_unknown_device_is_refused(generator):
    with pytest.raises(ValueError, match="Unknown device"):
        Translator(generator, device="tpu")


def test_grey_photo2sketch_models_work(tmp_path):
    """A photo2sketch generator (3 channels in, 1 out) takes colour input and returns a grey image."""
    from pix2pix import UNetGenerator

    UNetGenerator(in_channels=3, out_channels=1, ngf=4, num_downs=6).save_pretrained(tmp_path)
    translator = Translator(tmp_path, device="cpu")
    sketch = translator.translate(Image.new("RGB", (64, 64), (200, 120, 90)))
    assert sketch.mode == "L" and sketch.size == (64, 64)


def test_the_translator_says_whether_its_model_takes_hints():
    assert Translator(small_generator(ngf=4, in_channels=5), device="cpu").hints
    assert not Translator(small_generator(ngf=4), device="cpu").hints


def test_hint_model_black_only_drawing_gives_the_photo_of_the_sketch_alone():
    """Bit for bit: the grey lines with all-zero hint channels, whether the drawing comes as RGB or
    grey."""
    translator = Translator(small_generator(ngf=16, in_channels=5), device="cpu")
    for drawing in (face_sketch(), face_sketch(hair=(0, 0, 0))):
        sketch, placement = to_sketch_tensor(drawing.convert("L"), 256, channels=1)
        expected = np.asarray(to_photo(translator.run(no_hints(sketch))[0], placement))
        for given in (drawing.convert("L"), drawing.convert("RGB")):
            assert np.array_equal(np.asarray(translator.translate(given)), expected)


def test_hint_model_reads_the_colours():
    """Red and blue hair scribbles give different photos, and each differs from the sketch alone
    with its scribble drawn in grey (the colour is what counts, not just a mark)."""
    translator = Translator(small_generator(ngf=16, in_channels=5), device="cpu")
    red, blue = (to_unit(translator.translate(face_sketch(hair=c))) for c in (RED, BLUE))
    as_grey = to_unit(translator.translate(face_sketch(hair=RED).convert("L")))
    assert np.abs(red - blue).mean() > 1e-3
    assert np.abs(red - as_grey).mean() > 1e-3


def test_sketch_model_sees_a_colour_drawing_in_grey():
    """A 1-channel model does as it always did: coloured strokes are grey lines."""
    translator = Translator(small_generator(ngf=16), device="cpu")
    drawing = face_sketch(hair=RED)
    assert np.array_equal(
        np.asarray(translator.translate(drawing)),
        np.asarray(translator.translate(drawing.convert("L"))),
    )


def test_onnxruntime_gives_torchs_photo_and_keeps_the_seeded_ones():
    generator = small_generator(ngf=4, in_channels=5)
    reference = Translator(generator, device="cpu", dtype=torch.float32, channels_last=False)
    fast = Translator(generator, device="cpu", runtime="onnxruntime")
    assert fast.session is not None and reference.session is None
    sketches = no_hints(torch.rand(2, 1, 256, 256) * 2 - 1)
    assert torch.allclose(fast.run(sketches), reference.run(sketches), atol=1e-4)
    # Seeds switch dropout on: that stays torch's, so seeds still give different photos.
    assert torch.equal(fast.run(sketches, seed=3), fast.run(sketches, seed=3))
    assert not torch.allclose(fast.run(sketches, seed=3), fast.run(sketches, seed=4))
    photo = fast.translate(face_sketch())
    assert photo.size == (256, 256) and photo.mode == "RGB"


def test_the_onnx_export_is_made_once_per_weights(monkeypatch):
    import pix2pix.export

    generator = small_generator(ngf=4)
    Translator(generator, device="cpu", runtime="onnxruntime")
    files = set(onnx_cache_files())

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(pix2pix.export, "export_onnx", no_export)
    Translator(generator, device="cpu", runtime="onnxruntime")  # found in the cache
    assert set(onnx_cache_files()) == files
    with torch.no_grad():
        generator.model.model[0].weight.add_(0.1)  # other weights: another file
    with pytest.raises(AssertionError, match="exported again"):
        Translator(generator, device="cpu", runtime="onnxruntime")


def onnx_cache_files() -> list:
    from pix2pix.export import onnx_cache_folder

    return sorted(onnx_cache_folder().glob("*.onnx"))


def test_unknown_runtime_is_refused(generator):
    with pytest.raises(ValueError, match="Unknown runtime 'tensorflow'"):
        Translator(generator, runtime="tensorflow")
