"""Demand: where people are, as population points.

``[demand] source = "census"`` (the default): Ontario's 2,533 census tracts (the 19 tracted
metro areas, which they cover completely) plus the 450 census subdivisions outside those
metro areas: 2,983 points whose 2021 population sums exactly to Ontario's 14,223,942.

``[demand] source = "file"``: any file of areas or points with an id and a population column
(e.g. Statistics Canada's dissemination blocks): one point per row, a polygon's
representative point (always inside it). ``cduid`` comes from ``cduid_column``, or from the
first four characters of the id (``cduid_from_id``: Statistics Canada's geographic ids start
with the province and census division), else from the census-division polygons in the
regions stage; ``csduid`` from ``csduid_column`` (then the remote-community flags apply).
A population of 0 is taken as counted (an empty block), so ``enumerated`` is True.

Output contract (GeoDataFrame, EPSG:4326, one row per point):

==================  =======================================================================
demand_id           ``ct-<ctuid>`` or ``csd-<csduid>`` (file: ``id_prefix`` + the id)
name                "Toronto CT 0001.00" for a tract, the municipality or reserve name otherwise
                    (file: ``name_column``, else "<kind> <id>")
kind                ``tract`` | ``subdivision`` (file: ``kind``)
csduid, cduid       census subdivision (subdivisions only) and census division codes
cma_name            metro area of a tract
pop2021             2021 census population
is_reserve          bool
enumerated          False for a reserve counted as 0 in 2021: missing data, not an empty place
access              ``no_all_season_road`` for the remote communities, else ``road``
remote_community    the remote community's name, when it is one
air_hub             the nearest air hub of a remote community (approximate)
==================  =======================================================================
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.config import Config
from gapmap.contracts import DEMAND_POINT_COLUMNS
from gapmap.errors import InputFileError, SchemaError
from gapmap.io import read_table, require_columns, require_unique

log = logging.getLogger(__name__)

ONTARIO_POP2021 = 14_223_942


_AIR_HUBS: dict[tuple[object, ...], tuple[tuple[str, float, float], ...]] = {}


def _air_hubs(config: Config) -> tuple[tuple[str, float, float], ...]:
    """Each air hub's name and point in EPSG:3347, found once per process and settings.

    Building the gazetteer takes seconds, and the demand, travel and report stages all ask
    for the remote communities.
    """
    from gapmap.geocode import Gazetteer

    key = (config.inputs, config.geocode, config.air_hubs)
    if key not in _AIR_HUBS:
        gaz = Gazetteer(config)
        hubs = []
        for h in config.air_hubs:
            m = gaz.town(h)
            if m.place is None:
                raise SchemaError(f"{config.path}: remote.air_hubs names {h!r}, not found in "
                                  "the gazetteer")
            hubs.append((h, m.place.x, m.place.y))
        _AIR_HUBS[key] = tuple(hubs)
    return _AIR_HUBS[key]


def mark_remote(df: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Set ``access``, ``remote_community`` and ``air_hub`` of the rows whose ``csduid`` is
    a community with no all-season road (others keep ``road`` and blanks)."""
    remote = remote_communities(config)
    by_csd = {c: r for _, r in remote.iterrows() for c in r["csduids"]}
    hit = df["csduid"].isin(by_csd)
    df["access"] = np.where(hit, "no_all_season_road", "road")
    df["remote_community"] = [by_csd[c]["community"] if c in by_csd else "" for c in df["csduid"]]
    df["air_hub"] = [by_csd[c]["air_hub"] if c in by_csd else "" for c in df["csduid"]]
    return df


def remote_communities(config: Config) -> gpd.GeoDataFrame:
    """The communities with no all-season road, with their census subdivisions and air hub.

    Columns: ``community``, ``csduids`` (list), ``population``, ``access``, ``air_hub``,
    ``geometry`` (None where the file gives no point).
    """
    path = config.inputs.remote_communities
    t = read_table(path)
    require_columns(t, ["community", "csduid", "lat", "lon", "access"], str(path))
    t["csduids"] = t["csduid"].map(lambda s: [c.strip() for c in s.split(";") if c.strip()])
    lat = pd.to_numeric(t["lat"], errors="coerce")
    lon = pd.to_numeric(t["lon"], errors="coerce")
    geom = gpd.points_from_xy(lon, lat)
    gdf = gpd.GeoDataFrame(t.drop(columns=["lat", "lon"]), geometry=geom, crs=4326)
    gdf.loc[lat.isna(), "geometry"] = None
    hubs = _air_hubs(config)
    pts = gdf.to_crs(3347)
    hub_names = []
    for g in pts.geometry:
        if g is None or g.is_empty:
            hub_names.append("")
            continue
        d = [np.hypot(g.x - x, g.y - y) for _, x, y in hubs]
        hub_names.append(hubs[int(np.argmin(d))][0])
    gdf["air_hub"] = hub_names
    return gdf


