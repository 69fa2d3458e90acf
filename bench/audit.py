"""Lighthouse scores for four pages of the site: `make audit`. Not a test, not a CI gate.

    .venv/bin/python bench/audit.py [--preset mobile|desktop|both]

Serves the publishing profile on 127.0.0.1 (tests/support/live.py) and runs
Lighthouse on the home page, the map page, a ward page and the dashboard, then
prints the four category scores (performance, accessibility, best practices,
SEO) and the layout shift Lighthouse measured, and writes each report to the
git-ignored bench/out/lighthouse/.

Lighthouse comes from tools/lighthouse/ (package.json and its lockfile pin
12.8.2, the last major version whose engines admit Debian 12's Node 20; Lighthouse
13 needs Node 22). ``make audit`` installs it there with ``npm ci`` (git-ignored
node_modules); it drives Debian's /usr/bin/chromium (``CHROME_PATH``), never a
downloaded browser. Other hosts (the map's OpenStreetMap tiles) do not resolve, as
offline, so every run is alike.

Figures from a server on the same two shared cores as Lighthouse, with its default
simulated throttling (mobile: a mid-range phone on a slow 4G network; desktop:
wired): the performance score moves by a few points from run to run.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
from pathlib import Path

from _common import ROOT, database, out_dir, print_machine, save

from support.browser import CHROMIUM, LAUNCH_ARGS
from support.live import profile_server

LIGHTHOUSE = ROOT / "tools" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
CHROME_FLAGS = ["--headless=new", *LAUNCH_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
RUN_TIMEOUT_SECONDS = 300


def pages(db: Path) -> dict[str, str]:
    """The four pages: home, the map, the dashboard, and the first left-behind ward's page."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        ward = connection.execute(
            "select ward_code from wards where left_behind_2020 = 1 order by ward_code limit 1"
        ).fetchone()[0]
    return {
        "home": "/",
        "map page": "/leftbehind/left_behind_neighbourhoods",
        "ward page": f"/leftbehind/wards/{ward}",
        "dashboard": "/-/dashboards/left-behind",
    }


def lighthouse(url: str, preset: str, report: Path) -> dict:
    """Run Lighthouse on ``url``; its JSON report (also written to ``report``)."""
    if not LIGHTHOUSE.exists():
        raise SystemExit(f"{LIGHTHOUSE} not found: run `make audit` (it runs npm ci in tools/lighthouse)")
    command = [
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={' '.join(CHROME_FLAGS)}",
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
    env = {**os.environ, "CHROME_PATH": str(CHROMIUM)}
    subprocess.run(command, check=True, env=env, timeout=RUN_TIMEOUT_SECONDS)
    return json.loads(report.read_text())


def scores(result: dict) -> dict[str, float | None]:
    figures: dict[str, float | None] = {
        name: (None if result["categories"][name]["score"] is None else round(result["categories"][name]["score"] * 100))
        for name in CATEGORIES
    }
    figures["cls"] = result["audits"]["cumulative-layout-shift"].get("numericValue")
    figures["bytes"] = result["audits"]["total-byte-weight"].get("numericValue")
    return figures


def failed_audits(result: dict) -> list[str]:
    """Audits of the non-performance categories that did not pass, by id."""
    failing = set()
    for name in CATEGORIES[1:]:
        for ref in result["categories"][name]["auditRefs"]:
            audit = result["audits"][ref["id"]]
            if ref.get("weight", 0) > 0 and audit.get("score") is not None and audit["score"] < 1:
                failing.add(ref["id"])
    return sorted(failing)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=["mobile", "desktop", "both"], default="both")
    parser.add_argument("--label", default="", help="a name for this run in bench/out/ (e.g. before)")
    args = parser.parse_args()
    presets = ["mobile", "desktop"] if args.preset == "both" else [args.preset]
    db = database()
    reports = out_dir() / "lighthouse"
    reports.mkdir(parents=True, exist_ok=True)
    print_machine()
    print(f"lighthouse {subprocess.run([str(LIGHTHOUSE), '--version'], capture_output=True, text=True).stdout.strip()}")
    results: dict[str, dict] = {}
    with profile_server(db, out_dir() / "audit-logs") as base:
        for preset in presets:
            for name, path in pages(db).items():
                report = reports / f"{name.replace(' ', '-')}-{preset}{'-' + args.label if args.label else ''}.json"
                result = lighthouse(base + path, preset, report)
                results[f"{name} ({preset})"] = {"path": path, **scores(result), "failed": failed_audits(result)}
    print(f"\n  {'page':24} {'perf':>5} {'a11y':>5} {'best':>5} {'seo':>5} {'CLS':>6} {'bytes':>10}  not passed")
    for name, figures in results.items():
        values = " ".join(f"{'-' if figures[c] is None else figures[c]:>5}" for c in CATEGORIES)
        print(f"  {name:24} {values} {figures['cls']:>6.3f} {figures['bytes']:>10,.0f}  {', '.join(figures['failed'])}")
    save("audit" + (f"-{args.label}" if args.label else ""), {"results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
