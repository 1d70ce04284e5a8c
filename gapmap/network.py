"""Network: the road graph, whatever its source, in one contract.

:class:`RoadGraph` holds

* ``nodes``: DataFrame indexed ``0..n-1`` with ``x``, ``y`` (lon/lat, EPSG:4326) (and
  ``osmid`` for OpenStreetMap sources);
* ``edges``: GeoDataFrame of directed edges ``u``, ``v`` (node positions), ``length_m``,
  ``speed_kph``, ``travel_s``, ``road_class``, ``label`` and a LineString geometry drawn from
  ``u`` to ``v``; where the source has ids, ``source_id`` (the OSM way id(s), the Road
  Network File's ``NGD_UID``) says which feature an edge came from.

:func:`load_graph` builds it from the source named by ``[network] source``; the readers of
each source live in :mod:`gapmap.sources.roads` and hand over a table of segments
(:data:`SEGMENT_COLUMNS`) that :func:`directed_edges` turns into the graph:

``kings_highways`` (default)
    the bundled King's Highways (``highways_kings_fpa.geojson``): every vertex is a node,
    vertices closer than ``node_snap_m`` merge (the file's junctions share endpoints), each
    segment becomes an edge in both directions, speeds come from the ``category``
    (``network.speed_kph``); fragments are joined to the main network by connectors.
``osm_file``
    an OpenStreetMap extract (``.osm``, ``.osm.pbf``, read with pyosmium): the drivable ways
    (a ``highway`` class listed in ``network.osm_speed_kph``; no ``area=yes``; no
    ``access``/``motor_vehicle``/``motorcar`` = no, private, agricultural or forestry; no
    parking aisles or driveways), split at every node two ways share; one-way respected
    (``oneway=yes|true|1``, ``-1|reverse``; roundabouts and motorways are one-way unless
    tagged ``oneway=no``); speed from ``maxspeed`` (``maxspeed:forward``/``:backward`` for
    each direction; km/h, ``mph``, zone values such as ``CA:urban`` through
    ``network.osm_zone_speed_kph``; the lower of several values) else by class.
``rnf_file``
    Statistics Canada's Road Network File (columns ``RANK``, ``CLASS``, ``NAME``): each
    segment is one two-way edge between its endpoints, endpoints closer than ``node_snap_m``
    merge; speed from ``network.rnf_class_speed_kph`` where the CLASS is listed, else from
    ``network.rnf_rank_speed_kph``; CLASS codes in ``network.rnf_exclude_classes`` are left
    out.
``osmnx``
    a drivable network downloaded with osmnx by ``place`` or ``bbox`` (opt-in, needs the
    internet once): saved as GraphML in ``cache_dir`` and read from there on every later run;
    speeds as for ``osm_file``.

Lengths are geodesic (GRS80) along each edge's geometry. ``network.fragments`` says what
becomes of pieces not connected to the largest component: ``join`` them by a local-road
connector (the King's Highways default), ``drop`` them (the default for full road networks,
as osmnx does: points then snap to the main network), or ``keep`` them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod, Proj
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from gapmap.config import NetworkSettings
from gapmap.contracts import NETWORK_EDGES, NETWORK_NODES, read_stage
from gapmap.errors import NetworkError
from gapmap.io import write_parquet

log = logging.getLogger(__name__)
_GEOD = Geod(ellps="GRS80")



def geodesic_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray,
               lat2: np.ndarray) -> np.ndarray:
    """Distance on the GRS80 ellipsoid, metres, between points given in degrees."""
    return np.abs(_GEOD.inv(np.asarray(lon1, dtype=float), np.asarray(lat1, dtype=float),
                            np.asarray(lon2, dtype=float), np.asarray(lat2, dtype=float))[2])


_LAMBERT_PROJ = Proj(3347)


def lambert_scale(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The scale of Statistics Canada Lambert (EPSG:3347) at each point: Lambert metres per
    metre on the ground (1.03 at Windsor, 1.00 near 49 N, 0.97 in southern Finland). It is
    conformal, so the same in every direction: nearest neighbours found in Lambert are the
    true ones, and a radius of r metres there is r times this."""
    return np.asarray(_LAMBERT_PROJ.get_factors(np.asarray(lon, dtype=float),
                                                np.asarray(lat, dtype=float)).meridional_scale)


