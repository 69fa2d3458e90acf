"""Reading a verified source file as its manifest entry declares: CSV or an R data file.

``read_source`` is the one dispatch: the entry's ``format`` picks the reader, its
``columns`` are the columns the build needs (any other column is dropped, a missing
one is an error naming the file and the column) and its ``rows`` the row count the
file must have. Every source comes back as a ``SourceTable``: plain rows keyed by
column name, with what is needed to report a bad value by file, line and column.

Two formats come as a folder of files read as one table: ``geojson`` (one
FeatureCollection per file; a row is a feature's declared properties and its
``geometry``, a shapely Polygon or MultiPolygon in the file's longitude and latitude)
and ``msgpack-br`` (brotli-compressed msgpack of ``{"columns", "data": {column:
values}}``, the ONS Postcode Directory's 2.7 million rows: too many for a dict each, so
they come back as a ``SourceColumns``, one numpy array per column).
"""

from __future__ import annotations

import csv
import itertools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from leftbehind.errors import BuildError
from leftbehind.sources import Source


@dataclass(frozen=True)
class SourceTable:
    """The rows of one source file, with what is needed to report on them."""

    source: Source
    rows: list[dict[str, Any]]

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def where(self, index: int) -> str:
        """Where row ``index`` is in the file: a CSV line (after the header) or an R row."""
        return f"line {index + 2}" if self.source.format == "csv" else f"row {index + 1}"

    def problem(self, index: int, column: str, message: str) -> BuildError:
        return BuildError(
            f"{self.source.label} has a bad value",
            [f"{self.source.label}: {self.where(index)}, column '{column}': {message}"],
        )

    def number(self, index: int, column: str, cast: type = float) -> float | int:
        """The value of ``column`` in row ``index`` as a finite number, or a clear error."""
        value = self.rows[index][column]
        try:
            number = cast(value)
        except (TypeError, ValueError, OverflowError):
            raise self.problem(index, column, f"{value!r} is not a number") from None
        if cast is int and isinstance(value, float) and value != number:
            raise self.problem(index, column, f"{value!r} is not a whole number")
        if isinstance(number, float) and not math.isfinite(number):
            raise self.problem(index, column, f"{value!r} is not a finite number")
        return number

    def numbers(self, column: str, cast: type = float) -> list[float | int]:
        """Every value of ``column`` as a finite number, or a clear error naming the first bad one.

        One pass over the column; only when it fails are the rows looked at one by one,
        to say which line holds the bad value.
        """
        try:
            values = [cast(row[column]) for row in self.rows]
            whole = cast is not int or all(not isinstance(row[column], float) or row[column].is_integer() for row in self.rows)
            if whole and (cast is int or all(map(math.isfinite, values))):
                return values
        except (TypeError, ValueError, OverflowError):
            pass
        return [self.number(index, column, cast) for index in range(len(self.rows))]

    def text(self, index: int, column: str) -> str:
        """The value of ``column`` in row ``index`` as non-empty text, or a clear error."""
        value = self.rows[index][column]
        if not isinstance(value, str) or not value.strip():
            raise self.problem(index, column, f"{value!r} is not a code or a name")
        return value


def _missing_columns(source: Source, header: list[str]) -> None:
    missing = [column for column in source.columns if column not in header]
    if missing:
        raise BuildError(
            f"{source.label} lacks columns the build needs",
            [f"{source.label}: missing column '{column}'" for column in missing],
        )


def _check_row_count(source: Source, found: int) -> None:
    if found != source.rows:
        raise BuildError(
            f"{source.label} has the wrong number of rows",
            [f"{source.label}: expected {source.rows} data rows, found {found} (truncated?)"],
        )


def read_csv(source: Source, path: Path) -> SourceTable:
    """Read a CSV source in its declared encoding, checking its header and its row count."""
    columns = source.columns
    try:
        with path.open(newline="", encoding=source.encoding) as handle:
            reader = csv.DictReader(handle)
            _missing_columns(source, list(reader.fieldnames or []))
            rows = []
            for row in reader:
                if None in row or any(row[column] is None for column in columns):
                    raise BuildError(
                        f"{source.label} is malformed",
                        [f"{source.label}: line {reader.line_num}: wrong number of fields"],
                    )
                rows.append({column: row[column] for column in columns})
    except (UnicodeDecodeError, csv.Error) as error:
        raise BuildError(
            f"{source.label} is malformed", [f"{source.label}: cannot be read as CSV: {error}"]
        ) from error
    _check_row_count(source, len(rows))
    return SourceTable(source, rows)


