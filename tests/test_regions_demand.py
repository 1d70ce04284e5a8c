"""Demand points and OPP-region assignment on the shipped reference data."""

from __future__ import annotations

import csv

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gapmap.demand import ONTARIO_POP2021, build_demand
from gapmap.regions import OPP_REGIONS, assign_regions, census_divisions, serves_region

from .conftest import RAW


@pytest.fixture(scope="module")
def demand(ontario_config) -> gpd.GeoDataFrame:
    return build_demand(ontario_config)


def _by_name(demand, name):
    hit = demand[demand["name"] == name]
    assert len(hit) == 1, name
    return hit.iloc[0]


# -- demand -----------------------------------------------------------------------------------

def test_demand_covers_all_of_ontario_once(demand):
    assert len(demand) == 2_983
    assert int(demand["pop2021"].sum()) == ONTARIO_POP2021 == 14_223_942
    assert (demand["kind"] == "tract").sum() == 2_533
    assert (demand["kind"] == "subdivision").sum() == 450
    assert demand["demand_id"].is_unique
    assert demand.crs.to_epsg() == 4326
    assert demand.geometry.notna().all()
    # no subdivision inside a tracted metro area is counted a second time
    tracted = set(demand.loc[demand["kind"] == "tract", "cma_name"])
    assert "Toronto" in tracted and "Thunder Bay" in tracted
    assert not demand.loc[demand["kind"] == "subdivision", "name"].isin(
        ["Toronto", "Thunder Bay", "Ottawa"]).any()


def test_reserve_counted_as_zero_is_not_enumerated(demand):
    six = _by_name(demand, "Six Nations (Part) 40")
    assert six["pop2021"] == 0
    assert bool(six["is_reserve"]) is True
    assert bool(six["enumerated"]) is False
    # only reserves with population 0 are flagged
    not_enum = demand[~demand["enumerated"]]
    assert len(not_enum) > 5
    assert not_enum["is_reserve"].all() and (not_enum["pop2021"] == 0).all()
    assert bool(_by_name(demand, "Sandy Lake 88")["enumerated"]) is True


@pytest.mark.parametrize(("name", "community"), [
    ("Sandy Lake 88", "Sandy Lake First Nation"),
    ("Fort Severn 89", "Fort Severn First Nation"),
    ("Deer Lake", "Deer Lake First Nation"),
])
def test_remote_communities_have_no_all_season_road_and_an_air_hub(demand, ontario_config,
                                                                   name, community):
    r = _by_name(demand, name)
    assert r["access"] == "no_all_season_road"
    assert r["remote_community"] == community
    assert r["air_hub"] in ontario_config.air_hubs
    assert r["air_hub"] == "Sioux Lookout"  # the nearest of the three hubs


def test_every_curated_remote_community_is_flagged_and_road_towns_are_not(demand):
    with open(RAW / "ontario" / "remote_communities_curated.csv", encoding="utf-8") as f:
        curated = list(csv.DictReader(f))
    remote = demand[demand["access"] == "no_all_season_road"]
    with_csd = {r["community"] for r in curated if r["csduid"]}
    assert len(with_csd) >= 30
    assert set(remote["remote_community"]) == with_csd
    assert (remote["air_hub"] != "").all()
    road = demand[demand["access"] == "road"]
    assert (road["air_hub"] == "").all() and (road["remote_community"] == "").all()
    assert _by_name(demand, "Sioux Lookout")["access"] == "road"


# -- regions ----------------------------------------------------------------------------------

def _points(ontario_config, pts: dict[str, tuple[float, float]]) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame({"name": list(pts)},
                           geometry=[shapely.Point(lon, lat) for lat, lon in pts.values()],
                           crs=4326)
    return assign_regions(gdf, ontario_config).set_index("name")


# 1 km off the Thunder Bay waterfront, in Lake Superior: outside the simplified polygons
LAKE_SUPERIOR = (48.35, -89.2)


def test_points_get_their_census_division_and_opp_region(ontario_config):
    out = _points(ontario_config, {"thunder bay": (48.382, -89.250),
                                   "ottawa": (45.411, -75.698),
                                   "kenora": (49.767, -94.490),
                                   "sudbury": (46.490, -80.990),
                                   "london": (42.984, -81.245)})
    assert out.loc["thunder bay", "opp_region"] == "North West"
    assert out.loc["thunder bay", "cd_name"] == "Thunder Bay"
    assert out.loc["ottawa", "opp_region"] == "East"
    assert out.loc["kenora", "opp_region"] == "North West"
    assert out.loc["sudbury", "opp_region"] == "North East"
    assert out.loc["london", "opp_region"] == "West"
    assert (out["region_method"] == "within").all()
    assert out["region_confidence"].isin(["high", "medium", "low"]).all()


def test_point_just_offshore_takes_the_nearest_division(ontario_config):
    cds_m = census_divisions(ontario_config).to_crs(3347)
    pt = gpd.GeoSeries([shapely.Point(LAKE_SUPERIOR[1], LAKE_SUPERIOR[0])],
                       crs=4326).to_crs(3347).iloc[0]
    assert not cds_m.contains(pt).any()          # really outside every division
    assert cds_m.distance(pt).min() < 3_000       # but close to the shore
    out = _points(ontario_config, {"lake": LAKE_SUPERIOR})
    assert out.loc["lake", "region_method"] == "nearest"
    assert out.loc["lake", "cd_name"] == "Thunder Bay"
    assert out.loc["lake", "opp_region"] == "North West"
    assert out.loc["lake", "region_confidence"] != ""


def test_rows_without_a_point_use_their_area_or_listing_region(ontario_config):
    gdf = gpd.GeoDataFrame({
        "name": ["niagara", "province", "listed", "nothing"],
        "area_cduids": ["3526", "", "", ""],
        "area_name": ["Niagara Region", "Province-wide", "", ""],
        "listing_region": ["", "", "North East", ""],
    }, geometry=[None, None, None, None], crs=4326)
    out = assign_regions(gdf, ontario_config).set_index("name")
    assert out.loc["niagara", "opp_region"] == "West"
    assert out.loc["niagara", "cduid"] == "3526"
    assert out.loc["niagara", "region_method"] == "area"
    assert out.loc["province", "opp_region"] == "all"
    assert out.loc["listed", "opp_region"] == "North East"
    assert out.loc["listed", "region_method"] == "listing"
    assert out.loc["nothing", "region_method"] == "none"
    assert serves_region(out["opp_region"], "East").tolist() == [False, True, False, False]


def test_every_demand_point_gets_a_region_with_its_confidence(demand, ontario_config):
    out = assign_regions(demand, ontario_config)
    assert len(out) == len(demand)
    assert out["opp_region"].isin(OPP_REGIONS).all()
    assert out["region_confidence"].isin(["high", "medium", "low"]).all()
    assert (out["region_method"] == "carried").all()   # tracts/subdivisions carry their CD
    pop = out.groupby("opp_region")["pop2021"].sum()
    assert int(pop.sum()) == ONTARIO_POP2021
    assert pop["Central"] > pop["North West"]
    sandy = out[out["name"] == "Sandy Lake 88"].iloc[0]
    assert sandy["opp_region"] == "North West" and sandy["cd_name"] == "Kenora"


def test_assign_regions_does_not_modify_its_input(ontario_config):
    gdf = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(-89.25, 48.38)],
                           crs=4326)
    before = pd.DataFrame(gdf).copy()
    assign_regions(gdf, ontario_config)
    assert list(gdf.columns) == list(before.columns)