@dataclass
class RoadGraph:
    nodes: pd.DataFrame
    edges: gpd.GeoDataFrame
    source: str
    joins: pd.DataFrame | None = None
    """Where the reader joined lines that meet (:data:`JOIN_COLUMNS`), for its record;
    None for a source that carries its own topology. Not saved with the graph."""

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    def components(self) -> np.ndarray:
        """Weakly connected component label of every node."""
        n = self.n_nodes
        m = coo_matrix((np.ones(len(self.edges)), (self.edges["u"], self.edges["v"])),
                       shape=(n, n))
        return connected_components(m, directed=True, connection="weak")[1]

    def save(self, nodes_path: Path, edges_path: Path) -> None:
        write_parquet(self.nodes.assign(source=self.source), nodes_path)
        write_parquet(self.edges, edges_path)

    @classmethod
    def load(cls, nodes_path: Path, edges_path: Path) -> RoadGraph:
        """The graph :meth:`save` wrote, read as :data:`gapmap.contracts.NETWORK_NODES`
        and :data:`~gapmap.contracts.NETWORK_EDGES` declare."""
        nodes = read_stage(nodes_path, NETWORK_NODES)
        edges = read_stage(edges_path, NETWORK_EDGES)
        source = str(nodes["source"].iloc[0]) if "source" in nodes and len(nodes) else ""
        return cls(nodes[["x", "y"]], edges, source)


def graph_from_lines(lines: gpd.GeoDataFrame, *, class_column: str, speed_kph: dict[str, float],
                     default_speed_kph: float, node_snap_m: float, two_way: bool = True,
                     label_column: str | None = None, source: str = "") -> RoadGraph:
    """Turn road LineStrings into a :class:`RoadGraph` (vertices become nodes)."""
    if lines.crs is None:
        raise NetworkError(f"{source}: road lines have no CRS")
    lines = lines[lines.geometry.notna() & ~lines.geometry.is_empty].explode(index_parts=False)
    lines = lines.to_crs(4326)
    coords, line_idx = shapely.get_coordinates(lines.geometry.values, return_index=True)
    if not len(coords):
        raise NetworkError(f"{source}: no road geometry")
    proj = gpd.GeoSeries(gpd.points_from_xy(coords[:, 0], coords[:, 1]), crs=4326).to_crs(3347)
    xy_m = np.column_stack([proj.x.to_numpy(), proj.y.to_numpy()])
    # merge vertices closer than node_snap_m: union of close pairs
    pairs = cKDTree(xy_m).query_pairs(node_snap_m, output_type="ndarray")
    n = len(coords)
    adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)) \
        if len(pairs) else coo_matrix((n, n))
    _, label = connected_components(adj, directed=False)
    _, first = np.unique(label, return_index=True)
    node_of_vertex = label
    nodes = pd.DataFrame({"x": coords[first, 0], "y": coords[first, 1]})
    # consecutive vertices of one line form a segment
    same_line = line_idx[1:] == line_idx[:-1]
    a = np.nonzero(same_line)[0]
    u, v = node_of_vertex[a], node_of_vertex[a + 1]
    keep = u != v
    a, u, v = a[keep], u[keep], v[keep]
    _, _, dist = _GEOD.inv(coords[a, 0], coords[a, 1], coords[a + 1, 0], coords[a + 1, 1])
    cls = lines[class_column].astype(str).to_numpy()[line_idx[a]]
    lab = (lines[label_column].astype(str).to_numpy()[line_idx[a]] if label_column
           else np.full(len(a), ""))
    speed = np.array([speed_kph.get(c, default_speed_kph) for c in cls], dtype=float)
    geom = shapely.linestrings(np.stack([coords[a], coords[a + 1]], axis=1))
    e = pd.DataFrame({"u": u, "v": v, "length_m": dist, "speed_kph": speed,
                      "road_class": cls, "label": lab})
    if two_way:
        back = e.rename(columns={"u": "v", "v": "u"})
        e = pd.concat([e, back], ignore_index=True)
        geom = np.concatenate([geom, shapely.reverse(geom)])
    e["travel_s"] = e["length_m"] / (e["speed_kph"] / 3.6)
    edges = gpd.GeoDataFrame(e, geometry=geom, crs=4326)
    g = RoadGraph(nodes, edges, source)
    comp = g.components()
    log.info("road graph from %s: %d nodes, %d directed edges, %.0f km of road, "
             "%d connected components", source, g.n_nodes, len(edges),
             edges["length_m"].sum() / 1000 / (2 if two_way else 1), len(np.unique(comp)))
    return g



