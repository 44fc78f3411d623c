"""The demo in a real headless Chromium: draw with the mouse, upload, pick an example.

Needs /usr/bin/chromium (`apt-get install -y chromium`); run with `pytest -m browser`.
"""

from __future__ import annotations

import base64
import shutil
import threading
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from app import EXAMPLES, Models, build_demo
from benchmarks.chromium import CHROMIUM, CHROMIUM_ARGS, photo_request_hook, sketch_sent
from live import LIVE_URL
from pix2pix import Translator
from pix2pix.hints import PALETTE
from tests.conftest import framer_that_finds
from tests.conftest_app import as_sent, decode

pytest_plugins = ["tests.conftest_app"]  # the app_url, listed_model_dir and serve fixtures

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000
# The canvas script has run and nothing lies over the canvas (Gradio covers it while the page loads).
CANVAS_READY = """() => {
    const canvas = document.querySelector('#sketch .pad[data-ready] canvas');
    if (!canvas) return false;
    const box = canvas.getBoundingClientRect();
    return document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2) === canvas;
}"""

# Strokes in fractions of the canvas: (x0, y0) -> (x1, y1), drawn as straight mouse drags.
STROKES = [
    ((0.30, 0.30), (0.30, 0.70)),
    ((0.70, 0.30), (0.70, 0.70)),
    ((0.35, 0.75), (0.65, 0.75)),
    ((0.40, 0.40), (0.45, 0.42)),
    ((0.55, 0.42), (0.60, 0.40)),
    ((0.50, 0.45), (0.50, 0.60)),
]


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.sent = []  # the sketches the page sent for photos, in order
    page.on("request", lambda request: record_sketch(page, request))
    page.goto(app_url)
    page.wait_for_function(CANVAS_READY)
    yield page
    context.close()


@pytest.fixture(scope="module")
def translator(model_dir) -> Translator:
    return Translator(str(model_dir))


def record_sketch(page, request) -> None:
    """page.sent gets each sketch the page sends: to the live route or on Gradio's queue."""
    sketch = sketch_sent(request)
    if sketch is not None:
        page.sent.append(sketch)


def draw(page, stroke) -> None:
    box = page.locator("#sketch canvas").bounding_box()
    (x0, y0), (x1, y1) = stroke
    page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
    page.mouse.down()
    for t in np.linspace(0, 1, 8)[1:]:
        x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
    page.mouse.up()


def photo_src(page) -> str | None:
    return page.evaluate("document.querySelector('#photo img')?.src ?? null")


def wait_for_new_photo(page, old: str | None) -> np.ndarray:
    """Wait until #photo shows a loaded image other than `old`; its pixels."""
    page.wait_for_function(
        """(old) => {
            const img = document.querySelector('#photo img');
            return img && img.src !== old && img.complete && img.naturalWidth > 0;
        }""",
        arg=old,
    )
    return fetch_photo(page)


def settle(page, quiet_s: float = 0.5) -> np.ndarray:
    """Wait until a photo is shown and neither it nor the sketches sent changed for `quiet_s` (the
    photos of pictures sent while the pen moved come before the release's); its pixels."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    state, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = (photo_src(page), len(page.sent))
        if now != state:
            state, since = now, time.monotonic()
        elif now[0] and time.monotonic() - since >= quiet_s:
            return fetch_photo(page)
        page.wait_for_timeout(50)
    pytest.fail("The photo did not settle.")


def fetch_photo(page) -> np.ndarray:
    """The pixels #photo shows: its <img> holds the photo inline, as a JPEG data URL."""
    return decode(photo_src(page))


def dark_pixels_in_canvas(page) -> int:
    return page.evaluate(
        """() => {
            const c = document.querySelector('#sketch canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let dark = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i] < 128) dark++;
            return dark;
        }"""
    )


def test_each_stroke_brings_a_new_photo_of_the_drawing(page, translator):
    for stroke in STROKES[:3]:
        old = photo_src(page)
        draw(page, stroke)
        photo = wait_for_new_photo(page, old)
        assert photo.shape == (256, 256, 3) and photo.std() > 1  # not blank
    photo = settle(page)
    last = translator.translate(base64.b64decode(page.sent[-1].partition(",")[2]))
    np.testing.assert_array_equal(photo, as_sent(last))


