"""Neighbourhoods like yours: for every ward, the wards most like it in need and deprivation.

Each ward is described by ten figures: the three CNI 2019 domain scores and the seven IMD
2019 domain scores (``leftbehind.deprivation``). Each figure is standardised over the wards
that have it (z-score: minus the mean, divided by the standard deviation), so that no
domain counts more for being measured on a larger scale. The distance between two wards
gives the CNI and the IMD equal weight, whatever their number of domains:

    distance = sqrt( mean over the 3 CNI domains of (z1 - z2)^2
                   + mean over the 7 IMD domains of (z1 - z2)^2 )

The 12 wards with no IMD figures (no best-fit LSOA) are compared on the CNI alone, its
mean counted twice so that their distances are on the same scale; they are never listed
as like a ward that has IMD figures, as nothing is known of their deprivation.

Distances are rounded to 4 decimals and ties go to the lower ward code, so the lists never
depend on the order of the input. The exact distances are worked out elementwise (each
figure's difference squared and added in a fixed order), which gives the same bits on any
machine. Doing that for all 55 million pairs takes seconds, so candidates are found first
with a matrix product (fast, but its last bits depend on the BLAS library): a few dozen
wards nearest by that approximation, whose exact distances are then computed. The result is
checked: if any ward outside the candidates could, within the approximation's error, be as
near as the last one kept, that ward's row is computed exactly against every ward.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from leftbehind.deprivation import IMD_DOMAINS

CNI_DOMAINS = ("civic_assets_score", "connectedness_score", "engaged_community_score")
IMD_DOMAIN_SCORES = tuple(f"imd2019_{name}_score" for _, name, _ in IMD_DOMAINS)
SIMILAR_WARDS = 5
# Candidates: wards within the SAMPLE_RANK-th nearest of every SAMPLE_STEP-th ward, about 48.
SAMPLE_STEP = 16
SAMPLE_RANK = 3
DISTANCE_DECIMALS = 4
BLOCK = 1024
# Far more than the float32 approximation of a squared distance can be off by: float32 keeps
# about 7 significant digits, and a ward's squared figures add up to about 22 at most (z-scores
# divided by sqrt(3) or sqrt(7)), so its error is a few times 1e-5.
APPROXIMATION_ERROR = 1e-2


def z_scores(values: Sequence[float | None]) -> np.ndarray:
    """Each value as (value - mean) / standard deviation over the known values; NaN where unknown."""
    column = np.array([np.nan if value is None else value for value in values], dtype=np.float64)
    known = column[~np.isnan(column)]
    if not known.size:
        return column
    spread = known.std()
    return (column - known.mean()) / (spread if spread > 0 else 1.0)


def weighted_figures(wards: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Each ward's z-scores scaled so that a plain sum of squared differences is the distance
    squared: CNI z-scores divided by sqrt(3), IMD ones by sqrt(7). Returns (figures, has_imd);
    a ward without IMD figures has zeros in their place (``similar_ward_rows`` compares such a
    ward on its CNI part alone)."""
    cni = np.column_stack([z_scores([ward[name] for ward in wards]) for name in CNI_DOMAINS])
    imd = np.column_stack([z_scores([ward[name] for ward in wards]) for name in IMD_DOMAIN_SCORES])
    has_imd = ~np.isnan(imd).any(axis=1)
    figures = np.hstack([cni / np.sqrt(len(CNI_DOMAINS)), np.nan_to_num(imd) / np.sqrt(len(IMD_DOMAINS))])
    return figures, has_imd


