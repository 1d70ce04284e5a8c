"""Read and write tables by file suffix, atomically, and record how each output was made.

Readers: ``.csv`` (UTF-8, with or without a byte-order mark, every column as text),
``.xlsx``, ``.geojson``/``.json``, ``.gpkg``, ``.parquet`` (GeoParquet when it has geometry).
Writers replace their target only once the new file is complete (temporary file in the same
folder, then :func:`os.replace`), so a crash never leaves half an output behind and a rerun
starts from a consistent state.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gapmap.errors import InputFileError, SchemaError

log = logging.getLogger(__name__)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a tabular file by suffix; CSV and XLSX columns come back as text (blank = "")."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"input file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        if suffix in (".xlsx", ".xlsm"):
            return pd.read_excel(path, dtype=str).fillna("")
        if suffix in (".geojson", ".json", ".gpkg", ".shp"):
            return gpd.read_file(path)
        if suffix == ".parquet":
            return read_parquet(path)
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise SchemaError(f"{path}: cannot be read as {suffix}: {exc}") from exc
    raise SchemaError(f"{path}: unsupported file type {suffix!r}")


def read_geo(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file; the result must have a CRS and is returned in EPSG:4326."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"input file not found: {path}")
    if path.suffix == ".parquet":
        gdf = read_parquet(path)
    else:
        from pyogrio.errors import DataLayerError, DataSourceError

        try:
            gdf = gpd.read_file(path, layer=layer)
        except (DataSourceError, DataLayerError, ValueError) as exc:
            raise SchemaError(f"{path}: cannot be read{f' (layer {layer})' if layer else ''}: "
                              f"{_first_line(exc)}") from exc
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise SchemaError(f"{path}: has no geometry column")
    if gdf.crs is None:
        raise SchemaError(f"{path}: has no CRS")
    return gdf.to_crs(4326) if gdf.crs.to_epsg() != 4326 else gdf


def read_parquet(path: str | Path) -> pd.DataFrame:
    """Read a Parquet file written by :func:`write_parquet`: a GeoDataFrame when it is
    GeoParquet (it has ``geo`` metadata), else a DataFrame.

    Raises
    ------
    InputFileError
        The file is missing.
    SchemaError
        The file cannot be read (truncated or corrupt), or is GeoParquet whose geometry
        cannot be read: never returned as a plain DataFrame.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"input file not found: {path} (run the stage that writes it)")
    unreadable = (OSError, ValueError, TypeError, pa.ArrowException)
    try:
        geo = b"geo" in (pq.read_schema(path).metadata or {})
    except unreadable as exc:
        raise SchemaError(f"{path}: cannot be read as Parquet, truncated or corrupt? "
                          f"({_first_line(exc)})") from exc
    try:
        return gpd.read_parquet(path) if geo else pd.read_parquet(path)
    except unreadable as exc:
        raise SchemaError(f"{path}: cannot be read as {'GeoParquet' if geo else 'Parquet'}, "
                          f"truncated or corrupt? ({_first_line(exc)})") from exc


def _first_line(exc: BaseException) -> str:
    """An exception's message on one line (its first), or its type when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def require_columns(df: pd.DataFrame, columns: list[str] | tuple[str, ...], source: str) -> None:
    """Raise :class:`SchemaError` naming the file and every missing column."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(f"{source}: missing column(s) {', '.join(missing)}")


