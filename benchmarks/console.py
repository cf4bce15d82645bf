"""The console's gallery in headless Chromium: time to interactive with 1,000 and 10,000 outputs, and
the frame rate and long tasks while scrolling it.

    .venv/bin/python benchmarks/console.py [--sizes 1000,10000] [--frames 240]

``pixelmill serve`` runs on a temporary SQLite database. One real image is generated through the
API, then its run row is copied (new ids, older timestamps) until the workspace holds each size:
every copy is a distinct output URL on the server, served from the same blob. Debian's chromium
(``/usr/bin/chromium``), driven by Playwright, signs in through the console's session route and:
- baseline: loads the sign-in page (the same bundle, no data), time until its form is usable;
- gallery: loads /gallery, time until the first thumbnail is decoded and shown (target < 1.5 s);
- scroll: scrolls the grid by 240 px per animation frame for ``--frames`` frames, fetching pages
  of 100 as it goes, and reports frames per second and the longest task (target: none > 50 ms).
Times come from the page's own clock (``performance.now()`` after navigation start). The console
must be built first (``npm ci && npm run build`` in web/).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from benchmarks.run_throughput import Server, bootstrap, start_server
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import select

from pixelmill.db.models import Run
from pixelmill.db.session import Database
from pixelmill.ids import new_id
from pixelmill.services.bootstrap import OperatorCredentials

CHROMIUM = "/usr/bin/chromium"
TARGET_TTI_MS = 1500
TARGET_LONG_TASK_MS = 50

_WATCH_LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
}).observe({ type: "longtask", buffered: true });
"""

_THUMBNAIL_SHOWN = """() => {
  const img = document.querySelector(".thumb img");
  return !!img && img.complete && img.naturalWidth > 0;
}"""

_SCROLL = """async (frames) => {
  const scroller = document.querySelector('[data-testid="gallery-grid"]');
  window.__longTasks = [];
  const stamps = [];
  for (let i = 0; i < frames; i++) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    stamps.push(performance.now());
    scroller.scrollTop += 240;
  }
  return { stamps, longTasks: window.__longTasks, scrolled: scroller.scrollTop };
}"""


def copy_run(database_url: str, run_id: str, copies: int) -> None:
    """``copies`` more completed generations like ``run_id``, each older than the last."""

    async def work() -> None:
        db = Database(database_url)
        try:
            async with db.session() as session:
                original = (await session.execute(select(Run).where(Run.id == run_id))).scalar_one()
                oldest = (await session.execute(select(Run.created_at).order_by(Run.created_at).limit(1))).scalar_one()
                columns = {c.key: getattr(original, c.key) for c in Run.__mapper__.column_attrs}
                for n in range(1, copies + 1):
                    created = oldest - timedelta(seconds=n)
                    session.add(Run(**{**columns, "id": new_id("run"), "created_at": created}))
        finally:
            await db.dispose()

    asyncio.run(work())


def ready_ms(page: Page, condition: str) -> float:
    page.wait_for_function(condition, timeout=60_000)
    return float(page.evaluate("() => performance.now()"))


def measure(page: Page, base_url: str, frames: int) -> dict[str, Any]:
    page.goto(f"{base_url}/sign-in", wait_until="commit")
    baseline = ready_ms(page, "() => document.querySelector('button[type=submit]') !== null")
    page.goto(f"{base_url}/gallery", wait_until="commit")
    tti = ready_ms(page, _THUMBNAIL_SHOWN)
    result: dict[str, Any] = page.evaluate(_SCROLL, frames)
    stamps: list[float] = result["stamps"]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    return {
        "baseline_ms": baseline,
        "tti_ms": tti,
        "fps": 1000 / statistics.mean(gaps),
        "worst_frame_ms": max(gaps),
        "long_tasks": len(result["longTasks"]),
        "longest_task_ms": max(result["longTasks"], default=0.0),
        "scrolled_px": result["scrolled"],
    }


def in_browser(base_url: str, operator: OperatorCredentials, frames: int) -> dict[str, Any]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_init_script(_WATCH_LONG_TASKS)
        credentials = {"email": operator.email, "password": operator.password}
        signed_in = context.request.post(f"{base_url}/v1/auth/session", data=credentials)
        assert signed_in.ok, signed_in.text()
        figures = measure(context.new_page(), base_url, frames)
        browser.close()
    return figures


def main(sizes: list[int], frames: int) -> None:
    with tempfile.TemporaryDirectory(prefix="pixelmill-console-bench-") as tmp:
        data_dir = Path(tmp)
        database_url = f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
        operator = bootstrap(database_url, credits=1000)
        server: Server = start_server(data_dir, database_url)
        try:
            with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {operator.key}"}) as api:
                made = api.post(
                    "/v1/generations",
                    json={"generation_type": "image", "prompt": "a mountain lake at sunset"},
                    headers={"Prefer": "wait=60"},
                    timeout=90,
                )
                made.raise_for_status()
                assert made.json()["status"] == "completed", made.text
                run_id = made.json()["id"]
            held = 1
            print(
                f"{'outputs':>8} {'baseline':>9} {'gallery TTI':>12} {'fps':>6} {'worst frame':>12} "
                f"{'long tasks':>11} {'longest':>8}"
            )
            for size in sizes:
                copy_run(database_url, run_id, size - held)
                held = size
                # A browser per size: Playwright's sync API keeps an event loop running while it
                # lives, where asyncio.run (the copy above) cannot start.
                figures = in_browser(server.url, operator, frames)
                print(
                    f"{size:>8} {figures['baseline_ms']:>7.0f}ms {figures['tti_ms']:>10.0f}ms "
                    f"{figures['fps']:>6.1f} {figures['worst_frame_ms']:>10.1f}ms "
                    f"{figures['long_tasks']:>11} {figures['longest_task_ms']:>6.0f}ms"
                )
        finally:
            server.stop()
    print(f"targets: gallery TTI < {TARGET_TTI_MS} ms; no long task > {TARGET_LONG_TASK_MS} ms while scrolling")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated output counts, ascending")
    parser.add_argument("--frames", type=int, default=240)
    args = parser.parse_args()
    main([int(s) for s in args.sizes.split(",")], args.frames)
