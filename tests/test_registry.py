"""The table declarations (leftbehind/tables.py): sound, obeyed by the build, and what metadata.yml says."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from leftbehind.errors import BuildError
from leftbehind.metadata import METADATA, tables_yaml, with_generated_tables
from leftbehind.registry import SQL_TYPES, Column, Table, check_declarations, load_table, ordered_rows
from leftbehind.tables import TABLES

EXAMPLE = Table(
    name="example",
    description="A table for these tests.",
    rows=lambda inputs: [],
    primary_key=("code",),
    columns=(
        Column("code", str, "The example's code.", nullable=False),
        Column("count", int, "How many there are; null when unknown."),
        Column("share", float, "A share from 0 to 1."),
    ),
)


def test_the_declarations_have_no_faults():
    assert check_declarations(TABLES) == []


def test_faulty_declarations_are_named():
    faulty = Table(
        name="faulty",
        description="Faulty.",
        rows=lambda inputs: [],
        primary_key=("nope",),
        facets=("missing",),
        columns=(
            Column("a", str, "x"),
            Column("b", list, "A column of an unstorable type."),
            Column("c", str, "Points at a table nobody declared.", references="ghosts.id"),
        ),
    )
    problems = check_declarations([faulty])
    assert "table faulty: column a: no real description" in problems
    assert "table faulty: column b: type <class 'list'> is not str, int or float" in problems
    assert "table faulty: column c: references unknown ghosts.id" in problems
    assert "table faulty: primary key nope is not a column" in problems
    assert "table faulty: names unknown column missing" in problems


def test_rows_are_ordered_and_typed_by_the_declaration():
    rows = ordered_rows(EXAMPLE, [{"share": 1, "count": None, "code": "a"}])
    assert rows == [("a", None, 1)]  # in the declared order: code, count, share


def test_a_table_of_one_column_gives_rows_of_one_value():
    single = Table(
        name="single", description="One column.", rows=lambda inputs: [], primary_key=("code",),
        columns=(Column("code", str, "The code.", nullable=False),),
    )
    assert ordered_rows(single, [{"code": "a"}, {"code": "b"}]) == [("a",), ("b",)]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"code": "a", "count": 1}, "missing columns ['share'], undeclared columns []"),
        ({"code": "a", "count": 1, "share": 0.5, "extra": 1}, "undeclared columns ['extra']"),
        ({"code": None, "count": 1, "share": 0.5}, "column 'code': must not be null"),
        ({"code": "a", "count": "1", "share": 0.5}, "column 'count': expected int, found str"),
        ({"code": "a", "count": True, "share": 0.5}, "column 'count': expected int, found bool"),
        ({"code": "a", "count": 1.5, "share": 0.5}, "column 'count': expected int, found float"),
    ],
    ids=["missing", "undeclared", "null", "text-for-number", "bool", "float-for-int"],
)
def test_a_row_that_breaks_its_declaration_is_named(row, expected):
    with pytest.raises(BuildError) as caught:
        ordered_rows(EXAMPLE, [{"code": "ok", "count": 1, "share": 0.1}, row])
    report = caught.value.report()
    assert "table example: row 2" in report
    assert expected in report


def test_a_nullable_number_column_is_a_number_whatever_the_first_row_holds():
    """The schema comes from the declaration, not from the values of the first row."""
    db = sqlite_utils.Database(memory=True)
    load_table(db, EXAMPLE, [{"code": "a", "count": None, "share": None}, {"code": "b", "count": 3, "share": 0.5}])
    assert db["example"].columns_dict == {"code": str, "count": int, "share": float}


def test_the_committed_metadata_is_generated_from_the_declarations():
    current = METADATA.read_text(encoding="utf-8")
    assert with_generated_tables(current) == current, "run: python -m leftbehind.metadata"
    assert tables_yaml() in current


def test_the_generator_refuses_a_file_without_its_markers():
    with pytest.raises(ValueError, match="marker"):
        with_generated_tables("title: x\n")


# --- The built database against its declarations ------------------------------------


@pytest.fixture(scope="module")
def conn(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(db_path)


@pytest.mark.parametrize("table", TABLES, ids=[table.name for table in TABLES])
def test_each_table_is_built_as_declared(conn, table):
    info = conn.execute(f"pragma table_info([{table.name}])").fetchall()
    assert [row[1] for row in info] == table.column_names
    if table.is_view:
        return
    for _, name, sql_type, not_null, _, pk in info:
        column = table.column(name)
        assert sql_type == SQL_TYPES[column.type], name
        assert bool(not_null) == (not column.nullable), name
        assert (pk > 0) == (name in table.primary_key), name
    declared = {column.foreign_key for column in table.columns if column.foreign_key}
    actual = {(row[3], row[2], row[4]) for row in conn.execute(f"pragma foreign_key_list([{table.name}])")}
    assert actual == declared
    for column in table.columns:  # what SQLite actually stored, not only what the schema says
        kinds = {row[0] for row in conn.execute(f"select distinct typeof([{column.name}]) from [{table.name}]")}
        allowed = {"text"} if column.type is str else {"integer"} if column.type is int else {"real", "integer"}
        assert kinds <= allowed | ({"null"} if column.nullable else set()), (column.name, kinds)


def test_every_reference_and_facet_column_is_indexed(conn):
    """Joins and facet counts on these columns are the site's most common queries."""
    for table in TABLES:
        if table.is_view:
            continue
        indexed = {row[1] for row in conn.execute(f"pragma index_list([{table.name}])")}
        first_columns = {
            conn.execute(f"pragma index_info([{name}])").fetchone()[2] for name in indexed
        }
        first_columns |= {table.primary_key[0]} if table.primary_key else set()
        wanted = {column.name for column in table.columns if column.references}
        wanted |= {facet for facet in table.facets if isinstance(facet, str)}
        wanted -= {column.name for column in table.columns if column.unindexed}
        assert wanted <= first_columns, (table.name, wanted - first_columns)


