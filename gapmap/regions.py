"""Regions: every service and demand point gets its census division and OPP region.

The shipped table ``opp_region_by_census_division.csv`` (editable) assigns each of the 49
census divisions to one of the five OPP regions, with a ``confidence`` that travels into the
reports. Points are placed by point-in-polygon on the simplified census-division polygons; a
point that falls just outside them (shorelines, borders) takes the nearest division, and
``region_method`` says so. Rows without a point use the divisions their area names.

Columns added: ``cduid``, ``cd_name``, ``opp_region``, ``region_confidence``,
``region_method`` (``within`` | ``nearest`` | ``carried`` | ``area`` | ``listing`` | ``none``).
An area-level service spanning several regions has them ``;``-joined in ``opp_region``;
a province-wide one has ``all``.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import geopandas as gpd
import pandas as pd

from gapmap import contracts
from gapmap.config import Config
from gapmap.errors import ConfigError, SchemaError
from gapmap.io import read_geo, read_table, require_columns

log = logging.getLogger(__name__)

OPP_REGIONS: tuple[str, ...] = ("North East", "North West", "East", "West", "Central")
REGION_COLUMNS = [c.name for c in contracts.REGION_COLUMNS]  # declared in gapmap.contracts


def slug(region: str) -> str:
    """``"North East"`` -> ``"north-east"`` (file names of the per-region maps)."""
    return region.lower().replace(" ", "-")


@lru_cache(maxsize=8)
def _census_divisions(cd_path: str, table_path: str) -> gpd.GeoDataFrame:
    cds = read_geo(cd_path)
    require_columns(cds, ["CDUID", "CDNAME"], cd_path)
    table = read_table(table_path)
    require_columns(table, ["cduid", "opp_region", "confidence"], table_path)
    bad = table[~table["opp_region"].isin(OPP_REGIONS)]
    if len(bad):
        r = bad.iloc[0]
        raise SchemaError(f"{table_path}: row {bad.index[0] + 2}, field opp_region: "
                          f"{r['opp_region']!r} is not one of {', '.join(OPP_REGIONS)}")
    if table["cduid"].duplicated().any():
        raise SchemaError(f"{table_path}: field cduid has duplicate ids")
    cds = cds.merge(table[["cduid", "opp_region", "confidence"]].rename(
        columns={"cduid": "CDUID", "confidence": "region_confidence"}), on="CDUID", how="left")
    missing = cds[cds["opp_region"].isna()]
    if len(missing):
        raise SchemaError(f"{table_path}: no OPP region for census division(s) "
                          f"{', '.join(missing['CDUID'])}")
    return cds[["CDUID", "CDNAME", "opp_region", "region_confidence", "geometry"]]


def census_divisions(config: Config) -> gpd.GeoDataFrame:
    """Census-division polygons (EPSG:4326) with their OPP region and its confidence."""
    return _census_divisions(str(config.inputs.census_divisions),
                             str(config.inputs.opp_regions)).copy()


def opp_region_polygons(config: Config) -> gpd.GeoDataFrame:
    """One (multi)polygon per OPP region, dissolved from its census divisions."""
    cds = census_divisions(config)
    return cds.dissolve(by="opp_region", as_index=False)[["opp_region", "geometry"]]


def assign_regions(gdf: gpd.GeoDataFrame, config: Config) -> gpd.GeoDataFrame:
    """Add the region columns (see module docstring). The input frame is not modified.

    A ``cduid`` column already on the input (census tracts and subdivisions carry theirs)
    is authoritative and kept (``carried``).
    """
    cds = census_divisions(config)
    by_cd = cds.set_index("CDUID")
    out = gdf.copy()
    cduid = pd.Series("", index=out.index, dtype=object)
    method = pd.Series("none", index=out.index, dtype=object)
    if "cduid" in out.columns:
        carried = out["cduid"].fillna("").astype(str)
        ok = carried.isin(by_cd.index)
        cduid[ok] = carried[ok]
        method[ok] = "carried"
    has_pt = out.geometry.notna() & ~out.geometry.is_empty & (method == "none")
    if has_pt.any():
        pts = out.loc[has_pt, [out.geometry.name]].to_crs(3347)
        cds_m = cds.to_crs(3347)
        hit = gpd.sjoin(pts, cds_m[["CDUID", "geometry"]], how="left", predicate="within")
        hit = hit[~hit.index.duplicated()]
        within = hit["CDUID"].notna()
        cduid[hit.index[within]] = hit.loc[within, "CDUID"]
        method[hit.index[within]] = "within"
        miss = hit.index[~within]
        if len(miss):
            near = gpd.sjoin_nearest(pts.loc[miss], cds_m[["CDUID", "geometry"]], how="left")
            near = near[~near.index.duplicated()]
            cduid[near.index] = near["CDUID"]
            method[near.index] = "nearest"
            log.info("%d point(s) outside the simplified census divisions took the nearest",
                     len(near))
    out["cduid"] = cduid
    out["cd_name"] = [by_cd["CDNAME"].get(c, "") for c in cduid]
    out["opp_region"] = [by_cd["opp_region"].get(c, "") for c in cduid]
    out["region_confidence"] = [by_cd["region_confidence"].get(c, "") for c in cduid]
    # rows without a point: the divisions their area names, else the listing's region
    if "area_cduids" in out.columns:
        for i in out.index[method == "none"]:
            cds_named = [c for c in str(out.at[i, "area_cduids"]).split(";") if c in by_cd.index]
            area = str(out.at[i, "area_name"]) if "area_name" in out.columns else ""
            if cds_named:
                regions = sorted({by_cd.at[c, "opp_region"] for c in cds_named})
                out.at[i, "opp_region"] = ";".join(regions)
                if len(cds_named) == 1:
                    out.at[i, "cduid"] = cds_named[0]
                    out.at[i, "cd_name"] = by_cd.at[cds_named[0], "CDNAME"]
                out.at[i, "region_confidence"] = ";".join(
                    sorted({by_cd.at[c, "region_confidence"] for c in cds_named}))
                method[i] = "area"
            elif any(w in area.lower() for w in ("province", "national", "ontario")):
                out.at[i, "opp_region"] = "all"
                method[i] = "area"
    if "listing_region" in out.columns:
        use = (method == "none") & out["listing_region"].fillna("").ne("")
        out.loc[use, "opp_region"] = out.loc[use, "listing_region"]
        method[use] = "listing"
    out["region_method"] = method
    return out


def within_scope(gdf: gpd.GeoDataFrame, config: Config, *,
                 area_level: bool = False) -> gpd.GeoDataFrame:
    """The rows in the census divisions of ``run.census_divisions`` (all rows if it is empty).

    Rows need the region columns (:func:`assign_regions`). A row is in scope when its
    ``cduid`` is; with ``area_level``, also a service without a point whose area names one of
    those divisions, or a province-wide one (``opp_region`` ``all``).
    """
    scope = set(config.census_divisions_in_scope)
    if not scope:
        return gdf
    unknown = scope - set(census_divisions(config)["CDUID"])
    if unknown:
        raise ConfigError(f"{config.path}: run.census_divisions names unknown census "
                          f"division(s) {', '.join(sorted(unknown))}")
    keep = gdf["cduid"].fillna("").astype(str).isin(scope)
    if area_level:
        if "area_cduids" in gdf.columns:
            named = gdf["area_cduids"].fillna("").astype(str).str.split(";")
            keep |= named.map(lambda cds: bool(scope.intersection(cds))).astype(bool)
        keep |= gdf["opp_region"].fillna("").astype(str).eq("all")
    log.info("scope: %d of %d rows in census division(s) %s", int(keep.sum()), len(gdf),
             ", ".join(sorted(scope)))
    return gdf[keep.to_numpy()].reset_index(drop=True)


def serves_region(opp_region_field: pd.Series, region: str) -> pd.Series:
    """True where a row's ``opp_region`` (possibly ``;``-joined or ``all``) covers ``region``."""
    parts = opp_region_field.fillna("").astype(str).str.split(";")
    return parts.map(lambda p: region in p or "all" in p).astype(bool)


__all__ = ["OPP_REGIONS", "assign_regions", "census_divisions", "opp_region_polygons",
           "serves_region", "slug", "within_scope"]
