"""The attack classes of ``bench/hostile_load.py`` (issue 10), each measured alone.

Every class runs while "victim" clients keep requesting ordinary pages that are
not in any cache (a different ward's row page or JSON each time), so the figures
say what an attack costs everyone else. For each class we record the server's
memory before and after (VmRSS) and its peak during (VmHWM, reset first), the
statuses the attack got, and the victims' latency while it ran.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx

MIB = 1024 * 1024
RUNAWAY_SQL = "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c"
# The same, as a table page's _where: the count, the rows and every facet run it.
RUNAWAY_WHERE = "(select count(*) from wards a, wards b, wards c) > 0"
# Each would build a value or a result of tens of megabytes in one function call or one page.
HUGE_RESULT_SQL = [
    "select zeroblob(20000000)",
    "select randomblob(20000000)",
    "select printf('%.*c', 20000000, 'x')",
    "select replace(hex(zeroblob(5000000)), '00', 'xx')",
    "select hex(zeroblob(200000)) from wards limit 250",
    "with recursive s(v, n) as (select 'x', 0 union all select v || v, n + 1 from s where n < 20)"
    " select v from s, wards where n = 20 limit 150",
]
# Item 6 of the issue: every one was a 500 in Datasette 0.65.
BAD_PARAMETERS = [
    "/leftbehind/wards?_facet=%00",
    "/leftbehind/wards.json?_facet_array=ward%00name",
    "/leftbehind/wards?_facet_date=%00",
    "/leftbehind/wards?_where=1%00",
    "/leftbehind/wards?ward%00name=x",
    "/leftbehind/wards?_timelimit=abc",
    "/leftbehind.json?sql=select+1&_timelimit=abc",
    '/leftbehind/wards?_through={"table":1,"column":2,"value":3}',
    "/leftbehind.json?sql=" + quote("select json_extract('{}', cast(x'ff' as text))"),
    "/leftbehind/wards.json?_where=" + quote("json_extract('{}', cast(x'ff' as text)) is null"),
]
EVIL = "evil.example"
# The header the load's server reads each visitor's address from (LEFTBEHIND_CLIENT_HEADER, as
# Fly's proxy states it), and the addresses of two visitors (documentation range, RFC 5737).
CLIENT_HEADER = "fly-client-ip"
ATTACKER, OTHER_VISITOR = "203.0.113.1", "203.0.113.2"


@dataclass
class Tally:
    """How long a class of requests took and what they got; ``dropped``: no answer at all."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    dropped: int = 0

    def add(self, status: int | None, seconds: float) -> None:
        if status is None:
            self.dropped += 1
            return
        self.latencies.append(seconds)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    @property
    def count(self) -> int:
        return len(self.latencies)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def summary(self) -> str:
        return (f"{self.count} requests, p50 {self.percentile(50) * 1000:.0f} ms, "
                f"p90 {self.percentile(90) * 1000:.0f} ms, "
                f"p99 {self.percentile(99) * 1000:.0f} ms, max {max(self.latencies, default=float('nan')) * 1000:.0f} ms, "
                f"statuses {dict(sorted(self.statuses.items()))}, no answer {self.dropped}")


class Memory:
    """The server's resident memory, read from /proc: its process and every worker process
    under it (gunicorn's workers, leftbehind/server.py), summed."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def pids(self) -> list[int]:
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            todo += [int(child) for child in children]
        return found

    def _status(self, key: str) -> int:
        total = 0
        for pid in self.pids():
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:
                continue  # a worker replaced meanwhile
            total += next((int(line.split()[1]) * 1024 for line in lines if line.startswith(key + ":")), 0)
        return total

    def rss(self) -> int:
        return self._status("VmRSS")

    def reset_peak(self) -> None:
        """Set each process's peak (VmHWM) to its current RSS (Linux: write 5 to clear_refs)."""
        for pid in self.pids():
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                pass

    def peak(self) -> int:
        """The sum of each process's peak: at least the peak of the sum."""
        return self._status("VmHWM")


