"""Road lines that meet are joined: crossings between vertices and loose ends near a line
(the King's Highways file gives neither a shared vertex), tested by hand and on the file."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gapmap.config import Outputs
from gapmap.network import graph_from_lines, join_where_lines_meet

# at 45 N a degree of longitude is about 78.8 km, of latitude about 111.1 km
M_LON = 1 / 78_847.0
M_LAT = 1 / 111_132.0


def _lines(*geoms: shapely.LineString) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"cls": "a", "label": [f"L{i}" for i in range(len(geoms))]},
                            geometry=list(geoms), crs=4326)


def _components(lines: gpd.GeoDataFrame) -> int:
    g = graph_from_lines(lines, class_column="cls", speed_kph={"a": 60}, default_speed_kph=60,
                         node_snap_m=1.0)
    return len(set(g.components()))


def test_lines_crossing_between_vertices_get_a_common_node():
    a = shapely.LineString([(-80.0, 45.0), (-79.9, 45.0)])
    b = shapely.LineString([(-79.95, 44.95), (-79.95, 45.05)])
    lines = _lines(a, b)
    assert _components(lines) == 2  # as the file gives them: no shared vertex
    joined, joins = join_where_lines_meet(lines, end_within_m=140)
    assert _components(joined) == 1
    assert joins["kind"].tolist() == ["crossing"]
    assert joins.iloc[0][["lon", "lat"]].tolist() == pytest.approx([-79.95, 45.0], abs=3e-5)
    assert joins["gap_m"].tolist() == [0.0]
    # the lines keep their ends and their attributes; only a vertex is added
    assert [len(g.coords) for g in joined.geometry] == [3, 3]
    assert joined["label"].tolist() == ["L0", "L1"]


def test_a_loose_end_within_the_distance_is_carried_on_to_the_other_line():
    main = shapely.LineString([(-80.0, 45.0), (-79.9, 45.0)])
    gap = 60 * M_LAT  # a spur stopping 60 m short of the main line
    spur = shapely.LineString([(-79.95, 45.1), (-79.95, 45.0 + gap)])
    joined, joins = join_where_lines_meet(_lines(main, spur), end_within_m=140)
    assert _components(joined) == 1
    assert joins["kind"].tolist() == ["end"]
    assert joins["gap_m"].iloc[0] == pytest.approx(60, abs=3)  # straight in degrees, not in Lambert
    # the spur now ends on the main line, at its nearest point
    assert joined.geometry.iloc[1].coords[-1] == pytest.approx((-79.95, 45.0), abs=3e-5)
    # farther than the distance: left alone
    far = shapely.LineString([(-79.95, 45.1), (-79.95, 45.0 + 200 * M_LAT)])
    joined, joins = join_where_lines_meet(_lines(main, far), end_within_m=140)
    assert _components(joined) == 2 and joins.empty


def test_the_two_ends_of_a_gap_are_bridged_once_and_an_overshoot_not_at_all():
    west = shapely.LineString([(-80.0, 45.0), (-79.95, 45.0)])
    east = shapely.LineString([(-79.95 + 70 * M_LON, 45.0), (-79.9, 45.0)])
    joined, joins = join_where_lines_meet(_lines(west, east), end_within_m=140)
    assert len(joins) == 1 and _components(joined) == 1
    assert joins["gap_m"].iloc[0] == pytest.approx(70, abs=1)
    # a line that crosses another and stops 30 m beyond it: joined at the crossing only
    main = shapely.LineString([(-80.0, 45.0), (-79.9, 45.0)])
    over = shapely.LineString([(-79.95, 45.1), (-79.95, 45.0 - 30 * M_LAT)])
    joined, joins = join_where_lines_meet(_lines(main, over), end_within_m=140)
    assert joins["kind"].tolist() == ["crossing"] and _components(joined) == 1


def test_kings_highways_junctions_bring_brampton_within_reach(ontario_config, tmp_path):
    """The default run on the shipped files: Brampton's tracts that were routed through
    Orangeville now reach sexual-assault care within 60 min, and no census tract of
    Toronto, Peel, York, Halton or Durham is more than 90 min from any need."""
    from gapmap.io import read_parquet
    from gapmap.pipeline import STAGES, StagePaths

    cfg = replace(ontario_config, outputs=Outputs(tmp_path / "i", tmp_path / "p",
                                                  tmp_path / "m"))
    for stage in ("ingest", "geocode", "regions", "demand", "network", "travel"):
        STAGES[stage](cfg)
    p = StagePaths.of(cfg)
    travel = read_parquet(p.travel).merge(
        read_parquet(p.demand)[["demand_id", "cduid", "kind"]], on="demand_id")
    sa = travel[travel["need_type"] == "sexual_assault_care"].set_index("demand_id")
    for tract in ("ct-5350586.03", "ct-5350585.02"):
        assert sa.at[tract, "travel_min"] <= 60, tract
    gta = travel[travel["cduid"].isin(["3518", "3519", "3520", "3521", "3524"])
                 & (travel["kind"] == "tract")]
    assert len(gta) > 1000 * 14
    slow = gta[~(gta["travel_min"] <= 90)]
    assert slow.empty, slow[["demand_id", "need_type", "travel_min"]].head().to_string()
    assert np.isfinite(gta["travel_min"]).all()


PLACES = {  # (lon, lat); Lambert's scale there runs from 1.031 (Windsor) to 0.992 (Moosonee)
    "Windsor": (-83.03, 42.31), "Toronto": (-79.38, 43.65),
    "Thunder Bay": (-89.25, 48.38), "Moosonee": (-80.65, 51.27)}


def _geodesic(a, b) -> float:
    from pyproj import Geod

    return float(abs(Geod(ellps="GRS80").inv(a[0], a[1], b[0], b[1])[2]))


@pytest.mark.parametrize("place", list(PLACES))
def test_connector_lengths_are_true_on_the_ground(place):
    """A point 12 km north-east of the road's end joins it by its geodesic length: within
    0.5 % (in fact to the millimetre), whatever Lambert's scale there."""
    from gapmap.config import NetworkSettings
    from gapmap.travel import TravelEngine, connector_seconds

    lon, lat = PLACES[place]
    road = _lines(shapely.LineString([(lon - 0.5, lat), (lon, lat)]))
    graph = graph_from_lines(road, class_column="cls", speed_kph={"a": 80},
                             default_speed_kph=80, node_snap_m=1.0)
    settings = NetworkSettings()
    engine = TravelEngine(graph, settings)
    pt = (lon + 0.1, lat + 0.06)
    snap = engine.snap(gpd.GeoSeries([shapely.Point(pt)], crs=4326))
    true_m = _geodesic(pt, (lon, lat))
    assert snap.snap_m[0] == pytest.approx(true_m, rel=0.005)
    assert snap.snap_m[0] == pytest.approx(true_m, abs=1e-3)
    assert snap.connector_s[0] == pytest.approx(connector_seconds(true_m, settings))


