"""axe-core in headless Chromium: what a page breaks of WCAG, by impact.

axe-core comes inside the PyPI package ``axe-playwright-python`` (a test extra); the
script is put into the page through Playwright's own evaluation channel:
nothing is fetched from the network, and the page's Content-Security-Policy does
not apply to it. The tests fail on any violation of impact ``critical`` or
``serious``; ``bench/accessibility.py`` prints the counts of every impact.

Counts are of elements (axe's "nodes"): one rule broken by 400 table cells counts
400, as the issue's first measurement did; the number of rules is given too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from axe_playwright_python.base import AXE_SCRIPT

IMPACTS = ("critical", "serious", "moderate", "minor")
BLOCKING = ("critical", "serious")

# Every rule axe runs by default (WCAG 2.0, 2.1 and 2.2 A and AA, and axe's best
# practices), and WCAG 2.2's target size (2.5.8, AA), which axe 4.12 ships switched off;
# only the violations back.
AXE_OPTIONS = {"resultTypes": ["violations"], "rules": {"target-size": {"enabled": True}}}

@dataclass
class AxeReport:
    """The violations axe found on one page."""

    violations: list[dict[str, Any]] = field(default_factory=list)

    def elements(self, impact: str) -> int:
        return sum(len(v["nodes"]) for v in self.violations if v["impact"] == impact)

    def rules(self, impact: str) -> list[str]:
        return sorted(v["id"] for v in self.violations if v["impact"] == impact)

    def counts(self) -> dict[str, int]:
        """Elements in violation, by impact."""
        return {impact: self.elements(impact) for impact in IMPACTS}

    def blocking(self) -> list[str]:
        """A line for each critical or serious violation: rule, impact, and the first elements."""
        lines = []
        for violation in self.violations:
            if violation["impact"] not in BLOCKING:
                continue
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
            more = len(violation["nodes"]) - len(targets)
            lines.append(
                f"{violation['id']} ({violation['impact']}, {len(violation['nodes'])} elements): "
                f"{violation['help']}: {'; '.join(targets)}{f' and {more} more' if more > 0 else ''}"
            )
        return lines

    def summary(self) -> Counter:
        """(rule, impact) -> elements."""
        return Counter({(v["id"], v["impact"]): len(v["nodes"]) for v in self.violations})


# axe-core's script (572 KB, the package's), put into a page once: the package's Axe().run sends
# and evaluates it again on every run, about 50 ms each time on a quiet machine.
# The runs asked for, one after another (axe runs one at a time), in one trip to the page.
RUN_ALL = """async (runs) => {
  const violations = [];
  for (const [context, options] of runs) {
    violations.push(...(await axe.run(context ?? document, options)).violations);
  }
  return violations;
}"""


async def axe_report(page: Any, contrast_rows: int | None = None) -> AxeReport:
    """Run axe-core on ``page`` as it is now: settle it first (``support.browser.settle``),
    so that axe sees the page finished, its maps drawn and nothing moving.

    With ``contrast_rows``, colour contrast is checked on the first that many rows of each
    table body and every other rule on the whole page. Contrast is axe's one rule whose cost
    grows with the cells (it finds each text's background by hit-testing): 80 % of axe's
    time on the 100-row wards page, 50 s of the sweep with the cores busy. Rows repeat one
    template and their stripes alternate, so the first rows show every cell style there is.
    """
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(AXE_SCRIPT)
    if contrast_rows is None:
        runs = [(None, AXE_OPTIONS)]
    else:
        without_contrast = {**AXE_OPTIONS, "rules": {**AXE_OPTIONS["rules"], "color-contrast": {"enabled": False}}}
        runs = [
            (None, without_contrast),
            ({"exclude": [[f"tbody tr:nth-child(n+{contrast_rows + 1})"]]},
             {"resultTypes": ["violations"], "runOnly": {"type": "rule", "values": ["color-contrast"]}}),
        ]
    return AxeReport(await page.evaluate(RUN_ALL, runs))
