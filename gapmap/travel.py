"""Travel: nearest-service drive times on the road graph, one multi-source pass per need.

Every point (community or service) joins the graph at its nearest node by a local-road
*connector*: the straight line times ``connector_circuity`` at ``connector_speed_kph``. A
connector longer than ``estimate_beyond_km`` makes the time an ``estimate``; one longer than
``beyond_network_km`` puts the point ``beyond_road_network`` (no time is given). A community
may also reach a service directly by local roads when the straight line between them is
within ``estimate_beyond_km`` (same town, next village): the time is the smaller of the two.

The graph is reversed and given one virtual node per service (an edge to the service's node
weighted by its connector time), so one call to :func:`scipy.sparse.csgraph.dijkstra` with
``min_only=True`` gives every node its time to the nearest service and which service it is.
Parallel edges keep their minimum; unreachable means infinity, never 0.

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
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from gapmap.config import NetworkSettings
from gapmap.geocode import POINT_PRECISIONS
from gapmap.network import RoadGraph

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


def projected_xy(gdf: gpd.GeoSeries | gpd.GeoDataFrame) -> np.ndarray:
    g = gdf.to_crs(3347)
    geom = g.geometry if isinstance(g, gpd.GeoDataFrame) else g
    return np.column_stack([geom.x.to_numpy(), geom.y.to_numpy()])


class TravelEngine:
    """The road graph as a CSR matrix, with a KD-tree of its nodes, built once."""

    def __init__(self, graph: RoadGraph, settings: NetworkSettings) -> None:
        self.graph = graph
        self.settings = settings
        nodes = gpd.GeoSeries(gpd.points_from_xy(graph.nodes["x"], graph.nodes["y"]), crs=4326)
        self.node_xy = projected_xy(nodes)
        self.tree = cKDTree(self.node_xy)
        e = graph.edges
        self.n = graph.n_nodes
        self.csr = self._csr(e["u"].to_numpy(), e["v"].to_numpy(),
                             np.maximum(e["travel_s"].to_numpy(dtype=float), _EPS_S), self.n)
        self.rev = self.csr.T.tocsr()

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

    def nearest_times(self, targets: Snap) -> tuple[np.ndarray, np.ndarray]:
        """Seconds from every node to its nearest target (by graph + target connector).

        Returns (time_s per node, index of the target reached, -1 where unreachable).
        """
        k = len(targets.node)
        if k == 0:
            return np.full(self.n, np.inf), np.full(self.n, -1)
        # virtual node n+i -> node of target i, weighted by the target's connector time
        rows = np.arange(self.n, self.n + k)
        virt = csr_matrix((np.maximum(targets.connector_s, _EPS_S), (rows, targets.node)),
                          shape=(self.n + k, self.n + k))
        big = self.rev.copy()
        big.resize((self.n + k, self.n + k))
        g = (big + virt).tocsr()
        dist, _, src = dijkstra(g, directed=True, indices=rows, min_only=True,
                                return_predecessors=True)
        reached = src[: self.n]
        which = np.where(reached >= self.n, reached - self.n, -1)
        return dist[: self.n], which


def nearest_service_times(engine: TravelEngine, demand: gpd.GeoDataFrame,
                          services: gpd.GeoDataFrame, need_types: tuple[str, ...]
                          ) -> pd.DataFrame:
    """Time from every demand point to the nearest placed service of each need type.

    ``demand`` needs ``demand_id`` and ``access``; ``services`` needs ``service_id``,
    ``need_types`` and ``geocode_precision``. Area-level and unplaced services count for no
    physical coverage.
    """
    s = engine.settings
    placed = services[services["geocode_precision"].isin(POINT_PRECISIONS)
                      & services.geometry.notna()]
    d_snap = engine.snap(demand)
    d_quality = d_snap.quality(s)
    remote = demand["access"].to_numpy() == "no_all_season_road"
    local_limit = s.estimate_beyond_km * 1000
    out = []
    for need in need_types:
        sv = placed[placed["need_types"].str.split(";").map(lambda n, need=need: need in n)]
        t_min = np.full(len(demand), np.nan)
        sid = np.full(len(demand), "", dtype=object)
        route = np.full(len(demand), "", dtype=object)
        access = np.full(len(demand), "no_service", dtype=object)
        if len(sv):
            s_snap = engine.snap(sv)
            s_quality = s_snap.quality(s)
            on_net = s_quality != "beyond_road_network"
            net_s = np.full(len(demand), np.inf)
            net_which = np.full(len(demand), -1)
            if on_net.any():
                sub = Snap(s_snap.node[on_net], s_snap.snap_m[on_net],
                           s_snap.connector_s[on_net], s_snap.xy_m[on_net])
                node_s, which = engine.nearest_times(sub)
                idx_on = np.nonzero(on_net)[0]
                net_s = node_s[d_snap.node] + d_snap.connector_s
                net_which = np.where(which[d_snap.node] >= 0,
                                     idx_on[np.maximum(which[d_snap.node], 0)], -1)
                net_s[d_quality == "beyond_road_network"] = np.inf
            # direct local-road connection to a nearby service
            dd, di = cKDTree(s_snap.xy_m).query(d_snap.xy_m)
            loc_s = np.where(dd <= local_limit, connector_seconds(dd, s), np.inf)
            use_local = loc_s <= net_s
            best = np.where(use_local, loc_s, net_s)
            best_idx = np.where(use_local, di, net_which)
            ok = np.isfinite(best)
            t_min[ok] = best[ok] / 60
            sid[ok] = sv["service_id"].to_numpy()[best_idx[ok]]
            route[ok] = np.where(use_local[ok], "local", "network")
            est = (d_quality == "estimate") | (s_quality[np.maximum(best_idx, 0)] == "estimate")
            access[ok] = np.where(use_local[ok], "road", np.where(est[ok], "estimate", "road"))
            access[~ok] = "unreachable"
            access[~ok & (d_quality == "beyond_road_network")] = "beyond_road_network"
        t_min[remote] = np.nan
        sid[remote] = ""
        route[remote] = ""
        access[remote] = "no_all_season_road"
        out.append(pd.DataFrame({"demand_id": demand["demand_id"].to_numpy(), "need_type": need,
                                 "travel_min": t_min, "service_id": sid, "access": access,
                                 "route": route}))
        log.info("travel %s: %d services, median %.0f min", need, len(sv),
                 float(np.nanmedian(t_min)) if np.isfinite(t_min).any() else float("nan"))
    return pd.concat(out, ignore_index=True)
