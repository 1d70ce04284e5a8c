"""Travel: nearest-service drive times on the road graph, one multi-source pass per need.

Every point (community or service) joins the graph at its nearest node by a local-road
*connector*: the straight line times ``connector_circuity`` at ``connector_speed_kph``. A
connector longer than ``estimate_beyond_km`` makes the time an ``estimate``; one longer than
``beyond_network_km`` puts the point ``beyond_road_network`` (no time is given). A community
may also reach a service directly by local roads when the straight line between them is
within ``local_route_km`` (same town, next village; ``route`` = ``local``): the time is the
smaller of the two. ``local_route_km`` is its own setting, independent of the estimate limit;
0 turns the local route off, so every time is by the network.

The graph is reversed and given one virtual node per service (an edge to the service's node
weighted by its connector time). That augmented graph is built once for all the services of a
run (:class:`SourceGraph`); each need type is then one call to
:func:`scipy.sparse.csgraph.dijkstra` with ``min_only=True`` from the virtual nodes of its
services, which gives every node its time to the nearest one and which one it is. A virtual
node of another need has no incoming edge, so it is never reached and costs nothing.
Parallel edges keep their minimum; unreachable means infinity, never 0.

A service flagged ``access`` = ``no_all_season_road`` (within ``fly_in_service_km`` of a
community with no all-season road, :func:`flag_fly_in_services`) is never given a drive
time, like the communities themselves.

:func:`travel_time_matrix` gives the full demand x services matrix (within an optional
``limit_min``) for the stages that need more than the nearest service.

Output contract (DataFrame, one row per demand point and need type): ``demand_id``,
``need_type``, ``travel_min`` (NaN when there is no time), ``service_id`` (nearest),
``access`` (``road`` | ``estimate`` | ``beyond_road_network`` | ``no_all_season_road`` |
``unreachable`` (no path on the graph) | ``no_service`` (none of that need is placed)),
``route`` (``network`` | ``local`` | ``""``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from gapmap.config import NetworkSettings
from gapmap.geocode import POINT_PRECISIONS
from gapmap.network import RoadGraph
from gapmap.taxonomy import offers

log = logging.getLogger(__name__)

ACCESS_VALUES = ("road", "estimate", "beyond_road_network", "no_all_season_road", "unreachable",
                 "no_service")
_EPS_S = 1e-3  # csgraph needs strictly positive weights


@dataclass
class Snap:
    """Where points join the graph: node position, straight-line metres, connector seconds."""

    node: np.ndarray
    snap_m: np.ndarray
    connector_s: np.ndarray
    xy_m: np.ndarray

    def quality(self, settings: NetworkSettings) -> np.ndarray:
        q = np.full(len(self.node), "road", dtype=object)
        q[self.snap_m > settings.estimate_beyond_km * 1000] = "estimate"
        q[self.snap_m > settings.beyond_network_km * 1000] = "beyond_road_network"
        return q


def connector_seconds(straight_m: np.ndarray, settings: NetworkSettings) -> np.ndarray:
    return np.asarray(straight_m) * settings.connector_circuity / (
        settings.connector_speed_kph / 3.6)


def local_route_m(settings: NetworkSettings) -> float:
    """How far (straight line, metres) a community reaches a service directly by local roads:
    ``local_route_km``, or ``-inf`` when it is 0 (off), so no distance, not even 0, is within."""
    return settings.local_route_km * 1000 if settings.local_route_km > 0 else -np.inf


def projected_xy(gdf: gpd.GeoSeries | gpd.GeoDataFrame) -> np.ndarray:
    g = gdf.to_crs(3347)
    geom = g.geometry if isinstance(g, gpd.GeoDataFrame) else g
    return np.column_stack([geom.x.to_numpy(), geom.y.to_numpy()])


class TravelEngine:
    """The road graph as a CSR matrix, with a KD-tree of its nodes, built once."""

    def __init__(self, graph: RoadGraph, settings: NetworkSettings) -> None:
        self.graph = graph
        self.settings = settings
        to_3347 = Transformer.from_crs(4326, 3347, always_xy=True)
        self.node_xy = np.column_stack(to_3347.transform(graph.nodes["x"].to_numpy(float),
                                                         graph.nodes["y"].to_numpy(float)))
        self.tree = cKDTree(self.node_xy)
        e = graph.edges
        self.n = graph.n_nodes
        self.csr = self._csr(e["u"].to_numpy(), e["v"].to_numpy(),
                             np.maximum(e["travel_s"].to_numpy(dtype=float), _EPS_S), self.n)
        self.rev = self.csr.T.tocsr()
        self.rev.sort_indices()

    @staticmethod
    def _csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> csr_matrix:
        """CSR with the minimum weight over parallel edges (scipy would sum them)."""
        order = np.lexsort((w, v, u))
        u, v, w = u[order], v[order], w[order]
        first = np.ones(len(u), dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        return csr_matrix((w[first], (u[first], v[first])), shape=(n, n))

    def snap(self, points: gpd.GeoSeries | gpd.GeoDataFrame) -> Snap:
        xy = projected_xy(points)
        d, idx = self.tree.query(xy)
        return Snap(idx.astype(np.int64), d, connector_seconds(d, self.settings), xy)

    def sources(self, targets: Snap) -> SourceGraph:
        """The reversed graph with one virtual node per target, built once (see module doc)."""
        return SourceGraph(self, targets)

    def nearest_times(self, targets: Snap) -> tuple[np.ndarray, np.ndarray]:
        """Seconds from every node to its nearest target (by graph + target connector).

        Returns (time_s per node, index of the target reached, -1 where unreachable).
        """
        return self.sources(targets).nearest()


class SourceGraph:
    """The reversed road graph plus one virtual node per target (``n + i`` for target ``i``).

    Row ``n + i`` holds one edge to target ``i``'s node, weighted by its connector time, so a
    Dijkstra from the virtual nodes starts every target at its own offset. The CSR arrays are
    concatenated once, not rebuilt or resized per call.
    """

    def __init__(self, engine: TravelEngine, targets: Snap) -> None:
        rev = engine.rev
        n, k = engine.n, len(targets.node)
        self.n, self.k = n, k
        self.targets = targets
        nnz = int(rev.indptr[-1])
        itype = np.int32 if max(n + k, nnz + k) < np.iinfo(np.int32).max else np.int64
        indptr = np.concatenate([rev.indptr.astype(itype, copy=False),
                                 (nnz + np.arange(1, k + 1)).astype(itype)])
        indices = np.concatenate([rev.indices.astype(itype, copy=False),
                                  np.asarray(targets.node).astype(itype)])
        data = np.concatenate([rev.data.astype(float, copy=False),
                               np.maximum(np.asarray(targets.connector_s, dtype=float), _EPS_S)])
        self.csr = csr_matrix((data, indices, indptr), shape=(n + k, n + k))
        self.csr.has_sorted_indices = True  # rev is sorted; each virtual row has one entry

    def _rows(self, which: np.ndarray | None) -> np.ndarray:
        if which is None:
            return np.arange(self.n, self.n + self.k)
        which = np.asarray(which)
        idx = np.nonzero(which)[0] if which.dtype == bool else which.astype(np.int64)
        return self.n + idx

    def nearest(self, which: np.ndarray | None = None, *, limit_s: float = np.inf
                ) -> tuple[np.ndarray, np.ndarray]:
        """Seconds from every node to the nearest of the chosen targets, and which one.

        ``which``: a boolean mask or indices into the targets (default: all of them).
        Returns (time_s per node, inf where unreachable; target index, -1 where unreachable).
        """
        rows = self._rows(which)
        if len(rows) == 0:
            return np.full(self.n, np.inf), np.full(self.n, -1, dtype=np.int64)
        dist, _, src = dijkstra(self.csr, directed=True, indices=rows, min_only=True,
                                return_predecessors=True, limit=limit_s)
        reached = src[: self.n]
        which_t = np.where(reached >= self.n, reached - self.n, -1).astype(np.int64)
        return dist[: self.n], which_t

    def times_from_each(self, which: np.ndarray | None = None, *, limit_s: float = np.inf,
                        nodes: np.ndarray | None = None, batch_bytes: float = 2e8
                        ) -> np.ndarray:
        """Seconds from ``nodes`` (default: every node) to each chosen target.

        Returns an array (targets x nodes); inf beyond ``limit_s`` or where there is no path.
        The targets run in batches so that one batch's full rows stay under ``batch_bytes``.
        """
        rows = self._rows(which)
        cols = np.arange(self.n) if nodes is None else np.asarray(nodes, dtype=np.int64)
        out = np.full((len(rows), len(cols)), np.inf)
        step = max(1, int(batch_bytes // (8 * (self.n + self.k))))
        for a in range(0, len(rows), step):
            d = dijkstra(self.csr, directed=True, indices=rows[a:a + step], limit=limit_s)
            out[a:a + step] = d[:, cols]
        return out


def _need_mask(services: pd.DataFrame, need: str) -> np.ndarray:
    return offers(services["need_types"], need).to_numpy(dtype=bool)


def placed_mask(services: gpd.GeoDataFrame) -> np.ndarray:
    """Which services count for physical coverage.

    Placed at a point (not only an area), and not flagged ``no_all_season_road`` when the
    frame has an ``access`` column: a service in a fly-in community gets no drive time.
    """
    keep = services["geocode_precision"].isin(POINT_PRECISIONS) & services.geometry.notna()
    if "access" in services.columns:
        keep &= services["access"].astype(str) != "no_all_season_road"
    return keep.to_numpy(dtype=bool)


def flag_fly_in_services(services: gpd.GeoDataFrame, remote: gpd.GeoDataFrame, *,
                         within_km: float) -> gpd.GeoDataFrame:
    """A copy of ``services`` with ``access``: ``no_all_season_road`` for a service within
    ``within_km`` of a community with no all-season road (``remote``: points, as from
    :func:`gapmap.demand.remote_communities`), else ``road``. Such a service (a nursing
    station, a hospital in Moosonee) gets no drive time and no catchment."""
    out = services.copy()
    out["access"] = "road"
    pts = remote[remote.geometry.notna()]
    has = out.geometry.notna().to_numpy()
    if len(pts) and has.any() and within_km > 0:
        d, _ = cKDTree(projected_xy(pts)).query(projected_xy(out[has]))
        fly_in = np.zeros(len(out), dtype=bool)
        fly_in[np.nonzero(has)[0]] = d <= within_km * 1000
        out.loc[fly_in, "access"] = "no_all_season_road"
        if fly_in.any():
            log.info("%d services in communities with no all-season road: %s",
                     int(fly_in.sum()), ", ".join(out.loc[fly_in, "service_id"].astype(str)))
    return out


def placed_services(services: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The services that count for physical coverage (see :func:`placed_mask`)."""
    return services[placed_mask(services)]


