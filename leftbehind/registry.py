"""The shape of a table, declared once: what the schema, the loading and the metadata read.

Each table of the database is one ``Table`` in ``leftbehind/tables.py``: its columns
with their types, nullability, keys and descriptions, its indexes, full-text columns,
label column, facets and sort order, licence and source. From that one declaration
this module creates the table, checks and orders every row before it is inserted,
and writes the table's part of ``metadata.yml``. A view is declared the same way,
with its SQL.
"""

from __future__ import annotations

import operator
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from leftbehind.errors import BuildError

# What each declared Python type may hold in a row, and its SQLite type.
SQL_TYPES: dict[type, str] = {str: "TEXT", int: "INTEGER", float: "REAL"}

# How an HTML page may show a column's values (CSV and JSON keep them as stored): a 0/1 flag
# as "yes" or "no", a share from 0 to 1 as a percentage.
SHOWN_AS = {"yes-no": int, "percent": float}
# Words a column's name abbreviates, written out in its default label.
LABEL_WORDS = {"id": "ID", "url": "URL", "cni": "CNI", "imd": "IMD", "lsoa": "LSOA", "lsoas": "LSOAs", "appg": "APPG"}

CC_BY = ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/")
OGL = ("OGL v3.0", "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/")


def index_and_year(word: str) -> str | None:
    """An index and its year in words ("imd2019": "IMD 2019"), or None when ``word`` is not one."""
    match = re.fullmatch(r"(imd|cni)(\d{4})", word)
    return f"{LABEL_WORDS[match[1]]} {match[2]}" if match else None


@dataclass(frozen=True)
class Column:
    """One column: its type, whether it may be null, what it references, what it means."""

    name: str
    type: type
    description: str
    nullable: bool = True
    references: str | None = None  # "table.column"
    # Every reference and facet column is indexed, except one declared here with the reason:
    # a column of a small table whose few values an index would not find faster than a scan.
    unindexed: str | None = None
    index: bool = False
    unique: bool = False  # an index that also refuses a value given twice
    facet_title: str | None = None  # the facet's heading in words, where the column is a facet
    label: str | None = None  # a short name in words (phone cards, record pages); else made from the name
    shown_as: str | None = None  # a key of SHOWN_AS: how HTML pages show the values

    @property
    def human_label(self) -> str:
        """The column's short name for people: its label, or its name in words ("cni_rank": "CNI rank")."""
        if self.label:
            return self.label
        words = [LABEL_WORDS.get(word) or index_and_year(word) or word for word in self.name.split("_")]
        if self.references and words[-1] == "ID":  # session_id: "Session", the record it names
            words.pop()
        return " ".join(words)[:1].upper() + " ".join(words)[1:]

    @property
    def foreign_key(self) -> tuple[str, str, str] | None:
        if self.references is None:
            return None
        other_table, other_column = self.references.split(".")
        return (self.name, other_table, other_column)


