"""Demand: where people are, as population points.

Ontario's 2,533 census tracts (the 19 tracted metro areas, which they cover completely) plus
the 450 census subdivisions outside those metro areas: 2,983 points whose 2021 population
sums exactly to Ontario's 14,223,942.

Output contract (GeoDataFrame, EPSG:4326, one row per point):

==================  =======================================================================
demand_id           ``ct-<ctuid>`` or ``csd-<csduid>``
name                "Toronto CT 0001.00" for a tract, the municipality or reserve name otherwise
kind                ``tract`` | ``subdivision``
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
from gapmap.errors import SchemaError
from gapmap.io import read_table, require_columns, require_unique

log = logging.getLogger(__name__)

ONTARIO_POP2021 = 14_223_942


def remote_communities(config: Config) -> gpd.GeoDataFrame:
    """The communities with no all-season road, with their census subdivisions and air hub.

    Columns: ``community``, ``csduids`` (list), ``population``, ``access``, ``air_hub``,
    ``geometry`` (None where the file gives no point).
    """
    from gapmap.geocode import Gazetteer

    path = config.inputs.remote_communities
    t = read_table(path)
    require_columns(t, ["community", "csduid", "lat", "lon", "access"], str(path))
    t["csduids"] = t["csduid"].map(lambda s: [c.strip() for c in s.split(";") if c.strip()])
    lat = pd.to_numeric(t["lat"], errors="coerce")
    lon = pd.to_numeric(t["lon"], errors="coerce")
    geom = gpd.points_from_xy(lon, lat)
    gdf = gpd.GeoDataFrame(t.drop(columns=["lat", "lon"]), geometry=geom, crs=4326)
    gdf.loc[lat.isna(), "geometry"] = None
    gaz = Gazetteer(config)
    hubs = []
    for h in config.air_hubs:
        m = gaz.town(h)
        if m.place is None:
            raise SchemaError(f"{config.path}: remote.air_hubs names {h!r}, not found in the "
                              "gazetteer")
        hubs.append((h, m.place.x, m.place.y))
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
    remote = remote_communities(config)
    by_csd = {c: r for _, r in remote.iterrows() for c in r["csduids"]}
    df["access"] = np.where(df["csduid"].isin(by_csd), "no_all_season_road", "road")
    df["remote_community"] = [by_csd[c]["community"] if c in by_csd else "" for c in df["csduid"]]
    df["air_hub"] = [by_csd[c]["air_hub"] if c in by_csd else "" for c in df["csduid"]]
    gdf = gpd.GeoDataFrame(df.drop(columns=["lat", "lon"]),
                           geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326)
    total = int(gdf["pop2021"].sum())
    log.info("demand: %d points (%d tracts, %d subdivisions), population %s; %d reserves not "
             "enumerated; %d points without an all-season road", len(gdf), len(tracts),
             len(subs), f"{total:,}", int((~gdf['enumerated']).sum()),
             int((gdf['access'] == 'no_all_season_road').sum()))
    return gdf
