"""What a person feels: a page whose script fetches 100 resources, through scf-local, nginx and
directly, in Debian's Chromium (Playwright), interleaved.

    SCF_LOCAL_NODE_IMAGE=scf-local-standin/node:22 python bench/page_load.py [rounds]

The same Node.js task as ``proxy_cost.py`` (Fargate route, ``scf-local up`` in its own process,
nginx with an upstream keepalive pool). One browser page per path, kept open; each round, on
each path in turn, the page's script fetches 100 resources from its own origin at once (the
browser spreads them over its six connections per host, as it does on a real page) and reports
how long until the last body was read. Goal: scf-local <= 1.03x nginx (median).
"""

from __future__ import annotations

import asyncio
import statistics
import sys

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, async_playwright
from proxy_cost import three_paths

FETCH_100 = """async () => {
  const started = performance.now();
  const one = (i) => fetch(`/r${i}?t=${Math.random()}`).then((r) => r.text());
  await Promise.all(Array.from({length: 100}, (_, i) => one(i)));
  return performance.now() - started;
}"""


DROPPED: list[str] = []
"""Rounds Chromium dropped ("Failed to fetch"), measured again: a network interface of this
machine changed under them (a container's veth, or its IPv6 address a second later, makes
Chromium drop every request in flight, loopback too)."""


async def fetch_100(page: Page) -> float:
    for attempt in range(3):
        try:
            return float(await page.evaluate(FETCH_100))
        except PlaywrightError as exc:
            if "Failed to fetch" not in str(exc) or attempt == 2:
                raise
            DROPPED.append(page.url)
            await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


async def measure(paths: dict[str, tuple[str, int | None]], rounds: int) -> dict[str, list[float]]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            pages = {}
            for name, (base, _) in paths.items():
                pages[name] = page = await browser.new_page()
                await page.goto(base + "/page")
                await fetch_100(page)  # warm: connections open, code compiled
            times: dict[str, list[float]] = {name: [] for name in paths}
            for _ in range(rounds):
                for name, page in pages.items():
                    times[name].append(await fetch_100(page))
            return times
        finally:
            await browser.close()


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    with three_paths() as paths:
        times = asyncio.run(measure(paths, rounds))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"100 fetches from a page in Chromium (six connections), {rounds} interleaved rounds, median:")
    for name, value in median.items():
        print(f"  {name:10} {value:7.1f} ms  (p90 {sorted(times[name])[int(rounds * 0.9)]:.1f})")
    print(f"scf-local / nginx: {median['scf-local'] / median['nginx']:.3f}x (goal <= 1.03x)")
    if DROPPED:
        print(f"rounds Chromium dropped (a network change) and measured again: {len(DROPPED)}")


if __name__ == "__main__":
    main()