def inked_everywhere(sketch: np.ndarray, strokes) -> bool:
    """Whether the middle of every stroke is dark in `sketch` (a decoded canvas value)."""
    height, width = sketch.shape[:2]
    return all(
        sketch[round((y0 + y1) / 2 * height), round((x0 + x1) / 2 * width)][:3].max() < 128
        for (x0, y0), (x1, y1) in strokes
    )


def test_quick_strokes_are_not_lost(page, translator):
    """Strokes drawn without waiting: a drawing with every stroke in it is sent and its photo shown."""
    for stroke in STROKES:
        draw(page, stroke)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        final = page.sent[-1]
        if inked_everywhere(decode(final), STROKES) and photo_src(page):
            expected = translator.translate(base64.b64decode(final.partition(",")[2]))
            if np.array_equal(fetch_photo(page), as_sent(expected)):
                return
        page.wait_for_timeout(50)
    pytest.fail(f"No photo of the drawing with all {len(STROKES)} strokes ({len(page.sent)} sent).")


def test_undo_redo_clear(page):
    draw(page, STROKES[0])
    wait_for_new_photo(page, None)
    ink = dark_pixels_in_canvas(page)
    page.click("#sketch [data-action=clear]")
    page.wait_for_selector("#photo img", state="detached")  # a blank canvas has no photo
    assert dark_pixels_in_canvas(page) == 0
    page.click("#sketch [data-action=undo]")
    wait_for_new_photo(page, None)
    assert dark_pixels_in_canvas(page) == ink
    page.click("#sketch [data-action=undo]")
    page.wait_for_selector("#photo img", state="detached")
    page.click("#sketch [data-action=redo]")
    wait_for_new_photo(page, None)
    assert dark_pixels_in_canvas(page) == ink


def test_without_the_live_route_the_photos_come_through_gradios_queue(model_dir, serve, browser):
    """As on ZeroGPU (build_demo(live_route=False)): the canvas's `input` event brings the photo."""
    url = serve(build_demo(Models(str(model_dir)), live_route=False))
    page = live_page(browser, url, hooks=False)
    with page.expect_request(lambda request: "/queue/join" in request.url):
        draw(page, STROKES[0])
    wait_for_new_photo(page, None)
    photo = settle(page)  # the release's photo, after those of pictures sent during the stroke
    np.testing.assert_array_equal(
        photo, as_sent(Translator(str(model_dir)).translate(decode(page.sent[-1])))
    )
    page.close()


def test_live_off_waits_for_the_translate_button(page):
    page.uncheck("#sketch .live input")
    draw(page, STROKES[0])
    draw(page, STROKES[1])
    with page.expect_request(lambda request: "/queue/join" in request.url):
        page.click("#translate")
    wait_for_new_photo(page, None)
    assert len(page.sent) == 1  # the strokes sent nothing; the button sent both at once
    assert decode(page.sent[0])[:, :, :3].min() < 128


def upload(page, path) -> None:
    with page.expect_file_chooser() as chooser:
        page.click("#upload")
    chooser.value.set_files(str(path))


def test_an_uploaded_sketch_loads_into_the_canvas(page):
    upload(page, EXAMPLES[0])
    photo = wait_for_new_photo(page, None)
    assert dark_pixels_in_canvas(page) > 1000 and photo.std() > 1
    old = photo_src(page)
    draw(page, STROKES[2])  # drawing goes on over the upload
    wait_for_new_photo(page, old)


def test_a_bad_upload_says_why_and_the_page_keeps_working(page, tmp_path):
    notes = tmp_path / "notes.png"
    notes.write_text("a shopping list, not a drawing")
    upload(page, notes)
    page.get_by_text("'notes.png' is not an image that can be read").wait_for()
    assert "Traceback" not in page.content()
    draw(page, STROKES[0])
    wait_for_new_photo(page, None)


def test_an_example_loads_into_the_canvas(page):
    page.locator("#examples .thumbnail-item").first.click()
    photo = wait_for_new_photo(page, None)
    assert dark_pixels_in_canvas(page) > 1000 and photo.std() > 1
    expected = np.asarray(Image.open(EXAMPLES[0]).convert("L").resize((256, 256)))
    sent = decode(page.sent[-1])[:, :, 0]
    assert np.abs(sent.astype(int) - expected).mean() < 20  # the example, as the canvas drew it


