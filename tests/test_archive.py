"""The whole APPG archive: sessions, people, officers, publications, their links, the feed and the search.

Expected values are derived from the YAML catalogue (read here with PyYAML, not with
the build's own loader), so a change to the data changes the expectation with it.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
import sqlite_utils
import yaml
from markupsafe import escape

from leftbehind.catalogue import CATALOGUE_FILES
from leftbehind.validation import StrictLoader

ATOM = "{http://www.w3.org/2005/Atom}"
# The facts of evidence session 1 and its 11 publications as the seed page gives them.
SESSION_1 = Path(__file__).parent / "fixtures" / "session_1.yml"


@pytest.fixture(scope="module")
def db(db_path: Path) -> sqlite_utils.Database:
    return sqlite_utils.Database(db_path)


def text_of(value) -> str | None:
    """A YAML date as the catalogue means it: PyYAML turns 2020-05-08 into a date object."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def session_label(session: dict) -> str:
    if session.get("number") is not None:
        return f"{session['kind'][0].upper()}{session['kind'][1:]} {session['number']}"
    return session.get("title") or session["id"]


@pytest.fixture(scope="module")
def session_1() -> dict[str, list[dict]]:
    return yaml.load(SESSION_1.read_text(encoding="utf-8"), Loader=StrictLoader)  # noqa: S506 - a safe loader


# --- The catalogue files -------------------------------------------------------------


@pytest.mark.parametrize("name", CATALOGUE_FILES)
def test_every_catalogue_file_is_sorted_by_unique_id(catalogue_yaml, name):
    ids = [record["id"] for record in catalogue_yaml[name]]
    assert ids == sorted(ids)
    assert len(ids) == len(set(ids))


def test_session_1_publications_keep_the_seed_pages_facts(catalogue_yaml, db, session_1):
    before = session_1["publications"]
    assert len(before) == 11
    now = {p["id"]: p for p in catalogue_yaml["publications"]}
    for record in before:
        assert record["id"] in now, f"{record['id']} was removed"
        for key, value in record.items():
            current = now[record["id"]].get(key)
            if isinstance(value, list):  # the page's links are all still there; more may be known now
                assert all(item in current for item in value), (record["id"], key)
            else:
                assert text_of(current) == text_of(value), (record["id"], key)
        row = db["publications"].get(record["id"])
        assert row["title"] == record["title"]
        assert row["subtitle"] == record.get("subtitle")
        assert row["kind"] == record["kind"]
        assert row["published"] == text_of(now[record["id"]]["published"])
        assert row["published_basis"] == now[record["id"]]["published_basis"]
        assert row["url"] == record["url"]
    listed = {
        r["publication_id"]
        for r in db.query("select publication_id from session_publications where session_id = 'evidence-session-1'")
    }
    assert listed == {record["id"] for record in before}


def test_session_1_keeps_the_seed_pages_facts(catalogue_yaml, session_1):
    [before] = session_1["sessions"]
    now = {s["id"]: s for s in catalogue_yaml["sessions"]}[before["id"]]
    assert {key: now.get(key) for key in before} == before


# --- Referential integrity -----------------------------------------------------------


def test_foreign_keys_hold_and_are_declared(db):
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    declared = {(fk.table, fk.column, fk.other_table) for t in db.tables for fk in t.foreign_keys}
    assert {
        ("session_people", "session_id", "sessions"),
        ("session_people", "person_id", "people"),
        ("session_people", "organisation_id", "organisations"),
        ("appg_roles", "person_id", "people"),
        ("appg_roles", "organisation_id", "organisations"),
        ("session_publications", "publication_id", "publications"),
    } <= declared


def test_every_listed_publication_and_every_speakers_session_exists(db):
    orphans = db.execute(
        "select sp.session_id, sp.publication_id from session_publications sp "
        "left join publications p on p.id = sp.publication_id "
        "left join sessions s on s.id = sp.session_id where p.id is null or s.id is null"
    ).fetchall()
    assert orphans == []
    orphans = db.execute(
        "select x.session_id, x.person_id from session_people x "
        "left join sessions s on s.id = x.session_id "
        "left join people p on p.id = x.person_id where s.id is null or p.id is null"
    ).fetchall()
    assert orphans == []


def test_facet_and_foreign_key_columns_are_indexed(db):
    indexed = {(t.name, tuple(i.columns)) for t in db.tables for i in t.indexes}
    for table, column in [
        ("session_people", "person_id"),
        ("session_people", "organisation_id"),
        ("session_people", "role"),
        ("appg_roles", "person_id"),
        ("appg_roles", "organisation_id"),
        ("appg_roles", "role"),
    ]:
        assert (table, (column,)) in indexed, (table, column)


# --- Counts against the catalogue ----------------------------------------------------


