"""Publishing: the container image serves the site as `make serve` does, and the deploy workflow is valid."""

from __future__ import annotations

import os
import re
import shlex
import socket
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import httpx
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from leftbehind import publish, server
from leftbehind.build import ROOT
from leftbehind.serve import main
from support.live import PROBE_PATH, free_port, running

pytestmark = pytest.mark.long  # among the slowest files: scheduled first (tests/conftest.py)

WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"
DOCKERFILE = ROOT / "Dockerfile"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [tuple(line.split(None, 1)) for line in lines]


def instructions(name: str) -> list[str]:
    return [arguments for instruction, arguments in dockerfile_instructions() if instruction == name]


def image_command() -> list[str]:
    """The command the image runs, as the shell inside it would split it."""
    import json

    [cmd] = instructions("CMD")
    shell, flag, script = json.loads(cmd)
    assert (shell, flag) == ("sh", "-c")
    return shlex.split(script.removeprefix("exec "))


def image_environment() -> dict[str, str]:
    env = {}
    for arguments in instructions("ENV"):
        env.update(dict(re.findall(r"(\w+)=(\S+)", arguments)))
    return env


def make_serve_command() -> list[str]:
    """The serve recipe of the Makefile, with its variables as make would leave them."""
    recipe = re.search(r"^serve:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE).group(1)
    return shlex.split(recipe.replace("$(BIN)/python", "python"))


def test_the_image_runs_what_make_serve_runs():
    image, local = image_command(), make_serve_command()
    assert image[:4] == local[:4] == ["python", "-m", "leftbehind.serve", "serve"]
    # Only the address differs: all interfaces on the platform's port, not 127.0.0.1:8001.
    assert image[4:] == ["--host", "0.0.0.0", "--port", "$PORT"] and local[4:] == ["--port", "$(PORT)"]
    assert image_environment()["PORT"] == publish.CLOUD_RUN["port"]


def test_the_image_is_a_current_python_on_bookworm():
    [base] = instructions("FROM")
    found = re.fullmatch(r"python:(\d+\.\d+\.\d+)-slim-(\w+)", base)
    assert found, base
    # 3.11.10 fixed CPython's quadratic cookie parsing (CVE-2024-7592); bookworm's SQLite is 3.40.1.
    assert Version(found[1]) >= Version("3.11.10") and found[2] == "bookworm"


def locked() -> dict[str, tuple[str, int]]:
    """Each package requirements.lock pins: its version and how many hashes it lists."""
    text = publish.LOCK_FILE.read_text(encoding="utf-8")
    pins = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        found = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", block)
        if found:
            pins[canonicalize_name(found[1])] = (found[2], block.count("--hash=sha256:"))
    return pins


def test_the_lock_pins_every_dependency_within_pyproject_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = locked()
    requirements = [Requirement(line) for line in project["project"]["dependencies"]]
    requirements += [Requirement(line) for line in project["build-system"]["requires"]]
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), (
            f"requirements.lock pins {requirement.name} {pins[name][0]}, outside {requirement.specifier}: run `make lock`"
        )
    assert all(hashes >= 1 for _, hashes in pins.values())
    assert "--extra-index-url" not in publish.LOCK_FILE.read_text() and "file://" not in publish.LOCK_FILE.read_text()


def test_the_tests_run_on_the_locked_versions():
    """What the tests exercise is what the image installs: every locked package, at its version."""
    differ = {}
    for name, (pinned, _) in locked().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned and name not in ("pip", "setuptools"):
            differ[name] = (pinned, installed)
    assert differ == {}, "installed versions differ from requirements.lock: run `make install` (or `make lock`)"


def test_the_image_installs_the_lock_with_hashes_and_the_project_as_a_package():
    runs = instructions("RUN")
    assert "pip install --require-hashes --no-deps -r requirements.lock" in runs
    assert any(run.startswith("pip install --no-deps --no-build-isolation . ") for run in runs)


@pytest.fixture(scope="module")
def image_folder(both_databases, tmp_path_factory) -> Path:
    """The image's /app, made here as the Dockerfile makes it: its COPY lines (the two databases
    from one build), the package installed."""
    built = {path.name: path for path in both_databases}
    app = tmp_path_factory.mktemp("image") / "app"
    app.mkdir()
    for arguments in instructions("COPY"):
        *sources, target = arguments.split()
        for source in sources:
            origin = built.get(source, ROOT / source)
            destination = app / (target if target not in ("./", ".") else origin.name)
            if origin.is_dir():
                shutil.copytree(origin, destination, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(origin, destination)
    site = app.parent / "site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(app)],
                   check=True, capture_output=True, timeout=300)
    # As the image's RUN line: the source goes once the package is installed, so the
    # server imports the installed package, with the site's files found through LEFTBEHIND_HOME.
    shutil.rmtree(app / "leftbehind")
    return app


