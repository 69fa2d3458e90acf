"""The publishing profile: the one definition of how the site is served.

``make serve`` runs ``python -m leftbehind.serve``; ``make publish-cloudrun`` and
``make publish-fly`` run ``python -m leftbehind.serve publish ...``. All of them
take their settings, templates and static files from here (and the plugins from
``leftbehind.site``), so every
copy of the site behaves alike.

Locally the profile runs under ``leftbehind.server`` (uvicorn with a deadline for
slow clients); published copies run the same ``datasette serve`` arguments with
Datasette's own command, behind their platform's proxy.

The site's public origin (``https://example.org``) is what every absolute URL is
built from; requests for any other host are refused (leftbehind/site/guard.py).
Locally it is the address served on, unless ``LEFTBEHIND_ORIGIN`` says otherwise;
publishing needs it (``--origin``, or ``LEFTBEHIND_ORIGIN``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE = ROOT / "leftbehind.db"
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

# What a published container installs: the serving part of pyproject.toml's
# dependencies. Written with ~= because the publish tools put these unquoted
# into a Dockerfile RUN line, where '<' and '>' would be shell redirections.
PUBLISH_INSTALL = (
    "datasette~=0.65.5",
    "datasette-cluster-map~=0.18.2",
    "datasette-block-robots~=1.1",
    "datasette-dashboards~=0.8.0",
)


def inspect_command(database: Path = DATABASE, inspect_file: Path = INSPECT_FILE) -> list[str]:
    """The command that writes the inspect file immutable mode reads at start-up."""
    return [_datasette(), "inspect", str(database), "--inspect-file", str(inspect_file)]


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
    return [
        "--immutable",
        str(database),
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


def checked_origin(origin: str) -> str:
    """``origin`` if it is ``http(s)://host[:port]`` and nothing more; ValueError otherwise."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"the site's origin must look like https://example.org (scheme and host only), not {origin!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def publish_origin(platform: str, name: str, origin: str | None) -> str | None:
    """The public origin a published copy must be told: given, from the environment, or Fly's default."""
    origin = origin or os.environ.get("LEFTBEHIND_ORIGIN")
    if origin:
        return checked_origin(origin)
    if platform == "fly":
        return f"https://{name}.fly.dev"
    return None  # Cloud Run's URL is known only after the first deploy


def publish_command(platform: str, name: str, database: Path = DATABASE, origin: str | None = None) -> list[str]:
    """``datasette publish cloudrun|fly`` with the profile.

    The publish tools add ``-i`` (immutable), ``--cors`` and the inspect file
    themselves; the settings go through ``--extra-options``. The public origin
    goes in as a plugin setting (``--plugin-secret``, Datasette's way to hand a
    plugin a value through the environment): it is not secret, but that is the
    one way both publish tools have to set it.
    """
    name_option = {"cloudrun": "--service", "fly": "--app"}[platform]
    command = [
        _datasette(),
        "publish",
        platform,
        str(database),
        name_option,
        name,
        *site_options(),
        "--extra-options",
        " ".join(setting_options()),
    ]
    origin = publish_origin(platform, name, origin)
    if origin:
        command += ["--plugin-secret", "leftbehind", "origin", origin]
    for package in PUBLISH_INSTALL:
        command += ["--install", package]
    return command


def publish_problem(platform: str, origin: str | None = None) -> str | None:
    """Why publishing to ``platform`` cannot work here, or None when it can."""
    if origin is None:
        return "the site's public origin is not set: pass --origin https://your-site (or set LEFTBEHIND_ORIGIN)"
    if platform == "cloudrun":
        if shutil.which("gcloud") is None:
            return "the Google Cloud CLI (gcloud) is not installed: https://cloud.google.com/sdk/docs/install"
        account = subprocess.run(
            ["gcloud", "config", "get-value", "account"], capture_output=True, text=True, timeout=60
        ).stdout.strip()
        project = subprocess.run(
            ["gcloud", "config", "get-value", "project"], capture_output=True, text=True, timeout=60
        ).stdout.strip()
        if not account or not project or account == "(unset)" or project == "(unset)":
            return "gcloud has no account or project set: run `gcloud auth login` and `gcloud config set project PROJECT`"
        return None
    if shutil.which("flyctl") is None and shutil.which("fly") is None:
        return "flyctl is not installed: https://fly.io/docs/flyctl/install/"
    if not os.environ.get("FLY_API_TOKEN"):
        whoami = subprocess.run(
            [shutil.which("flyctl") or "fly", "auth", "whoami"], capture_output=True, text=True, timeout=60
        )
        if whoami.returncode != 0:
            return "flyctl is not logged in: run `flyctl auth login` or set FLY_API_TOKEN"
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
    publish = commands.add_parser("publish", help="deploy to Google Cloud Run or Fly")
    publish.add_argument("platform", choices=["cloudrun", "fly"])
    publish.add_argument("name", help="the Cloud Run service or Fly app name")
    publish.add_argument("--origin", help="the site's public origin, e.g. https://example.org "
                         "(default: LEFTBEHIND_ORIGIN; on Fly, https://NAME.fly.dev)")
    args = parser.parse_args(argv)
    database = args.database.resolve()

    if args.command == "publish":
        try:
            origin = publish_origin(args.platform, args.name, args.origin)
        except ValueError as error:
            print(f"Not publishing: {error}.", file=sys.stderr)
            return 2
        command = publish_command(args.platform, args.name, database, origin)
        problem = None if args.print else publish_problem(args.platform, origin)
        if args.print or problem:
            if problem:
                print(f"Not publishing: {problem}.", file=sys.stderr)
                print("With it in place, this is the command that would run:", file=sys.stderr)
            print(shlex.join(command))
            return 1 if problem else 0
        return subprocess.run(command).returncode

    host = "127.0.0.1" if args.host is None else args.host
    port = DEFAULT_PORT if args.port is None else args.port
    origin = args.origin
    if origin:
        try:
            os.environ["LEFTBEHIND_ORIGIN"] = checked_origin(origin)
        except ValueError as error:
            print(f"Not serving: {error}.", file=sys.stderr)
            return 2
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
