"""Benchmark (not a test): gapmap's travel engine against the obvious osmnx + networkx way.

Run with ``make bench``. Two graphs:

* ``grid``: a synthetic street grid of 1000 x 1000 = 1,000,000 nodes (200 m blocks, every
  tenth street an 80 km/h arterial, the rest 50 km/h, all two-way), 10,000 random demand
  points, 200 services on nodes, the default network settings;
* ``ottawa``: the pipeline's own Ottawa graph, read by ``gapmap.network.load_graph`` with
  ``configs/ottawa.toml``'s ``[network]`` settings (Statistics Canada's road network file,
  segment ends as nodes, each edge keeping its curved shape, the largest component), its
  8,559 dissemination blocks as demand, 200 services on random nodes, and the same settings
  for the connectors and the direct local roads.

Each service offers 1-3 of the 14 need types. Three stages, each side in its own process
(so the peak memory printed is that side's own):

1. graph preparation, from the same nodes and edges: gapmap's TravelEngine (CSR, KD-tree;
   the catchment builder prepares its roads on first use, inside the catchments time); for
   the baseline an osmnx-style MultiDiGraph (projected ``x``/``y``, ``length``,
   ``travel_time`` and, on Ottawa, each edge's ``geometry`` in EPSG:3347 as osmnx keeps it
   for simplified edges; the projection itself is done beforehand, not timed);
2. nearest-service times for the 14 need types: gapmap's ``nearest_service_times`` as the
   pipeline runs it (its searches in worker processes on a large graph: the table says how
   many; the same pass in one process is printed too, and must give the same table); the
   baseline snaps with ``osmnx.distance.nearest_nodes`` and runs
   ``nx.multi_source_dijkstra_path_length`` on the reversed graph per need, then adds the
   same demand connector and the same direct local-road rule (so both compute the same
   thing). Also timed: a bare ``scipy.sparse.csgraph.dijkstra(min_only=True)`` per need on
   gapmap's CSR, one after another, the floor gapmap's pass would reach in one process.
   gapmap's pass is timed first with its snap cache empty (the figure in the table), then
   again on the points it has snapped, as a run's later passes and what-if runs are;
3. catchments for 200 services x 4 bands (15/30/60/120 min), Ottawa only: gapmap's
   ``service_catchments`` (network part, ``local_roads=False``, in as many threads as the
   pipeline uses: GEOS releases the GIL; curved roads simplified by the pipeline's default
   2 m), all 200 services; the baseline is the osmnx isochrone example:
   ``nx.ego_graph(radius=T, distance="travel_time")`` on the reversed graph, the reached
   edges' geometries (a straight line where an edge has none) buffered (same 100 m, same 2
   segments per quarter circle, no node discs) and unioned.

Where a side would take too long it runs a documented subset and the total is extrapolated
linearly (the baseline: 2 of the 14 needs on the grid; the catchments of 8 of the 200
services, spread evenly over them); the table says which figures were measured and which
extrapolated. The largest
difference compares the two sides' results on what both computed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NEEDS = ("crisis_support", "emergency_shelter", "housing", "sexual_assault_care",
         "medical_care", "counselling", "addiction_mental_health", "legal_support",
         "court_support", "indigenous_services", "interpretation", "settlement",
         "youth_services", "anti_trafficking")
BANDS = (15.0, 30.0, 60.0, 120.0)
N_SERVICES = 200
BUFFER_M = 100.0
WORKERS = min(4, os.cpu_count() or 1)  # gapmap's catchment threads, as in the pipeline

# how much each side measures (the rest is extrapolated); see the table
PLAN = {
    "grid": {"baseline_needs": 2, "gapmap_catch": 0, "baseline_catch": 0},
    "ottawa": {"baseline_needs": 14, "gapmap_catch": N_SERVICES, "baseline_catch": 8},
}


def baseline_services(plan: dict) -> np.ndarray:
    """The services whose catchments the baseline builds: ``baseline_catch`` of them spread
    evenly over the ones gapmap builds (the first ``gapmap_catch``), not just the first few,
    whose catchments may be smaller or larger than most."""
    return np.linspace(0, plan["gapmap_catch"] - 1, plan["baseline_catch"]).round().astype(int)


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def load(name: str) -> dict:
    """The common inputs, rebuilt identically in each process (not timed)."""
    import geopandas as gpd
    import pandas as pd
    from pyproj import Transformer

    from gapmap.config import NetworkSettings, load_config

    rng = np.random.default_rng(2021)
    if name == "grid":
        k, block = 1000, 200.0
        x0, y0 = 7_200_000.0, 1_000_000.0  # EPSG:3347 metres, southern Ontario
        ij = np.arange(k * k).reshape(k, k)
        xs, ys = np.meshgrid(x0 + block * np.arange(k), y0 + block * np.arange(k))
        xy = np.column_stack([xs.ravel(), ys.ravel()])
        h_u, h_v = ij[:, :-1].ravel(), ij[:, 1:].ravel()
        v_u, v_v = ij[:-1, :].ravel(), ij[1:, :].ravel()
        h_speed = np.where((np.arange(k) % 10 == 0)[:, None], 80.0, 50.0)
        h_speed = np.broadcast_to(h_speed, (k, k - 1)).ravel()
        v_speed = np.where((np.arange(k) % 10 == 0)[None, :], 80.0, 50.0)
        v_speed = np.broadcast_to(v_speed, (k - 1, k)).ravel()
        u = np.concatenate([h_u, v_u, h_v, v_v])
        v = np.concatenate([h_v, v_v, h_u, v_u])
        speed = np.concatenate([h_speed, v_speed, h_speed, v_speed])
        length = np.full(len(u), block)
        lon, lat = Transformer.from_crs(3347, 4326, always_xy=True).transform(xy[:, 0], xy[:, 1])
        nodes = pd.DataFrame({"x": lon, "y": lat})
        edges = pd.DataFrame({"u": u, "v": v, "length_m": length, "speed_kph": speed,
                              "travel_s": length / (speed / 3.6), "road_class": "street"})
        dxy = np.column_stack([rng.uniform(x0, x0 + block * (k - 1), 10_000),
                               rng.uniform(y0, y0 + block * (k - 1), 10_000)])
        label = f"synthetic grid {k} x {k}"
        geometry = geometry_m = None
        settings = NetworkSettings()
    else:
        from gapmap.network import load_graph

        # the pipeline's own graph and settings: configs/ottawa.toml's [network]
        settings = load_config(ROOT / "configs/ottawa.toml").network
        g = load_graph(settings)
        nodes, edges = g.nodes, g.edges
        pts = gpd.GeoSeries(gpd.points_from_xy(nodes["x"], nodes["y"]), crs=4326).to_crs(3347)
        xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
        db = gpd.read_file(ROOT / "data/raw/ottawa/dissemination_blocks_2021_pop.gpkg")
        rp = db.to_crs(3347).representative_point()
        dxy = np.column_stack([rp.x.to_numpy(), rp.y.to_numpy()])
        label = "Ottawa, StatCan road network file 2021 (the pipeline's graph)"
        geometry = edges.geometry
        geometry_m = geometry.to_crs(3347).to_numpy()  # the baseline's, as osmnx projects
        edges = pd.DataFrame(edges.drop(columns="geometry"))
    svc_nodes = rng.choice(len(nodes), N_SERVICES, replace=False)
    needs = []
    for _ in range(N_SERVICES):
        needs.append(sorted(rng.choice(len(NEEDS), rng.integers(1, 4), replace=False)))
    for j in range(len(NEEDS)):  # every need has at least one service
        if not any(j in n for n in needs):
            needs[j] = sorted({*needs[j], j})
    return {"name": name, "label": label, "nodes": nodes, "edges": edges, "xy": xy,
            "geometry": geometry, "geometry_m": geometry_m, "settings": settings,
            "demand_xy": dxy, "svc_nodes": svc_nodes, "svc_needs": needs}


def _frames(data: dict):
    import geopandas as gpd
    import pandas as pd

    from gapmap.network import RoadGraph

    edges = data["edges"]
    if data["geometry"] is not None:
        edges = gpd.GeoDataFrame(edges, geometry=data["geometry"], crs=4326)
    graph = RoadGraph(data["nodes"], edges, data["name"])
    d = gpd.GeoSeries(gpd.points_from_xy(*data["demand_xy"].T), crs=3347).to_crs(4326)
    demand = gpd.GeoDataFrame({"demand_id": [f"d{i}" for i in range(len(d))],
                               "access": "road"}, geometry=d.to_numpy(), crs=4326)
    nd = data["nodes"].iloc[data["svc_nodes"]]
    services = gpd.GeoDataFrame(
        {"service_id": [f"s{i:03d}" for i in range(N_SERVICES)],
         "need_types": [";".join(NEEDS[j] for j in n) for n in data["svc_needs"]],
         "geocode_precision": "exact"},
        geometry=gpd.points_from_xy(nd["x"], nd["y"]), crs=4326)
    return graph, demand, pd.DataFrame(services).pipe(gpd.GeoDataFrame, crs=4326)


def side_gapmap(name: str, plan: dict) -> dict:
    from scipy.sparse.csgraph import dijkstra

    from gapmap.catchments import CatchmentBuilder, service_catchments
    from gapmap.travel import TravelEngine, nearest_service_times, search_workers

    data = load(name)
    graph, demand, services = _frames(data)
    settings = data["settings"]
    base_rss = _peak_gb()
    t0 = time.perf_counter()
    engine = TravelEngine(graph, settings)
    builder = CatchmentBuilder(engine, buffer_m=BUFFER_M)
    prep = time.perf_counter() - t0
    near_runs, warm_runs, serial_runs, bare_runs, search_runs = [], [], [], [], []
    masks = [services["need_types"].str.split(";").map(lambda x, n=n: n in x).to_numpy()
             for n in NEEDS]
    for _ in range(3):  # best of three: the machine is shared
        engine.snap_cache.clear()  # a first pass: demand and services snapped in the pass
        t0 = time.perf_counter()
        table = nearest_service_times(engine, demand, services, NEEDS)  # default workers
        near_runs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()  # again, as a run's later passes or a what-if run do
        nearest_service_times(engine, demand, services, NEEDS)
        warm_runs.append(time.perf_counter() - t0)
        engine.snap_cache.clear()
        t0 = time.perf_counter()
        serial = nearest_service_times(engine, demand, services, NEEDS, workers=1)
        serial_runs.append(time.perf_counter() - t0)
        nodes = engine.snap(services).node
        t0 = time.perf_counter()
        for m in masks:
            dijkstra(engine.rev, directed=True, indices=nodes[m], min_only=True)
        bare_runs.append(time.perf_counter() - t0)
        # gapmap's searches alone, as the pass runs them (its graph with the services'
        # connectors, read at the demand nodes), without snapping, local routes and table
        sources, d_nodes = engine.sources(engine.snap(services)), engine.snap(demand).node
        t0 = time.perf_counter()
        sources.nearest_at(masks, d_nodes)
        search_runs.append(time.perf_counter() - t0)
    if not table.equals(serial):
        raise AssertionError("the pass in worker processes differs from the serial pass")
    times = table["travel_min"].to_numpy().reshape(len(NEEDS), len(demand)) * 60
    out = {"label": data["label"], "n_nodes": engine.n, "n_edges": int(engine.csr.nnz),
           "n_demand": len(demand), "prep_s": prep, "near_s": min(near_runs),
           "near_serial_s": min(serial_runs), "bare_s": min(bare_runs),
           "near_warm_s": min(warm_runs), "search_s": min(search_runs),
           "near_workers": search_workers(engine.n, len(NEEDS)), "near_times_s": times}
    k = plan[name]["gapmap_catch"]
    if k:
        t0 = time.perf_counter()
        cat = service_catchments(engine, services.iloc[:k], BANDS, builder=builder,
                                 local_roads=False, workers=WORKERS)
        out["catch_s"] = time.perf_counter() - t0
        out["catch_area"] = cat["area_km2"].to_numpy().reshape(k, len(BANDS))
        # reached nodes, for the comparison (not timed)
        sg = engine.sources(engine.snap(services.iloc[:k]))
        out["catch_nodes"] = np.array([[int((sg.nearest(np.array([i]))[0] <= b * 60).sum())
                                        for b in BANDS] for i in range(k)])
    out["peak_gb"] = _peak_gb()
    out["workers_gb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    out["inputs_gb"] = base_rss
    return out


def side_baseline(name: str, plan: dict) -> dict:
    import geopandas as gpd
    import networkx as nx
    import osmnx as ox
    import shapely
    from scipy.spatial import cKDTree

    from gapmap.travel import connector_seconds

    data = load(name)
    settings = data["settings"]
    xy, e, geom = data["xy"], data["edges"], data["geometry_m"]
    base_rss = _peak_gb()
    t0 = time.perf_counter()
    G = nx.MultiDiGraph(crs="EPSG:3347")
    G.add_nodes_from((i, {"x": float(x), "y": float(y)}) for i, (x, y) in enumerate(xy))
    attrs = [{"length": float(ln), "travel_time": float(t)} for ln, t in
             zip(e["length_m"].to_numpy(), np.maximum(e["travel_s"].to_numpy(), 1e-3),
                 strict=True)]
    if geom is not None:  # osmnx keeps a simplified edge's shape as its geometry
        for a, g in zip(attrs, geom, strict=True):
            a["geometry"] = g
    G.add_edges_from((int(u), int(v), a) for u, v, a in
                     zip(e["u"].to_numpy(), e["v"].to_numpy(), attrs, strict=True))
    R = G.reverse(copy=False)
    prep = time.perf_counter() - t0
    dxy = data["demand_xy"]
    svc_xy = xy[data["svc_nodes"]]
    n_needs = plan[name]["baseline_needs"]
    t0 = time.perf_counter()
    d_nodes, d_dist = ox.distance.nearest_nodes(G, dxy[:, 0], dxy[:, 1], return_dist=True)
    d_conn = connector_seconds(np.asarray(d_dist), settings)
    times = np.full((n_needs, len(dxy)), np.nan)
    for j in range(n_needs):
        mine = np.array([j in n for n in data["svc_needs"]])
        s_nodes = ox.distance.nearest_nodes(G, svc_xy[mine, 0], svc_xy[mine, 1])
        dist = nx.multi_source_dijkstra_path_length(R, set(map(int, s_nodes)),
                                                    weight="travel_time")
        net = np.array([dist.get(int(n), np.inf) for n in d_nodes]) + d_conn
        dd, _ = cKDTree(svc_xy[mine]).query(dxy)
        local = np.where(dd <= settings.local_route_km * 1000,
                         connector_seconds(dd, settings), np.inf)
        best = np.minimum(net, local)
        times[j] = np.where(np.isfinite(best), best, np.nan)
    near = time.perf_counter() - t0
    out = {"prep_s": prep, "near_s": near, "near_measured": n_needs, "near_times_s": times}
    k = plan[name]["baseline_catch"]
    if k:
        which = baseline_services(plan[name])
        t0 = time.perf_counter()
        areas = np.zeros((k, len(BANDS)))
        counts = np.zeros((k, len(BANDS)), dtype=int)

        def line(u: int, v: int) -> shapely.LineString:
            # the osmnx isochrone example: the edge's geometry, else a straight line
            geom = (G.get_edge_data(u, v) or G.get_edge_data(v, u))[0].get("geometry")
            if geom is None:
                geom = shapely.LineString([(G.nodes[u]["x"], G.nodes[u]["y"]),
                                           (G.nodes[v]["x"], G.nodes[v]["y"])])
            return geom

        for i, s in enumerate(which):
            centre = int(data["svc_nodes"][s])
            for b, band in enumerate(BANDS):
                sub = nx.ego_graph(R, centre, radius=band * 60, distance="travel_time")
                pairs = {(min(u, v), max(u, v)) for u, v in sub.edges()}
                lines = [line(u, v) for u, v in sorted(pairs)]
                iso = gpd.GeoSeries(lines, crs=3347).buffer(BUFFER_M, quad_segs=2).union_all()
                areas[i, b] = iso.area / 1e6
                counts[i, b] = sub.number_of_nodes()
        out["catch_s"] = time.perf_counter() - t0
        out["catch_area"] = areas
        out["catch_nodes"] = counts
    out["peak_gb"] = _peak_gb()
    out["inputs_gb"] = base_rss
    return out


def _run(fn, name: str) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as ex:
        return ex.submit(fn, name, PLAN).result()


def _fmt_s(x: float) -> str:
    return f"{x:8.2f} s" if x < 100 else f"{x:8.0f} s"


def report(name: str, g: dict, b: dict) -> list[str]:
    plan = PLAN[name]
    lines = [f"\n== {g['label']}: {g['n_nodes']:,} nodes, {g['n_edges']:,} directed edges, "
             f"{g['n_demand']:,} demand points, {N_SERVICES} services, {len(NEEDS)} need types",
             f"{'stage':<34}{'gapmap':>11}{'osmnx+networkx':>17}{'ratio':>9}  largest difference"]
    total_g = total_b = 0.0
    lines.append(f"{'graph preparation':<34}{_fmt_s(g['prep_s']):>11}{_fmt_s(b['prep_s']):>17}"
                 f"{b['prep_s'] / g['prep_s']:>8.0f}x  -")
    total_g += g["prep_s"]
    total_b += b["prep_s"]
    m = b["near_measured"]
    b_near = b["near_s"] * len(NEEDS) / m
    diff = np.nanmax(np.abs(g["near_times_s"][:m] - b["near_times_s"]))
    same_nan = np.array_equal(np.isnan(g["near_times_s"][:m]), np.isnan(b["near_times_s"]))
    note = "" if m == len(NEEDS) else f" ({m} of {len(NEEDS)} needs measured: {b['near_s']:.0f} s)"
    lines.append(f"{'nearest service, 14 need types':<34}{_fmt_s(g['near_s']):>11}"
                 f"{_fmt_s(b_near) + ('*' if m < len(NEEDS) else ''):>17}"
                 f"{b_near / g['near_s']:>8.0f}x  {diff:.2e} s over {m} needs"
                 f"{'' if same_nan else ' (NaN pattern differs!)'}{note}")
    total_g += g["near_s"]
    total_b += b_near
    if plan["gapmap_catch"]:
        kg, kb = plan["gapmap_catch"], plan["baseline_catch"]
        g_cat = g["catch_s"] * N_SERVICES / kg
        b_cat = b["catch_s"] * N_SERVICES / kb
        which = baseline_services(plan)
        ga, ba = g["catch_area"][which], b["catch_area"]
        rel = np.max(np.abs(ga - ba) / np.maximum(ba, 1e-9))
        nodes_diff = int(np.max(np.abs(g["catch_nodes"][which] - b["catch_nodes"])))
        g_star = "" if kg == N_SERVICES else "*"
        lines.append(f"{'catchments, 200 services x 4':<34}{_fmt_s(g_cat) + g_star:>11}"
                     f"{_fmt_s(b_cat) + '*':>17}{b_cat / g_cat:>8.0f}x  reached nodes: "
                     f"{nodes_diff} differ; area: {rel * 100:.1f} % (partial roads)")
        g_part = (f"all {kg} for gapmap ({WORKERS} threads)" if kg == N_SERVICES else
                  f"{kg} x 4 bands for gapmap ({g['catch_s']:.0f} s, {WORKERS} threads), "
                  f"times {N_SERVICES / kg:g}")
        lines.append(f"{'':<34}  * measured {g_part}; for the baseline {kb} x 4 bands "
                     f"(services {', '.join(map(str, which))}: {b['catch_s']:.0f} s, 1 thread), "
                     f"times {N_SERVICES / kb:g}")
        total_g += g_cat
        total_b += b_cat
    else:
        lines.append(f"{'catchments, 200 services x 4':<34}{'-':>11}{'-':>17}{'':>9}  "
                     "not run on this graph (see the Ottawa table)")
    lines.append(f"{'end to end':<34}{_fmt_s(total_g):>11}{_fmt_s(total_b):>17}"
                 f"{total_b / total_g:>8.0f}x")
    lines.append(f"{'peak memory (own process)':<34}{g['peak_gb']:>9.2f} GB"
                 f"{b['peak_gb']:>15.2f} GB   (inputs alone: {g['inputs_gb']:.2f} / "
                 f"{b['inputs_gb']:.2f} GB)")
    if g["near_workers"] > 1:
        lines.append(f"{'':<34}  gapmap's search workers: {g['workers_gb']:.2f} GB peak each, "
                     "most of it the graph shared with the process above")
    lines.append(f"gapmap's 14-need pass {g['near_s']:.2f} s in {g['near_workers']} "
                 f"process{'es' if g['near_workers'] > 1 else ''} (snapping, local roads and "
                 f"table included; {g['near_serial_s']:.2f} s in one) vs bare scipy min_only "
                 f"Dijkstra x 14 on the same CSR, one after another, {g['bare_s']:.2f} s: "
                 f"{g['near_s'] / g['bare_s']:.2f}x; a pass on already snapped points "
                 f"(a run's later passes, a what-if run) {g['near_warm_s']:.2f} s: "
                 f"{g['near_warm_s'] / g['bare_s']:.2f}x; its 14 searches alone "
                 f"{g['search_s']:.2f} s: {g['search_s'] / g['bare_s']:.2f}x")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", nargs="+", default=["ottawa", "grid"],
                        choices=["ottawa", "grid"])
    parser.add_argument("--quick", action="store_true",
                        help="a much smaller plan, to check that the script runs")
    args = parser.parse_args(argv)
    if args.quick:
        PLAN["ottawa"].update(baseline_needs=2, gapmap_catch=2, baseline_catch=1)
    out = []
    for name in args.graphs:
        t0 = time.perf_counter()
        print(f"[{name}] gapmap ...", flush=True)
        g = _run(side_gapmap, name)
        print(f"[{name}] osmnx + networkx ...", flush=True)
        b = _run(side_baseline, name)
        lines = report(name, g, b)
        print("\n".join(lines), flush=True)
        out += lines
        print(f"[{name}] done in {time.perf_counter() - t0:.0f} s", flush=True)
    print("\n".join(["", "==== summary ===="] + out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
