"""Where each December 2017 ward lies today: its May 2024 council and wards.

The CNI wards are WD17 wards in 2017 councils. Councils have since merged and
been renamed, and ward boundaries have been redrawn. ONS publishes no WD17 to
WD24 lookup, so a ward is followed through its population instead:

    WD17 ward -> its best-fit LSOA 2011s (mid-2017 population of each)
              -> LSOA 2021 (ONS LSOA11->LSOA21 lookup: U unchanged, S split,
                 M merged, X irregular)
              -> the 2024 ward and council that LSOA 2021 best-fits into.

Today's region is the region of today's council (``local_authorities_2024``).

How a split LSOA 2011's population is shared: **equally** among the LSOA 2021s
it is listed against. Our sources hold no population for LSOA 2021s to weight
by. The rule only matters where the parts fall in different 2024 wards: 188 of
England's 837 split or irregular LSOA 2011s, holding 0.32% of the people of
the 2020 set (bench/geography_check.py). The shares are an approximation and
are described as one. The same rule covers X (irregular) rows: an LSOA 2011 listed against
one LSOA 2021 gives it all its people, one listed against two gives each half.
A merge (M: several LSOA 2011s into one LSOA 2021) needs nothing special, as
every LSOA 2011 passes its whole population to the one LSOA 2021.

Ties are broken by code: where two councils hold exactly the same population of
a ward, the one with the lower code is the ward's council; rounding remainders
go to the larger remainder, then to the lower code. So the output never
depends on input order.

Every function takes plain rows (dicts keyed by the source's column names) or
mappings and returns plain values; nothing here reads a file.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from leftbehind.errors import BuildError

CHANGE_CODES = ("U", "S", "M", "X")
WARD_COLUMNS_2024 = ("lad24_code", "lad24_name", "lad24_population_share", "wards24_count")
# Shares are stored to four decimal places (0.01 %), in whole units of this.
SHARE_UNITS = 10_000


K = TypeVar("K")


@dataclass(frozen=True, order=True)
class Ward24:
    """A May 2024 electoral ward and the council it belongs to."""

    code: str
    name: str
    lad24_code: str


@dataclass(frozen=True)
class Council24:
    """A May 2024 local authority district and its region."""

    code: str
    name: str
    region_code: str
    region_name: str


@dataclass(frozen=True)
class Link:
    """The part of a WD17 ward in one 2024 ward: whole people, share in 1/10,000ths."""

    ward24: Ward24
    people: int
    share_units: int


@dataclass(frozen=True)
class WardGeography:
    """A WD17 ward's place in 2024: its majority council and its 2024 wards.

    The links' people sum to the ward's rounded population, their share units
    to SHARE_UNITS (a share of exactly 1).
    """

    ward_code: str
    lad24_code: str
    lad24_share_units: int
    links: tuple[Link, ...]


def lsoa21_parts(rows: Iterable[Mapping[str, Any]], label: str = "LSOA11->LSOA21 lookup") -> dict[str, dict[str, float]]:
    """Each LSOA 2011's LSOA 2021s, with the fraction of its people each receives.

    A split (S) or irregular (X) LSOA 2011 shares its people equally among the
    LSOA 2021s it is listed against; unchanged (U) and merged (M) ones give all
    their people to their single LSOA 2021.
    """
    targets: dict[str, list[str]] = {}
    codes: dict[str, str] = {}
    problems = []
    for index, row in enumerate(rows, start=1):
        lsoa11, change, lsoa21 = row["lsoa11_code"], row["change_code"], row["lsoa21_code"]
        known = codes.get(lsoa11)
        if known is None:
            if change not in CHANGE_CODES:
                problems.append(f"{label}: row {index} (LSOA11 {lsoa11}): change_code {change!r} is not one of U, S, M, X")
                continue
            codes[lsoa11], targets[lsoa11] = change, [lsoa21]
            continue
        if change != known:
            problems.append(f"{label}: row {index} (LSOA11 {lsoa11}): change_code {change!r} but an earlier row says {known!r}")
        if lsoa21 in targets[lsoa11]:
            problems.append(f"{label}: row {index} (LSOA11 {lsoa11}): LSOA21 {lsoa21} listed twice")
        targets[lsoa11].append(lsoa21)
    parts: dict[str, dict[str, float]] = {}
    for lsoa11, lsoa21s in targets.items():
        if len(lsoa21s) == 1:  # nearly every LSOA: unchanged or merged
            if codes[lsoa11] == "S":
                problems.append(f"{label}: LSOA11 {lsoa11}: change_code 'S' (split) but only one LSOA21")
            parts[lsoa11] = {lsoa21s[0]: 1.0}
            continue
        if codes[lsoa11] in ("U", "M"):
            problems.append(f"{label}: LSOA11 {lsoa11}: change_code {codes[lsoa11]!r} but {len(lsoa21s)} LSOA21s")
        parts[lsoa11] = dict.fromkeys(sorted(lsoa21s), 1 / len(lsoa21s))
    if problems:
        raise BuildError(f"the {label} is inconsistent", sorted(problems)[:20])
    return parts


def wards24_by_lsoa21(rows: Iterable[Mapping[str, Any]], label: str = "LSOA21->WD24 lookup") -> dict[str, Ward24]:
    """The 2024 ward (and council) each LSOA 2021 best-fits into."""
    wards: dict[str, Ward24] = {}
    seen: dict[str, Ward24] = {}
    problems = []
    for index, row in enumerate(rows, start=1):
        code, name, council = row["ward24_code"], row["ward24_name"], row["ltla24_code"]
        ward = seen.get(code)
        if ward is None:  # one Ward24 per ward, not per LSOA: about 7,000 instead of 35,000
            ward = seen[code] = Ward24(code, name, council)
        elif (ward.name, ward.lad24_code) != (name, council):
            problems.append(f"{label}: row {index}: ward {code} has a second name or council ({name}, {council})")
        if row["lsoa21_code"] in wards:
            problems.append(f"{label}: row {index}: LSOA21 {row['lsoa21_code']} listed twice")
        wards[row["lsoa21_code"]] = ward
    if problems:
        raise BuildError(f"the {label} is inconsistent", problems[:20])
    return wards


def councils24(rows: Iterable[Mapping[str, Any]], label: str = "LAD24->region lookup") -> dict[str, Council24]:
    """The May 2024 councils of England with their regions."""
    councils: dict[str, Council24] = {}
    for index, row in enumerate(rows, start=1):
        code = row["ltla24_code"]
        if code in councils:
            raise BuildError(f"the {label} is inconsistent", [f"{label}: row {index}: council {code} listed twice"])
        councils[code] = Council24(code, row["ltla24_name"], row["region24_code"], row["region24_name"])
    return councils


Share = tuple[str, str, float]  # (LSOA 2011, LSOA 2021, people)


def lsoa21_shares(
    ward_code: str,
    lsoas: Sequence[str],
    population: Mapping[str, float],
    parts: Mapping[str, Mapping[str, float]],
) -> list[Share]:
    """(LSOA 2011, LSOA 2021, people) for every part of one WD17 ward's best-fit LSOA 2011s:
    the (fractional) mid-2017 people each LSOA 2021 receives from the ward, by the rule above.

    The one place a ward's people are followed into 2021 areas: today's wards and councils
    (``ward_geography``) and the ward averages of the 2025 indices (``leftbehind.deprivation``)
    both sum these.
    """
    shares = []
    for lsoa11 in lsoas:
        if lsoa11 not in parts:
            raise BuildError(
                "an LSOA of a ward is missing from the LSOA 2011 to 2021 lookup",
                [f"ward {ward_code}: LSOA11 {lsoa11} has no row in the LSOA11->LSOA21 lookup"],
            )
        people = population[lsoa11]
        shares += [(lsoa11, lsoa21, people * fraction) for lsoa21, fraction in parts[lsoa11].items()]
    return shares


def _people_by_code(
    ward_code: str,
    shares: Sequence[Share],
    wards24: Mapping[str, Ward24],
) -> tuple[dict[str, float], dict[str, Ward24]]:
    """The (fractional) mid-2017 people of one WD17 ward in each 2024 ward, keyed by 2024 ward
    code (hashing a code is far cheaper than a Ward24), and the Ward24 of each code."""
    people: dict[str, float] = {}
    found: dict[str, Ward24] = {}
    for lsoa11, lsoa21, amount in shares:
        ward24 = wards24.get(lsoa21)
        if ward24 is None:
            raise BuildError(
                "an LSOA 2021 is missing from the 2024 ward lookup",
                [f"ward {ward_code}: LSOA21 {lsoa21} (from LSOA11 {lsoa11}) has no row in the LSOA21->WD24 lookup"],
            )
        found[ward24.code] = ward24
        people[ward24.code] = people.get(ward24.code, 0.0) + amount
    return people, found


def largest_remainder(amounts: Mapping[K, float], total: int) -> dict[K, int]:
    """Whole numbers in proportion to ``amounts`` that add up to exactly ``total``.

    Each key gets the floor of its proportional part; the units left over go to
    the largest remainders, ties to the lower key. Used so that a ward's link
    populations add up to its population and its shares to exactly 1.
    When every amount is zero the total is shared equally.
    """
    if total < 0 or not amounts:
        raise ValueError("largest_remainder needs at least one amount and a non-negative total")
    if len(amounts) == 1:  # most wards lie in one 2024 ward: nothing to share
        return {key: total for key in amounts}
    whole = sum(amounts.values())
    if whole > 0:
        exact = {key: amount * total / whole for key, amount in amounts.items()}
    else:
        exact = {key: total / len(amounts) for key in amounts}
    result = {key: math.floor(value) for key, value in exact.items()}
    left = total - sum(result.values())
    by_remainder = sorted(exact, key=lambda key: (-(exact[key] - result[key]), key))
    for key in by_remainder[:left]:
        result[key] += 1
    return result


def majority_key(amounts: Mapping[K, float]) -> K:
    """The key with the largest amount; the lower key on a tie."""
    if len(amounts) == 1:
        return next(iter(amounts))
    return min(amounts, key=lambda key: (-amounts[key], key))


def ward_geography(
    ward_code: str,
    lsoas: Sequence[str],
    population: Mapping[str, float],
    parts: Mapping[str, Mapping[str, float]],
    wards24: Mapping[str, Ward24],
    shares: Sequence[Share] | None = None,
) -> WardGeography | None:
    """One WD17 ward's 2024 council (most people) and its 2024 wards with shares.

    None for a ward with no best-fit LSOA 2011 (12 CNI wards): nothing to follow.
    The whole people per 2024 ward add up to the ward's population as the wards
    table rounds it (the sum over its LSOAs), and the shares to exactly 1.
    ``shares`` are the ward's ``lsoa21_shares`` when already computed.
    """
    if not lsoas:
        return None
    if shares is None:
        shares = lsoa21_shares(ward_code, lsoas, population, parts)
    people, found = _people_by_code(ward_code, shares, wards24)
    if len(people) == 1:  # most wards lie within one 2024 ward: all its people, a share of 1
        (ward24,) = found.values()
        link = Link(ward24, round(sum(map(population.__getitem__, lsoas))), SHARE_UNITS)
        return WardGeography(ward_code, ward24.lad24_code, SHARE_UNITS, (link,))
    whole_people = largest_remainder(people, round(sum(map(population.__getitem__, lsoas))))
    share_units = largest_remainder(people, SHARE_UNITS)
    by_council: dict[str, float] = {}
    council_units: dict[str, int] = {}
    for code, amount in people.items():
        council = found[code].lad24_code
        by_council[council] = by_council.get(council, 0.0) + amount
        council_units[council] = council_units.get(council, 0) + share_units[code]
    lad24 = majority_key(by_council)
    links = tuple(Link(found[code], whole_people[code], share_units[code]) for code in sorted(people))
    return WardGeography(ward_code, lad24, council_units[lad24], links)


def ward_geographies(
    ward_codes: Iterable[str],
    ward_lsoas: Mapping[str, Sequence[str]],
    population: Mapping[str, float],
    parts: Mapping[str, Mapping[str, float]],
    wards24: Mapping[str, Ward24],
    shares: Mapping[str, Sequence[Share]] | None = None,
) -> dict[str, WardGeography | None]:
    """The 2024 geography of every ward, keyed and ordered by ward code (``shares``: each
    ward's ``lsoa21_shares``, when already computed)."""
    shares = shares or {}
    return {
        code: ward_geography(code, ward_lsoas.get(code, ()), population, parts, wards24, shares.get(code))
        for code in sorted(ward_codes)
    }


def council_of(geography: WardGeography, councils: Mapping[str, Council24]) -> Council24:
    council = councils.get(geography.lad24_code)
    if council is None:
        raise BuildError(
            "a 2024 council is missing from the council to region lookup",
            [f"ward {geography.ward_code}: council {geography.lad24_code} has no row in the LAD24->region lookup"],
        )
    return council


def ward_columns_2024(
    geography: WardGeography | None, councils: Mapping[str, Council24], fallback_lad24: str | None = None
) -> dict[str, Any]:
    """The wards table's 2024 columns for one ward.

    A ward with no best-fit LSOA has no people to follow: its share and
    wards24_count stay null, and its council is ``fallback_lad24`` (from
    ``lad24_without_lsoas``) or null.

    No region column: the 2024 region differs from the 2017 one for a single
    CNI ward, through one LSOA 2021 that the best-fit lookup puts in a ward
    across a regional boundary (see the report of issue 13), and today's
    region is one join away in ``local_authorities_2024``.
    """
    if geography is None:
        council = councils.get(fallback_lad24) if fallback_lad24 else None
        return {
            "lad24_code": council.code if council else None,
            "lad24_name": council.name if council else None,
            "lad24_population_share": None,
            "wards24_count": None,
        }
    council = council_of(geography, councils)
    return {
        "lad24_code": council.code,
        "lad24_name": council.name,
        "lad24_population_share": geography.lad24_share_units / SHARE_UNITS,
        "wards24_count": len(geography.links),
    }


def ward_link_rows(geographies: Mapping[str, WardGeography | None]) -> list[dict[str, Any]]:
    """Rows of ``ward_links_2024``: each ward's part in each 2024 ward it overlaps.

    Ordered by ward code, then largest share first, then 2024 ward code.
    """
    rows = []
    for code in sorted(geographies):
        geography = geographies[code]
        if geography is None:
            continue
        for link in sorted(geography.links, key=lambda link: (-link.share_units, link.ward24.code)):
            rows.append(
                {
                    "ward_code": code,
                    "ward24_code": link.ward24.code,
                    "ward24_name": link.ward24.name,
                    "lad24_code": link.ward24.lad24_code,
                    "population": link.people,
                    "population_share": link.share_units / SHARE_UNITS,
                }
            )
    return rows


def check_link_councils_known(
    geographies: Mapping[str, WardGeography | None], councils: Mapping[str, Council24]
) -> None:
    """Every 2024 council a ward reaches must be in the council to region lookup."""
    problems = sorted(
        {
            f"ward {code}: 2024 ward {link.ward24.code} is in council {link.ward24.lad24_code}, "
            "which has no row in the LAD24->region lookup"
            for code, geography in geographies.items()
            if geography is not None
            for link in geography.links
            if link.ward24.lad24_code not in councils
        }
    )
    if problems:
        raise BuildError("a 2024 council is missing from the council to region lookup", problems[:20])


def successors_2024(
    wards: Iterable[Mapping[str, Any]], geographies: Mapping[str, WardGeography | None]
) -> dict[str, str]:
    """Each 2017 council's 2024 successor: the 2024 council holding most of its people.

    ``wards`` are rows with ``ward_code`` and ``lad_code`` (the 2017 council).
    People are summed over the ward links, so a 2017 council that lost a
    corner to a neighbour still has the council holding the rest as successor.
    """
    people: dict[str, dict[str, float]] = {}
    for ward in wards:
        geography = geographies.get(ward["ward_code"])
        if geography is None:
            continue
        by_council = people.setdefault(ward["lad_code"], {})
        for link in geography.links:
            by_council[link.ward24.lad24_code] = by_council.get(link.ward24.lad24_code, 0) + link.people
    return {lad17: majority_key(by_council) for lad17, by_council in sorted(people.items())}


def local_authority_2017_columns(
    wards: Iterable[Mapping[str, Any]],
    geographies: Mapping[str, WardGeography | None],
    councils: Mapping[str, Council24],
) -> dict[str, dict[str, Any]]:
    """New columns for the 2017 ``local_authorities`` table: what each council is today.

    ``lad24_code``/``lad24_name``: its successor (the 2024 council holding most
    of its people); ``name_in_use_2024``: 0 when no 2024 council has its name
    (Allerdale, Shepway, ...), so pages can say it no longer exists under it.
    """
    wards = list(wards)
    names_2024 = {council.name for council in councils.values()}
    lad17_names = {ward["lad_code"]: ward["lad_name"] for ward in wards}
    return {
        lad17: {
            "lad24_code": lad24,
            "lad24_name": councils[lad24].name if lad24 in councils else None,
            "name_in_use_2024": int(lad17_names[lad17] in names_2024),
        }
        for lad17, lad24 in successors_2024(wards, geographies).items()
    }


def lad24_without_lsoas(
    wards: Iterable[Mapping[str, Any]], geographies: Mapping[str, WardGeography | None]
) -> dict[str, str]:
    """A 2024 council for each ward with no best-fit LSOA, where one can be said.

    Such a ward has no people to follow, but when every other ward of its 2017
    council lies (by most people) in one and the same 2024 council, the ward
    lies there too unless a boundary moved exactly around it. Wards of a 2017
    council split between 2024 councils get none.
    """
    wards = list(wards)
    councils_of_lad17: dict[str, set[str]] = {}
    for ward in wards:
        geography = geographies.get(ward["ward_code"])
        if geography is not None:
            councils_of_lad17.setdefault(ward["lad_code"], set()).add(geography.lad24_code)
    result = {}
    for ward in sorted(wards, key=lambda ward: ward["ward_code"]):
        candidates = councils_of_lad17.get(ward["lad_code"], set())
        if geographies.get(ward["ward_code"]) is None and len(candidates) == 1:
            result[ward["ward_code"]] = next(iter(candidates))
    return result


def local_authority_2024_rows(
    wards: Iterable[Mapping[str, Any]],
    geographies: Mapping[str, WardGeography | None],
    councils: Mapping[str, Council24],
    fallback: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Rows of ``local_authorities_2024``: today's councils with counts for their pages.

    ``wards`` are rows with ward_code, lad_code, lad_name (2017), left_behind_2020
    and left_behind_2019 (0/1). A ward counts in the council holding most of its
    people (a ward without LSOAs: in its ``fallback`` council, if it has one).
    ``left_behind_2020_population`` instead adds the people of 2020-set wards
    who live in the council, wherever the rest of their ward lies.
    ``councils_2017`` names the 2017 councils whose successor it is, and
    ``name_new_since_2017`` is 1 when no 2017 council had its name (merged or
    renamed), null for a council with no CNI ward (City of London, Isles of Scilly).
    """
    wards = sorted(wards, key=lambda ward: ward["ward_code"])
    lad17_names = {ward["lad_code"]: ward["lad_name"] for ward in wards}
    successors = successors_2024(wards, geographies)
    rows = {
        code: {
            "lad24_code": code,
            "lad24_name": council.name,
            "region_code": council.region_code,
            "region_name": council.region_name,
            "wards_2017_count": 0,
            "left_behind_2020_count": 0,
            "left_behind_2019_count": 0,
            "left_behind_2020_population": 0,
            "councils_2017": None,
            "name_new_since_2017": None,
        }
        for code, council in sorted(councils.items())
    }
    check_link_councils_known(geographies, councils)
    fallback = fallback or {}
    for ward in wards:
        geography = geographies.get(ward["ward_code"])
        code = geography.lad24_code if geography else fallback.get(ward["ward_code"])
        if code is None:
            continue
        if code not in rows:
            raise BuildError(
                "a 2024 council is missing from the council to region lookup",
                [f"ward {ward['ward_code']}: council {code} has no row in the LAD24->region lookup"],
            )
        row = rows[code]
        row["wards_2017_count"] += 1
        row["left_behind_2020_count"] += ward["left_behind_2020"]
        row["left_behind_2019_count"] += ward["left_behind_2019"]
        if ward["left_behind_2020"] and geography is not None:
            for link in geography.links:
                rows[link.ward24.lad24_code]["left_behind_2020_population"] += link.people
    names_2017 = set(lad17_names.values())
    for code, row in rows.items():
        predecessors = sorted(lad17_names[lad17] for lad17, successor in successors.items() if successor == code)
        if predecessors:
            row["councils_2017"] = "; ".join(predecessors)
            row["name_new_since_2017"] = int(row["lad24_name"] not in names_2017)
    return list(rows.values())


@dataclass(frozen=True)
class Today:
    """Everything the build needs of today's geography, computed once from the sources."""

    geographies: dict[str, WardGeography | None]
    councils: dict[str, Council24]
    fallback: dict[str, str]
    # Each ward's people in each LSOA 2021 (lsoa21_shares): what the 2025 ward averages weigh by.
    shares: dict[str, list[Share]]

    def ward_columns(self, ward_code: str) -> dict[str, Any]:
        """The wards table's 2024 columns for one ward, with the names of its 2024 wards."""
        geography = self.geographies.get(ward_code)
        columns = ward_columns_2024(geography, self.councils, self.fallback.get(ward_code))
        links = sorted(geography.links, key=lambda link: (-link.share_units, link.ward24.code)) if geography else []
        columns["wards24_names"] = "; ".join(link.ward24.name for link in links) or None
        return columns


def today_geography(
    wards: Sequence[Mapping[str, Any]],
    ward_lsoas: Mapping[str, Sequence[str]],
    population: Mapping[str, float],
    lsoa11_lsoa21: Iterable[Mapping[str, Any]],
    lsoa21_ward24: Iterable[Mapping[str, Any]],
    ltla24_region: Iterable[Mapping[str, Any]],
    labels: tuple[str, str, str] = ("LSOA11->LSOA21 lookup", "LSOA21->WD24 lookup", "LAD24->region lookup"),
) -> Today:
    """Follow every ward to today's councils and wards (see the module's docstring)."""
    parts = lsoa21_parts(lsoa11_lsoa21, labels[0])
    wards24 = wards24_by_lsoa21(lsoa21_ward24, labels[1])
    councils = councils24(ltla24_region, labels[2])
    shares = {
        ward["ward_code"]: lsoa21_shares(ward["ward_code"], ward_lsoas.get(ward["ward_code"], ()), population, parts)
        for ward in wards
    }
    geographies = ward_geographies([w["ward_code"] for w in wards], ward_lsoas, population, parts, wards24, shares)
    check_link_councils_known(geographies, councils)
    return Today(geographies, councils, lad24_without_lsoas(wards, geographies), shares)
