"""Serving benchmark: the publishing profile against default Datasette, page type by page type.

    LEFTBEHIND_SOURCES_DIR=../shared/data .venv/bin/python bench/serving.py [--seconds 5] [--connections 8] [--rounds 2]

One run, one database, three servers on 127.0.0.1:

- **cached**: the publishing profile as published (``leftbehind.serve``'s inspect and serve
  commands), with its page cache: wrk asks for one URL again and again, so after the first
  request every answer is a cache hit;
- **uncached**: the same profile with its page cache off (``LEFTBEHIND_RESPONSE_CACHE=off``):
  what every first visitor, every filter combination and every worker process pays;
- **default**: stock Datasette, ``datasette serve --immutable leftbehind.db`` in the same
  environment: none of the site's plugins, metadata, templates or settings.

Every page type of ``bench/_pages.py`` is loaded with wrk for a bounded time (the streamed
CSV, seconds a request, with fewer connections), one server at a time so that they never compete
(each run starts when the server has finished the last: wrk leaves requests unanswered when it stops), interleaved (each round, each page, each server in turn) so
that load from others on this shared machine hits all alike. For each it prints requests per
second, p50/p99 latency, and the **CPU time per request** the server process (and any worker
processes under it) used, read from ``/proc``: on a shared machine, where other work takes
the cores at any moment, CPU per request moves far less than requests per second.

Targets (issue 26): uncached, every page type at least 1x default Datasette's equivalent,
and the people's pages (home, ward, council, region, Find my ward) and the wards table and
JSON at least 2x; ward pages and Find my ward answers under 20 ms each, uncached, with one
connection (``wrk -c1``, where p50 is the time a request takes rather than time queueing
behind others).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import _wrk
from _common import ROOT, database, out_dir, print_machine, save
from _pages import FLOOR, Page, pages

from leftbehind.serve import METADATA, STATIC, TEMPLATES, inspect_command, serve_command
from support.live import HOST, PROBE_PATH, free_port, running

SERVERS = ("cached", "uncached", "default")
PEOPLE_TARGET = 2.0
OTHER_TARGET = 1.0
FAST_TARGET_MS = 20.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    base: str
    pid: int
    log: Path

    def wait_until_idle(self, timeout: float = 120.0) -> None:
        """Until the server stops using CPU: requests wrk gave up on are still being answered."""
        deadline = time.monotonic() + timeout
        quiet, last = 0, cpu_seconds(self.pid)
        while quiet < 3:
            time.sleep(0.05)  # polling interval of a wait-for-condition, not a fixed wait
            now = cpu_seconds(self.pid)
            quiet = quiet + 1 if now - last < 0.005 else 0
            last = now
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.base} still busy after {timeout:.0f} s")


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of ``pid`` and every process under it, from /proc, with
    those of the processes under them that have ended: gunicorn replaces a worker after
    ``MAX_REQUESTS`` (a cached page reaches that in seconds), and a worker's CPU, gone from the
    tree, is then in its parent's ``cutime`` and ``cstime`` (counted once: only ended,
    waited-for processes are there)."""
    total = 0.0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(ticks) for ticks in fields[11:15]) / CLOCK_TICKS  # utime, stime, cutime, cstime
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


@contextmanager
def profile(db: Path, logs: Path, cache: bool, checkout: Path | None = None, workers: int | None = None):
    """The publishing profile, started as ``make serve`` starts it (leftbehind.serve's commands);
    from another ``checkout`` of the project (its code, templates and metadata) when given."""
    inspect_file = logs / f"{db.stem}-inspect.json"
    subprocess.run(inspect_command(db, inspect_file), check=True, capture_output=True)
    port = free_port()
    base = f"http://{HOST}:{port}"
    env = {} if cache else {"LEFTBEHIND_RESPONSE_CACHE": "off"}
    if workers is not None:
        env["LEFTBEHIND_WORKERS"] = str(workers)
    command = serve_command(db, inspect_file, HOST, port)
    if checkout is not None:
        site = {str(path): str(checkout / path.relative_to(ROOT)) for path in (METADATA, TEMPLATES, STATIC)}
        command = [next((arg.replace(ours, theirs) for ours, theirs in site.items() if ours in arg), arg)
                   for arg in command]
        env["PYTHONPATH"] = str(checkout)
    log = logs / f"profile-{port}.log"
    with running(command, base + PROBE_PATH, log, cwd=checkout, env=env) as process:
        yield Server(base, process.pid, log)


