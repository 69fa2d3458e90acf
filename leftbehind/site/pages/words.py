"""The sentences the people's pages say: answers, ranks, populations and deprivation in words.

Pure functions of a ward's row and a few facts, with no database and no Datasette: each
can be read and tested on its own.
"""

from __future__ import annotations

import math
from typing import Any

# Issue 13's check of the population method: ONS's own mid-2017 ward estimates for
# the 21 Trafford wards against the sum over each ward's best-fit LSOAs.
POPULATION_CHECK = {
    "council": "Trafford",
    "wards": 21,
    "mean_error_pct": 7.7,
    "lowest_pct": -18.2,
    "highest_pct": 20.6,
}

DOMAINS = (
    (
        "civic_assets",
        "Civic assets",
        "places where people can meet and do things together, such as community centres, "
        "libraries, sports grounds and green spaces",
    ),
    (
        "connectedness",
        "Connectedness",
        "how well people can reach jobs, services and each other, by transport and online",
    ),
    (
        "engaged_community",
        "Engaged community",
        "how far residents take part in local civic and community life, and how active local charities and groups are",
    ),
)

STATUS_BY_CHANGE = {"in both sets": "both", "joined in 2020": "joined", "left in 2020": "left"}
STATUS_SHORT = {
    "both": "Left behind: in the 2020 and the 2019 sets",
    "joined": "Left behind: joined the list in 2020",
    "left": "Not on the 2020 list: left it in 2020",
    "none": "Not a left-behind neighbourhood",
}



def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 1,002nd."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number:,}{suffix}"


def status_of(left_behind_change: str | None) -> str:
    """'both', 'joined', 'left' or 'none', from the wards table's left_behind_change."""
    return STATUS_BY_CHANGE.get(left_behind_change or "", "none")


def answer_sentence(name: str, status: str, sets: dict[str, int]) -> str:
    """The one-sentence answer to "is this ward left behind?"."""
    new, old = sets["2020"], sets["2019"]
    if status == "both":
        return (
            f"Yes. {name} is one of the {new:,} 'left behind' neighbourhoods of the 2020 set, "
            f"and it was in the original 2019 set of {old:,} too."
        )
    if status == "joined":
        return (
            f"Yes. {name} is one of the {new:,} 'left behind' neighbourhoods of the 2020 set. "
            f"It joined the list in 2020: it was not in the original 2019 set of {old:,}."
        )
    if status == "left":
        return (
            f"Not any more. {name} was one of the {old:,} 'left behind' neighbourhoods of the original "
            f"2019 set, but it is not in the 2020 set of {new:,}: it left the list when it was recalculated in 2020."
        )
    return (
        f"No. {name} is not a 'left behind' neighbourhood: it is in neither the 2020 set of {new:,} "
        f"nor the original 2019 set of {old:,}."
    )


def rank_summary(rank: int | None, total: int, measure: str = "in need") -> dict[str, Any] | None:
    """A rank (1 = most in need, or most deprived) in words, and where it sits on a scale from 1
    to ``total``. ``measure`` is "in need" (the CNI) or "deprived" (the IMD)."""
    if rank is None:
        return None
    share = math.ceil(rank * 100 / total)
    if share <= 50:
        band = f"among the {max(share, 1)}% of wards most {measure}"
    else:
        band = f"in the half of wards less {measure}"
    return {
        "rank": rank,
        "total": total,
        "words": f"{ordinal(rank)} most {measure} of {total:,} wards",
        "first": f"1st: most {measure}",
        "last": f"{ordinal(total)}: least {measure}",
        "band": band,
        "position": round((rank - 1) * 100 / max(total - 1, 1), 2),
    }


def signed(value: float) -> str:
    """A number with its sign, and a true minus sign."""
    return f"{value:+}".replace("-", "\u2212")


def population_summary(population: int | None, unknown_wards: int) -> dict[str, Any]:
    """The population figure in words, and what it is worth."""
    check = POPULATION_CHECK
    accuracy = (
        f"Checked against ONS's own mid-2017 estimates for the {check['wards']} wards of {check['council']}, "
        f"the borough's total matched exactly but single wards were off by {check['mean_error_pct']}% "
        f"on average (from {signed(check['lowest_pct'])}% to {signed(check['highest_pct'])}%)."
    )
    if population is None:
        return {
            "known": False,
            "words": "Not known.",
            "caveat": (
                "ONS's best-fit lookup assigns none of England's small census areas (LSOAs) to this ward, "
                "so its residents are counted in neighbouring wards and its population is left empty, "
                f"not zero. It is one of {unknown_wards} wards like this."
            ),
            "accuracy": accuracy,
        }
    return {
        "known": True,
        "words": f"About {population:,} people (mid-2017).",
        "caveat": (
            "An approximation: the sum of ONS's mid-2017 estimates for the small census areas (LSOAs) "
            "that ONS's best-fit lookup places in the ward. An LSOA that straddles a ward boundary is "
            "counted wholly in one ward."
        ),
        "accuracy": accuracy,
    }


