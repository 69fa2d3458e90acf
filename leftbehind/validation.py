"""Declared fields and one generic pass that checks hand-edited YAML records against them.

A file's records are described by a ``RecordSpec``: each field's kind, whether it is
required or may be null, its vocabulary, the file its ids refer to, the field that says
how its date is known, and record-level rules. ``check_file`` and ``reference_problems``
return every problem at once, each naming the file, the record and the field, so one
run shows a contributor all of them.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
IDENTIFIER_RE = re.compile(r"[a-z][a-z0-9_]*")
DATE_RE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
MAX_TITLE = 300
MAX_TEXT = 1200
MAX_FILE_BYTES = 1_000_000  # the largest catalogue file is about 60 KB
MAX_INT = 2**63 - 1  # SQLite's largest integer
# Characters that change how text is shown without being seen: bidirectional
# embeddings, overrides and isolates (a Trojan Source risk in a published table).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True)
class Field:
    """What one field of a record may hold.

    ``kind`` is one of: slug, identifier, text, title, int, date, url, choice, list, record.
    ``references`` names the catalogue file whose ids a slug must be one of; ``basis``
    names the sibling field that says whether a date is stated or inferred.
    """

    kind: str
    required: bool = True
    nullable: bool = False
    choices: tuple[str, ...] | None = None
    items: Field | None = None
    fields: Mapping[str, Field] | None = None
    references: str | None = None
    # With ``references``: (this record's field, the referenced record's field) that must be equal.
    agrees: tuple[str, str] | None = None
    basis: str | None = None
    pattern: str | None = None
    unique_by: tuple[str, ...] | None = None  # for a list of records: the fields no two items may share
    minimum: int = -MAX_INT
    maximum: int = MAX_INT


Rule = Callable[[Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class RecordSpec:
    """The fields of one file's records, the rules that join several fields, and values
    derived from several fields that no two records may share (``unique``: name, function)."""

    fields: Mapping[str, Field]
    noun: str  # what one record is, for messages: 'organisation'
    rules: tuple[Rule, ...] = field(default_factory=tuple)
    unique: tuple[tuple[str, Callable[[Mapping[str, Any]], Any]], ...] = field(default_factory=tuple)


def record(**fields: Field) -> Field:
    return Field("record", fields=fields)


def exactly_one_of(first: str, second: str, meaning: str) -> Rule:
    def rule(values: Mapping[str, Any]) -> list[str]:
        if (values.get(first) is None) == (values.get(second) is None):
            return [f"fields '{first}' and '{second}': give exactly one of them ({meaning})"]
        return []

    return rule


def required_when(name: str, other: str, value: str) -> Rule:
    def rule(values: Mapping[str, Any]) -> list[str]:
        if values.get(other) == value and values.get(name) in (None, "", []):
            return [f"field '{name}': missing, but required when {other} is {value!r}"]
        if values.get(other) != value and values.get(name) is not None:
            return [f"field '{name}': only allowed when {other} is {value!r}"]
        return []

    return rule


# --- Reading YAML -----------------------------------------------------------------


# libyaml's parser when PyYAML has it (about seven times faster), else PyYAML's own.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_SafeLoader):
    """A safe loader that keeps dates as text and refuses duplicate keys.

    Dates stay text so that '2020-05' and '2020-05-08' are validated by one rule;
    duplicate keys would otherwise silently overwrite. Aliases are refused after
    loading (``shared_container``).
    """


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping_without_duplicates(loader: StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be plain text, found {type(key).__name__}", key_node.start_mark
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {shown(key)}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_without_duplicates)


def read_yaml_list(path: Path, label: str, max_bytes: int = MAX_FILE_BYTES) -> tuple[list[Any], list[str]]:
    """The records of one YAML file and any problems reading it.

    Only a regular file of at most ``max_bytes`` is read, so a symlink to a device
    or an endless file is refused instead of read forever.
    """
    try:
        if not path.exists():
            return [], [f"{label}: cannot be read (no such file)"]
        if not path.is_file():
            return [], [f"{label}: cannot be read (not a regular file)"]
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as error:
        return [], [f"{label}: cannot be read ({error.strerror or error})"]
    if len(raw) > max_bytes:
        return [], [f"{label}: is larger than {max_bytes:,} bytes"]
    return parse_yaml_list(raw, label)


def parse_yaml_list(raw: bytes, label: str) -> tuple[list[Any], list[str]]:
    """Parse the bytes of a YAML file that must hold a list of records."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return [], [f"{label}: is not valid UTF-8 (byte {error.start}); save it as UTF-8"]
    try:
        data = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.reader.ReaderError as error:  # a character YAML does not allow, such as a raw escape
        line = text[: error.position].count("\n") + 1
        character = chr(error.character) if isinstance(error.character, int) else error.character
        return [], [f"{label}: YAML syntax error at line {line}: character {character!r} is not allowed"]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        return [], [f"{label}: YAML syntax error{where}: {shown_name(problem, 200)}"]
    except RecursionError:
        return [], [f"{label}: is nested too deeply to be a list of records"]
    except ValueError as error:  # an integer of thousands of digits, for one
        return [], [f"{label}: holds a value that cannot be read: {shown_name(str(error), 120)}"]
    if data is None:
        return [], [f"{label}: is empty; expected a list of records"]
    if shared_container(data):
        return [], [f"{label}: uses anchors and aliases (&name, *name), which the catalogue does not allow"]
    if not isinstance(data, list):
        return [], [f"{label}: expected a list of records, found {type_name(data)}"]
    return data, []


