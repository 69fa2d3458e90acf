"""Declared corrections to the source files, and the check that finds what needs one.

A source file can be wrong. We never edit the file (it is pinned by its sha256 and
never committed); instead ``data/corrections.yml`` declares each correction: the
source, the one row it changes (by a key column), each value as found and as
corrected, whether the corrected value is stated by a source or inferred, the
reason and the evidence. The build applies them as it reads each source and
refuses a correction that no longer fits the file (its row is gone, or a value is not
what it expects): the file has changed upstream and the correction must be reviewed.

The check: ONS builds every LSOA 2021 inside one council, so an LSOA's council of 2022
(the LSOA 2011 to 2021 lookup) and of 2024 (the best-fit LSOA 2021 to ward 2024 lookup)
can only differ where the 2022 council has since been abolished (Cumbria, North
Yorkshire, Somerset). Where the 2022 council still exists in 2024, any difference is
an error in one of the files, and the build fails on it, naming the file, the LSOA and
both councils, until a correction explains it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leftbehind.errors import BuildError
from leftbehind.readers import SourceTable
from leftbehind.sources import Source
from leftbehind.validation import Field, RecordSpec, check_file, fill_optional, read_yaml_list, record

BASES = ("stated", "inferred")

CORRECTION_SPEC = RecordSpec(
    noun="correction",
    fields={
        "id": Field("slug"),
        "source": Field("identifier"),
        "key": record(column=Field("title"), value=Field("title")),
        "changes": Field(
            "list",
            items=record(
                column=Field("title"),
                found=Field("title"),
                corrected=Field("title"),
                basis=Field("choice", choices=BASES),
            ),
            unique_by=("column",),
        ),
        "reason": Field("text"),
        "evidence": Field("list", items=Field("text")),
    },
)


@dataclass(frozen=True)
class Change:
    column: str
    found: str
    corrected: str
    basis: str


@dataclass(frozen=True)
class Correction:
    """One row of one source file corrected: ``key_column`` = ``key_value`` picks the row."""

    id: str
    source: str
    key_column: str
    key_value: str
    changes: tuple[Change, ...]
    reason: str
    evidence: tuple[str, ...]


def load_corrections(path: Path, sources: Mapping[str, Source]) -> list[Correction]:
    """Read and validate ``data/corrections.yml`` against its spec and the sources manifest."""
    label = f"{path.parent.name}/{path.name}"
    records, problems = read_yaml_list(path, label)
    if not problems:
        problems = check_file(label, records, CORRECTION_SPEC)
    if problems:
        raise BuildError(f"{label} has problems", problems)
    corrections = []
    for values in (fill_optional(entry, CORRECTION_SPEC.fields) for entry in records):
        where = f"{label}: record {values['id']!r}"
        source = sources.get(values["source"])
        if source is None:
            problems.append(f"{where}: field 'source': unknown source {values['source']!r} (not in data/sources.yml)")
            continue
        columns = [values["key"]["column"], *(change["column"] for change in values["changes"])]
        problems += [
            f"{where}: column {column!r} is not one the build reads from {source.label}"
            for column in columns if column not in source.columns
        ]
        if not values["changes"]:
            problems.append(f"{where}: field 'changes': a correction must change at least one value")
        corrections.append(Correction(
            id=values["id"],
            source=values["source"],
            key_column=values["key"]["column"],
            key_value=values["key"]["value"],
            changes=tuple(Change(**change) for change in values["changes"]),
            reason=values["reason"],
            evidence=tuple(values["evidence"]),
        ))
    if problems:
        raise BuildError(f"{label} has problems", problems)
    return corrections


def _as_text(value: Any) -> str:
    """A source value as the YAML writes it: codes and names are text; a number drops '.0'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def corrected(table: SourceTable, corrections: Iterable[Correction], label: str = "data/corrections.yml") -> SourceTable:
    """``table`` with its declared corrections applied (a new row list; the rows read stay as read).

    Each correction must find exactly one row by its key, holding each value as found.
    """
    corrections = [c for c in corrections if c.source == table.source.id]
    if not corrections:
        return table
    rows = list(table.rows)
    problems = []
    for correction in corrections:
        where = f"{label}: record {correction.id!r}: {table.source.label}"
        matches = [i for i, row in enumerate(rows) if _as_text(row[correction.key_column]) == correction.key_value]
        if len(matches) != 1:
            problems.append(
                f"{where}: expected one row with {correction.key_column} {correction.key_value}, found {len(matches)}"
            )
            continue
        index = matches[0]
        row = dict(rows[index])
        for change in correction.changes:
            value = _as_text(row[change.column])
            if value != change.found:
                problems.append(
                    f"{where}: {table.where(index)} ({correction.key_column} {correction.key_value}), column "
                    f"'{change.column}': found {value!r}, not the {change.found!r} the correction expects; "
                    "the file has changed: review the correction"
                )
            row[change.column] = change.corrected
        rows[index] = row
    if problems:
        raise BuildError("a declared correction does not fit its source file", problems)
    return SourceTable(table.source, rows)


