"""Turn the validated catalogue into table rows and load them with sqlite-utils.

The row functions are pure: they take the catalogue and return sorted rows, so
the same catalogue always gives the same tables.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from leftbehind.catalogue import (
    APPG_ID,
    APPG_OUTPUT_ROLES,
    NORMALISED_SESSION_ROLES,
    Catalogue,
)

DATE_UNKNOWN = "date unknown"

SECTION_ORDER = {
    "session introduction": 0,
    "briefing pack": 1,
    "commissioned research": 2,
    "further reading": 3,
    "context": 4,
    "follow-on report": 5,
    "launched": 6,
}


def date_precision(value: str | None) -> str | None:
    """'year', 'month' or 'day' for an ISO 8601 date of that precision."""
    if value is None:
        return None
    return {4: "year", 7: "month", 10: "day"}[len(value)]


def year_of(value: str | None) -> str:
    """The year of a date for the year facets, or an explicit 'date unknown' bucket."""
    return value[:4] if value else DATE_UNKNOWN


def _json_list(values: list[str]) -> str:
    return json.dumps(sorted(set(values)), ensure_ascii=False)


def topic_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    return sorted(
        ({"id": t["id"], "label": t["label"], "meaning": t["meaning"]} for t in catalogue.topics),
        key=lambda row: row["id"],
    )


def organisation_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    return sorted(
        (
            {
                "id": o["id"],
                "name": o["name"],
                "kind": o["kind"],
                "website": o["website"],
                "note": o["note"],
            }
            for o in catalogue.organisations
        ),
        key=lambda row: row["id"],
    )


def session_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    speakers: dict[str, list[str]] = {}
    caveats: dict[str, list[str]] = {}
    for person in catalogue.people:
        for appearance in person["sessions"]:
            speakers.setdefault(appearance["session"], []).append(person["name"])
            if appearance["note"]:
                caveats.setdefault(appearance["session"], []).append(
                    f"{person['name']}: {appearance['note']}"
                )
    rows = []
    for s in catalogue.sessions:
        rows.append(
            {
                "id": s["id"],
                "label": session_label(s),
                "number": s["number"],
                "kind": s["kind"],
                "title": s["title"],
                "date": s["date"],
                "date_precision": date_precision(s["date"]),
                "date_basis": s["date_basis"],
                "date_note": s["date_note"],
                "year": year_of(s["date"]),
                "url": s["url"],
                "seen_at": json.dumps(s["seen_at"], ensure_ascii=False),
                "speakers": _json_list(speakers.get(s["id"], [])),
                "speaker_caveats": _json_list(caveats.get(s["id"], [])),
                "summary": s["summary"],
                "note": s["note"],
            }
        )
    return sorted(rows, key=lambda row: row["id"])


def publication_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    """One row per publication, with JSON arrays for the many-valued facets."""
    organisation_names = {o["id"]: o["name"] for o in catalogue.organisations}
    session_titles = {s["id"]: session_label(s) for s in catalogue.sessions}
    rows = []
    for p in catalogue.publications:
        rows.append(
            {
                "id": p["id"],
                "title": p["title"],
                "subtitle": p["subtitle"],
                "kind": p["kind"],
                "published": p["published"],
                "published_precision": date_precision(p["published"]),
                "published_basis": p["published_basis"],
                "published_session": p["published_session"],
                "year": year_of(p["published"]),
                "appg_output": int(is_appg_output(p)),
                "url": p["url"],
                "see_also": json.dumps(p["see_also"], ensure_ascii=False),
                "description": p["description"],
                "note": p["note"],
                "topics": _json_list(p["topics"]),
                "organisations": _json_list(
                    [organisation_names[link["id"]] for link in p["organisations"]]
                ),
                "sessions": _json_list([session_titles[s["session"]] for s in p["sessions"]]),
                "sections": _json_list([s["section"] for s in p["sessions"]]),
            }
        )
    return sorted(rows, key=lambda row: row["id"])


def is_appg_output(publication: dict[str, Any]) -> bool:
    """True when the APPG published, co-published or wrote the publication."""
    return any(
        link["id"] == APPG_ID and link["role"] in APPG_OUTPUT_ROLES
        for link in publication["organisations"]
    )


def session_label(session: dict[str, Any]) -> str:
    """A short, readable name for a session, used in facets: 'Evidence session 1'."""
    kind = session["kind"]
    if session["number"] is not None:
        return f"{kind[0].upper()}{kind[1:]} {session['number']}"
    return session["title"] or session["id"]


def publication_organisation_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    rows = {
        (p["id"], link["id"], link["role"])
        for p in catalogue.publications
        for link in p["organisations"]
    }
    return [
        {"publication_id": p, "organisation_id": o, "role": r} for p, o, r in sorted(rows)
    ]


def publication_topic_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    rows = {(p["id"], topic) for p in catalogue.publications for topic in p["topics"]}
    return [{"publication_id": p, "topic_id": t} for p, t in sorted(rows)]


def session_publication_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    rows = {
        (listing["session"], p["id"], listing["section"]): listing["heading"]
        for p in catalogue.publications
        for listing in p["sessions"]
    }
    return [
        {
            "session_id": s,
            "publication_id": p,
            "section": section,
            "section_order": SECTION_ORDER[section],
            "heading": rows[(s, p, section)],
        }
        for s, p, section in sorted(rows)
    ]


def people_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    """One row per person, with JSON arrays of their sessions and organisations for facets."""
    session_titles = {s["id"]: session_label(s) for s in catalogue.sessions}
    organisation_names = {o["id"]: o["name"] for o in catalogue.organisations}
    rows = []
    for person in catalogue.people:
        appearances = person["sessions"]
        rows.append(
            {
                "id": person["id"],
                "name": person["name"],
                "sessions": _json_list([session_titles[a["session"]] for a in appearances]),
                "organisations": _json_list(
                    [organisation_names[a["organisation"]] for a in appearances if a["organisation"]]
                ),
                "note": person["note"],
            }
        )
    return sorted(rows, key=lambda row: row["id"])


def session_people_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    rows = [
        {
            "session_id": a["session"],
            "person_id": person["id"],
            "role": a["role"],
            "normalised_role": NORMALISED_SESSION_ROLES[a["role"]],
            "position": a["position"],
            "organisation_id": a["organisation"],
            "note": a["note"],
        }
        for person in catalogue.people
        for a in person["sessions"]
    ]
    return sorted(rows, key=lambda row: (row["session_id"], row["person_id"], row["role"]))


def appg_role_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    rows = [
        {
            "id": r["id"],
            "role": r["role"],
            "person_id": r["person"],
            "organisation_id": r["organisation"],
            "position": r["position"],
            "start": r["start"],
            "start_precision": date_precision(r["start"]),
            "start_basis": r["start_basis"],
            "end": r["end"],
            "end_precision": date_precision(r["end"]),
            "end_basis": r["end_basis"],
            "period_note": r["period_note"],
            "seen_at": json.dumps(r["seen_at"], ensure_ascii=False),
            "note": r["note"],
        }
        for r in catalogue.appg_roles
    ]
    return sorted(rows, key=lambda row: row["id"])


def load_catalogue_tables(db: sqlite_utils.Database, catalogue: Catalogue) -> None:
    """Create and fill the catalogue tables, their keys, indexes and search index."""
    db["topics"].create(
        {"id": str, "label": str, "meaning": str}, pk="id", not_null={"label"}
    )
    db["topics"].insert_all(topic_rows(catalogue))

    db["organisations"].create(
        {"id": str, "name": str, "kind": str, "website": str, "note": str},
        pk="id",
        not_null={"name", "kind"},
    )
    db["organisations"].insert_all(organisation_rows(catalogue))

    db["sessions"].create(
        {
            "id": str,
            "label": str,
            "number": int,
            "kind": str,
            "title": str,
            "date": str,
            "date_precision": str,
            "date_basis": str,
            "date_note": str,
            "year": str,
            "url": str,
            "seen_at": str,
            "speakers": str,
            "speaker_caveats": str,
            "summary": str,
            "note": str,
        },
        pk="id",
        not_null={"label", "kind", "summary"},
    )
    db["sessions"].insert_all(session_rows(catalogue))

    db["publications"].create(
        {
            "id": str,
            "title": str,
            "subtitle": str,
            "kind": str,
            "published": str,
            "published_precision": str,
            "published_basis": str,
            "published_session": str,
            "year": str,
            "appg_output": int,
            "url": str,
            "see_also": str,
            "description": str,
            "note": str,
            "topics": str,
            "organisations": str,
            "sessions": str,
            "sections": str,
        },
        pk="id",
        not_null={"title", "kind", "year", "appg_output", "description"},
        foreign_keys=[("published_session", "sessions", "id")],
    )
    db["publications"].insert_all(publication_rows(catalogue))

    db["publication_organisations"].create(
        {"publication_id": str, "organisation_id": str, "role": str},
        pk=("publication_id", "organisation_id", "role"),
        foreign_keys=[
            ("publication_id", "publications", "id"),
            ("organisation_id", "organisations", "id"),
        ],
    )
    db["publication_organisations"].insert_all(publication_organisation_rows(catalogue))

    db["publication_topics"].create(
        {"publication_id": str, "topic_id": str},
        pk=("publication_id", "topic_id"),
        foreign_keys=[("publication_id", "publications", "id"), ("topic_id", "topics", "id")],
    )
    db["publication_topics"].insert_all(publication_topic_rows(catalogue))

    db["session_publications"].create(
        {
            "session_id": str,
            "publication_id": str,
            "section": str,
            "section_order": int,
            "heading": str,
        },
        pk=("session_id", "publication_id", "section"),
        foreign_keys=[("session_id", "sessions", "id"), ("publication_id", "publications", "id")],
    )
    db["session_publications"].insert_all(session_publication_rows(catalogue))

    db["people"].create(
        {"id": str, "name": str, "sessions": str, "organisations": str, "note": str},
        pk="id",
        not_null={"name"},
    )
    db["people"].insert_all(people_rows(catalogue))

    db["session_people"].create(
        {
            "session_id": str,
            "person_id": str,
            "role": str,
            "normalised_role": str,
            "position": str,
            "organisation_id": str,
            "note": str,
        },
        pk=("session_id", "person_id", "role"),
        foreign_keys=[
            ("session_id", "sessions", "id"),
            ("person_id", "people", "id"),
            ("organisation_id", "organisations", "id"),
        ],
    )
    db["session_people"].insert_all(session_people_rows(catalogue))

    db["appg_roles"].create(
        {
            "id": str,
            "role": str,
            "person_id": str,
            "organisation_id": str,
            "position": str,
            "start": str,
            "start_precision": str,
            "start_basis": str,
            "end": str,
            "end_precision": str,
            "end_basis": str,
            "period_note": str,
            "seen_at": str,
            "note": str,
        },
        pk="id",
        not_null={"role"},
        foreign_keys=[("person_id", "people", "id"), ("organisation_id", "organisations", "id")],
    )
    db["appg_roles"].insert_all(appg_role_rows(catalogue))

    for table, columns in (
        ("publications", ["kind"]),
        ("publications", ["year"]),
        ("publications", ["appg_output"]),
        ("sessions", ["kind"]),
        ("sessions", ["year"]),
        ("organisations", ["kind"]),
        ("publication_organisations", ["organisation_id"]),
        ("publication_organisations", ["role"]),
        ("publication_topics", ["topic_id"]),
        ("session_publications", ["publication_id"]),
        ("session_publications", ["section"]),
        ("session_people", ["person_id"]),
        ("session_people", ["organisation_id"]),
        ("session_people", ["role"]),
        ("session_people", ["normalised_role"]),
        ("appg_roles", ["person_id"]),
        ("appg_roles", ["organisation_id"]),
        ("appg_roles", ["role"]),
    ):
        db[table].create_index(columns)
    # A session's label names it on its own: "Evidence session 1" and "Inquiry session 1" differ.
    db["sessions"].create_index(["label"], unique=True)

    db["publications"].enable_fts(
        ["title", "subtitle", "description", "topics"], tokenize="porter", create_triggers=False
    )
    db["sessions"].enable_fts(
        ["label", "title", "summary", "speakers"], tokenize="porter", create_triggers=False
    )
