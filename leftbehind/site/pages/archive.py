"""Gives the session row page its speakers and its publications by section.

``templates/row-leftbehind-sessions.html`` calls
``session_contents(id)``.
"""

from __future__ import annotations

from typing import Any

from datasette import hookimpl

DATABASE = "leftbehind"

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


async def session_contents(datasette: Any, session_id: str) -> dict[str, Any]:
    """The speakers of one session, and its publications grouped by section in page order."""
    db = datasette.get_database(DATABASE)
    speakers = [dict(row) for row in (await db.execute(SPEAKERS_SQL, {"id": session_id})).rows]
    sections: list[dict[str, Any]] = []
    for row in (await db.execute(PUBLICATIONS_SQL, {"id": session_id})).rows:
        if not sections or sections[-1]["section"] != row["section"]:
            sections.append({"section": row["section"], "publications": []})
        sections[-1]["publications"].append(dict(row))
    return {"speakers": speakers, "sections": sections}


@hookimpl
def extra_template_vars(view_name: str, database: str, table: str, datasette: Any) -> dict[str, Any]:
    if view_name != "row" or database != DATABASE or table != "sessions":
        return {}

    async def contents(session_id: str) -> dict[str, Any]:
        return await session_contents(datasette, session_id)

    return {"session_contents": contents}
