"""Write the ``tables:`` part of metadata.yml from the table declarations.

metadata.yml stays the one file Datasette reads and people read. Its site-wide parts
(title, home page text, plugins, canned queries) are written by hand; the part between
each database's two marker lines is generated from ``leftbehind/tables.py``, so every
table and column is described exactly as it is declared: ``leftbehind``'s from ``TABLES``,
``postcodes``'s (postcodes.db, the site's second database) from ``POSTCODE_TABLES``.

    python -m leftbehind.metadata           # rewrite metadata.yml in place
    python -m leftbehind.metadata --check   # exit 1 if metadata.yml is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from leftbehind.generated import write_or_check
from leftbehind.registry import table_metadata
from leftbehind.registry import Table
from leftbehind.tables import POSTCODE_TABLES, TABLES

METADATA = Path(__file__).resolve().parent.parent / "metadata.yml"
BEGIN = "    # Generated from leftbehind/tables.py by `python -m leftbehind.metadata`: edit there, not here.\n"
END = "    # End of the generated tables.\n"
POSTCODE_BEGIN = (
    "    # Generated from leftbehind/tables.py (POSTCODE_TABLES) by `python -m leftbehind.metadata`: "
    "edit there, not here.\n"
)
POSTCODE_END = "    # End of the generated postcode tables.\n"
# The generated parts of metadata.yml, one for each database: its markers and its tables.
GENERATED = ((BEGIN, END, TABLES), (POSTCODE_BEGIN, POSTCODE_END, POSTCODE_TABLES))
INDENT = "    "


class _Dumper(yaml.SafeDumper):
    """Writes long texts, and texts that start with a quote mark, as folded blocks (>-),
    which read as plain wrapped prose instead of quoted and escaped lines."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = ">" if len(text) > 70 or text.startswith(("'", '"')) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)


def tables_yaml(declared: tuple[Table, ...] = TABLES) -> str:
    """The generated ``tables:`` block, indented to sit under ``databases: NAME:``."""
    tables = {table.name: table_metadata(table) for table in declared}
    text = yaml.dump(
        {"tables": tables}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False
    )
    return "".join(INDENT + line if line.strip() else line for line in text.splitlines(keepends=True))


def with_generated_tables(text: str) -> str:
    """``text`` (metadata.yml) with each database's part between its markers regenerated."""
    for begin, end, declared in GENERATED:
        if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
            raise ValueError("metadata.yml must hold each marker line exactly once, in order:\n" + begin + end)
        head, rest = text.split(begin)
        _, tail = rest.split(end)
        text = head + begin + tables_yaml(declared) + end + tail
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the tables part of metadata.yml.")
    parser.add_argument("--check", action="store_true", help="only check that metadata.yml is up to date")
    args = parser.parse_args(argv)
    current = METADATA.read_text(encoding="utf-8")
    return write_or_check(METADATA, current, with_generated_tables(current), args.check, "run python -m leftbehind.metadata")

if __name__ == "__main__":
    sys.exit(main())