def test_the_image_command_serves_the_site(image_folder):
    port = free_port()
    env = {**image_environment(), "LEFTBEHIND_HOME": str(image_folder), "PORT": str(port),
           "PYTHONPATH": str(image_folder.parent / "site-packages")}
    command = [sys.executable if part == "python" else part for part in image_command()]
    command = [{"0.0.0.0": "127.0.0.1", "$PORT": str(port)}.get(part, part) for part in command]
    base = f"http://127.0.0.1:{port}"
    with running(command, base + "/robots.txt", image_folder.parent / "server.log", cwd=image_folder, env=env):
        for path in ("/", "/leftbehind/left_behind_neighbourhoods", "/about", "/-/dashboards/left-behind", "/robots.txt",
                     "/assets/site.css", "/assets/maps.js", "/find-my-ward?q=durham", "/find-my-ward.json?q=durham",
                     "/sitemap.xml", "/leftbehind/datapackage.json", "/leftbehind/publications_feed.atom"):
            assert httpx.get(base + path, timeout=30).status_code == 200, path
        # The site's own map, and the Leaflet and clustering it loads from the installed plugins.
        wards = httpx.get(base + "/leftbehind/wards", timeout=30).text
        assert re.search(r'<script type="module" src="/assets/maps\.js\?v=[0-9a-f]{12}">', wards)
        scripts = re.findall(r'data-(?:leaflet|cluster)-js="([^"]+)"', wards)
        assert len(scripts) == 2
        for script in scripts:
            assert httpx.get(base + script, timeout=30).status_code == 200, script
        assert "lb-answer" in httpx.get(base + "/leftbehind/wards/E05001595", timeout=30).text
        # postcodes.db is served beside it: a postcode has its answer.
        assert "CA14 3XX is in Moss Bay" in httpx.get(base + "/find-my-ward?q=ca143xx", timeout=30).text
        assert httpx.post(base + "/leftbehind/topics", timeout=30).status_code == 405
        databases = httpx.get(base + "/-/databases.json", timeout=30).json()
        assert [d["is_mutable"] for d in databases if d["name"] == "leftbehind"] == [False]
    # The installed package is what that environment imports, not the checkout's source.
    where = subprocess.run([sys.executable, "-c", "import leftbehind.site; print(leftbehind.site.__file__)"],
                           cwd=image_folder, env={**os.environ, **env}, capture_output=True, text=True, check=True)
    assert where.stdout.strip().startswith(str(image_folder.parent / "site-packages")), where.stdout


def option(command: tuple[str, ...], name: str) -> str:
    return command[command.index(name) + 1]


def test_cloud_run_deploys_the_image_with_its_limits_and_its_own_address():
    deployment = publish.deployment("cloudrun", "lbn", "https://Example.org", number="123")
    [command] = deployment.commands
    assert command[:4] == ("gcloud", "run", "deploy", "lbn") and option(command, "--source") == str(ROOT)
    for name in ("--memory", "--cpu", "--concurrency", "--max-instances"):
        assert option(command, name) == publish.CLOUD_RUN[name.strip("-").replace("-", "_")]
    env = option(command, "--set-env-vars")
    assert env == "^;^LEFTBEHIND_ORIGIN=https://example.org;LEFTBEHIND_ALLOWED_HOSTS=lbn-123.europe-west2.run.app"
    # Without a domain, the site lives at Cloud Run's own address and builds its links there.
    bare = publish.deployment("cloudrun", "lbn", None, number="123")
    assert bare.origin == "https://lbn-123.europe-west2.run.app" and bare.allowed_hosts == ()


def test_fly_deploys_the_image_with_its_config():
    [command] = publish.deployment("fly", "lbn", None).commands
    assert command[:3] == ("fly", "deploy", str(ROOT)) and option(command, "--app") == "lbn"
    assert option(command, "--dockerfile") == str(DOCKERFILE) and option(command, "--env") == "LEFTBEHIND_ORIGIN=https://lbn.fly.dev"
    config = tomllib.loads(publish.FLY_CONFIG.read_text(encoding="utf-8"))
    service = config["http_service"]
    assert str(service["internal_port"]) == image_environment()["PORT"]
    assert service["concurrency"]["hard_limit"] >= service["concurrency"]["soft_limit"] > 0
    assert config["vm"][0]["memory"] and config["vm"][0]["cpus"]
    # Fly stops a machine the graceful way and waits as long as the server's workers may take.
    assert config["kill_signal"] == "SIGTERM"
    assert config["kill_timeout"] > server.graceful_stop_seconds()


