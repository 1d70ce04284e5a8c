"""Network: the road graph, whatever its source, in one contract.

:class:`RoadGraph` holds

* ``nodes``: DataFrame indexed ``0..n-1`` with ``x``, ``y`` (lon/lat, EPSG:4326);
* ``edges``: GeoDataFrame of directed edges ``u``, ``v`` (node positions), ``length_m``,
  ``speed_kph``, ``travel_s``, ``road_class``, ``label`` and a LineString geometry.

This version builds it from the bundled King's Highways (``highways_kings_fpa.geojson``):
every vertex is a node, vertices closer than ``node_snap_m`` merge (the file's junctions
share endpoints), each segment becomes an edge in both directions, lengths are geodesic and
speeds come from the ``category`` (``network.speed_kph`` in the config).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from gapmap.config import NetworkSettings
from gapmap.errors import NetworkError
from gapmap.io import read_geo, read_parquet, require_columns, write_parquet

log = logging.getLogger(__name__)
_GEOD = Geod(ellps="GRS80")


@dataclass
class RoadGraph:
    nodes: pd.DataFrame
    edges: gpd.GeoDataFrame
    source: str

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
        nodes = read_parquet(nodes_path)
        edges = read_parquet(edges_path)
        require_columns(nodes, ["x", "y"], str(nodes_path))
        require_columns(edges, ["u", "v", "length_m", "speed_kph", "travel_s"], str(edges_path))
        source = str(nodes["source"].iloc[0]) if "source" in nodes and len(nodes) else ""
        return cls(nodes[["x", "y"]], edges, source)  # type: ignore[arg-type]


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


def join_fragments(graph: RoadGraph, settings: NetworkSettings) -> RoadGraph:
    """Join each smaller connected component to the largest by a local-road connector.

    Road files that lack the minor roads leave highway fragments (a bypass, a spur) unjoined,
    and a community snapped to one would wrongly get no time. Each fragment gets a two-way
    edge of class ``connector`` between its node nearest the main component and that
    component: the straight line times ``connector_circuity`` at ``connector_speed_kph``,
    the same rule as for every point's connector. A fragment farther than
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
        if d[k] > settings.beyond_network_km * 1000:
            continue
        a, b = int(members[k]), int(main_idx[j[k]])
        length = float(d[k]) * settings.connector_circuity
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
    joined = RoadGraph(graph.nodes, gpd.GeoDataFrame(edges, crs=4326), graph.source)
    log.info("joined %d road fragment(s) to the main network by local-road connectors "
             "(%d components left)", len(new) // 2, len(set(joined.components())))
    return joined


def kings_highways_graph(path: Path, settings: NetworkSettings) -> RoadGraph:
    """The province-wide default: Ontario's King's Highways, two-way, speeds by category."""
    lines = read_geo(path)
    require_columns(lines, ["category"], str(path))
    unknown = set(lines["category"].astype(str)) - set(settings.speed_kph)
    if unknown:
        log.warning("%s: road categories without a configured speed use %s km/h: %s", path,
                    settings.default_speed_kph, ", ".join(sorted(unknown)))
    graph = graph_from_lines(lines, class_column="category", speed_kph=settings.speed_kph,
                             default_speed_kph=settings.default_speed_kph,
                             node_snap_m=settings.node_snap_m, label_column="label",
                             source=f"King's Highways ({Path(path).name})")
    return join_fragments(graph, settings)
