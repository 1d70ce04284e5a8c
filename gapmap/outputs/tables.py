"""Tables planners take away, written as CSV: the services as shared.

:func:`shared_services` is the one view of the services that leaves the pipeline (CSV,
GeoPackage): no postal code, and for a confidential service no street address and no point
finer than its town.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from gapmap.contracts import check_withheld
from gapmap.io import write_csv

SHARED_SERVICE_COLUMNS = [
    "service_id", "name", "organization", "need_types", "address", "city", "phone", "website",
    "hours", "languages", "eligibility", "capacity", "service_area", "delivery",
    "hours_weekly", "open_24_7", "language_codes", "gender_limit", "eligible_groups",
    "age_min", "age_max", "service_area_codes", "last_verified",
    "verification", "confidential", "geocode_precision", "geocode_source",
    "geocode_note", "area_name",
    "cduid", "cd_name", "opp_region", "region_confidence", "region_method", "lat", "lon",
    "source", "source_row", "source_url",
]


def shared_services(services: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The services as shared: no postal code, and for confidential rows no address.

    Confidential rows are placed no finer than their town upstream; this is the last
    guard: a confidential row with a finer precision stops the run
    (:func:`gapmap.contracts.check_withheld` raises :class:`~gapmap.errors.SchemaError`).
    """
    check_withheld(services, refusing="share them")
    out = services[SHARED_SERVICE_COLUMNS + ["geometry"]].copy()
    return gpd.GeoDataFrame(out, geometry="geometry", crs=services.crs)


def write_service_tables(services: gpd.GeoDataFrame, path: Path) -> list[Path]:
    """``services.csv``: the services as shared (:func:`shared_services`)."""
    return [write_csv(shared_services(services), path)]