def test_counts_match_the_catalogue(db, catalogue_yaml):
    sessions = catalogue_yaml["sessions"]
    publications = catalogue_yaml["publications"]
    people = catalogue_yaml["people"]
    assert dict(db.execute("select kind, count(*) from sessions group by kind").fetchall()) == dict(
        Counter(s["kind"] for s in sessions)
    )
    assert dict(db.execute("select kind, count(*) from publications group by kind").fetchall()) == dict(
        Counter(p["kind"] for p in publications)
    )
    assert db["people"].count == len(people)
    assert db["session_people"].count == sum(len(p.get("sessions", [])) for p in people)
    assert db["appg_roles"].count == len(catalogue_yaml["appg_roles"])
    assert db["organisations"].count == len(catalogue_yaml["organisations"])
    assert db["topics"].count == len(catalogue_yaml["topics"])
    assert db["publication_topics"].count == sum(len(set(p["topics"])) for p in publications)


def test_every_publication_has_a_topic_and_a_short_description(catalogue_yaml):
    for p in catalogue_yaml["publications"]:
        assert p["topics"], p["id"]
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", p["description"].strip()) if s]
        assert 1 <= len(sentences) <= 3, p["id"]


# --- Dates, unknowns and gaps --------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "date", "precision", "basis"),
    [
        ("sessions", "date", "date_precision", "date_basis"),
        ("publications", "published", "published_precision", "published_basis"),
        ("appg_roles", "start", "start_precision", "start_basis"),
        ("appg_roles", "end", "end_precision", "end_basis"),
    ],
)
def test_every_date_says_its_precision_and_basis(db, table, date, precision, basis):
    lengths = {"year": 4, "month": 7, "day": 10}
    for row in db[table].rows:
        if row[date] is None:
            assert row[precision] is None and row[basis] is None, row["id"]
        else:
            assert len(row[date]) == lengths[row[precision]], row["id"]
            allowed = ("stated", "inferred") + (("on or before session",) if table == "publications" else ())
            assert row[basis] in allowed, row["id"]


def test_session_8_is_recorded_as_unknown(db):
    row = db["sessions"].get("evidence-session-8")
    assert (row["kind"], row["number"]) == ("evidence session", 8)
    assert row["title"] is None and row["date"] is None and row["url"] is None
    assert "unknown" in row["summary"].lower()
    assert row["note"]


def test_every_evidence_session_number_is_present(db):
    numbers = sorted(r[0] for r in db.execute("select number from sessions where kind = 'evidence session'"))
    assert numbers == list(range(1, max(numbers) + 1))


# --- People and the APPG's officers --------------------------------------------------


def test_speakers_at_each_session_match_the_catalogue(db, catalogue_yaml):
    expected = {
        (a["session"], person["id"], a["role"])
        for person in catalogue_yaml["people"]
        for a in person.get("sessions", [])
    }
    assert {tuple(r) for r in db.execute("select session_id, person_id, role from session_people")} == expected


def test_co_chairs_and_secretariat(db, catalogue_yaml):
    roles = catalogue_yaml["appg_roles"]
    co_chairs = {r["person"] for r in roles if r["role"] == "co-chair"}
    rows = db.execute(
        "select people.id from appg_roles join people on people.id = appg_roles.person_id "
        "where appg_roles.role = 'co-chair'"
    ).fetchall()
    assert {r[0] for r in rows} == co_chairs == {"paul-howell", "diana-johnson"}
    secretariat = db.execute(
        "select organisations.name from appg_roles join organisations on organisations.id = appg_roles.organisation_id "
        "where role = 'secretariat'"
    ).fetchall()
    assert secretariat == [("Local Trust",)]


def test_follow_on_reports_are_appg_reports(db, catalogue_yaml):
    kinds = {p["id"]: p["kind"] for p in catalogue_yaml["publications"]}
    expected = {
        (listing["session"], p["id"])
        for p in catalogue_yaml["publications"]
        for listing in p.get("sessions", [])
        if listing["section"] == "follow-on report"
    }
    rows = {tuple(r) for r in db.execute(
        "select session_id, publication_id from session_publications where section = 'follow-on report'")}
    assert rows == expected
    assert ("evidence-session-5", "connecting-communities") in rows
    assert {kinds[p] for _, p in rows} == {"APPG report"}


# --- Datasette: facets, search, the session page, the feed ---------------------------


async def facets_of(datasette, path: str) -> dict:
    response = await datasette.client.get(path)
    assert response.status_code == 200, response.text[:500]
    data = response.json()["facet_results"]
    data = data.get("results", data)
    return {name: {str(b["value"]): b["count"] for b in facet["results"]} for name, facet in data.items()}


