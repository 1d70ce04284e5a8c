"""Travel times on small graphs whose answers are known, checked against networkx; gaps
measures on hand-made cases."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from gapmap.analysis.coverage import coverage_by_region, gap_communities
from gapmap.config import NetworkSettings, load_config
from gapmap.gaps import thresholds, total_label
from gapmap.network import RoadGraph, graph_from_lines
from gapmap.sources.roads import kings_highways_graph
from gapmap.travel import TravelEngine, nearest_service_times, travel_time_matrix

from .conftest import DATA, two_disconnected_roads, write_config

SETTINGS = NetworkSettings()


def _line_graph(coords: list[tuple[float, float]], speed: float = 60.0) -> RoadGraph:
    lines = gpd.GeoDataFrame({"cls": ["a"]}, geometry=[shapely.LineString(coords)], crs=4326)
    return graph_from_lines(lines, class_column="cls", speed_kph={"a": speed},
                            default_speed_kph=speed, node_snap_m=1.0)


def _points(lonlats, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=[shapely.Point(x, y) for x, y in lonlats], crs=4326)


def test_csr_keeps_the_minimum_of_parallel_edges():
    csr = TravelEngine._csr(np.array([0, 0, 1]), np.array([1, 1, 0]),
                            np.array([50.0, 20.0, 7.0]), 2)
    assert csr[0, 1] == 20.0 and csr[1, 0] == 7.0


def test_times_match_networkx_on_the_kings_highways():
    g = kings_highways_graph(DATA.parent.parent / "data/raw/gpl-3.0/highways_kings_fpa.geojson",
                             SETTINGS)
    engine = TravelEngine(g, SETTINGS)
    nxg = nx.DiGraph()
    for u, v, w in g.edges[["u", "v", "travel_s"]].itertuples(index=False):
        if not nxg.has_edge(u, v) or nxg[u][v]["w"] > w:
            nxg.add_edge(int(u), int(v), w=w)
    rng = np.random.default_rng(1)
    targets = rng.choice(g.n_nodes, 12, replace=False)
    from gapmap.travel import Snap

    snap = Snap(targets, np.zeros(12), np.zeros(12), np.zeros((12, 2)), np.zeros((12, 2)),
                np.ones(12))
    ours, which = engine.nearest_times(snap)
    # to the nearest target = from it on the reversed graph
    ref = nx.multi_source_dijkstra_path_length(nxg.reverse(), set(map(int, targets)),
                                               weight="w")
    reached = np.array([n in ref for n in range(g.n_nodes)])
    assert np.isinf(ours[~reached]).all(), "unreachable nodes must be infinite, never 0"
    expected = np.array([ref[n] for n in np.nonzero(reached)[0]])
    assert np.allclose(ours[reached], expected, atol=0.01)
    assert (which[~reached] == -1).all()


def test_one_way_edges_are_respected():
    # a -> b only: a service at b is reachable from a, a service at a is not from b
    lines = gpd.GeoDataFrame({"cls": ["a"]},
                             geometry=[shapely.LineString([(-80, 45), (-79.5, 45)])], crs=4326)
    g = graph_from_lines(lines, class_column="cls", speed_kph={"a": 60}, default_speed_kph=60,
                         node_snap_m=1.0, two_way=False)
    engine = TravelEngine(g, SETTINGS)
    demand = _points([(-80, 45), (-79.5, 45)], demand_id=["A", "B"], access=["road", "road"])
    svc_at_b = _points([(-79.5, 45)], service_id=["sb"], need_types=["counselling"],
                       geocode_precision=["exact"])
    t = nearest_service_times(engine, demand, svc_at_b, ("counselling",)).set_index("demand_id")
    length_km = 0.5 * 111.32 * np.cos(np.radians(45)) / 1.0  # ~39.4 km along the parallel
    assert t.at["A", "travel_min"] == pytest.approx(length_km, rel=0.01)  # 60 km/h
    svc_at_a = svc_at_b.assign(geometry=[shapely.Point(-80, 45)], service_id=["sa"])
    t2 = nearest_service_times(engine, demand, svc_at_a, ("counselling",)).set_index("demand_id")
    # B cannot drive to A; the two are 39 km apart, beyond the 25 km local-road limit
    assert np.isnan(t2.at["B", "travel_min"]) and t2.at["B", "access"] == "unreachable"


def test_disconnected_component_gives_no_time_and_local_roads_still_count():
    g = two_disconnected_roads()
    assert len(set(g.components())) == 2
    engine = TravelEngine(g, SETTINGS)
    demand = _points([(-79.6, 45.0), (-77.6, 45.0), (-77.62, 45.05)],
                     demand_id=["west", "east", "east-village"], access=["road"] * 3)
    svc = _points([(-80, 45)], service_id=["s"], need_types=["legal_support"],
                  geocode_precision=["town"])
    t = nearest_service_times(engine, demand, svc, ("legal_support",)).set_index("demand_id")
    assert t.at["west", "travel_min"] == pytest.approx(0.4 * 78.7 / 80 * 60, rel=0.02)
    assert t.at["east", "access"] == "unreachable" and np.isnan(t.at["east", "travel_min"])
    # a service in the east village: the east point reaches it by local road (~6 km)
    svc2 = pd.concat([svc, _points([(-77.62, 45.05)], service_id=["v"],
                                   need_types=["legal_support"], geocode_precision=["town"])])
    t2 = nearest_service_times(engine, demand, gpd.GeoDataFrame(svc2, crs=4326),
                               ("legal_support",)).set_index("demand_id")
    assert t2.at["east", "service_id"] == "v" and t2.at["east", "route"] == "local"
    assert t2.at["east", "travel_min"] < 10


def test_connector_limits_flag_estimates_and_beyond():
    g = _line_graph([(-85, 46), (-84, 46)], speed=80)
    engine = TravelEngine(g, SETTINGS)
    # 0.45 deg north ~ 50 km off the road (estimate); 1.2 deg ~ 133 km (beyond)
    demand = _points([(-84.5, 46.45), (-84.5, 47.2), (-85, 46.0)],
                     demand_id=["far", "beyond", "on"], access=["road"] * 3)
    svc = _points([(-84, 46)], service_id=["s"], need_types=["medical_care"],
                  geocode_precision=["exact"])
    t = nearest_service_times(engine, demand, svc, ("medical_care",)).set_index("demand_id")
    assert t.at["far", "access"] == "estimate" and np.isfinite(t.at["far", "travel_min"])
    assert t.at["beyond", "access"] == "beyond_road_network"
    assert np.isnan(t.at["beyond", "travel_min"])
    assert t.at["on", "access"] == "road"
    # area-level services count for nothing
    svc_area = svc.assign(geocode_precision=["area"])
    t3 = nearest_service_times(engine, demand, svc_area, ("medical_care",))
    assert (t3["access"] == "no_service").all() and t3["travel_min"].isna().all()


def _local_case(**settings):
    """A road along 46 N; "on" lies on it with a service 2.2 km away in the same town; "far"
    is 50 km north of the road (an estimate), its nearest service 57 km away."""
    g = _line_graph([(-85, 46), (-84, 46)], speed=80)
    engine = TravelEngine(g, replace(SETTINGS, **settings))
    demand = _points([(-84.9, 46.0), (-84.5, 46.45)], demand_id=["on", "far"],
                     access=["road"] * 2)
    svc = _points([(-84.9, 46.02)], service_id=["town"], need_types=["counselling"],
                  geocode_precision=["exact"])
    t = nearest_service_times(engine, demand, svc, ("counselling",)).set_index("demand_id")
    return t, travel_time_matrix(engine, demand, svc)


def test_local_route_km_zero_routes_everything_by_the_network():
    t, m = _local_case()
    assert t.at["on", "route"] == "local" and m.route_local[0, 0]
    t0, m0 = _local_case(local_route_km=0)
    assert (t0["route"] == "network").all() and not m0.route_local.any()
    # by the network: both connectors and the road, never quicker than the local road
    assert t0.at["on", "travel_min"] > t.at["on", "travel_min"]
    assert m0.travel_min[0, 0] == pytest.approx(t0.at["on", "travel_min"])
    # the estimate flags do not move
    assert (t0["access"] == t["access"]).all()
    assert t0.at["far", "access"] == "estimate" and t0.at["on", "access"] == "road"
    assert t0.at["far", "travel_min"] == pytest.approx(t.at["far", "travel_min"])


def test_the_estimate_limit_does_not_move_the_local_route():
    t, m = _local_case()
    # a 1 km estimate limit: the service's 2.2 km connector is now an estimate, but the
    # community still reaches it by local road in the same time
    t1, m1 = _local_case(estimate_beyond_km=1)
    assert t1.at["on", "route"] == "local" and m1.route_local[0, 0]
    assert t1.at["on", "travel_min"] == pytest.approx(t.at["on", "travel_min"])
    assert t1.at["on", "access"] == "road"
    assert m1.to_frame()["route"].tolist() == m.to_frame()["route"].tolist()
    # and a wider local route reaches "far" directly, whatever the estimate limit
    t60, _ = _local_case(local_route_km=60, estimate_beyond_km=1)
    assert t60.at["far", "route"] == "local" and t60.at["far", "access"] == "road"


def test_coverage_and_gap_ranking_by_hand():
    """The measures take frames and plain values: five rows, no config."""
    demand = pd.DataFrame({
        "demand_id": ["a", "b", "c", "d", "e"], "name": ["A", "B", "C", "D", "E"],
        "kind": "subdivision", "pop2021": [1000, 500, 200, 0, 300],
        "opp_region": ["West", "West", "West", "West", "North West"], "cd_name": "x",
        "enumerated": [True, True, True, False, True], "air_hub": ["", "", "", "", "Sioux Lookout"],
        "remote_community": ["", "", "", "", "Sandy Lake"]})
    travel = pd.DataFrame({
        "demand_id": ["a", "b", "c", "d", "e"], "need_type": "counselling",
        "travel_min": [10.0, 45.0, np.nan, 5.0, np.nan], "service_id": ["s", "s", "", "s", ""],
        "access": ["road", "estimate", "unreachable", "road", "no_all_season_road"],
        "route": ""})
    services = pd.DataFrame({"need_types": ["counselling"], "geocode_precision": ["town"],
                             "opp_region": ["West"]})
    limits = {"counselling": 30.0}
    cov = coverage_by_region(travel, demand, services, thresholds_min=limits,
                             regions=["North West", "West"]).set_index("opp_region")
    assert cov.at["West", "threshold_min"] == 30
    assert cov.at["West", "pop_covered"] == 1000  # b is 45 min > 30
    assert cov.at["West", "pct_covered"] == pytest.approx(1000 / 1700 * 100, abs=0.1)
    assert cov.at["West", "points_not_enumerated"] == 1
    assert cov.at["North West", "pop_no_all_season_road"] == 300
    assert cov.at["Ontario", "pop2021"] == 2000
    assert list(cov.index) == ["North West", "West", "Ontario"]
    cov_city = coverage_by_region(travel, demand, services, thresholds_min=limits,
                                  regions=["West"], total_label="mycity")
    assert "Ontario" not in set(cov_city["opp_region"])
    assert cov_city.set_index("opp_region").at["mycity", "pop2021"] == 2000
    with pytest.raises(ValueError, match="counselling"):
        coverage_by_region(travel, demand, services, thresholds_min={"legal": 60},
                           regions=["West"], need_types=["counselling"])
    gaps = gap_communities(travel, demand, thresholds_min=limits)
    west = gaps[gaps["opp_region"] == "West"]
    assert west["name"].tolist() == ["B", "C"] and west["rank"].tolist() == [1, 2]
    assert "estimate" in west["note"].iloc[0]
    assert "Sioux Lookout" in gaps[gaps["name"] == "E"]["note"].iloc[0]


def test_gaps_stage_turns_the_config_into_the_measures_arguments(tmp_path):
    cfg = load_config(write_config(tmp_path, [DATA / "listings_small.csv"],
                                   extra="[coverage]\ndefault_threshold_min = 60\n"
                                         "thresholds_min = { counselling = 30 }\n"))
    assert thresholds(cfg)["counselling"] == 30 and thresholds(cfg)["legal_support"] == 60
    assert list(thresholds(cfg)) == list(cfg.need_types)
    assert total_label(cfg) == "Ontario"
    # a run limited to some census divisions: its total row is not "Ontario"
    city = cfg.updated(run={"name": "mycity", "census_divisions": ("3506", "3507")})
    assert total_label(city) == "mycity (census divisions 3506, 3507)"
    assert total_label(city.updated(run={"census_divisions": ("3506",)})) == \
        "mycity (census division 3506)"


def test_highway_fragments_are_joined_by_connectors():
    settings = NetworkSettings()
    g = kings_highways_graph(DATA.parent.parent / "data/raw/gpl-3.0/highways_kings_fpa.geojson",
                             settings)
    assert len(set(g.components())) == 1
    conn = g.edges[g.edges["road_class"] == "connector"]
    assert 2 <= len(conn) <= 20 and (conn["speed_kph"] == settings.connector_speed_kph).all()
    # Pembroke, a city of 14,000 on a highway fragment, must get a time to a hospital
    engine = TravelEngine(g, settings)
    demand = _points([(-77.11, 45.826)], demand_id=["pembroke"], access=["road"])
    svc = _points([(-76.2, 44.23)], service_id=["kingston"], need_types=["medical_care"],
                  geocode_precision=["exact"])
    t = nearest_service_times(engine, demand, svc, ("medical_care",)).iloc[0]
    assert t["access"] == "road" and 100 < t["travel_min"] < 300


def test_nearest_times_use_only_in_person_services():
    engine = TravelEngine(two_disconnected_roads(), SETTINGS)
    demand = _points([(-79.6, 45.0)], demand_id=["west"], access=["road"])
    # a line's office and an outreach base at the demand point; an in-person office 31 km off
    svc = _points([(-79.6, 45.0), (-79.6, 45.0), (-80, 45), (-79.65, 45.0)],
                  service_id=["line", "outreach", "office", "unknown"],
                  need_types=["legal_support"] * 4, geocode_precision=["exact"] * 4,
                  delivery=["virtual", "outreach", "in_person;virtual", ""])
    t = nearest_service_times(engine, demand, svc.iloc[:3], ("legal_support",))
    assert t.at[0, "service_id"] == "office"
    assert t.at[0, "travel_min"] > 20
    # delivery not stated, with a point: counts in person (the listing gives a place to go)
    t = nearest_service_times(engine, demand, svc, ("legal_support",))
    assert t.at[0, "service_id"] == "unknown"


def test_reach_pairs_agree_with_the_nearest_times_within_the_limit():
    from gapmap.travel import reach_pairs

    engine = TravelEngine(two_disconnected_roads(), SETTINGS)
    demand = _points([(-79.6, 45.0), (-79.8, 45.0), (-77.6, 45.0)],
                     demand_id=["a", "b", "east"], access=["road"] * 3)
    svc = _points([(-80, 45), (-79.7, 45.01), (-77.7, 45.0)], service_id=["s1", "s2", "s3"],
                  need_types=["legal_support", "legal_support", "counselling"],
                  geocode_precision=["exact"] * 3, delivery=["", "in_person", "virtual"])
    pairs = reach_pairs(engine, demand, svc, limit_min=30.0)
    assert set(pairs["service_id"]) == {"s1", "s2"}  # the virtual-only one has no pair
    assert (pairs["travel_min"] <= 30.0).all()
    nearest = nearest_service_times(engine, demand, svc, ("legal_support",))
    best = pairs.groupby("demand_id")["travel_min"].min()
    timed = nearest.dropna(subset=["travel_min"]).set_index("demand_id")["travel_min"]
    assert best.to_dict() == pytest.approx(timed[timed <= 30.0].to_dict())