@contextmanager
def default(db: Path, logs: Path):
    """Stock Datasette on the same database: ``datasette serve --immutable leftbehind.db``."""
    port = free_port()
    base = f"http://{HOST}:{port}"
    command = [inspect_command(db)[0], "serve", "--immutable", str(db), "--host", HOST, "--port", str(port)]
    log = logs / f"default-{port}.log"
    with running(command, f"{base}/-/versions.json", log) as process:
        yield Server(base, process.pid, log)


def fetch(url: str) -> None:
    with urllib.request.urlopen(url, timeout=60) as response:
        assert response.status == 200, (url, response.status)
        response.read()


@dataclass
class Run:
    wrk: _wrk.Result
    cpu_seconds: float
    served: int  # requests the server worked on: wrk's, and those it stopped waiting for at the end

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_seconds * 1000 / self.served if self.served else float("inf")


def measure(server: Server, path: str, seconds: int, connections: int) -> Run:
    """wrk on one page, from an idle server until it is idle again, so no run inherits the last's work.

    The CPU is spent on the requests wrk counted, those it gave up on (errors, timeouts) and
    the one each connection still had waiting when wrk stopped, which the server answers anyway.
    """
    server.wait_until_idle()
    before = cpu_seconds(server.pid)
    result = _wrk.run(server.base + path, seconds, connections)
    server.wait_until_idle()
    return Run(result, cpu_seconds(server.pid) - before, result.requests + result.errors + connections)


def combine(runs: list[Run]) -> Run:
    results = [run.wrk for run in runs]
    return Run(
        _wrk.Result(
            requests=sum(r.requests for r in results),
            seconds=sum(r.seconds for r in results),
            bytes=sum(r.bytes for r in results),
            errors=sum(r.errors for r in results),
            status_errors=sum(r.status_errors for r in results),
            p50_ms=statistics.median(r.p50_ms for r in results),
            p99_ms=max(r.p99_ms for r in results),
            max_ms=max(r.max_ms for r in results),
        ),
        sum(run.cpu_seconds for run in runs),
        sum(run.served for run in runs),
    )


def paths_for(server: str, page: Page) -> str:
    """The page's URL on ``server``: default Datasette's equivalent, or the site's own."""
    return page.default if server == "default" else page.path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--page", action="append", default=[], help="only this page type (repeatable)")
    parser.add_argument("--workers", type=int, help="worker processes of the profile's servers (LEFTBEHIND_WORKERS; "
                        "default: the profile's own). Default Datasette has one: --workers 1 compares like with like")
    parser.add_argument("--before", type=Path, help="also serve, uncached, the profile of this other checkout "
                        "(for example `git archive main | tar -x -C DIR`), as the server 'before'")
    args = parser.parse_args()
    db = database()
    print_machine()
    load_before = os.getloadavg()
    page_list = {name: page for name, page in pages(db).items() if not args.page or name in args.page}
    page_list["floor: /-/settings.json"] = FLOOR
    logs = out_dir() / "serving-logs"
    logs.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        servers = {
            "cached": stack.enter_context(profile(db, logs, cache=True, workers=args.workers)),
            "uncached": stack.enter_context(profile(db, logs, cache=False, workers=args.workers)),
            "default": stack.enter_context(default(db, logs)),
        }
        if args.before:
            servers["before"] = stack.enter_context(
                profile(db, logs, cache=False, checkout=args.before.resolve(), workers=args.workers)
            )
        for name, server in servers.items():  # first requests read what is read once
            for page in page_list.values():
                fetch(server.base + paths_for(name, page))
        runs: dict[str, dict[str, list[Run]]] = {name: {page: [] for page in page_list} for name in servers}
        one: dict[str, dict[str, list[Run]]] = {name: {} for name in ("uncached", "default", "before") if name in servers}
        for number in range(1, args.rounds + 1):
            print(f"round {number} of {args.rounds} (load average {os.getloadavg()[0]:.2f}) ...", flush=True)
            for page_name, page in page_list.items():
                for name, server in servers.items():
                    connections = page.connections or args.connections
                    runs[name][page_name].append(measure(server, paths_for(name, page), args.seconds, connections))
            for page_name, page in page_list.items():
                if page.fast:
                    for name in one:
                        one[name].setdefault(page_name, []).append(
                            measure(servers[name], paths_for(name, page), args.seconds, 1)
                        )
    load_after = os.getloadavg()
    results = {name: {page: combine(r) for page, r in pages_.items()} for name, pages_ in runs.items()}
    latency = {name: {page: combine(r) for page, r in pages_.items()} for name, pages_ in one.items()}
    report(results, latency, page_list, args, load_before, load_after)
    return 0


