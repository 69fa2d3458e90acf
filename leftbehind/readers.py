"""Reading a verified source file as its manifest entry declares: CSV or an R data file.

``read_source`` is the one dispatch: the entry's ``format`` picks the reader, its
``columns`` are the columns the build needs (any other column is dropped, a missing
one is an error naming the file and the column) and its ``rows`` the row count the
file must have. Every source comes back as a ``SourceTable``: plain rows keyed by
column name, with what is needed to report a bad value by file, line and column.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leftbehind.errors import BuildError
from leftbehind.sources import Source


@dataclass(frozen=True)
class SourceTable:
    """The rows of one source file, with what is needed to report on them."""

    source: Source
    rows: list[dict[str, Any]]

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


READERS: dict[str, Callable[[Source, Path], SourceTable]] = {"csv": read_csv, "rda": read_rda, "rda-sf": read_rda_sf}


def read_source(source: Source, path: Path) -> SourceTable:
    """Read one verified source file with the reader its manifest entry declares."""
    return READERS[source.format](source, path)
