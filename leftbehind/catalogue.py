"""Read and validate the hand-edited YAML catalogue under ``data/``.

Every problem found is collected, so a contributor sees all of them at once,
each naming the file, the record and the field.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from leftbehind.errors import BuildError

CATALOGUE_FILES = ("sessions", "publications", "organisations", "topics", "people", "appg_roles")

SESSION_KINDS = frozenset(
    {
        "evidence session",
        "inquiry session",
        "roundtable",
        "consultation event",
        "launch",
        "report launch",
        "annual general meeting",
        "reception",
        "session",
    }
)
PUBLICATION_KINDS = frozenset(
    {
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
        # A work that an APPG page cites but whose own kind is not known.
        "cited work",
    }
)
ORGANISATION_ROLES = frozenset(
    {
        "publisher",
        "co-publisher",
        "author",
        "research partner",
        "funder",
        "commissioner",
        "supporter",
        "prepared for",
    }
)
SECTIONS = frozenset(
    {
        "briefing pack",
        "further reading",
        "commissioned research",
        "context",
        "session introduction",
        "follow-on report",
        "launched",
    }
)
# What a person did at a session, as the source gives it.
SESSION_ROLES = frozenset({"speaker", "witness", "chair"})
# The same roles normalised, so that one value answers "who gave evidence?": a
# speaker (listed on the session page) and a witness (named in a report) both gave evidence.
NORMALISED_SESSION_ROLES = {"speaker": "gave evidence", "witness": "gave evidence", "chair": "chaired"}
# The standing roles of the APPG itself, held by a person or an organisation.
APPG_ROLES = frozenset({"chair", "co-chair", "member", "secretariat", "research partner"})
DATE_BASES = frozenset({"stated", "inferred"})
# A publication prepared for a dated session (its briefing pack or commissioned research)
# may be dated 'on or before session': its date is then that session's date, an upper bound.
ON_OR_BEFORE_SESSION = "on or before session"
PUBLISHED_BASES = DATE_BASES | {ON_OR_BEFORE_SESSION}
# Organisation roles that make a publication one of the APPG's own outputs.
APPG_ID = "appg-left-behind-neighbourhoods"
APPG_OUTPUT_ROLES = frozenset({"publisher", "co-publisher", "author"})

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
MAX_TITLE = 300
MAX_TEXT = 1200


@dataclass(frozen=True)
class Field:
    """What one field of a record may hold.

    ``kind`` is one of: slug, text, title, int, date, url, choice, list, record.
    """

    kind: str
    required: bool = True
    nullable: bool = False
    choices: frozenset[str] | None = None
    items: Field | None = None
    fields: dict[str, Field] | None = None


def _record(**fields: Field) -> Field:
    return Field("record", fields=fields)


SPECS: dict[str, dict[str, Field]] = {
    "topics": {
        "id": Field("slug"),
        "label": Field("title"),
        "meaning": Field("text"),
    },
    "organisations": {
        "id": Field("slug"),
        "name": Field("title"),
        "kind": Field("title"),
        "website": Field("url", nullable=True),
        "note": Field("text", required=False, nullable=True),
    },
    "sessions": {
        "id": Field("slug"),
        "number": Field("int", nullable=True),
        "kind": Field("choice", choices=SESSION_KINDS),
        "title": Field("title", nullable=True),
        "date": Field("date", nullable=True),
        "date_basis": Field("choice", nullable=True, choices=DATE_BASES),
        "date_note": Field("text", required=False, nullable=True),
        "url": Field("url", nullable=True),
        "seen_at": Field("list", required=False, items=Field("url")),
        "summary": Field("text"),
        "note": Field("text", required=False, nullable=True),
    },
    "publications": {
        "id": Field("slug"),
        "title": Field("title"),
        "subtitle": Field("title", required=False, nullable=True),
        "kind": Field("choice", choices=PUBLICATION_KINDS),
        "published": Field("date", nullable=True),
        "published_basis": Field("choice", nullable=True, choices=PUBLISHED_BASES),
        "published_session": Field("slug", required=False, nullable=True),
        "organisations": Field(
            "list",
            items=_record(
                id=Field("slug"), role=Field("choice", choices=ORGANISATION_ROLES)
            ),
        ),
        "url": Field("url", nullable=True),
        "see_also": Field("list", required=False, items=Field("url")),
        "description": Field("text"),
        "note": Field("text", required=False, nullable=True),
        "topics": Field("list", items=Field("slug")),
        "sessions": Field(
            "list",
            required=False,
            items=_record(
                session=Field("slug"),
                section=Field("choice", choices=SECTIONS),
                heading=Field("title", required=False, nullable=True),
            ),
        ),
    },
    "people": {
        "id": Field("slug"),
        "name": Field("title"),
        "note": Field("text", required=False, nullable=True),
        "sessions": Field(
            "list",
            required=False,
            items=_record(
                session=Field("slug"),
                role=Field("choice", choices=SESSION_ROLES),
                position=Field("title", nullable=True),
                organisation=Field("slug", nullable=True),
                note=Field("text", required=False, nullable=True),
            ),
        ),
    },
    "appg_roles": {
        "id": Field("slug"),
        "role": Field("choice", choices=APPG_ROLES),
        "person": Field("slug", required=False, nullable=True),
        "organisation": Field("slug", required=False, nullable=True),
        "position": Field("title", required=False, nullable=True),
        "start": Field("date", nullable=True),
        "start_basis": Field("choice", nullable=True, choices=DATE_BASES),
        "end": Field("date", nullable=True),
        "end_basis": Field("choice", nullable=True, choices=DATE_BASES),
        "period_note": Field("text", required=False, nullable=True),
        "seen_at": Field("list", items=Field("url")),
        "note": Field("text", required=False, nullable=True),
    },
}


@dataclass
class Catalogue:
    """The validated catalogue: one list of records per file, in file order."""

    sessions: list[dict[str, Any]] = field(default_factory=list)
    publications: list[dict[str, Any]] = field(default_factory=list)
    organisations: list[dict[str, Any]] = field(default_factory=list)
    topics: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    appg_roles: list[dict[str, Any]] = field(default_factory=list)


class _CatalogueLoader(yaml.SafeLoader):
    """A safe loader that keeps dates as strings and refuses duplicate keys.

    Dates stay text so that '2020-05' and '2020-05-08' are treated alike and
    validated by one rule; duplicate keys would otherwise silently overwrite.
    """


_CatalogueLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping_without_duplicates(
    loader: _CatalogueLoader, node: yaml.MappingNode
) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be plain text, found {type(key).__name__}", key_node.start_mark
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_CatalogueLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_without_duplicates
)


def parse_yaml_records(path: Path, label: str) -> tuple[list[Any], list[str]]:
    """Return the records of one catalogue file and any problems reading it."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        return [], [f"{label}: cannot be read ({error.strerror or error})"]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return [], [f"{label}: is not valid UTF-8 (byte {error.start}); save it as UTF-8"]
    try:
        data = yaml.load(text, Loader=_CatalogueLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        return [], [f"{label}: YAML syntax error{where}: {problem}"]
    if data is None:
        return [], [f"{label}: is empty; expected a list of records"]
    if not isinstance(data, list):
        return [], [f"{label}: expected a list of records, found {type(data).__name__}"]
    return data, []


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _date_problem(value: str) -> str | None:
    match = DATE_RE.match(value)
    if not match:
        return f"{value!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD"
    year, month, day = (int(part) if part else None for part in match.groups())
    try:
        dt.date(year, month or 1, day or 1)
    except ValueError:
        return f"{value!r} is an impossible date"
    if not 1900 <= year <= 2100:
        return f"{value!r} has an implausible year"
    return None


def _url_problem(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"\s", value):
        return f"{value!r} is not a valid http(s) URL"
    return None


def check_value(value: Any, spec: Field, path: str) -> list[str]:
    """Return the problems with one value against its field spec.

    ``path`` names the value inside its record, such as ``organisations[0].role``.
    """
    where = f"field '{path}'"
    if value is None:
        return [] if spec.nullable else [f"{where}: must not be empty"]
    kind = spec.kind
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{where}: expected a whole number, found {_type_name(value)}"]
        return []
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list, found {_type_name(value)}"]
        problems = []
        for index, item in enumerate(value):
            problems += check_value(item, spec.items, f"{path}[{index}]")
        return problems
    if kind == "record":
        if not isinstance(value, dict):
            return [f"{where}: expected a mapping, found {_type_name(value)}"]
        return check_fields(value, spec.fields, path + ".")
    if kind == "date" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return [f"{where}: expected text, found {_type_name(value)}"]
    if not value.strip():
        return [f"{where}: must not be blank"]
    if kind == "slug" and not SLUG_RE.match(value):
        return [f"{where}: {value!r} is not a slug (lower-case letters, digits and single hyphens)"]
    if kind == "title" and (len(value) > MAX_TITLE or "\n" in value.strip()):
        return [f"{where}: must be one line of at most {MAX_TITLE} characters"]
    if kind == "text" and len(value) > MAX_TEXT:
        return [f"{where}: is {len(value)} characters long; at most {MAX_TEXT} allowed"]
    if kind == "choice" and value not in spec.choices:
        return [f"{where}: {value!r} is not one of: {', '.join(sorted(spec.choices))}"]
    if kind == "date":
        problem = _date_problem(value)
        return [f"{where}: {problem}"] if problem else []
    if kind == "url":
        problem = _url_problem(value)
        return [f"{where}: {problem}"] if problem else []
    return []


def check_fields(record: dict[str, Any], spec: dict[str, Field], prefix: str = "") -> list[str]:
    """Return problems with a mapping: unknown keys, missing keys, bad values."""
    problems = []
    for key in record:
        if key not in spec:
            problems.append(f"field '{prefix}{key}': unknown field (allowed: {', '.join(spec)})")
    for key, field_spec in spec.items():
        if key not in record:
            if field_spec.required:
                problems.append(f"field '{prefix}{key}': missing")
            continue
        problems += check_value(record[key], field_spec, f"{prefix}{key}")
    return problems


def _record_label(record: Any, index: int) -> str:
    if isinstance(record, dict) and isinstance(record.get("id"), str):
        return f"record '{record['id']}'"
    return f"record #{index + 1}"


def check_records(label: str, records: list[Any], spec: dict[str, Field]) -> list[str]:
    """Field-level and duplicate-id problems of one file's records."""
    problems = []
    seen: set[str] = set()
    for index, record in enumerate(records):
        where = f"{label}: {_record_label(record, index)}"
        if not isinstance(record, dict):
            problems.append(f"{where}: expected a mapping of fields, found {_type_name(record)}")
            continue
        problems += [f"{where}: {problem}" for problem in check_fields(record, spec)]
        record_id = record.get("id")
        if isinstance(record_id, str):
            if record_id in seen:
                problems.append(f"{where}: field 'id': duplicate id {record_id!r}")
            seen.add(record_id)
    return problems


def _date_basis_problems(record: dict[str, Any], date_key: str, basis_key: str) -> list[str]:
    has_date = record.get(date_key) is not None
    has_basis = record.get(basis_key) is not None
    if has_date and not has_basis:
        return [f"field '{basis_key}': say whether the {date_key} is 'stated' or 'inferred'"]
    if has_basis and not has_date:
        return [f"field '{basis_key}': must be null when {date_key} is null"]
    return []


def _on_or_before_session_problems(
    publication: dict[str, Any], session_dates: dict[str, Any], sessions_label: str
) -> list[str]:
    """A date 'on or before session' names a known, dated session and copies its date."""
    session_id = publication.get("published_session")
    if publication.get("published_basis") != ON_OR_BEFORE_SESSION:
        if session_id is not None:
            return [
                "field 'published_session': only for a date whose published_basis is "
                f"'{ON_OR_BEFORE_SESSION}'; leave it null"
            ]
        return []
    if session_id is None:
        return [f"field 'published_session': name the session the date is '{ON_OR_BEFORE_SESSION}'"]
    if session_id not in session_dates:
        return [f"field 'published_session': unknown session {session_id!r} (not in {sessions_label})"]
    session_date = session_dates[session_id]
    if session_date is None:
        return [f"field 'published_session': session {session_id!r} has no date to be on or before"]
    if str(publication.get("published")) != str(session_date):
        return [
            f"field 'published': must be the date of session {session_id!r} ({session_date}) "
            f"when published_basis is '{ON_OR_BEFORE_SESSION}'"
        ]
    return []


def cross_reference_problems(records: dict[str, list[dict[str, Any]]], labels: dict[str, str]) -> list[str]:
    """References to unknown ids, and fields that must agree with each other."""
    known = {name: {r["id"] for r in rows} for name, rows in records.items()}
    session_dates = {s["id"]: s.get("date") for s in records["sessions"]}
    problems = []
    for session in records["sessions"]:
        where = f"{labels['sessions']}: record '{session['id']}'"
        problems += [f"{where}: {p}" for p in _date_basis_problems(session, "date", "date_basis")]
    for publication in records["publications"]:
        where = f"{labels['publications']}: record '{publication['id']}'"
        problems += [
            f"{where}: {p}" for p in _date_basis_problems(publication, "published", "published_basis")
        ]
        problems += [
            f"{where}: {p}"
            for p in _on_or_before_session_problems(publication, session_dates, labels["sessions"])
        ]
        for index, link in enumerate(publication["organisations"]):
            if link["id"] not in known["organisations"]:
                problems.append(
                    f"{where}: field 'organisations[{index}].id': unknown organisation "
                    f"{link['id']!r} (not in {labels['organisations']})"
                )
        for index, topic in enumerate(publication["topics"]):
            if topic not in known["topics"]:
                problems.append(
                    f"{where}: field 'topics[{index}]': unknown topic {topic!r} "
                    f"(not in {labels['topics']})"
                )
        for index, listing in enumerate(publication.get("sessions") or []):
            if listing["session"] not in known["sessions"]:
                problems.append(
                    f"{where}: field 'sessions[{index}].session': unknown session "
                    f"{listing['session']!r} (not in {labels['sessions']})"
                )
    for person in records["people"]:
        where = f"{labels['people']}: record '{person['id']}'"
        for index, appearance in enumerate(person.get("sessions") or []):
            if appearance["session"] not in known["sessions"]:
                problems.append(
                    f"{where}: field 'sessions[{index}].session': unknown session "
                    f"{appearance['session']!r} (not in {labels['sessions']})"
                )
            organisation = appearance.get("organisation")
            if organisation is not None and organisation not in known["organisations"]:
                problems.append(
                    f"{where}: field 'sessions[{index}].organisation': unknown organisation "
                    f"{organisation!r} (not in {labels['organisations']})"
                )
    for role in records["appg_roles"]:
        where = f"{labels['appg_roles']}: record '{role['id']}'"
        person, organisation = role.get("person"), role.get("organisation")
        if (person is None) == (organisation is None):
            problems.append(
                f"{where}: fields 'person' and 'organisation': give exactly one of them "
                "(who holds the role)"
            )
        if person is not None and person not in known["people"]:
            problems.append(
                f"{where}: field 'person': unknown person {person!r} (not in {labels['people']})"
            )
        if organisation is not None and organisation not in known["organisations"]:
            problems.append(
                f"{where}: field 'organisation': unknown organisation {organisation!r} "
                f"(not in {labels['organisations']})"
            )
        problems += [f"{where}: {p}" for p in _date_basis_problems(role, "start", "start_basis")]
        problems += [f"{where}: {p}" for p in _date_basis_problems(role, "end", "end_basis")]
    return problems


def _fill_optional(record: dict[str, Any], spec: dict[str, Field]) -> None:
    """Give every optional field its empty value, in nested records too, and strip text."""
    for key, field_spec in spec.items():
        if key not in record:
            record[key] = [] if field_spec.kind == "list" else None
        elif field_spec.kind == "list" and field_spec.items.kind == "record":
            for item in record[key]:
                _fill_optional(item, field_spec.items.fields)
    for key in ("published", "date", "start", "end"):
        if isinstance(record.get(key), int):
            record[key] = str(record[key])
    for key, value in record.items():
        if isinstance(value, str):
            record[key] = value.strip()


def normalise(records: dict[str, list[dict[str, Any]]]) -> Catalogue:
    """Fill optional fields and turn year-only dates into text."""
    for name, spec in SPECS.items():
        for record in records[name]:
            _fill_optional(record, spec)
    return Catalogue(**records)


def load_catalogue(data_dir: Path) -> Catalogue:
    """Read, validate and return the catalogue, or raise BuildError with every problem."""
    labels = {name: f"{data_dir.name}/{name}.yml" for name in CATALOGUE_FILES}
    records: dict[str, list[Any]] = {}
    problems: list[str] = []
    for name in CATALOGUE_FILES:
        rows, read_problems = parse_yaml_records(data_dir / f"{name}.yml", labels[name])
        problems += read_problems
        problems += check_records(labels[name], rows, SPECS[name])
        records[name] = rows
    if problems:
        raise BuildError("the catalogue has problems", problems)
    problems = cross_reference_problems(records, labels)
    if problems:
        raise BuildError("the catalogue has problems", problems)
    return normalise(records)
