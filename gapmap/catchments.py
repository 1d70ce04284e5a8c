"""Catchments: the area from which a service is reached within each travel-time band.

A catchment is built from the reached road network, deterministically, never from a hull
of sampled points:

1. one Dijkstra per service on the reversed graph (:class:`gapmap.travel.SourceGraph`, the
   service's connector time included, stopped at the largest band) gives every node its
   time *to* the service, the direction of :func:`gapmap.travel.nearest_service_times`;
2. for a band of ``T`` minutes every road (a pair of nodes, both directions together) keeps
   the part from which the service is reached within ``T``: the whole road when its two
   reached ends meet, else the end pieces cut where the remaining time runs out (one-way
   roads only from the end they lead to);
3. the pieces are merged into lines, buffered by ``buffer_m`` (100 m) and dissolved, in
   EPSG:3347. To make this fast on a full street network the polygon is assembled from
   square cells: where every road reaching into a cell is wholly reached the cell is cut
   from the whole network's band, built once per run; only the cells on the catchment's
   edge are dissolved from their own roads (:meth:`CatchmentBuilder.network_polygon`: the
   same polygon, 10-20 times faster on Ottawa's 32,729 roads);
4. the service's *local-road disc* is added: the straight-line reach of the connector rule
   (``T`` at ``connector_speed_kph`` / ``connector_circuity``), at most ``local_route_km``
   (none when it is 0), the same rule by which a community reaches a nearby service
   directly in the travel table (``route`` = ``local``).

The polygons go back to EPSG:4326, normalised. The same input gives identical polygons, and a
band's polygon lies inside the next band's but for slivers of the buffers' polygonal round
ends (two segments a quarter circle): on Ottawa's streets at most about 300 m², 1e-4 of the
band.

Honest remoteness: a service farther than ``beyond_network_km`` from any road reaches no
network, so its catchment is only its local-road disc (``basis`` ``local_only``; empty when
``local_route_km`` is 0); a service flagged ``no_all_season_road`` (a fly-in community) gets
no catchment at all: its row has an empty geometry and ``basis`` ``no_all_season_road``.
Services placed only at an area (or not at all) have no rows.

Output contract, :func:`service_catchments` (GeoDataFrame, EPSG:4326, one row per service
and band): ``service_id``, ``need_type`` (``"all"``: the polygon serves every need type
the service lists), ``need_types``, ``threshold_min``, ``basis`` (``network`` |
``local_only`` | ``no_all_season_road``), ``snap_access`` (``road`` | ``estimate`` |
``beyond_road_network`` | ``no_all_season_road``), ``area_km2``, ``geometry``.

:func:`need_catchments` (one row per need type and band, the union over its services, built
from one multi-source Dijkstra, not by merging the service polygons): ``service_id``
(``"all"``), ``need_type``, ``threshold_min``, ``n_services``, ``area_km2``, ``geometry``.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gapmap.contracts import counts_by_road, is_fly_in, is_placed
from gapmap.taxonomy import offers_each
from gapmap.travel import SourceGraph, TravelEngine

log = logging.getLogger(__name__)

SERVICE_COLUMNS = ["service_id", "need_type", "need_types", "threshold_min", "basis",
                   "snap_access", "area_km2", "geometry"]
NEED_COLUMNS = ["service_id", "need_type", "threshold_min", "n_services", "area_km2",
                "geometry"]


class _Roads:
    """Each road once: node pair ``a < b``, time each way (inf: no such direction), geometry.

    Built from the engine's CSR (parallel edges already at their minimum) with numpy only;
    the LineStrings (EPSG:3347, oriented a -> b) are made on first use. ``simplify_m`` > 0:
    each curved road is simplified once (``shapely.simplify``, topology preserved, its two
    ends kept), so that every polygon of a run, whole network, edge part or direct dissolve,
    is drawn on the same lines.
    """

    def __init__(self, engine: TravelEngine, simplify_m: float = 0.0) -> None:
        coo = engine.csr.tocoo()
        u, v, w = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
        keep = u != v
        u, v, w = u[keep], v[keep], w[keep]
        n = engine.n
        key = np.minimum(u, v) * n + np.maximum(u, v)
        keys = np.unique(key)
        pos = np.searchsorted(keys, key)
        fwd = u < v
        self.w_ab = np.full(len(keys), np.inf)
        self.w_ba = np.full(len(keys), np.inf)
        self.w_ab[pos[fwd]] = w[fwd]
        self.w_ba[pos[~fwd]] = w[~fwd]
        self.a, self.b = keys // n, keys % n
        self.xy_a, self.xy_b = engine.node_xy[self.a], engine.node_xy[self.b]
        self.straight = np.ones(len(keys), dtype=bool)
        self._curved: dict[int, shapely.Geometry] = {}
        e = engine.graph.edges
        if isinstance(e, gpd.GeoDataFrame) and len(e):
            geoms = e.geometry.to_numpy()
            rows = np.nonzero(shapely.get_num_coordinates(geoms) > 2)[0]
            if len(rows):
                eu, ev = e["u"].to_numpy(np.int64)[rows], e["v"].to_numpy(np.int64)[rows]
                order = np.argsort(e["travel_s"].to_numpy(float)[rows], kind="stable")
                proj = gpd.GeoSeries(geoms[rows], crs=e.crs).to_crs(3347).to_numpy()
                if simplify_m > 0:
                    proj = shapely.simplify(proj, simplify_m)
                for r in order:
                    if eu[r] == ev[r]:
                        continue
                    k = int(np.searchsorted(keys, min(eu[r], ev[r]) * n + max(eu[r], ev[r])))
                    if k in self._curved:
                        continue
                    g = proj[r] if eu[r] < ev[r] else shapely.reverse(proj[r])
                    self._curved[k] = g
                    self.straight[k] = False
        self._geom: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.a)

    @property
    def geom(self) -> np.ndarray:
        if self._geom is None:
            g = shapely.linestrings(np.stack([self.xy_a, self.xy_b], axis=1))
            for k, line in self._curved.items():
                g[k] = line
            self._geom = g
        return self._geom


def _substrings(lines: np.ndarray, s0: np.ndarray, s1: np.ndarray) -> np.ndarray:
    """The pieces between the fractions ``s0 < s1`` of their lengths along LineStrings: the
    points there and the vertices strictly between (what ``shapely.ops.substring`` gives,
    for all the lines at once)."""
    length = shapely.length(lines)
    d0, d1 = s0 * length, s1 * length
    first = shapely.get_coordinates(shapely.line_interpolate_point(lines, d0))
    last = shapely.get_coordinates(shapely.line_interpolate_point(lines, d1))
    xy, line = shapely.get_coordinates(lines, return_index=True)
    start = np.searchsorted(line, np.arange(len(lines)))
    step = np.sqrt(((xy[1:] - xy[:-1]) ** 2).sum(axis=1))
    step[line[1:] != line[:-1]] = 0.0
    # distance along its line of each vertex; the last vertex is never kept
    along = np.concatenate([[0.0], np.cumsum(step)])
    along -= along[start][line]
    is_last = np.append(line[1:] != line[:-1], True)
    keep = ~is_last & (along > d0[line]) & (along < d1[line])
    n = len(lines)
    pts = np.concatenate([first, xy[keep], last])
    owner = np.concatenate([np.arange(n), line[keep], np.arange(n)])
    rank = np.concatenate([np.full(n, -1), np.nonzero(keep)[0], np.full(n, len(xy))])
    order = np.lexsort((rank, owner))
    return shapely.linestrings(pts[order], indices=owner[order])


class _Cells:
    """A square grid laid over the roads, and which roads' bands reach into which cell.

    A road "touches" a cell when its ``buffer_m`` band reaches into it (the exact distance,
    not a bounding box). ``pair_road``/``pair_cell`` list every (road, cell) that touch;
    ``n_roads`` counts the roads touching each cell; ``boxes`` are the cells' squares, with
    corners on one exact grid so that neighbouring squares share their edges exactly.
    """

    def __init__(self, roads: _Roads, buffer_m: float, cell_m: float) -> None:
        geom = roads.geom
        b = shapely.bounds(geom)
        lo = b[:, :2] - buffer_m
        hi = b[:, 2:] + buffer_m
        origin = np.floor(lo.min(axis=0) / cell_m) * cell_m
        i0 = np.floor((lo - origin) / cell_m).astype(np.int64)
        i1 = np.floor((hi - origin) / cell_m).astype(np.int64)
        n_xy = i1.max(axis=0) + 1
        # candidate pairs from each road's box, then kept only where the band really reaches
        span = i1 - i0 + 1
        count = span[:, 0] * span[:, 1]
        road = np.repeat(np.arange(len(geom)), count)
        k = np.arange(len(road)) - np.repeat(np.cumsum(count) - count, count)
        ci = i0[road, 0] + k // span[road, 1]
        cj = i0[road, 1] + k % span[road, 1]
        grid_x = origin[0] + cell_m * np.arange(n_xy[0] + 1)
        grid_y = origin[1] + cell_m * np.arange(n_xy[1] + 1)
        single = count == 1
        keep = single[road]
        if (~keep).any():
            many = np.nonzero(~keep)[0]
            boxes = shapely.box(grid_x[ci[many]], grid_y[cj[many]], grid_x[ci[many] + 1],
                                grid_y[cj[many] + 1])
            keep[many] = shapely.dwithin(geom[road[many]], boxes, buffer_m)
        road, ci, cj = road[keep], ci[keep], cj[keep]
        cells, self.pair_cell = np.unique(ci * n_xy[1] + cj, return_inverse=True)
        self.pair_cell = self.pair_cell.ravel()
        self.pair_road = road
        self.n_cells = len(cells)
        self.n_roads = np.bincount(self.pair_cell, minlength=self.n_cells)
        gi, gj = cells // n_xy[1], cells % n_xy[1]
        self.boxes = shapely.box(grid_x[gi], grid_y[gj], grid_x[gi + 1], grid_y[gj + 1])

    def classify(self, whole: np.ndarray, reached: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Per cell: ``full`` (every road touching it is wholly reached) and ``frontier`` (some
        road touching it is reached, not all wholly)."""
        n_whole = np.bincount(self.pair_cell, weights=whole[self.pair_road],
                              minlength=self.n_cells)
        n_any = np.bincount(self.pair_cell, weights=reached[self.pair_road],
                            minlength=self.n_cells)
        full = n_whole == self.n_roads
        return full, ~full & (n_any > 0)


