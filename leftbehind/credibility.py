"""How far to trust a ward's figures: point precision, rank ties, the IMD share.

* A map point read from text such as ``-0.4`` was rounded to one decimal place
  before anyone saw it, which can put it kilometres from where it should be.
  Only the source text says so: once parsed, -0.4 and -0.400000 are the same
  float. So precision is read from the raw CSV text, never from the number.
* The CNI ranks use standard competition ranking ("1224"): equal scores share
  the best rank and the next rank is skipped. The functions here find the ties
  and check that every rank is what that rule gives for the scores.
* The project's IMD column is the share of a ward's population living in
  LSOAs that are themselves in England's most deprived 10% of LSOAs. That is
  not OCSI's ward-level IMD, which ranks wards by an average over their LSOAs:
  a ward can be among the most deprived 10% of wards with none of its LSOAs in
  the most deprived 10% of LSOAs. The functions here say which wards that is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation

EARTH_RADIUS_M = 6_371_008.8
# Points whose coarser axis has this many decimals or fewer are flagged.
LOW_PRECISION_DECIMALS = 2
PRECISION_LABELS = {
    0: "rounded to 1 degree (up to ~70 km off)",
    1: "rounded to 0.1 degree (up to ~7 km off)",
    2: "rounded to 0.01 degree (up to ~700 m off)",
    3: "to 0.001 degree (within ~70 m)",
    4: "to 0.0001 degree (within ~7 m)",
}
EXACT_LABEL = "exact to ~1 m"


def coordinate_decimals(text: str) -> int:
    """Decimal places written in a coordinate's source text ('-0.40' -> 2, '1e-05' -> 5)."""
    text = text.strip()
    whole, _, fraction = text.partition(".")
    if fraction.isdigit() and whole.lstrip("+-").isdigit():  # the usual '-1.23456': no need to parse
        return len(fraction)
    try:
        exponent = Decimal(text.strip()).as_tuple().exponent
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal number") from None
    if not isinstance(exponent, int):
        raise ValueError(f"{text!r} is not a finite number")
    return max(0, -exponent)


def point_decimals(longitude_text: str, latitude_text: str) -> int:
    """The decimals of the coarser of the two coordinates: that axis limits the point."""
    return min(coordinate_decimals(longitude_text), coordinate_decimals(latitude_text))


def location_precision(longitude_text: str, latitude_text: str) -> str:
    """A label for a point's precision, from how many decimals its text has.

    Five or more decimals on both axes is about a metre or better; fewer are
    labelled with the rounding step and the largest error it allows in England:
    half a step on each axis, at 50 degrees north where a degree of longitude
    is longest, is 0.66 km for 0.01 degree (see ``rounding_error_m``).
    """
    return PRECISION_LABELS.get(point_decimals(longitude_text, latitude_text), EXACT_LABEL)


def rounding_error_m(longitude_text: str, latitude_text: str) -> float:
    """The furthest (metres) the true point can be from one written with these decimals.

    Half a unit in the last written place on each axis, combined; a degree of
    longitude is shortened by the cosine of the latitude.
    """
    latitude = float(latitude_text)
    metres_per_degree = math.radians(1) * EARTH_RADIUS_M
    half_lon = 0.5 * 10 ** -coordinate_decimals(longitude_text)
    half_lat = 0.5 * 10 ** -coordinate_decimals(latitude_text)
    return math.hypot(half_lon * metres_per_degree * math.cos(math.radians(latitude)), half_lat * metres_per_degree)


def is_low_precision(longitude_text: str, latitude_text: str) -> bool:
    return point_decimals(longitude_text, latitude_text) <= LOW_PRECISION_DECIMALS


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) metres between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def competition_ranks(scores: Mapping[str, float], highest_first: bool = True) -> dict[str, int]:
    """Standard competition ranks ("1224"): 1 + how many score strictly better."""
    ordered = sorted(scores.values(), reverse=highest_first)
    first_place: dict[float, int] = {}
    for place, score in enumerate(ordered, start=1):
        first_place.setdefault(score, place)
    return {key: first_place[score] for key, score in scores.items()}


def rank_problems(
    scores: Mapping[str, float], ranks: Mapping[str, int], highest_first: bool = True, label: str = "rank"
) -> list[str]:
    """Every key whose rank is not its standard competition rank by score."""
    expected = competition_ranks(scores, highest_first)
    return [
        f"{key}: {label} {ranks.get(key)} but the scores give {expected[key]}"
        for key in sorted(expected)
        if ranks.get(key) != expected[key]
    ]


def tied_ranks(ranks: Mapping[str, int]) -> dict[int, list[str]]:
    """Each rank held by more than one key, with those keys (sorted)."""
    holders: dict[int, list[str]] = {}
    for key, rank in ranks.items():
        holders.setdefault(rank, []).append(key)
    return {rank: sorted(keys) for rank, keys in sorted(holders.items()) if len(keys) > 1}


def imd_decile_counts(lsoas: Sequence[str], deciles: Mapping[str, int]) -> dict[int, int]:
    """How many of a ward's LSOAs are in each IMD decile (1 = most deprived 10%)."""
    counts: dict[int, int] = {}
    for lsoa in lsoas:
        counts[deciles[lsoa]] = counts.get(deciles[lsoa], 0) + 1
    return dict(sorted(counts.items()))


def wards_with_no_decile1_lsoa(
    ward_codes: Iterable[str], ward_lsoas: Mapping[str, Sequence[str]], deciles: Mapping[str, int]
) -> dict[str, dict[int, int]]:
    """Wards (with LSOAs) none of whose LSOAs is in IMD decile 1, with their decile counts.

    These are the wards whose 'share of people in the most deprived 10% of
    LSOAs' is 0 even when the ward itself is among the most deprived 10% of
    wards: deprivation spread over many decile-2 LSOAs averages into a ward
    rank that no single LSOA reaches.
    """
    result = {}
    for code in sorted(ward_codes):
        lsoas = ward_lsoas.get(code, ())
        counts = imd_decile_counts(lsoas, deciles)
        if lsoas and 1 not in counts:
            result[code] = counts
    return result