def shared_container(data: Any) -> bool:
    """Whether a list or mapping appears twice: what a YAML alias makes.

    The catalogue has no use for aliases, and a few of them can make a small file
    stand for a huge tree. The walk stops at the first repeat, so it is linear.
    """
    seen: set[int] = set()
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, (list, dict)):
            if id(value) in seen:
                return True
            seen.add(id(value))
            stack.extend(value.values() if isinstance(value, dict) else value)
    return False


# --- Checking values ----------------------------------------------------------------


def type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def shown(value: Any, limit: int = 60) -> str:
    """``value`` quoted for an error message: invisible characters escaped, long text cut."""
    text = repr(value) if isinstance(value, str) else str(value)  # repr escapes what cannot be seen
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown_name(key: Any, limit: int = 40) -> str:
    """A field name for an error message, unquoted but with invisible characters escaped."""
    text = repr(key)[1:-1] if isinstance(key, str) else str(key)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_problem(value: str) -> str | None:
    """Characters a published text must not hold: controls other than newline and tab,
    bidirectional overrides, and lone surrogates (which are not UTF-8)."""
    for position, character in enumerate(value):
        if character in "\n\t":
            continue
        if character in BIDI_CONTROLS:
            return f"holds a bidirectional control character {shown(character)} at position {position}"
        category = unicodedata.category(character)
        if category == "Cc":
            return f"holds a control character {shown(character)} at position {position}"
        if category == "Cs":
            return f"holds a lone surrogate {shown(character)} at position {position}, which is not UTF-8"
    return None


def date_problem(value: str) -> str | None:
    match = DATE_RE.fullmatch(value)
    if not match:
        return f"{shown(value)} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD"
    year, month, day = (int(part) if part else None for part in match.groups())
    try:
        dt.date(year, month or 1, day or 1)
    except ValueError:
        return f"{shown(value)} is an impossible date"
    if not 1900 <= year <= 2100:
        return f"{shown(value)} has an implausible year"
    return None


def url_problem(value: str) -> str | None:
    """Only absolute http(s) URLs: anything else could run as a link (javascript:) or mislead."""
    try:
        parts = urlsplit(value)
    except ValueError:  # (an unclosed "[" in the host, say: urlsplit refuses what it cannot split)
        return f"{shown(value)} is not a valid http(s) URL"
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"\s", value):
        return f"{shown(value)} is not a valid http(s) URL"
    return None


