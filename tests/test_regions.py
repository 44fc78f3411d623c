"""--lambda-regions: face-region maps, the region discriminator's loss, and training with it.

The landmarks are mediapipe's face mesh on the project's own drawing (tests/data), and the photos
are the painted faces of test_traits_and_pack, whose skin and hair are where the landmarks say.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from pix2pix.losses import region_loss
from pix2pix.networks import RegionDiscriminator
from tests.painted_faces import LANDMARKS, head_mask, paint
from tests.test_train import tiny
from train.config import TrainConfig
from train.data import Pair, PairDataset, find_pairs
from train.loop import l1_loss, part_weights, train
from train.pack import main as pack_main
from train.regions import IGNORE, REGIONS, draw_regions


def bare_traits(hair: np.ndarray) -> dict:
    """Traits of a photo with this hair and neither glasses nor a beard."""
    return {"hair": hair, "glasses": False, "beard": False}


def region_at(regions: Image.Image, point) -> str:
    value = regions.getpixel((round(float(point[0])), round(float(point[1]))))
    return "unknown" if value == IGNORE else REGIONS[value]


def test_the_region_map_names_each_part_of_the_face_where_the_landmarks_put_it():
    person = head_mask()
    hair = person & (np.arange(256)[:, None] < LANDMARKS[10, 1] + 5)  # a cap of hair on the crown
    regions = draw_regions(LANDMARKS, person, 256, traits=bare_traits(hair))
    between = (LANDMARKS[0] + LANDMARKS[13]) / 2  # the upper lip, between its outer and inner edge
    assert region_at(regions, LANDMARKS[468]) == "iris"
    assert region_at(regions, LANDMARKS[473]) == "iris"
    assert region_at(regions, 0.75 * LANDMARKS[33] + 0.25 * LANDMARKS[468]) == "eye white"
    assert region_at(regions, between) == "lips"
    assert region_at(regions, LANDMARKS[105]) == "brow"
    assert region_at(regions, LANDMARKS[50]) == "skin"  # a cheek
    assert region_at(regions, (2, 2)) == "background"
    below_chin = LANDMARKS[152] + (0, 12)
    assert region_at(regions, below_chin) == "person"  # the neck
    crown = (LANDMARKS[10, 0], LANDMARKS[10, 1] - 10)
    assert region_at(regions, crown) == "hair"
    unknown_hair = draw_regions(LANDMARKS, person, 256)  # a train.faces folder: no hair mask
    assert region_at(unknown_hair, below_chin) == "unknown"
    assert region_at(unknown_hair, LANDMARKS[468]) == "iris"
    counts = np.bincount(np.asarray(regions).ravel(), minlength=256)
    worn = {"glasses", "beard"}  # named only from a photo that has them: the next test
    assert all(counts[i] > 0 for i, name in enumerate(REGIONS) if name not in worn)
    assert all(counts[REGIONS.index(name)] == 0 for name in worn)


def test_glasses_and_a_beard_are_named_on_their_dark_pixels_only_when_the_photo_wears_them():
    """paint() puts a dark bar over the bridge and a dark chin; the map names them glasses and
    beard where the traits say they are worn, and leaves the same pixels skin where they do not
    (a dark bar is not glasses on a photo train.traits found none on)."""
    photo = np.asarray(paint(glasses=True, beard=True))
    person = head_mask() | (photo.min(axis=-1) < 250)
    hair = np.zeros_like(person)
    bridge = (LANDMARKS[133] + LANDMARKS[362]) / 2 - (0, 3)
    chin = (LANDMARKS[17] + LANDMARKS[152]) / 2
    cheek = LANDMARKS[50]
    worn = draw_regions(
        LANDMARKS, person, 256, photo, {"hair": hair, "glasses": True, "beard": True}
    )
    assert region_at(worn, bridge) == "glasses"
    assert region_at(worn, chin) == "beard"
    assert region_at(worn, cheek) == "skin"  # the cheeks' own light is not dark
    assert region_at(worn, LANDMARKS[468]) == "iris"  # frames never cover the eye itself
    named = np.asarray(worn)
    glasses_rows = np.nonzero((named == REGIONS.index("glasses")).any(axis=1))[0]
    assert glasses_rows.max() < LANDMARKS[2, 1]  # all of the glasses above the nose's tip
    bare = draw_regions(LANDMARKS, person, 256, photo, bare_traits(hair))
    assert region_at(bare, bridge) == "skin" and region_at(bare, chin) == "skin"
    plain = np.asarray(paint())
    unworn = draw_regions(
        LANDMARKS, person, 256, plain, {"hair": hair, "glasses": True, "beard": True}
    )
    assert not np.isin(np.asarray(unworn), [REGIONS.index("glasses"), REGIONS.index("beard")]).any()


def test_the_region_map_moves_with_the_photo_through_crop_flip_and_paper(
    faces_pairs,
    tmp_path,
):
    """Each photo is replaced by a picture of its own region map (region i painted grey 255 - 25 i,
    so the background is white like the paper):
    wherever augmentation puts the photo, its pixels still say the regions the map says."""
    pack = tmp_path / "pack"
    assert pack_main([str(faces_pairs), "-o", str(pack)]) == 0
    pairs = find_pairs(pack / faces_pairs.name / "train", split=None)
    data = PairDataset(pairs, image_size=128, seed=3, place_prob=0.5, regions=True)
    named = set()
    for pair in set(pairs):
        photo = Image.open(pair.photo).convert("RGB")
        regions = np.asarray(data._face_regions(pair, photo))
        named |= {REGIONS[i] for i in np.unique(regions) if i != IGNORE}
        painted = (255 - regions.astype(np.int32) * 25).clip(0, 255).astype(np.uint8)
        Image.fromarray(painted).convert("RGB").save(pair.photo, format="PNG")
    assert "glasses" in named  # the pack's photo with glasses (its traits reach the map)
    for i in range(len(data)):
        example = data[i]
        regions = example["regions"].numpy()
        said = ((255 - (example["photo"][0].numpy() + 1) * 127.5) / 25).round()
        assert (said == regions).mean() > 0.9  # all but the edges, which resizing blends
        assert (regions == REGIONS.index("iris")).sum() > 4
    plain = Pair(sketch=None, photo=pairs[0].photo)  # not a faces pair: nothing to name
    unnamed = PairDataset([plain], image_size=64, regions=True)[0]["regions"]
    assert unnamed.shape == (64, 64) and bool((unnamed == IGNORE).all())
    assert "regions" not in PairDataset(pairs, image_size=64)[0]  # only when asked for


def test_region_loss_counts_every_region_alike_and_skips_unknown_pixels():
    regions = torch.zeros(1, 10, 10, dtype=torch.long)
    regions[0, :1] = 1  # a small region: 10 pixels of 100
    logits = torch.zeros(1, 3, 10, 10)
    logits[:, 0] = 5.0  # says region 0 everywhere: right on 90 pixels, wrong on 10
    wrong = torch.nn.functional.cross_entropy(logits[:, :, 0, 0], torch.tensor([1])).item()
    # Unweighted, the 10 wrong pixels would count 10%; balanced, region 1 is half the loss.
    right = torch.nn.functional.cross_entropy(logits[:, :, 0, 0], torch.tensor([0])).item()
    assert region_loss(logits, regions).item() == pytest.approx((wrong + right) / 2, rel=1e-5)
    unknown = regions.clone()
    unknown[0, 5:] = IGNORE
    before = region_loss(logits, unknown)
    changed = logits.clone()
    changed[:, :, 5:] = torch.randn(1, 3, 5, 10)
    assert torch.allclose(region_loss(changed, unknown), before)  # unknown pixels are no loss
    fake = torch.zeros(1, 3, 4, 4)
    fake[:, 2] = 6.0  # the last logit: "fake"
    assert region_loss(fake, None).item() < 0.01 < region_loss(-fake, None).item()
    assert region_loss(logits, torch.full_like(regions, IGNORE)).item() == 0


def test_the_region_discriminator_gives_each_pixel_every_region_and_fake():
    scores = RegionDiscriminator(len(REGIONS), ndf=8)(torch.rand(2, 3, 64, 48))
    assert scores.shape == (2, len(REGIONS) + 1, 64, 48)


def tiny_faces(data, out, **changes) -> TrainConfig:
    """test_train's tiny run on faces data, with the region discriminator."""
    settings = dict(epochs=1, save_every=2, sample_every=100, lambda_regions=1.0)
    return tiny(data, out, **{**settings, **changes})


