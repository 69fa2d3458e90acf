"""Shared by the benchmark scripts: where outputs go, the machine, the database.

Benchmarks print figures; they are never tests. Outputs (databases, logs, JSON
results) go to bench/out/, which is git-ignored: it holds data derived from the
sources and must never be committed.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the server and browser helpers the tests use: tests/support/

from leftbehind.build import DEFAULT_CACHE_DIR, DEFAULT_DATA_DIR, build  # noqa: E402
from leftbehind.sources import sources_dir_from_environment  # noqa: E402

OUT = ROOT / "bench" / "out"
DATABASE = OUT / "leftbehind.db"


def out_dir() -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT


def database(rebuild: bool = False) -> Path:
    """The database the benchmarks serve: a real build in bench/out/."""
    out_dir()
    if rebuild or not DATABASE.exists():
        build(DATABASE, DEFAULT_DATA_DIR, sources_dir_from_environment(), DEFAULT_CACHE_DIR)
    return DATABASE


def _first_line(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "not found"
    return (result.stdout or result.stderr).strip().splitlines()[0] if (result.stdout or result.stderr).strip() else "?"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def _memory() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "?"


def machine() -> dict[str, str]:
    """What the figures were measured on. The load average matters: the machine is shared."""
    return {
        "cpus (nproc)": str(os.cpu_count()),
        "cpu model": _cpu_model(),
        "memory": _memory(),
        "load average (1, 5, 15 min)": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "os": platform.platform(),
        "python": platform.python_version(),
        "datasette": version("datasette"),
        "datasette-cluster-map": version("datasette-cluster-map"),
        "sqlite": sqlite3.sqlite_version,
        "chromium": _first_line(["/usr/bin/chromium", "--version"]),
        "wrk": _first_line(["wrk", "--version"]),
    }


def print_machine() -> None:
    print("machine:")
    for key, value in machine().items():
        print(f"  {key}: {value}")


def median(values: list[float]) -> float:
    return statistics.median(values)


def save(name: str, result: dict) -> Path:
    """Write a benchmark's figures as JSON; the machine (and its load) as at the end of the run."""
    path = out_dir() / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **result}, indent=2) + "\n")
    return path
