"""Build leftbehind.db from the catalogue in data/ and the pinned public sources.

    python build_db.py                       # writes ./leftbehind.db
    python build_db.py out.db --sources-dir ../shared/data

The sources come from --sources-dir, else LEFTBEHIND_SOURCES_DIR, else they are
downloaded (once) into .cache/sources/. On any problem the build prints every
problem it found, exits with status 1 and leaves the existing database as it was.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from leftbehind.build import DEFAULT_CACHE_DIR, DEFAULT_DATA_DIR, DEFAULT_DATABASE, build
from leftbehind.errors import BuildError
from leftbehind.sources import sources_dir_from_environment


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", nargs="?", type=Path, default=DEFAULT_DATABASE,
                        help="where to write the database (default: leftbehind.db)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help="the catalogue folder (default: data/)")
    parser.add_argument("--sources-dir", type=Path, default=None,
                        help="read the source files from this folder instead of downloading "
                             "(default: $LEFTBEHIND_SOURCES_DIR)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR,
                        help="where downloaded sources are kept (default: .cache/sources/)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sources_dir = args.sources_dir or sources_dir_from_environment()
    existed = args.database.exists()
    started = time.perf_counter()
    try:
        path = build(args.database, args.data_dir, sources_dir, args.cache_dir)
    except BuildError as error:
        print(error.report(), file=sys.stderr)
        if existed:
            print(f"{args.database} was left unchanged.", file=sys.stderr)
        else:
            print(f"No database was written ({args.database} does not exist).", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    print(f"Built {path} ({path.stat().st_size:,} bytes) in {seconds:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