def exact_squared(rows: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Squared distances, elementwise: ``rows`` (m, f) against ``others`` (m, c, f) -> (m, c)."""
    total = np.zeros(others.shape[:2])
    for figure in range(rows.shape[1]):
        difference = rows[:, None, figure] - others[:, :, figure]
        total += difference * difference
    return total


def units_of(squared: np.ndarray) -> np.ndarray:
    """Distances in whole units of the last decimal kept."""
    return np.rint(np.sqrt(squared) * 10**DISTANCE_DECIMALS).astype(np.int64)


def nearest_exactly(row: np.ndarray, figures: np.ndarray, allowed: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distance units) of the ``count`` nearest allowed wards, measured exactly against all."""
    candidates = np.flatnonzero(allowed)
    units = units_of(exact_squared(row[None, :], figures[None, candidates])[0])
    order = np.lexsort((candidates, units))[:count]
    return candidates[order], units[order]


def sort_key(*columns: np.ndarray) -> np.ndarray:
    """One int64 per entry that sorts as the columns do, the first most significant: a single
    sort instead of a lexsort of three keys. The columns hold whole numbers from 0 up."""
    bits = [max(int(column.max(initial=0)).bit_length(), 1) for column in columns]
    if sum(bits) > 62:
        return np.lexsort(columns[::-1]).argsort()  # the rank of each entry: sorts the same
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column, width in zip(columns, bits):
        key = (key << width) | column
    return key


def nearest_by_approximation(figures: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """For every row of ``figures``, its ``count`` nearest other rows: (indices, distance units),
    two arrays of shape (rows, count), nearest first.

    The approximation, in float32: |b|^2 - 2 a.b orders the wards b as |a - b|^2 does (|a|^2
    is the same for the whole row), at half the memory of float64. A row's candidates are the
    wards whose approximation is at most a threshold: the ``SAMPLE_RANK``-th smallest among
    every ``SAMPLE_STEP``-th ward, which lets through about ``SAMPLE_RANK * SAMPLE_STEP`` wards
    without sorting all of them. Each candidate is then measured exactly; every other ward lies
    beyond the threshold, which the check compares with the last ward kept.
    """
    total = len(figures)
    nearest = np.zeros((total, count), dtype=np.int64)
    distances = np.zeros((total, count), dtype=np.int64)
    everyone = np.arange(total)
    if total <= SAMPLE_RANK * SAMPLE_STEP:  # too few wards to need an approximation
        for index in range(total):
            nearest[index], distances[index] = nearest_exactly(figures[index], figures, everyone != index, count)
        return nearest, distances
    # One product gives |b|^2 - 2 a.b: each row a is [a, 1], each column b is [-2 b, |b|^2].
    norms = np.einsum("ij,ij->i", figures, figures)
    rows = np.hstack([figures, np.ones((total, 1))]).astype(np.float32)
    columns = np.hstack([-2 * figures, norms[:, None]]).astype(np.float32).T.copy()
    for start in range(0, total, BLOCK):
        stop = min(start + BLOCK, total)
        approximate = rows[start:stop] @ columns
        approximate[everyone[: stop - start], everyone[start:stop]] = np.inf
        threshold = np.partition(approximate[:, ::SAMPLE_STEP], SAMPLE_RANK - 1, axis=1)[:, SAMPLE_RANK - 1]
        # flatnonzero of the flat mask: np.nonzero steps through a 2-D mask element by element.
        row_of, column = np.divmod(np.flatnonzero(approximate <= threshold[:, None]), total)
        ward = start + row_of
        units = units_of(exact_squared(figures[ward], figures[column][:, None, :])[:, 0])
        # Each row's candidates, nearest first (ties to the lower index), and the first `count` of them.
        order = np.argsort(sort_key(row_of, units, column), kind="stable")
        row_of, column, units = row_of[order], column[order], units[order]
        counts = np.bincount(row_of, minlength=stop - start)
        enough = counts >= count
        first = np.cumsum(counts) - counts
        picks = first[enough, None] + np.arange(count)
        nearest[start:stop][enough] = column[picks]
        distances[start:stop][enough] = units[picks]
        # Sure only when no ward beyond the threshold can round to the last kept distance or less.
        last = (distances[start:stop, -1] + 0.5) / 10**DISTANCE_DECIMALS
        beyond = threshold.astype(np.float64) + norms[start:stop]
        sure = enough & (np.sqrt(np.maximum(beyond - APPROXIMATION_ERROR, 0)) > last)
        for index in start + np.flatnonzero(~sure):
            nearest[index], distances[index] = nearest_exactly(figures[index], figures, everyone != index, count)
    return nearest, distances


def similar_ward_rows(wards: Sequence[Mapping[str, Any]], count: int = SIMILAR_WARDS) -> list[dict[str, Any]]:
    """Rows of ``similar_ward_lists``: for each ward, its ``count`` most similar wards, nearest first,
    as a JSON list of codes, and their distances as a JSON list in the same order.

    The matrix products run on one thread: the build computes this in a worker thread beside
    the one writing the database, and BLAS's own second thread would only contend with them.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _similar_ward_rows(wards, count)


def _similar_ward_rows(wards: Sequence[Mapping[str, Any]], count: int) -> list[dict[str, Any]]:
    wards = sorted(wards, key=lambda ward: ward["ward_code"])
    codes = [ward["ward_code"] for ward in wards]
    count = min(count, len(codes) - 1)
    figures, has_imd = weighted_figures(wards)
    nearest = np.full((len(codes), count), -1, dtype=np.int64)  # -1: fewer wards to list than count
    distances = np.zeros((len(codes), count), dtype=np.int64)
    with_imd = np.flatnonzero(has_imd)
    found, units = nearest_by_approximation(figures[with_imd], min(count, len(with_imd) - 1))
    nearest[with_imd, : found.shape[1]], distances[with_imd, : found.shape[1]] = with_imd[found], units
    # Wards without IMD figures: their CNI part, counted twice, against every other ward's.
    cni_only = figures[:, : len(CNI_DOMAINS)] * np.sqrt(2)
    for index in np.flatnonzero(~has_imd):
        nearest[index], distances[index] = nearest_exactly(cni_only[index], cni_only, np.arange(len(codes)) != index, count)
    scale = 10**DISTANCE_DECIMALS
    rows = []
    for index, (others, ward_units) in enumerate(zip(nearest.tolist(), distances.tolist())):
        kept = [(codes[other], units / scale) for other, units in zip(others, ward_units) if other >= 0]
        rows.append({
            "ward_code": codes[index],
            "similar_ward_codes": json.dumps([code for code, _ in kept], separators=(",", ":")),
            "distances": json.dumps([distance for _, distance in kept], separators=(",", ":")),
        })
    return rows
