"""--painted-glasses: glasses painted on photos without them, and drawn on their doodles alike.

The landmarks are mediapipe's face mesh on the project's own drawing (tests/data); the photos are
the painted faces of tests/painted_faces.py, packed by train.pack so that their traits are known.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.painted_faces import LANDMARKS, head_mask, paint
from tests.test_train import tiny
from tests.test_traits_and_pack import bridge_ink
from train.config import TrainConfig
from train.data import PairDataset, find_pairs
from train.doodle import draw_doodle, glasses_frames
from train.glasses import paint_glasses
from train.pack import main as pack_main
from train.regions import REGIONS
from train.split import load_data


def grey(photo: Image.Image) -> np.ndarray:
    return np.asarray(photo.convert("L"), np.float32)


def at(image: np.ndarray, point) -> float:
    return float(image[round(float(point[1])), round(float(point[0]))])


def test_painted_frames_are_dark_on_the_drawn_lines_and_leave_the_rest_of_the_photo():
    photo = paint()
    before = grey(photo)
    worn = {}
    for round_frames in (True, False):
        worn[round_frames] = grey(
            paint_glasses(photo, LANDMARKS, np.random.default_rng(0), round_frames)
        )
        after = worn[round_frames]
        bridge = glasses_frames(LANDMARKS, round_frames)[-1][0].mean(0)
        assert at(before, bridge) - at(after, bridge) > 60
        for temple, _ in glasses_frames(LANDMARKS, round_frames, temples=True)[3:]:
            assert at(before, temple.mean(0)) - at(after, temple.mean(0)) > 60
        for frame, _ in glasses_frames(LANDMARKS, round_frames)[:2]:
            on_frame = [at(before, p) - at(after, p) for p in frame]
            assert np.median(on_frame) > 60
        for untouched in (LANDMARKS[468], LANDMARKS[473], LANDMARKS[13], LANDMARKS[152], (3, 3)):
            assert at(after, untouched) == at(before, untouched)  # clear lenses, mouth, chin, paper
    corner = glasses_frames(LANDMARKS, False)[0][0][0]  # a square frame's corner: only there
    assert at(worn[False], corner) < at(worn[True], corner) - 40


@pytest.fixture(scope="module")
def packed(faces_pairs, tmp_path_factory) -> list:
    """The painted faces, packed: 'plain' wears no glasses, 'specs' does (as train.traits found)."""
    out = tmp_path_factory.mktemp("packed")
    assert pack_main([str(faces_pairs), "-o", str(out)]) == 0
    return find_pairs(out / faces_pairs.name / "train", split=None)


def example(pairs, name: str, **options) -> dict:
    data = PairDataset(pairs, augment=False, seed=0, **options)
    return data[next(i for i, p in enumerate(pairs) if p.photo.stem == name)]


def test_photos_without_glasses_wear_painted_ones_that_their_doodle_draws(packed):
    bridge = glasses_frames(LANDMARKS, True)[-1][0].mean(0)

    def bridge_of(photo) -> float:
        return at(((photo.mean(0).numpy() + 1) * 127.5), bridge)

    def sketch_of(ex) -> Image.Image:
        return Image.fromarray(((ex["sketch"][0].numpy() + 1) * 127.5).astype(np.uint8))

    bare, worn = example(packed, "plain"), example(packed, "plain", painted_glasses=1.0)
    assert bridge_of(bare["photo"]) - bridge_of(worn["photo"]) > 60
    assert bridge_ink(sketch_of(worn)) > 0.05 and bridge_ink(sketch_of(bare)) == 0
    mapped = example(packed, "plain", painted_glasses=1.0, regions=True)["regions"]
    assert (mapped == REGIONS.index("glasses")).sum() > 50  # named glasses where painted
    # a photo that wears its own glasses keeps them: nothing painted over them
    own, again = example(packed, "specs"), example(packed, "specs", painted_glasses=1.0)
    assert np.array_equal(own["photo"].numpy(), again["photo"].numpy())
    # the share: over many examples, about that many photos wear painted glasses
    data = PairDataset(packed, augment=False, seed=0, painted_glasses=0.3)
    plain = next(i for i, p in enumerate(packed) if p.photo.stem == "plain")
    painted = 0
    for epoch in range(40):
        data.set_epoch(epoch)
        painted += bridge_of(data[plain]["photo"]) < bridge_of(bare["photo"]) - 60
    assert 5 <= painted <= 20


def test_a_run_paints_glasses_and_refuses_bad_shares(packed, tmp_path):
    folder = packed[0].photo.parent.parent
    config = tiny(folder, tmp_path / "run", image_size=256, painted_glasses=1.0, holdout=1)
    worn = load_data(config).dataset
    bare = load_data(tiny(folder, tmp_path / "run", image_size=256, holdout=1)).dataset
    plain = next(i for i, p in enumerate(worn.pairs) if p.photo.stem == "plain")
    assert not np.array_equal(worn[plain]["photo"].numpy(), bare[plain]["photo"].numpy())
    with pytest.raises(ValueError, match="painted-glasses is a probability"):
        TrainConfig(data=["x"], out="y", painted_glasses=1.5).check()
    with pytest.raises(ValueError, match="painted_glasses is a probability"):
        PairDataset(packed, painted_glasses=-0.1)


def test_painted_glasses_are_always_drawn_with_the_painted_frames():
    """A doodle of a photo with painted glasses draws them every time, round or square as painted
    (a photo's own glasses are drawn on 90% of its doodles, each shape at random), and their
    temples half the time (the photo always has them)."""
    corner = glasses_frames(LANDMARKS, False)[0][0][0]
    near = (slice(round(corner[1]) - 3, round(corner[1]) + 4),
            slice(round(corner[0]) - 3, round(corner[0]) + 4))  # fmt: skip
    arms = glasses_frames(LANDMARKS, False, temples=True)[3:]
    assert len(arms) == 2 and len(glasses_frames(LANDMARKS, False)) == 3

    def around(point) -> tuple[slice, slice]:
        x, y = round(float(point[0])), round(float(point[1]))
        return slice(y - 2, y + 3), slice(x - 1, x + 2)

    hair = np.zeros((256, 256), bool)
    ink_at_corner = {}
    for round_frames in (True, False):
        traits = {"glasses": True, "beard": False, "hair": hair, "frames": round_frames}
        doodles = [
            draw_doodle(LANDMARKS, head_mask(), np.random.default_rng(seed), traits=traits)
            for seed in range(20)
        ]
        assert all(bridge_ink(doodle) > 0.05 for doodle in doodles)
        ink_at_corner[round_frames] = np.mean([(np.asarray(d)[near] < 160).mean() for d in doodles])
        temples = [
            [(np.asarray(d)[around(line.mean(0))] < 160).any() for line, _ in arms] for d in doodles
        ]
        both, neither = temples.count([True, True]), temples.count([False, False])
        assert both >= 8 and neither >= 3  # (ears and wobbly frames reach there now and then)
    assert ink_at_corner[False] > ink_at_corner[True] + 0.1, ink_at_corner


def test_kept_doodles_keep_their_painted_glasses(packed, tmp_path):
    """--doodle-variants 2: epochs 0 and 2 read the same kept doodle, and its photo wears the same
    painted glasses; the glasses' paint and the doodle come from the variant, not the epoch."""
    data = PairDataset(
        packed,
        augment=False,
        seed=0,
        painted_glasses=1.0,
        doodle_variants=2,
        doodle_cache=tmp_path / "doodles",
    )
    plain = next(i for i, p in enumerate(packed) if p.photo.stem == "plain")
    seen = []
    for epoch in (0, 1, 2):
        data.set_epoch(epoch)
        seen.append(data[plain])
    for key in ("sketch", "photo"):
        assert np.array_equal(seen[0][key].numpy(), seen[2][key].numpy())
    assert (
        bridge_ink(Image.fromarray(((seen[0]["sketch"][0].numpy() + 1) * 127.5).astype(np.uint8)))
        > 0.05
    )