@dataclass
class ClassResult:
    name: str
    rss_before: int
    rss_after: int
    peak: int
    victims: Tally
    attack: Tally
    notes: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"\n#### {self.name}", "",
               f"- server memory: {self.rss_before / MIB:.0f} MiB before, {self.rss_after / MIB:.0f} MiB after, "
               f"peak {self.peak / MIB:.0f} MiB (+{(self.peak - self.rss_before) / MIB:.0f} MiB)",
               f"- victims (uncached ordinary pages) meanwhile: {self.victims.summary()}"]
        if self.attack.latencies or self.attack.dropped:
            out.insert(3, f"- attack: {self.attack.summary()}")
        out += [f"- {note}" for note in self.notes]
        return out


class Victims:
    """Clients that keep asking for ordinary pages no cache holds, until stopped."""

    def __init__(self, base: str, ward_codes: list[str], clients: int = 2) -> None:
        self.base = base
        self.ward_codes = ward_codes
        self.clients = clients
        self.latencies = Tally()
        self._stop = asyncio.Event()
        self._next = count()

    def _path(self) -> str:
        n = next(self._next)
        code = self.ward_codes[n % len(self.ward_codes)]
        if n % 2:
            return f"/leftbehind/wards/{code}"
        return f"/leftbehind/wards.json?ward_code={code}&_shape=objects&_n={n}"

    async def _loop(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=30) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    response = await client.get(self._path())
                    await response.aread()
                    self.latencies.add(response.status_code, time.perf_counter() - started)
                except httpx.HTTPError:
                    self.latencies.add(None, time.perf_counter() - started)
                await asyncio.sleep(0.02)  # a steady trickle of visitors, not a flood

    async def run_during(self, attack) -> Tally:
        self.latencies = Tally()
        self._stop.clear()
        tasks = [asyncio.create_task(self._loop()) for _ in range(self.clients)]
        try:
            await attack()
        finally:
            self._stop.set()
            await asyncio.gather(*tasks)
        return self.latencies


async def timed_get(client: httpx.AsyncClient, path: str, **kwargs) -> tuple[httpx.Response | None, float]:
    started = time.perf_counter()
    try:
        response = await client.get(path, **kwargs)
        await response.aread()
        return response, time.perf_counter() - started
    except httpx.HTTPError:
        return None, time.perf_counter() - started


async def raw_request(base: str, request: bytes, timeout: float = 30) -> tuple[int | None, bytes, float]:
    """Send ``request`` bytes as they are; return the status, the whole answer and the time."""
    parts = urlsplit(base)
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port), timeout)
    except (OSError, asyncio.TimeoutError):
        return None, b"", time.perf_counter() - started
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
    except (OSError, asyncio.TimeoutError):
        return None, b"", time.perf_counter() - started
    finally:
        writer.close()
    match = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return (int(match.group(1)) if match else None), data, time.perf_counter() - started


# ---------------------------------------------------------------------------
# The classes


async def poisoned_cache(base: str, memory: Memory, victims: Victims) -> ClassResult:
    """Prime pages with hostile Host and forwarded headers, then read them as a visitor would."""
    origin = base
    own = urlsplit(base).netloc
    pages = ["/leftbehind/wards.json?_size=2&_poison=1", "/leftbehind/wards?_size=2&_poison=1",
             "/-/dashboards/left-behind?_poison=1", "/leftbehind/left_behind_neighbourhoods.json?_size=5&_poison=1"]
    attack = Tally()
    found: list[str] = []

    async def run() -> None:
        for page in pages:
            for headers in (
                f"Host: {EVIL}\r\n",
                f"Host: {EVIL}:{urlsplit(base).port}\r\n",
                f"Host: {own}\r\nX-Forwarded-Host: {EVIL}\r\nX-Forwarded-Proto: https\r\nForwarded: host={EVIL};proto=https\r\n",
            ):
                status, _, elapsed = await raw_request(base, f"GET {page} HTTP/1.1\r\n{headers}Connection: close\r\n\r\n".encode())
                attack.add(status, elapsed)
            status, _, elapsed = await raw_request(base, f"GET {page} HTTP/1.0\r\n\r\n".encode())
            attack.add(status, elapsed)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            for page in pages:
                response, elapsed = await timed_get(client, page)
                attack.add(response.status_code if response else None, elapsed)
                if response is None:
                    continue
                text = response.text + " " + response.headers.get("link", "")
                for bad in (EVIL, "://localhost", "https://" + own):
                    if bad in text:
                        found.append(f"{page} names {bad}")
                if page.startswith("/leftbehind/wards.json"):
                    next_url = response.json().get("next_url") or ""
                    if not next_url.startswith(origin + "/"):
                        found.append(f"{page}: next_url {next_url!r}")
                    if not response.headers.get("link", "").startswith(f"<{origin}/"):
                        found.append(f"{page}: Link {response.headers.get('link')!r}")

    result = await measured("Poisoned cache: hostile Host, forwarded headers, HTTP/1.0 without Host", memory, victims, run, attack)
    result.notes.append("poisoned-cache check: " + ("clean, every absolute URL names the site's origin" if not found else "POISONED: " + "; ".join(found)))
    if found:
        result.missed.append("poisoned cache: " + "; ".join(found))
    return result


