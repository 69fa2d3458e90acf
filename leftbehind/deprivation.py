"""Deprivation by ward: why a ward is (or is not) left behind, and an indicative look at 2025.

The 'left behind' sets rest on two tests: a ward is among the 10% of wards most in need on
the Community Needs Index (CNI) **and** among the 10% most deprived on the Index of Multiple
Deprivation (IMD), both ranked at ward level. This module computes, for every December 2017
ward:

* **IMD 2019 by ward** (source ``imd2019_ward``, humaniverse's ward figures: the mean of the
  scores of the ward's best-fit LSOAs, weighted by their mid-2019 people). We take that file
  rather than recomputing from ``imd_lsoa``, which holds only LSOA ranks and deciles: ward
  figures average LSOA *scores*, and an average of ranks is another measure (in a check made
  for issue 23 it reproduced 202 of the 2020 set, against 218 with the scores). Ranks are ours: standard competition ranks among the CNI wards that
  have a score, 1 = most deprived.
* **The definition reproduced**: both tests with the CNI 2019 ranks and these IMD ranks.
* **An indicative 2025 re-run**: the same tests with the CNI 2023 and the IMD 2025, both
  published for LSOAs (2021), averaged to each 2017 ward over its people (below). It is
  not an official set, and every column that carries it says so.

**The 10% line.** A ward is in the 10% of ``n`` wards ranked when its rank is at most
``n / 10``: the line is ``n // 10`` (743 of 7,433 on the CNI; 742 of the 7,421 wards with an
IMD figure, since 12 wards have no best-fit LSOA and so no figure). We count only wards that
are ranked: a ward without a figure is in neither part of the ranking. Counting the 12 in
``n`` for the IMD too moves its line to 743, which reproduces the same wards (README states
the count, computed by ``leftbehind/readme.py``).

**Averaging 2021 LSOAs to a 2017 ward.** A ward's people are followed exactly as for its
2024 council (``leftbehind.geography.lsoa21_shares``, kept in ``Today.shares``): its best-fit LSOAs (2011) with their
mid-2017 populations, each into the LSOAs (2021) it became, a split LSOA sharing its people
equally among its parts. The ward's score is the mean of those LSOAs' scores weighted by
those people, rounded to 4 decimals; ranks follow the rounded scores. Mid-2017 populations
are the only LSOA populations in the sources, and they are the people the project counts in
each ward elsewhere; the IMD 2025 itself was built on mid-2022 denominators. An average of
LSOA scores approximates a ward-level index; OCSI's own CNI 2023 is not published by ward.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from leftbehind.credibility import competition_ranks
from leftbehind.errors import BuildError
from leftbehind.geography import Share
from leftbehind.readers import SourceTable

# The IMD 2019's seven domains: (column prefix in source imd2019_ward, our name, official name).
# Source imd2019_ward calls Barriers to Housing and Services 'Housing_and_Access'.
IMD_DOMAINS: tuple[tuple[str, str, str], ...] = (
    ("Income", "income", "Income"),
    ("Employment", "employment", "Employment"),
    ("Education", "education", "Education, Skills and Training"),
    ("Health", "health", "Health Deprivation and Disability"),
    ("Crime", "crime", "Crime"),
    ("Housing_and_Access", "housing_and_services", "Barriers to Housing and Services"),
    ("Environment", "living_environment", "Living Environment"),
)
# Each IMD 2019 measure: (column in source imd2019_ward, the score column on wards).
IMD2019_MEASURES: tuple[tuple[str, str], ...] = (
    ("Score", "imd2019_ward_score"),
    *((f"{prefix}_Score", f"imd2019_{name}_score") for prefix, name, _ in IMD_DOMAINS),
)
WARD_SCORE_DECIMALS = 4

# The four tests: (id, what is ranked, the wards column of the rank, where the ward figures come from).
TESTS: tuple[tuple[str, str, str, str], ...] = (
    ("cni2019", "Community Needs Index 2019", "cni_rank", "OCSI's own ward ranks (source cni2020)"),
    ("imd2019", "Index of Multiple Deprivation 2019", "imd2019_ward_rank",
     "humaniverse's ward scores (source imd2019_ward), ranked here"),
    ("cni2023", "Community Needs Index 2023", "cni2023_ward_rank",
     "this project's indicative ward averages of LSOA 2021 scores (source cni2023_lsoa)"),
    ("imd2025", "Index of Multiple Deprivation 2025", "imd2025_ward_rank",
     "this project's indicative ward averages of LSOA 2021 scores (source imd2025_lsoa)"),
)

OFFICIAL_NOT_REPRODUCED = "in the official 2020 set, not reproduced"
REPRODUCED_NOT_OFFICIAL = "reproduced, not in the official 2020 set"


def ten_percent_line(ranked: int) -> int:
    """The largest rank among the 10% of ``ranked`` wards: a ward is in when rank <= ranked / 10."""
    return ranked // 10


def ranks_of(scores: Mapping[str, float | None]) -> dict[str, int | None]:
    """Standard competition ranks of the known scores, highest score = rank 1; None stays None."""
    ranks = competition_ranks({code: score for code, score in scores.items() if score is not None})
    return {code: ranks.get(code) for code in scores}


def meets_both(first: int | None, first_line: int, second: int | None, second_line: int) -> int | None:
    """1 when both ranks are within their lines, 0 when either is outside, None when it cannot be told."""
    if (first is not None and first > first_line) or (second is not None and second > second_line):
        return 0
    if first is None or second is None:
        return None
    return 1


def imd2019_by_ward(
    table: SourceTable, ward_lsoas: Mapping[str, Sequence[str]], cni_wards: set[str], wards_2017: set[str]
) -> dict[str, dict[str, float]]:
    """Each CNI ward's IMD 2019 score and domain scores, as source imd2019_ward gives them.

    Every CNI ward with a best-fit LSOA must be in the file; a code that is no CNI ward must
    be a December 2017 ward outside the CNI (City of London, Isles of Scilly) and is left out.
    """
    columns = {name: table.numbers(column) for column, name in IMD2019_MEASURES}
    figures: dict[str, dict[str, float]] = {}
    for index, code in enumerate(codes_in(table, "WD17CD")):
        if code in figures:
            raise table.problem(index, "WD17CD", f"ward {code} is listed twice")
        if code not in cni_wards:
            if code not in wards_2017:
                raise table.problem(index, "WD17CD", f"{code} is not a December 2017 ward")
            continue
        figures[code] = {name: values[index] for name, values in columns.items()}
    missing = sorted(code for code in cni_wards if ward_lsoas.get(code) and code not in figures)
    if missing:
        raise BuildError(
            f"{table.source.label} lacks wards",
            [f"{table.source.label}: no row for CNI ward {code}, which has best-fit LSOAs" for code in missing[:20]],
        )
    return figures


def codes_in(table: SourceTable, column: str) -> list[str]:
    """Every value of a code column, each non-empty text, or a clear error naming the first bad one."""
    codes = [row[column] for row in table.rows]
    if all(isinstance(code, str) and code.strip() for code in codes):
        return codes
    return [table.text(index, column) for index in range(len(codes))]


def lsoa21_scores(table: SourceTable, column: str) -> dict[str, float]:
    """Each LSOA 2021's score in ``column``; an LSOA listed twice is an error."""
    codes = codes_in(table, "lsoa21_code")
    scores = dict(zip(codes, table.numbers(column)))
    if len(scores) != len(codes):
        seen: set[str] = set()
        for index, code in enumerate(codes):
            if code in seen:
                raise table.problem(index, "lsoa21_code", f"LSOA {code} is listed twice")
            seen.add(code)
    return scores


