"""The archive's pages for people: a session, a publication, a person, and the archive's front page.

``templates/row-leftbehind-sessions.html``, ``-publications.html`` and ``-people.html`` call
``session_page(id)``, ``publication_page(id)`` and ``person_page(id)``; ``templates/pages/archive.html``
(``/archive``) gets ``archive``. Each says what a person looks for there in words: who gave
evidence at a session and what was read; who published a paper, in what role, and when, with
how the date is known; what a person did at each session, in the role and position given at
the time. Dates are written at the precision the catalogue knows them, and unknowns say so.
"""

from __future__ import annotations

import json
from typing import Any

from datasette import hookimpl

from leftbehind.site.pages.reading import DATABASE, fetch_rows
from leftbehind.site.pages.words import basis_words, date_words, period_words

SPEAKERS_SQL = """
select
  people.id as person_id,
  people.name,
  session_people.role,
  session_people.position,
  organisations.id as organisation_id,
  organisations.name as organisation,
  session_people.note
from session_people
join people on people.id = session_people.person_id
left join organisations on organisations.id = session_people.organisation_id
where session_people.session_id = :id
order by people.name, session_people.role
"""

PUBLICATIONS_SQL = """
select
  session_publications.section,
  session_publications.heading,
  publications.id,
  publications.title,
  publications.kind,
  publications.published
from session_publications
join publications on publications.id = session_publications.publication_id
where session_publications.session_id = :id
order by session_publications.section_order, session_publications.heading, publications.title
"""

# A person's sessions, in the order they were held (undated ones last, by name).
PERSON_SESSIONS_SQL = """
select
  sessions.id, sessions.label, sessions.title, sessions.date, sessions.kind,
  session_people.role, session_people.position, session_people.note,
  organisations.id as organisation_id, organisations.name as organisation
from session_people
join sessions on sessions.id = session_people.session_id
left join organisations on organisations.id = session_people.organisation_id
where session_people.person_id = :id
order by sessions.date is null, sessions.date, sessions.label
"""

# The roles of a publication's organisations, in the order a reader asks about them.
ROLE_ORDER = ("publisher", "co-publisher", "author", "research partner", "commissioner", "funder", "supporter", "prepared for")


def json_items(text: str | None) -> list[Any]:
    """The items of a JSON array column; an empty list for null."""
    return json.loads(text) if text else []


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def dated(date: str | None, basis: str | None, note: str | None = None) -> dict[str, Any]:
    """A date as a page says it: in words, how it is known, and what else is known."""
    return {"words": date_words(date), "basis": basis_words(basis), "raw_basis": basis, "note": note}


async def one_row(db, sql: str, params: dict) -> dict[str, Any] | None:
    rows = await fetch_rows(db, sql, params)
    return rows[0] if rows else None


async def session_page(datasette, session_id: str) -> dict[str, Any] | None:
    """A session: when, what it was about, who gave evidence, and what was read, by section."""
    db = datasette.get_database(DATABASE)
    session = await one_row(db, "select * from sessions where id = :id", {"id": session_id})
    if session is None:
        return None
    speakers = []
    for row in await fetch_rows(db, SPEAKERS_SQL, {"id": session_id}):
        speakers.append({
            **row,
            "url": datasette.urls.row(DATABASE, "people", row["person_id"]),
            "organisation_url": datasette.urls.row(DATABASE, "organisations", row["organisation_id"])
            if row["organisation_id"] else None,
        })
    sections: list[dict[str, Any]] = []
    for row in await fetch_rows(db, PUBLICATIONS_SQL, {"id": session_id}):
        if not sections or sections[-1]["section"] != row["section"]:
            sections.append({"section": row["section"], "heading": capitalised(row["section"]), "publications": []})
        sections[-1]["publications"].append({
            **row,
            "url": datasette.urls.row(DATABASE, "publications", row["id"]),
            "published_words": date_words(row["published"]),
        })
    return {
        "session": session,
        "kind": capitalised(session["kind"]),
        "date": dated(session["date"], session["date_basis"], session["date_note"]),
        "speakers": speakers,
        "speaker_caveats": json_items(session["speaker_caveats"]),
        "sections": sections,
        "seen_at": json_items(session["seen_at"]),
        "json_url": datasette.urls.row(DATABASE, "sessions", session_id, format="json"),
        "table_url": datasette.urls.table(DATABASE, "sessions"),
    }