async def huge_results(base: str, memory: Memory, victims: Victims) -> ClassResult:
    """Ad-hoc SQL whose one value, or whose page of rows, is tens of megabytes."""
    attack = Tally()
    per_request: list[str] = []
    worst = 0

    async def run() -> None:
        nonlocal worst
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            for sql in HUGE_RESULT_SQL:
                before = memory.rss()
                memory.reset_peak()
                response, elapsed = await timed_get(client, "/leftbehind.json", params={"sql": sql})
                raised = memory.peak() - before
                worst = max(worst, raised)
                attack.add(response.status_code if response else None, elapsed)
                size = len(response.content) if response else 0
                per_request.append(f"`{sql[:60]}`: {response.status_code if response else 'failed'}, "
                                   f"{size / 1000:.0f} kB, {elapsed * 1000:.0f} ms, memory +{raised / MIB:.0f} MiB")

    result = await measured("Huge results: one value or one page of tens of megabytes", memory, victims, run, attack)
    result.notes += per_request
    result.notes.append(f"largest rise in server memory from one request: {worst / MIB:.0f} MiB (target: under 100 MB)")
    if worst > 100 * 1000 * 1000:
        result.missed.append(f"huge results: one request raised memory by {worst / MIB:.0f} MiB")
    return result


async def long_urls(base: str, memory: Memory, victims: Victims, log: Path) -> ClassResult:
    """3,000 parameters and a 100 KB URL, each sent repeatedly."""
    attack = Tally()
    # 3,000 different column filters in 12 KB: Datasette 0.65 parses the query string again for each.
    many = "/leftbehind/wards?" + "&".join(parameter_names(3000))
    long = "/leftbehind/wards?ward_name=" + "x" * 100_000
    notes: list[str] = []
    log_before = log.stat().st_size

    async def run() -> None:
        # Raw requests: httpx refuses to send a URL over 64 KB.
        host = urlsplit(base).netloc
        for label, path in (("3,000 parameters", many), ("100 KB URL", long)):
            times = []
            for i in range(3):
                request = f"GET {path}&_n={i} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
                status, _, elapsed = await raw_request(base, request, timeout=120)
                attack.add(status, elapsed)
                times.append(elapsed)
            notes.append(f"{label} ({len(path):,} bytes): last status {status}, slowest of 3 {max(times) * 1000:.0f} ms")

    result = await measured("Long URLs: 3,000 parameters, 100 KB", memory, victims, run, attack)
    result.notes += notes
    result.notes.append(f"server log grew by {(log.stat().st_size - log_before) / 1000:.0f} kB for these 6 requests")
    if attack.latencies and max(attack.latencies) > 1.0:
        result.missed.append(f"long URLs: slowest answer {max(attack.latencies):.2f} s, over 1 s")
    return result


