"""Build leftbehind.db from the catalogue in data/ and the pinned public sources.

    python build_db.py                       # writes ./leftbehind.db and ./postcodes.db
    python build_db.py out.db --sources-dir ../shared/data     # out.db and postcodes.db beside it
    python build_db.py --no-postcodes        # only leftbehind.db (a minute quicker)

The sources come from --sources-dir, else LEFTBEHIND_SOURCES_DIR, else they are
downloaded (once) into .cache/sources/. On any problem the build prints every
problem it found, exits with status 1 and leaves the existing databases as they were.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from leftbehind.build import DEFAULT_CACHE_DIR, DEFAULT_DATA_DIR, DEFAULT_DATABASE, POSTCODE_DATABASE, build
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
    parser.add_argument("--postcodes", type=Path, default=None,
                        help="where to write the postcode database (default: postcodes.db beside the database)")
    parser.add_argument("--no-postcodes", action="store_true",
                        help="build only the main database, not the postcode database")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sources_dir = args.sources_dir or sources_dir_from_environment()
    postcodes = None if args.no_postcodes else (args.postcodes or args.database.with_name(POSTCODE_DATABASE))
    targets = [args.database] + ([postcodes] if postcodes else [])
    existed = [target for target in targets if target.exists()]
    started = time.perf_counter()
    try:
        build(args.database, args.data_dir, sources_dir, args.cache_dir, postcodes)
    except BuildError as error:
        print(error.report(), file=sys.stderr)
        for target in targets:
            if target in existed:
                print(f"{target} was left unchanged.", file=sys.stderr)
            else:
                print(f"No database was written ({target} does not exist).", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    built = ", ".join(f"{target} ({target.stat().st_size:,} bytes)" for target in targets)
    print(f"Built {built} in {seconds:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
