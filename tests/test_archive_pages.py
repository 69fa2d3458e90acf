"""The archive's pages for people (issue 24): a person's sessions in the role and position given at
the time, a session's evidence and reading, a publication's publishers, date and links, and the
archive's front page. Through Datasette's test client; expected values come from the catalogue's
YAML (data/*.yml), written in words by the test's own code.
"""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest


def words_of(html: str) -> str:
    text = re.sub(r"<script.*?</script>|<style.*?</style>|<head>.*?</head>", " ", html, flags=re.DOTALL)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", text)).split()).replace(" ,", ",").replace(" .", ".").replace(" :", ":")


def iso(value) -> str | None:
    """A catalogue date as ISO text: YAML reads 2021-01-26 as a date and 2021 as a number."""
    return None if value is None else str(value)


def in_words(date) -> str | None:
    """An ISO date at its own precision, as a person writes it."""
    date = iso(date)
    if not date:
        return None
    if len(date) == 4:
        return date
    if len(date) == 7:
        return dt.date.fromisoformat(date + "-01").strftime("%B %Y")
    day = dt.date.fromisoformat(date)
    return f"{day.day} {day:%B %Y}"


@pytest.fixture(scope="module")
def catalogue(catalogue_yaml):
    return {
        "sessions": {s["id"]: s for s in catalogue_yaml["sessions"]},
        "organisations": {o["id"]: o for o in catalogue_yaml["organisations"]},
        "people": catalogue_yaml["people"],
        "publications": catalogue_yaml["publications"],
    }


def session_label(session: dict) -> str:
    if session.get("number") is not None:
        return f"{session['kind'][:1].upper()}{session['kind'][1:]} {session['number']}"
    return session["title"]


async def page(datasette, path: str) -> str:
    response = await datasette.client.get(path)
    assert response.status_code == 200, path
    return response.text


async def test_a_persons_page_says_what_they_did_at_each_session_in_the_role_of_the_time(datasette, catalogue):
    for person in catalogue["people"]:
        html = await page(datasette, f"/leftbehind/people/{person['id']}")
        text = words_of(html)
        spoke = person.get("sessions", [])
        assert f"{person['name']} gave evidence at {len(spoke)} session{'s' if len(spoke) != 1 else ''}" in text or not spoke
        for link in spoke:
            session = catalogue["sessions"][link["session"]]
            assert f'href="/leftbehind/sessions/{session["id"]}"' in html, (person["id"], session["id"])
            organisation = catalogue["organisations"][link["organisation"]]["name"] if link.get("organisation") else None
            given = ", ".join(part for part in (link.get("position"), organisation) if part)
            said = f"{link['role'].capitalize()}, given as {given}." if given else f"{link['role'].capitalize()}; no position or organisation is given."
            assert said in text, (person["id"], said)
            assert f"({in_words(session.get('date')) or 'date not known'})" in text
        # In the order the sessions were held, undated last.
        held = sorted(spoke, key=lambda link: (catalogue["sessions"][link["session"]].get("date") is None,
                                               iso(catalogue["sessions"][link["session"]].get("date")) or "",
                                               session_label(catalogue["sessions"][link["session"]])))
        positions = [html.index(f'href="/leftbehind/sessions/{link["session"]}"') for link in held]
        assert positions == sorted(positions), person["id"]


async def test_a_session_page_says_who_gave_evidence_and_what_was_read(datasette, catalogue):
    for session_id, session in catalogue["sessions"].items():
        html = await page(datasette, f"/leftbehind/sessions/{session_id}")
        text = words_of(html)
        assert f"Held: {in_words(session.get('date')) or 'date not known'}" in text
        evidence = html[html.index('<h2 id="evidence">'): html.index('<h2 id="read">')]
        speakers = [(p, link) for p in catalogue["people"] for link in p.get("sessions", []) if link["session"] == session_id]
        for person, link in speakers:
            assert f'href="/leftbehind/people/{person["id"]}">{person["name"]}</a>, {link["role"]}' in unescape(evidence)
        if not speakers:
            assert "No speaker or witness of this session is known." in words_of(evidence)
        read = html[html.index('<h2 id="read">'): html.index('<h2 id="record">')]
        listed = [p for p in catalogue["publications"] for x in p.get("sessions", []) if x["session"] == session_id]
        for publication in listed:
            assert f'href="/leftbehind/publications/{publication["id"]}"' in read
        if not listed:
            assert "No publication is known" in words_of(read)


async def test_a_publication_page_names_its_publishers_roles_date_basis_and_links(datasette, catalogue):
    names = {o["id"]: o["name"] for o in catalogue["organisations"].values()}
    for publication in catalogue["publications"]:
        html = await page(datasette, f"/leftbehind/publications/{publication['id']}")
        text = words_of(html)
        for link in publication.get("organisations", []):
            assert f"{names[link['id']]}: {link['role']}" in text, (publication["id"], link)
        date, basis = publication.get("published"), publication.get("published_basis")
        if basis == "on or before session":
            session = catalogue["sessions"][publication["published_session"]]
            assert f"Published: on or before {in_words(date)}, the date of {session_label(session)}," in text
        elif basis == "stated":
            assert f"Published: {in_words(date)} (as a source states it)." in text
        elif basis == "inferred":
            assert f"Published: {in_words(date)} (inferred from other facts, not stated)." in text
        else:
            assert "Published: date not known." in text
        for url in [publication.get("url"), *publication.get("see_also", [])]:
            if url:
                assert f'href="{url}"' in unescape(html), (publication["id"], url)


async def test_the_archive_lists_every_session_in_the_order_held(datasette, catalogue):
    html = await page(datasette, "/archive")
    held = sorted(catalogue["sessions"].values(), key=lambda s: (s.get("date") is None, iso(s.get("date")) or "", session_label(s)))
    positions = [html.index(f'href="/leftbehind/sessions/{s["id"]}"') for s in held]
    assert positions == sorted(positions)
    assert f"{len(catalogue['sessions'])} sessions and events, {len(catalogue['publications'])} publications" in words_of(html)
    assert 'action="/leftbehind/publications"' in html and 'name="_search"' in html
