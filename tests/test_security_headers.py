"""Issue 10, item 7: security headers, Cache-Control and what the public site reveals.

Through a real server started with the publishing profile, and in headless
Chromium: the pages the accessibility sweep does not open keep to the Content-Security-Policy
(the sweep fails on a violation on any other), and a dashboard primed with a hostile Host asks
nothing of another origin.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import socket
import subprocess
import sys
from urllib.parse import quote, urlsplit

import httpx
import pytest
import yaml
from playwright.async_api import Browser

from support.browser import VIEWPORT, PageWatch, new_context, settle
from support.browser import visit as visit_page
from leftbehind.build import ROOT
from leftbehind.serve import inspect_command

WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options",
                    "permissions-policy", "cache-control")
HIDDEN = ["/-/threads", "/-/threads.json", "/-/actor", "/-/actor.json", "/-/messages", "/-/allow-debug",
          "/-/patterns", "/-/permissions", "/-/auth-token", "/-/thr%65ads.json",
          # the exact versions of every component: what a known flaw is aimed with
          "/-/versions", "/-/versions.json", "/-/plugins", "/-/plugins.json", "/-/versi%6Fns.json"]
OSM_TILE_HOST = re.compile(r"^([a-c]\.)?tile\.openstreetmap\.org$")


@pytest.fixture(scope="module")
def server(live_site: str) -> str:
    """The session's real server, publishing profile (the other browser tests share it)."""
    return live_site


def versioned_asset(base: str, page: str, name: str) -> str:
    """The URL ``page`` links ``name`` by: /assets/NAME?v=VERSION (leftbehind/site/assets.py)."""
    html = httpx.get(base + page, timeout=30).text
    return re.search(rf'"(/assets/{re.escape(name)}\?v=[0-9a-f]+)"', html).group(1)


def page_types(base: str) -> dict[str, tuple[str, str]]:
    """One URL of every kind of response: (method, path) by name."""
    return {
        "home": ("GET", "/"),
        "about": ("GET", "/about"),
        "dashboard": ("GET", "/-/dashboards/left-behind"),
        "table": ("GET", "/leftbehind/wards"),
        "row": ("GET", "/leftbehind/wards/E05001595"),
        "json": ("GET", "/leftbehind/wards.json?_size=1"),
        "csv": ("GET", "/leftbehind/topics.csv"),
        "query": ("GET", "/leftbehind?sql=select+1"),
        "feed": ("GET", "/leftbehind/publications_feed.atom"),
        "sitemap": ("GET", "/sitemap.xml"),
        "data package": ("GET", "/leftbehind/datapackage.json"),
        "site static file": ("GET", "/assets/site.css"),
        "site static file by its version": ("GET", versioned_asset(base, "/leftbehind/wards", "maps.js")),
        "Datasette static file": ("GET", "/-/static/app.css"),
        "plugin static file": ("GET", "/-/static-plugins/datasette-cluster-map/datasette-cluster-map.js"),
        "database download": ("GET", "/leftbehind.db"),
        "robots.txt": ("GET", "/robots.txt"),
        "not found": ("GET", "/leftbehind/no_such_table"),
        "bad parameter": ("GET", "/leftbehind/wards?_sort=no_such_column"),
        "write": ("POST", "/leftbehind/topics"),
        "over-long URL": ("GET", "/leftbehind/wards?x=" + "x" * 20_000),
        "unknown host": ("GET", "/"),
    }


def test_every_response_carries_the_security_headers_and_a_cache_control(server):
    with httpx.Client(base_url=server, timeout=30) as client:
        for name, (method, path) in page_types(server).items():
            headers = {"host": "evil.example"} if name == "unknown host" else {}
            response = client.request(method, path, headers=headers)
            missing = [h for h in SECURITY_HEADERS if h not in response.headers]
            assert not missing, (name, response.status_code, missing)
            csp = response.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, name
            assert "connect-src 'self'" in csp, name
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert "geolocation=(self)" in response.headers["permissions-policy"]
            cache_control = response.headers["cache-control"]
            if name == "site static file by its version":  # its URL changes when the file does
                assert cache_control == "public, max-age=31536000, immutable", (name, cache_control)
            elif response.status_code < 400:
                assert re.fullmatch(r"max-age=\d+", cache_control), (name, cache_control)
            else:
                assert cache_control == "no-store", (name, response.status_code, cache_control)


def test_only_the_dashboard_may_evaluate_code(server):
    dashboard = httpx.get(server + "/-/dashboards/left-behind", timeout=30).headers["content-security-policy"]
    table = httpx.get(server + "/leftbehind/wards", timeout=30).headers["content-security-policy"]
    assert "'unsafe-eval'" in dashboard  # Vega compiles its expressions
    assert "'unsafe-eval'" not in table


@pytest.mark.parametrize("path", HIDDEN)
def test_debug_pages_are_not_public(server, path):
    response = httpx.get(server + path, timeout=30)
    assert response.status_code == 404


