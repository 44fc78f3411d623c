"""The browser the project's page checks drive (tests/test_browser.py, benchmarks/app_latency.py):
Debian's Chromium through Playwright, which cannot download its own browser on these machines; and
what they watch the page send."""

import json

from live import LIVE_PATH, LIVE_URL

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# A request that asks for a photo, as the page's fetch sees its URL: the live route (live.py; the
# page names it relative to itself) or a join of Gradio's queue (the Translate button, ZeroGPU).
PHOTO_REQUESTS = (LIVE_URL, "/queue/join")


def photo_request_hook(clock: str) -> str:
    """A script for the page, before its own: window.joins gets the time (`clock`, a JS expression
    such as "Date.now()") at which each request for a photo leaves."""
    return f"""
    window.joins = [];
    const fetch = window.fetch;
    window.fetch = (resource, ...rest) => {{
        const url = String(resource.url ?? resource);
        if ({json.dumps(PHOTO_REQUESTS)}.some((part) => url.includes(part))) joins.push({clock});
        return fetch(resource, ...rest);
    }};
"""


def sketch_sent(request) -> str | None:
    """The sketch a Playwright request of the page carries when it asks for a photo, else None."""
    if request.method != "POST":
        return None
    body = request.post_data_json or {}
    if request.url.endswith(LIVE_PATH):
        sketch = body.get("sketch")
    elif "/queue/join" in request.url:
        sketch = (body.get("data") or [None])[0]
    else:
        return None
    return sketch if isinstance(sketch, str) else None