@dataclass(frozen=True)
class Table:
    """One table or view of the database, as Datasette and the build both see it.

    ``rows`` returns the table's rows from the build's inputs (see ``leftbehind.build``);
    a view has ``sql`` instead. ``description`` is plain text unless ``description_html``.
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    rows: Callable[[Any], list[dict[str, Any]]] | None = None
    sql: str | None = None
    indexes: tuple[tuple[str, ...], ...] = ()
    full_text: tuple[str, ...] = ()
    full_text_tokenizer: str | None = None
    label_column: str | None = None
    facets: tuple[str | dict[str, str], ...] = ()
    year_facets: tuple[str, ...] = ()  # facets shown in year order, with 'date unknown' last
    sort: str | None = None
    sort_desc: str | None = None
    description_html: bool = False
    licence: tuple[str, str] = CC_BY
    source: tuple[str, str] | None = None
    hidden: bool = False
    extra_metadata: Mapping[str, Any] = field(default_factory=dict)
    # A table keyed by text and looked up only by its key (the 2.3 million postcodes) is
    # smaller and faster without SQLite's rowid: the key is then stored once, not twice.
    without_rowid: bool = False

    @property
    def is_view(self) -> bool:
        return self.sql is not None

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def value_problem(column: Column, value: Any) -> str | None:
    """Why ``value`` cannot go into ``column``, or None when it can.

    Booleans are refused for numbers: a flag is stored as 0 or 1, said explicitly.
    """
    if value is None:
        return None if column.nullable else "must not be null"
    if isinstance(value, bool):
        return f"expected {column.type.__name__}, found bool"
    if column.type is float and isinstance(value, int):
        return None
    if not isinstance(value, column.type):
        return f"expected {column.type.__name__}, found {_type_name(value)}"
    return None


def allowed_types(column: Column) -> frozenset[type]:
    """The exact Python types a column takes (a bool is not an int here: flags are 0 or 1)."""
    types = {column.type} | ({int} if column.type is float else set())
    return frozenset(types | ({type(None)} if column.nullable else set()))


def ordered_rows(table: Table, rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows as tuples of exactly the declared columns, in declared order, each value checked.

    A row with a missing or an extra key, or a value of the wrong type, is a fault in
    the code that computed it, so the error names the table, the row and the column.
    Types are checked a column at a time (one set of types per column) and the rows
    looked at one by one only to name a bad value.
    """
    names = table.column_names
    expected = set(names)
    # itemgetter of one name gives the value, not a 1-tuple: wrap it so every row is a tuple.
    values_of = operator.itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    ordered = []
    rows = rows if isinstance(rows, list) else list(rows)
    if rows and isinstance(rows[0], tuple):
        # Rows already made as tuples in the declared order (millions of them: no dict each).
        wrong = next((i for i, row in enumerate(rows) if not isinstance(row, tuple) or len(row) != len(names)), None)
        if wrong is not None:
            raise BuildError(
                f"the rows computed for table {table.name} do not match its declaration",
                [f"table {table.name}: row {wrong + 1}: expected a tuple of {len(names)} values ({', '.join(names)})"],
            )
        rows, ordered = [], rows
    for index, row in enumerate(rows):
        if len(row) != len(names) or row.keys() != expected:
            missing, extra = sorted(expected - set(row)), sorted(set(row) - expected)
            raise BuildError(
                f"the rows computed for table {table.name} do not match its declaration",
                [f"table {table.name}: row {index + 1}: missing columns {missing}, undeclared columns {extra}"],
            )
        ordered.append(values_of(row))
    for position, (column, values) in enumerate(zip(table.columns, zip(*ordered))):
        if not set(map(type, values)) <= allowed_types(column):
            index = next(i for i, value in enumerate(values) if value_problem(column, value))
            row = dict(zip(names, ordered[index]))
            raise BuildError(
                f"the rows computed for table {table.name} have wrong values",
                [f"table {table.name}: row {index + 1} ({_row_key(table, row)}): column '{column.name}': "
                 f"{value_problem(column, values[index])}"],
            )
    return ordered