JOIN_COLUMNS: tuple[str, ...] = ("kind", "line", "other_line", "lon", "lat", "gap_m")
"""One row per join :func:`join_where_lines_meet` made: ``kind`` (``crossing``: two lines
cross between their vertices; ``end``: a line's loose end stops short of, or on, another
line), the two lines' labels, the junction's point (EPSG:4326) and ``gap_m``, the geodesic
distance bridged (0 for a crossing)."""


def _insert_vertices(line: np.ndarray, points: list[np.ndarray]) -> np.ndarray:
    """A line's coordinates with points added where they lie along it (projected metres)."""
    if not points:
        return line
    shape = shapely.LineString(line)
    at = [shapely.line_locate_point(shape, shapely.Point(p)) for p in points]
    step = np.hypot(*np.diff(line, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(step)])
    pos = np.concatenate([along, at])
    # a vertex before an inserted point at the same place along the line keeps its order
    order = np.lexsort((np.r_[np.zeros(len(along)), np.ones(len(at))], pos))
    return np.concatenate([line, np.asarray(points)])[order]


def join_where_lines_meet(lines: gpd.GeoDataFrame, *, end_within_m: float,
                          label_column: str = "label") -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Give lines that meet a common vertex, for road files whose lines do not share one.

    Two joins, for files such as the King's Highways whose junctions are not always a shared
    vertex:

    * **crossings**: where two lines cross between their vertices, the crossing point is
      added to both;
    * **loose ends**: a line end that is no other line's vertex and lies within
      ``end_within_m`` of another line is carried on to that line's nearest point, which is
      added to it; unless the two lines already meet within that distance of the end (an
      end that overshoots a junction).

    Candidates are found in Statistics Canada Lambert (its scale error, a few per cent, is
    a few metres at these distances); each bridged gap is recorded as a geodesic length,
    and the edges' lengths are geodesic as always. Returns
    the lines (EPSG:4326, same rows and attributes) and the joins (:data:`JOIN_COLUMNS`).
    """
    gdf = lines[lines.geometry.notna() & ~lines.geometry.is_empty].explode(index_parts=False)
    gdf = gdf.reset_index(drop=True)
    proj = gdf.geometry.to_crs(3347)
    geoms = np.asarray(proj.values)
    coords = [shapely.get_coordinates(g) for g in geoms]
    labels = (gdf[label_column].astype(str).to_numpy() if label_column in gdf
              else np.full(len(gdf), ""))
    tree = shapely.STRtree(geoms)
    added: list[list[np.ndarray]] = [[] for _ in geoms]
    # (kind, line, other line, junction point, gap in Lambert metres, the end bridged)
    joins: list[tuple[str, int, int, np.ndarray, float, np.ndarray]] = []

    def vertex_near(k: int, p: np.ndarray, tol: float = 1e-6) -> bool:
        return bool((np.hypot(*(coords[k] - p).T) <= tol).any())

    # crossings between vertices
    a_idx, b_idx = tree.query(geoms, predicate="crosses")
    for a, b in zip(a_idx, b_idx, strict=True):
        if a >= b:
            continue
        for pt in shapely.get_parts(shapely.intersection(geoms[a], geoms[b])):
            if pt.geom_type != "Point":
                continue
            p = shapely.get_coordinates(pt)[0]
            if vertex_near(a, p) and vertex_near(b, p):
                continue
            for k in (a, b):
                if not vertex_near(k, p):
                    added[k].append(p)
            joins.append(("crossing", int(a), int(b), p, 0.0, p))
    coords = [_insert_vertices(c, extra) for c, extra in zip(coords, added, strict=True)]
    added = [[] for _ in geoms]
    # loose ends near another line
    all_xy = np.concatenate(coords)
    owner = np.repeat(np.arange(len(coords)), [len(c) for c in coords])
    vtree = cKDTree(all_xy)
    extend: dict[tuple[int, int], np.ndarray] = {}
    shapes = [shapely.LineString(c) for c in coords]
    for k, c in enumerate(coords):
        for end_pos in (0, -1):
            e = c[end_pos]
            if (owner[vtree.query_ball_point(e, 1e-6)] != k).any():
                continue  # another line's vertex: already a junction
            cand = tree.query(shapely.Point(e), predicate="dwithin", distance=end_within_m)
            best = None
            for o in cand:
                if o == k:
                    continue
                d = shapely.distance(shapes[o], shapely.Point(e))
                if d <= end_within_m and (best is None or d < best[0]):
                    best = (d, int(o))
            if best is None:
                continue
            o = best[1]
            shared = {tuple(v) for v in coords[k]} & {tuple(v) for v in coords[o]}
            met = [np.asarray(s) for s in shared] + [
                j[3] for j in joins if j[0] == "end" and {j[1], j[2]} == {k, o}]
            if any(np.hypot(*(m - e)) <= end_within_m for m in met):
                continue  # the two lines already meet here (an overshooting end, or the
                # other side of a gap just bridged)
            q = shapely.get_coordinates(
                shapely.ops.nearest_points(shapes[o], shapely.Point(e))[0])[0]
            if not vertex_near(o, q):
                added[o].append(q)
            if best[0] > 0:
                extend[(k, end_pos)] = q
            joins.append(("end", k, o, q, float(best[0]), e))
    coords = [_insert_vertices(c, extra) for c, extra in zip(coords, added, strict=True)]
    for (k, end_pos), q in extend.items():
        coords[k] = np.vstack([q, coords[k]]) if end_pos == 0 else np.vstack([coords[k], q])
    out = gdf.copy()
    out["geometry"] = gpd.GeoSeries([shapely.LineString(c) for c in coords],
                                    crs=3347).to_crs(4326).values
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=4326)
    to_deg = gpd.GeoSeries(gpd.points_from_xy(
        [j[3][0] for j in joins] + [j[5][0] for j in joins],
        [j[3][1] for j in joins] + [j[5][1] for j in joins]), crs=3347).to_crs(4326)
    n = len(joins)
    lon, lat = to_deg.x.to_numpy(), to_deg.y.to_numpy()
    gap = (np.abs(_GEOD.inv(lon[:n], lat[:n], lon[n:], lat[n:])[2]) if n
           else np.zeros(0))
    table = pd.DataFrame({
        "kind": [j[0] for j in joins], "line": [labels[j[1]] for j in joins],
        "other_line": [labels[j[2]] for j in joins], "lon": np.round(lon[:n], 5),
        "lat": np.round(lat[:n], 5), "gap_m": np.round(gap, 1)}, columns=list(JOIN_COLUMNS))
    if n:
        log.info("joined road lines where they meet: %d crossing(s), %d loose end(s)",
                 int((table["kind"] == "crossing").sum()), int((table["kind"] == "end").sum()))
    return out, table


def join_fragments(graph: RoadGraph, settings: NetworkSettings) -> RoadGraph:
    """Join each smaller connected component to the largest by a local-road connector.

    Road files that lack the minor roads leave highway fragments (a bypass, a spur) unjoined,
    and a community snapped to one would wrongly get no time. Each fragment gets a two-way
    edge of class ``connector`` between its node nearest the main component and that
    component: the straight line times ``connector_circuity`` at ``connector_speed_kph``,
    the same rule as for every point's connector, the straight line measured on the
    ellipsoid (the nearest pair found in Lambert). A fragment farther than
    ``beyond_network_km`` stays apart.
    """
    comp = graph.components()
    sizes = np.bincount(comp)
    if len(sizes) < 2:
        return graph
    main = int(np.argmax(sizes))
    xy = gpd.GeoSeries(gpd.points_from_xy(graph.nodes["x"], graph.nodes["y"]),
                       crs=4326).to_crs(3347)
    xy_m = np.column_stack([xy.x.to_numpy(), xy.y.to_numpy()])
    main_idx = np.nonzero(comp == main)[0]
    tree = cKDTree(xy_m[main_idx])
    new = []
    for c in range(len(sizes)):
        if c == main:
            continue
        members = np.nonzero(comp == c)[0]
        d, j = tree.query(xy_m[members])
        k = int(np.argmin(d))
        a, b = int(members[k]), int(main_idx[j[k]])
        lon, lat = graph.nodes["x"].to_numpy(), graph.nodes["y"].to_numpy()
        straight_m = abs(float(_GEOD.inv(lon[a], lat[a], lon[b], lat[b])[2]))
        if straight_m > settings.beyond_network_km * 1000:
            continue
        length = straight_m * settings.connector_circuity
        for u, v in ((a, b), (b, a)):
            new.append({"u": u, "v": v, "length_m": length,
                        "speed_kph": settings.connector_speed_kph,
                        "road_class": "connector", "label": "local-road connector",
                        "travel_s": length / (settings.connector_speed_kph / 3.6),
                        "geometry": shapely.LineString(
                            [graph.nodes.loc[u, ["x", "y"]].to_list(),
                             graph.nodes.loc[v, ["x", "y"]].to_list()])})
    if not new:
        return graph
    edges = pd.concat([graph.edges, gpd.GeoDataFrame(new, crs=4326)], ignore_index=True)
    joined = RoadGraph(graph.nodes, gpd.GeoDataFrame(edges, crs=4326), graph.source,
                       graph.joins)
    log.info("joined %d road fragment(s) to the main network by local-road connectors "
             "(%d components left)", len(new) // 2, len(set(joined.components())))
    return joined



# -- shared pieces -------------------------------------------------------------------------


def _line_lengths_m(geoms: np.ndarray) -> np.ndarray:
    """Geodesic length (GRS80, metres) of each lon/lat LineString."""
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    a = np.nonzero(idx[1:] == idx[:-1])[0]
    _, _, d = _GEOD.inv(coords[a, 0], coords[a, 1], coords[a + 1, 0], coords[a + 1, 1])
    return np.bincount(idx[a], weights=np.abs(d), minlength=len(geoms))



SEGMENT_COLUMNS: tuple[str, ...] = (
    "u", "v", "geometry", "length_m", "road_class", "label", "forward", "backward",
    "speed_fwd_kph", "speed_bwd_kph")
"""The table every road source hands to :func:`directed_edges`: one row per undirected
segment between nodes ``u`` and ``v`` (positions in the node table), its LineString drawn
from ``u`` to ``v``, geodesic ``length_m``, ``road_class`` and ``label``, whether it is
driven ``forward`` (u to v) and ``backward``, and the speed each way; optionally
``source_id``, the feature it came from."""


def directed_edges(nodes: pd.DataFrame, segments: pd.DataFrame, *, source: str) -> RoadGraph:
    """Directed edges from undirected segments (:data:`SEGMENT_COLUMNS`), each direction
    with its own flag and speed."""
    missing = [c for c in SEGMENT_COLUMNS if c not in segments.columns]
    if missing:
        raise NetworkError(f"{source}: road segments lack column(s) {', '.join(missing)}")
    f = segments["forward"].to_numpy(dtype=bool)
    b = segments["backward"].to_numpy(dtype=bool)
    keep = ["length_m", "road_class", "label"]
    if "source_id" in segments.columns:
        keep.append("source_id")
    fwd = segments.loc[f, ["u", "v", *keep]].assign(
        speed_kph=segments.loc[f, "speed_fwd_kph"])
    bwd = segments.loc[b, ["v", "u", *keep]].rename(columns={"v": "u", "u": "v"}).assign(
        speed_kph=segments.loc[b, "speed_bwd_kph"])
    e = pd.concat([fwd, bwd], ignore_index=True)
    e = e[["u", "v", "length_m", "speed_kph", "road_class", "label",
           *(["source_id"] if "source_id" in keep else [])]]
    e = e.astype({"u": np.int64, "v": np.int64, "length_m": float, "speed_kph": float,
                  "road_class": object, "label": object})
    e["travel_s"] = e["length_m"] / (e["speed_kph"] / 3.6)
    geom = np.asarray(segments["geometry"].to_numpy(), dtype=object)
    geometry = np.concatenate([geom[f], shapely.reverse(geom[b])])
    edges = gpd.GeoDataFrame(e, geometry=geometry, crs=4326)
    graph = RoadGraph(nodes.reset_index(drop=True), edges, source)
    _log_graph(graph)
    return graph


def _log_graph(graph: RoadGraph) -> None:
    comp = graph.components()
    sizes = np.bincount(comp) if len(comp) else np.array([0])
    log.info("road graph from %s: %d nodes, %d directed edges, %d connected components "
             "(largest %d nodes)", graph.source, graph.n_nodes, len(graph.edges), len(sizes),
             int(sizes.max()))


def largest_component(graph: RoadGraph) -> RoadGraph:
    """Keep only the largest (weakly) connected component, renumbering the nodes."""
    comp = graph.components()
    if not len(comp):
        return graph
    sizes = np.bincount(comp)
    keep = comp == int(np.argmax(sizes))
    if keep.all():
        return graph
    new_id = np.full(graph.n_nodes, -1, dtype=np.int64)
    new_id[keep] = np.arange(int(keep.sum()))
    e = graph.edges[keep[graph.edges["u"].to_numpy()]].copy()
    e["u"] = new_id[e["u"].to_numpy()]
    e["v"] = new_id[e["v"].to_numpy()]
    nodes = graph.nodes[keep].reset_index(drop=True)
    log.info("dropped %d node(s) in %d fragment(s) not connected to the main network",
             int((~keep).sum()), len(sizes) - 1)
    return RoadGraph(nodes, gpd.GeoDataFrame(e.reset_index(drop=True), crs=4326), graph.source,
                     graph.joins)


def graph_from_segments(lines: gpd.GeoDataFrame, *, speed_kph: np.ndarray,
                        road_class: np.ndarray, label: np.ndarray, node_snap_m: float,
                        source: str, source_id: np.ndarray | None = None) -> RoadGraph:
    """Each line becomes one two-way edge between its endpoints (endpoints closer than
    ``node_snap_m`` are one node); the full line is the edge's geometry."""
    if lines.crs is None:
        raise NetworkError(f"{source}: road lines have no CRS")
    lines = lines.to_crs(4326)
    geom = np.asarray(lines.geometry.values)
    ends = np.concatenate([shapely.get_coordinates(shapely.get_point(geom, 0)),
                           shapely.get_coordinates(shapely.get_point(geom, -1))])
    proj = gpd.GeoSeries(gpd.points_from_xy(ends[:, 0], ends[:, 1]), crs=4326).to_crs(3347)
    xy_m = np.column_stack([proj.x.to_numpy(), proj.y.to_numpy()])
    pairs = cKDTree(xy_m).query_pairs(node_snap_m, output_type="ndarray")
    n = len(ends)
    adj = (coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
           if len(pairs) else coo_matrix((n, n)))
    _, node_of = connected_components(adj, directed=False)
    _, first = np.unique(node_of, return_index=True)
    nodes = pd.DataFrame({"x": ends[first, 0], "y": ends[first, 1]})
    m = len(geom)
    u, v = node_of[:m], node_of[m:]
    keep = u != v
    if (~keep).any():
        log.info("%s: %d segment(s) that start and end at the same node left out", source,
                 int((~keep).sum()))
    speed = np.asarray(speed_kph, dtype=float)[keep]
    seg = pd.DataFrame({
        "u": u[keep], "v": v[keep], "geometry": geom[keep],
        "length_m": _line_lengths_m(geom[keep]),
        "road_class": np.asarray(road_class, dtype=object)[keep],
        "label": np.asarray(label, dtype=object)[keep], "forward": True, "backward": True,
        "speed_fwd_kph": speed, "speed_bwd_kph": speed})
    if source_id is not None:
        seg["source_id"] = np.asarray(source_id, dtype=object)[keep]
    return directed_edges(nodes, seg, source=source)



