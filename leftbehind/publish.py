"""Deploying the site: one container image, the same server as ``make serve``.

``Dockerfile`` installs the locked dependencies (``requirements.lock``, with hashes) and the
project with ``pip install .``, copies the site's files and the built databases, and runs
``python -m leftbehind.serve serve`` on the platform's port: the very command ``make serve``
runs, on another address. This module deploys that image with each platform's own tool:

- Google Cloud Run: ``gcloud run deploy SERVICE --source .`` (Cloud Build builds the
  Dockerfile), with memory, CPUs, concurrency and the most instances stated;
- Fly.io: ``fly deploy`` with ``deploy/fly.toml`` (memory, CPUs and concurrency there).

The site answers only for its own host (``leftbehind/site/guard.py``), so a deploy tells it
its public origin (``LEFTBEHIND_ORIGIN``) and the platform's own address
(``LEFTBEHIND_ALLOWED_HOSTS``). Cloud Run's address is known before the first deploy:
``https://SERVICE-PROJECT_NUMBER.REGION.run.app``, so a deploy without a domain still answers
there, with its links built on that address.

Without the tool or a login, ``python -m leftbehind.serve publish ...`` prints the commands it
would run and exits 1; ``--print`` prints them without checking.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
FLY_CONFIG = ROOT / "deploy" / "fly.toml"
LOCK_FILE = ROOT / "requirements.lock"

# What one Cloud Run instance gets, and how far the service may scale out. Two CPUs and
# 2 GiB match the machine the load tests measure on (docs/load-test.md); the concurrency
# is what one instance answers at once before Cloud Run starts another.
CLOUD_RUN = {
    "region": "europe-west2",
    "cpu": "2",
    "memory": "2Gi",
    "concurrency": "80",
    "max_instances": "10",
    "min_instances": "0",
    "timeout": "60s",
    "port": "8080",
}
# Cloud Run's own placeholder while the project number is unknown (no gcloud, no login).
UNKNOWN_PROJECT_NUMBER = "PROJECT_NUMBER"


@dataclass(frozen=True)
class Deployment:
    platform: str
    name: str
    origin: str
    allowed_hosts: tuple[str, ...]
    commands: tuple[tuple[str, ...], ...]


def checked_origin(origin: str) -> str:
    """``origin`` if it is ``http(s)://host[:port]`` and nothing more; ValueError otherwise."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"the site's origin must look like https://example.org (scheme and host only), not {origin!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def cloud_run_host(service: str, project_number: str, region: str = CLOUD_RUN["region"]) -> str:
    """The address Cloud Run gives a service: SERVICE-PROJECT_NUMBER.REGION.run.app."""
    return f"{service}-{project_number}.{region}.run.app"


def environment(origin: str, allowed_hosts: tuple[str, ...]) -> dict[str, str]:
    """What the container is told: its public origin, and the other names it answers for."""
    env = {"LEFTBEHIND_ORIGIN": origin}
    if allowed_hosts:
        env["LEFTBEHIND_ALLOWED_HOSTS"] = ",".join(allowed_hosts)
    return env


def cloud_run_deployment(service: str, origin: str | None, project_number: str) -> Deployment:
    host = cloud_run_host(service, project_number)
    origin = checked_origin(origin) if origin else f"https://{host}"
    allowed = () if urlsplit(origin).hostname == host else (host,)
    env = environment(origin, allowed)
    settings = CLOUD_RUN
    command = (
        "gcloud", "run", "deploy", service,
        "--source", str(ROOT),
        "--region", settings["region"],
        "--allow-unauthenticated",
        "--cpu", settings["cpu"],
        "--memory", settings["memory"],
        "--concurrency", settings["concurrency"],
        "--max-instances", settings["max_instances"],
        "--min-instances", settings["min_instances"],
        "--timeout", settings["timeout"],
        "--port", settings["port"],
        # Cloud Run's own "/" maps to this: the variables are separated by "^;^" so a comma in
        # LEFTBEHIND_ALLOWED_HOSTS stays inside its value.
        "--set-env-vars", "^;^" + ";".join(f"{name}={value}" for name, value in env.items()),
    )
    return Deployment("cloudrun", service, origin, allowed, (command,))


def fly_deployment(app: str, origin: str | None) -> Deployment:
    host = f"{app}.fly.dev"
    origin = checked_origin(origin) if origin else f"https://{host}"
    allowed = () if urlsplit(origin).hostname == host else (host,)
    command: tuple[str, ...] = (
        "fly", "deploy", str(ROOT),
        "--app", app,
        "--config", str(FLY_CONFIG),
        "--dockerfile", str(DOCKERFILE),
    )
    for name, value in environment(origin, allowed).items():
        command += ("--env", f"{name}={value}")
    return Deployment("fly", app, origin, allowed, (command,))


def project_number() -> str | None:
    """The current gcloud project's number, or None without gcloud or a project."""
    if shutil.which("gcloud") is None:
        return None
    project = _output(["gcloud", "config", "get-value", "project"])
    if not project or project == "(unset)":
        return None
    return _output(["gcloud", "projects", "describe", project, "--format", "value(projectNumber)"]) or None


def deployment(platform: str, name: str, origin: str | None = None, number: str | None = None) -> Deployment:
    origin = origin or os.environ.get("LEFTBEHIND_ORIGIN") or None
    if platform == "cloudrun":
        return cloud_run_deployment(name, origin, number or UNKNOWN_PROJECT_NUMBER)
    if platform == "fly":
        return fly_deployment(name, origin)
    raise ValueError(f"unknown platform {platform!r}: cloudrun or fly")


def problem(platform: str, number: str | None, database: Path) -> str | None:
    """Why deploying to ``platform`` cannot work from here, or None when it can."""
    for path in (database, database.with_name("postcodes.db")):
        if not path.exists():
            return f"{path.name} is not built: run `make build` first"
    if platform == "cloudrun":
        if shutil.which("gcloud") is None:
            return "the Google Cloud CLI (gcloud) is not installed: https://cloud.google.com/sdk/docs/install"
        account = _output(["gcloud", "config", "get-value", "account"])
        if not account or account == "(unset)" or number is None:
            return "gcloud has no account or project set: run `gcloud auth login` and `gcloud config set project PROJECT`"
        return None
    fly = shutil.which("fly") or shutil.which("flyctl")
    if fly is None:
        return "flyctl is not installed: https://fly.io/docs/flyctl/install/"
    if not os.environ.get("FLY_API_TOKEN") and subprocess.run(
        [fly, "auth", "whoami"], capture_output=True, text=True, timeout=60
    ).returncode != 0:
        return "flyctl is not logged in: run `fly auth login` or set FLY_API_TOKEN"
    return None


def publish(platform: str, name: str, origin: str | None, database: Path, print_only: bool) -> int:
    """Deploy, or say what would run and why it cannot; the exit status."""
    number = project_number() if platform == "cloudrun" and not print_only else None
    planned = deployment(platform, name, origin, number)
    reason = None if print_only else problem(platform, number, database)
    if print_only or reason:
        if reason:
            print(f"Not publishing: {reason}.", file=sys.stderr)
            print("With it in place, this is what would run:", file=sys.stderr)
        for command in planned.commands:
            print(shlex.join(command))
        return 1 if reason else 0
    for command in planned.commands:
        if platform == "fly" and shutil.which("fly") is None:
            command = (shutil.which("flyctl") or "flyctl", *command[1:])
        status = subprocess.run(list(command)).returncode
        if status != 0:
            return status
    return 0


def _output(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""