def cell(run: Run) -> str:
    return f"{run.wrk.rps:7.1f} {run.wrk.p50_ms:6.1f}/{run.wrk.p99_ms:6.1f}"


def report(results, latency, page_list: dict[str, Page], args, load_before, load_after) -> None:
    before = "before" in results
    print(f"\nserving: wrk -t1 -c{args.connections} -d{args.seconds}s per page and server, {args.rounds} rounds "
          f"interleaved; load average {load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end; "
          f"the profile's worker processes: {args.workers or 'its default'}")
    print("requests/s, p50/p99 ms; cpu: the server's CPU ms per request; ratio: uncached over default "
          "(requests/s, and default's CPU per request over uncached's)"
          + ("; before: the other checkout, uncached, and its ratios" if before else ""))
    header = (f"{'page':26} {'cached':>22} {'uncached':>22} {'cpu':>6} {'default':>22} {'cpu':>6} "
              f"{'ratio':>6} {'cpu ratio':>9}"
              + (f" {'before':>22} {'cpu':>6} {'ratio':>6} {'cpu ratio':>9}" if before else "") + "  target")
    print(header)
    print("-" * len(header))
    rows = {}
    for name, page in page_list.items():
        c, u, d = (results[server][name] for server in SERVERS)
        ratio, cpu_ratio = ratios(u, d)
        target = None if name.startswith("floor") else (PEOPLE_TARGET if page.people else OTHER_TARGET)
        verdict = "" if target is None else f">= {target:.0f}x {'met' if ratio >= target else 'NOT met'}"
        dirty = [server for server in results if not results[server][name].wrk.clean]
        line = (f"{name:26} {cell(c):>22} {cell(u):>22} {u.cpu_ms_per_request:6.1f} {cell(d):>22} "
                f"{d.cpu_ms_per_request:6.1f} {ratio:5.2f}x {cpu_ratio:8.2f}x")
        if before:
            b = results["before"][name]
            b_ratio, b_cpu_ratio = ratios(b, d)
            line += f" {cell(b):>22} {b.cpu_ms_per_request:6.1f} {b_ratio:5.2f}x {b_cpu_ratio:8.2f}x"
        print(line + f"  {verdict}" + (f"  ERRORS in {dirty}" if dirty else ""))
        rows[name] = {
            "path": page.path, "default_path": page.default, "people": page.people, "target": target,
            "uncached_over_default": ratio, "cpu_default_over_uncached": cpu_ratio,
            **{server: vars(results[server][name].wrk) | {"rps": results[server][name].wrk.rps,
                                                          "cpu_ms_per_request": results[server][name].cpu_ms_per_request}
               for server in results},
        }
    print(f"\none connection (wrk -t1 -c1 -d{args.seconds}s, {args.rounds} rounds): requests/s, p50/p99 ms, CPU ms per request")
    fast = {}
    for page_name in latency["uncached"]:
        u = latency["uncached"][page_name]
        verdict = "met" if u.wrk.p50_ms < FAST_TARGET_MS else "NOT met"
        print(f"  {page_name:24} " + "   ".join(
            f"{server} {cell(latency[server][page_name])} cpu {latency[server][page_name].cpu_ms_per_request:5.1f}"
            for server in latency) + f"   uncached p50 < {FAST_TARGET_MS:.0f} ms {verdict}")
        fast[page_name] = {server: vars(latency[server][page_name].wrk) | {
            "cpu_ms_per_request": latency[server][page_name].cpu_ms_per_request} for server in latency}
    save("serving", {
        "seconds": args.seconds, "connections": args.connections, "rounds": args.rounds, "workers": args.workers,
        "load_average_before": load_before, "load_average_after": load_after,
        "pages": rows, "one_connection": fast, "fast_target_ms": FAST_TARGET_MS,
    })


def ratios(ours: Run, theirs: Run) -> tuple[float, float]:
    """Requests per second, ours over theirs; CPU per request, theirs over ours (above 1: ours cheaper)."""
    rps = ours.wrk.rps / theirs.wrk.rps if theirs.wrk.rps else float("inf")
    cpu = theirs.cpu_ms_per_request / ours.cpu_ms_per_request if ours.cpu_ms_per_request else float("inf")
    return rps, cpu


if __name__ == "__main__":
    raise SystemExit(main())
