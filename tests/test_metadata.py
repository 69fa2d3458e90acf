"""Every table and column in the database is described, and every description matches something real."""

from __future__ import annotations

import sqlite_utils

from leftbehind.build import content_tables


def described(metadata: dict) -> dict:
    return metadata["databases"]["leftbehind"]["tables"]


def test_every_table_and_column_is_described(db_path, metadata):
    db = sqlite_utils.Database(db_path)
    tables = described(metadata)
    for name in content_tables(db) + db.view_names():
        assert name in tables, f"table {name} is not described in metadata.yml"
        entry = tables[name]
        assert entry.get("description") or entry.get("description_html"), name
        columns = db[name].columns_dict if name in db.table_names() else db.view(name).columns_dict
        for column in columns:
            text = entry.get("columns", {}).get(column)
            assert text and len(text) > 10, f"column {name}.{column} is not described"


def test_every_described_column_exists(db_path, metadata):
    db = sqlite_utils.Database(db_path)
    for name, entry in described(metadata).items():
        assert name in db.table_names() or name in db.view_names(), f"metadata describes missing table {name}"
        columns = db[name].columns_dict if name in db.table_names() else db.view(name).columns_dict
        for column in entry.get("columns", {}):
            assert column in columns, f"metadata describes missing column {name}.{column}"


def test_facets_and_sorts_name_real_columns(db_path, metadata):
    db = sqlite_utils.Database(db_path)
    for name, entry in described(metadata).items():
        columns = db[name].columns_dict if name in db.table_names() else db.view(name).columns_dict
        for facet in entry.get("facets", []):
            column = facet["array"] if isinstance(facet, dict) else facet
            assert column in columns, (name, facet)
        for key in ("sort", "sort_desc", "label_column"):
            if key in entry:
                assert entry[key] in columns, (name, key)