def ward_averages(
    ward_codes: Sequence[str],
    shares: Mapping[str, Sequence[Share]],
    measures: Mapping[str, tuple[SourceTable, dict[str, float]]],
) -> dict[str, dict[str, float | None]]:
    """Each ward's people-weighted mean of each measure's LSOA 2021 scores (module docstring).

    ``shares`` holds each ward's people in each LSOA 2021 (``Today.shares``); ``measures``
    maps a wards column to (its source table, its scores by LSOA 2021). A ward with no
    best-fit LSOA gets None; an LSOA 2021 a ward reaches that a source lacks is an error.
    """
    averages: dict[str, dict[str, float | None]] = {}
    for code in ward_codes:
        ward_shares = shares.get(code, ())
        people = sum(amount for _, _, amount in ward_shares)
        row: dict[str, float | None] = {}
        for name, (table, scores) in measures.items():
            if people <= 0:
                row[name] = None
                continue
            try:
                total = sum(amount * scores[lsoa21] for _, lsoa21, amount in ward_shares)
            except KeyError:
                lsoa11, lsoa21 = next((a, b) for a, b, _ in ward_shares if b not in scores)
                raise BuildError(
                    f"{table.source.label} lacks an LSOA",
                    [f"{table.source.label}: no row for LSOA {lsoa21} (from LSOA11 {lsoa11} of ward {code})"],
                ) from None
            row[name] = round(total / people, WARD_SCORE_DECIMALS)
        averages[code] = row
    return averages


@dataclass(frozen=True)
class Deprivation:
    """Every ward's deprivation columns, and the 10% lines they are judged by."""

    columns: dict[str, dict[str, Any]]
    lines: dict[str, int]
    ranked: dict[str, int]

    def ward_columns(self, ward_code: str) -> dict[str, Any]:
        return self.columns[ward_code]


