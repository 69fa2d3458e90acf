"""The publishing profile: the one definition of how the site is served.

``make serve`` runs ``python -m leftbehind.serve``, and so does the container image
(``Dockerfile``) that ``make publish-cloudrun`` and ``make publish-fly`` deploy
(``leftbehind/publish.py``). Every copy takes its settings, templates and static files
from here and its plugins from ``leftbehind.site``, so every copy behaves alike.

The site's public origin (``https://example.org``) is what every absolute URL is
built from; requests for any other host are refused (leftbehind/site/guard.py).
Locally it is the address served on, unless ``LEFTBEHIND_ORIGIN`` says otherwise;
publishing needs it (``--origin``, or ``LEFTBEHIND_ORIGIN``).
"""

from __future__ import annotations

import argparse
import errno
import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

from leftbehind import publish
from leftbehind.database_check import IncompleteBuild, check_complete_build
from leftbehind.publish import checked_origin

# The folder holding metadata.yml, templates/, static/ and the databases: the checkout, or
# where the container image copies them (LEFTBEHIND_HOME=/app, Dockerfile), since an
# installed package lives elsewhere.
ROOT = Path(os.environ.get("LEFTBEHIND_HOME") or Path(__file__).resolve().parent.parent).resolve()
DATABASE = ROOT / "leftbehind.db"
# The postcodes (issue 22) are a second database, built beside the first by build_db.py and
# served beside it when it is there. Without it the site still serves everything else and
# says that postcode search is unavailable (leftbehind/site/pages/postcodes.py).
POSTCODES_NAME = "postcodes.db"
INSPECT_FILE = ROOT / "inspect-data.json"
METADATA = ROOT / "metadata.yml"
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
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

def postcodes_beside(database: Path) -> Path | None:
    """postcodes.db in the folder of ``database``, when it has been built; else None."""
    candidate = database.with_name(POSTCODES_NAME)
    return candidate if candidate != database and candidate.is_file() else None


def served_databases(database: Path) -> list[Path]:
    """The files the site serves: ``database``, and postcodes.db beside it when it is there."""
    postcodes = postcodes_beside(database)
    return [database] + ([postcodes] if postcodes else [])


def inspect_command(database: Path = DATABASE, inspect_file: Path = INSPECT_FILE) -> list[str]:
    """The command that writes the inspect file immutable mode reads at start-up (of every
    database served: the row counts of postcodes.db's 2.26 million postcodes are counted once here)."""
    return [_datasette(), "inspect", *map(str, served_databases(database)), "--inspect-file", str(inspect_file)]


def setting_options() -> list[str]:
    options = []
    for name, value in SETTINGS.items():
        options += ["--setting", name, value]
    return options


def site_options() -> list[str]:
    """What makes the site this site: metadata, templates and static files.

    The plugins are the package's own (``leftbehind.site``), registered by the server
    before Datasette builds the instance from these arguments.
    """
    return [
        "--metadata",
        str(METADATA),
        "--template-dir",
        str(TEMPLATES),
        "--static",
        f"{STATIC_MOUNT}:{STATIC}",
    ]


def datasette_serve_args(
    database: Path = DATABASE,
    inspect_file: Path | None = INSPECT_FILE,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
) -> list[str]:
    """The arguments of ``datasette serve`` for the publishing profile."""
    inspect = ["--inspect-file", str(inspect_file)] if inspect_file is not None else []
    immutables = [part for path in served_databases(database) for part in ("--immutable", str(path))]
    return [
        *immutables,
        *inspect,
        *site_options(),
        "--cors",
        "--host",
        host,
        "--port",
        str(port),
        *setting_options(),
    ]


def serve_command(
    database: Path = DATABASE,
    inspect_file: Path = INSPECT_FILE,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
) -> list[str]:
    """The command that serves the publishing profile on this machine.

    ``leftbehind.server`` takes ``datasette serve``'s own arguments and runs the
    instance Datasette builds from them under uvicorn with a header deadline.
    """
    return [sys.executable, "-m", "leftbehind.server", *datasette_serve_args(database, inspect_file, host, port)]


