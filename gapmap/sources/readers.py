"""Listing files of any common format -> a header and rows of text, every row accounted for.

:func:`read_rows` opens CSV/TSV/TXT (encoding and delimiter detected), XLSX, XLS and ODS
(the sheet chosen by name or found), JSON, GeoJSON and GeoPackage (each record's point kept
as ``lat``/``lon``), finds the header (title rows above it skipped) and returns a
:class:`RawTable`: the header as written in the file, the rows as text aligned to it with
their true line (row, record) numbers, and the rows that could not be read as a row
(:class:`Malformed`: too many or too few fields, broken quoting, binary junk, an oversized
cell), each with its line and reason. Blank lines and rows are skipped and not counted.

What a row *means* (which header is ``name``, what a need type is) is
:mod:`gapmap.sources.listings`' business: it passes :func:`read_rows` a ``recognise``
function that tells which cells of a candidate header row it knows.

A file that cannot be read as a table at all raises :class:`~gapmap.errors.ListingFileError`
in one line saying what to set (``encoding``, ``delimiter``, ``sheet``, ``header_row``,
``columns``).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import json
import logging
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gapmap.errors import InputFileError, ListingFileError

log = logging.getLogger(__name__)

HEADER_SEARCH_ROWS = 30
"""The header is looked for among a file's first rows (title rows above it are skipped)."""
DELIMITERS = (",", ";", "\t", "|")
"""The delimiters a text file is tried with, in this order when they tie."""
SUFFIX_FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".tab": "csv", ".txt": "csv", ".xlsx": "xlsx",
    ".xlsm": "xlsx", ".xls": "xls", ".ods": "ods", ".json": "json", ".geojson": "geojson",
    ".gpkg": "gpkg",
}
PREFERRED_SINGLE_BYTE = "cp1252"
"""Of the code pages that decode a file to the same text, Windows' Western European one
(what Excel in English or French Canada saves as "CSV") is taken."""
_JUNK = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_JUNK_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Recognise = Callable[[Sequence[str]], set[str]]
"""Which gapmap columns a candidate header row names (empty: not a header)."""


@dataclass(frozen=True)
class Malformed:
    """A line (row, record) that could not be read as a row: where and why (not its text,
    which may be a confidential listing's)."""

    line: int
    reason: str


@dataclass
class RawTable:
    """A listing file as read: the header as written, rows of text aligned to it.

    ``rows`` are ``(line, values)`` with ``line`` the row's first physical line (CSV), sheet
    row (spreadsheets) or record number (JSON, GeoJSON, GeoPackage), 1-based; ``points``
    gives, for formats with geometry, each row's ``(lat, lon)`` or None, by line.
    ``described`` says how the file was read ("cp1252, ';'-separated, header on line 3").
    """

    path: Path
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)
    points: dict[int, tuple[float, float, str]] = field(default_factory=dict)
    described: str = ""

    @property
    def rows_read(self) -> int:
        return len(self.rows) + len(self.malformed)


@dataclass(frozen=True)
class ReadOptions:
    """What the config may say about one file (see :class:`gapmap.config.Listing`)."""

    format: str = "auto"
    sheet: str | None = None
    header_row: int | None = None
    encoding: str | None = None
    delimiter: str | None = None
    max_cell_chars: int = 32767


def file_format(path: Path, declared: str = "auto") -> str:
    """The format a listing file is read as: the declared one, else by suffix."""
    if declared != "auto":
        return declared
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ListingFileError(
            f"{path}: cannot tell the format from the suffix {path.suffix!r}; set format = "
            f"one of csv, xlsx, xls, ods, json, geojson, gpkg in its inputs.listings entry")
    return fmt


def read_rows(path: str | Path, recognise: Recognise, options: ReadOptions | None = None
              ) -> RawTable:
    """Read one listing file into a :class:`RawTable` (see the module's docstring).

    Raises
    ------
    InputFileError
        The file does not exist.
    ListingFileError
        The file cannot be read as a table: undecodable, no header found, no such sheet;
        the message names the file and the setting to change.
    """
    path = Path(path)
    options = options or ReadOptions()
    if not path.is_file():
        raise InputFileError(f"input file not found: {path}")
    fmt = file_format(path, options.format)
    reader = {"csv": _read_text, "xlsx": _read_xlsx, "xls": _read_xls, "ods": _read_ods,
              "json": _read_json, "geojson": _read_json, "gpkg": _read_gpkg}[fmt]
    return reader(path, recognise, options)