def deprivation(
    wards: Sequence[Mapping[str, Any]],
    ward_lsoas: Mapping[str, Sequence[str]],
    shares: Mapping[str, Sequence[Share]],
    tables: Mapping[str, SourceTable],
) -> Deprivation:
    """The wards table's deprivation columns for every ward (``wards``: rows with ward_code, cni_rank;
    ``shares``: each ward's people in each LSOA 2021, ``Today.shares``)."""
    codes = [ward["ward_code"] for ward in wards]
    wards_2017 = {row["WD17CD"] for row in tables["ward_lad_lookup"].rows}
    imd2019 = imd2019_by_ward(tables["imd2019_ward"], ward_lsoas, set(codes), wards_2017)
    measures = {
        "imd2025_ward_score": (tables["imd2025_lsoa"], lsoa21_scores(tables["imd2025_lsoa"], "IMD_score")),
        "cni2023_ward_score": (
            tables["cni2023_lsoa"], lsoa21_scores(tables["cni2023_lsoa"], "Community Needs Index 2023 Score")
        ),
    }
    recent = ward_averages(codes, shares, measures)
    columns: dict[str, dict[str, Any]] = {
        code: {**{name: imd2019.get(code, {}).get(name) for _, name in IMD2019_MEASURES}, **recent[code]}
        for code in codes
    }
    for name in [name for _, name in IMD2019_MEASURES] + list(measures):
        ranks = ranks_of({code: columns[code][name] for code in codes})
        for code in codes:
            columns[code][name.removesuffix("_score") + "_rank"] = ranks[code]
    cni_ranks = {ward["ward_code"]: ward["cni_rank"] for ward in wards}
    ranked = {
        "cni2019": len(codes),
        **{test: sum(columns[code][column] is not None for code in codes)
           for test, _, column, _ in TESTS if test != "cni2019"},
    }
    lines = {test: ten_percent_line(count) for test, count in ranked.items()}
    for code in codes:
        row = columns[code]
        row["reproduced_2020"] = meets_both(cni_ranks[code], lines["cni2019"], row["imd2019_ward_rank"], lines["imd2019"])
        row["indicative_2025"] = meets_both(
            row["cni2023_ward_rank"], lines["cni2023"], row["imd2025_ward_rank"], lines["imd2025"]
        )
    return Deprivation(columns, lines, ranked)


def ten_percent_line_rows(result: Deprivation, wards: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``ten_percent_lines``: for each test, how many wards are ranked and where the 10% ends."""
    rows = []
    for test, measure, column, figures in TESTS:
        ranks = [ward[column] for ward in wards if ward[column] is not None]
        line = result.lines[test]
        rows.append({
            "id": test,
            "measure": measure,
            "rank_column": column,
            "figures": figures,
            "indicative": int(test in ("cni2023", "imd2025")),
            "wards_ranked": result.ranked[test],
            "line": line,
            "wards_within_line": sum(rank <= line for rank in ranks),
        })
    return rows


def difference_rows(wards: Sequence[Mapping[str, Any]], lines: Mapping[str, int]) -> list[dict[str, Any]]:
    """Rows of ``reproduction_differences``: each ward the public data and the official 2020 set
    disagree on, both ways, with its ranks and the likely reason in words.

    The reason names the test that must have gone the other way for OCSI: the CNI when the
    ward's CNI rank is beyond every official ward's (so OCSI's CNI line or figures left it
    out), otherwise the IMD, whose ward figures OCSI did not publish.
    """
    cni_line, imd_line = lines["cni2019"], lines["imd2019"]
    lowest_official_cni = max(ward["cni_rank"] for ward in wards if ward["left_behind_2020"])
    rows = []
    for ward in sorted(wards, key=lambda ward: (ward["cni_rank"], ward["ward_code"])):
        official, reproduced = ward["left_behind_2020"], ward["reproduced_2020"]
        if reproduced is None or official == reproduced:
            continue
        cni, imd = ward["cni_rank"], ward["imd2019_ward_rank"]
        if official:
            difference = OFFICIAL_NOT_REPRODUCED
            if cni > cni_line:
                reason = (
                    f"Its CNI rank, {cni:,}, is {cni - cni_line:,} places outside the 10% line ({cni_line:,}); "
                    "the CNI figures OCSI used in 2020 must have put it inside."
                )
            else:
                reason = (
                    f"Its IMD 2019 ward rank, {imd:,}, is {imd - imd_line:,} places outside the 10% line "
                    f"({imd_line:,}) on humaniverse's ward figures. OCSI's own ward-level IMD, which is not "
                    "published, must have put it inside: the two combine a ward's small areas differently."
                )
        else:
            difference = REPRODUCED_NOT_OFFICIAL
            if cni > lowest_official_cni:
                reason = (
                    f"Its CNI rank, {cni:,}, is inside the 10% line ({cni_line:,}) but below every ward of "
                    f"the official set (the lowest is {lowest_official_cni:,}), and its IMD 2019 ward rank, "
                    f"{imd:,}, is {imd_line - imd:,} places inside its line: OCSI's CNI line, or the CNI figures "
                    "it used in 2020, must have left it out."
                )
            else:
                reason = (
                    f"Its IMD 2019 ward rank, {imd:,}, is {imd_line - imd:,} places inside the 10% line "
                    f"({imd_line:,}) on humaniverse's ward figures. OCSI's own ward-level IMD, which is not "
                    "published, must have put it outside: the two combine a ward's small areas differently."
                )
        rows.append({
            "ward_code": ward["ward_code"],
            "ward_name": ward["ward_name"],
            "lad_name": ward["lad_name"],
            "difference": difference,
            "cni_rank": cni,
            "imd2019_ward_rank": imd,
            "lsoa_count": ward["lsoa_count"],
            "left_behind_2019": ward["left_behind_2019"],
            "likely_reason": reason,
        })
    return rows
