"""The project's Datasette plugins on the tiny hand-written world (tests/support/tiny.py).

The database is written through the real table declarations and served with the
publishing profile's plugins and templates, so each plugin is tested in milliseconds
without the real source files.
"""

from __future__ import annotations

import html
import re

import pytest
from support import tiny

from conftest import profile_datasette


@pytest.fixture(scope="module")
def site(tmp_path_factory, metadata):
    path = tiny.database(tmp_path_factory.mktemp("tiny") / "leftbehind.db")
    return profile_datasette(path, metadata)


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


async def test_session_page_lists_speakers_and_publications_in_page_order(site):
    response = await site.client.get("/leftbehind/sessions/evidence-session-1")
    assert response.status_code == 200
    text = text_of(response.text)
    assert "Who gave evidence Ann Example, speaker: Director, Local Trust" in text
    # Listed under 'further reading' and under 'briefing pack': the briefing pack comes first on a session page.
    assert text.index("Briefing pack Zebra report") < text.index("Further reading Zebra report")


async def test_a_session_with_nothing_known_says_so(site):
    text = text_of((await site.client.get("/leftbehind/sessions/evidence-session-2")).text)
    assert "No speaker or witness of this session is known." in text
    assert "No publication is known to be listed on this session's page" in text


async def test_about_reads_the_build_facts_of_this_database(site):
    """The build's facts are on About (the footer of every page points there, issue 24)."""
    text = text_of((await site.client.get("/about")).text)
    assert "This database was built 2024-01-01T00:00:00Z" in text
    assert f"from {len(tiny.source_tables())} pinned public source files" in text


async def test_about_page_counts_this_database(site):
    text = text_of((await site.client.get("/about")).text)
    assert "every English ward of the CNI (3;" in text
    assert "sessions (2), publications (2), people (1), organisations (2) and topics (1)" in text
    assert "For 1 wards that point is broken" in text


async def test_todays_geography_and_outlines_in_the_tiny_database(site):
    """E1's LSOA L2 was split in 2021: half its 3,000 people follow each part (the stated rule)."""
    rows = (await site.client.get("/leftbehind/ward_links_2024.json?ward_code=E1&_shape=objects")).json()["rows"]
    assert {(r["ward24_code"], r["population"], r["population_share"]) for r in rows} == {
        ("V1", 2500, 0.625), ("V2", 1500, 0.375)
    }
    ward = (await site.client.get("/leftbehind/wards/E1.json?_shape=objects")).json()["rows"][0]
    assert (ward["lad24_name"], ward["wards24_count"], ward["wards24_names"]) == ("Greater D", 2, "New V1; New V2")
    # E3 has no LSOA: its council is the one where every other ward of its 2017 district lies.
    e3 = (await site.client.get("/leftbehind/wards/E3.json?_shape=objects")).json()["rows"][0]
    assert (e3["lad24_code"], e3["lad24_population_share"]) == (None, None)  # D2 has no other ward to go by
    outlines = (await site.client.get("/leftbehind/ward_outlines.json?_shape=objects")).json()["rows"]
    assert {(o["ward_code"], o["source_id"], o["point_inside"]) for o in outlines} == {
        ("E1", "lba_outlines_2020", 1), ("E2", "lba_outlines_2020", 1)
    }
    found = (await site.client.get("/leftbehind/wards.json?_search=Greater&_shape=objects")).json()["rows"]
    assert {r["ward_code"] for r in found} == {"E1"}  # by today's council's name
    found = (await site.client.get("/leftbehind/wards.json?_search=V3&_shape=objects")).json()["rows"]
    assert {r["ward_code"] for r in found} == {"E2"}  # by a 2024 ward's name