def nearest_service_times(engine: TravelEngine, demand: gpd.GeoDataFrame,
                          services: gpd.GeoDataFrame, need_types: tuple[str, ...]
                          ) -> pd.DataFrame:
    """Time from every demand point to the nearest placed service of each need type.

    ``demand`` needs ``demand_id`` and ``access``; ``services`` needs ``service_id``,
    ``need_types`` and ``geocode_precision`` (and may have ``access``, see
    :func:`placed_services`). Area-level and unplaced services count for no physical
    coverage. The columns of the result are in the module docstring.
    """
    s = engine.settings
    placed = placed_services(services)
    d_snap = engine.snap(demand)
    d_quality = d_snap.quality(s)
    remote = demand["access"].to_numpy() == "no_all_season_road"
    local_limit = local_route_m(s)
    sid_all = placed["service_id"].to_numpy()
    if len(placed):
        s_snap = engine.snap(placed)
        s_quality = s_snap.quality(s)
        on_net = s_quality != "beyond_road_network"
        graph = engine.sources(s_snap)
    out: list[tuple[np.ndarray, ...]] = []
    for need in need_types:
        mask = _need_mask(placed, need) if len(placed) else np.zeros(0, dtype=bool)
        t_min = np.full(len(demand), np.nan)
        sid = np.full(len(demand), "", dtype=object)
        route = np.full(len(demand), "", dtype=object)
        access = np.full(len(demand), "no_service", dtype=object)
        if mask.any():
            net_s = np.full(len(demand), np.inf)
            net_which = np.full(len(demand), -1)
            if (mask & on_net).any():
                node_s, which = graph.nearest(mask & on_net)
                net_s = node_s[d_snap.node] + d_snap.connector_s
                net_which = which[d_snap.node]
                net_s[d_quality == "beyond_road_network"] = np.inf
            # direct local-road connection to a nearby service of this need
            idx_need = np.nonzero(mask)[0]
            dd, di = cKDTree(s_snap.xy_m[idx_need]).query(d_snap.xy_m)
            loc_s = np.where(dd <= local_limit, connector_seconds(dd, s), np.inf)
            use_local = loc_s <= net_s
            best = np.where(use_local, loc_s, net_s)
            best_idx = np.where(use_local, idx_need[di], net_which)
            ok = np.isfinite(best)
            t_min[ok] = best[ok] / 60
            sid[ok] = sid_all[best_idx[ok]]
            route[ok] = np.where(use_local[ok], "local", "network")
            est = (d_quality == "estimate") | (s_quality[np.maximum(best_idx, 0)] == "estimate")
            access[ok] = np.where(use_local[ok], "road", np.where(est[ok], "estimate", "road"))
            access[~ok] = "unreachable"
            access[~ok & (d_quality == "beyond_road_network")] = "beyond_road_network"
        t_min[remote] = np.nan
        sid[remote] = ""
        route[remote] = ""
        access[remote] = "no_all_season_road"
        out.append((t_min, sid, access, route))
        log.info("travel %s: %d services, median %.0f min", need, int(mask.sum()),
                 float(np.nanmedian(t_min)) if np.isfinite(t_min).any() else float("nan"))
    # one frame at the end: 14 small frames and a concat cost more than the searches
    n = len(demand)
    return pd.DataFrame({
        "demand_id": np.tile(demand["demand_id"].to_numpy(), len(need_types)),
        "need_type": np.repeat(np.asarray(need_types, dtype=object), n),
        "travel_min": np.concatenate([o[0] for o in out]) if out else np.zeros(0),
        "service_id": np.concatenate([o[1] for o in out]) if out else np.zeros(0, object),
        "access": np.concatenate([o[2] for o in out]) if out else np.zeros(0, object),
        "route": np.concatenate([o[3] for o in out]) if out else np.zeros(0, object)})


