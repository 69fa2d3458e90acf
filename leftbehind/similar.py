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
with a matrix product (fast, but its last bits depend on the BLAS library): the nearest
``CANDIDATES`` by that approximation, whose exact distances are then computed. The result
is checked: if any ward outside the candidates could, within the approximation's error,
be as near as the last one kept, that ward's row is computed exactly against every ward.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from leftbehind.deprivation import IMD_DOMAINS

CNI_DOMAINS = ("civic_assets_score", "connectedness_score", "engaged_community_score")
IMD_DOMAIN_SCORES = tuple(f"imd2019_{name}_score" for _, name, _ in IMD_DOMAINS)
SIMILAR_WARDS = 5
CANDIDATES = 16  # nearest by the approximation, then measured exactly
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


def nearest_by_approximation(figures: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """For every row of ``figures``, its ``count`` nearest other rows: (indices, distance units),
    two arrays of shape (rows, count), nearest first.

    The approximation, in float32: |b|^2 - 2 a.b orders the wards b as |a - b|^2 does (|a|^2
    is the same for the whole row), at half the memory of float64.
    """
    total = len(figures)
    nearest = np.zeros((total, count), dtype=np.int64)
    distances = np.zeros((total, count), dtype=np.int64)
    if total <= CANDIDATES + 1:  # too few wards to need an approximation
        for index in range(total):
            nearest[index], distances[index] = nearest_exactly(figures[index], figures, np.arange(total) != index, count)
        return nearest, distances
    single = figures.astype(np.float32)
    norms = np.einsum("ij,ij->i", single, single)
    for start in range(0, total, BLOCK):
        stop = min(start + BLOCK, total)
        approximate = single[start:stop] @ single.T
        approximate *= -2
        approximate += norms[None, :]
        approximate[np.arange(stop - start), np.arange(start, stop)] = np.inf
        # The candidates: every ward up to the CANDIDATES-th nearest (values only: a partition of
        # values is several times faster than one of indices), and the next value beyond them.
        partitioned = np.partition(approximate, CANDIDATES, axis=1)
        inside = approximate <= partitioned[:, :CANDIDATES].max(axis=1)[:, None]
        whole = inside.sum(axis=1) == CANDIDATES  # more only where values tie on the bound: measured exactly below
        candidates = np.zeros((stop - start, CANDIDATES), dtype=np.int64)
        candidates[whole] = np.nonzero(inside[whole])[1].reshape(-1, CANDIDATES)
        beyond = partitioned[:, CANDIDATES].astype(np.float64) + norms[start:stop]
        units = units_of(exact_squared(figures[start:stop], figures[candidates]))
        order = np.lexsort((candidates, units), axis=1)[:, :count]
        nearest[start:stop] = np.take_along_axis(candidates, order, axis=1)
        distances[start:stop] = np.take_along_axis(units, order, axis=1)
        # Sure only when no ward beyond the candidates can round to the last kept distance or less.
        last = (distances[start:stop, -1] + 0.5) / 10**DISTANCE_DECIMALS
        sure = whole & (np.sqrt(np.maximum(beyond - APPROXIMATION_ERROR, 0)) > last)
        for index in start + np.flatnonzero(~sure):
            nearest[index], distances[index] = nearest_exactly(figures[index], figures, np.arange(total) != index, count)
    return nearest, distances


def similar_ward_rows(wards: Sequence[Mapping[str, Any]], count: int = SIMILAR_WARDS) -> list[dict[str, Any]]:
    """Rows of ``similar_wards``: for each ward, its ``count`` most similar wards, nearest first."""
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
    return [
        {"ward_code": codes[index], "similar_ward_code": codes[other], "rank": rank, "distance": units / scale}
        for index, (others, ward_units) in enumerate(zip(nearest.tolist(), distances.tolist()))
        for rank, (other, units) in enumerate(zip(others, ward_units), start=1)
        if other >= 0
    ]