def build_demand(config: Config) -> gpd.GeoDataFrame:
    """Build the demand points; see the module docstring for the columns."""
    if config.demand.source == "file":
        return demand_from_file(config)
    ct_path, csd_path = config.inputs.census_tracts, config.inputs.census_subdivisions
    ct = read_table(ct_path)
    require_columns(ct, ["ctuid", "cma_code", "cma_name", "cduid", "pop2021", "lat", "lon"],
                    str(ct_path))
    require_unique(ct, "ctuid", str(ct_path))
    csd = read_table(csd_path)
    require_columns(csd, ["csduid", "name", "cduid", "cma_code", "is_reserve", "pop2021",
                          "lat", "lon"], str(csd_path))
    require_unique(csd, "csduid", str(csd_path))
    tracted = set(ct["cma_code"])
    outside = csd[~csd["cma_code"].isin(tracted)]
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
            raise SchemaError(f"demand point {bad['demand_id']}: field {c} is not a number "
                              f"({bad[c]!r})")
        df[c] = num
    df["pop2021"] = df["pop2021"].astype("int64")
    df["enumerated"] = ~(df["is_reserve"] & (df["pop2021"] == 0))
    df = mark_remote(df, config)
    gdf = gpd.GeoDataFrame(df.drop(columns=["lat", "lon"]),
                           geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326)
    total = int(gdf["pop2021"].sum())
    log.info("demand: %d points (%d tracts, %d subdivisions), population %s; %d reserves not "
             "enumerated; %d points without an all-season road", len(gdf), len(tracts),
             len(subs), f"{total:,}", int((~gdf['enumerated']).sum()),
             int((gdf['access'] == 'no_all_season_road').sum()))
    return gdf


DEMAND_COLUMNS = [c.name for c in DEMAND_POINT_COLUMNS]  # declared in gapmap.contracts


def demand_from_file(config: Config) -> gpd.GeoDataFrame:
    """Demand points from a file of areas or points (``[demand] source = "file"``)."""
    s = config.demand
    path = s.path
    if path is None or not path.is_file():
        raise InputFileError(f"demand file not found: {path}")
    try:
        gdf = gpd.read_file(path, layer=s.layer)
    except Exception as exc:
        raise SchemaError(f"{path}: cannot be read as a vector file: {exc}") from exc
    where = str(path)
    if gdf.crs is None:
        raise SchemaError(f"{where}: has no CRS")
    cols = [s.id_column, s.population_column]
    cols += [c for c in (s.name_column, s.cduid_column, s.csduid_column) if c]
    require_columns(gdf, cols, where)
    ids = gdf[s.id_column].astype(str).str.strip()
    if (ids == "").any():
        raise SchemaError(f"{where}: row {int(np.argmax(ids == ''))}, field {s.id_column}: "
                          "blank id")
    gdf[s.id_column] = ids
    require_unique(gdf, s.id_column, where)
    pop = pd.to_numeric(gdf[s.population_column], errors="coerce")
    bad = pop.isna() | (pop < 0)
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise SchemaError(f"{where}: {s.id_column} {ids.iloc[i]}, field "
                          f"{s.population_column}: not a population "
                          f"({gdf[s.population_column].iloc[i]!r})")
    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    if empty.any():
        raise SchemaError(f"{where}: {s.id_column} {ids[empty].iloc[0]} has no geometry")
    # a point inside each area, taken in the file's own CRS
    points = gdf.geometry.representative_point().to_crs(4326)
    if s.cduid_column:
        cduid = gdf[s.cduid_column].astype(str).str.strip()
    elif s.cduid_from_id:
        cduid = ids.str[:4]
    else:
        cduid = pd.Series("", index=gdf.index)
    csduid = (gdf[s.csduid_column].astype(str).str.strip() if s.csduid_column
              else pd.Series("", index=gdf.index))
    names = (gdf[s.name_column].astype(str) if s.name_column
             else s.kind.replace("_", " ") + " " + ids)
    df = pd.DataFrame({
        "demand_id": s.id_prefix + ids, "name": names, "kind": s.kind,
        "csduid": csduid, "cduid": cduid, "cma_name": "",
        "pop2021": np.round(pop).astype("int64"), "is_reserve": False, "enumerated": True,
        "access": "road", "remote_community": "", "air_hub": "",
    })
    if s.csduid_column:
        df = mark_remote(df, config)
    out = gpd.GeoDataFrame(df, geometry=points.to_numpy(), crs=4326)
    log.info("demand: %d %s points from %s, population %s; %d with population 0", len(out),
             s.kind, path.name, f"{int(out['pop2021'].sum()):,}",
             int((out["pop2021"] == 0).sum()))
    return out[DEMAND_COLUMNS]
