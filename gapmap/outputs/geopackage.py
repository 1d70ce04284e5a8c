"""The GeoPackage planners open in a GIS: layers built from the run's tables, each layer and
field described (``gpkg_contents``, ``gpkg_data_columns``) for QGIS to show."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from gapmap.io import LayerDescription
from gapmap.outputs.dictionary import label


def coverage_layer(cds: gpd.GeoDataFrame, coverage: pd.DataFrame) -> gpd.GeoDataFrame:
    """OPP region polygons with ``pct_<need>`` columns, for choropleths in a GIS."""
    reg = cds.dissolve(by="opp_region", as_index=False)[["opp_region", "geometry"]]
    wide = coverage.pivot(index="opp_region", columns="need_type", values="pct_covered")
    wide.columns = [f"pct_{c}" for c in wide.columns]
    return reg.merge(wide.reset_index(), on="opp_region", how="left")


LAYER_TEXT: dict[str, tuple[str, str]] = {
    "services": ("Services", "Every placed service with its needs, location precision and "
                 "region; a confidential service at its town, its address withheld"),
    "services_without_point": ("Services without a point", "Services listed for an area or "
                               "not placed: not counted for coverage"),
    "demand": ("Communities (2021 population)", "Demand points: census subdivisions, tracts "
               "or reserves with their 2021 Census population and how they are reached"),
    "gap_communities": ("Gap communities", "Per need, the communities beyond the need's drive "
                        "time threshold, ranked by population x minutes beyond, with their "
                        "nearest service"),
    "remote_communities": ("Remote communities", "Communities with no all-season road "
                           "(fly-in or winter road) and their air hub"),
    "census_divisions": ("Census divisions", "2021 census divisions with their OPP region"),
    "opp_regions": ("OPP regions: coverage", "OPP region polygons with the % of the 2021 "
                    "population within each need's threshold (pct_<need>)"),
    "highways": ("King's Highways", "The road network the drive times are computed on "
                 "(default run)"),
    "coverage_by_region": ("Coverage by region", "Per OPP region and need: population "
                           "within the threshold and why the rest is not"),
    "coverage": ("Coverage by drive time", "Per OPP region, need and drive time: population "
                 "within it by kind of access"),
    "wraparound_by_region": ("Wraparound by region", "Population by the number of needs "
                             "reached within their thresholds"),
    "suggestions": ("Suggested sites", "Where one more service of a need adds the most "
                    "people within its threshold; read the caveat"),
    "need_catchments": ("Catchments by need", "Area within each drive time band of a placed "
                        "service of the need"),
    "service_catchments": ("Catchments by service", "Area within each drive time band of "
                           "each placed service"),
}
"""Each GeoPackage layer's title and description, as a GIS shows them."""


def layer_descriptions(layers: dict[str, list[str]]) -> dict[str, LayerDescription]:
    """Descriptions (:class:`~gapmap.io.LayerDescription`) for ``layers`` (name -> its
    columns): the layer's text from :data:`LAYER_TEXT`, each column's label and meaning
    from the data dictionary (:mod:`gapmap.outputs.dictionary`); columns with no label are
    left out."""
    out = {}
    for name, columns in layers.items():
        title, text = LAYER_TEXT.get(name, (name, ""))
        described = {}
        for column in columns:
            found = label(column)
            if found is not None:
                described[column] = (found.en, found.en, found.meaning)
        out[name] = LayerDescription(title, text, described)
    return out
