"""Demand: where people are, as population points (the stage: the readers of the census
files and of an areas file are in :mod:`gapmap.sources.census`).

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
from gapmap.errors import SchemaError
from gapmap.io import read_table, require_columns
from gapmap.sources.census import AreaColumns, census_points, read_area_points

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
    gdf = census_points(config.inputs.census_tracts, config.inputs.census_subdivisions)
    gdf = mark_remote(gdf, config)[DEMAND_COLUMNS]
    tracts = int((gdf["kind"] == "tract").sum())
    log.info("demand: %d points (%d tracts, %d subdivisions), population %s; %d reserves not "
             "enumerated; %d points without an all-season road", len(gdf), tracts,
             len(gdf) - tracts, f"{int(gdf['pop2021'].sum()):,}",
             int((~gdf['enumerated']).sum()),
             int((gdf['access'] == 'no_all_season_road').sum()))
    return gdf


DEMAND_COLUMNS = [c.name for c in DEMAND_POINT_COLUMNS]  # declared in gapmap.contracts


def name_communities(demand: gpd.GeoDataFrame, config: Config) -> gpd.GeoDataFrame:
    """The demand points with the names people know (:mod:`gapmap.analysis.names`: a
    municipality by its name, a tract "near <town>") and ``census_code``; a demand file with
    a ``name_column`` keeps its own names."""
    from gapmap.analysis.names import census_code, community_names
    from gapmap.travel import projected_xy

    out = demand.copy()
    out["census_code"] = census_code(out)
    if config.demand.source == "file" and config.demand.name_column:
        return out
    towns = read_table(config.inputs.places_geonames)
    require_columns(towns, ["name", "lat", "lon"], str(config.inputs.places_geonames))
    town_pts = gpd.GeoSeries(gpd.points_from_xy(pd.to_numeric(towns["lon"]),
                                                pd.to_numeric(towns["lat"])), crs=4326)
    out["name"] = community_names(projected_xy(out), out["kind"], out["name"],
                                  projected_xy(town_pts), towns["name"],
                                  near_within_km=config.names.near_within_km)
    return out


def demand_from_file(config: Config) -> gpd.GeoDataFrame:
    """Demand points from a file of areas or points (``[demand] source = "file"``)."""
    s = config.demand
    pts = read_area_points(s.path, AreaColumns(
        id=s.id_column, population=s.population_column, name=s.name_column,
        cduid=s.cduid_column, csduid=s.csduid_column, cduid_from_id=s.cduid_from_id),
        layer=s.layer)
    names = pts["name"] if s.name_column else s.kind.replace("_", " ") + " " + pts["area_id"]
    df = pd.DataFrame({
        "demand_id": s.id_prefix + pts["area_id"], "name": names, "kind": s.kind,
        "csduid": pts["csduid"], "cduid": pts["cduid"], "cma_name": "",
        "pop2021": pts["pop2021"], "is_reserve": False, "enumerated": True,
        "access": "road", "remote_community": "", "air_hub": "",
    })
    if s.csduid_column:
        df = mark_remote(df, config)
    out = gpd.GeoDataFrame(df, geometry=pts.geometry.to_numpy(), crs=4326)
    log.info("demand: %d %s points from %s, population %s; %d with population 0", len(out),
             s.kind, s.path.name if s.path else s.path, f"{int(out['pop2021'].sum()):,}",
             int((out["pop2021"] == 0).sum()))
    return out[DEMAND_COLUMNS]
