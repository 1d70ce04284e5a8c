"""Road sources: each outside road format -> the segments table of :mod:`gapmap.network`.

``kings_highways`` (:func:`kings_highways_graph`), ``osm_file`` (:func:`osm_file_graph`),
``rnf_file`` (:func:`rnf_graph`) and ``osmnx`` (:func:`osmnx_graph`, a cached download);
the rules of each are in :mod:`gapmap.network`'s docstring. Each reader hands
:func:`gapmap.network.directed_edges` (or :func:`gapmap.network.graph_from_lines`) a
table, and :func:`gapmap.network.load_graph` picks the reader the config names.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gapmap.config import KINGS_HIGHWAYS_SPEED_KPH, NetworkSettings, nearest
from gapmap.errors import ConfigError, InputFileError, NetworkError
from gapmap.io import atomic_path, read_geo, require_columns
from gapmap.network import (
    _GEOD,
    RoadGraph,
    _line_lengths_m,
    directed_edges,
    graph_from_lines,
    graph_from_segments,
    join_fragments,
    join_where_lines_meet,
)

log = logging.getLogger(__name__)

# -- King's Highways ---------------------------------------------------------------------------


def kings_highways_graph(path: Path, settings: NetworkSettings, *,
                         join: bool = True) -> RoadGraph:
    """The province-wide default: Ontario's King's Highways, two-way, speeds by category.

    Fragments are joined to the main network (:func:`join_fragments`) unless ``join`` is
    False.
    """
    lines = read_geo(path)
    require_columns(lines, ["category"], str(path))
    categories = set(lines["category"].astype(str))
    # a configured category the file lacks is a misspelling (the defaults may go unused)
    for key in sorted(set(settings.speed_kph) - categories - set(KINGS_HIGHWAYS_SPEED_KPH)):
        near = nearest(key, categories)
        raise ConfigError(f"[network] speed_kph.{key}: no road category {key!r} in {path}; "
                          + (f"did you mean {near}?" if near else
                             f"its categories: {', '.join(sorted(categories))}"))
    unknown = categories - set(settings.speed_kph)
    if unknown:
        log.warning("%s: road categories without a configured speed use %s km/h: %s", path,
                    settings.default_speed_kph, ", ".join(sorted(unknown)))
    lines, joins = join_where_lines_meet(lines, end_within_m=settings.join_lines_within_m)
    graph = graph_from_lines(lines, class_column="category", speed_kph=settings.speed_kph,
                             default_speed_kph=settings.default_speed_kph,
                             node_snap_m=settings.node_snap_m, label_column="label",
                             source=f"King's Highways ({Path(path).name})")
    graph.joins = joins
    return join_fragments(graph, settings) if join else graph


# -- OpenStreetMap tags ----------------------------------------------------------------------

_NO_ACCESS = frozenset({"no", "private", "agricultural", "forestry"})
_NOT_DRIVEN_SERVICE = frozenset({"parking", "parking_aisle", "driveway", "private",
                                 "emergency_access", "alley", "drive-through"})
_MPH = 1.609344
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?")


def osm_is_drivable(tags: Mapping[str, str], classes: Iterable[str]) -> bool:
    """True for a way a car may drive: a listed ``highway`` class and no access ban."""
    if tags.get("highway") not in set(classes) or tags.get("area") == "yes":
        return False
    for key in ("motorcar", "motor_vehicle", "vehicle", "access"):  # most specific first
        value = tags.get(key)
        if value is not None:
            if value in _NO_ACCESS:
                return False
            break
    return tags.get("service") not in _NOT_DRIVEN_SERVICE


def osm_directions(tags: Mapping[str, str]) -> tuple[bool, bool]:
    """(forward, backward) travel allowed along the way's node order."""
    value = ""
    for key in ("oneway:motorcar", "oneway:motor_vehicle", "oneway"):
        if tags.get(key):
            value = tags[key].strip().lower()
            break
    if value in ("yes", "true", "1"):
        return True, False
    if value in ("-1", "reverse"):
        return False, True
    if value in ("no", "false", "0"):
        return True, True
    if tags.get("junction") in ("roundabout", "circular") or tags.get("highway") == "motorway":
        return True, False
    return True, True  # untagged, or reversible/alternating: both ways