async def test_session_facets_by_kind_and_year(datasette, catalogue_yaml):
    facets = await facets_of(datasette, "/leftbehind/sessions.json?_extra=facet_results&_size=0")
    sessions = catalogue_yaml["sessions"]
    assert facets["kind"] == dict(Counter(s["kind"] for s in sessions))
    years = Counter(text_of(s["date"])[:4] if s["date"] else "date unknown" for s in sessions)
    assert facets["year"] == dict(years)


async def test_publication_facet_by_session_and_topic(datasette, catalogue_yaml):
    facets = await facets_of(
        datasette, "/leftbehind/publications.json?_extra=facet_results&_size=0&_facet_size=max"
    )
    labels = {s["id"]: session_label(s) for s in catalogue_yaml["sessions"]}
    publications = catalogue_yaml["publications"]
    expected = Counter(label for p in publications for label in {labels[x["session"]] for x in p.get("sessions", [])})
    assert facets["sessions"] == dict(expected)
    transport = sum("transport-and-connectivity" in p["topics"] for p in publications)
    assert facets["topics"]["transport-and-connectivity"] == transport > 0


async def test_filtering_publications_by_topic_and_kind(datasette, catalogue_yaml):
    response = await datasette.client.get(
        "/leftbehind/publications.json?_shape=array&topics__arraycontains=transport-and-connectivity&kind=APPG+report"
    )
    assert response.status_code == 200
    expected = {
        p["id"] for p in catalogue_yaml["publications"]
        if "transport-and-connectivity" in p["topics"] and p["kind"] == "APPG report"
    }
    assert {row["id"] for row in response.json()} == expected == {"connecting-communities"}


async def test_what_did_the_appg_read_or_publish_about_transport(datasette, catalogue_yaml):
    response = await datasette.client.get("/leftbehind/search_publications.json?q=transport&_shape=array")
    assert response.status_code == 200
    found = {row["id"] for row in response.json()}

    def searchable(p):
        return " ".join([p["title"], p.get("subtitle") or "", p["description"], *p["topics"]]).lower()

    expected = {p["id"] for p in catalogue_yaml["publications"] if "transport" in searchable(p)}
    assert found == expected
    tagged = {p["id"] for p in catalogue_yaml["publications"] if "transport-and-connectivity" in p["topics"]}
    assert tagged <= found


async def test_session_page_lists_its_speakers_and_publications_by_section(datasette, catalogue_yaml):
    response = await datasette.client.get("/leftbehind/sessions/evidence-session-6")
    assert response.status_code == 200
    page = response.text
    speakers = [p["name"] for p in catalogue_yaml["people"]
                if any(a["session"] == "evidence-session-6" for a in p.get("sessions", []))]
    assert len(speakers) == 4
    for name in speakers:
        assert str(escape(name)) in page
    listed = [(x["section"], p["title"]) for p in catalogue_yaml["publications"]
              for x in p.get("sessions", []) if x["session"] == "evidence-session-6"]
    assert listed
    for _, title in listed:
        assert str(escape(title)) in page
    # Sections appear in page order, each publication under its own section.
    order = ["Briefing pack", "Context", "Follow-on report"]
    positions = [page.index(f"<h3>{heading}</h3>") for heading in order]
    assert positions == sorted(positions)
    health_report = page.index(str(escape("Overcoming health inequalities in 'left behind' neighbourhoods")))
    assert health_report > positions[-1]


async def test_a_session_with_nothing_known_says_so(datasette):
    response = await datasette.client.get("/leftbehind/sessions/evidence-session-8")
    assert response.status_code == 200
    assert "No speaker or witness of this session is known" in response.text
    assert "No publication is known" in response.text


async def test_person_page_links_to_their_sessions(datasette):
    response = await datasette.client.get("/leftbehind/session_people?person_id=clare-bambra")
    assert response.status_code == 200
    assert "NHS – neighbourhood health services" in response.text  # the session's label, not its id
    assert "Newcastle University" in response.text


def expected_timestamp(published) -> str:
    value = text_of(published)
    return {4: f"{value}-01-01", 7: f"{value}-01", 10: value}[len(value)] + "T00:00:00+00:00"


async def test_feed_is_atom_with_one_entry_per_dated_publication(datasette, catalogue_yaml):
    response = await datasette.client.get("/leftbehind/publications_feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}title") == "Publications of the APPG archive, by date"
    entries = root.findall(f"{ATOM}entry")
    dated = {p["title"]: p for p in catalogue_yaml["publications"] if p["published"] is not None}
    assert len(entries) == len(dated) > 0
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == len(ids)
    for entry in entries:
        publication = dated[entry.findtext(f"{ATOM}title")]
        assert entry.findtext(f"{ATOM}updated") == expected_timestamp(publication["published"])
        assert entry.find(f"{ATOM}link").get("href") == (
            publication["url"] or f"/leftbehind/publications/{publication['id']}"
        )
        content = entry.findtext(f"{ATOM}content")
        assert text_of(publication["published"]) in content and publication["published_basis"] in content
