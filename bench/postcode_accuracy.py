"""How often a postcode's ward is right: an honest estimate without ONS's own postcode lookup.

    LEFTBEHIND_SOURCES_DIR=../shared/data .venv/bin/python bench/postcode_accuracy.py

ONS's National Statistics Postcode Lookup cannot be downloaded here, so the estimate is
built from what can be measured (docs/benchmarks.md gives the figures and the reasoning):

1. **Exact outlines** (the 2019 outlines of unchanged wards, the flagged wards' own): the
   build asks the very question SOURCES.md (file 18) measured against that lookup for a
   5,000-postcode sample: the ward whose outline holds the grid reference was ONS's ward
   for 97.3%, and ONS's ward lay within 100 m for 98.9%. Here: the share of postcodes
   answered that way, and how many lie near another outline.
2. **Approximate outlines** (best-fit LSOAs) have no such check, so it is simulated where
   the truth is known: (a) in unchanged land, every ward's outline is replaced by the union
   of its best-fit LSOAs, and the answers are compared with the exact ones for postcodes
   150 m or more inside an exact outline (where the exact answer is all but certain); (b)
   the 47 flagged wards that changed before 2019 have their own outlines: the postcodes
   inside those are placed again with the wards' approximate outlines instead.
3. The overall estimate weights each route's rate by its share of postcodes.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import shapely
from _common import DEFAULT_CACHE_DIR, DEFAULT_DATA_DIR, print_machine, save, sources_dir_from_environment

from leftbehind.outlines import ward_outline_sources
from leftbehind.postcodes import NEAR_APPROXIMATE_M, NEAR_M, place_points, postcodes_by_country
from leftbehind.readers import read_source
from leftbehind.sources import load_manifest, locate_sources
from leftbehind.ward_geometry import APPROXIMATE, WardOutlines, lsoa_unions, ward_outlines

NEEDED = ("postcodes", "ward_outlines_2019", "lsoa_outlines", "lsoa_ward_lookup", "ward_lad_lookup",
          "lba_outlines_2020", "lba_outlines_2019")
# SOURCES.md, file 18: the containing 2019 outline against ONS's lookup (5,000 postcodes).
EXACT_RIGHT, EXACT_WITHIN_100_M = 0.973, 0.989


def share(mask: np.ndarray) -> float:
    return float(mask.mean()) if len(mask) else float("nan")


def agreement(placed, reference_codes: np.ndarray, codes: list[str], subset: np.ndarray) -> tuple[float, float]:
    """Share of ``subset`` answered ``reference_codes`` first, and first or in also_possible."""
    names = np.array(codes)
    first = names[placed.ward[subset]] == reference_codes
    listed = np.array([
        right or reference in set(names[placed.others(i)].tolist())
        for i, right, reference in zip(subset.tolist(), first.tolist(), reference_codes.tolist())
    ])
    return share(first), share(listed)


def main() -> int:
    print_machine()
    manifest = load_manifest(DEFAULT_DATA_DIR / "sources.yml")
    sources = {key: manifest[key] for key in NEEDED}
    paths = locate_sources(sources, sources_dir_from_environment(), DEFAULT_CACHE_DIR)
    tables = {key: read_source(source, paths[key]) for key, source in sources.items()}
    universe = {row["WD17CD"] for row in tables["ward_lad_lookup"].rows if row["WD17CD"].startswith("E")}
    lsoa_wards = {row["LSOA11CD"]: row["WD17CD"] for row in tables["lsoa_ward_lookup"].rows}
    flagged = ward_outline_sources(tables["lba_outlines_2020"].rows, tables["lba_outlines_2019"].rows)
    in_degrees = ward_outlines(universe, tables["ward_outlines_2019"], tables["lsoa_outlines"], lsoa_wards, flagged)
    outlines = in_degrees.in_bng()
    england = postcodes_by_country(tables["postcodes"])["E"]
    started = time.perf_counter()
    placed = place_points(england.east, england.north, outlines)
    print(f"\nplaced {len(england.east):,} postcodes in {time.perf_counter() - started:.1f} s")
    methods = Counter(placed.method.tolist())
    total = len(england.east)
    print("answers by method:", {key: f"{value:,} ({value / total:.1%})" for key, value in methods.items()})
    exact_answer = placed.method == "exact"
    with_others = placed.has_others()
    print(f"exact answers with another ward within {NEAR_M:.0f} m: {share(with_others[exact_answer]):.1%}")

    # (2a) The approximate route where the exact answer is known.
    codes = outlines.codes
    depth = edge_depth(england.east, england.north, outlines, placed)
    reference = np.flatnonzero(exact_answer & (depth >= 150))
    all_approximate = lsoa_unions(tables["lsoa_outlines"], lsoa_wards, universe)
    simulated = WardOutlines(
        codes=sorted(all_approximate), geometries=np.array([all_approximate[c] for c in sorted(all_approximate)]),
        methods=[APPROXIMATE] * len(all_approximate), source_ids=["lsoa_outlines"] * len(all_approximate),
        changed_land=np.array([shapely.box(-7.0, 49.0, 2.0, 56.0)]),
    ).in_bng()
    sample = np.random.default_rng(22).choice(reference, size=min(300_000, len(reference)), replace=False)
    sample.sort()
    again = place_points(england.east[sample], england.north[sample], simulated)
    first_a, listed_a = agreement(again, np.array(codes)[placed.ward[sample]], simulated.codes, np.arange(len(sample)))
    print(f"\n(2a) approximate route in unchanged land, {len(sample):,} postcodes 150 m or more inside an exact outline:")
    print(f"     same ward first: {first_a:.1%}; same ward first or in also_possible (within {NEAR_APPROXIMATE_M:.0f} m): {listed_a:.1%}")

    # (2b) The 47 flagged wards that changed before 2019, placed by their approximate outlines.
    own = [code for code, source in zip(codes, outlines.source_ids) if source.startswith("lba_outlines")]
    own_positions = {codes.index(code) for code in own}
    inside_own = np.flatnonzero(np.isin(placed.ward, list(own_positions)) & (placed.method == "exact"))
    instead = lsoa_unions(tables["lsoa_outlines"], lsoa_wards, set(own))
    geometries = in_degrees.geometries.copy()
    swapped_methods = list(outlines.methods)
    for code, shape in instead.items():
        geometries[codes.index(code)] = shape
        swapped_methods[codes.index(code)] = APPROXIMATE
    swapped = WardOutlines(codes, geometries, swapped_methods, outlines.source_ids, in_degrees.changed_land).in_bng()
    again_b = place_points(england.east[inside_own], england.north[inside_own], swapped)
    first_b, listed_b = agreement(again_b, np.array(codes)[placed.ward[inside_own]], codes, np.arange(len(inside_own)))
    print(f"\n(2b) {len(own)} flagged wards changed before 2019, {len(inside_own):,} postcodes inside their own outlines,")
    print(f"     placed with the wards' best-fit LSOAs instead: right first {first_b:.1%}; first or in also_possible {listed_b:.1%}")

    # (3) Overall.
    exact_share = share(exact_answer)
    approximate_share = 1 - exact_share
    first_approximate, listed_approximate = min(first_a, first_b), min(listed_a, listed_b)
    overall_first = exact_share * EXACT_RIGHT + approximate_share * first_approximate * EXACT_RIGHT
    overall_listed = exact_share * EXACT_WITHIN_100_M + approximate_share * listed_approximate * EXACT_WITHIN_100_M
    print(f"\n(3) estimate over all {total:,} English postcodes (the approximate rates taken at the lower of 2a and 2b,")
    print("    times the exact route's own rates, since the simulations' reference is itself the exact route):")
    print(f"    right first ~{overall_first:.1%}; right or in also_possible ~{overall_listed:.1%}")
    print(f"    exact route alone (SOURCES.md's check): {EXACT_RIGHT:.1%} / {EXACT_WITHIN_100_M:.1%}; "
          f"approximate route alone ~{first_approximate * EXACT_RIGHT:.1%} / ~{listed_approximate * EXACT_WITHIN_100_M:.1%}")
    save("postcode_accuracy", {
        "methods": dict(methods), "exact_with_others_share": share(with_others[exact_answer]),
        "approximate_in_unchanged_land": {"postcodes": len(sample), "first": first_a, "listed": listed_a},
        "approximate_in_flagged_changed_wards": {"wards": len(own), "postcodes": len(inside_own), "first": first_b, "listed": listed_b},
        "estimate": {"first": overall_first, "listed": overall_listed},
    })
    return 0


def edge_depth(east: np.ndarray, north: np.ndarray, outlines: WardOutlines, placed) -> np.ndarray:
    """Metres from each point to the edge of the outline it was placed in."""
    boundaries = shapely.boundary(outlines.geometries)
    return shapely.distance(shapely.points(east, north), boundaries[placed.ward])


if __name__ == "__main__":
    raise SystemExit(main())