def test_the_local_route_limit_is_measured_on_the_ground_at_windsor():
    """At Windsor Lambert draws 25 km as 25.8 km: a service 24.9 km away on the ground is
    reached by the local route, one 25.1 km away is not."""
    from gapmap.config import NetworkSettings
    from gapmap.travel import TravelEngine, travel_time_matrix

    lon, lat = PLACES["Windsor"]
    road = _lines(shapely.LineString([(lon, lat - 0.6), (lon + 0.01, lat - 0.6)]))
    graph = graph_from_lines(road, class_column="cls", speed_kph={"a": 80},
                             default_speed_kph=80, node_snap_m=1.0)
    engine = TravelEngine(graph, NetworkSettings())  # local_route_km = 25
    per_km = 1 / 111.05  # degrees of latitude per km, near enough here
    near, far = (lon, lat + 24.9 * per_km), (lon, lat + 25.1 * per_km)
    assert _geodesic((lon, lat), near) < 25_000 < _geodesic((lon, lat), far)
    demand = gpd.GeoDataFrame({"demand_id": ["d"], "access": "road"},
                              geometry=[shapely.Point(lon, lat)], crs=4326)
    services = gpd.GeoDataFrame({"service_id": ["near", "far"], "need_types": "counselling",
                                 "geocode_precision": "exact"},
                                geometry=[shapely.Point(near), shapely.Point(far)], crs=4326)
    m = travel_time_matrix(engine, demand, services)
    assert m.route_local[0].tolist() == [True, False]


def test_the_kings_highways_graph_lists_its_joins(ontario_config):
    from gapmap.network import load_graph

    g = load_graph(ontario_config.network)
    assert g.joins is not None and list(g.joins.columns) == ["kind", "line", "other_line",
                                                             "lon", "lat", "gap_m"]
    kinds = g.joins["kind"].value_counts().to_dict()
    assert kinds == {"crossing": 17, "end": 7}
    assert (g.joins["gap_m"] <= 140).all()
    crossing = g.joins[g.joins["kind"] == "crossing"]
    pairs = {frozenset((a.split()[-1], b.split()[-1]))
             for a, b in zip(crossing["line"], crossing["other_line"], strict=True)}
    for pair in ({"10", "7"}, {"400", "407"}, {"401", "403"}, {"427", "407"}, {"404", "407"},
                 {"89", "400"}):
        assert frozenset(pair) in pairs, pair


def test_the_network_stage_records_each_join(small_config):
    import json

    from gapmap.pipeline import STAGES

    message = STAGES["network"](small_config)
    assert "17 crossings" in message and "7 ends" in message
    record = json.loads((small_config.outputs.interim_dir / "network.json").read_text())
    assert record["summary"]["joins"] == {"crossing": 17, "end": 7}
    listed = record["summary"]["join_list"]
    assert len(listed) == 24 and set(listed[0]) == {"kind", "line", "other_line", "lon", "lat",
                                                    "gap_m"}


def test_the_join_distance_is_a_setting(ontario_config):
    from gapmap.network import load_graph

    net = ontario_config.network
    near = load_graph(replace(net, join_lines_within_m=20)).joins
    assert near is not None
    ends = near[near["kind"] == "end"]
    assert (near["kind"] == "crossing").sum() == 17
    # within 20 m: 406 ends on the QEW itself, 403 stops 15.5 m short of it
    assert sorted(ends["line"]) == ["Highway 403", "Highway 406"]
    assert (ends["gap_m"] <= 20).all()
    # 0: crossings only (406's end lies 4 cm off the QEW)
    exact = load_graph(replace(net, join_lines_within_m=0)).joins
    assert exact is not None and set(exact["kind"]) == {"crossing"}
