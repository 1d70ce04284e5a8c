"""The travel engine: the virtual-source graph, the demand x services matrix against
networkx, limits, and infinity (never 0) where there is no path."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from gapmap.config import NetworkSettings
from gapmap.sources.roads import kings_highways_graph
from gapmap.travel import (
    Snap,
    TravelEngine,
    connector_seconds,
    nearest_service_times,
    travel_time_matrix,
)

from .conftest import RAW, two_disconnected_roads

SETTINGS = NetworkSettings()


@pytest.fixture(scope="module")
def highways():
    g = kings_highways_graph(RAW / "gpl-3.0/highways_kings_fpa.geojson", SETTINGS)
    return TravelEngine(g, SETTINGS)


def _nx_reversed(engine: TravelEngine) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(engine.n))
    for u, v, w in engine.graph.edges[["u", "v", "travel_s"]].itertuples(index=False):
        if not g.has_edge(int(v), int(u)) or g[int(v)][int(u)]["w"] > w:
            g.add_edge(int(v), int(u), w=max(float(w), 1e-3))
    return g


def _random_points(engine, k, seed, spread_deg=0.3):
    rng = np.random.default_rng(seed)
    nodes = engine.graph.nodes.iloc[rng.choice(engine.n, k, replace=False)]
    x = nodes["x"].to_numpy() + rng.uniform(-spread_deg, spread_deg, k)
    y = nodes["y"].to_numpy() + rng.uniform(-spread_deg, spread_deg, k)
    return gpd.GeoSeries(gpd.points_from_xy(x, y), crs=4326)


def test_virtual_sources_with_offsets_match_networkx(highways):
    rng = np.random.default_rng(3)
    k = 15
    nodes = rng.choice(highways.n, k, replace=False)
    offsets = rng.uniform(0, 1800, k)
    snap = Snap(nodes, np.zeros(k), offsets, np.zeros((k, 2)), np.zeros((k, 2)), np.ones(k))
    graph = highways.sources(snap)
    rev = _nx_reversed(highways)
    pick = np.zeros(k, dtype=bool)
    pick[[1, 4, 5, 11]] = True
    ours, which = graph.nearest(pick)
    # networkx: a super-source with an edge to each chosen node weighted by its offset
    rev.add_node("src")
    for i in np.nonzero(pick)[0]:
        rev.add_edge("src", int(nodes[i]), w=max(offsets[i], 1e-3))
    ref = nx.single_source_dijkstra_path_length(rev, "src", weight="w")
    expected = np.array([ref.get(n, np.inf) for n in range(highways.n)])
    assert np.allclose(ours, expected, atol=0.01, rtol=0)
    assert set(which[np.isfinite(ours)]) <= set(np.nonzero(pick)[0])
    # the reported service really gives that time
    own = {i: nx.single_source_dijkstra_path_length(rev, int(nodes[i]), weight="w")
           for i in np.nonzero(pick)[0]}
    for n in rng.choice(highways.n, 50, replace=False):
        i = which[n]
        assert own[i][n] + max(offsets[i], 1e-3) == pytest.approx(ours[n], abs=0.01)


def test_matrix_matches_networkx_and_the_nearest_times(highways):
    demand = gpd.GeoDataFrame({"demand_id": [f"d{i}" for i in range(40)], "access": "road"},
                              geometry=_random_points(highways, 40, 1))
    services = gpd.GeoDataFrame({"service_id": [f"s{i}" for i in range(12)],
                                 "need_types": "counselling", "geocode_precision": "exact"},
                                geometry=_random_points(highways, 12, 2, 0.05))
    m = travel_time_matrix(highways, demand, services)
    assert m.travel_min.shape == (40, 12)
    rev = _nx_reversed(highways)
    d_snap, s_snap = highways.snap(demand), highways.snap(services)
    for j in range(12):
        ref = nx.single_source_dijkstra_path_length(rev, int(s_snap.node[j]), weight="w")
        net = np.array([ref.get(int(n), np.inf) for n in d_snap.node])
        net = net + d_snap.connector_s + max(s_snap.connector_s[j], 1e-3)
        d_pts, s_pt = demand.geometry, services.geometry.iloc[j]
        straight = np.abs(Geod(ellps="GRS80").inv(
            d_pts.x.to_numpy(), d_pts.y.to_numpy(), np.full(len(d_pts), s_pt.x),
            np.full(len(d_pts), s_pt.y))[2])
        local = np.where(straight <= SETTINGS.local_route_km * 1000,
                         connector_seconds(straight, SETTINGS), np.inf)
        assert np.allclose(m.travel_min[:, j], np.minimum(net, local) / 60, atol=1e-4)
    nearest = nearest_service_times(highways, demand, services, ("counselling",))
    assert np.allclose(nearest["travel_min"], m.travel_min.min(axis=1), atol=1e-6)
    best = m.service_id[np.argmin(m.travel_min, axis=1)]
    assert (nearest["service_id"].to_numpy() == best).all()
    long = m.to_frame()
    assert len(long) == np.isfinite(m.travel_min).sum()
    assert set(long["route"]) <= {"network", "local"}


def test_each_need_gets_the_nearest_of_its_own_services_by_road_or_local_route(highways):
    # services close together (many within the 25 km local route of a demand point), each
    # offering one to three of four needs: the per-need pass must agree with the matrix's
    # minimum over that need's own services, time, service and route alike
    rng = np.random.default_rng(11)
    needs = ("a", "b", "c", "d")
    offer = [";".join(rng.choice(needs, rng.integers(1, 4), replace=False)) for _ in range(30)]
    services = gpd.GeoDataFrame({"service_id": [f"s{i}" for i in range(30)],
                                 "need_types": offer, "geocode_precision": "exact"},
                                geometry=_random_points(highways, 30, 12, 0.1))
    demand = gpd.GeoDataFrame({"demand_id": [f"d{i}" for i in range(200)], "access": "road"},
                              geometry=_random_points(highways, 200, 13, 0.2))
    m = travel_time_matrix(highways, demand, services)
    table = nearest_service_times(highways, demand, services, needs)
    assert m.route_local.any() and (~m.route_local & np.isfinite(m.travel_min)).any()
    for need in needs:
        mine = np.array([need in o.split(";") for o in offer])
        sub = np.where(mine[None, :], m.travel_min, np.inf)
        t = table[table["need_type"] == need]
        assert np.allclose(t["travel_min"], sub.min(axis=1), atol=1e-6)
        best = sub.argmin(axis=1)
        assert (t["service_id"].to_numpy() == m.service_id[best]).all()
        local = m.route_local[np.arange(len(best)), best]
        assert (t["route"].to_numpy() == np.where(local, "local", "network")).all()


def test_limit_cuts_the_matrix_at_the_time_and_changes_nothing_within(highways):
    demand = gpd.GeoDataFrame({"demand_id": [f"d{i}" for i in range(30)], "access": "road"},
                              geometry=_random_points(highways, 30, 5))
    services = gpd.GeoDataFrame({"service_id": [f"s{i}" for i in range(8)],
                                 "need_types": "counselling", "geocode_precision": "exact"},
                                geometry=_random_points(highways, 8, 6, 0.05))
    full = travel_time_matrix(highways, demand, services).travel_min
    cut = travel_time_matrix(highways, demand, services, limit_min=180).travel_min
    within = full <= 180
    assert within.any() and (~within).any()
    assert np.allclose(cut[within], full[within])
    assert np.isinf(cut[~within]).all()


def test_unreachable_is_infinite_never_zero_and_flags_hold():
    g = two_disconnected_roads()
    engine = TravelEngine(g, SETTINGS)
    demand = gpd.GeoDataFrame(
        {"demand_id": ["west", "east", "fly-in", "far"],
         "access": ["road", "road", "no_all_season_road", "road"]},
        geometry=[shapely.Point(-79.6, 45), shapely.Point(-77.6, 45),
                  shapely.Point(-80, 45.01), shapely.Point(-79, 47)], crs=4326)
    services = gpd.GeoDataFrame(
        {"service_id": ["s", "area", "remote"], "need_types": "counselling",
         "geocode_precision": ["exact", "area", "exact"],
         "access": ["road", "road", "no_all_season_road"]},
        geometry=[shapely.Point(-80, 45), shapely.Point(-80, 45), shapely.Point(-79.6, 45)],
        crs=4326)
    m = travel_time_matrix(engine, demand, services)
    t = dict(zip(m.demand_id, m.travel_min[:, 0], strict=True))
    assert 10 < t["west"] < 30
    assert np.isinf(t["east"]) and np.isinf(t["fly-in"]) and np.isinf(t["far"])
    assert np.isinf(m.travel_min[:, 1:]).all()  # area-level and fly-in services: no drive
    assert (m.travel_min != 0).all()
    assert list(m.demand_access) == ["road", "road", "no_all_season_road",
                                     "beyond_road_network"]
    assert list(m.service_access) == ["road", "unplaced", "no_all_season_road"]
    # the nearest-service table agrees: a fly-in service is never the nearest
    near = nearest_service_times(engine, demand, services, ("counselling",))
    assert near.set_index("demand_id").at["west", "service_id"] == "s"
    node_s, which = engine.nearest_times(engine.snap(services.iloc[:1]))
    assert np.isinf(node_s[which < 0]).all() and (node_s[which >= 0] > 0).all()


def test_services_in_fly_in_communities_are_flagged():
    from gapmap.travel import flag_fly_in_services

    services = gpd.GeoDataFrame(
        {"service_id": ["moosonee-hospital", "cochrane-clinic", "phone-line"]},
        geometry=[shapely.Point(-80.650, 51.275), shapely.Point(-81.02, 49.06), None],
        crs=4326)
    remote = gpd.GeoDataFrame({"community": ["Moosonee", "no point"]},
                              geometry=[shapely.Point(-80.645, 51.279), None], crs=4326)
    out = flag_fly_in_services(services, remote, within_km=5)
    assert out["access"].tolist() == ["no_all_season_road", "road", "road"]
    assert "access" not in services.columns  # the caller's frame is untouched


# -- the searches of several need types in worker processes ---------------------------------

NEEDS = ("counselling", "housing", "legal_support", "settlement", "interpretation")


def _mixed_case(engine: TravelEngine):
    """Demand with a fly-in and an off-network point; services of several needs, one need
    with no service at all, one service off the network, two at the same place."""
    rng = np.random.default_rng(11)
    demand = gpd.GeoDataFrame({"demand_id": [f"d{i}" for i in range(300)], "access": "road"},
                              geometry=_random_points(engine, 300, 7))
    demand.loc[3, "access"] = "no_all_season_road"
    demand.loc[4, "geometry"] = shapely.Point(-60, 60)  # far beyond any road
    pts = _random_points(engine, 40, 8, 0.1)
    pts.iloc[1] = pts.iloc[0]
    pts.iloc[39] = shapely.Point(-61, 61)
    needs = [";".join(rng.choice(NEEDS[:4], rng.integers(1, 3), replace=False))
             for _ in range(40)]
    services = gpd.GeoDataFrame({"service_id": [f"s{i}" for i in range(40)],
                                 "need_types": needs, "geocode_precision": "exact"},
                                geometry=pts)
    return demand, services


@pytest.fixture
def spy_forks(monkeypatch):
    """Count the calls that fork workers, letting them run."""
    from gapmap import travel

    calls = []
    real = travel._forked_searches

    def spy(*args, **kwargs):
        calls.append(args[-1])
        return real(*args, **kwargs)

    monkeypatch.setattr(travel, "_forked_searches", spy)
    return calls


def test_searches_in_worker_processes_give_the_serial_result(highways, monkeypatch, spy_forks):
    from gapmap import travel

    demand, services = _mixed_case(highways)
    serial = nearest_service_times(highways, demand, services, NEEDS, workers=1)
    assert spy_forks == []
    assert set(serial["access"]) >= {"road", "no_service", "no_all_season_road",
                                      "beyond_road_network"}
    monkeypatch.setattr(travel, "PARALLEL_MIN_NODES", 0)  # this small graph too
    for workers in (2, 3):
        forked = nearest_service_times(highways, demand, services, NEEDS, workers=workers)
        pd.testing.assert_frame_equal(forked, serial, check_exact=True)
    assert spy_forks == [2, 3]
    # and the arrays read at the demand nodes are the full searches' own, bit for bit
    snap = highways.snap(services)
    graph = highways.sources(snap)
    masks = [travel.offers_each(services["need_types"], (n,))[:, 0] for n in NEEDS]
    nodes = highways.snap(demand).node
    for (t, which), mask in zip(graph.nearest_at(masks, nodes, workers=2), masks, strict=True):
        full_t, full_which = graph.nearest(mask)
        assert np.array_equal(t, full_t[nodes]) and np.array_equal(which, full_which[nodes])


def test_searches_run_serially_when_workers_would_not_pay(highways, monkeypatch, spy_forks):
    from gapmap import travel

    demand, services = _mixed_case(highways)
    serial = nearest_service_times(highways, demand, services, NEEDS, workers=1)
    assert highways.n < travel.PARALLEL_MIN_NODES  # a small graph: no workers by default
    pd.testing.assert_frame_equal(
        nearest_service_times(highways, demand, services, NEEDS, workers=4), serial)
    monkeypatch.setattr(travel, "PARALLEL_MIN_NODES", 0)
    one = nearest_service_times(highways, demand, services, ("housing",), workers=4)
    pd.testing.assert_frame_equal(one, serial[serial["need_type"] == "housing"]
                                  .reset_index(drop=True))
    monkeypatch.setattr(travel, "_can_fork", lambda: False)  # e.g. Windows
    pd.testing.assert_frame_equal(
        nearest_service_times(highways, demand, services, NEEDS, workers=4), serial)
    assert spy_forks == []  # one search, or no fork: never a worker


@pytest.fixture
def forked_pids(monkeypatch):
    """The pids of the worker processes forked during the test (as the parent sees them)."""
    import os

    pids = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return pids


def _assert_all_reaped(pids):
    """Every worker was waited for: none is left behind."""
    import os

    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_a_failed_worker_raises_instead_of_hanging(highways, monkeypatch, forked_pids):
    import os

    from gapmap import travel

    parent = os.getpid()
    real = travel.SourceGraph._nearest_rows

    def dies_in_child(self, *args):
        if os.getpid() != parent:
            raise MemoryError("killed")
        return real(self, *args)

    monkeypatch.setattr(travel, "PARALLEL_MIN_NODES", 0)
    monkeypatch.setattr(travel.SourceGraph, "_nearest_rows", dies_in_child)
    demand, services = _mixed_case(highways)
    with pytest.raises(RuntimeError, match="search worker"):
        nearest_service_times(highways, demand, services, NEEDS, workers=3)
    assert len(forked_pids) == 2
    _assert_all_reaped(forked_pids)


def test_an_interrupted_read_stops_and_reaps_every_worker(highways, monkeypatch,
                                                         forked_pids):
    from gapmap import travel

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(travel, "PARALLEL_MIN_NODES", 0)
    monkeypatch.setattr(travel, "_read_all", interrupted)
    demand, services = _mixed_case(highways)
    with pytest.raises(KeyboardInterrupt):  # the user's Ctrl-C, not a bad file descriptor
        nearest_service_times(highways, demand, services, NEEDS, workers=3)
    assert len(forked_pids) == 2
    _assert_all_reaped(forked_pids)


def test_no_worker_is_forked_while_another_thread_runs(highways, monkeypatch, spy_forks):
    # a child forked while another thread holds a lock (pyproj's database) can hang for ever
    import threading

    from gapmap import travel

    monkeypatch.setattr(travel, "PARALLEL_MIN_NODES", 0)
    demand, services = _mixed_case(highways)
    serial = nearest_service_times(highways, demand, services, NEEDS, workers=1)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        out = nearest_service_times(highways, demand, services, NEEDS, workers=2)
    finally:
        stop.set()
        other.join()
    assert spy_forks == []
    pd.testing.assert_frame_equal(out, serial)
    nearest_service_times(highways, demand, services, NEEDS, workers=2)
    assert spy_forks == [2]  # and with that thread gone, the workers are used again


def test_snapping_the_same_points_again_reuses_the_snap_and_a_moved_point_does_not(highways):
    pts = _random_points(highways, 50, 21)
    first = highways.snap(pts)
    assert highways.snap(pts.copy()) is first  # same coordinates and CRS: kept
    assert not first.node.flags.writeable  # shared, so nobody may change it
    # one point moved: a fresh snap, right for the moved point and unchanged elsewhere
    moved = pts.copy()
    moved.iloc[7] = shapely.Point(pts.iloc[0].x, pts.iloc[0].y)
    again = highways.snap(moved)
    assert again is not first and again.node[7] == first.node[0]
    assert np.array_equal(np.delete(again.node, 7), np.delete(first.node, 7))
    # the same places in another CRS are snapped to the same nodes, not taken from the cache
    other = highways.snap(pts.to_crs(3347))
    assert other is not first and np.array_equal(other.node, first.node)
    assert np.allclose(other.snap_m, first.snap_m, atol=1e-6)
