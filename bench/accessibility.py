"""Accessibility figures: axe-core's violations on every page type, at 1280 and 390 px.

    LEFTBEHIND_SOURCES_DIR=../shared/data .venv/bin/python bench/accessibility.py [--details]

The same pages and states (tests/support/pages.py), browser and axe run (tests/support/axe.py)
as tests/test_accessibility.py, against the publishing profile on 127.0.0.1, map
tiles aborted as offline. Prints the elements in violation by impact for each page
type and width, and the rules behind them; docs/accessibility.md records the figures.
The test fails on any critical or serious violation; this prints every impact.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
from collections import Counter

from _common import database, print_machine, save
from playwright.async_api import async_playwright

from support.axe import IMPACTS, axe_report
from support.browser import PHONE, VIEWPORT, launch_chromium, visit
from support.live import profile_server
from support.pages import page_types, reach_state

WIDTHS = {"1280": VIEWPORT, "390": PHONE}
VIEWPORT_NAMES = {"1280": "desktop", "390": "phone"}  # as support.pages.PageType.widths names them


async def measure(base: str, pages, details: bool) -> dict:
    results: dict[str, dict] = {}
    rules: Counter = Counter()
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            for width, viewport in WIDTHS.items():
                context, opened = await visit(browser, base, viewport)
                for page_type in pages:
                    if VIEWPORT_NAMES[width] not in page_type.widths:
                        continue
                    await opened.open(page_type.path, page_type.status)
                    await opened.settle()
                    await reach_state(opened.page, page_type)
                    await opened.settle()
                    report = await axe_report(opened.page)
                    counts = report.counts()
                    results.setdefault(page_type.name, {})[width] = {
                        "counts": counts,
                        "rules": {f"{rule} ({impact})": n for (rule, impact), n in sorted(report.summary().items())},
                    }
                    rules.update(report.summary())
                    line = " ".join(f"{counts[impact]:>5}" for impact in IMPACTS)
                    print(f"{page_type.name[:38]:<38} {width:>5} {line}", flush=True)
                    if details:
                        for (rule, impact), n in sorted(report.summary().items()):
                            print(f"      {rule} ({impact}): {n}")
                await context.close()
        finally:
            await browser.close()
    totals = {impact: sum(r[w]["counts"][impact] for r in results.values() for w in r) for impact in IMPACTS}
    return {"pages": results, "totals": totals, "rules": {f"{r} ({i})": n for (r, i), n in sorted(rules.items())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--details", action="store_true", help="print each page's rules")
    parser.add_argument("--name", default="accessibility", help="name of the JSON file in bench/out/")
    args = parser.parse_args()
    print_machine()
    db_path = database()
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as data:
        data.row_factory = sqlite3.Row
        pages = page_types(data, db_path)
    print(f"\n{'page type':<38} {'width':>5} " + " ".join(f"{impact[:5]:>5}" for impact in IMPACTS))
    with profile_server(db_path) as base:
        result = asyncio.run(measure(base, pages, args.details))
    print("\nelements in violation, all pages at both widths: "
          + ", ".join(f"{result['totals'][impact]} {impact}" for impact in IMPACTS))
    print("by rule (elements, all pages at both widths):")
    for rule, n in sorted(result["rules"].items(), key=lambda item: -item[1]):
        print(f"  {n:>6}  {rule}")
    print(f"\nsaved {save(args.name, result)}")


if __name__ == "__main__":
    main()
