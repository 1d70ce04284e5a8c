"""Shared fixtures: configs over the shipped reference data, with small listings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gapmap.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
RAW = ROOT / "data" / "raw"


def write_config(tmp_path: Path, listings: list[Path], *, hospitals: bool = False,
                 extra: str = "") -> Path:
    """A run config in ``tmp_path`` over the shipped reference data and the given listings.

    Outputs go under ``tmp_path``; ``extra`` is appended TOML (e.g. a [coverage] table).
    """
    lst = ",\n    ".join(f'{{ path = "{p}" }}' for p in listings)
    hosp = (f'hospitals = "{RAW}/ontario/healthcare_facilities_odhf_v1.1.csv"'
            if hospitals else "hospitals = false")
    text = f"""
[run]
name = "test"
data_vintage = "test fixture"

[inputs]
listings = [
    {lst}
]
{hosp}
census_divisions = "{RAW}/ontario/census_divisions_2021_simplified.geojson"
province = "{RAW}/ontario/province_outline_2021_simplified.geojson"
opp_regions = "{RAW}/ontario/opp_region_by_census_division.csv"
census_subdivisions = "{RAW}/ontario/census_subdivisions_2021.csv"
census_tracts = "{RAW}/ontario/census_tracts_2021.csv"
fsa_statcan = "{RAW}/ontario/fsa_centroids_statcan2011.csv"
fsa_geonames = "{RAW}/ontario/fsa_centroids_geonames.csv"
places_geonames = "{RAW}/ontario/places_geonames_cities500.csv"
places_fpa = "{RAW}/gpl-3.0/places_fpa.csv"
highways = "{RAW}/gpl-3.0/highways_kings_fpa.geojson"
remote_communities = "{RAW}/ontario/remote_communities_curated.csv"
police_offices = "{RAW}/ontario/opp_detachment_offices.csv"
shelter_capacity = "{RAW}/toronto/toronto_shelter_locations_2024-03-20.csv"
opp_detachments = "{RAW}/ontario/opp_detachments.csv"
flsa_designated_areas = "{RAW}/ontario/flsa_designated_areas.csv"

[outputs]
interim_dir = "{tmp_path}/interim"
processed_dir = "{tmp_path}/processed"
maps_dir = "{tmp_path}/maps"
{extra}
"""
    path = tmp_path / "test.toml"
    path.write_text(text, encoding="utf-8")
    return path


LISTING_COLUMNS = ["id", "name", "need_types", "address", "city", "postal_code", "lat", "lon",
                   "confidential", "coordinate_source"]


def write_listings(path: Path, rows: list[dict]) -> Path:
    """A listings CSV of ``rows`` (crisis_support, not confidential unless a row says so)."""
    import pandas as pd

    df = pd.DataFrame(rows, dtype=str).reindex(columns=LISTING_COLUMNS,
                                               fill_value="").fillna("")
    df["need_types"] = "crisis_support"
    df["confidential"] = df["confidential"].replace("", "false")
    df.to_csv(path, index=False)
    return path


def two_disconnected_roads():
    """Two 80 km/h roads of about 31 km at 45 N, 1.6 degrees apart: two components."""
    import geopandas as gpd
    import shapely

    from gapmap.network import graph_from_lines

    lines = gpd.GeoDataFrame({"cls": ["a", "a"]}, geometry=[
        shapely.LineString([(-80, 45), (-79.6, 45)]),
        shapely.LineString([(-78, 45), (-77.6, 45)])], crs=4326)
    return graph_from_lines(lines, class_column="cls", speed_kph={"a": 80},
                            default_speed_kph=80, node_snap_m=1.0)


def allow_only(context, url: str, blocked: list[str]) -> None:
    """Let a browser context load ``url`` and nothing else: every other request (a CDN, a
    tile server) is aborted and its URL appended to ``blocked``, for the test to assert."""

    def route(r) -> None:
        if r.request.url == url:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)


@pytest.fixture
def small_listings(tmp_path: Path) -> Path:
    """A copy of tests/data/listings_small.csv that a test may edit."""
    dst = tmp_path / "listings_small.csv"
    shutil.copy(DATA / "listings_small.csv", dst)
    return dst


@pytest.fixture
def small_config(tmp_path: Path, small_listings: Path) -> Config:
    return load_config(write_config(tmp_path, [small_listings]))


@pytest.fixture(scope="session")
def ontario_config() -> Config:
    """The shipped province-wide config (reads data/raw only; tests never write its outputs)."""
    return load_config(ROOT / "configs" / "ontario.toml")


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """Every stage up to the maps (plan too: the maps' suggested sites), once per session,
    on tests/data/listings_small.csv and listings_east_west.csv (four real listings, so that
    every region's map has services)."""
    from gapmap.pipeline import STAGES

    tmp = tmp_path_factory.mktemp("small-run")
    cfg = load_config(write_config(tmp, [DATA / "listings_small.csv",
                                         DATA / "listings_east_west.csv"]))
    for stage in ("ingest", "geocode", "regions", "demand", "network", "travel", "gaps",
                  "plan", "maps"):
        STAGES[stage](cfg)
    return cfg
