"""The GeoPackage planners open in a GIS: layers built from the run's tables."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd


def coverage_layer(cds: gpd.GeoDataFrame, coverage: pd.DataFrame) -> gpd.GeoDataFrame:
    """OPP region polygons with ``pct_<need>`` columns, for choropleths in a GIS."""
    reg = cds.dissolve(by="opp_region", as_index=False)[["opp_region", "geometry"]]
    wide = coverage.pivot(index="opp_region", columns="need_type", values="pct_covered")
    wide.columns = [f"pct_{c}" for c in wide.columns]
    return reg.merge(wide.reset_index(), on="opp_region", how="left")