def parse_maxspeed(value: object, zones: Mapping[str, float]) -> float | None:
    """km/h from an OSM ``maxspeed`` value, or None when it gives no usable number.

    ``"80"``, ``"50 mph"``, ``"CA:urban"`` / ``"CA:ON:rural"`` (the part after the last
    colon, looked up in ``zones``), ``"walk"``; several values (``"60;80"``, or a list from
    osmnx) give the lowest. ``none``, ``signals``, ``variable`` and nonsense give None.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    items = value if isinstance(value, list | tuple) else re.split(r"[;|,]", str(value))
    speeds = []
    for item in items:
        text = str(item).strip().lower()
        m = _NUMBER.fullmatch(text)
        if m:
            kph = float(m[1]) * (_MPH if m[2] == "mph" else 1.0)
        else:
            kph = zones.get(text.rsplit(":", 1)[-1], 0.0)
        if 0 < kph <= 200:
            speeds.append(kph)
    return min(speeds) if speeds else None


def osm_class_speed(highway: object, settings: NetworkSettings) -> float:
    """The km/h of a ``highway`` class (the lowest of several); unknown: the urban default."""
    classes = _as_list(highway)
    known = [settings.osm_speed_kph[c] for c in classes if c in settings.osm_speed_kph]
    if known:
        return min(known)
    return settings.osm_zone_speed_kph.get("urban", 50.0)


def osm_speeds(tags: Mapping[str, Any], settings: NetworkSettings) -> tuple[float, float]:
    """(forward, backward) km/h of a way: ``maxspeed:forward``/``:backward``, ``maxspeed``,
    else its class's speed."""
    zones = settings.osm_zone_speed_kph
    general = parse_maxspeed(tags.get("maxspeed"), zones)
    base = general if general is not None else osm_class_speed(tags.get("highway"), settings)
    fwd = parse_maxspeed(tags.get("maxspeed:forward"), zones)
    bwd = parse_maxspeed(tags.get("maxspeed:backward"), zones)
    return (fwd if fwd is not None else base, bwd if bwd is not None else base)


