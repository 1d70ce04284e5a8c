"""Maps: self-contained HTML maps of Ontario and of each OPP region.

A map opens from a file, by email or on a locked-down machine, with no network: Leaflet,
Leaflet.markercluster and gapmap's own script and stylesheet are inlined from PyPI packages
(:mod:`gapmap.outputs.webassets`), and the basemap is drawn from the shipped vector data (province,
OPP regions, census divisions, King's Highways, towns). OpenStreetMap tiles are offered as
an optional layer, off by default, with their attribution.

What a map shows:

* services, one clustered marker each, coloured by need; a check box per need type shows
  the services that meet it (a service stays shown while any of its needs is ticked);
* the communities (demand points): a click opens a panel that lists, per need, the nearest
  service and the drive time to it (from the travel table of :mod:`gapmap.travel`);
* per need, the communities beyond its threshold (hidden at first), sized by population and
  coloured by drive time;
* the communities with no all-season road; the region outline; a legend with the services
  listed without a point; search by service or town; a print view; a footer with the data
  vintage, the generation date and the config's name and fingerprint.

The page carries its data as one JSON block that the inlined ``static/map.js`` draws, by
the names :class:`MapData` declares (long lists as tables of named columns).
Safety: every piece of listing text is HTML-escaped here, in Python, before it enters the
page, and the JSON is written so that nothing in it can end its ``<script>`` element;
website links are kept only for ``http``/``https``. Confidential services arrive placed no
finer than their town (ingest withholds the street address, postal code and exact point):
they are shown at that point and marked "location withheld", and a confidential row with a
finer point stops the stage. With ``maps.confidential = "hide"`` they are left off the maps
entirely, and a community whose nearest service is one of them sees "a confidential service".
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import urlsplit

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template
from scipy.spatial import cKDTree

from gapmap import __version__
from gapmap.contracts import ACCESS_VALUES, access_text, check_withheld, is_placed
from gapmap.io import generated_on, read_geo, read_table, require_columns, write_text
from gapmap.outputs.webassets import MAP_CSS, MAP_JS, inline_assets, leaflet_icon_uris
from gapmap.regions import serves_region, slug
from gapmap.taxonomy import label

log = logging.getLogger(__name__)

NEED_COLOURS = {
    "crisis_support": "#d62728", "emergency_shelter": "#9467bd", "housing": "#8c564b",
    "sexual_assault_care": "#e377c2", "medical_care": "#1f77b4", "counselling": "#17becf",
    "addiction_mental_health": "#bcbd22", "legal_support": "#7f7f7f",
    "court_support": "#393b79", "indigenous_services": "#ff7f0e", "interpretation": "#637939",
    "settlement": "#2ca02c", "youth_services": "#843c39", "anti_trafficking": "#000000",
}
GAP_COLOURS: tuple[tuple[float, str], ...] = ((90.0, "#fdae61"), (180.0, "#f46d43"),
                                              (float("inf"), "#a50026"))
"""Gap communities: drive time (min) up to which each colour applies."""
NO_TIME_COLOUR = "#4d004b"
OPTIONAL_POPUP_FIELDS = (("hours", "Hours"), ("languages", "Languages"),
                         ("eligibility", "Eligibility"))
"""Listing columns shown in a popup when the services table has them."""
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = ('&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap'
                   '</a> contributors')
DATA_ATTRIBUTION = ("Boundaries: Statistics Canada (Open Licence); towns: GeoNames "
                    "(CC BY 4.0); King's Highways: xfpa (GPL-3.0)")
DISPLAY_TOLERANCE_DEG = 0.005
"""Geometries are simplified by this much (about 500 m) for display."""
COORD_DECIMALS = 3
"""Coordinates on the maps are rounded to this many decimals (about 100 m)."""


def _e(value: object) -> str:
    """HTML-escape listing text ("" for missing values)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def _text(row: pd.Series, col: str) -> str:
    value = row.get(col)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def _safe_url(url: str) -> str:
    """The URL if it is an ``http``/``https`` address with a host, else ``""``."""
    url = (url or "").strip()
    if not url or any(c.isspace() or ord(c) < 32 for c in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


_PHONE = re.compile(r"(?:\+?1[\s.-]?)?\(?([2-9]\d{2})\)?[\s.-]?(\d{3})[\s.-]?(\d{4})"
                    r"(?:,?\s*(?:ext\.?|x|poste)\s*(\d{1,6}))?", re.I)


def phone_html(phone: str) -> str:
    """A phone field as HTML: each North American number in it a ``tel:`` link.

    ``"705-474-8600 ext. 4500"`` links ``tel:+17054748600;ext=4500``; text around the numbers
    (``"(24-hour)"``, ``"GTA"``) stays as escaped text. A field with no such number but 3-15
    digits (``"211"``) links those digits.
    """
    out, pos = [], 0
    for m in _PHONE.finditer(phone):
        tel = "+1" + "".join(m.group(1, 2, 3)) + (f";ext={m.group(4)}" if m.group(4) else "")
        out.append(_e(phone[pos:m.start()]))
        out.append(f'<a href="tel:{tel}">{_e(m.group(0))}</a>')
        pos = m.end()
    out.append(_e(phone[pos:]))
    if pos == 0:
        digits = "".join(c for c in phone if c.isdigit())
        if 3 <= len(digits) <= 15:
            return f'<a href="tel:{digits}">{_e(phone)}</a>'
    return "".join(out)


def service_popup(row: pd.Series) -> str:
    """Popup HTML for one service: every listing value escaped."""
    parts = [f'<b class="gm-name">{_e(_text(row, "name"))}</b>']
    org = _text(row, "organization")
    if org and org != _text(row, "name"):
        parts.append(f'<span class="gm-org">{_e(org)}</span>')
    needs = ", ".join(label(n) for n in _text(row, "need_types").split(";") if n)
    parts.append(f"<i>{_e(needs)}</i>")
    phone = _text(row, "phone")
    if phone:
        parts.append(f'Phone: <span class="gm-phone">{phone_html(phone)}</span>')
    url = _safe_url(_text(row, "website"))
    if url:
        parts.append(f'<a href="{_e(url)}" target="_blank" rel="noopener noreferrer">'
                     f'{_e(url)}</a>')
    for col, name in OPTIONAL_POPUP_FIELDS:
        if _text(row, col):
            parts.append(f"{name}: {_e(_text(row, col))}")
    city = _text(row, "city")
    if bool(row.get("confidential")):
        parts.append(f'<b class="gm-withheld">Location withheld</b>: shown at '
                     f'{_e(city) or "its town"} only')
    elif _text(row, "address"):
        parts.append(_e(", ".join(x for x in (_text(row, "address"), city) if x)))
    elif city:
        parts.append(_e(city))
    if _text(row, "area_name"):
        parts.append(f"Serves: {_e(_text(row, 'area_name'))}")
    parts.append(f"Location precision: {_e(_text(row, 'geocode_precision'))}")
    return "<br>".join(parts)


# -- geometry for display ------------------------------------------------------------------

def _round(coords: np.ndarray) -> list[list[float]]:
    """(lon, lat) pairs -> rounded [lat, lon] pairs without consecutive repeats."""
    c = np.round(np.asarray(coords)[:, [1, 0]], COORD_DECIMALS)
    keep = np.ones(len(c), dtype=bool)
    keep[1:] = np.any(c[1:] != c[:-1], axis=1)
    return c[keep].tolist()


def _parts(geoms: gpd.GeoSeries, tolerance: float, kind: str) -> list[Any]:
    """The simplified single parts of type ``kind`` (``Polygon``, ``LineString``) of
    ``geoms``; empty and missing geometries are skipped."""
    simple = geoms.simplify(tolerance, preserve_topology=True).to_numpy()
    simple = simple[~(pd.isna(simple) | shapely.is_empty(simple))]
    return [p for p in shapely.get_parts(simple) if p.geom_type == kind]


def _polygons(geoms: gpd.GeoSeries, tolerance: float) -> list[Any]:
    """Polygons as Leaflet multipolygon lists ``[[ring, hole, ...], ...]`` in [lat, lon]."""
    out: list[Any] = []
    for p in _parts(geoms, tolerance, "Polygon"):
        rings = [_round(np.asarray(p.exterior.coords))]
        rings += [_round(np.asarray(r.coords)) for r in p.interiors]
        rings = [r for r in rings if len(r) >= 4]
        if rings:
            out.append(rings)
    return out


def _lines(geoms: gpd.GeoSeries, tolerance: float) -> list[Any]:
    """Lines as Leaflet polyline lists of [lat, lon]."""
    lines = (_round(np.asarray(p.coords)) for p in _parts(geoms, tolerance, "LineString"))
    return [r for r in lines if len(r) >= 2]


def _r(x: float) -> float:
    return round(float(x), COORD_DECIMALS + 1)


@dataclass(frozen=True)
class MapSettings:
    """What the maps take from a run's settings; the maps stage (:mod:`gapmap.maps`) builds
    it from the Config."""

    run_name: str
    need_types: tuple[str, ...]
    thresholds_min: Mapping[str, float]
    """Each need type's threshold, minutes."""
    whole_run: str
    """The title of the map of the whole run: ``Ontario``, or e.g. Ottawa's census division
    (:func:`gapmap.gaps.total_label`)."""
    confidential: str = "town"
    """``town``: confidential services shown at their town; ``hide``: left off the maps."""
    data_vintage: str = ""
    fingerprint: str = ""


@dataclass(frozen=True)
class Basemap:
    """The vector basemap read once for all the maps of a run (EPSG:4326)."""

    province: gpd.GeoDataFrame
    highways: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    """``name``, ``population``, point geometry."""

    @classmethod
    def load(cls, *, province: Path, highways: Path, towns: Path) -> Basemap:
        """Read the province outline, the highways and the towns (GeoNames columns ``name``,
        ``lat``, ``lon``, ``population``)."""
        towns_table = read_table(towns)
        require_columns(towns_table, ["name", "lat", "lon", "population"], str(towns))
        return cls._of(read_geo(province), read_geo(highways), towns_table)

    @classmethod
    def _of(cls, province: gpd.GeoDataFrame, highways: gpd.GeoDataFrame,
            towns: pd.DataFrame) -> Basemap:
        pop = pd.to_numeric(towns["population"], errors="coerce").fillna(0).astype(int)
        towns_gdf = gpd.GeoDataFrame(
            {"name": towns["name"], "population": pop},
            geometry=gpd.points_from_xy(pd.to_numeric(towns["lon"]),
                                        pd.to_numeric(towns["lat"])), crs=4326)
        if "category" not in highways.columns:
            highways = highways.assign(category="")
        return cls(province=province, highways=highways,
                   towns=towns_gdf.sort_values(["population", "name"], ascending=[False, True],
                                               kind="stable").reset_index(drop=True))


# -- the page's data -----------------------------------------------------------------------
#
# The page carries one JSON object, MapData, that static/map.js draws. Its shape is declared
# once, by the TypedDicts below; map.js's opening comment follows it and points here.


class Need(TypedDict):
    """One need type of the run, in the order of ``needs`` (a need's position is its index
    everywhere else)."""

    code: str  # need type, e.g. "medical_care"
    label: str  # its name for people
    colour: str  # CSS colour of its services
    thresholdMin: float  # its coverage threshold, minutes


class ServiceTable(TypedDict):
    """Table, one row per service the page names: those on the map, those listed for its
    region without a point, and those named in a community's panel only."""

    name: list[str]
    organization: list[str]
    city: list[str]
    needs: list[list[int]]  # positions in ``needs``
    popup: list[str]  # the popup's HTML
    lat: list[float | None]  # None: not drawn on this map
    lon: list[float | None]
    confidential: list[int]  # 1: shown at its town, location withheld
    listedWithoutPoint: list[int]  # 1: listed for this map's region but on no point


class CommunityTable(TypedDict):
    """Table, one row per community (demand point) of the map."""

    name: list[str]
    cdName: list[str]  # its census division
    population: list[int]  # 2021
    enumerated: list[int]  # 0: not enumerated in 2021 (population unknown)
    lat: list[float]
    lon: list[float]
    remoteName: list[str]  # the community's name when it has no all-season road, else ""
    airHub: list[str]  # its nearest air hub, or ""
    subdivision: list[int]  # 1: a census subdivision (searchable), 0: a tract


class TravelColumns(TypedDict):
    """Table per need (in ``needs`` order), one row per community (``communities`` order):
    the nearest service of that need."""

    minutes: list[int | None]  # drive time, rounded; None: no drive time
    service: list[int]  # row in ``services``; -1: none, -2: a confidential service hidden
    access: list[int]  # position in ``access.codes``


class GapTable(TypedDict):
    """Table per need (in ``needs`` order), one row per community outside its threshold
    (those with no all-season road are drawn as such, not listed here)."""

    community: list[int]  # row in ``communities``
    minutes: list[int | None]
    access: list[int]  # position in ``access.codes``


class AccessWords(TypedDict):
    """The travel table's ``access`` values and their words (:func:`access_text`)."""

    codes: list[str]
    text: list[str]


class TownTable(TypedDict):
    """Table, one row per basemap town, most populous first."""

    name: list[str]
    population: list[int]
    lat: list[float]
    lon: list[float]
    community: list[int]  # row in ``communities`` of the nearest (within 25 km), or -1


class RegionOutline(TypedDict):
    name: str
    polygons: list[Any]


class BaseLayers(TypedDict):
    """The vector basemap. Polygons are Leaflet multipolygons ``[[ring, hole, ...], ...]``,
    lines Leaflet polylines; every point ``[lat, lon]``."""

    province: list[Any]
    regions: list[RegionOutline]
    censusDivisions: list[Any]
    highways: list[Any]  # King's Highways other than expressways
    expressways: list[Any]


class GapColour(TypedDict):
    uptoMin: float | None  # this colour up to this drive time; None: no upper bound
    colour: str


class OsmLayer(TypedDict):
    url: str
    attribution: str


class Footer(TypedDict):
    vintage: str
    generated: str  # the run's date, YYYY-MM-DD
    config: str
    fingerprint: str
    version: str


class MapData(TypedDict):
    """Everything one map page draws: the JSON that ``static/map.js`` reads, by these names.

    A *table* is an object of equal-length arrays, one per named column: the page's long
    lists write each column name once, not once per row. Every listing string is
    HTML-escaped (:func:`_e`); coordinates are rounded to :data:`COORD_DECIMALS` + 1.
    """

    title: str
    region: str  # the region mapped, or the whole run's label ("Ontario")
    bounds: list[list[float]]  # [[south, west], [north, east]]
    needs: list[Need]
    services: ServiceTable
    communities: CommunityTable
    travel: list[TravelColumns] | None  # None: no travel table, the panel says so
    gaps: list[GapTable]
    access: AccessWords
    towns: TownTable
    base: BaseLayers
    gapColours: list[GapColour]
    noTimeColour: str  # gap communities with no drive time
    osm: OsmLayer  # optional OpenStreetMap tiles (online only)
    attribution: str  # the shipped data's attribution
    icons: dict[str, str]  # Leaflet's default marker images as data: URIs
    confidential: str  # maps.confidential: "town" or "hide"
    footer: Footer


@dataclass(frozen=True)
class _Scope:
    """The rows of one map: its census divisions, services, communities and gap rows."""

    cds: gpd.GeoDataFrame
    services: gpd.GeoDataFrame  # the run's need types only; hidden confidential ones left out
    demand: gpd.GeoDataFrame  # index 0..n-1: a community's row in the page
    gaps: pd.DataFrame
    hidden_ids: frozenset[str]  # confidential services left off (maps.confidential = hide)
    needs: list[str]


def _scope(region: str | None, services: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
           gaps: pd.DataFrame, cds: gpd.GeoDataFrame, settings: MapSettings) -> _Scope:
    if region:
        cds = cds[cds["opp_region"] == region]
        svc = services[serves_region(services["opp_region"], region)]
        demand = demand[demand["opp_region"] == region]
        gaps = gaps[gaps["opp_region"] == region]
    else:
        svc = services
    hidden: frozenset[str] = frozenset()
    if settings.confidential == "hide":
        hidden = frozenset(services.loc[services["confidential"].astype(bool), "service_id"])
        svc = svc[~svc["confidential"].astype(bool)]
    needs = list(settings.need_types)
    svc = svc[svc["need_types"].fillna("").str.split(";").map(
        lambda ns: any(n in needs for n in ns)).astype(bool)]  # the run's need types only
    return _Scope(cds=cds, services=svc, demand=demand.reset_index(drop=True), gaps=gaps,
                  hidden_ids=hidden, needs=needs)


class _AccessCodes:
    """Positions in ``access.codes``: :data:`ACCESS_VALUES`, then any other value met."""

    def __init__(self) -> None:
        self.codes = list(ACCESS_VALUES)

    def __call__(self, value: object) -> int:
        v = str(value) if value is not None and value == value else "no_service"
        if v not in self.codes:
            self.codes.append(v)
        return self.codes.index(v)

    def words(self) -> AccessWords:
        return {"codes": [_e(a) for a in self.codes],
                "text": [_e(access_text(a)) for a in self.codes]}


def _service_rows(scope: _Scope, services: gpd.GeoDataFrame, travel: pd.DataFrame | None
                  ) -> tuple[pd.DataFrame, set[str], set[str]]:
    """The services the page names, in its order (placed, listed without a point, named in
    a panel only), with the ids of those on the map and of those listed without a point."""
    svc = scope.services
    placed_here = is_placed(svc)
    placed, unplaced = svc[placed_here], svc[~placed_here]
    referenced: list[str] = []
    if travel is not None:
        t_here = travel[travel["demand_id"].isin(scope.demand["demand_id"])]
        referenced = sorted(set(t_here["service_id"].dropna().astype(str)) - {""}
                            - scope.hidden_ids)
    by_id = services.drop_duplicates("service_id").set_index("service_id", drop=False)
    listed = set(svc["service_id"])
    others = [s for s in referenced if s in by_id.index and s not in listed]
    rows = pd.concat([placed, unplaced, by_id.loc[others]])
    return rows, set(placed["service_id"]), set(unplaced["service_id"])


def _service_table(rows: pd.DataFrame, on_map: set[str], listed_only: set[str],
                   needs: list[str]) -> ServiceTable:
    need_pos = {n: i for i, n in enumerate(needs)}
    table: ServiceTable = {"name": [], "organization": [], "city": [], "needs": [],
                           "popup": [], "lat": [], "lon": [], "confidential": [],
                           "listedWithoutPoint": []}
    for _, r in rows.iterrows():
        point = r["service_id"] in on_map
        table["name"].append(_e(r["name"]))
        table["organization"].append(_e(r["organization"]))
        table["city"].append(_e(r["city"]))
        table["needs"].append([need_pos[n] for n in str(r["need_types"]).split(";")
                               if n in need_pos])
        table["popup"].append(service_popup(r))
        table["lat"].append(_r(r.geometry.y) if point else None)
        table["lon"].append(_r(r.geometry.x) if point else None)
        table["confidential"].append(int(bool(r["confidential"])))
        table["listedWithoutPoint"].append(int(r["service_id"] in listed_only))
    return table


def _community_table(dem: gpd.GeoDataFrame) -> CommunityTable:
    return {
        "name": [_e(v) for v in dem["name"]], "cdName": [_e(v) for v in dem["cd_name"]],
        "population": [int(v) for v in dem["pop2021"]],
        "enumerated": [int(bool(v)) for v in dem["enumerated"]],
        "lat": [_r(g.y) for g in dem.geometry], "lon": [_r(g.x) for g in dem.geometry],
        "remoteName": [_e(v) if a == "no_all_season_road" else "" for v, a in zip(
            dem["remote_community"].fillna(""), dem["access"], strict=True)],
        "airHub": [_e(v) for v in dem["air_hub"].fillna("")],
        "subdivision": [int(k == "subdivision") for k in dem["kind"]],
    }


def _minutes(values: pd.Series) -> list[int | None]:
    return [None if not np.isfinite(v) else int(round(v)) for v in values.astype(float)]


def _travel_columns(travel: pd.DataFrame, scope: _Scope, service_row: dict[str, int],
                    access: _AccessCodes) -> list[TravelColumns]:
    """Per need, each community's nearest service (see :class:`TravelColumns`)."""
    ids = pd.Index(scope.demand["demand_id"])
    t_here = travel[travel["demand_id"].isin(ids)].sort_values("travel_min")
    t_here = t_here.drop_duplicates(["demand_id", "need_type"])
    out: list[TravelColumns] = []
    for need in scope.needs:
        tn = t_here[t_here["need_type"] == need].set_index("demand_id").reindex(ids)
        out.append({
            "minutes": _minutes(tn["travel_min"]),
            "service": [service_row.get(str(s), -2 if str(s) in scope.hidden_ids else -1)
                        for s in tn["service_id"].fillna("")],
            "access": [access(a) for a in tn["access"]]})
    return out


def _gap_tables(scope: _Scope, access: _AccessCodes) -> list[GapTable]:
    """Per need, the communities outside its threshold that have a road."""
    at = {d: i for i, d in enumerate(scope.demand["demand_id"])}
    out: list[GapTable] = []
    for need in scope.needs:
        g = scope.gaps[(scope.gaps["need_type"] == need)
                       & (scope.gaps["access"] != "no_all_season_road")]
        g = g[g["demand_id"].isin(at)]
        out.append({"community": [at[d] for d in g["demand_id"]],
                    "minutes": _minutes(g["travel_min"]),
                    "access": [access(a) for a in g["access"]]})
    return out


def _town_table(basemap: Basemap, area: shapely.Geometry, dem: gpd.GeoDataFrame
                ) -> TownTable:
    """The basemap's towns in the map's area, each linked to its nearest community."""
    towns = basemap.towns[basemap.towns.within(area.buffer(0.02))]
    town_comm = [-1] * len(towns)
    if len(towns) and len(dem):
        tree = cKDTree(np.asarray(dem.to_crs(3347).geometry.get_coordinates()))
        dist, which = tree.query(np.asarray(towns.to_crs(3347).geometry.get_coordinates()))
        town_comm = [int(w) if d <= 25_000 else -1 for d, w in zip(dist, which, strict=True)]
    return {"name": [_e(v) for v in towns["name"]],
            "population": [int(v) for v in towns["population"]],
            "lat": [_r(g.y) for g in towns.geometry], "lon": [_r(g.x) for g in towns.geometry],
            "community": town_comm}


def _base_layers(outline: gpd.GeoDataFrame, cds: gpd.GeoDataFrame, basemap: Basemap,
                 region: str | None) -> BaseLayers:
    """The province, region outlines, census divisions and King's Highways, simplified."""
    minx, miny, maxx, maxy = outline.total_bounds
    frame = shapely.box(minx - 0.5, miny - 0.5, maxx + 0.5, maxy + 0.5)
    hw = basemap.highways[basemap.highways.intersects(frame)].copy()
    hw["geometry"] = hw.geometry.intersection(frame)
    expressway = hw["category"].fillna("") == "expressway"
    tol = DISPLAY_TOLERANCE_DEG
    return {
        "province": _polygons(basemap.province.geometry, tol * (1 if region is None else 4)),
        "regions": [{"name": _e(r["opp_region"]),
                     "polygons": _polygons(gpd.GeoSeries([r.geometry]), tol)}
                    for _, r in outline.iterrows()],
        "censusDivisions": _polygons(cds.geometry, tol),
        "highways": _lines(hw.loc[~expressway].geometry, tol),
        "expressways": _lines(hw.loc[expressway].geometry, tol),
    }


def _footer(settings: MapSettings) -> Footer:
    return {"vintage": _e(settings.data_vintage or "not stated"), "generated": generated_on(),
            "config": _e(settings.run_name), "fingerprint": settings.fingerprint,
            "version": __version__}


def map_data(region: str | None, services: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
             gaps: pd.DataFrame, cds: gpd.GeoDataFrame, settings: MapSettings, *,
             basemap: Basemap, travel: pd.DataFrame | None = None) -> MapData:
    """Everything one map draws (:class:`MapData`); every listing string HTML-escaped.

    ``region=None`` is the map of the whole run, titled ``settings.whole_run``
    (``Ontario`` province-wide). ``travel`` (columns ``demand_id``, ``need_type``,
    ``travel_min``, ``service_id``, ``access``) feeds the nearest-services panel; without it
    the panel says that travel times are not available.
    """
    check_withheld(services, refusing="map them")
    scope = _scope(region, services, demand, gaps, cds, settings)
    rows, on_map, listed_only = _service_rows(scope, services, travel)
    service_row = {sid: i for i, sid in enumerate(rows["service_id"])}
    access = _AccessCodes()
    travel_cols = (None if travel is None
                   else _travel_columns(travel, scope, service_row, access))
    gap_tables = _gap_tables(scope, access)
    outline = scope.cds.dissolve(by="opp_region", as_index=False)
    minx, miny, maxx, maxy = outline.total_bounds
    where = region or settings.whole_run  # the whole run: "Ontario", or e.g. Ottawa's CD
    return {
        "title": _e(f"gapmap: {where}"), "region": _e(where),
        "bounds": [[_r(miny), _r(minx)], [_r(maxy), _r(maxx)]],
        "needs": [{"code": n, "label": _e(label(n)), "colour": NEED_COLOURS.get(n, "#333333"),
                   "thresholdMin": float(settings.thresholds_min[n])} for n in scope.needs],
        "services": _service_table(rows, on_map, listed_only, scope.needs),
        "communities": _community_table(scope.demand),
        "travel": travel_cols, "gaps": gap_tables, "access": access.words(),
        "towns": _town_table(basemap, outline.union_all(), scope.demand),
        "base": _base_layers(outline, scope.cds, basemap, region),
        "gapColours": [{"uptoMin": None if not np.isfinite(u) else u, "colour": c}
                       for u, c in GAP_COLOURS],
        "noTimeColour": NO_TIME_COLOUR,
        "osm": {"url": OSM_TILES, "attribution": OSM_ATTRIBUTION},
        "attribution": _e(DATA_ATTRIBUTION), "icons": leaflet_icon_uris(),
        "confidential": settings.confidential, "footer": _footer(settings),
    }


def json_for_html(data: Any) -> str:
    """JSON that can sit inside a ``<script>`` element: ``<``, ``>``, ``&`` as ``\\u`` escapes."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class _GapmapLayers(MacroElement):
    """Calls ``gapmapInit`` (``static/map.js``) on the map with the page's JSON data."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            gapmapInit({{ this._parent.get_name() }},
                JSON.parse(document.getElementById("gapmap-data").textContent));
        {% endmacro %}
    """)

    def __init__(self) -> None:
        super().__init__()
        self._name = "GapmapLayers"


class _Map(folium.Map):
    """folium's Map with only what gapmap uses: no Bootstrap, Font Awesome, awesome-markers
    or jQuery (see :mod:`gapmap.outputs.webassets`)."""

    default_js = MAP_JS
    default_css = MAP_CSS


def build_map(region: str | None, services: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
              gaps: pd.DataFrame, cds: gpd.GeoDataFrame, settings: MapSettings, *,
              basemap: Basemap, travel: pd.DataFrame | None = None) -> folium.Map:
    """One map: all of Ontario (``region=None``) or one OPP region (see :func:`map_data`)."""
    data = map_data(region, services, demand, gaps, cds, settings, travel=travel,
                    basemap=basemap)
    (s, w), (n, e) = data["bounds"]
    m = _Map(location=[(s + n) / 2, (w + e) / 2], zoom_start=6, tiles=None,
             control_scale=True, zoom_control=True, zoom_snap=0.25)
    root = m.get_root()
    root.header.add_child(Element(  # type: ignore[attr-defined]
        f'<title>{data["title"]}</title>\n'
        f'<meta name="generator" content="gapmap {__version__}">'))
    root.html.add_child(Element(  # type: ignore[attr-defined]
        f'<script type="application/json" id="gapmap-data">{json_for_html(data)}</script>'))
    m.add_child(_GapmapLayers())
    return m


_FOLIUM_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def render_deterministic(m: folium.Map) -> str:
    """Render a map as one self-contained page, folium's random ids made sequential.

    The same inputs then give a byte-identical file (on the same day: the footer carries
    the date), so reruns are idempotent and diffs of two runs show only what changed.

    Raises
    ------
    MapAssetError
        The page needs a resource that cannot be inlined.
    """
    text = m.get_root().render()
    ids: dict[str, str] = {}
    text = _FOLIUM_ID.sub(lambda mt: ids.setdefault(mt.group(0), f"{len(ids):032x}"), text)
    return inline_assets(text)


def map_files(maps_dir: Path, *, run_name: str, regions: Sequence[str],
              one_map: bool = False) -> list[tuple[str | None, Path]]:
    """The maps a run writes: (OPP region, or None for the whole run; file path).

    ``ontario.html`` and one per OPP region in ``regions``; with ``one_map`` (a run limited
    to some census divisions, e.g. a city) one map named after the run (``ottawa.html``):
    a map per region would repeat it.
    """
    if one_map:
        return [(None, maps_dir / f"{slug(run_name) or 'map'}.html")]
    return [(None, maps_dir / "ontario.html"),
            *((r, maps_dir / f"{slug(r)}.html") for r in regions)]


def write_maps(files: Sequence[tuple[str | None, Path]], services: gpd.GeoDataFrame,
               demand: gpd.GeoDataFrame, gaps: pd.DataFrame, cds: gpd.GeoDataFrame,
               settings: MapSettings, *, basemap: Basemap,
               travel: pd.DataFrame | None = None) -> list[Path]:
    """Write each map of ``files`` (see :func:`map_files`)."""
    written = []
    for region, path in files:
        m = build_map(region, services, demand, gaps, cds, settings, travel=travel,
                      basemap=basemap)
        write_text(render_deterministic(m), path)
        log.info("map %s: %.1f MB", path, path.stat().st_size / 1e6)
        written.append(path)
    return written


__all__ = ["Basemap", "MapSettings", "build_map", "check_withheld", "json_for_html", "map_data",
           "map_files", "phone_html", "render_deterministic", "service_popup", "write_maps"]