def test_a_column_declared_unindexed_has_no_index_and_few_values_in_a_small_table(conn):
    """The declared exceptions to the rule above (Column.unindexed): each column really has no
    index, so no index would be wasted on it, and a scan of it is cheap: a table of at most
    10,000 rows with at most 10 values (a reference to a table of at most 100 rows)."""
    exceptions = [(table, column) for table in TABLES for column in table.columns if column.unindexed]
    assert exceptions, "the exception is declared somewhere, or this test and Column.unindexed go"
    for table, column in exceptions:
        first_columns = {
            conn.execute(f"pragma index_info([{row[1]}])").fetchone()[2]
            for row in conn.execute(f"pragma index_list([{table.name}])")
        }
        assert column.name not in first_columns, (table.name, column.name)
        rows, values = conn.execute(f"select count(*), count(distinct [{column.name}]) from [{table.name}]").fetchone()
        assert rows <= 10_000 and values <= 10, (table.name, column.name, rows, values)
        if column.references:
            other = column.references.split(".")[0]
            assert conn.execute(f"select count(*) from [{other}]").fetchone()[0] <= 100, (table.name, column.name)


def test_an_unindexed_column_needs_a_reason_and_no_index():
    column = Column("kind", str, "What kind it is.", index=True, unindexed="a reason long enough")
    problems = check_declarations([Table(name="t", description="T.", rows=lambda inputs: [], columns=(column,))])
    assert problems == ["table t: column kind: unindexed needs a reason and no index"]
    column = Column("kind", str, "What kind it is.", unindexed="")
    problems = check_declarations([Table(name="t", description="T.", rows=lambda inputs: [], columns=(column,))])
    assert problems == ["table t: column kind: unindexed needs a reason and no index"]


def test_rows_that_break_a_key_are_a_build_error_not_a_traceback():
    db = sqlite_utils.Database(memory=True)
    with pytest.raises(BuildError) as caught:
        load_table(db, EXAMPLE, [{"code": "a", "count": 1, "share": 0.1}, {"code": "a", "count": 2, "share": 0.2}])
    assert "table example: UNIQUE constraint failed: example.code" in caught.value.report()