def test_a_run_with_face_regions_trains_both_judges_and_resumes_exactly(
    faces_pairs,
    tmp_path,
):
    """The region discriminator learns beside the PatchGAN, G's loss has its term, and a run
    stopped and resumed ends with the weights of one that was not (R's state is saved too)."""
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    train(tiny_faces(faces_pairs, whole, max_steps=6))
    with open(whole / "losses.csv") as f:
        rows = f.read().splitlines()
    header = rows[0].split(",")
    for row in rows[1:]:
        values = dict(zip(header, row.split(","), strict=True))
        assert float(values["G_REG"]) > 0 and float(values["D_REG"]) > 0
    card = (whole / "model" / "README.md").read_text()
    assert "against a\n70x70 PatchGAN and a face-region (OASIS, x 1) discriminator" in card
    state = torch.load(whole / "state.pt", weights_only=True)
    assert state["regions"] is not None and any(k.startswith("head") for k in state["regions"])
    train(tiny_faces(faces_pairs, parts, max_steps=3))
    train(tiny_faces(faces_pairs, parts, max_steps=6), resume=True)
    ours, theirs = (
        load_file(parts / "model" / "model.safetensors"),
        load_file(whole / "model" / "model.safetensors"),
    )
    assert all(torch.equal(v, theirs[k]) for k, v in ours.items())
    resumed = torch.load(parts / "state.pt", weights_only=True)["regions"]
    assert all(torch.equal(v, state["regions"][k]) for k, v in resumed.items())