def test_a_model_chosen_in_options_is_used(page, listed_model_dir):
    draw(page, STROKES[0])
    settle(page)
    old = photo_src(page)
    page.get_by_text("Options").click()
    page.click("#model input")
    page.get_by_role("option", name=str(listed_model_dir)).click()
    page.get_by_text("ready in").wait_for()
    assert "Sketch → photo · 256×256" in page.inner_text("#model_info")
    photo = wait_for_new_photo(page, old)  # the drawing is translated again with that model
    sketch = base64.b64decode(page.sent[-1].partition(",")[2])
    np.testing.assert_array_equal(
        photo, as_sent(Translator(str(listed_model_dir)).translate(sketch))
    )


def test_a_full_queue_tells_the_visitor_and_the_drawing_gets_its_photo(
    model_dir, serve, browser, monkeypatch
):
    """With the live route's queue full, a stroke is told the app is busy, the page keeps the
    newest picture, and it gets its photo once the server is free."""
    demo = build_demo(Models(str(model_dir)), queue_size=1)
    url = serve(demo)
    release = threading.Event()
    slow = Translator.translate_batch

    def held(self, images, seed=None):
        release.wait(TIMEOUT_MS / 1000)
        return slow(self, images, seed)

    monkeypatch.setattr(Translator, "translate_batch", held)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.sent = []
    page.on("request", lambda request: record_sketch(page, request))
    page.goto(url)
    page.wait_for_function(CANVAS_READY)
    # two workers held, one more request waiting: the queue of 1 is full
    busy = [threading.Thread(target=live_call, args=(url,)) for _ in range(3)]
    for thread in busy:
        thread.start()
        time.sleep(0.5)
    draw(page, STROKES[0])
    page.get_by_text("The app is busy: your drawing waits for its turn.").wait_for()
    release.set()
    for thread in busy:
        thread.join()
    wait_for_new_photo(page, None)
    photo = settle(page)
    np.testing.assert_array_equal(
        photo, as_sent(Translator(str(model_dir)).translate(decode(page.sent[-1])))
    )
    page.close()


def live_call(url: str) -> None:
    """One photo from the live route, as the page asks for it."""
    sketch = "data:image/png;base64," + base64.b64encode(EXAMPLES[0].read_bytes()).decode()
    httpx.post(url + LIVE_URL, json={"sketch": sketch}, timeout=60)


# Hair scribbled over the top of the head (above STROKES' face), and where the photo shows it.
HAIR = [((0.32, y), (0.68, y)) for y in (0.18, 0.22, 0.26)]
HAIR_BOX = (
    slice(round(0.18 * 256), round(0.26 * 256)),
    slice(round(0.34 * 256), round(0.66 * 256)),
)


def draw_and_wait(page, strokes) -> np.ndarray:
    """Draw `strokes`, waiting for the photo of each at release; the last photo."""
    for stroke in strokes:
        old = photo_src(page)
        draw(page, stroke)
        wait_for_new_photo(page, old)
        photo = settle(page)
    return photo


def hue_and_saturation(pixels: np.ndarray) -> tuple[float, float]:
    """Mean hue (degrees, averaged on the circle, each pixel weighted by its saturation) and mean
    HSV saturation (0-1) of RGB `pixels`."""
    hsv = np.asarray(Image.fromarray(pixels).convert("HSV"), np.float64).reshape(-1, 3)
    angle, saturation = hsv[:, 0] / 255 * 2 * np.pi, hsv[:, 1] / 255
    hue = np.angle(np.sum(saturation * np.exp(1j * angle)), deg=True) % 360
    return hue, saturation.mean()


