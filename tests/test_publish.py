"""Publishing: the generated Fly deployment serves the site, and the deploy workflow is valid."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
import yaml
from packaging.specifiers import SpecifierSet

from leftbehind.build import ROOT
from support.live import free_port, running
from leftbehind.serve import PUBLISH_INSTALL, SETTINGS, main, publish_command

WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"


@pytest.fixture(scope="module")
def fly_dir(db_path, tmp_path_factory) -> Path:
    """The Fly deployment folder, generated (not deployed) from the built database."""
    folder = tmp_path_factory.mktemp("fly") / "app"
    command = publish_command("fly", "left-behind-test", db_path) + ["--generate-dir", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return folder


def dockerfile_line(folder: Path, prefix: str) -> str:
    lines = [line for line in (folder / "Dockerfile").read_text().splitlines() if line.startswith(prefix)]
    assert lines, f"no {prefix} line in the Dockerfile"
    return lines[-1][len(prefix):].strip()


def test_fly_folder_holds_everything_the_site_needs(fly_dir, db_path):
    assert (fly_dir / "leftbehind.db").read_bytes() == db_path.read_bytes()
    assert (fly_dir / "metadata.json").exists()
    assert sorted(p.name for p in (fly_dir / "plugins").glob("*.py")) == sorted(p.name for p in (ROOT / "plugins").glob("*.py"))
    assert (fly_dir / "templates" / "pages" / "about.html").exists()
    assert (fly_dir / "assets" / "site.css").exists()
    assert "left-behind-test" in (fly_dir / "fly.toml").read_text()
    install = dockerfile_line(fly_dir, "RUN pip install")
    for package in PUBLISH_INSTALL:
        assert package in install.split()
    assert not re.search(r"[<>]", install), "a version range would be read as a shell redirection"
    cmd = dockerfile_line(fly_dir, "CMD")
    assert " -i leftbehind.db " in cmd and "--inspect-file inspect-data.json" in cmd and "--cors" in cmd
    for name, value in SETTINGS.items():
        assert f"--setting {name} {value}" in cmd


def test_publish_pins_admit_the_tested_versions():
    for requirement in PUBLISH_INSTALL:
        name, spec = re.match(r"([a-z-]+)(.*)", requirement).groups()
        assert version(name) in SpecifierSet(spec), f"{name} {version(name)} is not in {spec}"


def test_the_dockerfile_command_serves_the_site(fly_dir):
    """Run the Dockerfile's own inspect and serve commands here, on 127.0.0.1."""
    inspect = dockerfile_line(fly_dir, "RUN datasette inspect")
    subprocess.run([sys.executable, "-m", "datasette", "inspect", *shlex.split(inspect)], cwd=fly_dir, check=True, timeout=120)
    port = free_port()
    cmd = dockerfile_line(fly_dir, "CMD").replace("$PORT", str(port)).replace("0.0.0.0", "127.0.0.1")
    args = shlex.split(cmd)
    assert args[:2] == ["datasette", "serve"]
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "datasette", *args[1:]]
    with running(command, base + "/-/versions.json", fly_dir.parent / "server.log", cwd=fly_dir):
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
        assert httpx.post(base + "/leftbehind/topics", timeout=30).status_code == 405
        databases = httpx.get(base + "/-/databases.json", timeout=30).json()
        assert [d["is_mutable"] for d in databases if d["name"] == "leftbehind"] == [False]


def test_publish_without_the_cloud_tool_prints_the_command(capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("FLY_API_TOKEN", raising=False)
    assert main(["publish", "fly", "my-app"]) == 1
    captured = capsys.readouterr()
    assert "Not publishing: flyctl is not installed" in captured.err
    assert captured.out.startswith(shlex.join(publish_command("fly", "my-app")[:3]))
    assert "--app my-app" in captured.out


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
    with running(command, f"http://127.0.0.1:{port}/-/versions.json", tmp_path / "serve.log", cwd=ROOT):
        assert httpx.get(f"http://127.0.0.1:{port}/leftbehind/wards/E05001595", timeout=30).status_code == 200