def read_rda(source: Source, path: Path) -> SourceTable:
    """Read the declared data frame of an R data file (``.rda``) with ``pyreadr`` (librdata)."""
    import pyreadr

    try:
        objects = pyreadr.read_r(str(path), use_objects=[source.object])
    except Exception as error:  # librdata raises its own kinds for a damaged file
        raise unreadable_r_file(source, error) from error
    return _frame_table(source, objects.get(source.object))


def unreadable_r_file(source: Source, error: Exception) -> BuildError:
    return BuildError(
        f"{source.label} is not a readable R data file",
        [f"{source.label}: cannot be read as .rda: {type(error).__name__}: {error}"],
    )


def _keep(value: Any, attributes: Any) -> Any:
    """Keep an sf geometry (and its crs and bbox) as the nested lists rdata parsed."""
    return value


def read_rda_sf(source: Source, path: Path) -> SourceTable:
    """Read the declared sf data frame of an R data file with ``rdata``.

    pyreadr cannot read sf geometry columns; rdata gives each MULTIPOLYGON as
    nested lists: polygon -> ring -> numpy array of (longitude, latitude).
    """
    import rdata

    # rdata has no constructor for the tibble and sf classes and would warn before
    # falling back, so tables map to data.frame and geometries are kept as parsed.
    constructors = dict(rdata.conversion.DEFAULT_CLASS_MAP)
    for name in ("tbl_df", "tbl", "sf"):
        constructors[name] = constructors["data.frame"]
    for name in ("sfc_MULTIPOLYGON", "sfc_POLYGON", "sfc", "MULTIPOLYGON", "POLYGON", "XY", "sfg", "crs", "bbox"):
        constructors[name] = _keep
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            objects = rdata.read_rda(path, constructor_dict=constructors)
    except Exception as error:  # rdata raises many kinds for a damaged file
        raise unreadable_r_file(source, error) from error
    return _frame_table(source, objects.get(source.object))


def _frame_table(source: Source, frame: Any) -> SourceTable:
    """The declared columns of a data frame as plain rows."""
    if frame is None or not hasattr(frame, "columns"):
        raise BuildError(
            f"{source.label} lacks its data frame",
            [f"{source.label}: no data frame named '{source.object}'"],
        )
    _missing_columns(source, [str(column) for column in frame.columns])
    _check_row_count(source, len(frame))
    columns = {column: [_plain(value) for value in frame[column]] for column in source.columns}
    rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
    return SourceTable(source, rows)


def _plain(value: Any) -> Any:
    """Python values for what rdata gives: numpy scalars become float or str, NA becomes None."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def folder_files(source: Source, folder: Path) -> list[tuple[str, Path]]:
    """The folder's files the manifest lists, in its (name) order: (name, path)."""
    return [(name, folder / name) for name, _ in source.files]


def malformed(source: Source, name: str, message: str) -> BuildError:
    return BuildError(f"{source.label} is malformed", [f"{source.label}: {name}: {message}"])


