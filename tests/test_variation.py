"""Variation: the seed's skin and hair colours, painted as hints where the framed face has them."""

import numpy as np
import torch
from PIL import Image, ImageDraw

from pix2pix import translate as translate_module
from pix2pix.framing import EYE_DISTANCE, EYE_HEIGHT
from pix2pix.hints import no_hints
from pix2pix.translate import Translator
from pix2pix.variation import CHEEKS, HAIR_FROM_SKIN, colours_for, with_variation
from tests.conftest import REPO

SIZE = 256
EYE = EYE_DISTANCE * SIZE
MIDDLE = (SIZE / 2, EYE_HEIGHT * SIZE)


def framed(hair: str) -> torch.Tensor:
    """A hint-model input of a face at the trained framing: bald (an outline), or scribbled hair."""
    image = Image.new("L", (SIZE, SIZE), 255)
    draw = ImageDraw.Draw(image)
    x, y = MIDDLE
    draw.ellipse((x - 1.3 * EYE, y - 1.9 * EYE, x + 1.3 * EYE, y + 1.6 * EYE), outline=0, width=3)
    for dx in (-0.5, 0.5):
        draw.ellipse((x + dx * EYE - 6, y - 4, x + dx * EYE + 6, y + 4), outline=0, width=2)
    if hair == "scribble":
        for k in range(0, 60, 3):
            draw.line((x - 1.2 * EYE, y - 1.8 * EYE + k, x + 1.2 * EYE, y - 1.8 * EYE + k), 0, 2)
    if hair == "fringe":
        for k in range(-30, 31, 3):
            draw.line((x + k, y - 1.8 * EYE, x + k, y - 0.45 * EYE), 0, 2)
    sketch = torch.from_numpy(np.asarray(image, np.float32) / 127.5 - 1)[None]
    return no_hints(sketch)


def hint_at(hinted: torch.Tensor, point: tuple[float, float]) -> tuple[int, int, int] | None:
    x, y = round(point[0]), round(point[1])
    if hinted[4, y, x] == 0:
        return None
    r, g, b = ((hinted[1:4, y, x] + 1) * 127.5).round().int().tolist()
    return r, g, b


def test_each_seed_has_its_own_skin_tone_and_a_hair_colour_apart_from_it():
    colours = [colours_for(seed) for seed in range(40)]
    assert colours_for(7) == colours_for(7)
    assert len({skin for skin, _ in colours}) >= 36  # anywhere along the palette, not 8 tones
    for skin, hair in colours:
        assert np.linalg.norm(np.subtract(hair, skin)) > HAIR_FROM_SKIN
    darkness = sorted(sum(skin) for skin, _ in colours)
    assert darkness[-1] - darkness[0] > 150  # dark and light tones both come up


def test_the_cheeks_get_the_skin_tone_and_drawn_hair_the_hair_colour():
    skin, hair = colours_for(3)
    bald, scribbled = with_variation(framed("bald"), 3), with_variation(framed("scribble"), 3)
    for hinted in (bald, scribbled):
        for dx, dy in CHEEKS:
            found = hint_at(hinted, (MIDDLE[0] + dx * EYE, MIDDLE[1] + dy * EYE))
            assert found is not None and np.abs(np.subtract(found, skin)).max() <= 1
        assert torch.equal(
            hinted[0], framed("bald")[0] if hinted is bald else framed("scribble")[0]
        )
    hair_hinted = scribbled[4] * (
        np.abs(scribbled[1:4] - (torch.tensor(hair) / 127.5 - 1)[:, None, None]).amax(0) < 0.01
    )
    assert hair_hinted.sum() > 50  # a blob of the hair colour on the scribble
    rows = torch.nonzero(hair_hinted)[:, 0].float()
    assert rows.mean() < MIDDLE[1] - 0.9 * EYE  # above the eyes, where the hair was drawn
    bald_hair = bald[4] * (
        np.abs(bald[1:4] - (torch.tensor(hair) / 127.5 - 1)[:, None, None]).amax(0) < 0.01
    )
    assert bald_hair.sum() == 0  # an outline is not hair: no hair grown on a bald head


def test_the_forehead_gets_skin_only_where_nothing_is_drawn():
    forehead = (MIDDLE[0], MIDDLE[1] - 0.6 * EYE)
    assert hint_at(with_variation(framed("bald"), 1), forehead) == colours_for(1)[0]
    assert hint_at(with_variation(framed("fringe"), 1), forehead) is None


def test_a_drawing_with_its_own_hints_keeps_them():
    sketch = framed("bald")
    sketch[1:4, 100:110, 100:110] = 0.5
    sketch[4, 100:110, 100:110] = 1
    assert torch.equal(with_variation(sketch, 1), sketch)
    grey_only = framed("bald")[:1]
    assert torch.equal(with_variation(grey_only, 1), grey_only)  # not a hint model's input


def face_colour(photo: Image.Image) -> np.ndarray:
    """The mean colour of the cheeks and nose of a photo of a face at the trained framing."""
    return np.asarray(photo, np.float32)[135:175, 88:168].reshape(-1, 3).mean(axis=0)


def test_seeds_give_the_bundled_model_clearly_different_people_of_one_drawing(monkeypatch):
    """Dropout alone moved the face's colour by a few levels; the seed's colours move it by tens.
    The unseeded photo stays the deterministic one."""
    translator = Translator(device="cpu", dtype=torch.float32)
    drawing = Image.open(REPO / "examples" / "long_hair.png").resize((SIZE, SIZE))

    def apart() -> float:
        faces = [face_colour(translator.translate(drawing, seed=seed)) for seed in (1, 2, 3, 4)]
        return float(
            np.median([np.linalg.norm(a - b) for i, a in enumerate(faces) for b in faces[i + 1 :]])
        )

    with_colours = apart()
    monkeypatch.setattr(translate_module, "with_variation", lambda sketch, seed: sketch)
    dropout_only = apart()
    assert with_colours > 25 and with_colours > 4 * dropout_only
    plain = translator.translate(drawing)
    assert np.array_equal(np.asarray(plain), np.asarray(translator.translate(drawing)))
