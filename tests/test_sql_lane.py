"""Issue 21: which requests run visitors' SQL is decided from what Datasette reads, and the lane is fair.

The lane (leftbehind/site/sql_lane.py) is tested through Datasette's own test client with
its only place taken: every spelling of a request that runs a visitor's SQL must then wait
and get 429, whatever way its path or parameter names are written; the site's own pages
must not. Fairness is tested on the lane itself; the place being held only while SQL runs
(never while a stream waits for its reader) and the write deadline through a real server.
"""

from __future__ import annotations

import asyncio
import socket
import time
from urllib.parse import quote

import httpx
import pytest

from conftest import profile_datasette
from support.live import HOST, profile_server
from leftbehind.site import sql_lane

RUNS_VISITORS_SQL = [
    "/leftbehind.json?sql=select+1",
    "/leftbehind?sql=select+1",
    "/leftbehind.csv?sql=select+1",
    "/leftbehind.atom?sql=" + quote("select 1 as atom_id, 'a' as atom_title, '2020' as atom_updated"),
    # the database's name tilde-encoded, as Datasette decodes it
    "/leftbehin~64.json?sql=select+1",
    # the parameter's name percent-encoded, in part or whole
    "/leftbehind.json?s%71l=select+1",
    "/leftbehind.json?%73%71%6C=select+1",
    "/leftbehind.json?sql=select%201&sql=select%202",
    "/leftbehind/wards.json?_where=1%3D1",
    "/leftbehind/wards?_wh%65re=1%3D1",
    "/leftbehind/w~61rds.json?_where=1%3D1",
    "/leftbehind/wards.csv?_stream=on&_where=1%3D1",
    "/leftbehind/publications.json?_search=covid&_searchmode=raw",
    "/leftbehind/publications.json?_se%61rch=covid&_searchmode=r%61w",
    "/leftbehind/publications?_search_title=covid&_searchmode=raw",
]
ORDINARY = [
    "/leftbehind/publications.json?_search=covid",
    "/leftbehind/wards.json?ward_name=Talavera",
    "/leftbehind/find_ward.json?name=park",
    "/leftbehind/wards/E05001595.json",
]


@pytest.fixture(scope="module")
async def full_lane(db_path, metadata):
    """The profile's Datasette with its lane's only place taken by another client."""
    datasette = profile_datasette(db_path, metadata)
    await datasette.client.get("/leftbehind.json")  # Datasette's own first-request work
    lane = sql_lane.lane_for(datasette)
    lane.wait = 0.2
    assert await lane.acquire("another client")
    yield datasette
    lane.release()


@pytest.mark.parametrize("path", RUNS_VISITORS_SQL)
async def test_every_spelling_of_a_visitors_sql_waits_for_the_lane(full_lane, path):
    response = await full_lane.client.get(path)
    assert response.status_code == 429, (path, response.status_code, response.text[:200])
    assert response.headers["retry-after"] == str(sql_lane.RETRY_AFTER_SECONDS)


@pytest.mark.parametrize("path", ORDINARY)
async def test_the_sites_own_queries_do_not_wait_for_the_lane(full_lane, path):
    response = await full_lane.client.get(path)
    assert response.status_code == 200, (path, response.text[:200])


async def test_the_dashboards_chart_queries_are_the_sites_own(full_lane):
    chart_query = sorted(sql_lane.site_queries(full_lane))[0]
    response = await full_lane.client.get("/leftbehind.json", params={"sql": chart_query})
    assert response.status_code == 200


async def test_a_client_sending_query_after_query_cannot_starve_another():
    """Client A holds the place and has three more queries waiting; B's one query is next, though it came last."""
    lane = sql_lane.FairLane(slots=1, wait=5)
    served: list[str] = []
    assert await lane.acquire("a")

    async def query(client: str) -> None:
        assert await lane.acquire(client)
        served.append(client)
        lane.release()

    waiting = [asyncio.create_task(query("a")) for _ in range(3)]
    await asyncio.sleep(0)
    waiting.append(asyncio.create_task(query("b")))
    await asyncio.sleep(0)
    lane.release()
    await asyncio.gather(*waiting)
    assert served == ["b", "a", "a", "a"]


async def test_clients_take_turns_whoever_asks_most():
    lane = sql_lane.FairLane(slots=1, wait=5)
    served: list[str] = []
    assert await lane.acquire("a")

    async def query(client: str) -> None:
        assert await lane.acquire(client)
        served.append(client)
        lane.release()

    tasks = [asyncio.create_task(query(client)) for client in ["a", "a", "a", "b", "c", "b"]]
    await asyncio.sleep(0)
    lane.release()
    await asyncio.gather(*tasks)
    assert served == ["b", "c", "a", "b", "a", "a"]


