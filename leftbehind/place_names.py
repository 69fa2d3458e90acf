"""Names people use for places, leading to the December 2017 wards.

Most residents know their town or neighbourhood, not their ward. The House of Commons
Library names every MSOA (2011) as people know it ("Clacton East", "Grimsby West Marsh",
"Skegness North"; source ``msoa_names``). An MSOA's LSOAs carry its ONS name plus a letter
("Tendring 014A" lies in "Tendring 014"; their names come with the LSOA outlines), and
the ONS best-fit lookup gives each LSOA a 2017 ward: so a neighbourhood leads to the
wards that count its people, the one with most of them first.

``place_search`` then lists every name a search should find (wards, with their councils
then and today; councils of 2017 and of 2024; neighbourhoods) with its search key
(``leftbehind.search_keys``) for a trigram full-text index.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from leftbehind.errors import BuildError
from leftbehind.search_keys import search_key

ENGLAND = "E92000001"


def lsoas_by_msoa_name(lsoa_rows: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """The LSOA codes under each MSOA's ONS name (an LSOA's name less its last letter).

    In England an LSOA's Welsh name (LSOA11NMW) repeats its name, with one exception in
    these files: the four LSOAs named 'Shepway 014E' to '014H' are 'Shepway 015A' to '015D'
    in that field, and the MSOA 'Shepway 015' has no LSOA by name. So where the two names
    differ and the Welsh one names an MSOA that would otherwise have no LSOA, it is used.
    """
    rows = list(lsoa_rows)
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault(row["LSOA11NM"][:-1], []).append(row["LSOA11CD"])
    for row in rows:
        english, welsh = row["LSOA11NM"][:-1], (row["LSOA11NMW"] or "")[:-1]
        if welsh and welsh != english and welsh not in groups:
            groups[english].remove(row["LSOA11CD"])
            groups.setdefault(f"{welsh}\0", []).append(row["LSOA11CD"])  # kept apart until every row is seen
    moved = {name[:-1]: codes for name, codes in groups.items() if name.endswith("\0")}
    groups = {name: codes for name, codes in groups.items() if not name.endswith("\0") and codes}
    return {name: sorted(codes) for name, codes in {**groups, **moved}.items()}


def neighbourhood_links(
    msoa_rows: Iterable[Mapping[str, Any]],
    lsoa_rows: Iterable[Mapping[str, Any]],
    lsoa_wards: Mapping[str, str],
    population: Mapping[str, float],
    label: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of ``neighbourhoods`` and of ``neighbourhood_wards`` for England's MSOAs.

    Every English MSOA must have LSOAs and every LSOA an MSOA: a name that matches nothing
    means the two files disagree, and the build says which.
    """
    lsoas = lsoas_by_msoa_name(lsoa_rows)
    english = [row for row in msoa_rows if row["CTRYCD"] == ENGLAND]
    problems = [f"{label}: MSOA {row['MSOA11CD']} ({row['MSOA11NM']}): no LSOA carries its name"
                for row in english if row["MSOA11NM"] not in lsoas]
    unmatched = sorted(set(lsoas) - {row["MSOA11NM"] for row in english})
    problems += [f"{label}: no MSOA is named {name!r}, the name of LSOAs {', '.join(lsoas[name][:3])}" for name in unmatched]
    if problems:
        raise BuildError("the MSOA names and the LSOA outlines disagree", problems[:20])
    places, links = [], []
    for row in sorted(english, key=lambda row: row["MSOA11CD"]):
        members = lsoas[row["MSOA11NM"]]
        people: dict[str, float] = {}
        counted: dict[str, int] = {}
        for lsoa in members:
            ward = lsoa_wards.get(lsoa)
            if ward is None:
                continue
            people[ward] = people.get(ward, 0.0) + population.get(lsoa, 0.0)
            counted[ward] = counted.get(ward, 0) + 1
        total = sum(people.values())
        order = sorted(people, key=lambda ward: (-people[ward], ward))
        places.append({
            "msoa_code": row["MSOA11CD"],
            "name": row["MSOA11HCLNM"],
            "ons_name": row["MSOA11NM"],
            "lad20_code": row["LAD20CD"],
            "lad20_name": row["LAD20NM"],
            "lsoa_count": len(members),
            "main_ward_code": order[0] if order else None,
        })
        links += [{
            "msoa_code": row["MSOA11CD"],
            "ward_code": ward,
            "lsoas": counted[ward],
            "population": round(people[ward]),
            "population_share": round(people[ward] / total, 4) if total else None,
        } for ward in order]
    return places, sorted(links, key=lambda link: (link["msoa_code"], link["ward_code"]))


def place_search_rows(
    wards: Iterable[Mapping[str, Any]],
    councils_2017: Iterable[Mapping[str, Any]],
    councils_2024: Iterable[Mapping[str, Any]],
    neighbourhoods: Iterable[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Every name a search should find, with what it leads to and its search keys.

    ``name_key`` is the name itself as a key; ``context_key`` the councils it lies in (a
    ward's in 2017 and today, a neighbourhood's), so that "Moss Bay, Allerdale" and
    "Moss Bay Cumberland" both find the ward.
    """
    # A few hundred council names recur in some 22,000 places: each made a key once.
    key = functools.cache(search_key)

    def entry(kind: str, code: str, label: str, name: str, councils: list[str]) -> dict[str, Any]:
        return {
            "kind": kind,
            "code": code,
            "label": label,
            "name_key": key(name),
            "context_key": " ".join(key(council) for council in councils),
        }

    rows = []
    for ward in wards:
        councils = [ward["lad_name"]] + ([ward["lad24_name"]] if ward["lad24_name"] and ward["lad24_name"] != ward["lad_name"] else [])
        rows.append(entry("ward", ward["ward_code"], f"{ward['ward_name']}, {ward['lad_name']}", ward["ward_name"], councils))
    for council in councils_2017:
        rows.append(entry("council 2017", council["lad_code"], council["lad_name"], council["lad_name"], []))
    for council in councils_2024:
        rows.append(entry("council 2024", council["lad24_code"], council["lad24_name"], council["lad24_name"], []))
    for place in neighbourhoods:
        rows.append(entry("neighbourhood", place["msoa_code"], f"{place['name']} ({place['lad20_name']})", place["name"],
                          [place["lad20_name"]]))
    rows.sort(key=lambda row: (row["kind"], row["code"]))
    return [{"id": number, **row} for number, row in enumerate(rows, start=1)]