def require_unique(df: pd.DataFrame, column: str, source: str) -> None:
    dup = df[column][df[column].duplicated()]
    if len(dup):
        raise SchemaError(f"{source}: field {column!r} has duplicate ids: "
                          f"{', '.join(map(str, dup.unique()[:5]))}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.tmp.", suffix=path.suffix,
                               dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # writers such as GDAL want to create the file themselves
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    with atomic_path(path) as tmp:
        writer(tmp)
    log.debug("wrote %s", path)
    return Path(path)


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame or GeoDataFrame (as GeoParquet) atomically."""
    return _write(path, lambda tmp: df.to_parquet(tmp, index=False))


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is a formula (or turns into one) when a
spreadsheet opens the file (OWASP, "CSV injection")."""
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralise_text(value: object) -> object:
    """One cell made inert for a spreadsheet: text starting with ``= + - @``, a tab or a
    carriage return gets a leading ``'`` (shown, not run); plain numbers written as text
    (``-79.38``) and anything that is not text are returned as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and \
            not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def restore_text(value: str) -> str:
    """The text :func:`neutralise_text` made inert, as it was: a file gapmap wrote and an
    analyst hands back (the geocode report as overrides) reads as the original ids."""
    if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` safe to open in a spreadsheet: every text cell and column name
    passed through :func:`neutralise_text`; numeric, boolean and date columns untouched.

    Every CSV gapmap writes goes through it (:func:`write_csv`), and every workbook writer
    must; the GeoPackage keeps the raw text.
    """
    out = df.copy()
    for name in out.columns:
        col = out[name]
        if pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype):
            out[name] = col.map(neutralise_text, na_action="ignore")
    out.columns = [neutralise_text(c) if isinstance(c, str) else c for c in out.columns]
    return out


_CSV_BOM: ContextVar[bool] = ContextVar("gapmap_csv_bom", default=True)
"""Whether :func:`write_csv` starts a file with the UTF-8 byte-order mark (see
:func:`csv_byte_order_mark`)."""


@contextlib.contextmanager
def csv_byte_order_mark(on: bool) -> Iterator[None]:
    """Within the block, :func:`write_csv` writes the byte-order mark (``on``) or not.

    Every CSV gapmap writes starts with the mark by default, so that Excel on Windows reads
    it as UTF-8 ("Rivière", not "RiviÃ¨re"); the stages run inside this block with
    ``[outputs] csv_bom`` (see :data:`gapmap.pipeline.STAGES`). Readers use ``utf-8-sig``,
    which reads a file with or without the mark.
    """
    token = _CSV_BOM.set(on)
    try:
        yield
    finally:
        _CSV_BOM.reset(token)


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write CSV (UTF-8 with a byte-order mark unless :func:`csv_byte_order_mark` turns it
    off, no index) atomically, its text made inert for spreadsheets (:func:`neutralise`);
    geometry, if any, is dropped."""
    if isinstance(df, gpd.GeoDataFrame):
        df = pd.DataFrame(df.drop(columns=df.geometry.name))
    safe = neutralise(df)
    encoding = "utf-8-sig" if _CSV_BOM.get() else "utf-8"
    return _write(path, lambda tmp: safe.to_csv(tmp, index=False, encoding=encoding))


def write_text(text: str, path: str | Path) -> Path:
    return _write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(obj: Any, path: str | Path) -> Path:
    return write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", path)


def generated_on() -> str:
    """The date a run's outputs carry: today's, or that of ``SOURCE_DATE_EPOCH``
    (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date().isoformat()
    return dt.date.today().isoformat()


@dataclass(frozen=True)
class LayerDescription:
    """What a GIS shows of a GeoPackage layer: its title and description (``gpkg_contents``)
    and, per column, a short name, a title and a description (``gpkg_data_columns``)."""

    title: str
    description: str
    columns: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)
    """column -> (name, title, description)."""


SCHEMA_EXTENSION_URL = "http://www.geopackage.org/spec/#extension_schema"
_DATA_COLUMNS_SQL = (
    "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, column_name TEXT "
    "NOT NULL, name TEXT, title TEXT, description TEXT, mime_type TEXT, constraint_name TEXT, "
    "CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), CONSTRAINT gdc_tn UNIQUE "
    "(table_name, name))")
_CONSTRAINTS_SQL = (
    "CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT NOT NULL, "
    "constraint_type TEXT NOT NULL, value TEXT, min NUMERIC, min_is_inclusive BOOLEAN, max "
    "NUMERIC, max_is_inclusive BOOLEAN, description TEXT, CONSTRAINT gdcc_ntv UNIQUE "
    "(constraint_name, constraint_type, value))")