def test_nothing_public_reveals_the_servers_paths_or_user(server, db_path):
    for path in ["/-/databases.json", "/-/versions.json", "/-/plugins.json", "/-/settings.json",
                 "/-/metadata.json", "/", "/leftbehind"]:
        text = httpx.get(server + path, timeout=30).text
        for secret in (str(db_path.parent), str(ROOT), "site-packages", "/root", sys.prefix):
            assert secret not in text, (path, secret)


def test_databases_json_still_gives_the_deploy_workflow_its_hash(server, db_path, tmp_path):
    """The deploy workflow's own comparison command reads the served hash from /-/databases.json."""
    inspect_file = tmp_path / "inspect.json"
    subprocess.run(inspect_command(db_path, inspect_file), check=True, capture_output=True)
    expected = json.loads(inspect_file.read_text())["leftbehind"]["hash"]
    body = httpx.get(server + "/-/databases.json", timeout=30).text
    assert [d for d in json.loads(body) if "path" in d] == []
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    compare = next(s for s in workflow["jobs"]["build-deploy"]["steps"] if s.get("name") == "Compare with the live database")
    line = next(line for line in compare["run"].splitlines() if line.strip().startswith("live_hash="))
    reader = re.search(r"\| (python -c '[^']*')", line).group(1)
    command = [sys.executable, *shlex.split(reader)[1:]]  # the workflow's python is this one here
    result = subprocess.run(command, input=body, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == expected


# --- in Chromium -------------------------------------------------------------------

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI} at ${event.sourceFile}:${event.lineNumber}`);
});
"""

# Every page type of tests/support/pages.py is opened by the accessibility sweep, which fails
# on a page without the policy and on any console error, which is how Chromium reports each
# violation (test_a_violation_of_the_policy_is_a_page_problem). These are the pages it does not open.
PAGES_BEYOND_THE_SWEEP = [
    "/leftbehind/wards/E05003132",  # a flagged ward: its outline is fetched and drawn
    "/leftbehind/publications?_search=covid&_facet=kind",
    "/leftbehind?sql=" + quote("select 1 as one, randomblob(4) as bytes"),  # the binary value's data: icon
    "/sitemap.xml",
    "/leftbehind/datapackage.json",
    "/leftbehind/publications_feed.atom",
]


@pytest.fixture(scope="module")
def browser(chromium: Browser) -> Browser:
    return chromium


async def test_the_pages_beyond_the_sweep_keep_to_the_content_security_policy(browser, server):
    """Two tabs at a time: the policy is sent and nothing on the page breaks it."""
    context = await new_context(browser, server, viewport=VIEWPORT)
    await context.add_init_script(RECORD_VIOLATIONS)
    found: dict[str, list] = {}

    async def visit(paths: list[str]) -> None:
        page = await context.new_page()
        watch = PageWatch(server)
        watch.attach(page)
        for path in paths:
            response = await page.goto(server + path)
            await settle(page, watch)  # everything it loads after the load event, its maps and charts
            if "content-security-policy" not in response.headers:
                found[path] = ["no Content-Security-Policy header"]
            elif violations := await page.evaluate("window.__violations"):
                found[path] = violations
            elif problems := watch.take():
                found[path] = problems
        await page.close()

    try:
        await asyncio.gather(*(visit(PAGES_BEYOND_THE_SWEEP[start::2]) for start in range(2)))
    finally:
        await context.close()
    assert found == {}


async def test_a_violation_of_the_policy_is_a_page_problem(browser, server):
    """What the sweep relies on: Chromium reports a violation as a console error, which the page
    watch of every browser test counts (here, an image from another host, which img-src refuses)."""
    context, opened = await visit_page(browser, server, VIEWPORT)
    try:
        await opened.open("/about")
        await opened.settle()
        assert opened.watch.take() == []
        await opened.page.evaluate(
            "() => { const image = document.createElement('img'); image.src = 'https://elsewhere.example/x.png';"
            " document.querySelector('main').append(image); }"
        )
        await opened.settle()
        problems = opened.watch.take()
    finally:
        await context.close()
    assert any("Content Security Policy" in problem and "img-src" in problem for problem in problems), problems


def prime_with_hostile_host(base: str, path: str) -> int:
    host, port = urlsplit(base).hostname, urlsplit(base).port
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


async def test_a_primed_dashboard_asks_nothing_of_another_origin(browser, server):
    """After a request with a hostile Host, the dashboard still fetches its charts from the site only."""
    path = "/-/dashboards/left-behind"
    assert prime_with_hostile_host(server, path) == 400
    context = await new_context(browser, server, viewport=VIEWPORT)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = await context.new_page()
    watch = PageWatch(server)
    watch.attach(page)
    try:
        await page.goto(server + path)
        await page.wait_for_selector(".dashboard-card-chart svg, .dashboard-card-chart canvas")
        await settle(page, watch)
    finally:
        await context.close()
    own = urlsplit(server).netloc
    foreign = {urlsplit(url).netloc for url in requested if urlsplit(url).netloc != own}
    assert {host for host in foreign if not OSM_TILE_HOST.match(host)} == set(), foreign
    assert any("/leftbehind.json?sql=" in url for url in requested)
