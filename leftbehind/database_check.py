"""Is the database a complete build? Checked before anything serves it.

A database that is empty, cut short, damaged, or left by an older build used to start a
server that answered 500 almost everywhere, or fail with hundreds of lines of traceback.
Every way of serving (``leftbehind.serve``, ``leftbehind.server``, and so whatever runs
them) calls ``check_complete_build`` first, which says in one line what is wrong and the
command that fixes it; ``make serve`` rebuilds instead (``python -m leftbehind.database_check``
exits 1 with that line).

Complete means: the file opens as SQLite, passes ``PRAGMA quick_check``, has the
``build_info`` table the build writes last, and every table and view that ``build_info``
counts exists and holds that many rows. (Which tables the code declares is left to
``make``, which rebuilds when leftbehind/*.py is newer; importing the declarations here
would cost every server a second of start-up.)
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path


SQLITE_MAGIC = b"SQLite format 3\x00"


class IncompleteBuild(Exception):
    """The database cannot be served; the message is the one line to show."""


def build_problem(database: Path) -> str | None:
    """What keeps ``database`` from being a complete build, in a few words; None when it is one."""
    if not database.exists():
        return "it does not exist"
    size = database.stat().st_size
    if size == 0:
        return "it is empty (0 bytes)"
    with database.open("rb") as handle:
        header = handle.read(100)
    if not header.startswith(SQLITE_MAGIC):
        return "it is not a SQLite database (it does not start as one)"
    if size < (expected := size_in_header(header)):
        return f"it is cut short: {size:,} of the {expected:,} bytes its header gives"
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as error:
        return f"it cannot be opened ({error})"
    try:
        return _problem_inside(connection)
    except sqlite3.DatabaseError as error:
        return f"SQLite cannot read it ({error})"
    finally:
        connection.close()


def size_in_header(header: bytes) -> int:
    """The file size the database header gives (page size times pages), or 0 when it gives
    none: the page count is only valid when the change counter matches its copy (both are
    written by every SQLite since 3.7.0)."""
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[24:28] == header[92:96]
    return page_size * pages if valid else 0


def _problem_inside(connection: sqlite3.Connection) -> str | None:
    check = " ".join(row[0] for row in connection.execute("pragma quick_check(1)"))
    if check != "ok":
        return f"it is damaged (SQLite's check: {' '.join(check.replace('*** in database main ***', '').split())})"
    present = {name for (name,) in connection.execute("select name from sqlite_master where type in ('table', 'view')")}
    if "build_info" not in present:
        return "it has no build_info table, so no build finished writing it"
    recorded = {
        item.removeprefix("rows:"): value
        for item, value in connection.execute("select item, value from build_info where item like 'rows:%' order by item")
    }
    if not recorded:
        return "build_info counts no tables"
    for name, expected in recorded.items():
        if name not in present:
            return f"it has no {name}, which build_info counts"
        rows = connection.execute(f"select count(*) from [{name}]").fetchone()[0]
        if str(rows) != expected:
            return f"{name} holds {rows:,} rows where build_info records {expected}"
    return None


def fix_command(database: Path) -> str:
    """The command that builds ``database`` again."""
    if database.resolve() == (Path.cwd() / "leftbehind.db").resolve():
        return "make build (or: python build_db.py)"
    return f"python build_db.py {database}"


def check_complete_build(database: Path) -> None:
    """Raise IncompleteBuild, with one line saying what is wrong and how to fix it, unless
    ``database`` is a complete build. Call it before serving."""
    problem = build_problem(database)
    if problem is not None:
        raise IncompleteBuild(f"{database} is not a complete build: {problem}. Build it again: {fix_command(database)}")


def main(argv: list[str] | None = None) -> int:
    """``python -m leftbehind.database_check [DATABASE]``: exit 0 when complete, else 1 with the line."""
    args = sys.argv[1:] if argv is None else argv
    database = Path(args[0] if args else "leftbehind.db")
    try:
        check_complete_build(database)
    except IncompleteBuild as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