# -- text files ------------------------------------------------------------------------------


def detect_encoding(data: bytes, path: Path) -> tuple[str, str]:
    """(encoding, how it was chosen) for a text file's bytes: a byte-order mark, else UTF-8
    when every line that is not binary junk decodes, else charset-normalizer's best guess."""
    for bom, name in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"),
                      (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
                      (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return name, "byte-order mark"
    clean = b"\n".join(ln for ln in data.split(b"\n") if not _JUNK.search(ln))
    try:
        clean.decode("utf-8")
        return "utf-8", "detected"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(clean).best()
    if best is None:
        raise ListingFileError(f"{path}: cannot tell the text encoding; set encoding (e.g. "
                               "\"cp1252\" or \"utf-8\") in its inputs.listings entry")
    if PREFERRED_SINGLE_BYTE in best.could_be_from_charset:
        return PREFERRED_SINGLE_BYTE, "detected"  # the same text, the likelier code page
    return best.encoding, "detected"


def _decoded_lines(data: bytes, encoding: str) -> list[str | None]:
    """The file's physical lines, decoded; None for a line of binary junk or undecodable
    bytes. UTF-16/32 are decoded whole (their line breaks are not single bytes)."""
    if encoding.replace("_", "-").lower().startswith(("utf-16", "utf-32")):
        text = data.decode(encoding, errors="replace")
        if text.startswith("\ufeff"):
            text = text[1:]
        parts = [ln + "\n" for ln in text.split("\n")]
        if parts and parts[-1] in ("\n", "\r\n"):
            parts.pop()
        return [None if _JUNK_TEXT.search(ln.rstrip("\r\n")) else ln for ln in parts]
    out: list[str | None] = []
    for raw in data.split(b"\n"):
        body = raw[:-1] if raw.endswith(b"\r") else raw
        if _JUNK.search(body):
            out.append(None)
            continue
        try:
            out.append(raw.decode(encoding) + "\n")
        except UnicodeDecodeError:
            out.append(None)
    if out and out[-1] in ("\n", "\r\n"):  # the file's last line break
        out.pop()
    return out


@contextlib.contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    before = csv.field_size_limit()
    csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _head_rows(lines: list[str | None], delimiter: str) -> list[tuple[int, list[str]]]:
    """The first rows of a text file (line index, cells), junk lines left out."""
    sample = [ln for ln in lines[:HEADER_SEARCH_ROWS * 3] if ln is not None]
    rows: list[tuple[int, list[str]]] = []
    index = [i for i, ln in enumerate(lines[:HEADER_SEARCH_ROWS * 3]) if ln is not None]
    pos = [0]

    def feed() -> Iterator[str]:
        while pos[0] < len(sample):
            pos[0] += 1
            yield sample[pos[0] - 1]

    reader = csv.reader(feed(), delimiter=delimiter)
    while len(rows) < HEADER_SEARCH_ROWS and pos[0] < len(sample):
        start = pos[0]
        try:
            rec = next(reader)
        except (StopIteration, csv.Error):
            break
        rows.append((index[start], [c.strip() for c in rec]))
    return rows


def _find_header(rows: list[tuple[int, list[str]]], recognise: Recognise,
                 header_row: int | None) -> tuple[int, set[str]] | None:
    """(index into rows, recognised columns) of the header: the given row, else the first
    of the rows naming the most recognised columns (``name`` among them, at least two)."""
    if header_row is not None:
        for k, (line, cells) in enumerate(rows):
            if line + 1 == header_row:
                return k, recognise(cells)
        return None
    best: tuple[int, set[str]] | None = None
    for k, (_, cells) in enumerate(rows):
        known = recognise(cells)
        if "name" in known and len(known) >= 2 and (best is None or len(known) > len(best[1])):
            best = (k, known)
    return best


def _no_header(path: Path, rows: list[tuple[int, list[str]]], where: str,
               header_row: int | None) -> ListingFileError:
    first = next((cells for _, cells in rows if any(cells)), [])
    found = ", ".join(repr(c) for c in first[:12] if c) or "nothing readable as text"
    if header_row is not None:
        return ListingFileError(f"{path}{where}: no header on row {header_row}; the first "
                                f"non-empty row holds {found}")
    return ListingFileError(
        f"{path}{where}: no header found in the first {HEADER_SEARCH_ROWS} rows (a row naming "
        f"the service's name and its need types); the first non-empty row holds {found}: set "
        "columns (e.g. { \"Programme\" = \"name\" }), header_row, or, for a text file, "
        "encoding and delimiter in its inputs.listings entry")


def _read_text(path: Path, recognise: Recognise, options: ReadOptions) -> RawTable:
    data = path.read_bytes()
    if options.encoding:
        encoding, how = options.encoding, "as set"
    else:
        encoding, how = detect_encoding(data, path)
    lines = _decoded_lines(data, encoding)
    candidates = [options.delimiter] if options.delimiter else list(DELIMITERS)
    best: tuple[int, int, str, list[tuple[int, list[str]]], int, set[str]] | None = None
    fallback: list[tuple[int, list[str]]] = []
    with _csv_field_limit(2**31 - 1):
        for order, delim in enumerate(candidates):
            head = _head_rows(lines, delim)
            fallback = fallback or head
            found = _find_header(head, recognise, options.header_row)
            if found is None:
                continue
            k, known = found
            score = (len(known), -order)
            if best is None or score > (best[0], best[1]):
                best = (len(known), -order, delim, head, k, known)
        if best is None:
            raise _no_header(path, fallback, f" (read as {encoding})", options.header_row)
        _, _, delim, head, k, _ = best
        header_index, header = head[k]
        table = RawTable(path, header)
        _text_records(table, lines, header_index + 1, delim, options.max_cell_chars)
    shown = {"\t": "tab", ",": "','", ";": "';'", "|": "'|'"}.get(delim, repr(delim))
    table.described = (f"{encoding} ({how}), {shown}-separated"
                       f"{' (detected)' if not options.delimiter else ''}, header on line "
                       f"{header_index + 1}")
    return table


def _text_records(table: RawTable, lines: list[str | None], start: int, delimiter: str,
                  max_cell: int) -> None:
    """Parse the records after the header into ``table``: a record that breaks (an error,
    the wrong number of fields) is rejected at its first line, and reading restarts on the
    next line, so one broken quote never swallows the rows after it."""
    width = len(table.header)
    n = len(lines)
    i = start
    while i < n:
        if lines[i] is None:
            table.malformed.append(Malformed(i + 1, "binary data or bytes that are not text "
                                            "in the file's encoding"))
            i += 1
            continue
        pos = [i]

        def feed(pos: list[int] = pos) -> Iterator[str]:
            while pos[0] < n and lines[pos[0]] is not None:
                pos[0] += 1
                yield lines[pos[0] - 1] or ""

        reader = csv.reader(feed(), delimiter=delimiter, strict=True)
        restart = None
        while restart is None:
            first = pos[0]
            if first >= n or lines[first] is None:
                restart = first
                break
            try:
                rec = next(reader)
            except StopIteration:
                restart = pos[0]
                break
            except csv.Error as exc:
                table.malformed.append(Malformed(first + 1, f"broken quoting ({exc})"))
                restart = first + 1
                break
            spanned = pos[0] - first
            if not any(c.strip() for c in rec):
                continue  # a blank line or row
            problem = _record_problem(rec, table.header, width, max_cell)
            if problem and spanned > 1 and ("fields" in problem or "quote" in problem):
                table.malformed.append(Malformed(
                    first + 1, f"broken quoting: a quote opened on this line is not closed "
                    f"on it ({problem})"))
                restart = first + 1
                break
            if problem:
                table.malformed.append(Malformed(first + 1, problem))
                continue
            table.rows.append((first + 1, _aligned(rec, width)))
        i = restart if restart is not None and restart > i else max(pos[0], i + 1)


def _record_problem(values: Sequence[str], header: Sequence[str], width: int,
                    max_cell: int) -> str:
    """Why a row cannot be taken as it is ("" when it can): too many or too few fields (blank
    cells past the header's end are allowed), or a cell longer than ``max_cell``."""
    extra = [v for v in values[width:] if str(v).strip()]
    if extra:
        return (f"{len(values)} fields where the header has {width} (a stray delimiter, or "
                f"a value holding the delimiter without quotes?)")
    if len(values) < width:
        return f"{len(values)} fields where the header has {width}"
    for name, value in zip(header, values, strict=False):
        if len(value) > max_cell:
            return (f"cell {name!r} is {len(value):,} characters long (more than "
                    f"{max_cell:,})")
    return ""


def _aligned(values: Sequence[str], width: int) -> list[str]:
    out = [str(v) for v in values[:width]]
    return out + [""] * (width - len(out))


# -- spreadsheets -----------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A spreadsheet cell as text: whole numbers without ``.0``, dates in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def _from_sheets(path: Path, sheets: Mapping[str, Callable[[], list[list[Any]]]],
                 recognise: Recognise, options: ReadOptions, kind: str) -> RawTable:
    """Pick the sheet (by name, else the first with a header), find its header, and read
    its rows: a row with values past the header's last column, or an oversized cell, is
    malformed."""
    names = list(sheets)
    if options.sheet is not None:
        if options.sheet not in sheets:
            from gapmap.config import nearest

            near = nearest(options.sheet, names)
            raise ListingFileError(
                f"{path}: no sheet {options.sheet!r}" + (f"; did you mean {near!r}?" if near
                                                         else "") +
                f" (sheets: {', '.join(repr(n) for n in names)})")
        names = [options.sheet]
    tried: list[tuple[str, list[tuple[int, list[str]]]]] = []
    for name in names:
        grid = [[cell_text(v) for v in row] for row in sheets[name]()]
        head = [(i, cells) for i, cells in enumerate(grid[:HEADER_SEARCH_ROWS])]
        found = _find_header(head, recognise, options.header_row)
        tried.append((name, head))
        if found is None:
            continue
        index, header = head[found[0]]
        width = max((k + 1 for k, c in enumerate(header) if c), default=0)
        header = header[:width]
        table = RawTable(path, header, described=f"{kind}, sheet {name!r}, header on row "
                                                 f"{index + 1}")
        for i in range(index + 1, len(grid)):
            values = grid[i] + [""] * (width - len(grid[i]))  # empty cells at a row's end
            if not any(values):
                continue
            problem = _record_problem(values, header, width, options.max_cell_chars)
            if problem and "fields where" in problem:
                last = max(k for k, v in enumerate(values) if str(v).strip()) + 1
                problem = (f"a value in column {last}, past the header's last column "
                           f"({width})")
            if problem:
                table.malformed.append(Malformed(i + 1, problem))
                continue
            table.rows.append((i + 1, _aligned(values, width)))
        return table
    if len(tried) == 1:
        raise _no_header(path, tried[0][1], f" (sheet {tried[0][0]!r})", options.header_row)
    raise ListingFileError(
        f"{path}: no sheet has a header in its first {HEADER_SEARCH_ROWS} rows (sheets: "
        f"{', '.join(repr(n) for n, _ in tried)}); set sheet, header_row or columns in its "
        "inputs.listings entry")


def _read_xlsx(path: Path, recognise: Recognise, options: ReadOptions) -> RawTable:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ListingFileError(f"{path}: cannot be read as XLSX ({exc}); is it another "
                               "format? set format in its inputs.listings entry") from exc
    try:
        def grid(ws: Any) -> list[list[Any]]:
            return [list(r) for r in ws.iter_rows(values_only=True)]

        sheets = {str(ws.title): functools.partial(grid, ws) for ws in wb.worksheets}
        return _from_sheets(path, sheets, recognise, options, "XLSX")
    finally:
        wb.close()


def _read_xls(path: Path, recognise: Recognise, options: ReadOptions) -> RawTable:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path))
    except (xlrd.XLRDError, OSError, ValueError) as exc:
        raise ListingFileError(f"{path}: cannot be read as XLS ({exc}); set format in its "
                               "inputs.listings entry") from exc

    def rows(sheet: Any) -> list[list[Any]]:
        out = []
        for r in range(sheet.nrows):
            values = []
            for c, v in enumerate(sheet.row_values(r)):
                if sheet.cell_type(r, c) == xlrd.XL_CELL_DATE:
                    v = xlrd.xldate.xldate_as_datetime(v, book.datemode)
                values.append(v)
            out.append(values)
        return out

    sheets = {str(s.name): functools.partial(rows, s) for s in book.sheets()}
    return _from_sheets(path, sheets, recognise, options, "XLS")