def check_value(value: Any, spec: Field, path: str) -> list[str]:
    """The problems with one value against its field spec.

    ``path`` names the value inside its record, such as ``organisations[0].role``.
    """
    where = f"field '{path}'"
    if value is None:
        return [] if spec.nullable else [f"{where}: must not be empty"]
    kind = spec.kind
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{where}: expected a whole number, found {type_name(value)}"]
        if not spec.minimum <= value <= spec.maximum:
            return [f"{where}: {shown(value)} is outside {spec.minimum}..{spec.maximum}"]
        return []
    if kind == "list":
        return list_problems(value, spec, path)
    if kind == "record":
        if not isinstance(value, dict):
            return [f"{where}: expected a mapping, found {type_name(value)}"]
        return check_fields(value, spec.fields, path + ".")
    if kind == "date" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return [f"{where}: expected text, found {type_name(value)}"]
    if not value.strip():
        return [f"{where}: must not be blank"]
    problem = text_problem(value)
    if problem:
        return [f"{where}: {problem}"]
    return [f"{where}: {problem}"] if (problem := string_problem(value, spec)) else []


def string_problem(value: str, spec: Field) -> str | None:
    kind = spec.kind
    if kind == "slug" and not SLUG_RE.fullmatch(value):
        return f"{shown(value)} is not a slug (lower-case letters, digits and single hyphens)"
    if kind == "identifier" and not IDENTIFIER_RE.fullmatch(value):
        return f"{shown(value)} is not an identifier (lower-case letters, digits and underscores)"
    if kind == "title" and (len(value) > MAX_TITLE or "\n" in value.strip() or "\t" in value):
        return f"must be one line of at most {MAX_TITLE} characters"
    if kind == "text" and len(value) > MAX_TEXT:
        return f"is {len(value)} characters long; at most {MAX_TEXT} allowed"
    if kind == "choice" and value not in spec.choices:
        return f"{shown(value)} is not one of: {', '.join(spec.choices)}"
    if kind == "date":
        return date_problem(value)
    if kind == "url":
        return url_problem(value)
    if spec.pattern and not re.fullmatch(spec.pattern, value):
        return f"{shown(value)} does not have the expected form ({spec.pattern})"
    return None


def list_problems(value: Any, spec: Field, path: str) -> list[str]:
    """A list's items each checked, and no item given twice (it would be silently merged)."""
    if not isinstance(value, list):
        return [f"field '{path}': expected a list, found {type_name(value)}"]
    problems = []
    seen: list[Any] = []
    for index, item in enumerate(value):
        item_problems = check_value(item, spec.items, f"{path}[{index}]")
        problems += item_problems
        if item_problems:
            continue
        key = tuple(item.get(name) for name in spec.unique_by) if spec.unique_by else item
        if key in seen:
            what = " and ".join(spec.unique_by) if spec.unique_by else "item"
            problems.append(f"field '{path}[{index}]': the same {what} is listed twice ({shown(key, 80)})")
        seen.append(key)
    return problems


def check_fields(values: Mapping[Any, Any], spec: Mapping[str, Field], prefix: str = "") -> list[str]:
    """Problems with a mapping: unknown keys, missing keys, bad values."""
    problems = []
    for key in values:
        if key not in spec:
            problems.append(f"field '{prefix}{shown_name(key)}': unknown field (allowed: {', '.join(spec)})")
    for key, field_spec in spec.items():
        if key not in values:
            if field_spec.required:
                problems.append(f"field '{prefix}{key}': missing")
            continue
        problems += check_value(values[key], field_spec, f"{prefix}{key}")
    return problems


def record_label(value: Any, index: int) -> str:
    if isinstance(value, dict) and isinstance(value.get("id"), str) and value["id"].strip():
        return f"record {shown(value['id'])}"
    return f"record #{index + 1}"