@dataclass
class TravelMatrix:
    """Drive times from every demand point to every service, in minutes.

    ``travel_min[i, j]`` is demand ``demand_id[i]`` to service ``service_id[j]``: the better of
    the network route (both connectors included) and the direct local road (straight line
    within ``local_route_km``), as in :func:`nearest_service_times`. It is ``inf`` where
    there is no path, beyond ``limit_min``, for a demand point flagged ``no_all_season_road``
    (``demand_access``) and for an unplaced or fly-in service (``service_access``); a point
    ``beyond_road_network`` (either end) has only the direct local road. Never 0 for "no
    time". ``route_local`` is True where the time is by the direct local road.
    """

    demand_id: np.ndarray
    service_id: np.ndarray
    travel_min: np.ndarray
    route_local: np.ndarray
    demand_access: np.ndarray
    service_access: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """Long form, finite times only: ``demand_id``, ``service_id``, ``travel_min``,
        ``route`` (``network`` | ``local``), ``access`` (``road`` | ``estimate``)."""
        i, j = np.nonzero(np.isfinite(self.travel_min))
        local = self.route_local[i, j]
        est = (self.demand_access[i] == "estimate") | (self.service_access[j] == "estimate")
        return pd.DataFrame({
            "demand_id": self.demand_id[i], "service_id": self.service_id[j],
            "travel_min": self.travel_min[i, j],
            "route": np.where(local, "local", "network"),
            "access": np.where(~local & est, "estimate", "road")})