def _read_ods(path: Path, recognise: Recognise, options: ReadOptions) -> RawTable:
    import pandas as pd

    try:
        frames = pd.read_excel(path, engine="odf", sheet_name=None, header=None, dtype=object)
    except (OSError, ValueError, KeyError) as exc:
        raise ListingFileError(f"{path}: cannot be read as ODS ({exc}); set format in its "
                               "inputs.listings entry") from exc

    def rows(df: pd.DataFrame) -> list[list[Any]]:
        return [[None if pd.isna(v) else v for v in r] for r in df.itertuples(index=False)]

    sheets = {str(name): functools.partial(rows, df) for name, df in frames.items()}
    return _from_sheets(path, sheets, recognise, options, "ODS")


# -- records with geometry ----------------------------------------------------------------------


def _records_table(path: Path, records: list[tuple[dict[str, Any], Any]], recognise: Recognise,
                   options: ReadOptions, described: str) -> RawTable:
    """A table of records (properties, geometry): the header is every key in order of first
    appearance; each record's point (a Point as is, other shapes at a point inside them)."""
    import shapely

    header = list(dict.fromkeys(k for props, _ in records for k in props))
    if records and not ("name" in recognise(header) or options.header_row):
        raise _no_header(path, [(0, header)], "", None)
    table = RawTable(path, header, described=described)
    for n, (props, geom) in enumerate(records, 1):
        values = [_value_text(props.get(k)) for k in header]
        if not any(v.strip() for v in values) and geom is None:
            continue
        problem = _record_problem(values, header, len(header), options.max_cell_chars)
        if problem:
            table.malformed.append(Malformed(n, problem))
            continue
        if geom is not None and not shapely.is_empty(geom):
            if geom.geom_type == "Point":
                table.points[n] = (geom.y, geom.x, "the file's geometry (a point)")
            else:
                p = geom.representative_point()
                table.points[n] = (p.y, p.x, f"the file's geometry ({geom.geom_type}, a point "
                                             "inside it)")
        table.rows.append((n, values))
    return table


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_value_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return cell_text(value)


