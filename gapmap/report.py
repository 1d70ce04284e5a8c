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
from gapmap.io import write_geopackage
from gapmap.outputs.geopackage import coverage_layer, layer_descriptions
from gapmap.outputs.tables import shared_services

log = logging.getLogger(__name__)

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
    layers = {
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
    }
    write_geopackage(layers, path, descriptions=layer_descriptions(
        {name: [str(c) for c in df.columns] for name, df in layers.items()}))
    log.info("wrote %s", path)
    return path
