"""Report: the shared outputs planners take away.

* ``coverage_by_region.csv``: population coverage per OPP region and need type
  (columns in :mod:`gapmap.gaps`);
* ``gap_communities.csv``: the communities outside each need's threshold, ranked;
* ``services.csv``: every service with its need types, location precision and region
  (confidential ones at their town, address withheld);
* ``gapmap.gpkg``: one GeoPackage with every layer: ``services``, ``demand``,
  ``gap_communities``, ``remote_communities``, ``census_divisions``, ``opp_regions`` (with
  coverage per need as columns), ``highways``, the ``coverage_by_region`` table and, when the
  catchments stage has run, ``need_catchments`` (see :mod:`gapmap.catchments`);
* ``run_metadata.json``: how the outputs were made (config, input hashes, version).
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gapmap.config import Config
from gapmap.gaps import total_label
from gapmap.io import write_csv, write_geopackage

log = logging.getLogger(__name__)

SHARED_SERVICE_COLUMNS = [
    "service_id", "name", "organization", "need_types", "address", "city", "phone", "website",
    "hours", "languages", "eligibility", "confidential", "geocode_precision", "geocode_source",
    "geocode_note", "area_name",
    "cduid", "cd_name", "opp_region", "region_confidence", "region_method", "lat", "lon",
    "source", "source_row", "source_url",
]


def shared_services(services: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The services as shared: no postal code, and for confidential rows no address.

    Confidential rows are placed no finer than their town upstream; this is the last
    guard: it fails loudly if one ever arrives with a finer precision.
    """
    conf = services["confidential"].astype(bool)
    fine = services["geocode_precision"].isin(["exact", "street", "postal", "fsa"])
    if (conf & fine).any():
        bad = services.loc[conf & fine, "service_id"].tolist()
        raise AssertionError(f"confidential services placed finer than their town: {bad}")
    out = services[SHARED_SERVICE_COLUMNS + ["geometry"]].copy()
    return gpd.GeoDataFrame(out, geometry="geometry", crs=services.crs)


def coverage_layer(cds: gpd.GeoDataFrame, coverage: pd.DataFrame) -> gpd.GeoDataFrame:
    """OPP region polygons with ``pct_<need>`` columns, for choropleths in a GIS."""
    reg = cds.dissolve(by="opp_region", as_index=False)[["opp_region", "geometry"]]
    wide = coverage.pivot(index="opp_region", columns="need_type", values="pct_covered")
    wide.columns = [f"pct_{c}" for c in wide.columns]
    return reg.merge(wide.reset_index(), on="opp_region", how="left")


def write_reports(*, services: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
                  coverage: pd.DataFrame, gaps: pd.DataFrame, cds: gpd.GeoDataFrame,
                  remote: gpd.GeoDataFrame, highways: gpd.GeoDataFrame,
                  config: Config, extra_layers: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write the GeoPackage (the CSVs are written by the gaps stage).

    ``extra_layers`` are added as they are (e.g. ``need_catchments``).
    """
    shared = shared_services(services)
    gap_pts = gaps.merge(demand[["demand_id", "geometry"]], on="demand_id", how="left")
    gap_gdf = gpd.GeoDataFrame(gap_pts, geometry="geometry", crs=4326)
    rem = remote.copy()
    rem["csduids"] = rem["csduids"].map(";".join)
    dem = demand.copy()
    path = config.outputs.processed_dir / "gapmap.gpkg"
    write_geopackage({
        "services": shared[shared.geometry.notna()],
        "services_without_point": pd.DataFrame(shared[shared.geometry.isna()]
                                               .drop(columns="geometry")),
        "demand": dem,
        "gap_communities": gap_gdf[gap_gdf.geometry.notna()],
        "remote_communities": rem[rem.geometry.notna()],
        "census_divisions": cds,
        "opp_regions": coverage_layer(
            cds, coverage[coverage["opp_region"] != total_label(config)]),
        "highways": highways,
        "coverage_by_region": coverage,
        **(extra_layers or {}),
    }, path)
    log.info("wrote %s", path)
    return path


def write_service_tables(services: gpd.GeoDataFrame, config: Config) -> list[Path]:
    shared = shared_services(services)
    return [write_csv(shared, config.outputs.processed_dir / "services.csv")]
