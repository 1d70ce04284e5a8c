"""Road graphs from every source in one contract: an OpenStreetMap file (the real Kouvola
extract and a hand-made one whose answers are known), Statistics Canada's Road Network File
(Ottawa), the King's Highways, and an osmnx download served from its cache. Travel times are
checked against networkx. No test touches the network: sockets are closed for this module."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmium
import pytest
import shapely

from gapmap.config import OSM_ZONE_SPEED_KPH, NetworkSettings, load_config
from gapmap.errors import ConfigError, NetworkError
from gapmap.network import RoadGraph, load_graph
from gapmap.sources.roads import (
    kings_highways_graph,
    osm_is_drivable,
    osmnx_cache_path,
    parse_maxspeed,
)
from gapmap.travel import Snap, TravelEngine

from .conftest import DATA, RAW, write_config

KOUVOLA = DATA / "kouvola_test.osm.pbf"
RNF_PIECE = DATA / "rnf_ottawa_piece.gpkg"
RNF_OTTAWA = RAW / "ottawa" / "roads_rnf2021.gpkg"
CONTRACT_EDGE_COLUMNS = {"u", "v", "length_m", "speed_kph", "travel_s", "road_class", "label",
                         "geometry"}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a connection fails loudly."""
    def refuse(*_a, **_k):
        raise OSError("tests must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _settings(**kw) -> NetworkSettings:
    return dataclasses.replace(NetworkSettings(), **kw)


def _check_contract(g: RoadGraph) -> None:
    assert list(g.nodes.index) == list(range(g.n_nodes))
    assert {"x", "y"} <= set(g.nodes.columns)
    assert g.nodes["x"].between(-180, 180).all() and g.nodes["y"].between(-90, 90).all()
    assert set(g.edges.columns) >= CONTRACT_EDGE_COLUMNS
    assert g.edges.crs.to_epsg() == 4326
    e = g.edges
    assert e["u"].between(0, g.n_nodes - 1).all() and e["v"].between(0, g.n_nodes - 1).all()
    assert (e["length_m"] > 0).all() and (e["speed_kph"] > 0).all()
    assert np.allclose(e["travel_s"], e["length_m"] / (e["speed_kph"] / 3.6))
    # each edge's geometry runs from its u node to its v node
    geom = np.asarray(e.geometry.values)
    start = shapely.get_coordinates(shapely.get_point(geom, 0))
    end = shapely.get_coordinates(shapely.get_point(geom, -1))
    xy = g.nodes[["x", "y"]].to_numpy()
    assert np.allclose(start, xy[e["u"]], atol=1e-4) and np.allclose(end, xy[e["v"]], atol=1e-4)


def _networkx(g: RoadGraph, weight: str = "travel_s") -> nx.DiGraph:
    nxg = nx.DiGraph()
    nxg.add_nodes_from(range(g.n_nodes))
    for u, v, w in g.edges[["u", "v", weight]].itertuples(index=False):
        if not nxg.has_edge(u, v) or nxg[u][v]["w"] > w:
            nxg.add_edge(int(u), int(v), w=float(w))
    return nxg


def _check_times_against_networkx(g: RoadGraph, n_targets: int, seed: int) -> np.ndarray:
    """gapmap's nearest-target times equal networkx's; unreachable is infinite, never 0."""
    engine = TravelEngine(g, NetworkSettings())
    rng = np.random.default_rng(seed)
    targets = rng.choice(g.n_nodes, n_targets, replace=False)
    snap = Snap(targets, np.zeros(n_targets), np.zeros(n_targets), np.zeros((n_targets, 2)),
                np.zeros((n_targets, 2)), np.ones(n_targets))
    ours, _ = engine.nearest_times(snap)
    ref = nx.multi_source_dijkstra_path_length(_networkx(g).reverse(),
                                               set(map(int, targets)), weight="w")
    reached = np.array([n in ref for n in range(g.n_nodes)])
    assert np.isinf(ours[~reached]).all()
    assert np.allclose(ours[reached], [ref[n] for n in np.nonzero(reached)[0]], atol=0.01)
    return ours


# -- maxspeed and tags ---------------------------------------------------------------------


@pytest.mark.parametrize(("value", "kph"), [
    ("80", 80.0), ("50 km/h", 50.0), ("30 mph", 30 * 1.609344), ("30mph", 30 * 1.609344),
    ("CA:urban", 50.0), ("CA:ON:rural", 80.0), ("FI:urban", 50.0), ("RU:motorway", 100.0),
    ("60;80", 60.0), (["70", "50"], 50.0), ("walk", 7.0),
    ("none", None), ("signals", None), ("variable", None), ("", None), (None, None),
    ("0", None), ("999", None), ("CA:unknown_zone", None),
])
def test_maxspeed_values(value, kph):
    got = parse_maxspeed(value, OSM_ZONE_SPEED_KPH)
    assert got == (pytest.approx(kph) if kph is not None else None)


@pytest.mark.parametrize(("tags", "drivable"), [
    ({"highway": "residential"}, True),
    ({"highway": "footway"}, False),
    ({"highway": "cycleway"}, False),
    ({"highway": "service"}, False),                 # not listed in osm_speed_kph by default
    ({"highway": "construction"}, False),
    ({"highway": "residential", "access": "private"}, False),
    ({"highway": "residential", "access": "private", "motor_vehicle": "yes"}, True),
    ({"highway": "residential", "motorcar": "no"}, False),
    ({"highway": "residential", "access": "destination"}, True),
    ({"highway": "pedestrian", "area": "yes"}, False),
    ({"highway": "residential", "area": "yes"}, False),
])
def test_drivable_ways(tags, drivable):
    assert osm_is_drivable(tags, NetworkSettings().osm_speed_kph) is drivable


# -- a hand-made OpenStreetMap file whose answers are known --------------------------------

_NODES = {  # id: (lon, lat), a row of nodes 0.001 deg (~70 m) apart near Ottawa
    i: (-75.700 + 0.001 * i, 45.400) for i in range(1, 13)}
_NODES.update({20: (-75.699, 45.401), 21: (-75.698, 45.401), 30: (-75.690, 45.402)})
_WAYS = [  # id, node ids, tags
    (101, [1, 2], {"highway": "residential", "oneway": "yes"}),
    (102, [2, 3], {"highway": "residential", "oneway": "-1"}),
    (103, [3, 4], {"highway": "tertiary", "junction": "roundabout"}),
    (104, [4, 5], {"highway": "motorway"}),                               # implied one-way
    (105, [5, 6], {"highway": "motorway", "oneway": "no"}),
    (106, [6, 7], {"highway": "residential", "maxspeed": "30 mph"}),
    (107, [7, 8], {"highway": "residential", "maxspeed": "CA:urban"}),
    (108, [8, 9], {"highway": "secondary", "maxspeed": "CA:ON:rural"}),
    (109, [9, 10], {"highway": "primary", "maxspeed": "60",
                    "maxspeed:forward": "70", "maxspeed:backward": "40"}),
    (110, [10, 11, 12], {"highway": "residential", "name": "Rue Principale"}),  # 11: bend
    (111, [2, 20, 21], {"highway": "footway"}),
    (112, [3, 21], {"highway": "residential", "access": "private"}),
    (113, [12, 30], {"highway": "unclassified", "oneway": "true"}),
]


def _write_osm_xml(path: Path, nodes=_NODES, ways=_WAYS) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for i, (lon, lat) in nodes.items():
        lines.append(f'  <node id="{i}" version="1" lat="{lat}" lon="{lon}"/>')
    for wid, refs, tags in ways:
        lines.append(f'  <way id="{wid}" version="1">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def handmade(tmp_path_factory) -> RoadGraph:
    path = _write_osm_xml(tmp_path_factory.mktemp("osm") / "handmade.osm")
    g = load_graph(_settings(source="osm_file", path=path, fragments="keep"))
    _check_contract(g)
    return g


def _edges_between(g: RoadGraph, a: int, b: int):
    """Directed edges from OSM node a to OSM node b."""
    pos = {int(o): i for i, o in enumerate(g.nodes["osmid"])}
    e = g.edges
    return e[(e["u"] == pos[a]) & (e["v"] == pos[b])]


def test_a_closed_way_attached_at_one_node_is_kept(tmp_path):
    """A crescent that leaves a street at node 1 and comes back to it: split at its middle
    vertex into two pieces, both driven, not dropped as a loop."""
    nodes = {1: (-75.700, 45.400), 2: (-75.698, 45.400), 40: (-75.700, 45.401),
             41: (-75.699, 45.402), 42: (-75.698, 45.401)}
    ways = [(201, [1, 2], {"highway": "residential"}),
            (202, [1, 40, 41, 42, 1], {"highway": "residential", "name": "Crescent"})]
    g = load_graph(_settings(source="osm_file",
                             path=_write_osm_xml(tmp_path / "crescent.osm", nodes, ways),
                             fragments="keep"))
    crescent = g.edges[g.edges["label"] == "Crescent"]
    assert len(crescent) == 4 and len(set(g.components())) == 1
    assert set(g.nodes["osmid"]) == {1, 2, 41}
    # the whole loop's length, as the two pieces add up to it
    loop = shapely.LineString([nodes[i] for i in (1, 40, 41, 42, 1)])
    assert crescent["length_m"].sum() / 2 == pytest.approx(
        _line_length_geodesic(loop), rel=1e-9)


def _line_length_geodesic(line) -> float:
    from pyproj import Geod

    return float(Geod(ellps="GRS80").geometry_length(line))


@pytest.mark.parametrize(("a", "b", "forward", "backward"), [
    (1, 2, True, False),     # oneway=yes
    (2, 3, False, True),     # oneway=-1: only against the drawing direction
    (3, 4, True, False),     # roundabout
    (4, 5, True, False),     # motorway: one-way unless tagged otherwise
    (5, 6, True, True),      # motorway with oneway=no
    (6, 7, True, True),      # untagged
    (12, 30, True, False),   # oneway=true
])
def test_one_way_rules(handmade, a, b, forward, backward):
    assert (len(_edges_between(handmade, a, b)) == 1) is forward
    assert (len(_edges_between(handmade, b, a)) == 1) is backward


@pytest.mark.parametrize(("a", "b", "kph"), [
    (6, 7, 30 * 1.609344),   # "30 mph"
    (7, 8, 50.0),            # CA:urban
    (8, 9, 80.0),            # CA:ON:rural
    (9, 10, 70.0),           # maxspeed:forward beats maxspeed
    (10, 9, 40.0),           # maxspeed:backward
    (4, 5, 100.0),           # motorway by class
    (3, 4, 60.0),            # tertiary by class
    (1, 2, 50.0),            # residential by class (Highway Traffic Act built-up default)
])
def test_speed_from_maxspeed_else_class(handmade, a, b, kph):
    assert _edges_between(handmade, a, b)["speed_kph"].iloc[0] == pytest.approx(kph)


def test_footways_and_private_roads_are_left_out_and_bends_are_not_nodes(handmade):
    osmids = set(handmade.nodes["osmid"])
    assert {20, 21}.isdisjoint(osmids)       # only on a footway and a private road
    assert 11 not in osmids                  # a bend inside one way is geometry, not a node
    bend = _edges_between(handmade, 10, 12)
    assert len(bend) == 1 and len(bend.geometry.iloc[0].coords) == 3
    assert bend["label"].iloc[0] == "Rue Principale"
    assert set(handmade.edges["road_class"]) == {
        "residential", "tertiary", "motorway", "secondary", "primary", "unclassified"}


def test_length_is_geodesic_along_the_geometry(handmade):
    bend = _edges_between(handmade, 10, 12)
    # two ~78.3 m steps along the parallel at 45.4 N
    assert bend["length_m"].iloc[0] == pytest.approx(2 * 78.34, rel=2e-3)


def test_one_way_street_makes_times_differ_by_direction(handmade):
    g = handmade
    pos = {int(o): i for i, o in enumerate(g.nodes["osmid"])}
    d = nx.single_source_dijkstra_path_length(_networkx(g), pos[1], weight="w")
    assert pos[2] in d                       # 1 -> 2 along the one-way street
    back = nx.single_source_dijkstra_path_length(_networkx(g), pos[2], weight="w")
    assert pos[1] not in back                # no way back


# -- the real Kouvola extract ---------------------------------------------------------------


@pytest.fixture(scope="module")
def kouvola() -> RoadGraph:
    g = load_graph(_settings(source="osm_file", path=KOUVOLA, fragments="keep"))
    _check_contract(g)
    return g


def _raw_highway_ways() -> list[tuple[int, dict[str, str]]]:
    fp = osmium.FileProcessor(str(KOUVOLA)).with_filter(osmium.filter.KeyFilter("highway"))
    return [(w.id, {t.k: t.v for t in w.tags}) for w in fp if w.is_way()]


def test_kouvola_drivable_ways_only(kouvola):
    raw = {t["highway"] for _, t in _raw_highway_ways()}
    assert {"cycleway", "footway", "path", "service", "track", "construction"} <= raw
    assert set(kouvola.edges["road_class"]) == {
        "motorway", "motorway_link", "secondary", "tertiary", "unclassified", "residential",
        "living_street"}
    assert kouvola.n_nodes == 275 and len(kouvola.edges) == 553
    assert (kouvola.nodes["osmid"] > 0).all() and kouvola.nodes["osmid"].is_unique


def test_kouvola_one_way_edges_in_one_direction_only(kouvola):
    e = kouvola.edges
    pairs = set(zip(e["u"], e["v"], strict=True))
    # every motorway and motorway_link way in the file is tagged oneway=yes
    ramps = e[e["road_class"].isin(["motorway", "motorway_link"])]
    assert len(ramps) == 21
    assert not any((v, u) in pairs for u, v in zip(ramps["u"], ramps["v"], strict=True))
    # two-way residential streets: both directions, same length and time
    res = e[e["road_class"] == "residential"]
    assert all((v, u) in pairs for u, v in zip(res["u"], res["v"], strict=True))
    # every edge of a way tagged oneway=yes runs one way; every other edge both ways
    one_way = {str(w) for w, t in _raw_highway_ways() if t.get("oneway") == "yes"}
    lone = [(v, u) not in pairs for u, v in zip(e["u"], e["v"], strict=True)]
    assert (e["source_id"].isin(one_way).to_numpy() == np.array(lone)).all()
    assert e["source_id"].isin(one_way).sum() == 61


def test_kouvola_speed_from_maxspeed_where_tagged():
    # the one way with a maxspeed: Hurukselantie, secondary, maxspeed=80. Slow the class
    # down: that way keeps its posted 80 while other secondary roads take the class speed.
    speeds = {**NetworkSettings().osm_speed_kph, "secondary": 45.0}
    g = load_graph(_settings(source="osm_file", path=KOUVOLA, fragments="keep",
                             osm_speed_kph=speeds))
    sec = g.edges[g.edges["road_class"] == "secondary"]
    posted = sec["label"] == "Hurukselantie"
    assert posted.any() and (sec.loc[posted, "speed_kph"] == 80.0).all()
    assert (sec.loc[~posted, "speed_kph"] == 45.0).all()


def test_kouvola_times_match_networkx_and_other_components_are_infinite(kouvola):
    comp = kouvola.components()
    assert len(set(comp)) == 7               # the extract cuts some streets off
    ours = _check_times_against_networkx(kouvola, 5, seed=3)
    assert np.isinf(ours).any()


def test_kouvola_fragments_dropped_by_default():
    g = load_graph(_settings(source="osm_file", path=KOUVOLA))
    assert g.n_nodes == 252 and len(set(g.components())) == 1
    _check_contract(g)


def test_osm_xml_and_pbf_of_the_same_data_give_the_same_graph(tmp_path):
    xml = tmp_path / "kouvola.osm"
    with osmium.SimpleWriter(str(xml)) as writer:
        for obj in osmium.FileProcessor(str(KOUVOLA)):
            writer.add(obj)
    a = load_graph(_settings(source="osm_file", path=KOUVOLA))
    b = load_graph(_settings(source="osm_file", path=xml))
    assert a.n_nodes == b.n_nodes and len(a.edges) == len(b.edges)
    assert np.allclose(np.sort(a.edges["travel_s"]), np.sort(b.edges["travel_s"]))


def test_missing_or_unreadable_osm_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_graph(_settings(source="osm_file", path=tmp_path / "nope.osm.pbf"))
    bad = tmp_path / "bad.osm"
    bad.write_text("this is not xml")
    with pytest.raises(NetworkError, match="bad.osm"):
        load_graph(_settings(source="osm_file", path=bad))


# -- Statistics Canada Road Network File ------------------------------------------------------


@pytest.fixture(scope="module")
def rnf_piece() -> RoadGraph:
    g = load_graph(_settings(source="rnf_file", path=RNF_PIECE, fragments="keep"))
    _check_contract(g)
    return g


def test_rnf_every_segment_is_two_way_with_its_speed(rnf_piece):
    e = rnf_piece.edges
    pairs = set(zip(e["u"], e["v"], strict=True))
    assert all((v, u) in pairs for u, v in zip(e["u"], e["v"], strict=True))
    speed = e.groupby("road_class")["speed_kph"].unique().map(lambda s: float(s[0]))
    assert speed["rank 5 class 23"] == 40.0      # local street
    assert speed["rank 4 class 21"] == 50.0      # arterial, by RANK 4
    assert speed["rank 2 class 21"] == 80.0
    assert speed["rank 1 class 12"] == 100.0     # Highway 417
    assert speed["rank 5 class 25"] == 50.0      # ramp, by CLASS
    assert not any(c.endswith("class 27") for c in speed.index)  # Transitway: buses only
    assert (e[e["label"] == "417"]["speed_kph"] == 100.0).all()


def test_rnf_lengths_match_the_file(rnf_piece):
    raw = gpd.read_file(RNF_PIECE)
    raw = raw[raw["CLASS"] != "27"]
    ends_differ = raw.geometry.apply(lambda g: g.coords[0] != g.coords[-1])
    # MTM zone 9 lengths are within its scale error of the geodesic ones
    assert rnf_piece.edges["length_m"].sum() / 2 == pytest.approx(
        raw[ends_differ].length.sum(), rel=2e-4)
    assert len(rnf_piece.edges) == 2 * int(ends_differ.sum())


def test_rnf_times_match_networkx(rnf_piece):
    _check_times_against_networkx(rnf_piece, 4, seed=7)


def test_rnf_speeds_are_configurable():
    g = load_graph(_settings(source="rnf_file", path=RNF_PIECE, rnf_class_speed_kph={},
                             rnf_rank_speed_kph={"1": 90.0, "2": 70.0, "3": 60.0, "4": 45.0,
                                                 "5": 30.0},
                             rnf_exclude_classes=()))
    speed = g.edges.groupby("road_class")["speed_kph"].first()
    assert speed["rank 1 class 12"] == 90.0 and speed["rank 5 class 25"] == 30.0
    assert speed["rank 5 class 27"] == 30.0


def test_rnf_full_ottawa_file_node_and_component_counts():
    """The PROVENANCE figures: exact endpoint matches give 23,787 nodes with 23,783 in one
    component; snapping at 1 m also joins one pair of Nicholas Street endpoints 0.51 m apart."""
    exact = load_graph(_settings(source="rnf_file", path=RNF_OTTAWA, fragments="keep",
                                 rnf_exclude_classes=(), node_snap_m=0.01))
    sizes = np.bincount(exact.components())
    assert exact.n_nodes == 23_787 and sizes.max() == 23_783 and len(sizes) == 3
    snapped = load_graph(_settings(source="rnf_file", path=RNF_OTTAWA, fragments="keep",
                                   rnf_exclude_classes=()))
    sizes = np.bincount(snapped.components())
    assert snapped.n_nodes == 23_786 and sizes.max() == 23_782 and len(sizes) == 3
    # 33,983 segments, 132 of them loops that start and end at one node
    assert len(snapped.edges) == 2 * (33_983 - 132)
    _check_contract(snapped)
    # the default: the Transitway left out, then only the main network kept
    default = load_graph(_settings(source="rnf_file", path=RNF_OTTAWA))
    assert default.n_nodes == 23_726 and len(set(default.components())) == 1
    assert default.edges["length_m"].sum() / 2 / 1000 == pytest.approx(7005, abs=1)


def test_rnf_without_rank_is_a_schema_error(tmp_path):
    lines = gpd.read_file(RNF_PIECE).drop(columns="RANK")
    path = tmp_path / "roads.gpkg"
    lines.to_file(path)
    with pytest.raises(ValueError, match="RANK"):
        load_graph(_settings(source="rnf_file", path=path))


# -- King's Highways -----------------------------------------------------------------------


def test_kings_highways_through_load_graph_is_the_joined_graph(ontario_config):
    g = load_graph(ontario_config.network)
    ref = kings_highways_graph(ontario_config.inputs.highways, ontario_config.network)
    assert (g.n_nodes, len(g.edges)) == (ref.n_nodes, len(ref.edges)) == (10_852, 21_852)
    assert len(set(g.components())) == 1
    kept = load_graph(dataclasses.replace(ontario_config.network, fragments="keep"))
    # before joining fragments: where the lines meet joins three of the six pieces
    assert len(set(kept.components())) == 3


# -- osmnx download, cached, tested without the network ----------------------------------------


def _overpass_json(path: Path) -> dict:
    """What Overpass would answer for the drivable ways of an OSM file (complete ways only)."""
    classes = NetworkSettings().osm_speed_kph
    nodes, ways = {}, []
    fp = osmium.FileProcessor(str(path)).with_locations()
    for o in fp:
        if o.is_way():
            tags = {t.k: t.v for t in o.tags}
            if not osm_is_drivable(tags, classes):
                continue
            if not all(n.location.valid() for n in o.nodes):
                continue
            refs = [n.ref for n in o.nodes]
            for n in o.nodes:
                nodes[n.ref] = {"type": "node", "id": n.ref, "lat": n.location.lat,
                                "lon": n.location.lon}
            ways.append({"type": "way", "id": o.id, "nodes": refs, "tags": tags})
    return {"elements": [*nodes.values(), *ways]}


@pytest.fixture(scope="module")
def overpass_answer() -> dict:
    return _overpass_json(KOUVOLA)


def _bbox_of(answer: dict) -> tuple[float, float, float, float]:
    lon = [e["lon"] for e in answer["elements"] if e["type"] == "node"]
    lat = [e["lat"] for e in answer["elements"] if e["type"] == "node"]
    return (min(lon) - 0.01, min(lat) - 0.01, max(lon) + 0.01, max(lat) + 0.01)


def test_osmnx_download_is_cached_and_the_next_run_needs_no_network(
        tmp_path, monkeypatch, overpass_answer):
    import osmnx

    calls = []

    def fake_download(polygon, network_type, custom_filter):
        calls.append(network_type)
        yield overpass_answer

    monkeypatch.setattr(osmnx._overpass, "_download_overpass_network", fake_download)
    settings = _settings(source="osmnx", bbox=_bbox_of(overpass_answer), cache_dir=tmp_path)
    cache = osmnx_cache_path(settings)
    assert not cache.exists()
    first = load_graph(settings)
    assert calls == ["drive"] and cache.is_file()
    _check_contract(first)
    assert (first.n_nodes, len(first.edges)) == (120, 239)

    def no_download(*_a, **_k):
        raise AssertionError("the cached graph must be used")

    monkeypatch.setattr(osmnx._overpass, "_download_overpass_network", no_download)
    second = load_graph(settings)
    assert (second.n_nodes, len(second.edges)) == (first.n_nodes, len(first.edges))
    assert np.allclose(second.edges["travel_s"], first.edges["travel_s"])
    assert list(tmp_path.glob("*.graphml")) == [cache]


def test_osmnx_graph_agrees_with_the_osm_file_reader(tmp_path, monkeypatch, overpass_answer):
    """The same ways through osmnx (simplified MultiDiGraph) and through the file reader:
    same road length, and the same shortest distances between the nodes both keep."""
    import osmnx

    monkeypatch.setattr(osmnx._overpass, "_download_overpass_network",
                        lambda *_a: iter([overpass_answer]))
    via_osmnx = load_graph(_settings(source="osmnx", bbox=_bbox_of(overpass_answer),
                                     cache_dir=tmp_path))
    elements = overpass_answer["elements"]
    nodes = {e["id"]: (e["lon"], e["lat"]) for e in elements if e["type"] == "node"}
    ways = [(e["id"], e["nodes"], e["tags"]) for e in elements if e["type"] == "way"]
    xml = _write_osm_xml(tmp_path / "same.osm", nodes, ways)
    via_file = load_graph(_settings(source="osm_file", path=xml))
    assert via_osmnx.edges["length_m"].sum() == pytest.approx(
        via_file.edges["length_m"].sum(), rel=1e-6)
    a, b = _networkx(via_osmnx, "length_m"), _networkx(via_file, "length_m")
    pos_a = {int(o): i for i, o in enumerate(via_osmnx.nodes["osmid"])}
    pos_b = {int(o): i for i, o in enumerate(via_file.nodes["osmid"])}
    common = sorted(set(pos_a) & set(pos_b))
    assert len(common) == 120   # osmnx also drops the nodes where two ways just meet
    for src in common[:5]:
        da = nx.single_source_dijkstra_path_length(a, pos_a[src], weight="w")
        db = nx.single_source_dijkstra_path_length(b, pos_b[src], weight="w")
        for n in common:
            assert (pos_a[n] in da) == (pos_b[n] in db)
            if pos_a[n] in da:
                assert da[pos_a[n]] == pytest.approx(db[pos_b[n]], rel=1e-6, abs=1e-3)


def test_osmnx_by_place_name_uses_the_geocoder_once(tmp_path, monkeypatch, overpass_answer):
    import osmnx

    looked_up = []

    def fake_geocode(query, which_result=None):
        looked_up.append(query)
        return gpd.GeoDataFrame(geometry=[shapely.box(*_bbox_of(overpass_answer))], crs=4326)

    monkeypatch.setattr(osmnx.geocoder, "geocode_to_gdf", fake_geocode)
    monkeypatch.setattr(osmnx._overpass, "_download_overpass_network",
                        lambda *_a: iter([overpass_answer]))
    settings = _settings(source="osmnx", place="Kouvola, Finland", cache_dir=tmp_path)
    g = load_graph(settings)
    assert looked_up == ["Kouvola, Finland"] and g.n_nodes == 120
    assert osmnx_cache_path(settings).name.startswith("osmnx_drive_kouvola-finland_")
    load_graph(settings)
    assert looked_up == ["Kouvola, Finland"]


def test_osmnx_without_network_or_cache_says_what_to_do(tmp_path, monkeypatch):
    # the no_network fixture refuses the connection osmnx tries to make; skip osmnx's wait
    # for a free Overpass slot (it waits 60 s when it cannot ask the server)
    import osmnx

    monkeypatch.setattr(osmnx._overpass, "_get_overpass_pause", lambda *_a, **_k: 0)
    settings = _settings(source="osmnx", bbox=(26.9, 60.8, 27.0, 60.9), cache_dir=tmp_path)
    with pytest.raises(NetworkError) as exc:
        load_graph(settings)
    msg = str(exc.value)
    assert "could not download" in msg and osmnx_cache_path(settings).name in msg
    assert not osmnx_cache_path(settings).exists()


# -- configuration -----------------------------------------------------------------------------


def _config(tmp_path, network: str):
    return write_config(tmp_path, [tmp_path / "x.csv"], extra=f"[network]\n{network}\n")


def test_network_settings_from_the_config(tmp_path):
    cfg = load_config(_config(tmp_path, f"""
source = "osm_file"
path = "{KOUVOLA}"
osm_speed_kph = {{ residential = 40, service = 20 }}
osm_zone_speed_kph = {{ urban = 40 }}
"""))
    n = cfg.network
    assert n.source == "osm_file" and n.path == KOUVOLA
    assert n.osm_speed_kph["residential"] == 40.0 and n.osm_speed_kph["service"] == 20.0
    assert n.osm_speed_kph["motorway"] == 100.0            # defaults kept
    assert n.osm_zone_speed_kph["urban"] == 40.0 and n.fragment_rule() == "drop"
    g = load_graph(n)
    assert "service" in set(g.edges["road_class"])         # listing a class makes it driven
    cfg = load_config(_config(tmp_path, 'source = "osmnx"\nbbox = [26.9, 60.8, 27.0, 60.9]'))
    assert cfg.network.bbox == (26.9, 60.8, 27.0, 60.9)
    assert cfg.network.cache_dir == cfg.outputs.interim_dir
    default = load_config(write_config(tmp_path, [tmp_path / "x.csv"]))
    assert default.network.source == "kings_highways"
    assert default.network.path == default.inputs.highways
    assert default.network.fragment_rule() == "join"


@pytest.mark.parametrize(("network", "words"), [
    ('source = "shapefile"', ["network.source", "kings_highways", "osm_file", "rnf_file"]),
    ('source = "osm_file"', ["network.path"]),
    ('source = "rnf_file"', ["network.path"]),
    ('source = "osm_file"\npath = "roads.gpkg"', ["roads.gpkg", ".osm.pbf"]),
    ('source = "osmnx"', ["network.place", "network.bbox"]),
    ('source = "osmnx"\nplace = "Ottawa"\nbbox = [1, 2, 3, 4]', ["exactly one"]),
    ('source = "osmnx"\nbbox = [27.0, 60.8, 26.9, 60.9]', ["network.bbox", "west < east"]),
    ('source = "osmnx"\nbbox = [26.9, 60.8]', ["network.bbox"]),
    ('place = "Ottawa"', ["network.place", "osmnx"]),
    ('fragments = "glue"', ["network.fragments", "join", "drop", "keep"]),
    ("rnf_rank_speed_kph = { 1 = \"fast\" }", ["rnf_rank_speed_kph", "1"]),
    ("osm_speed_kph = { residential = -5 }", ["osm_speed_kph", "residential", "> 0"]),
    ('rnf_exclude_classes = "27"', ["rnf_exclude_classes"]),
    ('sorce = "osm_file"', ["unknown key", "sorce"]),
])
def test_bad_network_settings_name_file_and_key(tmp_path, network, words):
    path = _config(tmp_path, network)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    msg = str(exc.value)
    assert str(path) in msg
    for w in words:
        assert w in msg