def imd_summary(ward: dict[str, Any], status: str) -> dict[str, Any] | None:
    """The Index of Multiple Deprivation context of a ward, with what it is and is not."""
    share = ward.get("population_share_in_imd_decile_1_lsoas")
    lsoas = ward.get("lsoa_count")
    if share is None or lsoas is None:
        return None
    deprived = ward.get("lsoas_in_imd_decile_1") or 0
    percent = round(share * 100)
    words = (
        f"{percent}% of its residents live in small areas (LSOAs) that are among England's most deprived 10% "
        f"on the Index of Multiple Deprivation 2019: {deprived} of its {lsoas} LSOA{'s' if lsoas != 1 else ''}."
    )
    caveat = (
        "This is this site's own measure, worked out through the same best-fit lookup as the population. "
        "It is not the ward-level deprivation score OCSI used to choose the left-behind neighbourhoods "
        "(OCSI has not published it), nor the ward figures above, which average over all the ward's small areas."
    )
    if share == 0 and status in ("both", "joined"):
        caveat += (
            " So a left-behind ward can show 0% here: a ward can be among the most deprived wards overall "
            "without any one of its small areas being in the most deprived tenth."
        )
    return {"percent": percent, "words": words, "caveat": caveat}




MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


def date_words(date: str | None) -> str | None:
    """An ISO 8601 date at the precision it is written to, in words: '2023-10-25' is
    '25 October 2023', '2023-10' 'October 2023', '2023' '2023'; None stays None."""
    if not date:
        return None
    parts = date.split("-")
    if len(parts) == 1:
        return parts[0]
    month = MONTHS[int(parts[1]) - 1]
    return f"{month} {parts[0]}" if len(parts) == 2 else f"{int(parts[2])} {month} {parts[0]}"


def basis_words(basis: str | None) -> str | None:
    """How a catalogue date is known, as a clause after the date."""
    return {
        "stated": "as a source states it",
        "inferred": "inferred from other facts, not stated",
        "on or before session": "on or before the session it was prepared for",
    }.get(basis or "")


def period_words(start: str | None, end: str | None) -> str:
    """When a role was held, as far as it is known."""
    since, until = date_words(start), date_words(end)
    if since and until:
        return f"from {since} to {until}"
    if since:
        return f"from {since}; when it ended is not known"
    if until:
        return f"until {until}; when it began is not known"
    return "when is not known"


# --- Why, or why not: the two tests of the definition, the IMD's domains, 2025 (issue 23) ----

# The seven domains of the English Indices of Deprivation, as the wards table names their
# columns (imd2019_{key}_score, imd2019_{key}_rank), with what each measures in our words.
IMD_DOMAINS = (
    ("income", "Income", "people living on low incomes, in work or out of it"),
    ("employment", "Employment", "people of working age kept out of work by unemployment, sickness, disability or caring"),
    (
        "education",
        "Education, skills and training",
        "how far children and young people get at school and beyond, and the skills and qualifications of adults",
    ),
    ("health", "Health and disability", "people dying early, or living with illness, disability or poor mental health"),
    ("crime", "Crime", "the risk of being a victim of violence, burglary, theft or criminal damage"),
    (
        "housing_and_services",
        "Barriers to housing and services",
        "how far away everyday services are, and how hard it is to afford or find a home",
    ),
    ("living_environment", "Living environment", "the state of homes, the air people breathe, and road accidents"),
)

INDEX_NAMES = {
    "cni2019": "the Community Needs Index",
    "imd2019": "the Index of Multiple Deprivation 2019",
    "cni2023": "the Community Needs Index 2023",
    "imd2025": "the Index of Multiple Deprivation 2025",
}
MEASURE = {"cni2019": "in need", "imd2019": "deprived", "cni2023": "in need", "imd2025": "deprived"}