def profile_instance(database: Path = DATABASE, inspect_file: Path | None = None):
    """The Datasette instance of the publishing profile, for use in this process.

    Built from the same ``datasette serve`` arguments as every server, by
    Datasette's own command-line parser.
    """
    from leftbehind.server import datasette_from_serve_args

    return datasette_from_serve_args(datasette_serve_args(database, inspect_file))[0]


def port_in_use(host: str, port: int) -> str | None:
    """One line saying the port is taken and how to serve on another, or None when it is free.

    Without it gunicorn tries five times, a second apart, and stops with "Can't connect".
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            return (
                f"Port {port} on {host} is in use (another server, or this site already running?). "
                f"Serve on another: make serve PORT={port + 1} (or: python -m leftbehind.serve --port {port + 1})"
            )
    return None


def _datasette() -> str:
    """The datasette executable beside this Python, so the venv's copy is used."""
    candidate = Path(sys.executable).parent / "datasette"
    return str(candidate) if candidate.exists() else "datasette"


def _inspect_file_for(database: Path) -> Path:
    return INSPECT_FILE if database == DATABASE else database.with_name(database.stem + "-inspect.json")


def add_serve_options(parser: argparse.ArgumentParser, default=None) -> None:
    """--host, --port and --origin, for ``serve`` and for the command without ``serve``.

    The ``serve`` subcommand's copies default to ``argparse.SUPPRESS``, so that
    ``--port N serve`` and ``serve --port N`` both keep the N given.
    """
    parser.add_argument("--host", default=default, help="the address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=default, help=f"the port to listen on (default: {DEFAULT_PORT})")
    parser.add_argument("--origin", default=default, help="the public origin, e.g. https://example.org (default: "
                        "LEFTBEHIND_ORIGIN, else the address served on)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Serve or publish leftbehind.db with the publishing profile. Without a command it serves: "
        "python -m leftbehind.serve --port 8001 is python -m leftbehind.serve serve --port 8001."
    )
    parser.add_argument("--database", type=Path, default=DATABASE)
    parser.add_argument("--print", action="store_true", help="print the commands instead of running them")
    add_serve_options(parser)
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="serve on this machine (the default)")
    add_serve_options(serve, default=argparse.SUPPRESS)
    deploy = commands.add_parser("publish", help="deploy the container image to Google Cloud Run or Fly")
    deploy.add_argument("platform", choices=["cloudrun", "fly"])
    deploy.add_argument("name", help="the Cloud Run service or Fly app name")
    deploy.add_argument("--origin", help="the site's public origin, e.g. https://example.org "
                         "(default: LEFTBEHIND_ORIGIN; else the platform's own address: https://NAME.fly.dev, "
                        "or https://NAME-PROJECT_NUMBER.REGION.run.app)")
    args = parser.parse_args(argv)
    database = args.database.resolve()
    if args.origin:  # a bad argument is named before anything is checked or built
        try:
            checked_origin(args.origin)
        except ValueError as error:
            print(f"Not {'publishing' if args.command == 'publish' else 'serving'}: {error}.", file=sys.stderr)
            return 2
    if not args.print:
        try:
            check_complete_build(args.database)
        except IncompleteBuild as error:
            print(error, file=sys.stderr)
            return 1

    if args.command == "publish":
        try:
            return publish.publish(args.platform, args.name, args.origin, database, args.print)
        except ValueError as error:
            print(f"Not publishing: {error}.", file=sys.stderr)
            return 2

    host = "127.0.0.1" if args.host is None else args.host
    port = DEFAULT_PORT if args.port is None else args.port
    origin = args.origin
    if origin:
        try:
            os.environ["LEFTBEHIND_ORIGIN"] = checked_origin(origin)
        except ValueError as error:
            print(f"Not serving: {error}.", file=sys.stderr)
            return 2
    if not args.print and (taken := port_in_use(host, port)) is not None:
        print(taken, file=sys.stderr)
        return 1
    inspect_file = _inspect_file_for(database)
    inspect = inspect_command(database, inspect_file)
    serve_ = serve_command(database, inspect_file, host, port)
    if args.print:
        print(shlex.join(inspect))
        print(shlex.join(serve_))
        return 0
    subprocess.run(inspect, check=True)
    os.execv(serve_[0], serve_)
    return 0


if __name__ == "__main__":
    sys.exit(main())
