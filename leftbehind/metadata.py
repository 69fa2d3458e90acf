"""Write the ``tables:`` part of metadata.yml from the table declarations.

metadata.yml stays the one file Datasette reads and people read. Its site-wide parts
(title, home page text, plugins, canned queries) are written by hand; the part between
each database's two marker lines is generated from ``leftbehind/tables.py``, so every
table and column is described exactly as it is declared. postcodes.db (``POSTCODE_TABLES``)
is described the same way in postcodes-metadata.yml, kept apart until the site serves it.

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
POSTCODE_METADATA = METADATA.with_name("postcodes-metadata.yml")
BEGIN = "    # Generated from leftbehind/tables.py by `python -m leftbehind.metadata`: edit there, not here.\n"
END = "    # End of the generated tables.\n"
POSTCODE_BEGIN = (
    "    # Generated from leftbehind/tables.py (POSTCODE_TABLES) by `python -m leftbehind.metadata`: "
    "edit there, not here.\n"
)
POSTCODE_END = "    # End of the generated postcode tables.\n"
# Each file's generated part: its markers and its tables.
GENERATED = {METADATA: (BEGIN, END, TABLES), POSTCODE_METADATA: (POSTCODE_BEGIN, POSTCODE_END, POSTCODE_TABLES)}
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


def with_generated_tables(text: str, path: Path = METADATA) -> str:
    """``text`` (metadata.yml, or postcodes-metadata.yml) with the part between the markers regenerated."""
    begin, end, declared = GENERATED[path]
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ValueError(f"{path.name} must hold each marker line exactly once, in order:\n" + begin + end)
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    return head + begin + tables_yaml(declared) + end + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the tables part of metadata.yml.")
    parser.add_argument("--check", action="store_true", help="only check that metadata.yml is up to date")
    args = parser.parse_args(argv)
    status = 0
    for path in GENERATED:
        current = path.read_text(encoding="utf-8")
        status |= write_or_check(
            path, current, with_generated_tables(current, path), args.check, "run python -m leftbehind.metadata"
        )
    return status

if __name__ == "__main__":
    sys.exit(main())