def parameter_names(count: int) -> list[str]:
    """``count`` different short lower-case names: two letters, then three."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    names = [a + b for a in letters for b in letters] + [a + b + c for a in letters for b in letters for c in letters]
    return names[:count]


async def cache_flood(base: str, memory: Memory, victims: Victims, requests: int, cap: int, overhead: int) -> ClassResult:
    """Thousands of unique long URLs, each a cacheable 200, to fill the page cache."""
    attack = Tally()
    pad = "p" * 12_000

    async def run() -> None:
        limits = httpx.Limits(max_connections=4)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            queue = iter(range(requests))

            async def worker() -> None:
                for i in queue:
                    response, elapsed = await timed_get(client, f"/leftbehind/topics.json?_flood={i}&_pad={pad}")
                    attack.add(response.status_code if response else None, elapsed)

            await asyncio.gather(*(worker() for _ in range(4)))

    result = await measured(f"Cache flood: {requests:,} unique 12 KB URLs", memory, victims, run, attack)
    grown = result.rss_after - result.rss_before
    result.notes.append(f"server memory grew by {grown / MIB:.0f} MiB; the cache's cap is {cap / MIB:.0f} MiB "
                        f"and the stated overhead {overhead / MIB:.0f} MiB")
    if grown > cap + overhead:
        result.missed.append(f"cache flood: memory grew {grown / MIB:.0f} MiB, over cap {cap / MIB:.0f} + overhead {overhead / MIB:.0f} MiB")
    return result


async def runaway_sql(base: str, memory: Memory, victims: Victims, seconds: float, clients: int = 4) -> ClassResult:
    """``clients`` connections loop a query that runs until the time limit cuts it off.

    Half send it as ``?sql=``, half as a ``_where`` on the publications table,
    whose page also runs six facets with it.
    """
    attack = Tally()

    async def run() -> None:
        deadline = time.perf_counter() + seconds
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:

            async def loop(n: int) -> None:
                path, params = (("/leftbehind.json", {"sql": RUNAWAY_SQL}) if n % 2 == 0 else
                                ("/leftbehind/publications", {"_where": RUNAWAY_WHERE}))
                while time.perf_counter() < deadline:
                    response, elapsed = await timed_get(client, path, params=params)
                    attack.add(response.status_code if response else None, elapsed)

            await asyncio.gather(*(loop(n) for n in range(clients)))

    result = await measured(f"Runaway SQL: {clients} clients loop a query cut off at the time limit, {seconds:.0f} s",
                            memory, victims, run, attack)
    p99 = result.victims.percentile(99)
    result.notes.append(f"ordinary uncached pages meanwhile: p99 {p99 * 1000:.0f} ms (target: under 250 ms)")
    if not p99 < 0.25:
        result.missed.append(f"runaway SQL: victims' p99 {p99 * 1000:.0f} ms, not under 250 ms")
    return result


async def bad_parameters(base: str, memory: Memory, victims: Victims) -> ClassResult:
    """The parameters that gave 500s in Datasette 0.65."""
    attack = Tally()
    notes: list[str] = []

    async def run() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            for path in BAD_PARAMETERS:
                response, elapsed = await timed_get(client, path)
                attack.add(response.status_code if response else None, elapsed)
                notes.append(f"`{path[:70]}`: {response.status_code if response else 'failed'}")

    result = await measured("Bad parameters (NUL bytes, _timelimit, _through, invalid UTF-8)", memory, victims, run, attack)
    result.notes += notes
    return result


async def slow_clients(base: str, memory: Memory, victims: Victims, connections: int, hold_seconds: float) -> ClassResult:
    """Connections that send their headers one byte every second and never finish."""
    attack = Tally()  # no statuses: these requests never finish
    parts = urlsplit(base)
    closed_after: list[float] = []

    async def one() -> None:
        started = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        except OSError:
            closed_after.append(0.0)
            return
        request = f"GET / HTTP/1.1\r\nHost: {parts.netloc}\r\nX-Slow: ".encode() + b"a" * 10_000
        try:
            for byte in request:
                writer.write(bytes([byte]))
                await writer.drain()
                try:
                    data = await asyncio.wait_for(reader.read(1024), 1.0)
                except asyncio.TimeoutError:
                    data = None
                if data is not None:  # the server answered or closed the connection
                    break
                if time.perf_counter() - started > hold_seconds:
                    break
        except OSError:
            pass
        finally:
            writer.close()
        closed_after.append(time.perf_counter() - started)

    async def run() -> None:
        await asyncio.gather(*(one() for _ in range(connections)))

    result = await measured(f"Slow clients: {connections} connections sending headers one byte a second", memory, victims, run, attack)
    held = sum(1 for t in closed_after if t >= hold_seconds)
    result.notes.append(f"server closed {len(closed_after) - held} of {len(closed_after)} within {hold_seconds:.0f} s "
                        f"(slowest after {max(closed_after, default=0):.1f} s); {held} still open when the client gave up")
    if held:
        result.missed.append(f"slow clients: {held} connections held open for {hold_seconds:.0f} s")
    return result


async def measured(name: str, memory: Memory, victims: Victims, run, attack: Tally) -> ClassResult:
    before = memory.rss()
    memory.reset_peak()
    victim_latencies = await victims.run_during(run)
    peak = memory.peak()
    return ClassResult(name, before, memory.rss(), peak, victim_latencies, attack)


# ---------------------------------------------------------------------------
# The classes of issue 21: work a request could make as large as it liked, spellings
# that walked around the SQL lane, and clients that hold what they are sent.

VICTIM_P90_SECONDS = 0.3
VICTIM_MAX_SECONDS = 1.0
MEMORY_RISE_BYTES = 100 * 1000 * 1000
TEN_FACETS = ("region_name", "lad_name", "lad24_name", "left_behind_2020", "left_behind_2019", "ward_name",
              "population", "cni_rank", "latitude", "longitude")


def judged(result: ClassResult, label: str) -> ClassResult:
    """The issue's targets for every class: victims' p90 under 300 ms and never over 1 s, memory up < 100 MB."""
    v = result.victims
    top = max(v.latencies, default=0.0)
    rise = result.peak - result.rss_before
    result.notes.append(f"victims p90 {v.percentile(90) * 1000:.0f} ms, max {top * 1000:.0f} ms; "
                        f"memory +{rise / MIB:.0f} MiB at the peak (targets: 300 ms, 1 s, 100 MB)")
    if not v.percentile(90) < VICTIM_P90_SECONDS:
        result.missed.append(f"{label}: victims' p90 {v.percentile(90) * 1000:.0f} ms")
    if top > VICTIM_MAX_SECONDS:
        result.missed.append(f"{label}: a victim waited {top * 1000:.0f} ms")
    if rise > MEMORY_RISE_BYTES:
        result.missed.append(f"{label}: memory rose {rise / MIB:.0f} MiB")
    return result


async def looping(base: str, seconds: float, clients: int, request, attack: Tally, headers: dict | None = None) -> None:
    """``clients`` connections each sending ``request(n)`` (a path and its parameters) until the time is up."""
    deadline = time.perf_counter() + seconds
    counter = count()
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=headers) as client:

        async def loop() -> None:
            while time.perf_counter() < deadline:
                path, params = request(next(counter))
                response, elapsed = await timed_get(client, path, params=params)
                attack.add(response.status_code if response else None, elapsed)

        await asyncio.gather(*(loop() for _ in range(clients)))


async def encoded_lane_bypass(base: str, memory: Memory, victims: Victims, seconds: float) -> ClassResult:
    """Runaway SQL spelled so that a raw-bytes match misses it: a tilde-encoded database name,
    percent-encoded parameter names."""
    attack = Tally()
    spellings = [
        ("/leftbehin~64.json", {"sql": RUNAWAY_SQL}),
        ("/leftbehind.json", {"s%71l": RUNAWAY_SQL}),
        ("/leftbehind/publications", {"_wh%65re": RUNAWAY_WHERE}),
        ("/leftbehind/publications.json", {"_where": RUNAWAY_WHERE}),
    ]

    def request(n: int):
        path, params = spellings[n % len(spellings)]
        # httpx would encode the % of a pre-encoded name: write the query string by hand
        query = "&".join(f"{name}={quote(value)}" for name, value in params.items())
        return f"{path}?{query}&_n={n}", None

    result = await measured(f"Encoded lane bypasses: 4 clients loop runaway SQL in other spellings, {seconds:.0f} s",
                            memory, victims, lambda: looping(base, seconds, 4, request, attack), attack)
    ran = sum(n for status, n in attack.statuses.items() if status == 200)
    result.notes.append(f"runaway queries that ran to a 200: {ran}; refused at the lane (429): "
                        f"{attack.statuses.get(429, 0)}; cut off at the time limit (400): {attack.statuses.get(400, 0)}")
    return judged(result, "encoded lane bypasses")


MARKDOWN_SQL = "select printf('%.*c', 120000, 'x') as body_markdown"
JSON_ARRAY_SQL = ("with recursive n(i) as (select 1 union all select i + 1 from n where i < 100000) "
                  "select '[' || group_concat('\"item' || i || '\"', ',') || ']' as topics from n")


async def heavy_cells(base: str, memory: Memory, victims: Victims, seconds: float) -> ClassResult:
    """?sql= HTML pages whose cells were rendered as Markdown (120 KB) or as lists (a 1 MB JSON array)."""
    attack = Tally()

    def request(n: int):
        return "/leftbehind", {"sql": (MARKDOWN_SQL, JSON_ARRAY_SQL)[n % 2] + f" -- {n}"}

    result = await measured(f"Markdown and JSON-array cells: 2 clients loop 120 KB *_markdown and 1 MB array cells, "
                            f"{seconds:.0f} s", memory, victims, lambda: looping(base, seconds, 2, request, attack), attack)
    return judged(result, "heavy cells")


async def ten_facet_pages(base: str, memory: Memory, victims: Victims, seconds: float) -> ClassResult:
    """wards?_size=1000&_facet_size=max with ten facets, each request missing the cache."""
    attack = Tally()
    facets = "&".join(f"_facet={name}" for name in TEN_FACETS)

    def request(n: int):
        fmt = "" if n % 2 else ".json"
        return f"/leftbehind/wards{fmt}?_size=1000&_facet_size=max&{facets}&_n={n}", None

    result = await measured(f"Ten-facet 1,000-row pages: 3 clients, HTML and JSON, {seconds:.0f} s", memory, victims,
                            lambda: looping(base, seconds, 3, request, attack), attack)
    return judged(result, "ten-facet pages")


async def raw_search(base: str, memory: Memory, victims: Victims, seconds: float) -> ClassResult:
    """Raw FTS5 queries of 1,500 prefix terms on the publications table."""
    attack = Tally()
    terms = " OR ".join(f"{a}{b}*" for a in "abcdefghijklmnopqrstuvwxyz" for b in "abcdefghijklmnopqrstuvwxyz")[:14_000]

    def request(n: int):
        return "/leftbehind/publications.json", {"_search": terms, "_searchmode": "raw", "_n": str(n)}

    result = await measured(f"Raw full-text search: 4 clients loop 1,500-term prefix queries, {seconds:.0f} s",
                            memory, victims, lambda: looping(base, seconds, 4, request, attack), attack)
    return judged(result, "raw full-text search")


async def backslash_cookie(base: str, memory: Memory, victims: Victims, seconds: float) -> ClassResult:
    """Ordinary uncached pages asked for with a Cookie of 15,000 backslashes (CVE-2024-7592)."""
    attack = Tally()

    def request(n: int):
        return "/leftbehind/wards.json", {"_size": "5", "_n": str(n)}

    result = await measured(f"Backslash cookie: 4 clients, a 15,000-backslash Cookie on uncached pages, {seconds:.0f} s",
                            memory, victims,
                            lambda: looping(base, seconds, 4, request, attack, headers={"cookie": "\\" * 15_000}),
                            attack)
    return judged(result, "backslash cookie")


async def never_read(base: str, path: str, rcvbuf: int = 4096):
    """Open a connection, ask for ``path`` and read nothing; returns the open socket's writer."""
    parts = urlsplit(base)
    import socket

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
    await asyncio.get_running_loop().sock_sendall(sock, f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
    return sock


async def never_reading_stream(base: str, memory: Memory, victims: Victims, seconds: float) -> ClassResult:
    """One client asks for a streamed ad-hoc CSV (a _where) and never reads; others send ordinary ad-hoc SQL."""
    attack = Tally()

    async def run() -> None:
        sock = await never_read(base, "/leftbehind/wards.csv?_stream=on&_where=1%3D1&_labels=on")
        try:
            await looping(base, seconds, 1, lambda n: ("/leftbehind.json", {"sql": f"select {n} as n"}), attack)
        finally:
            sock.close()

    result = await measured(f"A never-reading stream: one streamed _where CSV never read; ad-hoc SQL meanwhile, "
                            f"{seconds:.0f} s", memory, victims, run, attack)
    denied = attack.statuses.get(429, 0)
    result.notes.append(f"ordinary ad-hoc queries meanwhile: {attack.count}, of which 429: {denied}")
    if denied or not attack.statuses.get(200):
        result.missed.append(f"never-reading stream: {denied} of {attack.count} ad-hoc queries got 429")
    return judged(result, "never-reading stream")


async def staggered_starvation(base: str, memory: Memory, victims: Victims, seconds: float) -> ClassResult:
    """One client starts a runaway query every 270 ms (3.7 a second); another sends an ordinary one every 500 ms.
    Both connect from 127.0.0.1, as all visitors reach a published copy from its proxy; each names
    itself in the proxy's client header, as the proxy would."""
    attack = Tally()
    others = Tally()

    async def run() -> None:
        deadline = time.perf_counter() + seconds
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=httpx.Limits(max_connections=50)) as client:

            async def one(n: int) -> None:
                response, elapsed = await timed_get(client, "/leftbehind.json", params={"sql": RUNAWAY_SQL, "_n": n},
                                                    headers={CLIENT_HEADER: ATTACKER})
                attack.add(response.status_code if response else None, elapsed)

            async def attacker() -> None:
                tasks, n = [], 0
                while time.perf_counter() < deadline:
                    tasks.append(asyncio.create_task(one(n)))
                    n += 1
                    await asyncio.sleep(0.27)
                await asyncio.gather(*tasks)

            async def other() -> None:
                async with httpx.AsyncClient(base_url=base, timeout=60) as own:
                    n = 0
                    while time.perf_counter() < deadline:
                        response, elapsed = await timed_get(own, "/leftbehind.json",
                                                            params={"sql": "select count(*) from wards", "_n": n},
                                                            headers={CLIENT_HEADER: OTHER_VISITOR})
                        others.add(response.status_code if response else None, elapsed)
                        n += 1
                        await asyncio.sleep(0.5)

            await asyncio.gather(attacker(), other())

    result = await measured(f"Staggered lane starvation: runaway SQL started 3.7 times a second, {seconds:.0f} s",
                            memory, victims, run, attack)
    denied = others.statuses.get(429, 0)
    share = denied / others.count if others.count else 1.0
    result.notes.append(f"the other client's ad-hoc queries: {others.summary()}; denied {share:.0%}")
    if share > 0.1:
        result.missed.append(f"staggered starvation: {share:.0%} of the other client's queries denied")
    return judged(result, "staggered starvation")


async def never_reading_readers(base: str, memory: Memory, victims: Victims, clients: int = 20,
                                hold_seconds: float = 25) -> ClassResult:
    """``clients`` connections ask for large answers (1 MB JSON, a 2 MB streamed CSV) and never read."""
    attack = Tally()

    async def run() -> None:
        socks = []
        for n in range(clients):
            path = (f"/leftbehind/wards.json?_size=max&_labels=on&_extra=count&_n={n}" if n % 2 else
                    f"/leftbehind/wards.csv?_stream=on&_labels=on&_n={n}")
            socks.append(await never_read(base, path))
        deadline = time.perf_counter() + hold_seconds
        while time.perf_counter() < deadline:
            await asyncio.sleep(0.5)
        for sock in socks:
            sock.close()

    result = await measured(f"Slow readers: {clients} connections ask for 1-2 MB answers and never read, "
                            f"{hold_seconds:.0f} s", memory, victims, run, attack)
    return judged(result, "never-reading readers")