def sent_pixels(page, wanted) -> np.ndarray:
    """Wait until the page has sent a sketch whose RGB pixels satisfy `wanted`; those pixels."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        sketch = decode(page.sent[-1])[:, :, :3] if page.sent else None
        if sketch is not None and wanted(sketch):
            return sketch
        page.wait_for_timeout(50)
    pytest.fail("The page sent no sketch with the pixels expected.")


def test_the_colour_pen_colours_the_hair(model_dir, serve, browser):
    """With the bundled hint model, hair scribbled with the red swatch comes out red, the picker's
    colour draws a wide opaque stroke and the eraser removes it; the colours are hidden (the pen
    draws black) for a model without hints, model_dir's chosen under Options, and back after."""
    page = live_page(browser, serve(build_demo(Models(None, [str(model_dir)]))), hooks=False)
    colours = page.locator("#sketch .colours")
    assert colours.is_visible()

    black = draw_and_wait(page, STROKES + HAIR)
    page.click("#sketch [data-action=clear]")
    page.wait_for_selector("#photo img", state="detached")
    draw_and_wait(page, STROKES)
    red = PALETTE["red"]
    page.click("#sketch .swatch[title=red]")
    coloured = draw_and_wait(page, HAIR)
    sketch = decode(page.sent[-1])[:, :, :3]
    assert tuple(sketch[round(0.22 * 256), 128]) == red  # the pen's colour, opaque
    # the photo shown is the final drawing's
    np.testing.assert_array_equal(coloured, as_sent(Translator().translate(sketch)))

    pen_hue, _ = hue_and_saturation(np.array([[red]], np.uint8))
    hue, saturation = hue_and_saturation(coloured[HAIR_BOX])
    _, black_saturation = hue_and_saturation(black[HAIR_BOX])
    assert abs((hue - pen_hue + 180) % 360 - 180) < 20, (hue, pen_hue)
    assert saturation > black_saturation + 0.2, (saturation, black_saturation)

    # Any colour from the picker, in a wide opaque stroke; the eraser takes it away again.
    blue = (32, 64, 192)
    page.fill("#sketch .colours input[type=color]", "#" + bytes(blue).hex())
    shirt = ((0.30, 0.92), (0.70, 0.92))
    draw(page, shirt)
    # The stroke across column 128, in the picker's colour exactly, at least 8 px wide at 256.
    sent_pixels(page, lambda sketch: (sketch[:, 128] == blue).all(axis=1).sum() >= 8)
    page.click("#sketch [data-tool=eraser]")
    draw(page, shirt)
    sent_pixels(page, lambda sketch: sketch[round(0.92 * 256), 128].min() == 255)
    page.click("#sketch [data-tool=pen]")

    ink = dark_pixels_in_canvas(page)
    page.get_by_text("Options").click()
    page.click("#model input")
    page.get_by_role("option", name=str(model_dir)).click()
    colours.wait_for(state="hidden")
    assert dark_pixels_in_canvas(page) == ink  # the drawing is kept
    chin = ((0.40, 0.85), (0.60, 0.85))
    draw(page, chin)  # the colour pen, hidden, draws black lines for this model
    line = sent_pixels(page, lambda sketch: sketch[round(0.85 * 256), 128].max() < 128)
    assert np.ptp(line[round(0.85 * 256), 128]) < 10  # neutral: a line, no hint
    page.click("#model input")
    page.get_by_role("option", name="faces (bundled)").click()
    colours.wait_for(state="visible")
    page.close()


# Records in the page, in Date.now() ms: each request the page sends for a photo (to the live
# route, or a /queue/join on Gradio's queue), each new photo shown, and the pen going down and up.
LIVE_HOOKS = (
    photo_request_hook("Date.now()")
    + """
    window.photos = [];
    window.downs = [];
    window.releases = [];
    addEventListener("pointerdown", () => downs.push(Date.now()), true);
    addEventListener("pointerup", () => releases.push(Date.now()), true);
    let shown = null;
    new MutationObserver(() => {
        const src = document.querySelector("#photo img")?.src ?? null;
        if (src && src !== shown) photos.push(Date.now());
        shown = src;
    }).observe(document, { subtree: true, childList: true, attributes: true });
"""
)


def live_page(browser, url: str, hooks: bool = True):
    """A page at `url` with page.sent recording the sketches sent (and LIVE_HOOKS in, unless
    hooks=False), canvas ready."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.sent = []
    page.on("request", lambda request: record_sketch(page, request))
    if hooks:
        page.add_init_script(LIVE_HOOKS)
    page.goto(url)
    page.wait_for_function(CANVAS_READY)
    return page


def draw_slowly(page, steps: int = 40) -> dict[str, float]:
    """One stroke zig-zagging down the canvas, the pen held down all along, 50 ms between moves;
    the stroke's duration, requests sent during it and photos shown during it, from LIVE_HOOKS."""
    box = page.locator("#sketch canvas").bounding_box()
    page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.2 * box["height"])
    page.mouse.down()
    for i in range(1, steps + 1):
        x = 0.2 + 0.6 * (i % 10) / 10
        y = 0.2 + 0.6 * i / steps
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.wait_for_timeout(50)
    page.mouse.up()
    return page.evaluate(
        """() => {
            const down = downs[downs.length - 1], up = releases[releases.length - 1];
            const during = (times) => times.filter((t) => t > down && t < up).length;
            return { seconds: (up - down) / 1000, joins: during(joins), photos: during(photos) };
        }"""
    )


