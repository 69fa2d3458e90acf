"""Row URLs of the site's database, as ``datasette.urls.row`` builds them, with the table's part built once.

A table page links each of its 100 rows' codes and names, and a region's page about 900
wards: ``datasette.urls.row`` finds the database, tilde-encodes its route and the table's
name and wraps the result in a ``PrefixedUrlString`` every time. The part before the row is
the same for every row of a table while the site is served, so it is kept per Datasette
instance; the row's own part is added as ``datasette.urls.row`` adds it (as given: callers
pass it already encoded, or a code that needs no encoding).
"""

from __future__ import annotations

DATABASE = "leftbehind"


def row_url(datasette, table: str, row_path: str) -> str:
    """``datasette.urls.row(DATABASE, table, row_path)``, as a plain string."""
    prefixes = datasette.__dict__.setdefault("_leftbehind_table_urls", {})
    prefix = prefixes.get(table)
    if prefix is None:
        prefix = prefixes[table] = str(datasette.urls.table(DATABASE, table))
    return f"{prefix}/{row_path}"