# -- one entry point ---------------------------------------------------------------------------


def load_graph(settings: NetworkSettings) -> RoadGraph:
    """The road graph from ``settings.source`` (see the module docstring), in one contract.

    Raises
    ------
    NetworkError
        The source cannot be read or gives no drivable road.
    InputFileError
        The source file is missing.
    """
    from gapmap.sources.roads import (
        kings_highways_graph,
        osm_file_graph,
        osmnx_graph,
        rnf_graph,
    )

    source = settings.source
    if source in ("kings_highways", "osm_file", "rnf_file") and settings.path is None:
        raise NetworkError(f"network.source = {source!r} needs network.path")
    if source == "kings_highways":
        graph = kings_highways_graph(settings.path, settings, join=False)  # type: ignore[arg-type]
    elif source == "osm_file":
        graph = osm_file_graph(settings.path, settings)  # type: ignore[arg-type]
    elif source == "rnf_file":
        graph = rnf_graph(settings.path, settings)  # type: ignore[arg-type]
    elif source == "osmnx":
        graph = osmnx_graph(settings)
    else:
        raise NetworkError(f"unknown network source {source!r}")
    rule = settings.fragment_rule()
    if rule == "join":
        graph = join_fragments(graph, settings)
    elif rule == "drop":
        graph = largest_component(graph)
    return graph
