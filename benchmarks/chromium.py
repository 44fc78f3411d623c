"""The browser the project's page checks drive (tests/test_browser.py, benchmarks/app_latency.py):
Debian's Chromium through Playwright, which cannot download its own browser on these machines."""

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