def _row_key(table: Table, row: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={row.get(name)!r}" for name in table.primary_key) or "no key"


def create_table(db: sqlite_utils.Database, table: Table) -> None:
    """Create the table with its keys and not-null constraints (indexes come after the rows)."""
    arguments = {
        "pk": table.primary_key[0] if len(table.primary_key) == 1 else table.primary_key,
        "not_null": {column.name for column in table.columns if not column.nullable},
        "foreign_keys": [column.foreign_key for column in table.columns if column.foreign_key],
    }
    columns = {column.name: column.type for column in table.columns}
    if table.without_rowid:
        db.execute(db.create_table_sql(table.name, columns, **arguments).rstrip().rstrip(";") + " WITHOUT ROWID")
    else:
        db[table.name].create(columns, **arguments)


def index_columns(table: Table) -> list[tuple[tuple[str, ...], bool]]:
    """Every index as (columns, unique): the declared ones, then one per column marked
    ``index`` or ``unique``."""
    single = [((column.name,), column.unique) for column in table.columns if column.index or column.unique]
    return [(columns, False) for columns in table.indexes] + [
        (columns, unique) for columns, unique in single if columns not in table.indexes
    ]


def load_table(db: sqlite_utils.Database, table: Table, rows: Iterable[Mapping[str, Any]]) -> None:
    """Create, fill and index one declared table, or create one declared view."""
    if table.is_view:
        db.create_view(table.name, table.sql.strip())
        check_view_columns(db, table)
        return
    create_table(db, table)
    columns = ", ".join(f"[{name}]" for name in table.column_names)
    insert = f"insert into [{table.name}] ({columns}) values ({', '.join('?' * len(table.columns))})"
    try:
        # Rows already checked and ordered by the declaration: one prepared statement for all.
        db.conn.executemany(insert, ordered_rows(table, rows))
        for columns, unique in index_columns(table):
            db[table.name].create_index(list(columns), unique=unique)
    except sqlite3.IntegrityError as error:  # validation should have caught it: say where, not a traceback
        raise BuildError(
            f"the rows computed for table {table.name} break its keys", [f"table {table.name}: {error}"]
        ) from error
    if table.full_text:
        db[table.name].enable_fts(
            list(table.full_text), tokenize=table.full_text_tokenizer, create_triggers=False
        )


def check_view_columns(db: sqlite_utils.Database, table: Table) -> None:
    actual = list(db.view(table.name).columns_dict)
    if actual != table.column_names:
        raise BuildError(
            f"view {table.name} does not match its declaration",
            [f"view {table.name}: declares columns {table.column_names}, its SQL gives {actual}"],
        )


def check_declarations(tables: Iterable[Table]) -> list[str]:
    """Faults in the declarations themselves: what a test and the build both check."""
    problems = []
    declared = {table.name: table for table in tables}
    for table in declared.values():
        names = table.column_names
        where = f"table {table.name}"
        if len(set(names)) != len(names):
            problems.append(f"{where}: a column is declared twice")
        if not table.description.strip():
            problems.append(f"{where}: no description")
        for column in table.columns:
            if column.type not in SQL_TYPES:
                problems.append(f"{where}: column {column.name}: type {column.type!r} is not str, int or float")
            if len(column.description) < 10:
                problems.append(f"{where}: column {column.name}: no real description")
            if column.unindexed is not None and (column.index or column.unique or len(column.unindexed) < 10):
                problems.append(f"{where}: column {column.name}: unindexed needs a reason and no index")
            if column.references:
                other_table, _, other_column = column.references.partition(".")
                if other_table not in declared or other_column not in declared[other_table].column_names:
                    problems.append(f"{where}: column {column.name}: references unknown {column.references}")
        if table.is_view == (table.rows is not None):
            problems.append(f"{where}: give exactly one of rows (a table) or sql (a view)")
        if table.without_rowid and not table.primary_key:
            problems.append(f"{where}: a table without rowid needs a primary key")
        for key in table.primary_key:
            if key not in names:
                problems.append(f"{where}: primary key {key} is not a column")
        named = [*table.full_text, *(c for index in table.indexes for c in index)]
        facets = [facet_column(facet) for facet in table.facets]
        named += facets + list(table.year_facets)
        named += [name for name in (table.label_column, table.sort, table.sort_desc) if name]
        problems += [f"{where}: names unknown column {name}" for name in named if name not in names]
        problems += [
            f"{where}: facet {name} has no facet_title"
            for name in facets if name in names and not table.column(name).facet_title
        ]
        problems += [
            f"{where}: column {column.name}: shown_as {column.shown_as!r} needs one of {sorted(SHOWN_AS)} on a "
            f"column of that type"
            for column in table.columns
            if column.shown_as is not None and SHOWN_AS.get(column.shown_as) is not column.type
        ]
    return problems


def facet_column(facet: str | dict[str, str]) -> str:
    """The column a configured facet counts: ``'kind'`` or ``{'array': 'topics'}``."""
    return facet["array"] if isinstance(facet, dict) else facet


def table_metadata(table: Table) -> dict[str, Any]:
    """The table's entry in metadata.yml, in the order people read it."""
    entry: dict[str, Any] = {}
    entry["description_html" if table.description_html else "description"] = table.description
    entry["license"], entry["license_url"] = table.licence
    if table.source:
        entry["source"], entry["source_url"] = table.source
    if table.label_column:
        entry["label_column"] = table.label_column
    if table.sort:
        entry["sort"] = table.sort
    if table.sort_desc:
        entry["sort_desc"] = table.sort_desc
    if table.hidden:
        entry["hidden"] = True
    if table.facets:
        entry["facets"] = list(table.facets)
        entry["facet_titles"] = {
            facet_column(facet): table.column(facet_column(facet)).facet_title for facet in table.facets
        }
    if table.year_facets:
        entry["year_facets"] = list(table.year_facets)
    entry.update(table.extra_metadata)
    entry["column_labels"] = {column.name: column.human_label for column in table.columns}
    shown_as = {column.name: column.shown_as for column in table.columns if column.shown_as}
    if shown_as:
        entry["shown_as"] = shown_as
    entry["columns"] = {column.name: column.description for column in table.columns}
    return entry
