"""Write the counts README.md states from the built database.

README.md marks each count it states, so that no typed number can drift from the data:

    every English ward of the Community Needs Index (<!-- count:wards -->7,433<!-- /count -->)

The marks are HTML comments, invisible where README is rendered. Each name is one query
in ``COUNTS`` (``leftbehind/counts.py``, shared with the site's own pages); the value
between the marks is what the query gives, written with thousands separators.

    python -m leftbehind.readme            # rewrite README.md from leftbehind.db
    python -m leftbehind.readme --check    # exit 1 if README.md states other counts

The home page and About read the same counts from the served database
(leftbehind/site/site_facts.py).
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
from pathlib import Path

from leftbehind.counts import COUNTS
from leftbehind.generated import write_or_check

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DATABASE = ROOT / "leftbehind.db"

MARK = re.compile(r"<!-- count:(?P<name>[a-z0-9_]+) -->(?P<value>.*?)<!-- /count -->")
# A count of wards typed without a mark: a number (not a year) just before "wards" or
# "neighbourhoods", after "of the" or "all", or before "in 2019" / "in 2020". Figures about
# other things (limits, timings, measurements of other sources) are not counts of the data.
UNMARKED = re.compile(
    r"(?<![\w,.>])(?!(?:19|20)\d\d\b)\d{1,3}(?:,\d{3})*(?![\w,.])"
    r"(?= (?:left-behind |flagged )?(?:wards|neighbourhoods)\b)"
    r"|(?<=of the )\d{1,3}(?:,\d{3})*\b"
    r"|(?<=\ball )\d{1,3}(?:,\d{3})*\b"
    r"|\b\d{1,3}(?:,\d{3})*(?= in 20(?:19|20)\b)"
)


def formatted(value: object) -> str:
    """A count as prose writes it: 7,433; text (a list of ranks) as it is."""
    return f"{value:,}" if isinstance(value, int) else str(value)


def counts_from(database: Path) -> dict[str, str]:
    """Every count in ``COUNTS``, read from the built database."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return {name: formatted(connection.execute(sql).fetchone()[0]) for name, sql in COUNTS.items()}
    finally:
        connection.close()


def with_counts(text: str, counts: dict[str, str]) -> str:
    """``text`` with the value inside every count mark replaced by the count it names."""
    unknown = sorted({match["name"] for match in MARK.finditer(text)} - set(counts))
    if unknown:
        raise ValueError(f"README.md marks counts that leftbehind/readme.py does not know: {', '.join(unknown)}")
    return MARK.sub(lambda match: f"<!-- count:{match['name']} -->{counts[match['name']]}<!-- /count -->", text)


def unmarked_counts(text: str) -> list[str]:
    """Lines that type a count of wards without a mark, as ``line N: ...``."""
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        bare = MARK.sub("", line)
        if UNMARKED.search(bare):
            problems.append(f"line {number}: {line.strip()}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the counts README.md states from the built database.")
    parser.add_argument("database", nargs="?", type=Path, default=DATABASE)
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md states other counts")
    args = parser.parse_args(argv)
    if not args.database.exists():
        print(f"{args.database}: no database; build it first (make build)", file=sys.stderr)
        return 2
    text = README.read_text(encoding="utf-8")
    written = with_counts(text, counts_from(args.database))
    problems = unmarked_counts(written)
    if problems:
        print("README.md types counts of wards without a count mark:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    return write_or_check(README, text, written, args.check, "its counts differ from the database: run `make readme`")


if __name__ == "__main__":
    raise SystemExit(main())