def test_face_regions_need_face_data(tmp_path):
    sketches, photos = tmp_path / "pairs" / "sketches", tmp_path / "pairs" / "photos"
    sketches.mkdir(parents=True)
    photos.mkdir()
    for name in ("a", "b", "c"):
        Image.new("L", (40, 40), 255).save(sketches / f"{name}.png")
        Image.new("RGB", (40, 40), "white").save(photos / f"{name}.jpg")
    with pytest.raises(ValueError, match="lambda-regions draws each photo's face regions"):
        train(tiny_faces(tmp_path / "pairs", tmp_path / "run", max_steps=1))
    with pytest.raises(ValueError, match="lambda-regions cannot be negative"):
        tiny_faces(tmp_path, tmp_path / "run", lambda_regions=-1.0).check()
    with pytest.raises(ValueError, match="l1-parts draws each photo's face regions"):
        train(tiny_faces(tmp_path / "pairs", tmp_path / "run", lambda_regions=0, l1_parts=1.0))
    with pytest.raises(ValueError, match="l1-parts cannot be negative"):
        tiny_faces(tmp_path, tmp_path / "run", l1_parts=-1.0).check()


def test_l1_parts_counts_the_small_parts_of_the_face_more(faces_pairs, tmp_path):
    """--l1-parts W: a pixel of an iris (or lips, brow, glasses...) counts 1 + W times in the L1
    loss, skin and unknown pixels once; in a run, the region maps reach the loss."""
    regions = torch.full((1, 2, 2), REGIONS.index("skin"))
    regions[0, 0, 1], regions[0, 1, 0] = REGIONS.index("iris"), IGNORE
    weight = part_weights(regions, 4.0)
    assert weight.shape == (1, 1, 2, 2) and weight.flatten().tolist() == [1, 5, 1, 1]
    photo = torch.zeros(1, 3, 2, 2)
    off_on_iris, off_on_skin = photo.clone(), photo.clone()
    off_on_iris[..., 0, 1], off_on_skin[..., 0, 0] = 1.0, 1.0
    assert l1_loss(off_on_iris, photo, weight=weight).item() == pytest.approx(5 / 4)
    assert l1_loss(off_on_skin, photo, weight=weight).item() == pytest.approx(1 / 4)
    assert l1_loss(off_on_iris, photo).item() == pytest.approx(1 / 4)
    first_l1 = {}
    for extra in (0.0, 10.0):
        run = tmp_path / f"parts{extra:g}"
        train(tiny_faces(faces_pairs, run, lambda_regions=0, l1_parts=extra, max_steps=1))
        header, row = (run / "losses.csv").read_text().splitlines()[:2]
        first_l1[extra] = float(dict(zip(header.split(","), row.split(","), strict=True))["G_L1"])
    # the same first step (same seed): its brows, eyes and lips (a few % of the pixels) count 11 times
    assert first_l1[10.0] > 1.03 * first_l1[0.0]
