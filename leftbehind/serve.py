"""The publishing profile: the one definition of how the site is served.

``make serve`` runs ``python -m leftbehind.serve``; the publish commands build
their arguments from the same settings, so every copy of the site behaves alike.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE = ROOT / "leftbehind.db"
INSPECT_FILE = ROOT / "inspect-data.json"
METADATA = ROOT / "metadata.yml"
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
PLUGINS = ROOT / "plugins"
STATIC_MOUNT = "assets"
DEFAULT_PORT = 8001

# Each setting is explained in README.md, "The publishing profile".
SETTINGS: dict[str, str] = {
    "sql_time_limit_ms": "1000",
    "facet_time_limit_ms": "500",
    "max_returned_rows": "1000",
    "default_page_size": "100",
    "suggest_facets": "off",
    "default_cache_ttl": "3600",
    "allow_download": "on",
    "allow_csv_stream": "on",
    "num_sql_threads": "3",
}


def inspect_command(database: Path = DATABASE, inspect_file: Path = INSPECT_FILE) -> list[str]:
    """The command that writes the inspect file immutable mode reads at start-up."""
    return [_datasette(), "inspect", str(database), "--inspect-file", str(inspect_file)]


def setting_options() -> list[str]:
    options = []
    for name, value in SETTINGS.items():
        options += ["--setting", name, value]
    return options


def serve_command(
    database: Path = DATABASE,
    inspect_file: Path = INSPECT_FILE,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
) -> list[str]:
    """The full ``datasette serve`` command of the publishing profile."""
    return [
        _datasette(),
        "serve",
        "--immutable",
        str(database),
        "--inspect-file",
        str(inspect_file),
        "--metadata",
        str(METADATA),
        "--template-dir",
        str(TEMPLATES),
        "--plugins-dir",
        str(PLUGINS),
        "--static",
        f"{STATIC_MOUNT}:{STATIC}",
        "--cors",
        "--host",
        host,
        "--port",
        str(port),
        *setting_options(),
    ]


def _datasette() -> str:
    """The datasette executable beside this Python, so the venv's copy is used."""
    candidate = Path(sys.executable).parent / "datasette"
    return str(candidate) if candidate.exists() else "datasette"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve leftbehind.db with the publishing profile.")
    parser.add_argument("--database", type=Path, default=DATABASE)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--print", action="store_true", help="print the commands instead of running them")
    args = parser.parse_args(argv)
    inspect_file = args.database.with_name(args.database.stem + "-inspect.json") if args.database != DATABASE else INSPECT_FILE
    inspect = inspect_command(args.database, inspect_file)
    serve = serve_command(args.database, inspect_file, args.host, args.port)
    if args.print:
        print(" ".join(inspect))
        print(" ".join(serve))
        return 0
    subprocess.run(inspect, check=True)
    os.execv(serve[0], serve)
    return 0


if __name__ == "__main__":
    sys.exit(main())