async def test_a_client_with_too_many_queries_waiting_is_refused_at_once():
    lane = sql_lane.FairLane(slots=1, wait=5, per_client=2)
    assert await lane.acquire("a")
    waiting = [asyncio.create_task(lane.acquire("a")) for _ in range(2)]
    await asyncio.sleep(0)
    started = time.monotonic()
    assert not await lane.acquire("a")
    assert time.monotonic() - started < 0.5
    lane.release()
    lane.release()
    assert await asyncio.gather(*waiting) == [True, True]


def test_a_stream_nobody_reads_holds_no_place_and_is_cut_off(db_path, tmp_path):
    """A streamed CSV of a visitor's _where, never read: others' SQL is answered meanwhile, and
    the server gives up on the connection once the write deadline passes."""
    env = {"LEFTBEHIND_WORKERS": "1", "LEFTBEHIND_WRITE_TIMEOUT": "3"}
    with profile_server(db_path, tmp_path, env=env) as base:
        port = int(base.rsplit(":", 1)[1])
        log = tmp_path / f"profile-{port}.log"
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect((HOST, port))
        stalled.sendall(f"GET /leftbehind/wards.csv?_stream=on&_where=1%3D1&_labels=on HTTP/1.1\r\n"
                        f"Host: {HOST}:{port}\r\n\r\n".encode())
        try:
            with httpx.Client(base_url=base, timeout=30) as client:
                for n in range(3):
                    response = client.get("/leftbehind.json", params={"sql": f"select {n} as n"})
                    assert response.status_code == 200, response.text[:200]
            deadline = time.monotonic() + 30
            while "took none of its answer" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.05)  # polling for the server's log line, not a fixed wait
            assert "took none of its answer" in log.read_text()
            stalled.settimeout(30)
            received = b""
            while chunk := stalled.recv(65536):
                received += chunk
            assert received.startswith(b"HTTP/1.1 200")
            assert not received.endswith(b"0\r\n\r\n"), "the whole export was sent: nothing was cut off"
        finally:
            stalled.close()


def scope_from(peer: str, *headers: tuple[bytes, bytes]) -> dict:
    return {"type": "http", "client": (peer, 50000), "headers": list(headers)}


def test_behind_no_proxy_the_client_is_the_connections_address(monkeypatch):
    """Without a configured header, a client header a visitor sends is ignored: it could name anyone."""
    monkeypatch.delenv(sql_lane.CLIENT_HEADER_VARIABLE, raising=False)
    assert sql_lane.client_of(scope_from("198.51.100.7", (b"fly-client-ip", b"203.0.113.1"))) == "198.51.100.7"


def test_behind_a_proxy_each_visitor_is_the_address_the_proxy_states(monkeypatch):
    """Every request comes from the proxy's address; the proxy's header tells visitors apart."""
    monkeypatch.setenv(sql_lane.CLIENT_HEADER_VARIABLE, "Fly-Client-IP")
    proxy = "172.16.0.2"
    first = sql_lane.client_of(scope_from(proxy, (b"fly-client-ip", b"203.0.113.1")))
    second = sql_lane.client_of(scope_from(proxy, (b"fly-client-ip", b" 2001:DB8::1 ")))
    assert (first, second) == ("203.0.113.1", "2001:db8::1")
    # The proxy's value is the last, where a proxy that adds rather than replaces puts it.
    assert sql_lane.client_of(scope_from(proxy, (b"fly-client-ip", b"192.0.2.9"), (b"fly-client-ip", b"203.0.113.1"))) == first
    # Anything but an address, or no header, is the connection's own address.
    for headers in ([(b"fly-client-ip", b"anyone")], [(b"fly-client-ip", "\u00e9".encode("latin-1"))], []):
        assert sql_lane.client_of(scope_from(proxy, *headers)) == proxy


async def test_two_visitors_behind_one_proxy_take_turns(db_path, metadata, monkeypatch):
    """Through the site: with the lane held and one visitor's waiting queue full, that visitor is
    refused at once, while another visitor behind the same proxy still gets in line."""
    monkeypatch.setenv(sql_lane.CLIENT_HEADER_VARIABLE, "fly-client-ip")
    datasette = profile_datasette(db_path, metadata)
    await datasette.client.get("/leftbehind.json")
    lane = sql_lane.lane_for(datasette)
    lane.wait, lane.per_client = 5, 1
    assert await lane.acquire("203.0.113.1")
    waiting = asyncio.create_task(lane.acquire("203.0.113.1"))
    await asyncio.sleep(0)
    try:
        started = time.monotonic()
        refused = await datasette.client.get("/leftbehind.json?sql=select+1", headers={"fly-client-ip": "203.0.113.1"})
        assert refused.status_code == 429 and time.monotonic() - started < 2
        other = asyncio.create_task(
            datasette.client.get("/leftbehind.json?sql=select+1", headers={"fly-client-ip": "203.0.113.2"})
        )
        while "203.0.113.2" not in lane.queues:  # in line, behind the query that holds the place
            await asyncio.sleep(0.01)
        lane.release()  # the place goes to the visitor whose turn is oldest: the other one
        assert (await other).status_code == 200
    finally:
        lane.release()
        waiting.cancel()