class CatchmentBuilder:
    """Turns node times into catchment polygons on one engine's graph (roads prepared once).

    ``buffer_m``: half-width of the band drawn along each reached road; ``simplify_m``:
    tolerance of the simplification of each curved road, once, before any band is drawn (0:
    the file's lines; the default 2 m, 2 % of the band's half-width, moves catchment areas by
    at most 0.04 % on Ottawa and takes a third of their vertices and a tenth of their time);
    ``quad_segs``: segments per quarter circle of the buffer's round ends; ``cell_m``: side
    of the square cells the polygon is assembled from (``None``: chosen from the network,
    about 3 roads per cell; ``0``: no cells, every reached road buffered and dissolved);
    ``direct_up_to``: a catchment with at most this many wholly reached roads inside its
    full cells is dissolved directly, which is cheaper there (break-even measured on Ottawa
    and the King's Highways: about a thousand roads); ``near_whole``: a catchment with at
    most this share of the cells not full is the whole network's band less those cells (but
    for the edge part in them), which is cheaper there (break-even measured on Ottawa:
    between 5 and 12 % of the cells).
    """

    def __init__(self, engine: TravelEngine, *, buffer_m: float = 100.0,
                 simplify_m: float = 2.0, quad_segs: int = 2,
                 cell_m: float | None = None, direct_up_to: int = 1000,
                 near_whole: float = 0.05) -> None:
        self.engine = engine
        self._roads: _Roads | None = None
        self.buffer_m = float(buffer_m)
        self.simplify_m = float(simplify_m)
        self.quad_segs = int(quad_segs)
        if cell_m is not None and cell_m < 0:
            raise ValueError(f"cell_m must be >= 0, got {cell_m!r}")
        self._cell_m = cell_m
        self.direct_up_to = int(direct_up_to)
        self.near_whole = float(near_whole)
        self._whole: shapely.Geometry | None = None
        self._whole_4326: tuple[float, shapely.Geometry] | None = None
        self._lock = threading.Lock()
        self._cells: _Cells | None = None

    @property
    def roads(self) -> _Roads:
        """The roads, prepared on first use (a graph may never need catchments)."""
        if self._roads is None:
            self._roads = _Roads(self.engine, self.simplify_m)
        return self._roads

    @property
    def cell_m(self) -> float:
        """The cell side in metres (0: no cells)."""
        if self._cell_m is None:
            r = self.roads
            if not len(r):
                return 0.0
            xy = np.concatenate([r.xy_a, r.xy_b])
            w, h = np.ptp(xy, axis=0) + 2 * self.buffer_m
            # about 3 roads per cell if they were spread evenly over the extent, and no
            # smaller than 5 bands across (measured on Ottawa's street network: 700 m)
            self._cell_m = float(max(5 * self.buffer_m, np.sqrt(w * h * 3 / len(r))))
        return self._cell_m

    @property
    def cells(self) -> _Cells | None:
        """The grid (``None`` when ``cell_m`` is 0), built on first use."""
        if self._cells is None and self.cell_m > 0 and len(self.roads):
            self._cells = _Cells(self.roads, self.buffer_m, self.cell_m)
        return self._cells

    def prepare(self) -> CatchmentBuilder:
        """Build the shared parts now (roads, grid, whole network), e.g. before threads."""
        _ = self.cells
        self.whole_network()
        return self

    def _intervals(self, node_s: np.ndarray, threshold_s: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per road: reached from the b end for s >= lo, from the a end for s <= hi (s along
        a -> b, 0..1); ``whole`` where the two meet."""
        r = self.roads
        t_a, t_b = node_s[r.a], node_s[r.b]
        with np.errstate(invalid="ignore", divide="ignore"):
            lo = np.where(t_b <= threshold_s, 1 - (threshold_s - t_b) / r.w_ab, np.inf)
            hi = np.where(t_a <= threshold_s, (threshold_s - t_a) / r.w_ba, -np.inf)
        lo = np.where(np.isnan(lo), np.inf, np.maximum(lo, 0.0))
        hi = np.where(np.isnan(hi), -np.inf, np.minimum(hi, 1.0))
        whole = (hi >= lo) | (lo <= 0) | (hi >= 1)
        return lo, hi, whole

    def _cut(self, idx: np.ndarray, s0: np.ndarray, s1: np.ndarray) -> np.ndarray:
        """The pieces ``s0..s1`` (fractions along a -> b) of the roads ``idx``."""
        r = self.roads
        out = np.empty(len(idx), dtype=object)
        if not len(idx):
            return out
        st = r.straight[idx]
        d = r.xy_b[idx] - r.xy_a[idx]
        p0 = r.xy_a[idx] + s0[:, None] * d
        p1 = r.xy_a[idx] + s1[:, None] * d
        out[st] = shapely.linestrings(np.stack([p0[st], p1[st]], axis=1))
        curved = np.nonzero(~st)[0]
        if len(curved):
            out[curved] = _substrings(r.geom[idx[curved]], s0[curved], s1[curved])
        return out

    def _reach(self, node_s: np.ndarray, threshold_s: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(whole: roads wholly reached, partly: roads reached only in part, their pieces)."""
        lo, hi, whole = self._intervals(node_s, threshold_s)
        part_b = np.nonzero(~whole & (lo < 1))[0]
        part_a = np.nonzero(~whole & (hi > 0))[0]
        idx = np.concatenate([part_b, part_a])
        s0 = np.concatenate([lo[part_b], np.zeros(len(part_a))])
        s1 = np.concatenate([np.ones(len(part_b)), hi[part_a]])
        order = np.lexsort((s0, idx))
        partly = np.zeros(len(whole), dtype=bool)
        partly[idx] = True
        return whole, partly, self._cut(idx[order], s0[order], s1[order])

    def _dissolve(self, lines: np.ndarray) -> shapely.Geometry:
        if not len(lines):
            return shapely.Polygon()
        merged = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines)))
        return shapely.union_all(shapely.buffer(merged, self.buffer_m,
                                                quad_segs=self.quad_segs))

    def whole_network(self) -> shapely.Geometry:
        """The whole network buffered and dissolved (built once)."""
        if self._whole is None:
            self._whole = self._dissolve(self.roads.geom)
        return self._whole

    def whole_network_4326(self) -> tuple[float, shapely.Geometry]:
        """The whole network's area (km²) and polygon in EPSG:4326, normalised (built once:
        the widest bands of most services are the whole network)."""
        with self._lock:
            if self._whole_4326 is None:
                area, geom = _finish([self.whole_network()])
                self._whole_4326 = float(area[0]), geom[0]
        return self._whole_4326

    def network_polygon(self, node_s: np.ndarray | None, threshold_s: float, *,
                        extra: shapely.Geometry | None = None) -> shapely.Geometry:
        """The buffered, dissolved reached network (EPSG:3347); empty when nothing is reached.

        ``node_s``: seconds from every node (``None``: no network reached); ``extra``: a
        polygon to add (the local-road disc), merged with the edge part first, which saves a
        costly merge with the inner part.

        Assembled from square cells (:class:`_Cells`) so that the work grows with the
        catchment's edge, not its area. A cell that only wholly reached roads touch is the
        whole network's polygon (built once) there; a cell that no reached road touches is
        empty; only the cells on the edge are built from their reached roads and pieces::

            polygon = (whole network ∩ full cells)
                      ∪ (dissolve(reached roads touching the edge) ∩ edge cells)

        which is the same polygon as dissolving every reached road (``cell_m=0``): within a
        full cell every road whose band reaches it is wholly reached, and within an edge
        cell every reached road whose band reaches it is in the edge's dissolve. When few
        cells are not full (``near_whole``) the same polygon is the whole network less
        (those cells less the edge part), to rounding: where the round end of a road's
        piece sticks out of the whole network's polygonal band (a few m²) it is left out.
        """
        def plus_extra(poly: shapely.Geometry) -> shapely.Geometry:
            return poly if extra is None or shapely.is_empty(extra) else shapely.union(poly,
                                                                                     extra)

        if node_s is None:
            return plus_extra(shapely.Polygon())
        whole, partly, cut = self._reach(node_s, threshold_s)
        cells = self.cells
        if cells is not None:
            full, frontier = cells.classify(whole, whole | partly)
            edge_roads = np.zeros(len(whole), dtype=bool)
            edge_roads[cells.pair_road[frontier[cells.pair_cell]]] = True
        # no cells, or a small catchment: dissolving its few roads costs less than cutting
        # the whole network's band
        if cells is None or (not full.all()
                             and np.count_nonzero(whole & ~edge_roads) <= self.direct_up_to):
            return plus_extra(self._dissolve(np.concatenate([self.roads.geom[whole], cut])))
        edge = self._dissolve(np.concatenate([self.roads.geom[whole & edge_roads], cut]))
        if not full.any():
            return plus_extra(edge)
        if frontier.any():
            # the edge part counts only in the edge cells: where the bands of its roads
            # spill into full cells the whole network is drawn already (and their arcs,
            # drawn on other merged lines, stick out of it by slivers); cut to the edge
            # cells, the union with the inner part has much less to overlay
            edge = shapely.intersection(edge, shapely.coverage_union_all(cells.boxes[frontier]))
        if not full.all() and np.count_nonzero(~full) <= self.near_whole * cells.n_cells:
            # nearly the whole network: cut the few other cells out of it, but for the edge
            # part in them (one overlay of the whole network instead of two; with a
            # local-road disc, two either way: the disc reaches beyond the network's band)
            rest = shapely.coverage_union_all(cells.boxes[~full])
            if not shapely.is_empty(edge):
                rest = shapely.difference(rest, edge)
            return plus_extra(shapely.difference(self.whole_network(), rest))
        edge = plus_extra(edge)
        if full.all():
            inner = self.whole_network()
        else:
            inner = shapely.intersection(self.whole_network(),
                                         shapely.coverage_union_all(cells.boxes[full]))
        return shapely.union(inner, edge) if not shapely.is_empty(edge) else inner

    def local_disc(self, xy_m: np.ndarray, threshold_s: float,
                   scale: np.ndarray | float = 1.0) -> shapely.Geometry:
        """Discs of the direct local-road reach around points (EPSG:3347 metres; ``scale``:
        Lambert's scale at each point, so that each disc's radius is true on the ground)."""
        s = self.engine.settings
        radius = min(threshold_s * (s.connector_speed_kph / 3.6) / s.connector_circuity,
                     s.local_route_km * 1000)
        if not len(xy_m) or radius <= 0:
            return shapely.Polygon()
        pts = shapely.points(np.asarray(xy_m, dtype=float))
        radii = radius * np.broadcast_to(np.asarray(scale, dtype=float), pts.shape)
        return shapely.union_all(shapely.buffer(pts, radii, quad_segs=16))


