"""Postcodes: one or many, answered from postcodes.db, the site's second database.

``postcodes.db`` (built by build_db.py beside leftbehind.db, ``leftbehind/postcodes.py``)
holds every English postcode with the 2017 ward whose outline holds it, the wards it may
also be in near a boundary, its council today, and the wards' flags, so that one postcode
is one indexed read of one database. When the site is served without it, ``available``
is False and Find my ward says that postcodes cannot be looked up on this copy.

What counts as a postcode is decided on the text as Datasette decoded it: spaces anywhere
(and case) do not matter, and the six shapes of UK postcodes (A9 9AA, A99 9AA, A9A 9AA,
AA9 9AA, AA99 9AA, AA9A 9AA) are the only ones looked up.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from leftbehind.site.pages.reading import DATABASE, fetch_rows
from leftbehind.site.pages.words import STATUS_SHORT

POSTCODES = "postcodes"  # the database's name as served (postcodes.db)
MAX_POSTCODES = 1000  # at once, on the many-postcodes page and in its canned query
CANNED_QUERY = "wards_of_postcodes"  # metadata.yml: the same answer as a query, for CSV and JSON
POSTCODE = re.compile(r"^(?:[A-Z][0-9]{1,2}|[A-Z][0-9][A-Z]|[A-Z]{2}[0-9]{1,2}|[A-Z]{2}[0-9][A-Z])[0-9][A-Z]{2}$")
# Text that someone meant as a postcode, even if it is not one: letters and digits only,
# starting with a letter, holding a digit, at most 8 of them. No place name looks like that.
POSTCODE_LIKE = re.compile(r"^[A-Z][A-Z0-9]{1,7}$")
OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")

ANSWER_SQL = """
select p.postcode, p.ward_code, p.also_possible, p.method, p.distance_m, p.lad25_code, p.latitude, p.longitude,
  councils.name as council_today,
  (select json_group_array(json_object(
      'ward_code', w.ward_code, 'ward_name', w.ward_name, 'lad_code', w.lad_code, 'lad_name', w.lad_name,
      'lad24_code', w.lad24_code, 'lad24_name', w.lad24_name, 'in_index', w.in_index,
      'left_behind_2020', w.left_behind_2020, 'left_behind_2019', w.left_behind_2019))
    from (select 0 as position, p.ward_code as code
          union all select 1 + cast(key as integer), value from json_each(p.also_possible)) as listed
    join postcode_wards as w on w.ward_code = listed.code
    order by listed.position) as wards