async def publication_page(datasette, publication_id: str) -> dict[str, Any] | None:
    """A publication: what it is, who published it and in what role, when and how that is known, where to read it."""
    db = datasette.get_database(DATABASE)
    publication = await one_row(db, "select * from publications where id = :id", {"id": publication_id})
    if publication is None:
        return None
    organisations = await fetch_rows(
        db,
        """select organisations.id, organisations.name, publication_organisations.role
        from publication_organisations join organisations on organisations.id = publication_organisations.organisation_id
        where publication_organisations.publication_id = :id""",
        {"id": publication_id},
    )
    organisations.sort(key=lambda o: (ROLE_ORDER.index(o["role"]) if o["role"] in ROLE_ORDER else len(ROLE_ORDER), o["name"]))
    topics = await fetch_rows(
        db,
        """select topics.id, topics.label from publication_topics join topics on topics.id = publication_topics.topic_id
        where publication_topics.publication_id = :id order by topics.label""",
        {"id": publication_id},
    )
    sessions = await fetch_rows(
        db,
        """select sessions.id, sessions.label, sessions.date, session_publications.section, session_publications.heading
        from session_publications join sessions on sessions.id = session_publications.session_id
        where session_publications.publication_id = :id
        order by sessions.date is null, sessions.date, sessions.label, session_publications.section_order""",
        {"id": publication_id},
    )
    from_session = None
    if publication["published_session"]:
        from_session = await one_row(db, "select id, label, date from sessions where id = :id", {"id": publication["published_session"]})
        if from_session:
            from_session["url"] = datasette.urls.row(DATABASE, "sessions", from_session["id"])
    return {
        "publication": publication,
        "kind": capitalised(publication["kind"]),
        "date": dated(publication["published"], publication["published_basis"]),
        "from_session": from_session,
        "organisations": [{**o, "url": datasette.urls.row(DATABASE, "organisations", o["id"])} for o in organisations],
        "topics": [{**t, "url": datasette.urls.row(DATABASE, "topics", t["id"])} for t in topics],
        "sessions": [{**s, "url": datasette.urls.row(DATABASE, "sessions", s["id"])} for s in sessions],
        "see_also": json_items(publication["see_also"]),
        "json_url": datasette.urls.row(DATABASE, "publications", publication_id, format="json"),
        "table_url": datasette.urls.table(DATABASE, "publications"),
    }


async def person_page(datasette, person_id: str) -> dict[str, Any] | None:
    """A person: each session they spoke at, in the role and position given at the time, and their roles in the APPG."""
    db = datasette.get_database(DATABASE)
    person = await one_row(db, "select * from people where id = :id", {"id": person_id})
    if person is None:
        return None
    sessions = []
    for row in await fetch_rows(db, PERSON_SESSIONS_SQL, {"id": person_id}):
        sessions.append({
            **row,
            "url": datasette.urls.row(DATABASE, "sessions", row["id"]),
            "date_words": date_words(row["date"]),
            "organisation_url": datasette.urls.row(DATABASE, "organisations", row["organisation_id"])
            if row["organisation_id"] else None,
        })
    roles = [
        {**row, "period": period_words(row["start"], row["end"])}
        for row in await fetch_rows(
            db,
            "select role, position, start, end, period_note from appg_roles where person_id = :id order by start is null, start, role",
            {"id": person_id},
        )
    ]
    return {
        "person": person,
        "sessions": sessions,
        "roles": roles,
        "json_url": datasette.urls.row(DATABASE, "people", person_id, format="json"),
        "table_url": datasette.urls.table(DATABASE, "people"),
    }


async def archive_index(datasette) -> dict[str, Any]:
    """The archive's front page: every session in the order held, and how much the catalogue holds."""
    db = datasette.get_database(DATABASE)
    sessions = await fetch_rows(
        db,
        """select sessions.id, sessions.label, sessions.title, sessions.kind, sessions.date,
          (select count(*) from session_people where session_id = sessions.id) as speakers,
          (select count(*) from session_publications where session_id = sessions.id) as papers
        from sessions order by sessions.date is null, sessions.date, sessions.label""",
    )
    counts = (await fetch_rows(
        db,
        """select (select count(*) from sessions) as sessions, (select count(*) from publications) as publications,
          (select count(*) from people) as people, (select count(*) from organisations) as organisations,
          (select count(*) from topics) as topics""",
    ))[0]
    return {
        "sessions": [
            {**row, "url": datasette.urls.row(DATABASE, "sessions", row["id"]), "date_words": date_words(row["date"])}
            for row in sessions
        ],
        "counts": counts,
    }


ROW_PAGES = {
    "sessions": ("session_page", session_page),
    "publications": ("publication_page", publication_page),
    "people": ("person_page", person_page),
}


@hookimpl
def extra_template_vars(template, view_name: str, database: str, table: str, datasette: Any) -> dict[str, Any]:
    if view_name == "row" and database == DATABASE and table in ROW_PAGES:
        name, build = ROW_PAGES[table]

        async def page(row_id: str) -> dict[str, Any] | None:
            return await build(datasette, row_id)

        return {name: page}
    if template == "pages/archive.html" and DATABASE in datasette.databases:

        async def inner() -> dict[str, Any]:
            return {"archive": await archive_index(datasette)}

        return inner
    return {}