class CorrectedTables(Mapping):
    """Source tables with the declared corrections applied to each the first time it is asked
    for, in whichever process reads it (the build's outline process reads the outline folders
    itself). The tables read stay as read (a session of tests builds several databases from
    one reading); a table read only when first asked for (the postcode directory) is still
    read only then, from ``tables``."""

    def __init__(self, tables: Mapping[str, SourceTable], corrections: list[Correction]) -> None:
        self.tables, self.corrections = tables, corrections
        self.corrected: dict[str, SourceTable] = {}
        # What the build derives from the sources alone, kept with them for another build.
        self.derived = getattr(tables, "derived", {})

    @property
    def read(self) -> dict[str, SourceTable]:
        """The tables read so far, those asked for corrected."""
        return {**getattr(self.tables, "read", self.tables), **self.corrected}

    def __getitem__(self, source_id: str) -> SourceTable:
        if source_id not in self.corrected:
            table = self.tables[source_id]
            if not any(correction.source == source_id for correction in self.corrections):
                return table
            self.corrected[source_id] = corrected(table, self.corrections)
        return self.corrected[source_id]

    def __iter__(self):
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)


def apply_corrections(tables: Mapping[str, SourceTable], corrections: list[Correction]) -> CorrectedTables:
    """``tables`` with the declared corrections applied to the tables they name, as each is asked for."""
    return CorrectedTables(tables, corrections)


def council_contradictions(
    lsoa11_lsoa21: SourceTable, lsoa21_ward24: SourceTable, councils_2024: set[str], names_2024: Mapping[str, str]
) -> list[str]:
    """Every LSOA 2021 whose 2024 council is not its 2022 council although that council still exists.

    ``councils_2024`` holds every council of 2024: a 2022 council that is not among
    them was abolished, and its LSOAs are not compared. ``names_2024`` names those it can.
    """
    council_2022: dict[str, tuple[str, str]] = {}
    for row in lsoa11_lsoa21.rows:
        council_2022[row["lsoa21_code"]] = (row["ltla22_code"], row["ltla22_name"])
    problems = []
    for index, row in enumerate(lsoa21_ward24.rows):
        lsoa21, council = row["lsoa21_code"], row["ltla24_code"]
        before = council_2022.get(lsoa21)
        if before is None or before[0] not in councils_2024 or before[0] == council:
            continue
        name = f" ({names_2024[council]})" if council in names_2024 else ""
        problems.append(
            f"{lsoa21_ward24.source.label}: {lsoa21_ward24.where(index)}: LSOA {lsoa21} is placed in council "
            f"{council}{name} in 2024, but {lsoa11_lsoa21.source.label} places it in {before[0]} ({before[1]}) "
            "in 2022, a council that still exists: correct it in data/corrections.yml, with the reason and "
            "the evidence"
        )
    return problems


def check_councils_2022_2024(
    lsoa11_lsoa21: SourceTable, lsoa21_ward24: SourceTable, ltla24_region: SourceTable
) -> None:
    """Fail the build on any LSOA whose 2024 council contradicts a 2022 council that still exists.

    The councils of 2024 are those of the ward lookup (England and Wales) and of the
    region lookup (England, with names).
    """
    names = {row["ltla24_code"]: row["ltla24_name"] for row in ltla24_region.rows}
    councils = set(names) | {row["ltla24_code"] for row in lsoa21_ward24.rows}
    problems = council_contradictions(lsoa11_lsoa21, lsoa21_ward24, councils, names)
    if problems:
        raise BuildError("an LSOA's 2024 council contradicts its 2022 council", problems[:20])


def correction_rows(corrections: list[Correction]) -> list[dict[str, Any]]:
    """Rows of ``source_corrections``: one per value corrected."""
    return [
        {
            "correction_id": correction.id,
            "source_id": correction.source,
            "key_column": correction.key_column,
            "key_value": correction.key_value,
            "column_name": change.column,
            "found": change.found,
            "corrected": change.corrected,
            "basis": change.basis,
            "reason": correction.reason,
            "evidence": json.dumps(list(correction.evidence), ensure_ascii=False),
        }
        for correction in sorted(corrections, key=lambda c: c.id)
        for change in correction.changes
    ]
