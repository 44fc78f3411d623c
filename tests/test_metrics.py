"""Our metrics must reproduce piq 0.8.0: reference values in shared/metrics/reference_values.json."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter

from train.metrics import ciede2000, fsim, load_for_metrics, psnr, srgb_to_lab, ssim

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


# Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes,
# supplementary test data, and mathematical observations", Table 1: L1 a1 b1 L2 a2 b2 dE00.
SHARMA_PAIRS = """
50.0000 2.6772 -79.7751 50.0000 0.0000 -82.7485 2.0425
50.0000 3.1571 -77.2803 50.0000 0.0000 -82.7485 2.8615
50.0000 2.8361 -74.0200 50.0000 0.0000 -82.7485 3.4412
50.0000 -1.3802 -84.2814 50.0000 0.0000 -82.7485 1.0000
50.0000 -1.1848 -84.8006 50.0000 0.0000 -82.7485 1.0000
50.0000 -0.9009 -85.5211 50.0000 0.0000 -82.7485 1.0000
50.0000 0.0000 0.0000 50.0000 -1.0000 2.0000 2.3669
50.0000 -1.0000 2.0000 50.0000 0.0000 0.0000 2.3669
50.0000 2.4900 -0.0010 50.0000 -2.4900 0.0009 7.1792
50.0000 2.4900 -0.0010 50.0000 -2.4900 0.0010 7.1792
50.0000 2.4900 -0.0010 50.0000 -2.4900 0.0011 7.2195
50.0000 2.4900 -0.0010 50.0000 -2.4900 0.0012 7.2195
50.0000 -0.0010 2.4900 50.0000 0.0009 -2.4900 4.8045
50.0000 -0.0010 2.4900 50.0000 0.0010 -2.4900 4.8045
50.0000 -0.0010 2.4900 50.0000 0.0011 -2.4900 4.7461
50.0000 2.5000 0.0000 50.0000 0.0000 -2.5000 4.3065
50.0000 2.5000 0.0000 73.0000 25.0000 -18.0000 27.1492
50.0000 2.5000 0.0000 61.0000 -5.0000 29.0000 22.8977
50.0000 2.5000 0.0000 56.0000 -27.0000 -3.0000 31.9030
50.0000 2.5000 0.0000 58.0000 24.0000 15.0000 19.4535
50.0000 2.5000 0.0000 50.0000 3.1736 0.5854 1.0000
50.0000 2.5000 0.0000 50.0000 3.2972 0.0000 1.0000
50.0000 2.5000 0.0000 50.0000 1.8634 0.5757 1.0000
50.0000 2.5000 0.0000 50.0000 3.2592 0.3350 1.0000
60.2574 -34.0099 36.2677 60.4626 -34.1751 39.4387 1.2644
63.0109 -31.0961 -5.8663 62.8187 -29.7946 -4.0864 1.2630
61.2901 3.7196 -5.3901 61.4292 2.2480 -4.9620 1.8731
35.0831 -44.1164 3.7933 35.0232 -40.0716 1.5901 1.8645
22.7233 20.0904 -46.6940 23.0331 14.9730 -42.5619 2.0373
36.4612 47.8580 18.3852 36.2715 50.5065 21.2231 1.4146
90.8027 -2.0831 1.4410 91.1528 -1.6435 0.0447 1.4441
90.9257 -0.5406 -0.9208 88.6381 -0.8985 -0.7239 1.5381
6.7747 -0.2908 -2.4247 5.8714 -0.0985 -2.2286 0.6377
2.0776 0.0795 -1.1350 0.9033 -0.0636 -0.5514 0.9082
"""


def test_ciede2000_matches_sharma_test_data():
    """All 34 pairs to the table's 4 decimals, both ways round (the formula is symmetric), and as
    one (34, 3) array or element by element."""
    table = np.array([line.split() for line in SHARMA_PAIRS.strip().splitlines()], dtype=float)
    lab1, lab2, expected = table[:, :3], table[:, 3:6], table[:, 6]
    assert np.abs(ciede2000(lab1, lab2) - expected).max() < 1e-4
    assert np.abs(ciede2000(lab2, lab1) - expected).max() < 1e-4
    assert ciede2000(lab1[16], lab2[16]) == pytest.approx(27.1492, abs=1e-4)
    assert np.all(ciede2000(lab1, lab1) == 0)


@pytest.mark.parametrize(
    "rgb, lab",
    [
        ((1.0, 1.0, 1.0), (100.0, 0.0, 0.0)),
        ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
        ((1.0, 0.0, 0.0), (53.24, 80.09, 67.20)),  # sRGB red under D65
        ((0.0, 0.0, 1.0), (32.30, 79.19, -107.86)),
        ((0.5, 0.5, 0.5), (53.39, 0.0, 0.0)),
    ],
)
def test_srgb_to_lab(rgb, lab):
    assert srgb_to_lab(np.array(rgb)) == pytest.approx(lab, abs=0.01)
