"""The hand-edited YAML catalogue under ``data/``: its vocabularies, its record specs, reading it.

Each catalogue file's records are declared once in ``SPECS`` (``leftbehind.validation``
checks them in one generic pass: types, vocabularies, dates and how they are known,
URLs, references between files). Every problem found is collected, so a contributor
sees all of them at once, each naming the file, the record and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leftbehind.errors import BuildError
from leftbehind.validation import (
    Field,
    RecordSpec,
    check_file,
    exactly_one_of,
    fill_optional,
    read_yaml_list,
    record,
    reference_problems,
    required_when,
)

# The controlled vocabularies, each one ordered list. SECTIONS is in the order the
# sections appear on a session's page, which is also how session pages sort them.
SESSION_KINDS = (
    "evidence session",
    "inquiry session",
    "roundtable",
    "consultation event",
    "launch",
    "report launch",
    "annual general meeting",
    "reception",
    "session",
)
PUBLICATION_KINDS = (
    "APPG report",
    "briefing",
    "policy briefing",
    "data dive",
    "research report",
    "research paper",
    "data set",
    "letter",
    "consultation response",
    "statement",
    "news",
    "blog",
    "government publication",
    "written evidence",
    "cited work",  # a work an APPG page cites whose own kind is not known
)
ORGANISATION_ROLES = (
    "publisher",
    "co-publisher",
    "author",
    "research partner",
    "funder",
    "commissioner",
    "supporter",
    "prepared for",
)
SECTIONS = (
    "session introduction",
    "briefing pack",
    "commissioned research",
    "further reading",
    "context",
    "follow-on report",
    "launched",
)
# What a person did at a session, as the source gives it, and the same normalised, so that
# one value answers "who gave evidence?": a speaker (listed on the session page) and a
# witness (named in a report) both gave evidence.
SESSION_ROLES = ("speaker", "witness", "chair")
NORMALISED_SESSION_ROLES = {"speaker": "gave evidence", "witness": "gave evidence", "chair": "chaired"}
# The standing roles of the APPG itself, held by a person or an organisation.
APPG_ROLES = ("chair", "co-chair", "member", "secretariat", "research partner")
DATE_BASES = ("stated", "inferred")
# A paper prepared for a dated session (its briefing pack, its data dive) with no date of its
# own may be dated 'on or before session': its date is that session's, an upper bound.
ON_OR_BEFORE_SESSION = "on or before session"
PUBLISHED_BASES = (*DATE_BASES, ON_OR_BEFORE_SESSION)
# The APPG's own outputs: those it published, co-published or wrote.
APPG_ID = "appg-left-behind-neighbourhoods"
APPG_OUTPUT_ROLES = ("publisher", "co-publisher", "author")


def session_label(session: Mapping[str, Any]) -> str:
    """A short name that identifies a session on its own: 'Evidence session 1', or its title."""
    kind = session["kind"]
    if session["number"] is not None:
        return f"{kind[0].upper()}{kind[1:]} {session['number']}"
    return session["title"] or session["id"]


def _basis(choices: tuple[str, ...] = DATE_BASES) -> Field:
    return Field("choice", nullable=True, choices=choices)


SPECS: dict[str, RecordSpec] = {
    "sessions": RecordSpec(
        noun="session",
        fields={
            "id": Field("slug"),
            "number": Field("int", nullable=True, minimum=1, maximum=999),
            "kind": Field("choice", choices=SESSION_KINDS),
            "title": Field("title", nullable=True),
            "date": Field("date", nullable=True, basis="date_basis"),
            "date_basis": _basis(),
            "date_note": Field("text", required=False, nullable=True),
            "url": Field("url", nullable=True),
            "seen_at": Field("list", required=False, items=Field("url")),
            "summary": Field("text"),
            "note": Field("text", required=False, nullable=True),
        },
        unique=(("label", session_label),),
    ),
    "publications": RecordSpec(
        noun="publication",
        fields={
            "id": Field("slug"),
            "title": Field("title"),
            "subtitle": Field("title", required=False, nullable=True),
            "kind": Field("choice", choices=PUBLICATION_KINDS),
            "published": Field("date", nullable=True, basis="published_basis"),
            "published_basis": _basis(PUBLISHED_BASES),
            "published_session": Field(
                "slug", required=False, nullable=True, references="sessions", agrees=("published", "date")
            ),
            "organisations": Field(
                "list",
                unique_by=("id", "role"),
                items=record(
                    id=Field("slug", references="organisations"),
                    role=Field("choice", choices=ORGANISATION_ROLES),
                ),
            ),
            "url": Field("url", nullable=True),
            "see_also": Field("list", required=False, items=Field("url")),
            "description": Field("text"),
            "note": Field("text", required=False, nullable=True),
            "topics": Field("list", items=Field("slug", references="topics")),
            "sessions": Field(
                "list",
                required=False,
                unique_by=("session", "section"),
                items=record(
                    session=Field("slug", references="sessions"),
                    section=Field("choice", choices=SECTIONS),
                    heading=Field("title", required=False, nullable=True),
                ),
            ),
        },
        rules=(required_when("published_session", "published_basis", ON_OR_BEFORE_SESSION),),
    ),
    "organisations": RecordSpec(
        noun="organisation",
        fields={
            "id": Field("slug"),
            "name": Field("title"),
            "kind": Field("title"),
            "website": Field("url", nullable=True),
            "note": Field("text", required=False, nullable=True),
        },
    ),
    "topics": RecordSpec(
        noun="topic",
        fields={
            "id": Field("slug"),
            "label": Field("title"),
            "meaning": Field("text"),
        },
    ),
    "people": RecordSpec(
        noun="person",
        fields={
            "id": Field("slug"),
            "name": Field("title"),
            "note": Field("text", required=False, nullable=True),
            "sessions": Field(
                "list",
                required=False,
                unique_by=("session", "role"),
                items=record(
                    session=Field("slug", references="sessions"),
                    role=Field("choice", choices=SESSION_ROLES),
                    position=Field("title", nullable=True),
                    organisation=Field("slug", nullable=True, references="organisations"),
                    note=Field("text", required=False, nullable=True),
                ),
            ),
        },
    ),
    "appg_roles": RecordSpec(
        noun="APPG role",
        fields={
            "id": Field("slug"),
            "role": Field("choice", choices=APPG_ROLES),
            "person": Field("slug", required=False, nullable=True, references="people"),
            "organisation": Field("slug", required=False, nullable=True, references="organisations"),
            "position": Field("title", required=False, nullable=True),
            "start": Field("date", nullable=True, basis="start_basis"),
            "start_basis": _basis(),
            "end": Field("date", nullable=True, basis="end_basis"),
            "end_basis": _basis(),
            "period_note": Field("text", required=False, nullable=True),
            "seen_at": Field("list", items=Field("url")),
            "note": Field("text", required=False, nullable=True),
        },
        rules=(exactly_one_of("person", "organisation", "who holds the role"),),
    ),
}
CATALOGUE_FILES = tuple(SPECS)


# The validated catalogue: one list of records per file, in file order, every optional
# field present (null or an empty list) and text stripped.
Catalogue = dict[str, list[dict[str, Any]]]


def catalogue_labels(data_dir: Path) -> dict[str, str]:
    return {name: f"{data_dir.name}/{name}.yml" for name in CATALOGUE_FILES}


def validate_catalogue(
    records: Mapping[str, list[Any]], labels: Mapping[str, str], read_problems: list[str] | None = None
) -> Catalogue:
    """Check parsed records against ``SPECS`` and return the catalogue, or raise with every problem.

    Problems met while reading the files come in as ``read_problems`` so that one run
    reports them together with the problems of the files that could be read.
    """
    problems = list(read_problems or [])
    for name in CATALOGUE_FILES:
        problems += check_file(labels[name], records[name], SPECS[name])
    if problems:
        raise BuildError("the catalogue has problems", problems)
    problems = reference_problems(records, SPECS, labels)
    if problems:
        raise BuildError("the catalogue has problems", problems)
    return {name: [fill_optional(r, SPECS[name].fields) for r in records[name]] for name in CATALOGUE_FILES}


def load_catalogue(data_dir: Path) -> Catalogue:
    """Read, validate and return the catalogue, or raise BuildError with every problem."""
    labels = catalogue_labels(data_dir)
    records: dict[str, list[Any]] = {}
    problems: list[str] = []
    for name in CATALOGUE_FILES:
        records[name], read_problems = read_yaml_list(data_dir / f"{name}.yml", labels[name])
        problems += read_problems
    return validate_catalogue(records, labels, problems)
