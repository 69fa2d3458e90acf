"""A tiny, hand-written world for fast tests: three wards, two districts, a few catalogue records.

Nothing here comes from the real source files; it stands in for them so that derivation,
the table declarations and the plugins can be tested in milliseconds.
"""

from __future__ import annotations

from pathlib import Path

from leftbehind.build import Inputs, write_database
from leftbehind.catalogue import CATALOGUE_FILES, validate_catalogue
from leftbehind.readers import SourceTable
from leftbehind.sources import Source
from leftbehind.wards import CNI_COLUMNS


def source(source_id: str, columns: list[str], rows: int, form: str = "csv") -> Source:
    return Source(
        id=source_id, title=source_id, file=f"{source_id}.{form}", repository="o/r", commit="0" * 40,
        path="p", url="https://example.org/", sha256="0" * 64, rows=rows, format=form,
        encoding="utf-8" if form == "csv" else None, object=None if form == "csv" else "x",
        columns=tuple(columns), licence="l", licence_url="https://example.org/", attribution="a",
    )


def table(source_id: str, rows: list[dict], form: str = "csv") -> SourceTable:
    return SourceTable(source(source_id, list(rows[0]), len(rows), form), rows)


def cni_row(code: str, name: str, lad: str, rank: int, flag: str) -> dict:
    row = {column: str(rank) for column in CNI_COLUMNS}
    row.update({"ward17_code": code, "ward17_name": name, "lad19_code": lad, "lad19_name": f"District {lad}"})
    row.update({column: f"{rank / 10:.1f}" for column in CNI_COLUMNS if column.endswith("score")})
    row["Left Behind Area?"] = flag
    return row


def source_tables(**changes) -> dict[str, SourceTable]:
    """Source tables for wards W1 (left behind in both sets), W2 (joined 2020) and W3 (neither)."""
    made = {
        "cni2020": [cni_row("W1", "One", "D1", 1, "TRUE"), cni_row("W2", "Two", "D1", 2, "TRUE"),
                    cni_row("W3", "Three", "D2", 3, "FALSE")],
        "cni2019": [cni_row("W1", "One", "D1", 1, "TRUE"), cni_row("W2", "Two", "D1", 2, "FALSE"),
                    cni_row("W3", "Three", "D2", 3, "FALSE")],
        "ward_lad_lookup": [{"WD17CD": w, "WD17NM": n, "LAD17CD": d} for w, n, d in
                            [("W1", "One", "D1"), ("W2", "Two", "D1"), ("W3", "Three", "D2")]],
        "lad_region_lookup": [{"LAD17CD": d, "LAD17NM": f"District {d}", "RGN17CD": "R1", "RGN17NM": "North"}
                              for d in ("D1", "D2")],
        "lsoa_ward_lookup": [{"LSOA11CD": lsoa, "WD17CD": ward, "LAD17CD": "D1"} for lsoa, ward in
                             [("L1", "W1"), ("L2", "W1"), ("L3", "W2")]],  # W3 gets no LSOA
        "lsoa_centroids": [{"X": x, "Y": y, "lsoa11cd": lsoa} for lsoa, x, y in
                           [("L1", "-1.0", "53.0"), ("L2", "-1.2", "53.2"), ("L3", "-2.0", "52.0")]],
        "ward_points": [{"wdcd": "W1", "longitude": "-1.1", "latitude": "53.1"},
                        {"wdcd": "W2", "longitude": "-2.0", "latitude": "50.0"},  # corrupt: latitude 50.0
                        {"wdcd": "W3", "longitude": "-3.0", "latitude": "51.0"}],
        "imd_lsoa": [{"lsoa_code": lsoa, "IMD_decile": d, "IMD_rank": r} for lsoa, d, r in
                     [("L1", "1", "10"), ("L2", "3", "9000"), ("L3", "1", "20")]],
        "population": [{"lsoa11_code": lsoa, "total_population": p} for lsoa, p in
                       [("L1", 1000.0), ("L2", 3000.0), ("L3", 1500.0)]],
    }
    made.update(changes)
    return {name: table(name, rows, "rda" if name == "population" else "csv") for name, rows in made.items()}



def catalogue_records() -> dict[str, list[dict]]:
    """A small catalogue in the shape of data/*.yml, before validation."""
    return {
        "topics": [{"id": "transport", "label": "Transport", "meaning": "Buses and trains."}],
        "organisations": [
            {"id": "local-trust", "name": "Local Trust", "kind": "charity", "website": None},
            {"id": "ocsi", "name": "OCSI", "kind": "research company", "website": None},
        ],
        "sessions": [
            {"id": "evidence-session-1", "number": 1, "kind": "evidence session", "title": "Buses",
             "date": "2021-03-02", "date_basis": "stated", "url": None, "summary": "About buses."},
            {"id": "evidence-session-2", "number": 2, "kind": "evidence session", "title": None,
             "date": None, "date_basis": None, "url": None, "summary": "Nothing is known."},
        ],
        "publications": [
            {"id": "left-behind-areas-2020-interim-set", "title": "Left Behind Areas 2020 (Interim Set)",
             "kind": "data set", "published": "2020", "published_basis": "stated",
             "organisations": [{"id": "ocsi", "role": "publisher"}], "url": None,
             "description": "The 2020 set.", "topics": ["transport"]},
            {"id": "zebra-report", "title": "Zebra report", "kind": "research report", "published": None,
             "published_basis": None, "organisations": [{"id": "local-trust", "role": "publisher"}],
             "url": None, "description": "Read before the session.", "topics": ["transport"],
             "sessions": [{"session": "evidence-session-1", "section": "further reading"},
                          {"session": "evidence-session-1", "section": "briefing pack"}]},
        ],
        "people": [
            {"id": "ann-example", "name": "Ann Example",
             "sessions": [{"session": "evidence-session-1", "role": "speaker", "position": "Director",
                           "organisation": "local-trust"}]},
        ],
        "appg_roles": [
            {"id": "local-trust-secretariat", "role": "secretariat", "organisation": "local-trust",
             "start": None, "start_basis": None, "end": None, "end_basis": None, "seen_at": []},
        ],
    }


def inputs() -> Inputs:
    """The build's inputs for the tiny world."""
    labels = {name: f"data/{name}.yml" for name in CATALOGUE_FILES}
    tables = source_tables()
    return Inputs(validate_catalogue(catalogue_records(), labels), {k: t.source for k, t in tables.items()}, tables)


def database(path: Path) -> Path:
    """Write the tiny world's database through the real table declarations."""
    world = inputs()
    world.built_at, world.commit = "2024-01-01T00:00:00Z", None
    write_database(world, path)
    return path
