"""Our metrics must reproduce piq 0.8.0: reference values in shared/metrics/reference_values.json."""

import csv
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter

from train.metrics import fsim, load_for_metrics, psnr, ssim

TOLERANCE = 1e-3
DISTORTIONS = ["sketch", "blur2", "gray", "shift3"]
METRICS = {
    "fsim_chromatic": lambda x, y: fsim(x, y, chromatic=True),
    "fsim_gray": lambda x, y: fsim(x, y, chromatic=False),
    "ssim": ssim,
    "psnr": psnr,
}


@pytest.fixture(scope="module")
def reference(shared_dir: Path) -> list[dict]:
    return json.loads((shared_dir / "metrics" / "reference_values.json").read_text())["pairs"]


@pytest.fixture(scope="module")
def sketch_of(shared_dir: Path) -> dict[str, str]:
    """Photo path -> artist sketch path, both relative to data/ like the reference file."""
    with open(shared_dir / "data" / "cufs" / "pairs.csv", newline="") as f:
        return {f"cufs/{row['photo']}": f"cufs/{row['sketch']}" for row in csv.DictReader(f)}


def distort(data_dir: Path, photo_path: str, kind: str, sketch_of: dict[str, str]) -> Image.Image:
    """Build the distorted image as the reference file's "how" says, at the original size."""
    if kind == "sketch":
        return Image.open(data_dir / sketch_of[photo_path]).convert("L").convert("RGB")
    photo = Image.open(data_dir / photo_path).convert("RGB")
    if kind == "blur2":
        return photo.filter(ImageFilter.GaussianBlur(radius=2))
    if kind == "gray":
        return photo.convert("L").convert("RGB")
    # shift3: an AFFINE transform with offset +3 and white fill. PIL maps output to input
    # coordinates, so the content actually moves 3 px left; only this matches the reference.
    return photo.transform(photo.size, Image.AFFINE, (1, 0, 3, 0, 1, 0), fillcolor="white")


def photos_and_distorted(shared_dir, reference, sketch_of, kind):
    pairs = [p for p in reference if p["distorted"] == kind]
    data_dir = shared_dir / "data"
    photos = torch.cat([load_for_metrics(data_dir / p["reference"]) for p in pairs])
    distorted = torch.cat(
        [load_for_metrics(distort(data_dir, p["reference"], kind, sketch_of)) for p in pairs]
    )
    return pairs, photos, distorted


@pytest.mark.parametrize("kind", DISTORTIONS)
def test_metrics_match_piq_reference_values(shared_dir, reference, sketch_of, kind):
    pairs, photos, distorted = photos_and_distorted(shared_dir, reference, sketch_of, kind)
    assert len(pairs) == 4
    for name, metric in METRICS.items():
        ours = metric(distorted, photos)
        expected = torch.tensor([p[name] for p in pairs])
        assert torch.allclose(ours, expected, rtol=0, atol=TOLERANCE), (name, ours, expected)


@pytest.fixture(scope="module")
def two_pairs(shared_dir, reference, sketch_of):
    """Two different photo / blurred photo pairs, (2, 3, 256, 256) each."""
    _, photos, distorted = photos_and_distorted(shared_dir, reference, sketch_of, "blur2")
    return photos[:2], distorted[:2]


def test_identical_images_score_perfectly(two_pairs):
    photos, _ = two_pairs
    assert torch.allclose(fsim(photos, photos), torch.ones(2), atol=1e-6)
    assert torch.allclose(fsim(photos, photos, chromatic=False), torch.ones(2), atol=1e-6)
    assert torch.allclose(ssim(photos, photos), torch.ones(2), atol=1e-6)
    assert (psnr(photos, photos) > 79).all()  # 80 dB is the ceiling set by the 1e-8 in the MSE


@pytest.mark.parametrize("name", METRICS)
def test_metrics_are_symmetric(two_pairs, name):
    """piq's FSIM, SSIM and PSNR are all symmetric formulas in x and y."""
    photos, distorted = two_pairs
    metric = METRICS[name]
    assert torch.allclose(metric(photos, distorted), metric(distorted, photos), atol=1e-5)


@pytest.mark.parametrize("name", METRICS)
def test_batched_scores_equal_per_image_scores(two_pairs, name):
    photos, distorted = two_pairs
    metric = METRICS[name]
    batched = metric(distorted, photos)
    one_by_one = torch.cat([metric(distorted[i : i + 1], photos[i : i + 1]) for i in range(2)])
    assert batched.shape == (2,)
    assert torch.allclose(batched, one_by_one, atol=1e-5)


@pytest.mark.parametrize("name", ["fsim_chromatic", "fsim_gray", "ssim"])
def test_large_images_are_average_pooled_to_about_256(two_pairs, name):
    """A 512 px nearest-upscaled pair pools back to the 256 px pair, so the scores must agree."""
    photos, distorted = two_pairs
    metric = METRICS[name]
    big_photos = F.interpolate(photos, scale_factor=2, mode="nearest")
    big_distorted = F.interpolate(distorted, scale_factor=2, mode="nearest")
    assert torch.allclose(metric(big_distorted, big_photos), metric(distorted, photos), atol=1e-5)


def test_stronger_blur_scores_lower(shared_dir, reference):
    photo = Image.open(shared_dir / "data" / reference[0]["reference"]).convert("RGB")
    x = load_for_metrics(photo)
    mild = load_for_metrics(photo.filter(ImageFilter.GaussianBlur(radius=1)))
    strong = load_for_metrics(photo.filter(ImageFilter.GaussianBlur(radius=3)))
    for metric in METRICS.values():
        assert metric(mild, x) > metric(strong, x)


def test_psnr_of_constant_offset():
    x = torch.full((1, 3, 16, 16), 0.5)
    y = torch.full((1, 3, 16, 16), 0.6)
    assert psnr(x, y).item() == pytest.approx(20.0, abs=1e-4)  # MSE 0.01 -> 20 dB


def test_load_for_metrics_accepts_paths_and_images(shared_dir, reference):
    path = shared_dir / "data" / reference[0]["reference"]
    from_path = load_for_metrics(path)
    from_image = load_for_metrics(Image.open(path).convert("L"))
    assert from_path.shape == (1, 3, 256, 256)
    assert from_path.dtype == torch.float32
    assert from_path.min() >= 0 and from_path.max() <= 1
    assert torch.equal(load_for_metrics(str(path)), from_path)
    # A grey image comes back as three equal channels.
    assert torch.equal(from_image[:, 0], from_image[:, 1])
    assert torch.equal(from_image[:, 1], from_image[:, 2])


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (torch.rand(3, 32, 32), torch.rand(3, 32, 32), "shape"),
        (torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 31), "same shape"),
        (torch.rand(1, 3, 32, 32) * 255, torch.rand(1, 3, 32, 32), r"\[0, 1\]"),
        (torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32), "shape"),
    ],
)
@pytest.mark.parametrize("name", METRICS)
def test_bad_input_raises_value_error(x, y, message, name):
    with pytest.raises(ValueError, match=message):
        METRICS[name](x, y)
