"""Build benchmark: each database's build against the floor of only reading its sources.

    LEFTBEHIND_SOURCES_DIR=../shared/data .venv/bin/python bench/build.py [--rounds 3]

leftbehind.db: the floor is ``leftbehind.build.read_inputs``: locate, sha256-check, read
and parse the same catalogue and source files, and nothing else. The full build is
``leftbehind.build.build`` (read, derive, load into SQLite, FTS, checks, VACUUM,
rename). Target: full build at most 1.5 times the floor.

postcodes.db: its part of the build is the time ``build(..., postcodes=...)`` takes beyond
the main build alone; its floor is locating, checking and reading the files it is made
from (17-19: the postcode directory, the 2019 ward outlines, the LSOA outlines). Target:
under 60 s on this machine; the ratio to its floor is printed.

Rounds alternate all of these so that load on this shared machine hits each alike;
medians are compared. Each timed step runs in a fresh Python process, as ``build_db.py``
does: in one long process every build after the first inherited the heap of the ones
before (the postcode database's few GB), and the build's forked child copied it page by
page (about 2.5 s more CPU a build). Sizes of both files are printed too.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import DEFAULT_CACHE_DIR, DEFAULT_DATA_DIR, database, median, print_machine, save, sources_dir_from_environment

from leftbehind.build import build, read_inputs, write_database
from leftbehind.similar import similar_ward_rows
from leftbehind.readers import read_source
from leftbehind.sources import load_manifest, locate_source

TARGET_RATIO = 1.5
POSTCODE_TARGET_S = 60.0
POSTCODE_FLOOR_SOURCES = ("postcodes", "ward_outlines_2019", "lsoa_outlines")


def read_postcode_floor(sources) -> None:
    """Locate, check and read files 17-19, as the build does, and nothing else."""
    manifest = load_manifest(DEFAULT_DATA_DIR / "sources.yml")
    for key in POSTCODE_FLOOR_SOURCES:
        read_source(manifest[key], locate_source(manifest[key], sources, DEFAULT_CACHE_DIR))


def timed(function, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def cpu_seconds() -> float:
    """CPU seconds of this process (every thread) and of its ended children (the build's
    forked child deriving the outlines, leftbehind.forked)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def cpu_timed(function, *args) -> tuple[float, float]:
    """Wall seconds and CPU seconds (``cpu_seconds``) of one call."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    function(*args)
    return time.perf_counter() - wall, cpu_seconds() - cpu


STEPS = ("postcode floor", "both", "floor", "build")


def run_step(step: str, folder: Path) -> None:
    """In a fresh process: one timed step, its wall and CPU seconds printed as JSON."""
    sources = sources_dir_from_environment()
    target, postcodes = folder / "leftbehind.db", folder / "postcodes.db"
    calls = {
        "postcode floor": (read_postcode_floor, sources),
        "both": (build, target, DEFAULT_DATA_DIR, sources, DEFAULT_CACHE_DIR, postcodes),
        "floor": (read_inputs, DEFAULT_DATA_DIR, sources, DEFAULT_CACHE_DIR),
        "build": (build, target, DEFAULT_DATA_DIR, sources, DEFAULT_CACHE_DIR),
    }
    wall, cpu = cpu_timed(*calls[step])
    print(json.dumps({"wall": wall, "cpu": cpu}))


def fresh_step(step: str, folder: Path) -> tuple[float, float]:
    done = subprocess.run([sys.executable, __file__, "--step", step, "--folder", str(folder)],
                          check=True, capture_output=True, text=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return figures["wall"], figures["cpu"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        run_step(args.step, args.folder)
        return 0
    sources = sources_dir_from_environment()
    print_machine()
    floors, builds, derives, similars, writes = [], [], [], [], []
    floor_cpus, build_cpus = [], []
    postcode_floors, both_builds = [], []
    with tempfile.TemporaryDirectory(prefix="leftbehind-bench-build-") as folder:
        target = Path(folder) / "leftbehind.db"
        postcodes = Path(folder) / "postcodes.db"
        for _ in range(args.rounds):
            postcode_floor, _ = fresh_step("postcode floor", Path(folder))
            both, _ = fresh_step("both", Path(folder))
            postcode_floors.append(postcode_floor)
            both_builds.append(both)
            floor, floor_cpu = fresh_step("floor", Path(folder))
            full, build_cpu = fresh_step("build", Path(folder))
            floor_cpus.append(floor_cpu)
            build_cpus.append(build_cpu)
            inputs = read_inputs(DEFAULT_DATA_DIR, sources, DEFAULT_CACHE_DIR)
            # Where the time beyond the floor goes: deriving every ward row (the CNI, the 2017
            # lookups, today's geography, deprivation) and the outlines, the similar wards, then
            # writing. A fresh read, since the Inputs cache what they derive.
            fresh = read_inputs(DEFAULT_DATA_DIR, sources, DEFAULT_CACHE_DIR)
            derive, _ = timed(lambda: (fresh.wards, fresh.ward_outlines, fresh.ward_shapes, fresh.neighbourhoods))
            similar, _ = timed(similar_ward_rows, fresh.wards)
            scratch = Path(folder) / "scratch.db"
            scratch.unlink(missing_ok=True)
            inputs.built_at = "1970-01-01T00:00:00Z"
            write, _ = timed(write_database, inputs, scratch)
            floors.append(floor)
            builds.append(full)
            derives.append(derive)
            similars.append(similar)
            writes.append(write)
        sizes = {path.name: path.stat().st_size for path in (target, postcodes)}
    floor, full = median(floors), median(builds)
    ratio = full / floor
    print(f"\nbuild ({args.rounds} rounds, median; min in brackets)")
    print(f"  floor, read_inputs only : {floor:6.2f} s  ({min(floors):.2f})")
    print(f"  full build              : {full:6.2f} s  ({min(builds):.2f})")
    print(f"  ratio full / floor      : {ratio:6.2f}   target <= {TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'NOT met'}")
    rounds = sorted(b / f for f, b in zip(floors, builds))
    print(f"  each round's own ratio  : {rounds[0]:.2f} to {rounds[-1]:.2f}")
    # CPU seconds drift less than wall seconds with other work on the machine, but count the
    # similar-wards thread and the outlines' forked child in full although they run beside the
    # main thread: the work done, not the time waited.
    cpu_ratio = median(b / f for f, b in zip(floor_cpus, build_cpus))
    print(f"  CPU ratio (median)      : {cpu_ratio:6.2f}   (floor {median(floor_cpus):.2f} s, build {median(build_cpus):.2f} s of CPU)")
    print(f"  of which derive the rows: {median(derives):6.2f} s  (wards with today's geography and deprivation, outlines, every ward's outline, neighbourhoods)")
    print(f"  of which similar wards  : {median(similars):6.2f} s  (7,433 x 7,433 distances)")
    print(f"  of which write database : {median(writes):6.2f} s  (includes deriving the rows)")
    postcode_part = median(both_builds) - full
    postcode_floor = median(postcode_floors)
    print(f"\npostcodes.db ({args.rounds} rounds, median)")
    print(f"  floor, reading files 17-19      : {postcode_floor:6.2f} s  ({min(postcode_floors):.2f})")
    print(f"  build of both databases         : {median(both_builds):6.2f} s  ({min(both_builds):.2f})")
    print(f"  postcodes.db's part (both - main): {postcode_part:6.2f} s  target < {POSTCODE_TARGET_S:.0f} s: "
          f"{'met' if postcode_part < POSTCODE_TARGET_S else 'NOT met'}")
    print(f"  ratio part / its floor          : {postcode_part / postcode_floor:6.2f}")
    print("\nsizes: " + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sizes.items()))
    save("build", {
        "rounds": args.rounds,
        "floor_s": floors, "build_s": builds, "derive_wards_s": derives, "similar_wards_s": similars, "write_database_s": writes,
        "median_floor_s": floor, "median_build_s": full, "ratio": ratio, "target_ratio": TARGET_RATIO,
        "floor_cpu_s": floor_cpus, "build_cpu_s": build_cpus, "cpu_ratio": cpu_ratio,
        "postcode_floor_s": postcode_floors, "both_build_s": both_builds, "postcode_part_s": postcode_part,
        "postcode_ratio": postcode_part / postcode_floor, "sizes_bytes": sizes,
    })
    database(rebuild=True)  # leave a fresh build for the other benchmarks
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
