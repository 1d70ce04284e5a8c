"""Catchments: polygons whose extent is known by hand, one-way roads, determinism, nesting,
and the honest treatment of services off the road network or in fly-in communities."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.ops import substring

from gapmap.catchments import CatchmentBuilder, _substrings, need_catchments, service_catchments
from gapmap.config import NetworkSettings
from gapmap.network import graph_from_lines, lambert_scale, load_graph
from gapmap.sources.roads import kings_highways_graph
from gapmap.travel import SourceGraph, TravelEngine

from .conftest import DATA, RAW

RNF_PIECE = DATA / "rnf_ottawa_piece.gpkg"

SETTINGS = NetworkSettings()
BANDS = [15, 30, 60, 120]


def _road(coords, *, two_way=True, speed=60.0):
    lines = gpd.GeoDataFrame({"cls": ["a"]}, geometry=[shapely.LineString(coords)], crs=4326)
    return graph_from_lines(lines, class_column="cls", speed_kph={"a": speed},
                            default_speed_kph=speed, node_snap_m=1.0, two_way=two_way)


def _services(lonlats, ids=None, **cols):
    ids = ids or [f"s{i}" for i in range(len(lonlats))]
    base = {"service_id": ids, "need_types": "counselling", "geocode_precision": "exact"}
    base.update(cols)
    return gpd.GeoDataFrame(base, geometry=[shapely.Point(x, y) for x, y in lonlats], crs=4326)


def _in_3347(gdf):
    return gdf.to_crs(3347).geometry.to_numpy()


def test_a_straight_road_reached_for_15_of_its_39_km():
    # 0.5 degrees of longitude at 45 N, about 39.4 km at 60 km/h; the service at the west end
    g = _road([(-80, 45), (-79.5, 45)])
    engine = TravelEngine(g, SETTINGS)
    builder = CatchmentBuilder(engine, buffer_m=100, simplify_m=0)
    out = service_catchments(engine, _services([(-80, 45)]), BANDS, builder=builder,
                             local_roads=False)
    poly = dict(zip(out["threshold_min"], _in_3347(out), strict=True))
    road_m = g.edges["length_m"].iloc[0]
    assert road_m == pytest.approx(39_400, rel=0.01)
    # lengths on the Lambert map are a little longer than on the ground at 45 N
    map_m = _in_3347(g.edges.iloc[:1])[0].length

    def band(km):  # a piece of the road, buffered 100 m either side and at the ends
        return km * 1000 / road_m * map_m * 200 + np.pi * 100**2

    # 15 min at 60 km/h: the first 15 km of road
    start = _in_3347(_services([(-80, 45)]))[0]
    reach = shapely.get_coordinates(poly[15]) - [start.x, start.y]
    assert np.hypot(*reach.T).max() == pytest.approx(15_000 / road_m * map_m + 100, abs=2)
    assert poly[15].area == pytest.approx(band(15), rel=0.002)
    # 30 min: 30 km; 60 min and more: the whole road, and no further
    assert poly[30].area == pytest.approx(band(30), rel=0.002)
    assert poly[60].area == pytest.approx(band(road_m / 1000), rel=0.002)
    assert poly[120].equals(poly[60])
    assert out["area_km2"].iloc[0] == pytest.approx(poly[15].area / 1e6, rel=1e-3)


def test_one_way_road_is_reached_only_from_upstream():
    # a -> b only: to reach a service at b you drive from a's side; nobody reaches one at a
    g = _road([(-80, 45), (-79.5, 45)], two_way=False)
    engine = TravelEngine(g, SETTINGS)
    builder = CatchmentBuilder(engine, buffer_m=100, simplify_m=0)
    at_b = service_catchments(engine, _services([(-79.5, 45)]), [15], builder=builder,
                              local_roads=False)
    map_m = _in_3347(g.edges.iloc[:1])[0].length
    expected = 15_000 / g.edges["length_m"].iloc[0] * map_m * 200 + np.pi * 100**2
    assert _in_3347(at_b)[0].area == pytest.approx(expected, rel=0.002)
    at_a = service_catchments(engine, _services([(-80, 45)]), [15], builder=builder,
                              local_roads=False)
    assert at_a["area_km2"].iloc[0] == 0 and at_a.geometry.iloc[0] is None


def test_local_road_disc_and_its_cap():
    s = SETTINGS
    g = _road([(-80, 45), (-79.5, 45)])
    engine = TravelEngine(g, s)
    out = service_catchments(engine, _services([(-80, 45)]), BANDS)
    poly = dict(zip(out["threshold_min"], _in_3347(out), strict=True))
    r15 = 15 * 60 * (s.connector_speed_kph / 3.6) / s.connector_circuity  # 11.5 km
    assert poly[15].area >= np.pi * r15**2 * 0.99
    # the disc stops at the local-route limit: 25 km on the ground, which Lambert draws
    # 1.7 % larger at 45 N
    cap = s.local_route_km * 1000
    x0, y0, x1, y1 = poly[120].bounds
    assert (y1 - y0) == pytest.approx(2 * cap * lambert_scale(-80, 45), rel=0.002)
    assert lambert_scale(-80, 45) == pytest.approx(1.017, abs=0.001)


def test_local_disc_follows_local_route_km_not_the_estimate_limit():
    g = _road([(-80, 45), (-79.5, 45)])

    def polygon(local_roads=True, **settings):
        engine = TravelEngine(g, replace(SETTINGS, **settings))
        out = service_catchments(engine, _services([(-80, 45)]), [120],
                                 local_roads=local_roads)
        return _in_3347(out)[0]

    def height_km(geom):
        x0, y0, x1, y1 = geom.bounds
        return (y1 - y0) / 1000

    drawn = 20 * lambert_scale(-80, 45)  # 20 km across on the ground
    assert height_km(polygon(local_route_km=10)) == pytest.approx(drawn, rel=0.002)
    # the estimate limit does not move the disc
    assert height_km(polygon(local_route_km=10, estimate_beyond_km=3)) == pytest.approx(
        drawn, rel=0.002)
    # 0: no disc, only the band along the road
    network_only = polygon(local_roads=False)
    assert height_km(network_only) < 10
    assert polygon(local_route_km=0).equals(network_only)


def test_service_beyond_the_road_network_has_only_its_local_disc():
    g = _road([(-85, 46), (-84, 46)], speed=80)
    engine = TravelEngine(g, SETTINGS)
    far = _services([(-84.5, 47.5)], ids=["far"])  # ~167 km north of the road
    out = service_catchments(engine, far, [15, 60])
    assert (out["basis"] == "local_only").all()
    assert (out["snap_access"] == "beyond_road_network").all()
    geoms = _in_3347(out)
    centre = _in_3347(far)[0]
    for geom in geoms:
        assert geom.distance(centre) == 0
        assert shapely.get_num_geometries(geom) == 1  # one disc, no road
    drawn_m = 25_000 * lambert_scale(-84.5, 47.5)  # 25 km on the ground
    assert geoms[1].area == pytest.approx(np.pi * drawn_m**2, rel=0.002)


def test_fly_in_service_gets_no_catchment_but_a_flagged_row():
    g = _road([(-85, 46), (-84, 46)], speed=80)
    engine = TravelEngine(g, SETTINGS)
    svc = _services([(-84.5, 46.05), (-84.6, 46.0)], ids=["fly-in", "town"],
                    access=["no_all_season_road", "road"])
    out = service_catchments(engine, svc, [30])
    row = out.set_index("service_id").loc["fly-in"]
    assert row["basis"] == "no_all_season_road" and row["geometry"] is None
    assert row["area_km2"] == 0
    union = need_catchments(engine, svc, ("counselling",), [30])
    assert union["n_services"].tolist() == [1]


@pytest.fixture(scope="module")
def highways():
    g = kings_highways_graph(RAW / "gpl-3.0/highways_kings_fpa.geojson", SETTINGS)
    return TravelEngine(g, SETTINGS)


SUDBURY_NORTHBAY_OTTAWA = [(-80.99, 46.49), (-79.46, 46.31), (-75.70, 45.42)]


def test_same_input_gives_identical_polygons(highways):
    svc = _services(SUDBURY_NORTHBAY_OTTAWA)
    a = service_catchments(highways, svc, BANDS)
    b = service_catchments(highways, svc.copy(), BANDS, builder=CatchmentBuilder(highways),
                           workers=2)
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    assert list(shapely.to_wkb(a.geometry.to_numpy())) == list(
        shapely.to_wkb(b.geometry.to_numpy()))
    needs = ("counselling", "housing", "legal_support")
    svc["need_types"] = ["counselling", "counselling;legal_support", "legal_support"]
    c = need_catchments(highways, svc, needs, BANDS)
    d = need_catchments(highways, svc, needs, BANDS, workers=2)
    assert c.drop(columns="geometry").equals(d.drop(columns="geometry"))
    assert c["n_services"].tolist() == [2] * 4 + [0] * 4 + [2] * 4
    assert list(shapely.to_wkb(c.geometry.to_numpy())) == list(
        shapely.to_wkb(d.geometry.to_numpy()))


def test_bands_are_nested_and_the_need_union_covers_each_service(highways):
    svc = _services(SUDBURY_NORTHBAY_OTTAWA)
    out = service_catchments(highways, svc, BANDS)
    union = need_catchments(highways, svc, ("counselling", "housing"), BANDS)
    assert union[union["need_type"] == "housing"]["area_km2"].eq(0).all()
    for sid, rows in out.groupby("service_id"):
        geoms = _in_3347(rows.sort_values("threshold_min"))
        for small, big in zip(geoms[:-1], geoms[1:], strict=True):
            assert small.difference(big).area <= 1e-6 * small.area, sid
        assert rows["area_km2"].is_monotonic_increasing
    couns = union[union["need_type"] == "counselling"].set_index("threshold_min")
    for band in BANDS:
        u = _in_3347(gpd.GeoDataFrame(couns.loc[[band]], crs=4326))[0]
        for geom in _in_3347(out[out["threshold_min"] == band]):
            assert geom.difference(u).area <= 1e-4 * geom.area
    # the network carries the catchment well beyond the 25 km local disc within 120 min
    big = out[out["threshold_min"] == 120]["area_km2"]
    assert (big > np.pi * 25**2 * 1.05).all()


def _assert_tiled_equals_direct(engine, svc, bands, cell_m):
    """The polygon assembled from cells is the one from dissolving every reached road, and
    the case exercises both kinds of cell (wholly reached, and on the catchment's edge).

    Equal to rounding: the edge part is kept only in the edge cells. Where the bands of the
    edge's roads spilled into full cells they stuck out of the whole network by square
    metres (a bend in a merged line is drawn with other arc segments than two road ends
    meeting there): 6e-6 of a city catchment, 3e-7 on the highways. Cut from the whole
    network (``near_whole``), where the round end of a road's piece sticks out of the whole
    network's band the polygon leaves it out: 5.5 m², 2e-6 of a city catchment at 1.95 min."""
    tiled = CatchmentBuilder(engine, cell_m=cell_m, direct_up_to=0, near_whole=0)
    direct = service_catchments(engine, svc, bands, local_roads=False,
                                builder=CatchmentBuilder(engine, cell_m=0))
    other = service_catchments(engine, svc, bands, local_roads=False, builder=tiled)
    # and every catchment cut from the whole network instead (the way for nearly all of it)
    cut = service_catchments(engine, svc, bands, local_roads=False,
                             builder=CatchmentBuilder(engine, cell_m=cell_m, direct_up_to=0,
                                                      near_whole=1))
    for a, b, c in zip(_in_3347(direct), _in_3347(other), _in_3347(cut), strict=True):
        assert a.area > 0
        assert a.symmetric_difference(b).area <= 1e-9 * a.area
        assert a.symmetric_difference(c).area <= 1e-5 * a.area
    kinds = set()
    graph = SourceGraph(engine, engine.snap(svc))
    for k in range(len(svc)):
        node_s = graph.nearest(np.array([k]))[0]
        for band in bands:
            whole, partly, _ = tiled._reach(node_s, band * 60)
            full, frontier = tiled.cells.classify(whole, whole | partly)
            kinds |= {"full"} if full.any() else set()
            kinds |= {"frontier"} if frontier.any() else set()
    assert kinds == {"full", "frontier"}


def test_tiled_and_direct_polygons_agree_on_the_highways(highways):
    svc = _services(SUDBURY_NORTHBAY_OTTAWA[:2])
    _assert_tiled_equals_direct(highways, svc, [60, 240, 600], cell_m=20_000)


def test_tiled_and_direct_polygons_agree_on_city_streets():
    # 594 curved RNF segments of central Ottawa, 300 m cells, bands reaching part of it
    g = load_graph(replace(SETTINGS, source="rnf_file", path=RNF_PIECE,
                                       fragments="keep"))
    engine = TravelEngine(g, SETTINGS)
    svc = _services([(-75.695, 45.42), (-75.70, 45.415), (-75.69, 45.425)])
    _assert_tiled_equals_direct(engine, svc, [1, 1.95, 2, 4], cell_m=300)


def test_cell_size_is_chosen_from_the_network_and_checked(highways):
    auto = CatchmentBuilder(highways)
    assert auto.cell_m >= 5 * auto.buffer_m
    assert auto.cells.n_cells > 1
    with pytest.raises(ValueError, match="cell_m"):
        CatchmentBuilder(highways, cell_m=-1)


def test_a_band_reaching_the_whole_network_is_the_whole_network(highways):
    # 100 hours from Sudbury reach every King's Highway: the polygon is the network's band,
    # converted once and shared by every such row, the same as converting it row by row
    svc = _services(SUDBURY_NORTHBAY_OTTAWA)
    builder = CatchmentBuilder(highways)
    node_s = SourceGraph(highways, highways.snap(svc)).nearest(np.array([0]))[0]
    assert builder.network_polygon(node_s, 6000 * 60) is builder.whole_network()
    out = service_catchments(highways, svc, [60, 6000], local_roads=False, builder=builder)
    big = out[out["threshold_min"] == 6000]
    alone = gpd.GeoSeries([builder.whole_network()], crs=3347).to_crs(4326).normalize()
    assert (shapely.to_wkb(big.geometry.to_numpy()) == shapely.to_wkb(alone.iloc[0])).all()
    assert big["area_km2"].tolist() == [builder.whole_network().area / 1e6] * 3
    direct = service_catchments(highways, svc, [6000], local_roads=False,
                                builder=CatchmentBuilder(highways, cell_m=0))
    for a, b in zip(_in_3347(direct), _in_3347(big), strict=True):
        assert a.symmetric_difference(b).area <= 1e-6 * a.area


def test_pieces_of_curved_roads_are_shapely_substrings():
    # every curved RNF segment of central Ottawa, cut from one end or the other at random
    g = load_graph(replace(SETTINGS, source="rnf_file", path=RNF_PIECE, fragments="keep"))
    roads = CatchmentBuilder(TravelEngine(g, SETTINGS)).roads
    lines = roads.geom[~roads.straight]
    assert len(lines) > 100
    rng = np.random.default_rng(7)
    from_a = rng.random(len(lines)) < 0.5
    cut = rng.random(len(lines))
    s0, s1 = np.where(from_a, 0.0, cut), np.where(from_a, cut, 1.0)
    s0[:3], s1[:3] = 0.0, 1.0  # whole roads too
    expected = [substring(line, a, b, normalized=True)
                for line, a, b in zip(lines, s0, s1, strict=True)]
    assert list(shapely.to_wkb(_substrings(lines, s0, s1))) == list(shapely.to_wkb(expected))


@pytest.mark.parametrize("tol", [0.0, 2.0, 10.0])
def test_curved_roads_are_simplified_once_within_the_tolerance_and_keep_their_ends(tol):
    g = load_graph(replace(SETTINGS, source="rnf_file", path=RNF_PIECE, fragments="keep"))
    engine = TravelEngine(g, SETTINGS)
    exact = CatchmentBuilder(engine, simplify_m=0).roads
    roads = CatchmentBuilder(engine, simplify_m=tol).roads
    curved = ~exact.straight
    a, b = exact.geom[curved], roads.geom[curved]
    # the ends stay on the graph's nodes, so that pieces and whole roads meet there
    assert np.allclose(shapely.get_coordinates(shapely.get_point(b, 0)), exact.xy_a[curved])
    assert np.allclose(shapely.get_coordinates(shapely.get_point(b, -1)), exact.xy_b[curved])
    assert shapely.hausdorff_distance(a, b).max() <= tol + 1e-9
    n_a, n_b = shapely.get_num_coordinates(a).sum(), shapely.get_num_coordinates(b).sum()
    assert (n_b == n_a) if tol == 0 else (n_b < 0.9 * n_a)


def test_bands_are_nested_on_city_streets():
    # a road end's round band (2 segments a quarter circle) can stick out of the next band
    # where that band draws the same place with other arc segments: square metres
    g = load_graph(replace(SETTINGS, source="rnf_file", path=RNF_PIECE, fragments="keep"))
    engine = TravelEngine(g, SETTINGS)
    svc = _services([(-75.695, 45.42), (-75.70, 45.415), (-75.69, 45.425)])
    bands = [1, 1.5, 2, 2.5, 3]
    out = service_catchments(engine, svc, bands, local_roads=False)
    worst = 0.0
    for _, rows in out.groupby("service_id"):
        geoms = _in_3347(rows.sort_values("threshold_min"))
        assert all(g.area > 0 for g in geoms)
        for small, big in zip(geoms[:-1], geoms[1:], strict=True):
            assert big.area >= small.area
            worst = max(worst, small.difference(big).area / small.area)
    # here to rounding (2.5e-13); over all of Ottawa slivers reach about 300 m², 1e-4
    assert worst <= 1e-6, worst
