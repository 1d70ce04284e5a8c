"""Benchmark (not a test): the maps' size and how soon each is ready in headless Chromium.

Run with ``make bench-maps`` (``make bench`` runs it too) after ``make all``. For every map the
run writes (``CONFIG``, default ``configs/ontario.toml``) it prints the file's size and the
time from navigation to the map's ready state (``gapmap.ready``, set by ``static/map.js``
when every layer of the first view is drawn), as ``performance.now()`` reads it at that
moment: the median and the slowest of ``--runs`` fresh page loads (default 5), in Debian's
chromium (``/usr/bin/chromium``) at 1366 x 768 with every request outside the file blocked.
The issue's targets: the province map at most 5 MB and ready within 3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

from gapmap.config import load_config
from gapmap.maps import map_files

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def ready_ms(browser: Any, file: Path, *, width: int = 1366, height: int = 768) -> float:
    """Milliseconds from navigation to ``gapmap.ready`` in a fresh context."""
    context = browser.new_context(viewport={"width": width, "height": height})
    url = file.resolve().as_uri()
    context.route("**/*", lambda r: r.continue_() if r.request.url == url else r.abort())
    page = context.new_page()
    page.goto(url, wait_until="commit")
    page.wait_for_function("window.gapmap && window.gapmap.ready === true", timeout=60_000)
    ms = float(page.evaluate("gapmap.readyMs"))
    context.close()
    return ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.environ.get("CONFIG", "configs/ontario.toml"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    config = load_config(args.config)
    print(f"{os.cpu_count()} CPUs; chromium {CHROMIUM}; {args.runs} loads per map")
    print(f"{'map':<22}{'MB':>6}{'ready median (ms)':>20}{'slowest (ms)':>14}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ready_ms(browser, map_files(config)[0][1])  # warm up chromium itself
        t0 = time.perf_counter()
        for _, path in map_files(config):
            if not path.is_file():
                print(f"{path.name:<22} missing: run `make all` first")
                continue
            times = [ready_ms(browser, path) for _ in range(args.runs)]
            print(f"{path.name:<22}{path.stat().st_size / 1e6:>6.2f}"
                  f"{statistics.median(times):>20.0f}{max(times):>14.0f}")
        browser.close()
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