def final_photo_is_shown(page, translator, strokes_end: float = 0.8) -> None:
    """Wait until the last sketch sent holds the whole stroke (its end is inked) and the photo shown
    is that sketch's photo."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        final = decode(page.sent[-1]) if page.sent else None
        end = round(strokes_end * 256)
        if final is not None and final[end - 3 : end + 3, :, :3].min() < 128 and photo_src(page):
            expected = translator.translate(base64.b64decode(page.sent[-1].partition(",")[2]))
            if np.array_equal(fetch_photo(page), as_sent(expected)):
                return
        page.wait_for_timeout(50)
    pytest.fail(f"No photo of the finished stroke ({len(page.sent)} sketches sent).")


def test_the_photo_follows_the_pen_while_it_moves(browser, app_url, translator):
    """During a slow stroke the photo appears and changes before the pen lifts, and the drawing at
    release gets its photo."""
    page = live_page(browser, app_url)
    stroke = draw_slowly(page)
    assert stroke["photos"] >= 2 and stroke["joins"] >= 3, stroke
    final_photo_is_shown(page, translator)
    page.close()


def test_one_request_in_flight_and_the_newest_picture_wins(
    model_dir, serve, browser, translator, monkeypatch
):
    """With a slow server (0.3 s a photo) the page never sends while its previous request is being
    translated, and the last photo is still the finished drawing's."""
    url = serve(build_demo(Models(str(model_dir))))
    runs = []  # (start, end) of each translation the server ran, Date.now()-style ms
    slow = Translator.translate_batch

    def timed(self, images, seed=None):
        if threading.current_thread() is threading.main_thread():  # the test's own check
            return slow(self, images, seed)
        start = time.time() * 1000
        time.sleep(0.3)
        photos = slow(self, images, seed)
        runs.append((start, time.time() * 1000))
        return photos

    monkeypatch.setattr(Translator, "translate_batch", timed)
    page = live_page(browser, url)
    draw_slowly(page)
    final_photo_is_shown(page, translator)
    joins = page.evaluate("joins")
    assert len(runs) >= 4  # live: several photos during the stroke
    overlapping = [j for j in joins for start, end in runs if start < j < end]
    assert not overlapping, f"{len(overlapping)} of {len(joins)} requests sent while one ran"
    page.close()


def test_a_face_drawn_small_in_a_corner_gets_its_photo_there(model_dir, serve, browser, tmp_path):
    """With a model folder's framer the photo of a small face drawn in the upper left is made at
    the trained framing and put back there, on white paper, live as the pen moves."""
    folder = tmp_path / "framed"
    shutil.copytree(model_dir, folder)
    framer_that_finds(np.array([[45.0, 50.0], [75.0, 50.0]])).save(folder)
    page = live_page(browser, serve(build_demo(Models(str(folder)))), hooks=False)
    for (x0, y0), (x1, y1) in STROKES:  # the test's face, drawn at 40% in the upper left
        draw(page, ((0.4 * x0, 0.4 * y0), (0.4 * x1, 0.4 * y1)))
    photo = settle(page)
    expected = Translator(str(folder)).translate(base64.b64decode(page.sent[-1].partition(",")[2]))
    np.testing.assert_array_equal(photo, as_sent(expected))
    assert (photo[150:, 150:] == 255).all()  # far from the drawing: white paper
    assert photo[:110, :110].std() > 5  # the face, where it was drawn
    page.close()


def test_live_fps_limits_the_requests_sent(model_dir, serve, browser):
    """--live-fps 2: at most 2 pictures a second during the stroke; the default sends many more."""
    rates = {}
    for fps in (2, 15):
        page = live_page(browser, serve(build_demo(Models(str(model_dir)), live_fps=fps)))
        stroke = draw_slowly(page)
        assert stroke["joins"] <= fps * stroke["seconds"] + 1, stroke
        rates[fps] = stroke["joins"] / stroke["seconds"]
        page.close()
    assert rates[2] >= 1 and rates[15] >= 2 * rates[2], rates
