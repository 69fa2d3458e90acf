"""The page types the serving benchmarks measure, and default Datasette's equivalent of each.

Shared by ``bench/serving.py`` (wrk against real servers) and ``bench/page_costs.py``
(in process, with a profile of where each page's time goes), so both measure the same
pages. Each page type has the site's URL and the URL that stock Datasette
(``datasette serve --immutable leftbehind.db``, none of the site's plugins, metadata or
templates) answers with the same content, or the nearest it has:

- the site's pages for a ward, a council and a region against Datasette's row pages of
  the same rows;
- Find my ward's answer against a full-text search of the wards table;
- a canned query against the same SQL sent as ``?sql=``, the Atom feed against its
  query's rows as JSON (stock Datasette has no feeds).

The rows are picked by a query, not typed: the ward most in need, its council and
region.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlencode

import yaml

ROOT = Path(__file__).resolve().parent.parent
SEARCH_WORD = "park"
MAP_QUERY = "_size=max&_labels=on&_extra=count&_extra=next_url&_shape=objects"
CANNED_QUERY = "ward_changes"
FEED_QUERY = "publications_feed"
AD_HOC_SQL = (
    "select region_name, count(*) as wards, sum(left_behind_2020) as left_behind "
    "from wards group by region_name order by left_behind desc"
)


class Page(NamedTuple):
    path: str  # on the site
    default: str  # on stock Datasette
    people: bool  # a people's page (or the wards table or JSON): the 2x target applies
    fast: bool = False  # the one-connection latency target (< 20 ms uncached) applies
    connections: int | None = None  # fewer than the benchmark's, for a page that takes seconds


def canned_sql(name: str) -> str:
    metadata = yaml.safe_load((ROOT / "metadata.yml").read_text(encoding="utf-8"))
    return metadata["databases"]["leftbehind"]["queries"][name]["sql"]


def pages(db: Path) -> dict[str, Page]:
    """name -> Page, in the order of the issue's table."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        ward, council, region = connection.execute(
            "select ward_code, lad_code, region_code from wards order by cni_rank limit 1"
        ).fetchone()
    sql = lambda text, fmt="": f"/leftbehind{fmt}?" + urlencode({"sql": text})  # noqa: E731
    return {
        "home": Page("/", "/", True),
        "database": Page("/leftbehind", "/leftbehind", False),
        "wards table": Page("/leftbehind/wards", "/leftbehind/wards", True),
        "wards table, faceted": Page(
            "/leftbehind/wards?region_name=North+East", "/leftbehind/wards?region_name=North+East", True
        ),
        "wards JSON": Page("/leftbehind/wards.json", "/leftbehind/wards.json", True),
        "ward page": Page(f"/leftbehind/wards/{ward}", f"/leftbehind/wards/{ward}", True, fast=True),
        "council page": Page(f"/leftbehind/local_authorities/{council}", f"/leftbehind/local_authorities/{council}", True),
        "region page": Page(f"/leftbehind/regions/{region}", f"/leftbehind/regions/{region}", True),
        "Find my ward ?q=": Page(
            f"/find-my-ward?q={SEARCH_WORD}", f"/leftbehind/wards?_search={SEARCH_WORD}", True, fast=True
        ),
        "map page": Page("/leftbehind/left_behind_neighbourhoods", "/leftbehind/left_behind_neighbourhoods", False),
        "map JSON": Page(
            f"/leftbehind/left_behind_neighbourhoods.json?{MAP_QUERY}",
            f"/leftbehind/left_behind_neighbourhoods.json?{MAP_QUERY}",
            False,
        ),
        "canned query": Page(f"/leftbehind/{CANNED_QUERY}", sql(canned_sql(CANNED_QUERY)), False),
        # At most 4 at once: the site's lane for visitors' SQL answers a fifth query waiting from one client 429.
        "ad-hoc SQL": Page(sql(AD_HOC_SQL), sql(AD_HOC_SQL), False, connections=4),
        "wards CSV (streamed)": Page(
            "/leftbehind/wards.csv?_stream=on&_size=max", "/leftbehind/wards.csv?_stream=on&_size=max", False,
            connections=2,
        ),
        "Atom feed": Page(f"/leftbehind/{FEED_QUERY}.atom", sql(canned_sql(FEED_QUERY), ".json"), False),
    }


# The cheapest answer both give: a small JSON (under the size worth compressing), no SQL.
FLOOR = Page("/-/settings.json", "/-/settings.json", False)