def travel_time_matrix(engine: TravelEngine, demand: gpd.GeoDataFrame,
                       services: gpd.GeoDataFrame, *, limit_min: float | None = None
                       ) -> TravelMatrix:
    """The demand x services drive-time matrix (see :class:`TravelMatrix`).

    ``demand`` needs ``demand_id`` and ``access``; ``services`` needs ``service_id`` and
    ``geocode_precision``. With ``limit_min`` each service's search stops at that time, which
    is much faster on a large graph; pairs beyond it are ``inf``.
    """
    s = engine.settings
    limit_s = np.inf if limit_min is None else float(limit_min) * 60
    d_snap = engine.snap(demand)
    d_quality = d_snap.quality(s).astype(object)
    d_quality[demand["access"].to_numpy() == "no_all_season_road"] = "no_all_season_road"
    is_placed = placed_mask(services)
    out = np.full((len(demand), len(services)), np.inf)
    local = np.zeros(out.shape, dtype=bool)
    s_quality = np.full(len(services), "unplaced", dtype=object)
    if "access" in services.columns:
        s_quality[services["access"].astype(str).to_numpy() == "no_all_season_road"] = \
            "no_all_season_road"
    if is_placed.any():
        pos = np.nonzero(is_placed)[0]
        s_snap = engine.snap(services.iloc[pos])
        q = s_snap.quality(s)
        s_quality[pos] = q
        on_net = q != "beyond_road_network"
        d_ok = np.isin(d_quality, ("road", "estimate"))
        if on_net.any() and d_ok.any():
            graph = engine.sources(s_snap)
            t = graph.times_from_each(on_net, limit_s=limit_s, nodes=d_snap.node[d_ok])
            t = t + d_snap.connector_s[d_ok][None, :]
            sub = out[np.ix_(np.nonzero(d_ok)[0], pos[on_net])]
            out[np.ix_(np.nonzero(d_ok)[0], pos[on_net])] = np.minimum(sub, t.T)
        # direct local roads: every pair within the straight-line limit (none when it is off)
        limit_m = local_route_m(s)
        pairs = cKDTree(d_snap.xy_m).sparse_distance_matrix(
            cKDTree(s_snap.xy_m), max(limit_m, 0.0), output_type="ndarray")
        if limit_m >= 0 and len(pairs):
            di, sj = pairs["i"], pos[pairs["j"]]
            loc = connector_seconds(pairs["v"], s)
            better = loc <= out[di, sj]
            out[di[better], sj[better]] = loc[better]
            local[di[better], sj[better]] = True
    out[d_quality == "no_all_season_road"] = np.inf
    out[out > limit_s] = np.inf
    local &= np.isfinite(out)
    return TravelMatrix(demand_id=demand["demand_id"].to_numpy(),
                        service_id=services["service_id"].to_numpy(),
                        travel_min=out / 60, route_local=local,
                        demand_access=d_quality, service_access=s_quality)
