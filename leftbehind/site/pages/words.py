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


def rank_summary(rank: int | None, total: int) -> dict[str, Any] | None:
    """A rank (1 = most need) in words, and where it sits on a scale from 1 to ``total``."""
    if rank is None:
        return None
    share = math.ceil(rank * 100 / total)
    if share <= 50:
        band = f"among the {share}% of wards most in need" if share > 1 else "among the 1% of wards most in need"
    else:
        band = "in the half of wards less in need"
    return {
        "rank": rank,
        "total": total,
        "words": f"{ordinal(rank)} most in need of {total:,} wards",
        "last": ordinal(total),
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
        "It is not the ward-level deprivation score OCSI used to choose the left-behind neighbourhoods, "
        "which this site does not hold."
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
