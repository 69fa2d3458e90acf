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
    # Rank 1 is the highest score (most need), as in the CNI.
    row.update({column: f"{(100 - rank) / 10:.1f}" for column in CNI_COLUMNS if column.endswith("score")})
    row["Left Behind Area?"] = flag
    return row


def source_tables(**changes) -> dict[str, SourceTable]:
    """Source tables for wards E1 (left behind in both sets), E2 (joined 2020) and E3 (neither)."""
    made = {
        "cni2020": [cni_row("E1", "One", "D1", 1, "TRUE"), cni_row("E2", "Two", "D1", 2, "TRUE"),
                    cni_row("E3", "Three", "D2", 3, "FALSE")],
        "cni2019": [cni_row("E1", "One", "D1", 1, "TRUE"), cni_row("E2", "Two", "D1", 2, "FALSE"),
                    cni_row("E3", "Three", "D2", 3, "FALSE")],
        "ward_lad_lookup": [{"WD17CD": w, "WD17NM": n, "LAD17CD": d} for w, n, d in
                            [("E1", "One", "D1"), ("E2", "Two", "D1"), ("E3", "Three", "D2")]],
        "lad_region_lookup": [{"LAD17CD": d, "LAD17NM": f"District {d}", "RGN17CD": "R1", "RGN17NM": "North"}
                              for d in ("D1", "D2")],
        "lsoa_ward_lookup": [{"LSOA11CD": lsoa, "WD17CD": ward, "LAD17CD": "D1"} for lsoa, ward in
                             [("L1", "E1"), ("L2", "E1"), ("L3", "E2")]],  # E3 gets no LSOA
        "lsoa_centroids": [{"X": x, "Y": y, "lsoa11cd": lsoa} for lsoa, x, y in
                           [("L1", "-1.0", "53.0"), ("L2", "-1.2", "53.2"), ("L3", "-2.0", "52.0")]],
        "ward_points": [{"wdcd": "E1", "longitude": "-1.1", "latitude": "53.1"},
                        {"wdcd": "E2", "longitude": "-2.0", "latitude": "50.0"},  # corrupt: latitude 50.0
                        {"wdcd": "E3", "longitude": "-3.0", "latitude": "51.0"}],
        "imd_lsoa": [{"lsoa_code": lsoa, "IMD_decile": d, "IMD_rank": r} for lsoa, d, r in
                     [("L1", "1", "10"), ("L2", "3", "9000"), ("L3", "1", "20")]],
        "population": [{"lsoa11_code": lsoa, "total_population": p} for lsoa, p in
                       [("L1", 1000.0), ("L2", 3000.0), ("L3", 1500.0)]],
        # Today: L2 was split in two in 2021, one part in each of two 2024 wards of council C1
        # (a merger of D1 and D2, renamed); L3 lies in council C2.
        "lsoa11_lsoa21": [{"lsoa11_code": a, "change_code": c, "lsoa21_code": b, "ltla22_code": d, "ltla22_name": f"Council {d}"}
                          for a, c, b, d in [("L1", "U", "N1", "C1"), ("L2", "S", "N2a", "C1"), ("L2", "S", "N2b", "C1"),
                                             ("L3", "U", "N3", "C2")]],
        "lsoa21_ward24": [{"lsoa21_code": n, "ward24_code": v, "ward24_name": f"New {v}", "ltla24_code": c}
                          for n, v, c in [("N1", "V1", "C1"), ("N2a", "V1", "C1"), ("N2b", "V2", "C1"), ("N3", "V3", "C2")]],
        "ltla24_region": [{"ltla24_code": c, "ltla24_name": n, "region24_code": "R1", "region24_name": "North"}
                          for c, n in [("C1", "Greater D"), ("C2", "District D2")]],
        # Deprivation: IMD 2019 by ward (E3 has no LSOA, so no row), the 2025 indices by LSOA 2021.
        "imd2019_ward": [{"WD17CD": ward, "Score": score, **{f"{domain}_Score": str(float(score) / 10) for domain in
                          ("Income", "Employment", "Education", "Health", "Crime", "Housing_and_Access", "Environment")}}
                         for ward, score in [("E1", "45.5"), ("E2", "30.25")]],
        "imd2025_lsoa": [{"lsoa21_code": n, "IMD_score": v} for n, v in [("N1", 50.0), ("N2a", 40.0), ("N2b", 20.0), ("N3", 10.0)]],
        "cni2023_lsoa": [{"lsoa21_code": n, "Community Needs Index 2023 Score": v}
                         for n, v in [("N1", "150.5"), ("N2a", "120"), ("N2b", "90"), ("N3", "60")]],
        # Squares around the two flagged wards' map points (E1 at -1.1, 53.1; E2 at -2.0, 52.0).
        "lba_outlines_2020": [{"lba_code": code, "lba_name": name, "geometry": square(x, y)}
                              for code, name, x, y in [("E1", "One", -1.1, 53.1), ("E2", "Two", -2.0, 52.0),
                                                       ("S0001", "A Scottish area", -4.0, 56.0)]],
        "lba_outlines_2019": [{"lba_code": "E1", "lba_name": "One", "geometry": square(-1.1, 53.1)}],
        # 2019 outlines: E1 kept its code; E9 is new, over E2's land (E2 changed before 2019).
        "ward_outlines_2019": [
            {"WD19CD": code, "WD19NM": name, "LAD20CD": "D1", "BNG_E": east, "BNG_N": north, "LONG": x, "LAT": y,
             "geometry": polygon(x, y, half)}
            for code, name, x, y, half, east, north in [("E1", "One", -1.1, 53.1, 0.02, 460_000, 360_000),
                                                        ("E9", "Nine", -2.0, 52.0, 0.03, 400_000, 250_000)]
        ],
        # LSOA outlines, named after their MSOAs; L4 holds E3's label point (E3 has no best-fit LSOA).
        "lsoa_outlines": [{"LSOA11CD": code, "LSOA11NM": name, "LSOA11NMW": name, "LAD20CD": lad, "geometry": polygon(x, y, 0.01)}
                          for code, name, lad, x, y in [("L1", "D1 001A", "D1", -1.0, 53.0), ("L2", "D1 001B", "D1", -1.2, 53.2),
                                                        ("L3", "D1 002A", "D1", -2.0, 52.0), ("L4", "D2 001A", "D2", -3.0, 51.0)]],
        "msoa_names": [{"MSOA11CD": code, "MSOA11NM": name, "MSOA11HCLNM": local, "LAD20CD": lad, "LAD20NM": f"District {lad}",
                        "CTRYCD": "E92000001"}
                       for code, name, local, lad in [("M1", "D1 001", "Tiny Town North", "D1"), ("M2", "D1 002", "Tiny Town South", "D1"),
                                                      ("M3", "D2 001", "Little Village", "D2")]],
    }
    made.update(changes)
    return {name: table(name, rows, FORMATS.get(name, "csv")) for name, rows in made.items()}


FORMATS = {"population": "rda", "lsoa11_lsoa21": "rda", "lsoa21_ward24": "rda", "ltla24_region": "rda", "imd2025_lsoa": "rda",
           "lba_outlines_2020": "rda-sf", "lba_outlines_2019": "rda-sf",
           "ward_outlines_2019": "geojson", "lsoa_outlines": "geojson"}


def polygon(x: float, y: float, half: float):
    """A square MultiPolygon as the GeoJSON reader gives a geometry: a shapely object."""
    import shapely

    return shapely.MultiPolygon([shapely.box(x - half, y - half, x + half, y + half)])


def square(x: float, y: float, half: float = 0.01) -> list[list[list[tuple[float, float]]]]:
    """A MultiPolygon (one polygon, one ring) the way rdata gives an sf geometry: lists of points."""
    ring = [(x - half, y - half), (x + half, y - half), (x + half, y + half), (x - half, y + half), (x - half, y - half)]
    return [[ring]]



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
