"""The project's Datasette plugins on the tiny hand-written world (tests/support/tiny.py).

The database is written through the real table declarations and served with the
publishing profile's plugins and templates, so each plugin is tested in milliseconds
without the real source files.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

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
    assert "Ann Example (speaker; Director, Local Trust)" in text
    # Listed under 'further reading' and under 'briefing pack': the briefing pack comes first on a session page.
    assert text.index("Briefing pack Zebra report") < text.index("Further reading Zebra report")


async def test_a_session_with_nothing_known_says_so(site):
    text = text_of((await site.client.get("/leftbehind/sessions/evidence-session-2")).text)
    assert "No speaker or witness of this session is known." in text
    assert "No publication is known to be listed on this session's page" in text


async def test_footer_reads_the_build_facts_of_this_database(site):
    text = text_of((await site.client.get("/leftbehind/topics")).text)
    assert "Database built 2024-01-01T00:00:00Z" in text
    assert "from 9 pinned public source files" in text


async def test_about_page_counts_this_database(site):
    text = text_of((await site.client.get("/about")).text)
    assert "every English ward of the CNI (3;" in text
    assert "sessions (2), publications (2), people (1), organisations (2) and topics (1)" in text
    assert "For 1 wards that point is broken" in text
