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

scipy's Dijkstra holds the GIL, so on a large graph the need types' searches run in forked
worker processes (:meth:`SourceGraph.nearest_at`): each inherits the graph copy-on-write and
sends back only the times and nearest services at the demand points' nodes. The result is
the same bit for bit as one search after another, which is what runs on a small graph.

Only the services that count in person (:func:`gapmap.contracts.counts_by_road`: placed,
delivered in person or with delivery unknown, not in a fly-in community) get times: an
outreach-only or virtual-only service never does, even with a point.

A service flagged ``access`` = ``no_all_season_road`` (within ``fly_in_service_km`` of a
community with no all-season road, :func:`flag_fly_in_services`) is never given a drive
time, like the communities themselves; it serves its own community instead: time 0,
``access`` ``in_community`` (:func:`in_community_pairs`). The community's other needs stay
``no_all_season_road``.

:func:`reach_pairs` keeps every (demand point, in-person service) pair within the run's
longest threshold (``reach.parquet``), so that coverage for any filtered set of services
(open 24/7, for a group, in French) is read without another search
(:mod:`gapmap.analysis.access`).

:func:`travel_time_matrix` gives the full demand x services matrix (within an optional
``limit_min``) for the stages that need more than the nearest service.

Output contract (DataFrame, one row per demand point and need type): ``demand_id``,
``need_type``, ``travel_min`` (NaN when there is no time), ``service_id`` (nearest),
``access`` (:data:`gapmap.contracts.ACCESS_VALUES`: ``road`` | ``estimate`` |
``beyond_road_network`` | ``no_all_season_road`` | ``unreachable`` (no path on the graph) |
``no_service`` (none of that need is placed) | ``in_community`` (time 0); worded by
:func:`gapmap.contracts.access_text`),
``route`` (``network`` | ``local`` | ``""``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import signal
import threading
import traceback
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS, Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from gapmap.config import NetworkSettings
from gapmap.contracts import ACCESS_VALUES, counts_by_road, counts_in_person, is_fly_in
from gapmap.errors import SchemaError
from gapmap.network import RoadGraph, geodesic_m, lambert_scale
from gapmap.taxonomy import offers_each

log = logging.getLogger(__name__)

_EPS_S = 1e-3  # csgraph needs strictly positive weights


@dataclass
class Snap:
    """Where points join the graph: node position, straight-line metres to it on the
    ellipsoid, connector seconds; the points in EPSG:3347 (``xy_m``, for searches and
    drawing), in degrees (``lonlat``) and Lambert's scale at each (``scale``: a true
    distance of r metres is ``r * scale`` there)."""

    node: np.ndarray
    snap_m: np.ndarray
    connector_s: np.ndarray
    xy_m: np.ndarray
    lonlat: np.ndarray
    scale: np.ndarray

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


_LAMBERT = CRS.from_epsg(3347)


@lru_cache(maxsize=16)
def _to_lambert(crs: CRS) -> Transformer:
    return Transformer.from_crs(crs, _LAMBERT, always_xy=True)


def _points_xy(gdf: gpd.GeoSeries | gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, CRS]:
    """The points' own x and y (NaN for a missing point) and their CRS."""
    geom = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    if geom.crs is None:
        raise SchemaError("Cannot project points with no CRS; set one first")
    return geom.x.to_numpy(dtype=float), geom.y.to_numpy(dtype=float), geom.crs


def _to_metres(x: np.ndarray, y: np.ndarray, crs: CRS) -> np.ndarray:
    if crs.is_exact_same(_LAMBERT):
        return np.column_stack([x, y])
    xy = np.column_stack(_to_lambert(crs).transform(x, y))
    xy[np.isnan(x) | np.isnan(y)] = np.nan
    return xy


@lru_cache(maxsize=16)
def _to_wgs84(crs: CRS) -> Transformer:
    return Transformer.from_crs(crs, 4326, always_xy=True)


def _to_degrees(x: np.ndarray, y: np.ndarray, crs: CRS) -> np.ndarray:
    """Points as (lon, lat) degrees."""
    if crs.equals(4326):
        return np.column_stack([x, y])
    lonlat = np.column_stack(_to_wgs84(crs).transform(x, y))
    lonlat[np.isnan(x) | np.isnan(y)] = np.nan
    return lonlat


def projected_xy(gdf: gpd.GeoSeries | gpd.GeoDataFrame) -> np.ndarray:
    """Points as EPSG:3347 metres (x, y; NaN for a missing point), the numbers ``to_crs``
    gives, without copying the frame."""
    return _to_metres(*_points_xy(gdf))


class TravelEngine:
    """The road graph as a CSR matrix, with a KD-tree of its nodes, built once."""

    def __init__(self, graph: RoadGraph, settings: NetworkSettings) -> None:
        self.graph = graph
        self.settings = settings
        to_3347 = Transformer.from_crs(4326, 3347, always_xy=True)
        self.node_lonlat = graph.nodes[["x", "y"]].to_numpy(dtype=float)
        self.node_xy = np.column_stack(to_3347.transform(self.node_lonlat[:, 0],
                                                         self.node_lonlat[:, 1]))
        self.tree = cKDTree(self.node_xy)
        e = graph.edges
        self.n = graph.n_nodes
        self.csr = self._csr(e["u"].to_numpy(), e["v"].to_numpy(),
                             np.maximum(e["travel_s"].to_numpy(dtype=float), _EPS_S), self.n)
        self.rev = self.csr.T.tocsr()
        self.rev.sort_indices()
        self.snap_cache: OrderedDict[bytes, Snap] = OrderedDict()
        self._snap_lock = threading.Lock()

    @staticmethod
    def _csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> csr_matrix:
        """CSR with the minimum weight over parallel edges (scipy would sum them)."""
        order = np.lexsort((w, v, u))
        u, v, w = u[order], v[order], w[order]
        first = np.ones(len(u), dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        return csr_matrix((w[first], (u[first], v[first])), shape=(n, n))

    SNAP_CACHE = 8
    """Snaps kept: a run (or a notebook's what-if runs) snaps the same communities again for
    every pass, and the demand of a city is thousands of points."""

    def snap(self, points: gpd.GeoSeries | gpd.GeoDataFrame) -> Snap:
        """Where ``points`` join the graph. The same points (coordinates and CRS) give the
        same :class:`Snap`, kept from the last :attr:`SNAP_CACHE` calls; its arrays are
        read-only."""
        x, y, crs = _points_xy(points)
        key = hashlib.blake2b(x.tobytes() + b"|" + y.tobytes() + b"|" + crs.srs.encode(),
                              digest_size=16).digest()
        with self._snap_lock:
            if key in self.snap_cache:
                self.snap_cache.move_to_end(key)
                return self.snap_cache[key]
        xy = _to_metres(x, y, crs)
        lonlat = _to_degrees(x, y, crs)
        _, idx = self.tree.query(xy)  # Lambert is conformal: its nearest is the true one
        idx = idx.astype(np.int64)
        found = idx < self.n
        d = np.full(len(idx), np.inf)
        at = np.minimum(idx, self.n - 1) if self.n else idx
        if self.n:
            d[found] = geodesic_m(lonlat[found, 0], lonlat[found, 1],
                                  self.node_lonlat[at[found], 0], self.node_lonlat[at[found], 1])
        scale = lambert_scale(lonlat[:, 0], lonlat[:, 1])
        snap = Snap(idx, d, connector_seconds(d, self.settings), xy, lonlat, scale)
        for a in (snap.node, snap.snap_m, snap.connector_s, snap.xy_m, snap.lonlat, snap.scale):
            a.flags.writeable = False
        with self._snap_lock:
            self.snap_cache[key] = snap
            while len(self.snap_cache) > self.SNAP_CACHE:
                self.snap_cache.popitem(last=False)
        return snap

    def sources(self, targets: Snap) -> SourceGraph:
        """The reversed graph with one virtual node per target, built once (see module doc)."""
        return SourceGraph(self, targets)

    def nearest_times(self, targets: Snap) -> tuple[np.ndarray, np.ndarray]:
        """Seconds from every node to its nearest target (by graph + target connector).

        Returns (time_s per node, index of the target reached, -1 where unreachable).
        """
        return self.sources(targets).nearest()


PARALLEL_MIN_NODES = 50_000
"""Below this many nodes :meth:`SourceGraph.nearest_at` searches serially: forking costs
more than the searches save. Measured for 14 needs on the benchmark's street grid, 2 idle
cores, serial vs 2 processes: 22,500 nodes 0.134 vs 0.145 s, 48,400 nodes 0.191 vs 0.179 s,
90,000 nodes 0.370 vs 0.258 s, 160,000 nodes 0.702 vs 0.438 s; Ottawa's pipeline graph
(23,726 nodes) 0.13-0.15 vs 0.16-0.20 s. A larger process takes longer to fork."""

MAX_WORKERS = 8


def default_workers() -> int:
    """Worker processes for the searches: the cores this process may use, at most
    :data:`MAX_WORKERS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def search_workers(n_nodes: int, searches: int, workers: int | None = None) -> int:
    """How many processes :meth:`SourceGraph.nearest_at` uses for ``searches`` searches on a
    graph of ``n_nodes`` nodes, given ``workers`` (default :func:`default_workers`).

    One (serial) unless the graph is large, there are searches to share, ``fork`` exists and
    this process runs no other thread: a child forked while another thread holds a lock
    (pyproj's database, GEOS, logging) can wait on it for ever.
    """
    n_proc = min(default_workers() if workers is None else workers, searches)
    ok = n_proc > 1 and n_nodes >= PARALLEL_MIN_NODES and _can_fork()
    return n_proc if ok and threading.active_count() == 1 else 1


def _can_fork() -> bool:
    """Worker processes can be forked here (POSIX)."""
    return hasattr(os, "fork")


def _child(graph: SourceGraph, rows: list[np.ndarray], nodes: np.ndarray, limit_s: float,
           write_fd: int) -> None:
    """In a forked worker: search, send the arrays through ``write_fd`` and leave at once
    (``os._exit``: no cleanup of the parent's state, no traceback for a Ctrl-C)."""
    code = 1
    try:
        found = [graph._nearest_rows(r, nodes, limit_s) for r in rows]
        with os.fdopen(write_fd, "wb") as pipe:
            pickle.dump(found, pipe, protocol=pickle.HIGHEST_PROTOCOL)
        code = 0
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _forked_searches(graph: SourceGraph, rows: list[np.ndarray], nodes: np.ndarray,
                     limit_s: float, workers: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``graph._nearest_rows`` for each of ``rows``, shared round-robin between this process
    and ``workers - 1`` forked children. A child inherits the graph copy-on-write (nothing
    is pickled to it) and sends back only its arrays at ``nodes``, through a pipe. On any
    failure or interruption here every child still running is killed and reaped."""
    children: dict[int, int] = {}  # pid -> read end of its pipe, while not yet reaped
    try:
        for w in range(1, workers):
            read_fd, write_fd = os.pipe()
            try:
                pid = os.fork()
            except BaseException:
                os.close(read_fd)
                os.close(write_fd)
                raise
            if pid == 0:
                os.close(read_fd)
                for fd in children.values():  # the other children's pipes are not ours
                    os.close(fd)
                _child(graph, rows[w::workers], nodes, limit_s, write_fd)
            os.close(write_fd)
            children[pid] = read_fd
        parts = [[graph._nearest_rows(r, nodes, limit_s) for r in rows[0::workers]]]
        for pid, read_fd in list(children.items()):
            data = _read_all(read_fd)  # all of it before waiting, or a full pipe blocks both
            os.close(read_fd)
            del children[pid]
            _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) != 0 or not data:
                raise RuntimeError(f"a search worker (pid {pid}) failed with status {status}")
            parts.append(pickle.loads(data))
    finally:
        for pid, read_fd in children.items():  # only after a failure: stop and reap the rest
            with contextlib.suppress(OSError):
                os.close(read_fd)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
    out: list[tuple[np.ndarray, np.ndarray]] = [None] * len(rows)  # type: ignore[list-item]
    for w, part in enumerate(parts):
        out[w::workers] = part
    return out


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
        return self._nearest_rows(rows, slice(0, self.n), limit_s)

    def _nearest_rows(self, rows: np.ndarray, nodes: np.ndarray | slice, limit_s: float
                      ) -> tuple[np.ndarray, np.ndarray]:
        """One multi-source Dijkstra from the virtual ``rows``, read at ``nodes``: (seconds,
        target index, -1 where unreachable)."""
        dist, _, src = dijkstra(self.csr, directed=True, indices=rows, min_only=True,
                                return_predecessors=True, limit=limit_s)
        reached = src[nodes]
        return dist[nodes], np.where(reached >= self.n, reached - self.n, -1).astype(np.int64)

    def nearest_at(self, which: Sequence[np.ndarray | None], nodes: np.ndarray, *,
                   limit_s: float = np.inf, workers: int | None = None
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`nearest` for each choice of targets in ``which``, read at ``nodes`` only.

        Returns one (time_s, target index) pair of arrays as long as ``nodes`` per choice.
        The searches run in up to ``workers`` processes (default :func:`default_workers`),
        forked so that they share this graph, each sending back only its arrays at
        ``nodes``; serially when there is one search, one worker, a graph of fewer than
        :data:`PARALLEL_MIN_NODES` nodes or no ``fork``. The result is the same either way.
        """
        nodes = np.asarray(nodes, dtype=np.int64)
        rows = [self._rows(w) for w in which]
        todo = [i for i, r in enumerate(rows) if len(r)]
        n_proc = search_workers(self.n, len(todo), workers)
        if n_proc > 1:
            found = _forked_searches(self, [rows[i] for i in todo], nodes, limit_s, n_proc)
        else:
            found = [self._nearest_rows(rows[i], nodes, limit_s) for i in todo]
        out = dict(zip(todo, found, strict=True))
        return [out[i] if i in out else
                (np.full(len(nodes), np.inf), np.full(len(nodes), -1, dtype=np.int64))
                for i in range(len(rows))]

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


def flag_fly_in_services(services: gpd.GeoDataFrame, remote: gpd.GeoDataFrame, *,
                         within_km: float) -> gpd.GeoDataFrame:
    """A copy of ``services`` with ``access``: ``no_all_season_road`` for a service within
    ``within_km`` of a community with no all-season road (``remote``: points, as from
    :func:`gapmap.demand.remote_communities`), else ``road``; and ``community_csduids``: the
    census subdivisions (``;``-joined) of the nearest such community for a flagged service,
    else "". Such a service (a nursing station, a hospital in Moosonee) gets no drive time
    and no catchment; it serves its own community (:func:`in_community_pairs`).

    The rule for "inside": a service is in a community when it is within ``within_km``
    (``network.fly_in_service_km``) of the community's point, the nearest such community
    (census subdivision outlines are not shipped, so the radius is the test); it then
    serves the demand points of that community's census subdivisions (its reserves and
    municipality, the ``csduid`` column of the remote-communities file)."""
    out = services.copy()
    out["access"] = "road"
    out["community_csduids"] = ""
    pts = remote[remote.geometry.notna()]
    has = out.geometry.notna().to_numpy()
    if len(pts) and has.any() and within_km > 0:
        _, j = cKDTree(projected_xy(pts)).query(projected_xy(out[has]))
        near = pts.geometry.to_crs(4326).iloc[j]
        here = out.geometry[has].to_crs(4326)
        d = geodesic_m(here.x.to_numpy(), here.y.to_numpy(), near.x.to_numpy(),
                       near.y.to_numpy())
        fly_in = np.zeros(len(out), dtype=bool)
        fly_in[np.nonzero(has)[0]] = d <= within_km * 1000
        out.loc[fly_in, "access"] = "no_all_season_road"
        csduids = pts["csduids"].map(";".join).to_numpy() if "csduids" in pts.columns \
            else np.full(len(pts), "", dtype=object)
        which = np.full(len(out), -1, dtype=np.int64)
        which[np.nonzero(has)[0]] = j
        out.loc[fly_in, "community_csduids"] = csduids[which[fly_in]]
        if fly_in.any():
            log.info("%d services in communities with no all-season road: %s",
                     int(fly_in.sum()), ", ".join(out.loc[fly_in, "service_id"].astype(str)))
    return out


def in_community_pairs(demand: pd.DataFrame, services: pd.DataFrame) -> pd.DataFrame:
    """Each (demand point, service) where an in-person service
    (:func:`gapmap.contracts.counts_in_person`) is inside the point's community with no
    all-season road (``community_csduids`` holds the point's ``csduid``, see
    :func:`flag_fly_in_services`): ``demand_id``, ``service_id``, ``travel_min`` 0,
    ``access`` ``in_community``, ``route`` "". Only demand points flagged
    ``no_all_season_road`` get such pairs."""
    cols = ["demand_id", "service_id", "travel_min", "access", "route"]
    if "community_csduids" not in services.columns:
        return pd.DataFrame({c: pd.Series([], dtype=float if c == "travel_min" else object)
                             for c in cols})
    inside = services[counts_in_person(services) & is_fly_in(services)
                      & (services["community_csduids"].fillna("") != "")]
    by_csd = (inside.assign(csduid=inside["community_csduids"].str.split(";"))
              .explode("csduid")[["csduid", "service_id"]])
    remote = demand.loc[demand["access"].astype(str) == "no_all_season_road",
                        ["demand_id", "csduid"]]
    pairs = remote.merge(by_csd, on="csduid", how="inner")[["demand_id", "service_id"]]
    return pairs.assign(travel_min=0.0, access="in_community", route="")[cols] \
        .reset_index(drop=True)


class _LocalPairs:
    """Every (point, service) pair within ``limit_m`` of each other (straight line on the
    ellipsoid, metres), found once, so that each need type finds the nearest of its own
    services among the pairs instead of building a KD-tree per need. ``limit_m`` below 0:
    no pairs (the local route is off). Candidates come from a Lambert search as wide as
    its largest scale among the points; each is then measured on the ellipsoid."""

    def __init__(self, points: Snap, services: Snap, limit_m: float) -> None:
        self.i = self.j = np.zeros(0, dtype=np.int64)
        self.m = np.zeros(0)
        if limit_m < 0 or not len(points.node) or not len(services.node):
            return
        widest = float(np.nanmax(np.concatenate([points.scale, services.scale])))
        pairs = cKDTree(points.xy_m).sparse_distance_matrix(
            cKDTree(services.xy_m), limit_m * widest * (1 + 1e-9), output_type="ndarray")
        i, j = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64)
        m = geodesic_m(points.lonlat[i, 0], points.lonlat[i, 1], services.lonlat[j, 0],
                       services.lonlat[j, 1])
        keep = m <= limit_m
        self.i, self.j, self.m = i[keep], j[keep], m[keep]

    def nearest(self, which: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Per point (``n`` of them): metres to the nearest service in the boolean mask
        ``which`` within the limit (inf: none) and its index (-1: none; of equally near
        services the lowest index)."""
        keep = which[self.j]
        i, j, m = self.i[keep], self.j[keep], self.m[keep]
        dist = np.full(n, np.inf)
        np.minimum.at(dist, i, m)
        hit = m == dist[i]
        idx = np.full(n, len(which), dtype=np.int64)
        np.minimum.at(idx, i[hit], j[hit])
        idx[idx == len(which)] = -1
        return dist, idx


def nearest_service_times(engine: TravelEngine, demand: gpd.GeoDataFrame,
                          services: gpd.GeoDataFrame, need_types: tuple[str, ...], *,
                          workers: int | None = None) -> pd.DataFrame:
    """Time from every demand point to the nearest placed service of each need type.

    ``demand`` needs ``demand_id`` and ``access``; ``services`` needs ``service_id``,
    ``need_types`` and ``geocode_precision`` (and may have ``access``). Only the services
    :func:`gapmap.contracts.counts_by_road` keeps count: area-level, unplaced and fly-in
    services count for no physical coverage. The columns of the result are in the module
    docstring. The searches of the need types run in up to ``workers`` processes (see
    :meth:`SourceGraph.nearest_at`).
    """
    s = engine.settings
    placed = services[counts_by_road(services)]
    d_snap = engine.snap(demand)
    d_quality = d_snap.quality(s)
    remote = demand["access"].to_numpy() == "no_all_season_road"
    local_limit = local_route_m(s)
    sid_all = placed["service_id"].to_numpy()
    n, k = len(demand), len(need_types)
    d_beyond = d_quality == "beyond_road_network"
    # per need and demand point, numbers only; the labels are made once, at the end
    best_s = np.full((k, n), np.inf)
    best_idx = np.full((k, n), -1, dtype=np.int64)
    use_local = np.zeros((k, n), dtype=bool)
    has = np.zeros(k, dtype=bool)
    est = np.zeros((k, n), dtype=bool)
    if len(placed):
        offered = offers_each(placed["need_types"], need_types)
        has[:] = offered.any(axis=0)
        s_snap = engine.snap(placed)
        s_quality = s_snap.quality(s)
        on_net = s_quality != "beyond_road_network"
        graph = engine.sources(s_snap)
        searched = [j for j in range(k) if (offered[:, j] & on_net).any()]
        at_demand = dict(zip(searched, graph.nearest_at(
            [offered[:, j] & on_net for j in searched], d_snap.node, workers=workers),
            strict=True))
        local = _LocalPairs(d_snap, s_snap, local_limit)
        for j in np.nonzero(has)[0].tolist():
            net_s = np.full(n, np.inf)
            net_which = np.full(n, -1, dtype=np.int64)
            if j in at_demand:
                node_s, net_which = at_demand[j]
                net_s = node_s + d_snap.connector_s
                net_s[d_beyond] = np.inf
            # direct local-road connection to a nearby service of this need
            loc_m, loc_which = local.nearest(offered[:, j], n)
            loc_s = connector_seconds(loc_m, s)
            use_local[j] = loc_s <= net_s
            best_s[j] = np.where(use_local[j], loc_s, net_s)
            best_idx[j] = np.where(use_local[j], loc_which, net_which)
        est = ~use_local & ((d_quality == "estimate")[None, :]
                            | (s_quality == "estimate")[np.maximum(best_idx, 0)])
    ok = np.isfinite(best_s)
    ok[:, remote] = False
    # codes into ACCESS_VALUES
    access = np.where(ok, np.where(est, 1, 0), np.where(d_beyond, 2, 4))
    access[~has] = 5
    access[:, remote] = 3
    travel_min = np.where(ok, best_s / 60, np.nan)
    sid_code = np.where(ok, best_idx, -1)
    route = np.where(ok, use_local, 2)
    sid_all = _in_community(demand, services, need_types, sid_all, sid_code, travel_min,
                            access, route)
    sid_code[sid_code < 0] = len(sid_all)
    if log.isEnabledFor(logging.INFO):
        n_offer = offered.sum(axis=0) if len(placed) else np.zeros(k, dtype=int)
        for j, need in enumerate(need_types):
            log.info("travel %s: %d services, median %.0f min", need, int(n_offer[j]),
                     float(np.nanmedian(travel_min[j])) if ok[j].any() else float("nan"))
    return _table(demand, need_types, travel_min, sid_code, sid_all, access, route)


_IN_COMMUNITY = ACCESS_VALUES.index("in_community")


def _in_community(demand: pd.DataFrame, services: pd.DataFrame, need_types: tuple[str, ...],
                  sid_all: np.ndarray, sid_code: np.ndarray, travel_min: np.ndarray,
                  access: np.ndarray, route: np.ndarray) -> np.ndarray:
    """Give each community with no all-season road, for each need an in-person service
    inside it offers (:func:`in_community_pairs`), time 0, access ``in_community`` and
    that service (the nearest to the community's point, then the first by id), in place in
    the (needs x demand) arrays; returns ``sid_all`` with those services appended
    (``sid_code`` indexes it)."""
    pairs = in_community_pairs(demand, services)
    if not len(pairs):
        return sid_all
    by_id = services.drop_duplicates("service_id").set_index("service_id")
    inside = np.array(sorted(pairs["service_id"].unique()), dtype=object)
    offered = offers_each(by_id["need_types"].loc[inside].reset_index(drop=True), need_types)
    pos_d = pd.Index(demand["demand_id"]).get_indexer(pairs["demand_id"])
    pos_s = pd.Index(inside).get_indexer(pairs["service_id"])
    here = gpd.GeoSeries(demand.geometry, crs=demand.crs).to_crs(4326).iloc[pos_d]
    there = gpd.GeoSeries(by_id.geometry, crs=services.crs).to_crs(4326).loc[inside[pos_s]]
    apart = geodesic_m(here.x.to_numpy(), here.y.to_numpy(), there.x.to_numpy(),
                       there.y.to_numpy())
    apart = np.where(np.isnan(apart), np.inf, apart)
    order = np.lexsort((pos_s, apart, pos_d))[::-1]  # the nearest is written last
    for i, m in zip(pos_d[order], pos_s[order], strict=True):
        j = offered[m]
        travel_min[j, i] = 0.0
        access[j, i] = _IN_COMMUNITY
        route[j, i] = 2
        sid_code[j, i] = len(sid_all) + m
    return np.append(sid_all, inside)


def _labels(values: np.ndarray, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``values[codes]`` as the column pandas would make of it, converting only ``values``
    (pandas turns an object array of strings into its string type one row at a time)."""
    return pd.Series(values).array.take(codes.ravel())


def _table(demand: gpd.GeoDataFrame, need_types: tuple[str, ...], travel_min: np.ndarray,
           sid_code: np.ndarray, sid_all: np.ndarray, access_code: np.ndarray,
           route_code: np.ndarray) -> pd.DataFrame:
    """The result of :func:`nearest_service_times` from (needs x demand) arrays of numbers
    and codes: ``sid_code`` into ``sid_all`` (its length: none), ``access_code`` into
    :data:`ACCESS_VALUES`, ``route_code`` into network, local, none."""
    k, n = len(need_types), len(demand)
    return pd.DataFrame({
        "demand_id": _labels(demand["demand_id"].to_numpy(), np.tile(np.arange(n), k)),
        "need_type": _labels(np.asarray(need_types, dtype=object), np.repeat(np.arange(k), n)),
        "travel_min": travel_min.ravel(),
        "service_id": _labels(np.append(sid_all.astype(object), ""), sid_code),
        "access": _labels(np.asarray(ACCESS_VALUES, dtype=object), access_code),
        "route": _labels(np.array(["network", "local", ""], dtype=object), route_code)})


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
    is_placed = counts_by_road(services).to_numpy()
    out = np.full((len(demand), len(services)), np.inf)
    local = np.zeros(out.shape, dtype=bool)
    s_quality = np.full(len(services), "unplaced", dtype=object)
    s_quality[is_fly_in(services).to_numpy()] = "no_all_season_road"
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
        pairs = _LocalPairs(d_snap, s_snap, limit_m)
        if len(pairs.m):
            di, sj = pairs.i, pos[pairs.j]
            loc = connector_seconds(pairs.m, s)
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


def reach_pairs(engine: TravelEngine, demand: gpd.GeoDataFrame, services: gpd.GeoDataFrame,
                *, limit_min: float) -> pd.DataFrame:
    """Every (demand point, in-person service) pair within ``limit_min``: the drive times of
    :func:`travel_time_matrix` (services that count by road) and the ``in_community`` pairs
    (:func:`in_community_pairs`, time 0). Columns ``demand_id``, ``service_id``,
    ``travel_min``, ``access`` (``road`` | ``estimate`` | ``in_community``), ``route``.
    What any filtered set of services reaches in person is read from these pairs
    (:func:`gapmap.analysis.access.reach_by_kind`), without another search."""
    road = travel_time_matrix(engine, demand, services, limit_min=limit_min).to_frame()
    inside = in_community_pairs(demand, services)
    out = pd.concat([road, inside], ignore_index=True) if len(inside) else road
    return out[["demand_id", "service_id", "travel_min", "access", "route"]]