_EXTENSIONS_SQL = (
    "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, "
    "extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, CONSTRAINT "
    "ge_tce UNIQUE (table_name, column_name, extension_name))")


def describe_geopackage(path: str | Path, descriptions: Mapping[str, LayerDescription]) -> None:
    """Write layer titles and descriptions into ``gpkg_contents`` and column descriptions into
    ``gpkg_data_columns`` (the GeoPackage schema extension, registered in
    ``gpkg_extensions`` for its two tables as the specification requires). Layers the file
    does not hold and columns a layer does not have are skipped; a short name repeated in a
    layer gets its column name added (the table keeps names unique per layer)."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        layers = {r[0] for r in db.execute("SELECT table_name FROM gpkg_contents")}
        db.execute(_DATA_COLUMNS_SQL)
        db.execute(_CONSTRAINTS_SQL)
        db.execute(_EXTENSIONS_SQL)
        for table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
            db.execute("INSERT OR REPLACE INTO gpkg_extensions VALUES (?, NULL, 'gpkg_schema', "
                       "?, 'read-write')", (table, SCHEMA_EXTENSION_URL))
        for layer, d in descriptions.items():
            if layer not in layers:
                continue
            db.execute("UPDATE gpkg_contents SET identifier = ?, description = ? "
                       "WHERE table_name = ?", (d.title, d.description, layer))
            present = {r[1] for r in db.execute(f'PRAGMA table_info("{layer}")')}
            used: set[str] = set()
            for column, (name, title, text) in d.columns.items():
                if column not in present:
                    continue
                short = name if name not in used else f"{name} ({column})"
                used.add(short)
                db.execute("INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, "
                           "name, title, description) VALUES (?, ?, ?, ?, ?)",
                           (layer, column, short, title, text))


def write_geopackage(layers: Mapping[str, pd.DataFrame], path: str | Path, *,
                     descriptions: Mapping[str, LayerDescription] | None = None) -> Path:
    """Write several layers into one GeoPackage atomically, described for a GIS
    (:func:`describe_geopackage`) when ``descriptions`` are given.

    GeoDataFrames become spatial layers; plain DataFrames become attribute tables. Each
    layer's ``last_change`` is the run's date (:func:`generated_on`), not the time of
    writing, so that the same inputs give the same bytes.
    """
    def writer(tmp: Path) -> None:
        import pyogrio

        before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": f"{generated_on()}T00:00:00Z"})
        try:
            for name, df in layers.items():
                if isinstance(df, gpd.GeoDataFrame):
                    df.to_file(tmp, layer=name, driver="GPKG")
                else:
                    pyogrio.write_dataframe(df, tmp, layer=name, driver="GPKG")
        finally:
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": before})
        if descriptions:
            describe_geopackage(tmp, descriptions)

    return _write(path, writer)


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read a megabyte at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _display_path(path: str | Path, folder: Path) -> str:
    """A path as run metadata records it, the same in any checkout: relative to ``folder``
    (the config file's), or ``<data>/...`` for the shipped data (see
    :func:`gapmap.config.portable_path`)."""
    from gapmap.config import portable_path

    return portable_path(path, folder)


def provenance(config: Any, inputs: list[Path], *, stage: str) -> dict[str, Any]:
    """How an output was made: stage, package version, config and its hash, input hashes.

    Paths are written relative to the config file's folder (:func:`_display_path`), so the
    same run in two checkouts records the same bytes.
    """
    from gapmap import __version__

    folder = config.folder
    return {
        "stage": stage,
        "gapmap_version": __version__,
        "config_file": config.path.name if config.path else None,
        "config_fingerprint": config.fingerprint(),
        "data_vintage": config.data_vintage,
        "inputs": {_display_path(p, folder): file_sha256(p) for p in inputs
                   if Path(p).is_file()},
    }