@pytest.mark.parametrize("platform", ["fly", "cloudrun"])
def test_publish_without_the_cloud_tool_prints_the_commands(capsys, monkeypatch, both_databases, platform):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("FLY_API_TOKEN", raising=False)
    monkeypatch.delenv("LEFTBEHIND_ORIGIN", raising=False)
    assert main(["--database", str(both_databases[0]), "publish", platform, "my-app"]) == 1
    captured = capsys.readouterr()
    assert "Not publishing: " in captured.err and "is not installed" in captured.err
    [command] = publish.deployment(platform, "my-app").commands
    assert captured.out.strip() == shlex.join(command)


def test_publish_needs_postcodes_db_beside_the_database(capsys, monkeypatch, db_path):
    """The image copies both databases, so a deploy without postcodes.db is refused first."""
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("LEFTBEHIND_ORIGIN", raising=False)
    assert main(["--database", str(db_path), "publish", "fly", "my-app"]) == 1
    assert "postcodes.db is not built: run `make build` first" in capsys.readouterr().err


def test_publish_refuses_a_bad_origin(capsys):
    assert main(["publish", "fly", "my-app", "--origin", "https://example.org/path"]) == 2
    assert "scheme and host only" in capsys.readouterr().err


def test_deploy_workflow_is_valid():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"][0]["cron"].count(" ") == 4
    steps = workflow["jobs"]["build-deploy"]["steps"]
    names = [step.get("name", step.get("uses")) for step in steps]
    assert "Compare with the live database" in names
    compare = next(i for i, n in enumerate(names) if n == "Compare with the live database")
    for step in steps[compare + 1:]:
        assert step.get("if") == "steps.compare.outputs.changed == 'true'", step
    for step in steps:
        if "run" in step:
            script = re.sub(r"\$\{\{[^}]*\}\}", "x", step["run"])
            result = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
            assert result.returncode == 0, (step.get("name"), result.stderr)
    assert "SOURCE_DATE_EPOCH" in WORKFLOW.read_text()


def workflow_test_commands() -> list[str]:
    """The pytest command lines the deploy workflow runs."""
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    lines = [line.strip() for step in workflow["jobs"]["build-deploy"]["steps"] for line in step.get("run", "").splitlines()]
    return [line for line in lines if re.match(r"(python -m )?pytest\b", line)]


def test_deploy_workflows_test_command_collects_tests():
    """The workflow's exact test command, collect-only: a bad marker or path fails here, not in a deploy."""
    [command] = workflow_test_commands()
    arguments = shlex.split(command)
    arguments = arguments[arguments.index("pytest") + 1:]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *arguments, "--collect-only", "-qq", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    per_file = dict(re.findall(r"^(tests/\S+\.py): (\d+)$", result.stdout, re.MULTILINE))
    assert sum(int(count) for count in per_file.values()) > 50, result.stdout[-2000:]
    assert "tests/test_browser.py" not in per_file, "the browser tests are deselected"


@pytest.mark.parametrize(
    ("arguments", "port"),
    [([], 8001), (["--port", "8123"], 8123), (["serve", "--port", "8124"], 8124), (["--port", "8125", "serve"], 8125)],
)
def test_serve_takes_its_port_with_or_without_the_serve_command(capsys, arguments, port):
    """``python -m leftbehind.serve --port N`` serves like ``... serve --port N`` (issue 15)."""
    assert main(["--print", *arguments]) == 0
    serve_line = capsys.readouterr().out.splitlines()[-1]
    assert serve_line.startswith(shlex.join([sys.executable, "-m", "leftbehind.server"]))
    assert f"--host 127.0.0.1 --port {port} " in serve_line


def test_serve_with_only_a_port_serves_the_site(db_path, tmp_path):
    database = tmp_path / "leftbehind.db"
    database.write_bytes(db_path.read_bytes())
    port = free_port()
    command = [sys.executable, "-m", "leftbehind.serve", "--database", str(database), "--port", str(port)]
    with running(command, f"http://127.0.0.1:{port}{PROBE_PATH}", tmp_path / "serve.log", cwd=ROOT):
        assert httpx.get(f"http://127.0.0.1:{port}/leftbehind/wards/E05001595", timeout=30).status_code == 200


def test_a_port_in_use_is_named_in_one_line_that_suggests_another(db_path, tmp_path):
    """Not gunicorn's five tries a second apart and "Can't connect": one line, and PORT=."""
    database = tmp_path / "leftbehind.db"
    database.write_bytes(db_path.read_bytes())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "leftbehind.serve", "--database", str(database), "--port", str(port)],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"Port {port} on 127.0.0.1 is in use (another server, or this site already running?). "
        f"Serve on another: make serve PORT={port + 1} (or: python -m leftbehind.serve --port {port + 1})"
    )
    assert "Traceback" not in result.stderr