def _finish(polys: list[shapely.Geometry], builder: CatchmentBuilder | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Areas (km², measured in EPSG:3347) and the polygons in EPSG:4326, normalised.

    With a ``builder``, a polygon that is its whole network (the very object) is taken from
    :meth:`CatchmentBuilder.whole_network_4326` instead of being converted again."""
    arr = np.empty(len(polys), dtype=object)
    arr[:] = polys
    whole = builder._whole if builder is not None else None
    same = np.array([whole is not None and p is whole for p in polys], dtype=bool)
    area = np.zeros(len(arr))
    geo = np.empty(len(arr), dtype=object)
    if same.any() and builder is not None:
        area[same], geo[same] = builder.whole_network_4326()
    rest = arr[~same]
    area[~same] = shapely.area(rest) / 1e6
    rest[shapely.is_empty(rest)] = None
    geo[~same] = shapely.normalize(gpd.GeoSeries(rest, crs=3347).to_crs(4326).to_numpy())
    return area, geo


def _bands(bands_min: tuple[float, ...] | list[float]) -> list[float]:
    bands = sorted({float(b) for b in bands_min})
    if not bands or bands[0] <= 0:
        raise ValueError(f"catchment bands must be positive minutes, got {bands_min!r}")
    return bands


def service_catchments(engine: TravelEngine, services: gpd.GeoDataFrame,
                       bands_min: tuple[float, ...] | list[float], *,
                       builder: CatchmentBuilder | None = None, local_roads: bool = True,
                       workers: int = 1) -> gpd.GeoDataFrame:
    """Catchment polygons per service and band (columns in the module docstring).

    ``services`` needs ``service_id``, ``need_types``, ``geocode_precision`` and may have
    ``access``. ``local_roads=False`` leaves out the local-road disc (the network part only).
    ``workers`` > 1 builds services in that many threads; the result is the same.
    """
    bands = _bands(bands_min)
    builder = builder or CatchmentBuilder(engine)
    s = engine.settings
    remote = is_fly_in(services).to_numpy()
    physical = is_placed(services).to_numpy()
    placed = counts_by_road(services).to_numpy()
    rows: list[dict] = []
    polys: list[shapely.Geometry] = []
    areas: list[np.ndarray] = []
    pos = np.nonzero(placed)[0]
    if len(pos):
        snap = engine.snap(services.iloc[pos])
        quality = snap.quality(s)
        graph = SourceGraph(engine, snap)

        def one(k: int) -> tuple[np.ndarray, np.ndarray]:
            on_net = quality[k] != "beyond_road_network"
            node_s = graph.nearest(np.array([k]), limit_s=bands[-1] * 60)[0] if on_net else None
            mine = []
            for band in bands:
                t = band * 60
                disc = (builder.local_disc(snap.xy_m[k:k + 1], t, snap.scale[k:k + 1])
                        if local_roads else None)
                mine.append(builder.network_polygon(node_s, t, extra=disc))
            # to EPSG:4326 service by service: the projected polygons are not all kept
            return _finish(mine, builder)

        if workers > 1:  # GEOS releases the GIL: threads share the graph, no copies
            builder.prepare()
            with ThreadPoolExecutor(workers) as pool:
                results = list(pool.map(one, range(len(pos))))
        else:
            results = [one(k) for k in range(len(pos))]
        for k, i in enumerate(pos):
            svc = services.iloc[i]
            for band in bands:
                rows.append({"service_id": svc["service_id"], "need_type": "all",
                             "need_types": svc["need_types"], "threshold_min": band,
                             "basis": "network" if quality[k] != "beyond_road_network"
                             else "local_only", "snap_access": quality[k]})
            areas.append(results[k][0])
            polys.extend(results[k][1])
    for i in np.nonzero(physical & remote)[0]:
        svc = services.iloc[i]
        for band in bands:
            areas.append(np.zeros(1))
            polys.append(None)
            rows.append({"service_id": svc["service_id"], "need_type": "all",
                         "need_types": svc["need_types"], "threshold_min": band,
                         "basis": "no_all_season_road", "snap_access": "no_all_season_road"})
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in SERVICE_COLUMNS}, geometry="geometry",
                                crs=4326)
    df = pd.DataFrame(rows)
    df["area_km2"] = np.concatenate(areas)
    out = gpd.GeoDataFrame(df, geometry=np.array(polys, dtype=object), crs=4326)
    log.info("catchments: %d services x %d bands", len(out) // len(bands), len(bands))
    return out[SERVICE_COLUMNS]


def need_catchments(engine: TravelEngine, services: gpd.GeoDataFrame,
                    need_types: tuple[str, ...], bands_min: tuple[float, ...] | list[float],
                    *, builder: CatchmentBuilder | None = None, local_roads: bool = True,
                    workers: int = 1) -> gpd.GeoDataFrame:
    """The union of the catchments of each need type's services, per band.

    Built from one multi-source Dijkstra per need (the nearest service's time at every node)
    plus the local-road discs of all its services; columns in the module docstring.
    ``workers`` > 1 builds the need types in that many threads; the result is the same.
    """
    bands = _bands(bands_min)
    builder = builder or CatchmentBuilder(engine)
    s = engine.settings
    placed = services[counts_by_road(services)]
    offered = offers_each(placed["need_types"], need_types)  # services x needs
    snap = engine.snap(placed) if len(placed) else None
    graph = SourceGraph(engine, snap) if snap is not None else None
    on_road = snap.quality(s) != "beyond_road_network" if snap is not None else None

    def one(j: int) -> tuple[int, list[shapely.Geometry]]:
        mask = offered[:, j]
        node_s = None
        if graph is not None and on_road is not None and mask.any():
            on_net = mask & on_road
            if on_net.any():
                node_s = graph.nearest(on_net, limit_s=bands[-1] * 60)[0]
        polys = []
        for band in bands:
            t = band * 60
            disc = (builder.local_disc(snap.xy_m[mask], t, snap.scale[mask])
                    if local_roads and snap is not None and mask.any() else None)
            polys.append(builder.network_polygon(node_s, t, extra=disc))
        return int(mask.sum()), polys

    if workers > 1 and len(need_types) > 1:
        builder.prepare()
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(one, range(len(need_types))))
    else:
        results = [one(j) for j in range(len(need_types))]
    if not results:
        return gpd.GeoDataFrame({c: [] for c in NEED_COLUMNS}, geometry="geometry", crs=4326)
    df = pd.DataFrame({"service_id": "all",
                       "need_type": np.repeat(np.asarray(need_types, dtype=object), len(bands)),
                       "threshold_min": np.tile(bands, len(need_types)),
                       "n_services": np.repeat([n for n, _ in results], len(bands))})
    area, geom = _finish([p for _, polys in results for p in polys], builder)
    df["area_km2"] = area
    return gpd.GeoDataFrame(df, geometry=geom, crs=4326)[NEED_COLUMNS]