from postcodes as p left join postcode_councils as councils on councils.lad25_code = p.lad25_code
where p.postcode = :postcode
"""
OUTSIDE_SQL = """
select coalesce(
  (select country from postcodes_outside_england where postcode = :postcode),
  (select country from postcode_districts where outward_code = :outward and country != 'England')
) as country
"""


def available(datasette) -> bool:
    """Whether this copy of the site serves postcodes.db."""
    return POSTCODES in datasette.databases


def compact(text: str) -> str:
    """``text`` without spaces of any kind, in capitals: 'ca14  3xx' -> 'CA143XX'."""
    return "".join(text.split()).upper()


def written(postcode: str) -> str:
    """A compact postcode as usually written, one space before the last three characters."""
    return f"{postcode[:-3]} {postcode[-3:]}"


def is_postcode(text: str) -> bool:
    """Whether ``text`` has the shape of a UK postcode (spaces and case aside)."""
    return bool(POSTCODE.match(compact(text)))


def looks_like_postcode(text: str) -> bool:
    """Whether ``text`` was meant as a postcode: a postcode's shape, or short letters and
    digits with a digit in them (a postcode mistyped, or only its first half)."""
    plain = compact(text)
    return bool(POSTCODE.match(plain)) or (bool(POSTCODE_LIKE.match(plain)) and any(c.isdigit() for c in plain))


def status_of_flags(left_behind_2020: int | None, left_behind_2019: int | None) -> str:
    """'both', 'joined', 'left' or 'none', as ``words.status_of`` names them, from the two flags."""
    if left_behind_2020:
        return "both" if left_behind_2019 else "joined"
    return "left" if left_behind_2019 else "none"


def ward_of(datasette, row: dict[str, Any]) -> dict[str, Any]:
    """A ward of postcodes.db as the page's lists show it, with its codes and both flags.

    The City of London's and the Isles of Scilly's wards are not in the Community Needs
    Index: they have no page and no answer ('unknown')."""
    in_index = bool(row.get("in_index"))
    status = status_of_flags(row.get("left_behind_2020"), row.get("left_behind_2019")) if in_index else "unknown"
    today = row.get("lad24_name")
    return {
        "code": row["ward_code"],
        "name": row["ward_name"],
        "url": datasette.urls.row(DATABASE, "wards", row["ward_code"]) if in_index else None,
        "status": status,
        "answer": STATUS_SHORT.get(status, "Not in the Community Needs Index, so in neither set"),
        "council": row["lad_name"],
        "council_code": row["lad_code"],
        "council_url": datasette.urls.row(DATABASE, "local_authorities", row["lad_code"]) if in_index else None,
        "today": today if today and today != row["lad_name"] else None,
        "left_behind_2020": row.get("left_behind_2020"),
        "left_behind_2019": row.get("left_behind_2019"),
    }


async def postcode_answer(datasette, text: str) -> dict[str, Any]:
    """What one postcode is: its ward, flags, councils and the wards near it; or which nation
    it is in outside England; or that it is not a postcode, or not found.

    ``found`` is 'england', 'outside', 'not found', 'malformed' or 'unavailable' (the site
    serves no postcodes.db)."""
    plain = compact(text)
    answer: dict[str, Any] = {"asked": " ".join(text.split()), "postcode": None, "found": "malformed"}
    if not available(datasette):
        return {**answer, "found": "unavailable"}
    if not POSTCODE.match(plain):
        if OUTWARD.match(plain):
            answer["outward_only"] = plain
        return answer
    postcode = written(plain)
    answer["postcode"] = postcode
    db = datasette.get_database(POSTCODES)
    rows = await fetch_rows(db, ANSWER_SQL, {"postcode": postcode})
    if rows:
        row = rows[0]
        wards = [ward_of(datasette, ward) for ward in json.loads(row["wards"])]
        return {
            **answer,
            "found": "england",
            "ward": wards[0],
            "also_possible": wards[1:],
            "method": row["method"],
            "distance_m": row["distance_m"],
            "council_today": {"code": row["lad25_code"], "name": row["council_today"]},
            "latitude": row["latitude"],
            "longitude": row["longitude"],
        }
    country = (await fetch_rows(db, OUTSIDE_SQL, {"postcode": postcode, "outward": postcode.split()[0]}))[0]["country"]
    if country is None and postcode.startswith("BT"):
        country = "Northern Ireland"  # not in the database: its postcodes are licensed separately
    if country in ("Wales", "Scotland", "Northern Ireland"):
        return {**answer, "found": "outside", "country": country}
    return {**answer, "found": "not found"}


def postcode_list(text: str) -> list[str]:
    """The postcodes of a pasted list: one a line, or separated by commas or semicolons."""
    return [" ".join(item.split()) for item in re.split(r"[,;\n\r]+", text or "") if item.strip()]


async def many_postcodes(datasette, postcodes: list[str]) -> list[dict[str, Any]]:
    """One row for each postcode (at most MAX_POSTCODES; the caller checks), in the order
    given, as the canned query ``wards_of_postcodes`` answers them: the page, its CSV and
    the query are one answer."""
    query = await datasette.get_canned_query(POSTCODES, CANNED_QUERY, None)
    return await fetch_rows(datasette.get_database(POSTCODES), query["sql"], {"postcodes": ",".join(postcodes)})


async def many_postcodes_page(datasette, request) -> dict[str, Any]:
    """What the page "Many postcodes at once" shows: the list as asked, one row each, links
    to the same as CSV and JSON; or why not (``status`` 400 names the parameter)."""
    text = request.args.get("postcodes") or ""
    postcodes = postcode_list(text)
    page: dict[str, Any] = {
        "text": "\n".join(postcodes), "count": len(postcodes), "limit": MAX_POSTCODES, "rows": None,
        "problem": None, "status": 200, "available": available(datasette), "csv_url": None, "json_url": None,
    }
    if not page["available"]:
        page["problem"] = "Postcodes cannot be looked up on this copy of the site: it is served without postcodes.db."
    elif len(postcodes) > MAX_POSTCODES:
        page["status"] = 400
        page["problem"] = (
            f"The list (the parameter postcodes) holds {len(postcodes):,} postcodes: give at most "
            f"{MAX_POSTCODES:,} at once, and split a longer list."
        )
    elif postcodes:
        page["rows"] = await many_postcodes(datasette, postcodes)
        for row in page["rows"]:
            row["ward_url"] = datasette.urls.row(DATABASE, "wards", row["ward_code"]) if row.get("left_behind_2020") is not None else None
        query = urlencode({"postcodes": ",".join(postcodes)})
        page["csv_url"] = datasette.urls.database(POSTCODES) + f"/{CANNED_QUERY}.csv?{query}&_size=max"
        page["json_url"] = datasette.urls.database(POSTCODES) + f"/{CANNED_QUERY}.json?{query}&_shape=objects&_size=max"
    return page