def line_test(index: str, rank: int | None, lines: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One test of the definition for one ward: its rank on ``index`` (a ten_percent_lines id),
    the wards ranked, where the 10% ends, and whether the ward is within it (None: no rank)."""
    line = lines[index]
    return {
        "index": index,
        "rank": rank,
        "total": line["wards_ranked"],
        "line": line["line"],
        "within": None if rank is None else rank <= line["line"],
    }


def line_phrase(test: dict[str, Any]) -> str:
    """'among the 10% of wards most in need on the Community Needs Index (1st of 7,433)', or
    'not among ... (1,476th of 7,421; the 10% ends at 742nd)'."""
    measure, index = MEASURE[test["index"]], INDEX_NAMES[test["index"]]
    if test["within"]:
        return f"among the 10% of wards most {measure} on {index} ({ordinal(test['rank'])} of {test['total']:,})"
    return (
        f"not among the 10% of wards most {measure} on {index} ({ordinal(test['rank'])} of {test['total']:,}; "
        f"the 10% ends at {ordinal(test['line'])})"
    )


def clause_of_tests(need: dict[str, Any], deprivation: dict[str, Any]) -> str:
    """Both tests in words, the one met first: 'it is among ..., but not among ...'."""
    if deprivation["within"] is None:
        index = INDEX_NAMES[deprivation["index"]]
        return f"it is {line_phrase(need)}, and it has no ward figure on {index} (no small census area is assigned to it)"
    if need["within"] == deprivation["within"]:
        return f"it is {line_phrase(need)} and {line_phrase(deprivation)}"
    met, missed = (need, deprivation) if need["within"] else (deprivation, need)
    return f"it is {line_phrase(met)}, but {line_phrase(missed)}"


def answer_with_tests(
    name: str, status: str, sets: dict[str, int], need: dict[str, Any], deprivation: dict[str, Any]
) -> str:
    """The answer to "is this ward left behind?", and why: the two tests of the 2020 set with the
    ward's ranks. ``need`` and ``deprivation`` are ``line_test`` results of the CNI 2019 and the IMD 2019."""
    new, old = sets["2020"], sets["2019"]
    clause = clause_of_tests(need, deprivation)
    both = need["within"] and deprivation["within"]
    if status in ("both", "joined"):
        first = answer_sentence(name, status, sets)
        if both:
            return f"{first} It meets both tests: {clause}."
        if deprivation["within"] is False:
            return (
                f"{first} It is {line_phrase(need)}. OCSI counted it among the 10% most deprived on the Index of "
                f"Multiple Deprivation 2019 too, but the public ward figures this site holds rank it "
                f"{ordinal(deprivation['rank'])} of {deprivation['total']:,} (the 10% ends at {ordinal(deprivation['line'])})."
            )
        return f"{first} On the figures this site holds, {clause}."
    if status == "left":
        return f"{answer_sentence(name, status, sets)} On the two tests of 2020, {clause}."
    neither = f"It is in neither the 2020 set of {new:,} nor the original 2019 set of {old:,}."
    if both:
        return (
            f"No. {name} is in neither the 2020 set of {new:,} nor the original 2019 set of {old:,}, although on "
            f"the public figures this site holds it meets both tests: {clause}."
        )
    if need["within"] or deprivation["within"]:
        return f"No. {name} is not a 'left behind' neighbourhood: {clause}. A 'left behind' neighbourhood must be both. {neither}"
    return f"No. {name} is not a 'left behind' neighbourhood: {clause}. {neither}"


def weighs_most(name: str, domains: list[dict[str, Any]]) -> str | None:
    """Which of the IMD's seven domains a ward is most deprived on, in one sentence."""
    ranked = sorted((d for d in domains if d["rank"]), key=lambda d: (d["rank"]["rank"], d["key"]))
    if not ranked:
        return None
    first, second = ranked[0], ranked[1] if len(ranked) > 1 else None
    least = ranked[-1]
    words = f"Of the seven kinds of deprivation, {name} is most deprived on {first['name'].lower()} ({ordinal(first['rank']['rank'])})"
    if second:
        words += f" and {second['name'].lower()} ({ordinal(second['rank']['rank'])})"
    words += f", and least on {least['name'].lower()} ({ordinal(least['rank']['rank'])}), of {first['rank']['total']:,} wards."
    return words


def picture_2025(name: str, status: str, need: dict[str, Any], deprivation: dict[str, Any]) -> str | None:
    """The one sentence about 2025: the ward's indicative ranks on the CNI 2023 and the IMD 2025,
    and whether it would meet both tests. ``need`` and ``deprivation`` are ``line_test`` results."""
    if need["rank"] is None or deprivation["rank"] is None:
        return None
    flagged = status in ("both", "joined")
    if need["within"] and deprivation["within"]:
        verdict = f"would {'still' if flagged else 'now'} be among the 10% on both, and so meet the definition"
    else:
        if need["within"] or deprivation["within"]:
            among = "most in need but not the 10% most deprived" if need["within"] else "most deprived but not the 10% most in need"
            verdict = f"would be among the 10% {among}"
        else:
            verdict = "would be among the 10% on neither"
        if flagged:
            verdict += ": it would no longer meet the definition"
    return (
        f"Indicatively, on the newest indices {name} ranks {ordinal(need['rank'])} most in need of {need['total']:,} "
        f"wards on the Community Needs Index 2023 and {ordinal(deprivation['rank'])} most deprived on the Index of "
        f"Multiple Deprivation 2025, so by the same two tests it {verdict}."
    )


INDICATIVE_CAVEAT = (
    "This is this site's own indicative re-run, not an official set: each ward's figure is the average of its "
    "2021 small areas' scores, weighted by the ward's people, which only approximates a ward-level index; the "
    "Community Needs Index 2023 was made with a changed method; and no open licence is stated for the CNI."
)