def check_file(label: str, records: list[Any], spec: RecordSpec) -> list[str]:
    """Field-level, rule and duplicate-id problems of one file's records."""
    problems = []
    seen: set[str] = set()
    derived: dict[str, dict[Any, str]] = {name: {} for name, _ in spec.unique}
    for index, value in enumerate(records):
        where = f"{label}: {record_label(value, index)}"
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a mapping of fields, found {type_name(value)}")
            continue
        field_problems = check_fields(value, spec.fields)
        if not field_problems:
            field_problems += basis_problems(value, spec.fields)
            for rule in spec.rules:
                field_problems += rule(value)
            for name, function in spec.unique:
                key = function(value)
                if key in derived[name]:
                    field_problems.append(
                        f"its {name} {shown(key)} is the same as {derived[name][key]}'s; a {spec.noun}'s "
                        f"{name} must identify it"
                    )
                derived[name].setdefault(key, record_label(value, index))
        problems += [f"{where}: {problem}" for problem in field_problems]
        record_id = value.get("id")
        if isinstance(record_id, str):
            if record_id in seen:
                problems.append(f"{where}: field 'id': duplicate id {shown(record_id)}")
            seen.add(record_id)
    return problems


def basis_problems(values: Mapping[str, Any], spec: Mapping[str, Field], prefix: str = "") -> list[str]:
    """A known date must say how it is known; an unknown one must not."""
    problems = []
    for name, field_spec in spec.items():
        if field_spec.basis is None:
            continue
        has_date = values.get(name) is not None
        has_basis = values.get(field_spec.basis) is not None
        if has_date and not has_basis:
            problems.append(f"field '{prefix}{field_spec.basis}': say whether the {name} is 'stated' or 'inferred'")
        if has_basis and not has_date:
            problems.append(f"field '{prefix}{field_spec.basis}': must be null when {name} is null")
    return problems


def _references(value: Any, spec: Field, path: str):
    """Yield (path, id, file) for every reference inside one valid value."""
    if value is None:
        return
    if spec.references is not None:
        yield path, value, spec.references
    elif spec.kind == "list":
        for index, item in enumerate(value):
            yield from _references(item, spec.items, f"{path}[{index}]")
    elif spec.kind == "record":
        for name, field_spec in spec.fields.items():
            yield from _references(value.get(name), field_spec, f"{path}.{name}")


def reference_problems(
    records: Mapping[str, list[dict[str, Any]]], specs: Mapping[str, RecordSpec], labels: Mapping[str, str]
) -> list[str]:
    """References to ids that no record of the referenced file has, and values that must agree
    with the referenced record (``Field.agrees``)."""
    by_id = {name: {r["id"]: r for r in rows} for name, rows in records.items()}
    problems = []
    for name, rows in records.items():
        for value in rows:
            where = f"{labels[name]}: {record_label(value, 0)}"
            for field_name, field_spec in specs[name].fields.items():
                for path, target, other in _references(value.get(field_name), field_spec, field_name):
                    if target not in by_id[other]:
                        problems.append(
                            f"{where}: field '{path}': unknown {specs[other].noun} {shown(target)} "
                            f"(not in {labels[other]})"
                        )
                    elif field_spec.agrees and path == field_name:
                        problems += [f"{where}: {p}" for p in agreement_problems(
                            value, field_name, field_spec.agrees, by_id[other][target], specs[other].noun
                        )]
    return problems


def agreement_problems(
    values: Mapping[str, Any], name: str, agrees: tuple[str, str], referenced: Mapping[str, Any], noun: str
) -> list[str]:
    mine, theirs = agrees
    target = shown(referenced["id"])
    if referenced.get(theirs) is None:
        return [f"field '{name}': {noun} {target} has no {theirs}"]
    if str(values.get(mine)) != str(referenced[theirs]):
        return [f"field '{mine}': must be the {theirs} of {noun} {target} ({referenced[theirs]})"]
    return []


def fill_optional(values: dict[str, Any], spec: Mapping[str, Field]) -> dict[str, Any]:
    """Every optional field given its empty value (in nested records too), dates and text as text."""
    filled: dict[str, Any] = {}
    for key, field_spec in spec.items():
        value = values.get(key)
        if value is None:
            filled[key] = [] if field_spec.kind == "list" else None
        elif field_spec.kind == "list" and field_spec.items.kind == "record":
            filled[key] = [fill_optional(item, field_spec.items.fields) for item in value]
        elif field_spec.kind == "date":
            filled[key] = str(value)
        elif isinstance(value, str):
            filled[key] = value.strip()
        else:
            filled[key] = value
    return filled