def _read_json(path: Path, recognise: Recognise, options: ReadOptions) -> RawTable:
    import shapely.geometry

    try:
        data = json.loads(path.read_bytes().decode(options.encoding or "utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ListingFileError(f"{path}: not valid JSON ({exc})") from exc
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        records: list[tuple[dict[str, Any], Any]] = []
        for feat in data.get("features") or []:
            geom = None
            if isinstance(feat, dict) and feat.get("geometry"):
                try:
                    geom = shapely.geometry.shape(feat["geometry"])
                except (ValueError, TypeError, AttributeError, KeyError):
                    geom = None
            props = feat.get("properties") if isinstance(feat, dict) else None
            records.append((props if isinstance(props, dict) else {}, geom))
        return _records_table(path, records, recognise, options, "GeoJSON, one record per "
                              "feature")
    items = data
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        items = lists[0] if len(lists) == 1 else None
    if not isinstance(items, list):
        raise ListingFileError(f"{path}: a JSON listing is a list of records, an object "
                               "holding one such list, or a GeoJSON FeatureCollection")
    records = [(item if isinstance(item, dict) else {"": item}, None) for item in items]
    return _records_table(path, records, recognise, options, "JSON, one record per item")


def _read_gpkg(path: Path, recognise: Recognise, options: ReadOptions) -> RawTable:
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
        layer = options.sheet or (layers[0] if layers else None)
        if layer not in layers:
            raise ListingFileError(f"{path}: no layer {layer!r} (layers: {', '.join(layers)})")
        gdf = pyogrio.read_dataframe(path, layer=layer)
    except (DataSourceError, DataLayerError) as exc:
        raise ListingFileError(f"{path}: cannot be read as a GeoPackage ({exc})") from exc
    if getattr(gdf, "crs", None) is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    geoms = list(gdf.geometry) if "geometry" in gdf.columns else [None] * len(gdf)
    props = gdf.drop(columns=["geometry"], errors="ignore")
    records = [({k: v for k, v in row.items()}, g)
               for row, g in zip(props.to_dict("records"), geoms, strict=True)]
    return _records_table(path, records, recognise, options,
                          f"GeoPackage, layer {layer!r}, one record per feature")