def read_geojson_folder(source: Source, folder: Path) -> SourceTable:
    """Every feature of every GeoJSON file in the folder: its declared properties and its geometry.

    The geometries are made in one call (``shapely.from_ragged_array``) from the
    coordinates of all the files, each Polygon taken as a MultiPolygon of one part;
    positions must be (longitude, latitude) pairs. orjson parses the 63 MB of the two
    outline folders in about half the time of the json module.
    """
    import orjson
    import shapely

    rows: list[dict[str, Any]] = []
    coordinates: list[Any] = []
    ring_ends, polygon_ends, geometry_ends = [], [], []
    points = 0
    for name, path in folder_files(source, folder):
        try:
            features = orjson.loads(path.read_bytes())["features"]
        except (orjson.JSONDecodeError, KeyError, TypeError) as error:
            raise malformed(source, name, f"cannot be read as a GeoJSON FeatureCollection: {error}") from error
        for number, feature in enumerate(features, start=1):
            properties = feature.get("properties") or {}
            missing = [column for column in source.columns if column not in properties]
            if missing:
                raise BuildError(
                    f"{source.label} lacks columns the build needs",
                    [f"{source.label}: {name}: feature {number}: missing property '{column}'" for column in missing],
                )
            geometry = feature.get("geometry") or {}
            kind = geometry.get("type")
            if kind not in ("Polygon", "MultiPolygon"):
                raise malformed(source, name, f"feature {number}: geometry {kind!r} is not a Polygon or MultiPolygon")
            polygons = geometry["coordinates"] if kind == "MultiPolygon" else [geometry["coordinates"]]
            for polygon in polygons:
                for ring in polygon:
                    coordinates.append(ring)
                    points += len(ring)
                    ring_ends.append(points)
                polygon_ends.append(len(ring_ends))
            geometry_ends.append(len(polygon_ends))
            rows.append({column: properties[column] for column in source.columns})
    _check_row_count(source, len(rows))
    try:
        flat = np.array(list(itertools.chain.from_iterable(coordinates)), dtype=float)
        geometries = shapely.from_ragged_array(
            shapely.GeometryType.MULTIPOLYGON,
            flat,
            tuple(np.array([0, *ends], dtype=np.int64) for ends in (ring_ends, polygon_ends, geometry_ends)),
        )
    except (ValueError, TypeError, shapely.errors.GEOSException) as error:
        raise malformed(source, source.local_name, f"a geometry cannot be built: {error}") from error
    for row, geometry in zip(rows, geometries):
        row["geometry"] = geometry
    return SourceTable(source, rows)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def column_array(source: Source, name: str, column: str, values: list[Any]) -> np.ndarray:
    """One column of a msgpack file as a numpy array: text, or else floats.

    Written for speed over 2.7 million values (set and list comprehensions run in C
    loops; numpy's own object comparisons were ten times slower here).
    """
    kinds = set(map(type, values))
    if str in kinds:  # a text column; pandas wrote a missing value as NaN: it becomes ''
        if not all(map(_missing, [value for value in values if value.__class__ is not str])):
            raise malformed(source, name, f"column '{column}' mixes text and numbers")
        return np.array([value if value.__class__ is str else "" for value in values], dtype=str)
    if not kinds <= {float, int, type(None)}:
        raise malformed(source, name, f"column '{column}' is neither text nor numbers")
    if type(None) in kinds:
        values = [np.nan if value is None else value for value in values]
    return np.array(values, dtype=float)


@dataclass(frozen=True)
class SourceColumns:
    """A source too long for a dict a row: one numpy array per declared column."""

    source: Source
    columns: dict[str, Any]

    @property
    def row_count(self) -> int:
        return len(next(iter(self.columns.values())))


def read_msgpack_folder(source: Source, folder: Path) -> SourceColumns:
    """The declared columns of every brotli-compressed msgpack file in the folder, joined.

    Text columns become numpy unicode arrays (a missing value is ''), numbers float arrays
    (a missing number is NaN).
    """
    import brotli
    import msgpack

    parts: dict[str, list[Any]] = {column: [] for column in source.columns}
    for name, path in folder_files(source, folder):
        try:
            table = msgpack.unpackb(brotli.decompress(path.read_bytes()))
            data = table["data"]
        except (brotli.error, ValueError, KeyError, TypeError, msgpack.UnpackException) as error:
            raise malformed(source, name, f"cannot be read as brotli-compressed msgpack: {error}") from error
        _missing_columns(source, [str(column) for column in data])
        lengths = {len(data[column]) for column in source.columns}
        if len(lengths) != 1:
            raise malformed(source, name, "its columns are not all the same length")
        for column in source.columns:
            parts[column].append(column_array(source, name, column, data[column]))
    columns = {column: np.concatenate(arrays) for column, arrays in parts.items()}
    table = SourceColumns(source, columns)
    _check_row_count(source, table.row_count)
    return table


READERS: dict[str, Callable[[Source, Path], SourceTable | SourceColumns]] = {
    "csv": read_csv,
    "rda": read_rda,
    "rda-sf": read_rda_sf,
    "geojson": read_geojson_folder,
    "msgpack-br": read_msgpack_folder,
}


def read_source(source: Source, path: Path) -> SourceTable | SourceColumns:
    """Read one verified source file with the reader its manifest entry declares."""
    return READERS[source.format](source, path)
