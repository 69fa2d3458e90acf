"""No silent truncation: a table page's CSV link exports every row, and every export says what
it holds. Through the publishing profile's whole stack (Datasette's test client); the rows
expected are read from the build with sqlite3."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

EXPORT_LINKS = re.compile(r'<p class="export-links">(.*?)</p>\s*<p class="lb-export-note">(.*?)</p>', re.DOTALL)


def export_links(page: str) -> tuple[dict[str, str], str]:
    """The export links of a page (text -> href) and the sentence under them, as plain text."""
    match = EXPORT_LINKS.search(page)
    assert match, "no export links followed by a note"
    links = {text: html.unescape(href) for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', match.group(1))}
    return links, " ".join(re.sub(r"<[^>]+>", "", html.unescape(match.group(2))).split())


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_the_wards_pages_csv_link_exports_all_7433_wards(datasette, data):
    codes = {row[0] for row in data.execute("select ward_code from wards")}
    assert len(codes) == 7433
    page = await datasette.client.get("/leftbehind/wards")
    links, note = export_links(page.text)
    assert note.startswith("The CSV link exports all 7,433 rows counted here, streamed")
    response = await datasette.client.get(links["CSV"])
    assert response.status_code == 200
    rows = csv_rows(response.text)
    assert len(rows) == 7433
    assert {row["ward_code"] for row in rows} == codes


async def test_a_filtered_later_page_exports_every_row_of_the_filter_from_the_first(datasette, data):
    expected = [row[0] for row in data.execute(
        "select ward_code from wards where region_name = 'North East' order by cni_rank")]
    assert len(expected) > 100  # more than a page
    page = await datasette.client.get("/leftbehind/wards?region_name=North+East&_sort=cni_rank&_next=100")
    links, note = export_links(page.text)
    assert note.startswith(f"The CSV link exports all {len(expected):,} rows counted here")
    assert "JSON gives 100 rows a page" in note
    rows = csv_rows((await datasette.client.get(links["CSV"])).text)
    assert [row["ward_code"] for row in rows] == expected


@pytest.mark.parametrize("path", ["/leftbehind/find_ward?name=park", "/leftbehind?sql=select+ward_code+from+wards"])
async def test_a_querys_exports_state_their_cap(datasette, path):
    cap = datasette.setting("max_returned_rows")
    links, note = export_links((await datasette.client.get(path)).text)
    assert f"A query's CSV and JSON hold at most {cap:,} rows" in note
    if "sql=" in path:  # all 7,433 wards asked for: the CSV stops at the cap it states
        assert len(csv_rows((await datasette.client.get(links["CSV"])).text)) == cap


def test_the_database_download_says_its_size(live_site, db_path):
    """Through the real server: a Content-Length, not a chunked stream of unknown length."""
    import httpx

    with httpx.stream("GET", live_site + "/leftbehind.db", timeout=60) as response:
        body = response.read()
    assert response.status_code == 200
    assert response.headers["content-length"] == str(db_path.stat().st_size)
    assert "transfer-encoding" not in response.headers
    assert body == db_path.read_bytes()
