"""The catalogue tables' rows, computed from the validated catalogue.

The row functions are pure: they take the catalogue and return sorted rows, so
the same catalogue always gives the same tables. What each column is and means is
declared in ``leftbehind/tables.py``.
"""

from __future__ import annotations

import json
from typing import Any

from leftbehind.catalogue import (
    APPG_ID,
    APPG_OUTPUT_ROLES,
    NORMALISED_SESSION_ROLES,
    SECTIONS,
    Catalogue,
    session_label,
)

# The year facets' explicit bucket for records whose date is not known.
DATE_UNKNOWN = "date unknown"


def date_precision(value: str | None) -> str | None:
    """'year', 'month' or 'day' for an ISO 8601 date of that precision."""
    if value is None:
        return None
    return {4: "year", 7: "month", 10: "day"}[len(value)]


def year_of(value: str | None) -> str:
    """The year of a date for the year facets, or the explicit 'date unknown' bucket."""
    return value[:4] if value else DATE_UNKNOWN


def _json_list(values: list[str]) -> str:
    return json.dumps(sorted(set(values)), ensure_ascii=False)


def topic_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    return sorted(
        ({"id": t["id"], "label": t["label"], "meaning": t["meaning"]} for t in catalogue["topics"]),
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
            for o in catalogue["organisations"]
        ),
        key=lambda row: row["id"],
    )


def session_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    speakers: dict[str, list[str]] = {}
    caveats: dict[str, list[str]] = {}
    for person in catalogue["people"]:
        for appearance in person["sessions"]:
            speakers.setdefault(appearance["session"], []).append(person["name"])
            if appearance["note"]:
                caveats.setdefault(appearance["session"], []).append(f"{person['name']}: {appearance['note']}")
    rows = []
    for s in catalogue["sessions"]:
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
    organisation_names = {o["id"]: o["name"] for o in catalogue["organisations"]}
    session_titles = {s["id"]: session_label(s) for s in catalogue["sessions"]}
    rows = []
    for p in catalogue["publications"]:
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
    """Whether the APPG published, co-published or wrote the publication."""
    return any(link["id"] == APPG_ID and link["role"] in APPG_OUTPUT_ROLES for link in publication["organisations"])


def publication_organisation_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    rows = {
        (p["id"], link["id"], link["role"])
        for p in catalogue["publications"]
        for link in p["organisations"]
    }
    return [
        {"publication_id": p, "organisation_id": o, "role": r} for p, o, r in sorted(rows)
    ]


def publication_topic_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    rows = {(p["id"], topic) for p in catalogue["publications"] for topic in p["topics"]}
    return [{"publication_id": p, "topic_id": t} for p, t in sorted(rows)]


def session_publication_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    rows = {
        (listing["session"], p["id"], listing["section"]): listing["heading"]
        for p in catalogue["publications"]
        for listing in p["sessions"]
    }
    return [
        {
            "session_id": s,
            "publication_id": p,
            "section": section,
            "section_order": SECTIONS.index(section),
            "heading": rows[(s, p, section)],
        }
        for s, p, section in sorted(rows)
    ]


def people_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    """One row per person, with JSON arrays of their sessions and organisations for facets."""
    session_titles = {s["id"]: session_label(s) for s in catalogue["sessions"]}
    organisation_names = {o["id"]: o["name"] for o in catalogue["organisations"]}
    rows = []
    for person in catalogue["people"]:
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
        for person in catalogue["people"]
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
        for r in catalogue["appg_roles"]
    ]
    return sorted(rows, key=lambda row: row["id"])