def _as_list(value: object) -> list[str]:
    """An osmnx attribute as a list of strings (it may be a value, a list, or a list's repr)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value]
    text = str(value)
    if text.startswith("[") and text.endswith("]"):
        import ast

        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            parsed = None
        if isinstance(parsed, list):
            return [str(v) for v in parsed]
    return [text]


def _label(tags: Mapping[str, Any]) -> str:
    for key in ("name", "ref"):
        values = _as_list(tags.get(key))
        if values:
            return values[0]
    return ""


# -- OpenStreetMap file --------------------------------------------------------------------


@dataclass
class _Way:
    way_id: int
    refs: np.ndarray  # OSM node ids
    xy: np.ndarray  # lon/lat, NaN where the extract lacks the node
    tags: dict[str, str]


def read_osm_ways(path: Path, settings: NetworkSettings) -> list[_Way]:
    """The drivable ways of an OpenStreetMap file (.osm, .osm.pbf, ...), with node locations."""
    import osmium

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"input file not found: {path}")
    classes = set(settings.osm_speed_kph)
    fp = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
          .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
          .with_filter(osmium.filter.KeyFilter("highway")))
    ways = []
    try:
        for w in fp:
            if not isinstance(w, osmium.osm.Way):
                continue
            tags = {t.k: t.v for t in w.tags}
            if not osm_is_drivable(tags, classes):
                continue
            refs = np.array([n.ref for n in w.nodes], dtype=np.int64)
            xy = np.array([(n.location.lon, n.location.lat) if n.location.valid()
                           else (np.nan, np.nan) for n in w.nodes],
                          dtype=np.float64).reshape(-1, 2)
            ways.append(_Way(int(w.id), refs, xy, tags))
    except RuntimeError as exc:
        raise NetworkError(f"{path}: cannot be read as an OpenStreetMap file: {exc}") from exc
    return ways


def osm_file_graph(path: Path, settings: NetworkSettings) -> RoadGraph:
    """The drivable road graph of an OpenStreetMap file (see the module docstring).

    Ways are split at every node that two drivable ways share (or one way visits twice);
    where the extract lacks a way's node, the way is cut there. Nodes carry their ``osmid``.
    """
    path = Path(path)
    ways = read_osm_ways(path, settings)
    source = f"OpenStreetMap file ({path.name})"
    # runs of consecutive located nodes, at least two long
    run_refs, run_xy, run_way = [], [], []
    missing = 0
    for i, w in enumerate(ways):
        ok = ~np.isnan(w.xy[:, 0])
        missing += int((~ok).sum())
        if ok.all():
            bounds = [(0, len(ok))]
        else:
            edges = np.diff(np.concatenate([[0], ok.astype(np.int8), [0]]))
            bounds = list(zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0],
                              strict=True))
        for s, e in bounds:
            if e - s >= 2:
                run_refs.append(w.refs[s:e])
                run_xy.append(w.xy[s:e])
                run_way.append(i)
    if not run_refs:
        raise NetworkError(f"{path}: no drivable roads (highway classes "
                           f"{', '.join(sorted(settings.osm_speed_kph))})")
    if missing:
        log.info("%s: %d way node(s) lie outside the extract; their ways are cut there",
                 path.name, missing)
    lens = np.array([len(r) for r in run_refs])
    refs = np.concatenate(run_refs)
    xy = np.concatenate(run_xy)
    run_id = np.repeat(np.arange(len(lens)), lens)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    # split where a node is shared (or repeated), and at every run's ends
    _, inv, counts = np.unique(refs, return_inverse=True, return_counts=True)
    split = counts[inv] >= 2
    split[starts] = True
    split[starts + lens - 1] = True
    sp = np.nonzero(split)[0]
    a, b = sp[:-1], sp[1:]
    same = run_id[a] == run_id[b]
    a, b = a[same], b[same]
    # a piece that comes back to the node it left (a closed way, attached to the network at
    # that node or to nothing) is split at its middle vertex, so it is kept as two edges
    closed = (refs[a] == refs[b]) & (b - a >= 2)
    if closed.any():
        split[(a[closed] + b[closed]) // 2] = True
        sp = np.nonzero(split)[0]
        a, b = sp[:-1], sp[1:]
        same = run_id[a] == run_id[b]
        a, b = a[same], b[same]
        log.info("%s: %d closed way piece(s) split at their middle vertex", path.name,
                 int(closed.sum()))
    # nodes: the split points, numbered in osmid order
    node_refs, first = np.unique(refs[sp], return_index=True)
    nodes = pd.DataFrame({"x": xy[sp[first], 0], "y": xy[sp[first], 1], "osmid": node_refs})
    u = np.searchsorted(node_refs, refs[a])
    v = np.searchsorted(node_refs, refs[b])
    # geometry and geodesic length of each segment a..b (inclusive)
    n = b - a + 1
    offs = np.repeat(a - (np.cumsum(n) - n), n) + np.arange(int(n.sum()))
    geom = shapely.linestrings(xy[offs], indices=np.repeat(np.arange(len(a)), n))
    step = np.zeros(len(refs))
    _, _, d = _GEOD.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
    step[1:] = np.where(run_id[1:] == run_id[:-1], np.abs(d), 0.0)
    cum = np.cumsum(step)
    length = cum[b] - cum[a]
    loop = u == v  # only a way that visits one node twice in a row is left
    if loop.any():
        log.info("%s: %d zero-length piece(s) (a node repeated in a way) left out", path.name,
                 int(loop.sum()))
    keep = ~loop
    u, v, geom, length = u[keep], v[keep], geom[keep], length[keep]
    way_of = np.asarray(run_way)[run_id[a[keep]]]
    attrs = [(w.tags.get("highway", ""), _label(w.tags), *osm_directions(w.tags),
              *osm_speeds(w.tags, settings)) for w in ways]
    cls, lab, fwd, bwd, s_f, s_b = (np.array([t[k] for t in attrs], dtype=object)[way_of]
                                    for k in range(6))
    way_ids = np.array([str(w.way_id) for w in ways], dtype=object)[way_of]
    seg = pd.DataFrame({"u": u, "v": v, "geometry": geom, "length_m": length,
                        "road_class": cls, "label": lab, "forward": fwd.astype(bool),
                        "backward": bwd.astype(bool), "speed_fwd_kph": s_f.astype(float),
                        "speed_bwd_kph": s_b.astype(float), "source_id": way_ids})
    return directed_edges(nodes, seg, source=source)


# -- Statistics Canada Road Network File ------------------------------------------------------


def _codes(values: pd.Series) -> np.ndarray:
    """RANK/CLASS codes as text ("1", not 1 or "1.0")."""
    text = values.astype(str).str.strip()
    return text.str.replace(r"\.0+$", "", regex=True).to_numpy(dtype=object)



def rnf_graph(path: Path, settings: NetworkSettings) -> RoadGraph:
    """Statistics Canada's Road Network File (any vector format), two-way, speeds by
    CLASS where listed, else by RANK. ``road_class`` is ``"rank <RANK> class <CLASS>"``."""
    path = Path(path)
    lines = read_geo(path)
    require_columns(lines, ["RANK", "CLASS"], str(path))
    lines = lines[lines.geometry.notna() & ~lines.geometry.is_empty]
    lines = lines.explode(index_parts=False).reset_index(drop=True)
    rank, klass = _codes(lines["RANK"]), _codes(lines["CLASS"])
    excluded = np.isin(klass, list(settings.rnf_exclude_classes))
    if excluded.any():
        log.info("%s: %d segment(s) of CLASS %s left out (network.rnf_exclude_classes)",
                 path.name, int(excluded.sum()), ", ".join(settings.rnf_exclude_classes))
        lines, rank, klass = lines[~excluded], rank[~excluded], klass[~excluded]
    if not len(lines):
        raise NetworkError(f"{path}: no road segments left to drive")
    ranks = settings.rnf_rank_speed_kph
    slowest = min(ranks.values())
    by_class = np.array([settings.rnf_class_speed_kph.get(c, np.nan) for c in klass])
    unknown = sorted({r for r, c in zip(rank, by_class, strict=True)
                      if r not in ranks and np.isnan(c)})
    if unknown:
        log.warning("%s: RANK value(s) %s have no speed in network.rnf_rank_speed_kph; they "
                    "take the slowest, %g km/h", path, ", ".join(unknown), slowest)
    by_rank = np.array([ranks.get(r, slowest) for r in rank])
    speed = np.where(np.isnan(by_class), by_rank, by_class)
    cls = np.array([f"rank {r} class {c}" for r, c in zip(rank, klass, strict=True)],
                   dtype=object)
    label = (lines["NAME"].fillna("").astype(str).to_numpy(dtype=object) if "NAME" in lines
             else np.full(len(lines), "", dtype=object))
    ids = (lines["NGD_UID"].astype(str).to_numpy(dtype=object) if "NGD_UID" in lines
           else None)
    return graph_from_segments(lines, speed_kph=speed, road_class=cls, label=label,
                               node_snap_m=settings.node_snap_m,
                               source=f"Road Network File ({path.name})", source_id=ids)



# -- osmnx download, cached ------------------------------------------------------------------


def osmnx_cache_path(settings: NetworkSettings) -> Path:
    """Where the GraphML of an osmnx download by ``place`` or ``bbox`` is kept."""
    what = {"place": settings.place, "bbox": list(settings.bbox) if settings.bbox else None,
            "network_type": "drive"}
    key = hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:10]
    name = re.sub(r"[^a-z0-9]+", "-", (settings.place or "bbox").lower()).strip("-")[:40]
    folder = settings.cache_dir if settings.cache_dir is not None else Path("data/interim")
    return Path(folder) / f"osmnx_drive_{name}_{key}.graphml"


def osmnx_graph(settings: NetworkSettings) -> RoadGraph:
    """A drivable network by place name or bounding box, downloaded once with osmnx.

    The download is saved as GraphML at :func:`osmnx_cache_path` and every run, the first
    included, reads the graph from that file: a later run needs no network. Delete the file
    to download again.
    """
    import osmnx as ox

    if settings.place is None and settings.bbox is None:
        raise NetworkError("network.source = \"osmnx\" needs network.place or network.bbox")
    path = osmnx_cache_path(settings)
    what = f"place {settings.place!r}" if settings.place else f"bbox {list(settings.bbox or ())}"
    if not path.is_file():
        log.warning("downloading the drivable road network of %s from OpenStreetMap with "
                    "osmnx; it is cached as %s", what, path)
        old_folder = ox.settings.cache_folder
        ox.settings.cache_folder = str(path.parent / "osmnx_http")
        try:
            if settings.place:
                g = ox.graph_from_place(settings.place, network_type="drive")
            elif settings.bbox is not None:
                g = ox.graph_from_bbox(settings.bbox, network_type="drive")
        except Exception as exc:  # any failure to download is the same to the user
            raise NetworkError(
                f"osmnx could not download the road network of {what}: {exc}. Without the "
                f"internet, run once where there is one and copy {path.name} into "
                f"{path.parent}, or use network.source = \"osm_file\"") from exc
        finally:
            ox.settings.cache_folder = old_folder
        with atomic_path(path) as tmp:
            ox.save_graphml(g, tmp)
    else:
        log.info("reading the osmnx download of %s cached in %s", what, path)
    try:
        g = ox.load_graphml(path)
    except Exception as exc:
        raise NetworkError(f"{path}: cannot be read as osmnx GraphML: {exc}") from exc
    return graph_from_networkx(g, settings, source=f"osmnx {what} ({path.name})")


def graph_from_networkx(g: Any, settings: NetworkSettings, *, source: str) -> RoadGraph:
    """A :class:`RoadGraph` from an osmnx MultiDiGraph (unprojected; one edge per direction).

    Speeds follow the same rules as :func:`osm_file_graph`, from each edge's ``maxspeed``
    and ``highway`` (the lowest where osmnx merged several ways into one edge).
    """
    ids = list(g.nodes)
    if not ids:
        raise NetworkError(f"{source}: the graph has no nodes")
    pos = {n: i for i, n in enumerate(ids)}
    x = np.array([float(g.nodes[n]["x"]) for n in ids])
    y = np.array([float(g.nodes[n]["y"]) for n in ids])
    nodes = pd.DataFrame({"x": x, "y": y, "osmid": ids})
    u, v, geom, cls, lab, speed, ids = [], [], [], [], [], [], []
    for a, b, data in g.edges(data=True):
        i, j = pos[a], pos[b]
        line = data.get("geometry")
        if line is None:
            line = shapely.LineString([(x[i], y[i]), (x[j], y[j])])
        u.append(i)
        v.append(j)
        geom.append(line)
        cls.append(";".join(dict.fromkeys(_as_list(data.get("highway")))))
        lab.append(_label(data))
        ids.append(";".join(_as_list(data.get("osmid"))))
        speed.append(osm_speeds({"highway": _as_list(data.get("highway")),
                                 "maxspeed": _as_list(data.get("maxspeed")) or None},
                                settings)[0])
    geom_a = np.array(geom, dtype=object)
    sp = np.array(speed, dtype=float)
    seg = pd.DataFrame({"u": np.array(u, dtype=np.int64), "v": np.array(v, dtype=np.int64),
                        "geometry": geom_a, "length_m": _line_lengths_m(geom_a),
                        "road_class": np.array(cls, dtype=object),
                        "label": np.array(lab, dtype=object), "forward": True,
                        "backward": False, "speed_fwd_kph": sp, "speed_bwd_kph": sp,
                        "source_id": np.array(ids, dtype=object)})
    return directed_edges(nodes, seg, source=source)

