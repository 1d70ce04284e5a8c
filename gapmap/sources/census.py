"""Census files -> population points: Statistics Canada's tracts and subdivisions, or any
file of areas or points with an id and a population.

:func:`census_points` reads the shipped 2021 census tract and subdivision tables (one row
each, with a point inside it) and keeps every tract plus the subdivisions outside the tracted
metro areas; :func:`read_area_points` reads a file of areas or points (e.g. dissemination
blocks). Both take paths and plain values; :mod:`gapmap.demand` turns the Config into them
and adds the remote-community columns.

Columns of :func:`census_points` (GeoDataFrame, EPSG:4326, one row per point):

==================  =======================================================================
demand_id           ``ct-<ctuid>`` or ``csd-<csduid>``
name                "Toronto CT 0001.00" for a tract, the municipality or reserve name otherwise
kind                ``tract`` | ``subdivision``
csduid, cduid       census subdivision (subdivisions only) and census division codes
cma_name            metro area of a tract
pop2021             2021 census population (int64)
is_reserve          bool
enumerated          False for a reserve counted as 0 in 2021: missing data, not an empty place
==================  =======================================================================

Columns of :func:`read_area_points` (GeoDataFrame, EPSG:4326, one row per row of the file):
``area_id`` (text, stripped), ``name`` (the name column's text, else ""), ``cduid``,
``csduid`` (text, "" when the file gives none), ``pop2021`` (int64, rounded),
``geometry`` (a point inside each area, or the point itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.errors import InputFileError, SchemaError
from gapmap.io import read_table, require_columns, require_unique

TRACT_COLUMNS = ["ctuid", "cma_code", "cma_name", "cduid", "pop2021", "lat", "lon"]
SUBDIVISION_COLUMNS = ["csduid", "name", "cduid", "cma_code", "is_reserve", "pop2021", "lat",
                       "lon"]


def read_census_tracts(path: Path) -> pd.DataFrame:
    """The census tracts table (every column as text), checked: :data:`TRACT_COLUMNS`
    present, ``ctuid`` unique."""
    ct = read_table(path)
    require_columns(ct, TRACT_COLUMNS, str(path))
    require_unique(ct, "ctuid", str(path))
    return ct


def read_census_subdivisions(path: Path) -> pd.DataFrame:
    """The census subdivisions table (every column as text), checked:
    :data:`SUBDIVISION_COLUMNS` present, ``csduid`` unique."""
    csd = read_table(path)
    require_columns(csd, SUBDIVISION_COLUMNS, str(path))
    require_unique(csd, "csduid", str(path))
    return csd


def census_points(tracts_path: Path, subdivisions_path: Path) -> gpd.GeoDataFrame:
    """Every census tract, plus the subdivisions outside the tracted metro areas (whose
    tracts cover them completely); see the module docstring for the columns."""
    ct = read_census_tracts(tracts_path)
    csd = read_census_subdivisions(subdivisions_path)
    outside = csd[~csd["cma_code"].isin(set(ct["cma_code"]))]
    tracts = pd.DataFrame({
        "demand_id": "ct-" + ct["ctuid"],
        "name": ct["cma_name"] + " CT " + ct["ctuid"].str[3:],
        "kind": "tract", "csduid": "", "cduid": ct["cduid"], "cma_name": ct["cma_name"],
        "pop2021": ct["pop2021"], "is_reserve": False, "lat": ct["lat"], "lon": ct["lon"],
    })
    subs = pd.DataFrame({
        "demand_id": "csd-" + outside["csduid"], "name": outside["name"],
        "kind": "subdivision", "csduid": outside["csduid"], "cduid": outside["cduid"],
        "cma_name": "", "pop2021": outside["pop2021"],
        "is_reserve": outside["is_reserve"] == "1", "lat": outside["lat"],
        "lon": outside["lon"],
    })
    df = pd.concat([tracts, subs], ignore_index=True)
    for c in ("pop2021", "lat", "lon"):
        num = pd.to_numeric(df[c], errors="coerce")
        if num.isna().any():
            bad = df[num.isna()].iloc[0]
            where = tracts_path if bad["kind"] == "tract" else subdivisions_path
            raise SchemaError(f"{where}: demand point {bad['demand_id']}: field {c} is not a "
                              f"number ({bad[c]!r})")
        df[c] = num
    df["pop2021"] = df["pop2021"].astype("int64")
    df["enumerated"] = ~(df["is_reserve"] & (df["pop2021"] == 0))
    return gpd.GeoDataFrame(df.drop(columns=["lat", "lon"]),
                            geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326)


@dataclass(frozen=True)
class AreaColumns:
    """Which columns of an areas file hold what.

    ``cduid_from_id``: take the census division from the first four characters of the id
    (Statistics Canada's geographic ids start with the province and census division), when
    there is no ``cduid`` column.
    """

    id: str
    population: str
    name: str | None = None
    cduid: str | None = None
    csduid: str | None = None
    cduid_from_id: bool = False


def read_area_points(path: Path | None, columns: AreaColumns, *,
                     layer: str | None = None) -> gpd.GeoDataFrame:
    """One point per row of a vector file of areas or points; see the module docstring for
    the columns.

    An area is represented by a point inside it (``representative_point``, taken in the
    file's own CRS). Raises :class:`InputFileError` for a missing file and
    :class:`SchemaError`, naming the file, the row and the field, for an unreadable file, no
    CRS, a missing column, a blank or repeated id, a population that is not a number >= 0,
    or a row with no geometry.
    """
    if path is None or not path.is_file():
        raise InputFileError(f"demand file not found: {path}")
    try:
        gdf = gpd.read_file(path, layer=layer)
    except Exception as exc:
        raise SchemaError(f"{path}: cannot be read as a vector file: {exc}") from exc
    where = str(path)
    if gdf.crs is None:
        raise SchemaError(f"{where}: has no CRS")
    c = columns
    require_columns(gdf, [c.id, c.population, *(x for x in (c.name, c.cduid, c.csduid) if x)],
                    where)
    ids = gdf[c.id].astype(str).str.strip()
    if (ids == "").any():
        raise SchemaError(f"{where}: row {int(np.argmax(ids == ''))}, field {c.id}: blank id")
    gdf[c.id] = ids
    require_unique(gdf, c.id, where)
    pop = pd.to_numeric(gdf[c.population], errors="coerce")
    bad = pop.isna() | (pop < 0)
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise SchemaError(f"{where}: {c.id} {ids.iloc[i]}, field {c.population}: not a "
                          f"population ({gdf[c.population].iloc[i]!r})")
    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    if empty.any():
        raise SchemaError(f"{where}: {c.id} {ids[empty].iloc[0]} has no geometry")
    points = gdf.geometry.representative_point().to_crs(4326)

    def text(column: str | None) -> pd.Series:
        return (gdf[column].astype(str).str.strip() if column
                else pd.Series("", index=gdf.index))

    df = pd.DataFrame({
        "area_id": ids,
        "name": gdf[c.name].astype(str) if c.name else pd.Series("", index=gdf.index),
        "cduid": ids.str[:4] if c.cduid_from_id and not c.cduid else text(c.cduid),
        "csduid": text(c.csduid),
        "pop2021": np.round(pop).astype("int64"),
    })
    return gpd.GeoDataFrame(df, geometry=points.to_numpy(), crs=4326)
