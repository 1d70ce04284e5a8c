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
  vintage, the generation date and the config's name and fingerprint;
* two optional layers, off at first: per community, how many needs it reaches within their
  thresholds (the gaps stage's ``wraparound.csv``), and the suggested sites of the need shown
  with their caveats (the plan stage's ``suggestions.csv``);
* an optional layer, off at first: each community coloured by its capacity-aware access to
  the need shown, services per 100,000 people by E2SFCA (the plan stage's
  ``access_by_community.csv``), in the fixed bands of :data:`ACCESS_BANDS`;
* a service's access kinds ("in person / outreach / by phone"), "open 24/7" (also a gold
  corner on its marker) and whom it is limited to (:func:`limit_words`) in its popup when
  the services table fills ``delivery``, ``open_24_7``, ``gender_limit``, ``eligible_groups``
  and the ages;
* what reaches a gap community instead (``gap_communities.csv`` ``reached_by``): a ring per
  kind (outreach only, a line only, nothing else); a fly-in community with an in-person
  service of the need shown inside it (travel access ``in_community``); per division and for
  the region (``coverage_by_region.csv``), the share reached only by outreach or a line;
* in a community's panel, per need, the nearest in-person service with its phone, time,
  hours, 24/7 mark and limit, then the outreach services and lines whose area holds the
  community (:func:`gapmap.analysis.access.reach_areas`, computed here: the page only looks
  up a community's set).

Search runs in the page over an index built here (:func:`search_table`: one entry per
place, names folded by :func:`fold`); the page forgives a typo or two. Every word of the
page, marker names and credits included, is in English and French. From the keyboard, Tab
reaches the search first, then the controls, then the communities in view.

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

import dataclasses
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
from gapmap.analysis.access import in_area, limit_text, reach_areas
from gapmap.contracts import (
    ACCESS_VALUES,
    TIMED_ACCESS,
    access_text,
    check_withheld,
    dated_before,
    delivery_has,
    is_placed,
)
from gapmap.io import generated_on, read_geo, read_table, require_columns, write_text
from gapmap.outputs.webassets import MAP_CSS, MAP_JS, inline_assets, leaflet_icon_uris
from gapmap.regions import serves_region, slug
from gapmap.taxonomy import BY_CODE, label, offers_any

log = logging.getLogger(__name__)

NEED_COLOURS = {
    "crisis_support": "#d62728", "emergency_shelter": "#9467bd", "housing": "#8c564b",
    "sexual_assault_care": "#e377c2", "medical_care": "#1f77b4", "counselling": "#17becf",
    "addiction_mental_health": "#bcbd22", "legal_support": "#7f7f7f",
    "court_support": "#393b79", "indigenous_services": "#ff7f0e", "interpretation": "#637939",
    "settlement": "#2ca02c", "youth_services": "#e6ab02", "anti_trafficking": "#000000",
}
GAP_COLOURS: tuple[tuple[float, str], ...] = ((90.0, "#fdae61"), (180.0, "#f46d43"),
                                              (float("inf"), "#a50026"))
"""Gap communities: drive time (min) up to which each colour applies."""
NO_TIME_COLOUR = "#4d004b"
OPTIONAL_POPUP_FIELDS = (("hours", "Hours", "Heures"), ("languages", "Languages", "Langues"),
                         ("eligibility", "Eligibility", "Admissibilité"))
"""Listing columns shown in a popup when the services table has them."""
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = ('&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap'
                   '</a> contributors')
OSM_ATTRIBUTION_FR = ('&copy; les contributeurs d’<a href="https://www.openstreetmap.org/'
                      'copyright">OpenStreetMap</a>')
DATA_ATTRIBUTION = ("Boundaries: Statistics Canada (Open Licence); towns: GeoNames "
                    "(CC BY 4.0); King's Highways: xfpa (GPL-3.0)")
DATA_ATTRIBUTION_FR = ("Limites : Statistique Canada (Licence du gouvernement ouvert); villes : "
                       "GeoNames (CC BY 4.0); routes principales (King's Highways) : xfpa "
                       "(GPL-3.0)")
DELIVERY_WORDS = {"in_person": ("in person", "en personne"),
                  "outreach": ("outreach", "services itinérants"),
                  "virtual": ("by phone or online", "par téléphone ou en ligne"),
                  "phone": ("by phone", "par téléphone"), "line": ("by phone", "par téléphone"),
                  "text": ("by text", "par texto"), "video": ("by video", "par vidéo")}
"""The ``delivery`` values of the services table (issue 16) and their words; any other value
is shown as written."""
REACHED_BY_CODES = ("", "none", "outreach", "line", "hours_unknown")
"""What reaches a gap community instead (``gap_communities.csv`` ``reached_by``); "": not
stated (a gap table from before the column)."""
ACCESS_BANDS: tuple[tuple[float, str], ...] = ((0.0, "#969696"), (0.1, "#d9f0a3"),
                                               (1.0, "#78c679"), (5.0, "#238443"),
                                               (float("inf"), "#004529"))
"""The access layer's bands (E2SFCA, services per 100,000 people): each colour applies
below its bound, 0 alone (no service within the threshold). Fixed round numbers, not
quantiles, so that a band means the same for every need and every map. Chosen from the
shipped province run (14 needs x 2,983 communities): 20 % of the rows are 0 (exactly those
with no service within the threshold), 23 % under 0.1, 42 % 0.1-1, 13 % 1-5 and 1 % 5 or
more (up to 103): a band per decade below 1, where most communities are, and 1-5 / 5+ for
the few cities with many services near few people. 0 grey (apart from the towns' white dots), then
greens: apart from the summary's blues, the gaps' oranges and the wraparound's purples."""
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


def both(en: str, fr: str) -> str:
    """Text in English and French: the page shows the one of its language (``map.css``)."""
    return f'<span class="gm-en">{en}</span><span class="gm-fr" lang="fr">{fr}</span>'


def service_popup(row: pd.Series) -> str:
    """Popup HTML for one service: every listing value escaped."""
    parts = [f'<b class="gm-name">{_e(_text(row, "name"))}</b>']
    org = _text(row, "organization")
    if org and org != _text(row, "name"):
        parts.append(f'<span class="gm-org">{_e(org)}</span>')
    codes = [n for n in _text(row, "need_types").split(";") if n]
    parts.append("<i>" + both(_e(", ".join(label(n) for n in codes)), _e(", ".join(
        BY_CODE[n].label_fr if n in BY_CODE else n for n in codes))) + "</i>")
    phone = _text(row, "phone")
    if phone:
        parts.append(both("Phone", "Téléphone") + f': <span class="gm-phone">'
                     f'{phone_html(phone)}</span>')
    url = _safe_url(_text(row, "website"))
    if url:
        parts.append(f'<a href="{_e(url)}" target="_blank" rel="noopener noreferrer">'
                     f'{_e(url)}</a>')
    limit = limit_words(row)
    for col, en, fr in OPTIONAL_POPUP_FIELDS:
        if _text(row, col):  # the listing's own words, beside what gapmap read from them
            parts.append(f"{both(en, fr)}: {_e(_text(row, col))}")
    if not _text(row, "hours") and _text(row, "hours_weekly"):
        parts.append(f"{both('Hours', 'Heures')}: {_e(_text(row, 'hours_weekly'))}")
    if not _text(row, "languages") and _text(row, "language_codes"):
        parts.append(f"{both('Languages', 'Langues')}: "
                     f"{_e(', '.join(_text(row, 'language_codes').split(';')))}")
    if limit:
        parts.append(f'<span class="gm-limit">{both("Only for", "Seulement pour")}: '
                     f"{limit}</span>")
    parts += access_kinds(row)
    city = _text(row, "city")
    if bool(row.get("confidential")):
        parts.append('<b class="gm-withheld">' + both("Location withheld", "Adresse confidentielle")
                     + "</b>: " + both(f'shown at {_e(city) or "its town"} only',
                                       f'placé à {_e(city) or "sa ville"} seulement'))
    elif _text(row, "address"):
        parts.append(_e(", ".join(x for x in (_text(row, "address"), city) if x)))
    elif city:
        parts.append(_e(city))
    if _text(row, "area_name"):
        parts.append(f"{both('Serves', 'Dessert')}: {_e(_text(row, 'area_name'))}")
    parts.append(f"{both('Location precision', 'Précision du lieu')}: "
                 f"{_e(_text(row, 'geocode_precision'))}")
    return "<br>".join(parts)


def _truthy(value: object) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    return str(value).strip().lower() in ("1", "true", "yes", "y", "t")


def access_kinds(row: pd.Series) -> list[str]:
    """How a service is reached (``delivery``: "in person / outreach / by phone") and
    "open 24/7" (``open_24_7``), as popup lines, when the services table has them filled."""
    out = []
    kinds = [k.strip() for k in re.split(r"[;,|]", _text(row, "delivery")) if k.strip()]
    if kinds:
        words = [DELIVERY_WORDS.get(k.lower().replace("-", "_").replace(" ", "_"), (k, k))
                 for k in kinds]
        out.append(both("Access", "Accès") + ": " + both(
            _e(" / ".join(dict.fromkeys(en for en, _ in words))),
            _e(" / ".join(dict.fromkeys(fr for _, fr in words)))))
    if _truthy(row.get("open_24_7")):
        out.append('<b class="gm-247">' + both("Open 24/7", "Ouvert 24 h sur 24, 7 j sur 7")
                   + "</b>")
    return out


LIMIT_WORDS_FR = {"women": "femmes", "men": "hommes", "youth": "jeunes",
                  "families": "familles", "children": "enfants", "indigenous": "Autochtones",
                  "seniors": "aînés", "women_with_children": "femmes avec enfants",
                  "newcomers": "nouveaux arrivants", "2slgbtqi": "personnes 2ELGBTQI+"}
"""The eligibility words of :func:`gapmap.analysis.access.limit_text` in French; any other
word is shown as written."""
_AGES = re.compile(r"ages (\d*)-(\d*)")


def limit_words(row: pd.Series) -> str:
    """Whom a service is limited to (:func:`gapmap.analysis.access.limit_text`: its
    ``gender_limit``, ``eligible_groups``, ``age_min``/``age_max``) as HTML in both
    languages, e.g. "women, youth, ages 16–24"; "" when it states no limit."""
    text = str(limit_text(pd.DataFrame([row])).iloc[0])
    if not text:
        return ""
    en, fr = [], []
    for part in text.split("; "):
        ages = _AGES.fullmatch(part)
        if ages:
            lo, hi = ages.groups()
            en.append(f"ages {lo}–{hi}" if lo and hi else f"ages {lo}+" if lo
                      else f"ages up to {hi}")
            fr.append(f"{lo}–{hi} ans" if lo and hi else f"{lo} ans et plus" if lo
                      else f"jusqu’à {hi} ans")
        else:
            en.append(part.replace("_", " "))
            fr.append(LIMIT_WORDS_FR.get(part, part.replace("_", " ")))
    return both(_e(", ".join(en)), _e(", ".join(fr)))


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
    language: str = "en"
    """The page's language when it opens: ``en`` or ``fr`` (a button switches)."""
    far_min: float = 480.0
    """A nearest service farther than this (minutes) is flagged in the panel, not given as
    the answer."""
    stale_before: int = 2020
    """A service whose name dates it (a year such as "2017 ... Fund") before this year is
    flagged in the panel as possibly ended; 0: never."""
    access_per: float = 100_000.0
    """``access_by_community.csv`` gives access per this many people
    (``access.per_population``)."""


@dataclass(frozen=True)
class Basemap:
    """The vector basemap read once for all the maps of a run (EPSG:4326)."""

    province: gpd.GeoDataFrame
    highways: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    """``name``, ``population``, ``alternatenames`` (``|``-separated), point geometry."""
    fsas: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    """Forward sortation areas: ``fsa``, ``lat``, ``lon`` (searchable by postal code)."""
    bands: gpd.GeoDataFrame | None = None
    """Travel-time bands per need (``need_type``, ``threshold_min``, geometry), or None."""
    detachments: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    """OPP detachments: ``detachment``, ``region``, ``town`` (placed at the town)."""
    fly_in_names: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """A fly-in community's other name (``Kitchenuhmaykoosib Inninuwug``: ``Big Trout
    Lake``)."""

    @classmethod
    def load(cls, *, province: Path, highways: Path, towns: Path,
             fsas: Sequence[Path] = (), catchments: Path | None = None,
             remote: Path | None = None, detachments: Path | None = None) -> Basemap:
        """Read the province outline, the highways and the towns (GeoNames columns ``name``,
        ``lat``, ``lon``, ``population``, optionally ``alternatenames``); the FSA points
        (``fsa``, ``lat``, ``lon``; the first file's point wins); the ``need_catchments``
        layer of a catchments GeoPackage when it exists; the fly-in communities' place
        names (``community``, ``fpa_place_name``); the OPP detachments (``detachment``,
        ``region``, ``town``)."""
        towns_table = read_table(towns)
        require_columns(towns_table, ["name", "lat", "lon", "population"], str(towns))
        fsa_tables = []
        for f in fsas:
            t = read_table(f)
            require_columns(t, ["fsa", "lat", "lon"], str(f))
            fsa_tables.append(t[["fsa", "lat", "lon"]])
        fsa = (pd.concat(fsa_tables).drop_duplicates("fsa").sort_values("fsa")
               .reset_index(drop=True) if fsa_tables else pd.DataFrame())
        bands = None
        if catchments is not None and catchments.is_file():
            bands = read_geo(catchments, layer="need_catchments")
            require_columns(bands, ["need_type", "threshold_min"], str(catchments))
        fly_in: dict[str, str] = {}
        if remote is not None:
            r = read_table(remote)
            if {"community", "fpa_place_name"} <= set(r.columns):
                fly_in = {str(c): str(n) for c, n in zip(r["community"], r["fpa_place_name"],
                                                         strict=True) if n == n and n}
        det = pd.DataFrame()
        if detachments is not None:
            det = read_table(detachments)
            require_columns(det, ["detachment", "region", "town"], str(detachments))
        base = cls._of(read_geo(province), read_geo(highways), towns_table)
        return dataclasses.replace(base, fsas=fsa, bands=bands, fly_in_names=fly_in,
                                   detachments=det)

    @classmethod
    def _of(cls, province: gpd.GeoDataFrame, highways: gpd.GeoDataFrame,
            towns: pd.DataFrame) -> Basemap:
        pop = pd.to_numeric(towns["population"], errors="coerce").fillna(0).astype(int)
        alt = (towns["alternatenames"].fillna("") if "alternatenames" in towns.columns
               else pd.Series("", index=towns.index))
        towns_gdf = gpd.GeoDataFrame(
            {"name": towns["name"], "population": pop, "alternatenames": alt},
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
    labelFr: str  # its French name (taxonomy's label_fr)
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
    phone: list[str]  # the listed phone text ("" if none)
    staleYear: list[int]  # the year its name dates it to, when before settings.stale_before; 0
    hours: list[str]  # the listed hours ("" if none; "24/7" when open 24/7)
    open247: list[int]  # 1: open 24/7 (``open_24_7`` yes)
    limit: list[str]  # whom it is limited to, HTML in both languages (:func:`limit_words`)
    outreach: list[int]  # 1: delivered by outreach (``delivery``)
    line: list[int]  # 1: delivered by phone, text or video (``delivery`` virtual)


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
    division: list[int]  # row in ``divisions``, or -1


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
    reachedBy: list[int]  # what reaches it instead: position in REACHED_BY_CODES


class ReachTable(TypedDict):
    """The outreach services and lines whose area holds each community (computed here from
    the services' areas, :func:`gapmap.analysis.access.reach_areas`). Communities share a
    few distinct sets, so each names its set."""

    sets: list[list[int]]  # rows in ``services``, outreach and line services, by name
    community: list[int]  # per community (``communities`` order): its set, or -1 (none)


class RegionReach(TypedDict):
    """For one need, the map's region (or the whole run) as ``coverage_by_region.csv``
    counts it: shares of the population, 0-1."""

    inPerson: float
    outreachOnly: float
    lineOnly: float
    hoursUnknown: float
    notReached: float


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


class DivisionTable(TypedDict):
    """Table, one row per census division of the map, for the regional summary."""

    name: list[str]
    population: list[int]  # 2021, enumerated communities
    polygons: list[Any]  # a Leaflet multipolygon per division
    covered: list[list[float | None]]  # per need (``needs`` order): share of the population
    # within that need's threshold, 0-1; None: no population
    outreachOnly: list[list[float | None]]  # per need: share beyond the threshold that an
    # outreach service reaches (the gaps stage's ``reached_by``), 0-1
    lineOnly: list[list[float | None]]  # per need: share beyond it reached only by a line


class FsaTable(TypedDict):
    """Table, one row per forward sortation area in the map's area (postal-code search)."""

    code: list[str]
    lat: list[float]
    lon: list[float]
    community: list[int]  # row in ``communities`` of the nearest, or -1


class SearchTable(TypedDict):
    """Table, one row per entry of the search, one entry per place (:func:`search_table`):
    towns, then the communities no town of that name stands for, postal codes (FSA), OPP
    detachments and services. The page scores a query against ``keys`` (``static/map.js``:
    word starts first, then a few typos)."""

    kind: list[str]  # "town", "community", "fsa", "detachment" or "service"
    row: list[int]  # row in its table (a detachment: its ``detachments`` row)
    keys: list[str]  # "|"-separated folded names (:func:`fold`), its own name first


class DetachmentTable(TypedDict):
    """Table, one row per OPP detachment placed at its town in the map's area (search)."""

    name: list[str]
    region: list[str]
    town: list[int]  # row in ``towns``


class WrapTable(TypedDict):
    """Wraparound, one row per community (``communities`` order), from ``wraparound.csv``
    (:mod:`gapmap.analysis.wraparound`): how many of the counted needs it reaches."""

    counted: int  # needs counted (the run's need types)
    reached: list[int]  # needs reached within their thresholds; -1: not in the table
    missing: list[list[int]]  # the needs not reached, positions in ``needs``


class SuggestionTable(TypedDict):
    """Suggested sites (``suggestions.csv``, :func:`gapmap.plan.suggestions`) of the map's
    regions, one method per need and region (``exact`` where there is one)."""

    need: list[int]  # position in ``needs``
    region: list[str]
    method: list[str]
    rank: list[int]
    site: list[str]
    cdName: list[str]
    lat: list[float]
    lon: list[float]
    popAdded: list[int]  # people newly within the threshold, after the higher ranks
    pctBefore: list[float]  # the region's share covered before, %
    pctAfter: list[float]  # after this and the higher-ranked sites, %
    caveat: list[str]  # the data caveat ("" when none), English
    caveatFr: list[str]  # the same in French (the English text when its wording is new)


class AccessTable(TypedDict):
    """Capacity-aware access per need (``access_by_community.csv``,
    :func:`gapmap.plan.access_by_community`): per need (``needs`` order) an array over
    ``communities``."""

    per: float  # the values are per this many people (100,000)
    e2sfca: list[list[float | None]]  # E2SFCA, two significant digits (:func:`access_value`);
    # None: the community is not in the table
    within: list[list[int | None]]  # services of the need within its threshold
    basis: list[str]  # per need: "one unit per service" or "capacity" (``supply_basis``)
    bands: list[list[Any]]  # [upper bound (None: no bound), colour], :data:`ACCESS_BANDS`


class Band(TypedDict):
    minutes: float  # drive time the band reaches
    polygons: list[Any]  # Leaflet multipolygon


class RegionOutline(TypedDict):
    name: str
    polygons: list[Any]


class BaseLayers(TypedDict):
    """The vector basemap. Polygons are Leaflet multipolygons ``[[ring, hole, ...], ...]``,
    lines Leaflet polylines; every point ``[lat, lon]``."""

    province: list[Any]
    regions: list[RegionOutline]
    highways: list[Any]  # King's Highways other than expressways
    expressways: list[Any]


class GapColour(TypedDict):
    uptoMin: float | None  # this colour up to this drive time; None: no upper bound
    colour: str


class OsmLayer(TypedDict):
    url: str
    attribution: str
    attributionFr: str


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
    language: str  # "en" or "fr": the page's language when it opens
    farMin: float  # a nearest service farther than this is flagged, not given as the answer
    bounds: list[list[float]]  # [[south, west], [north, east]]
    needs: list[Need]
    services: ServiceTable
    communities: CommunityTable
    travel: list[TravelColumns] | None  # None: no travel table, the panel says so
    gaps: list[GapTable]
    reachedByCodes: list[str]  # the gap table's ``reached_by`` values (REACHED_BY_CODES)
    reach: ReachTable
    regionReach: list[RegionReach | None]  # per need; None: no coverage_by_region.csv row
    access: AccessWords
    towns: TownTable
    divisions: DivisionTable
    fsas: FsaTable
    detachments: DetachmentTable
    search: SearchTable
    bands: list[list[Band]]  # per need, its 30/60/120-minute bands (largest first); [] if none
    wrap: WrapTable | None  # None: the run has no wraparound table
    access2sfca: AccessTable | None  # None: the plan stage has not run
    suggestions: SuggestionTable  # empty when the run has no suggestions
    base: BaseLayers
    gapColours: list[GapColour]
    noTimeColour: str  # gap communities with no drive time
    osm: OsmLayer  # optional OpenStreetMap tiles (online only)
    attribution: str  # the shipped data's attribution
    attributionFr: str  # the same in French
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
    svc = svc[offers_any(svc["need_types"], needs)]  # the run's need types only
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


def _reaching(scope: _Scope, services: gpd.GeoDataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The outreach services and lines of the run's needs whose area holds one of the map's
    communities (:func:`gapmap.analysis.access.reach_areas`), by name, and which of them
    reach each community (communities x services)."""
    svc = services.drop_duplicates("service_id")
    svc = svc[~svc["service_id"].isin(scope.hidden_ids)]
    svc = svc[offers_any(svc["need_types"], scope.needs)]
    svc = svc[(delivery_has(svc, "outreach") | delivery_has(svc, "virtual")).to_numpy()]
    if svc.empty or scope.demand.empty:
        return svc.iloc[:0], np.zeros((len(scope.demand), 0), dtype=bool)
    inside = in_area(scope.demand, reach_areas(svc))
    keep = inside.any(axis=0)
    svc, inside = svc[keep], inside[:, keep]
    order = np.argsort(svc["name"].fillna("").str.casefold().to_numpy(), kind="stable")
    return svc.iloc[order], inside[:, order]


def _reach_table(reaching: pd.DataFrame, inside: np.ndarray, service_row: Mapping[str, int]
                 ) -> ReachTable:
    """Per community, the set of outreach services and lines that reach it (see
    :class:`ReachTable`)."""
    rows = np.array([service_row[str(s)] for s in reaching["service_id"]], dtype=int)
    sets: dict[tuple[int, ...], int] = {}
    community = []
    for hit in inside:
        members = tuple(int(r) for r in rows[hit])
        community.append(sets.setdefault(members, len(sets)) if members else -1)
    return {"sets": [list(m) for m in sets], "community": community}


def _service_rows(scope: _Scope, services: gpd.GeoDataFrame, travel: pd.DataFrame | None,
                  reaching: Sequence[str] = ()) -> tuple[pd.DataFrame, set[str], set[str]]:
    """The services the page names, in its order (placed, listed without a point, named in
    a panel only: nearest in person, or reaching by outreach or a line), with the ids of
    those on the map and of those listed without a point."""
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
    others = [s for s in dict.fromkeys([*referenced, *map(str, reaching)])
              if s in by_id.index and s not in listed]
    rows = pd.concat([placed, unplaced, by_id.loc[others]])
    return rows, set(placed["service_id"]), set(unplaced["service_id"])


def _service_table(rows: pd.DataFrame, on_map: set[str], listed_only: set[str],
                   needs: list[str], *, stale_before: int = 0) -> ServiceTable:
    need_pos = {n: i for i, n in enumerate(needs)}
    table: ServiceTable = {"name": [], "organization": [], "city": [], "needs": [],
                           "popup": [], "lat": [], "lon": [], "confidential": [],
                           "listedWithoutPoint": [], "phone": [], "staleYear": [],
                           "hours": [], "open247": [], "limit": [], "outreach": [],
                           "line": []}
    outreach = delivery_has(rows, "outreach").to_numpy()
    line = delivery_has(rows, "virtual").to_numpy()
    for k, (_, r) in enumerate(rows.iterrows()):
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
        table["phone"].append(_e(_text(r, "phone")))
        table["staleYear"].append(dated_before(_text(r, "name"), stale_before))
        open247 = _text(r, "open_24_7").lower() == "yes"
        table["hours"].append(_e(_text(r, "hours") or _text(r, "hours_weekly")
                                 or ("24/7" if open247 else "")))
        table["open247"].append(int(open247))
        table["limit"].append(limit_words(r))
        table["outreach"].append(int(outreach[k]))
        table["line"].append(int(line[k]))
    return table


def _community_table(dem: gpd.GeoDataFrame, division: Mapping[str, int]) -> CommunityTable:
    return {
        "name": [_e(v) for v in dem["name"]], "cdName": [_e(v) for v in dem["cd_name"]],
        "population": [int(v) for v in dem["pop2021"]],
        "enumerated": [int(bool(v)) for v in dem["enumerated"]],
        "lat": [_r(g.y) for g in dem.geometry], "lon": [_r(g.x) for g in dem.geometry],
        "remoteName": [_e(v) if a == "no_all_season_road" else "" for v, a in zip(
            dem["remote_community"].fillna(""), dem["access"], strict=True)],
        "airHub": [_e(v) for v in dem["air_hub"].fillna("")],
        "subdivision": [int(k == "subdivision") for k in dem["kind"]],
        "division": [division.get(str(c), -1) for c in dem["cduid"]],
    }


def _latin_names(alternates: str, name: str) -> str:
    """GeoNames' alternate names in Latin script, without airport codes or the name itself."""
    out: list[str] = []
    for a in alternates.split("|") if alternates else []:
        a = a.strip()
        if (len(a) > 3 and a != name and a not in out and all(
                ord(c) < 0x250 or c in "’" for c in a)):
            out.append(a)
    return "|".join(out)


def _nearest_rows(points: gpd.GeoDataFrame, dem: gpd.GeoDataFrame, within_m: float
                  ) -> list[int]:
    """Each point's nearest community (row in ``dem``) within ``within_m``, or -1."""
    if not len(points) or not len(dem):
        return [-1] * len(points)
    tree = cKDTree(np.asarray(dem.to_crs(3347).geometry.get_coordinates()))
    dist, which = tree.query(np.asarray(points.to_crs(3347).geometry.get_coordinates()))
    return [int(w) if d <= within_m else -1 for d, w in zip(dist, which, strict=True)]


def _division_table(cds: gpd.GeoDataFrame, dem: gpd.GeoDataFrame, travel: pd.DataFrame | None,
                    settings: MapSettings, needs: list[str], gaps: pd.DataFrame
                    ) -> DivisionTable:
    """Per census division, its population, the share within each need's threshold and the
    shares beyond it that only outreach or only a line reaches (``gaps``' ``reached_by``)."""
    cds = cds.sort_values("CDUID").reset_index(drop=True)
    pop = dem[dem["enumerated"].astype(bool)].groupby("cduid")["pop2021"].sum()
    covered: list[list[float | None]] = []
    t = pd.DataFrame()
    if travel is not None:
        t = travel[travel["demand_id"].isin(dem["demand_id"])].merge(
            pd.DataFrame(dem[["demand_id", "cduid", "pop2021", "enumerated"]]), on="demand_id")
        t = t[t["enumerated"].astype(bool)]
    for need in needs:
        if t.empty:
            covered.append([None] * len(cds))
            continue
        tn = t[t["need_type"] == need].drop_duplicates("demand_id")
        ok = tn["access"].isin(TIMED_ACCESS) & (tn["travel_min"]
                                                <= float(settings.thresholds_min[need]))
        within = tn[ok].groupby("cduid")["pop2021"].sum()
        covered.append([round(float(within.get(c, 0)) / float(pop[c]), 3)
                        if pop.get(c, 0) > 0 else None for c in cds["CDUID"]])
    only: dict[str, list[list[float | None]]] = {"outreach": [], "line": []}
    g = pd.DataFrame()
    if "reached_by" in gaps.columns:
        g = gaps[["demand_id", "need_type", "reached_by"]].merge(
            pd.DataFrame(dem[["demand_id", "cduid", "pop2021", "enumerated"]]), on="demand_id")
        g = g[g["enumerated"].astype(bool)]
    for kind, shares in only.items():
        for need in needs:
            sel = g[(g["need_type"] == need) & (g["reached_by"] == kind)] if len(g) else g
            by_cd = sel.groupby("cduid")["pop2021"].sum() if len(sel) else pd.Series(dtype=float)
            shares.append([round(float(by_cd.get(c, 0)) / float(pop[c]), 3)
                           if pop.get(c, 0) > 0 else None for c in cds["CDUID"]])
    return {"name": [_e(n) for n in cds["CDNAME"]],
            "population": [int(pop.get(c, 0)) for c in cds["CDUID"]],
            "polygons": [_polygons(gpd.GeoSeries([g]), DISPLAY_TOLERANCE_DEG)
                         for g in cds.geometry],
            "covered": covered, "outreachOnly": only["outreach"], "lineOnly": only["line"]}


def _region_reach(coverage: pd.DataFrame | None, where: str, needs: list[str]
                  ) -> list[RegionReach | None]:
    """Per need, how ``coverage_by_region.csv`` says the map's region (or the whole run,
    its total row) is reached: in person, only by outreach, only by a line, hours unknown,
    not at all."""
    if coverage is None or coverage.empty:
        return [None for _ in needs]
    cols = ["pop_in_person", "pop_outreach_only", "pop_line_only", "pop_hours_unknown",
            "pop_not_reached"]
    require_columns(coverage, ["opp_region", "need_type", "pop2021", *cols],
                    "coverage_by_region.csv")
    rows = coverage[coverage["opp_region"] == where].drop_duplicates("need_type")
    rows = rows.set_index("need_type")
    out: list[RegionReach | None] = []
    for need in needs:
        total = float(rows.at[need, "pop2021"]) if need in rows.index else 0.0
        if not total > 0:
            out.append(None)
            continue
        share = [round(float(rows.at[need, c]) / total, 3) for c in cols]
        out.append({"inPerson": share[0], "outreachOnly": share[1], "lineOnly": share[2],
                    "hoursUnknown": share[3], "notReached": share[4]})
    return out


def _fsa_table(basemap: Basemap, area: shapely.Geometry, dem: gpd.GeoDataFrame) -> FsaTable:
    f = basemap.fsas
    if f.empty:
        return {"code": [], "lat": [], "lon": [], "community": []}
    pts = gpd.GeoDataFrame(f[["fsa"]], geometry=gpd.points_from_xy(
        pd.to_numeric(f["lon"]), pd.to_numeric(f["lat"])), crs=4326)
    pts = pts[pts.within(area.buffer(0.02))]
    return {"code": [_e(c) for c in pts["fsa"]], "lat": [_r(g.y) for g in pts.geometry],
            "lon": [_r(g.x) for g in pts.geometry],
            "community": _nearest_rows(pts, dem, 50_000)}


_SAINT = re.compile(r"(?<![a-z0-9])(saint|sainte|ste|st)(?![a-z0-9])")


def fold(name: str) -> str:
    """A name folded for search: no accents, case or punctuation, and saint / sainte / ste /
    st as ``st`` ("Sault-Sainte-Marie", "Sault Ste. Marie": ``sault st marie``).

    ``static/map.js`` folds a query the same way (its ``fold``); a browser test holds the two
    equal.
    """
    import unicodedata

    text = unicodedata.normalize("NFD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())
    return _SAINT.sub("st", text)


def _keys(*names: str) -> str:
    """Folded names, ``|``-separated, each once, in the order given."""
    return "|".join(dict.fromkeys(k for k in (fold(n) for n in names) if k))


def search_table(towns: TownTable, town_alt: Sequence[str], communities: CommunityTable,
                 community_alt: Sequence[str], fsas: FsaTable,
                 detachments: DetachmentTable, services: ServiceTable) -> SearchTable:
    """The search's entries, one per place: a town, then a searchable community
    (a census subdivision or a community with no all-season road) unless a town of the same
    folded name or other name is already listed, or the community's nearest town of its
    name stands for it. Names arrive HTML-escaped (as in the page) and are folded as text.
    """
    out: SearchTable = {"kind": [], "row": [], "keys": []}
    taken: set[str] = set()

    def add(kind: str, row: int, names: Sequence[str]) -> None:
        out["kind"].append(kind)
        out["row"].append(row)
        out["keys"].append(_keys(*(html.unescape(n) for n in names)))

    for i, name in enumerate(towns["name"]):
        key = fold(html.unescape(name))
        if key in taken:
            continue
        taken.add(key)
        alt = [a for a in html.unescape(town_alt[i]).split("|") if a]
        add("town", i, [name, *alt])
    for i, name in enumerate(communities["name"]):
        remote = communities["remoteName"][i]
        if not (communities["subdivision"][i] or remote):
            continue
        own = remote or name
        alt = [a for a in html.unescape(community_alt[i]).split("|") if a]
        folded = {fold(html.unescape(n)) for n in (own, *alt)}
        if fold(html.unescape(own)) in taken or (not remote and folded & taken):
            continue
        taken |= folded
        add("community", i, [own, name, *alt])
    for i, code in enumerate(fsas["code"]):
        add("fsa", i, [code])
    for i, name in enumerate(detachments["name"]):
        add("detachment", i, [f"OPP {name} detachment", f"PPO détachement {name}",
                              f"{detachments['region'][i]} police"])
    for i, name in enumerate(services["name"]):
        if services["lat"][i] is None and not services["listedWithoutPoint"][i]:
            continue
        add("service", i, [name, f"{services['organization'][i]} {services['city'][i]}"])
    return out


def _detachment_table(basemap: Basemap, towns: TownTable, town_alt: Sequence[str]
                      ) -> DetachmentTable:
    """The OPP detachments whose town is one of the map's towns."""
    det = basemap.detachments
    out: DetachmentTable = {"name": [], "region": [], "town": []}
    if det.empty:
        return out
    at: dict[str, int] = {}
    for i, name in enumerate(towns["name"]):
        at.setdefault(fold(html.unescape(name)), i)
    for i, alt in enumerate(town_alt):  # names first, then other names
        for a in html.unescape(alt).split("|") if alt else []:
            at.setdefault(fold(a), i)
    for _, r in det.iterrows():
        # free text: "Sudbury (satellites ...)", "Pembroke/Petawawa", "Brockville area"
        first = re.split(r"[(/,]", str(r["town"]))[0].strip().removesuffix(" area")
        candidates = (first, str(r["detachment"]), first.removeprefix("City of "))
        town = next((at[fold(c)] for c in candidates if fold(c) in at), -1)
        if town >= 0:
            out["name"].append(_e(r["detachment"]))
            out["region"].append(_e(r["region"]))
            out["town"].append(town)
    return out


BAND_MINUTES = (30.0, 60.0, 120.0)
"""The travel-time bands a map draws for the selected need."""
BAND_TOLERANCE_DEG = 0.01
"""Bands are simplified by this much (about 1 km): the province map stays small."""


def _bands(basemap: Basemap, area: shapely.Geometry, needs: list[str]) -> list[list[Band]]:
    """Per need, its travel-time bands (largest first) clipped to the map's area."""
    b = basemap.bands
    if b is None or b.empty:
        return [[] for _ in needs]
    frame = shapely.box(*area.buffer(0.3).bounds)
    out: list[list[Band]] = []
    for need in needs:
        rows = b[(b["need_type"] == need) & b["threshold_min"].isin(BAND_MINUTES)]
        rows = rows[rows.geometry.notna() & ~rows.geometry.is_empty]
        rows = rows.sort_values("threshold_min", ascending=False)
        out.append([{"minutes": float(r["threshold_min"]),
                     "polygons": _polygons(gpd.GeoSeries([r.geometry.intersection(frame)]),
                                           BAND_TOLERANCE_DEG)}
                    for _, r in rows.iterrows()])
    return out


def _wrap_table(wrap: pd.DataFrame | None, scope: _Scope) -> WrapTable | None:
    """Per community, the needs it reaches within their thresholds (``wraparound.csv``)."""
    if wrap is None:
        return None
    require_columns(wrap, ["demand_id", "needs_counted", "needs_reached", "needs_missing"],
                    "wraparound.csv")
    w = wrap.drop_duplicates("demand_id").set_index("demand_id").reindex(
        scope.demand["demand_id"])
    pos = {n: i for i, n in enumerate(scope.needs)}
    counted = pd.to_numeric(wrap["needs_counted"], errors="coerce").max()
    return {"counted": int(counted) if counted == counted else len(scope.needs),
            "reached": [-1 if v != v else int(v) for v in w["needs_reached"]],
            "missing": [[pos[n] for n in str(m).split(";") if n in pos] if m == m else []
                        for m in w["needs_missing"]]}


def access_value(v: float) -> float:
    """An access figure as the page carries it: two significant digits, whole numbers kept
    (0.01313 -> 0.013, 3.7741 -> 3.8, 103.31 -> 103): the figure is a rough one (one unit per
    listed service) and the page stays small."""
    v = float(v)
    if v <= 0 or not np.isfinite(v):
        return 0.0
    return float(round(v, max(0, 1 - int(np.floor(np.log10(v))))))


def _access_table(access: pd.DataFrame | None, scope: _Scope,
                  settings: MapSettings) -> AccessTable | None:
    """Per need, each community's E2SFCA and services within the threshold
    (``access_by_community.csv``); None when the plan stage has not run."""
    if access is None:
        return None
    require_columns(access, ["demand_id", "need_type", "services_within", "access_e2sfca",
                             "supply_basis"], "access_by_community.csv")
    ids = pd.Index(scope.demand["demand_id"].astype(str))
    a = access.assign(demand_id=access["demand_id"].astype(str))
    out: AccessTable = {"per": float(settings.access_per), "e2sfca": [], "within": [],
                        "basis": [],
                        "bands": [[None if not np.isfinite(u) else u, c]
                                  for u, c in ACCESS_BANDS]}
    for need in scope.needs:
        an = a[a["need_type"] == need].drop_duplicates("demand_id").set_index("demand_id")
        an = an.reindex(ids)
        e = pd.to_numeric(an["access_e2sfca"], errors="coerce")
        n = pd.to_numeric(an["services_within"], errors="coerce")
        out["e2sfca"].append([None if v != v else access_value(v) for v in e])
        out["within"].append([None if v != v else int(v) for v in n])
        basis = an["supply_basis"].dropna().astype(str)
        out["basis"].append(_e(basis.iloc[0]) if len(basis) else "")
    return out


_CAVEATS_FR = (
    (re.compile(r"few listings: (\d+) placed service\(s\) of this need in the region"),
     r"peu d’inscriptions : \1 service(s) de ce besoin placé(s) dans la région"),
    (re.compile(r"no service of this need listed in (.+?): the gap may be in the listings"),
     r"aucun service de ce besoin inscrit dans \1 : l’écart est peut-être dans les "
     r"inscriptions"),
    (re.compile(r"(\d+) listed for an area or with no point \(not counted\)"),
     r"\1 inscrit(s) pour une région ou sans emplacement (non comptés)"),
    (re.compile(r"(\d+) % of the placed services placed only at their town \(confidential "
                r"ones by rule\)"),
     r"\1 % des services placés seulement à leur ville (les services confidentiels par "
     r"règle)"),
)
"""The caveats of :func:`gapmap.analysis.location.suggestion_caveat`, in French."""


def caveat_fr(caveat: str) -> str:
    """A suggestion's caveat in French, part by part; a part worded otherwise stays as is."""
    out = []
    for part in (p.strip() for p in caveat.split(";")):
        for pattern, fr in _CAVEATS_FR:
            if pattern.fullmatch(part):
                part = pattern.sub(fr, part)
                break
        if part:
            out.append(part)
    return "; ".join(out)


def _suggestion_table(suggestions: pd.DataFrame | None, scope: _Scope,
                      region: str | None) -> SuggestionTable:
    """The suggested sites of the map's regions and need types, one method per need and
    region: ``exact`` where the table has it, else the first other by name."""
    out: SuggestionTable = {"need": [], "region": [], "method": [], "rank": [], "site": [],
                            "cdName": [], "lat": [], "lon": [], "popAdded": [],
                            "pctBefore": [], "pctAfter": [], "caveat": [], "caveatFr": []}
    if suggestions is None or suggestions.empty:
        return out
    require_columns(suggestions, ["need_type", "opp_region", "method", "rank", "site", "lat",
                                  "lon", "pop_added", "pct_covered_before",
                                  "pct_covered_after"], "suggestions.csv")
    pos = {n: i for i, n in enumerate(scope.needs)}
    s = suggestions[suggestions["need_type"].isin(pos)]
    s = s[s["opp_region"] == region] if region else s
    s = s.assign(_pref=(s["method"] != "exact").astype(int))
    s = s[s.groupby(["need_type", "opp_region"])["_pref"].transform("min") == s["_pref"]]
    first = s.groupby(["need_type", "opp_region"])["method"].transform("min")
    s = s[s["method"] == first].sort_values(["need_type", "opp_region", "rank"])
    s = s[pd.to_numeric(s["lat"], errors="coerce").notna()]
    for _, r in s.iterrows():
        caveat = _text(r, "caveat")
        out["need"].append(pos[r["need_type"]])
        out["region"].append(_e(r["opp_region"]))
        out["method"].append(_e(r["method"]))
        out["rank"].append(int(r["rank"]))
        out["site"].append(_e(r["site"]))
        out["cdName"].append(_e(_text(r, "cd_name")))
        out["lat"].append(_r(float(r["lat"])))
        out["lon"].append(_r(float(r["lon"])))
        out["popAdded"].append(int(r["pop_added"]))
        out["pctBefore"].append(round(float(r["pct_covered_before"]), 1))
        out["pctAfter"].append(round(float(r["pct_covered_after"]), 1))
        out["caveat"].append(_e(caveat))
        out["caveatFr"].append(_e(caveat_fr(caveat)))
    return out


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
        by = (g["reached_by"].fillna("").astype(str) if "reached_by" in g.columns
              else pd.Series("", index=g.index))
        out.append({"community": [at[d] for d in g["demand_id"]],
                    "minutes": _minutes(g["travel_min"]),
                    "access": [access(a) for a in g["access"]],
                    "reachedBy": [REACHED_BY_CODES.index(b) if b in REACHED_BY_CODES else 0
                                  for b in by]})
    return out


def _town_table(basemap: Basemap, area: shapely.Geometry, dem: gpd.GeoDataFrame
                ) -> tuple[TownTable, list[str]]:
    """The basemap's towns in the map's area, each linked to its nearest community, and
    their other names in Latin script (``|``-separated, escaped) for search."""
    towns = basemap.towns[basemap.towns.within(area.buffer(0.02))]
    return ({"name": [_e(v) for v in towns["name"]],
             "population": [int(v) for v in towns["population"]],
             "lat": [_r(g.y) for g in towns.geometry], "lon": [_r(g.x) for g in towns.geometry],
             "community": _nearest_rows(towns, dem, 25_000)},
            [_e(_latin_names(a, n)) for a, n in zip(towns["alternatenames"], towns["name"],
                                                    strict=True)])


def _base_layers(outline: gpd.GeoDataFrame, basemap: Basemap, region: str | None
                 ) -> BaseLayers:
    """The province, region outlines and King's Highways, simplified."""
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
        "highways": _lines(hw.loc[~expressway].geometry, tol),
        "expressways": _lines(hw.loc[expressway].geometry, tol),
    }


def _footer(settings: MapSettings) -> Footer:
    return {"vintage": _e(settings.data_vintage or "not stated"), "generated": generated_on(),
            "config": _e(settings.run_name), "fingerprint": settings.fingerprint,
            "version": __version__}


def map_data(region: str | None, services: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
             gaps: pd.DataFrame, cds: gpd.GeoDataFrame, settings: MapSettings, *,
             basemap: Basemap, travel: pd.DataFrame | None = None,
             wraparound: pd.DataFrame | None = None,
             suggestions: pd.DataFrame | None = None,
             coverage: pd.DataFrame | None = None,
             access: pd.DataFrame | None = None) -> MapData:
    """Everything one map draws (:class:`MapData`); every listing string HTML-escaped.

    ``region=None`` is the map of the whole run, titled ``settings.whole_run``
    (``Ontario`` province-wide). ``travel`` (columns ``demand_id``, ``need_type``,
    ``travel_min``, ``service_id``, ``access``) feeds the nearest-services panel; without it
    the panel says that travel times are not available. ``wraparound`` (the gaps stage's
    ``wraparound.csv``) and ``suggestions`` (the plan stage's ``suggestions.csv``) feed two
    optional layers; without them the layers are left out. ``coverage`` (the gaps stage's
    ``coverage_by_region.csv``) gives the legend the region's share reached only by outreach
    or a line. ``access`` (the plan stage's ``access_by_community.csv``) feeds the optional
    access layer (E2SFCA per 100,000 people); without it the layer is left out.
    """
    check_withheld(services, refusing="map them")
    scope = _scope(region, services, demand, gaps, cds, settings)
    reaching, inside = _reaching(scope, services)
    rows, on_map, listed_only = _service_rows(scope, services, travel,
                                              reaching["service_id"].tolist())
    service_row = {sid: i for i, sid in enumerate(rows["service_id"])}
    codes = _AccessCodes()
    travel_cols = (None if travel is None
                   else _travel_columns(travel, scope, service_row, codes))
    gap_tables = _gap_tables(scope, codes)
    outline = scope.cds.dissolve(by="opp_region", as_index=False)
    minx, miny, maxx, maxy = outline.total_bounds
    where = region or settings.whole_run  # the whole run: "Ontario", or e.g. Ottawa's CD
    area = outline.union_all()
    divisions = _division_table(scope.cds, scope.demand, travel, settings, scope.needs,
                                scope.gaps)
    division_row = {str(c): i for i, c in enumerate(sorted(scope.cds["CDUID"].astype(str)))}
    towns, town_alt = _town_table(basemap, area, scope.demand)
    services_table = _service_table(rows, on_map, listed_only, scope.needs,
                                    stale_before=settings.stale_before)
    communities = _community_table(scope.demand, division_row)
    community_alt = [_e(basemap.fly_in_names.get(str(r), "")) if r == r and r else ""
                     for r in scope.demand["remote_community"]]
    fsas = _fsa_table(basemap, area, scope.demand)
    detachments = _detachment_table(basemap, towns, town_alt)
    return {
        "title": _e(f"gapmap: {where}"), "region": _e(where),
        "language": settings.language, "farMin": float(settings.far_min),
        "bounds": [[_r(miny), _r(minx)], [_r(maxy), _r(maxx)]],
        "needs": [{"code": n, "label": _e(label(n)), "labelFr": _e(BY_CODE[n].label_fr),
                   "colour": NEED_COLOURS.get(n, "#333333"),
                   "thresholdMin": float(settings.thresholds_min[n])} for n in scope.needs],
        "services": services_table, "communities": communities,
        "travel": travel_cols, "gaps": gap_tables, "access": codes.words(),
        "reachedByCodes": list(REACHED_BY_CODES),
        "reach": _reach_table(reaching, inside, service_row),
        "regionReach": _region_reach(coverage, where, scope.needs),
        "towns": towns,
        "divisions": divisions, "fsas": fsas, "detachments": detachments,
        "search": search_table(towns, town_alt, communities, community_alt, fsas, detachments,
                               services_table),
        "bands": _bands(basemap, area, scope.needs),
        "wrap": _wrap_table(wraparound, scope),
        "access2sfca": _access_table(access, scope, settings),
        "suggestions": _suggestion_table(suggestions, scope, region),
        "base": _base_layers(outline, basemap, region),
        "gapColours": [{"uptoMin": None if not np.isfinite(u) else u, "colour": c}
                       for u, c in GAP_COLOURS],
        "noTimeColour": NO_TIME_COLOUR,
        "osm": {"url": OSM_TILES, "attribution": OSM_ATTRIBUTION,
                "attributionFr": OSM_ATTRIBUTION_FR},
        "attribution": _e(DATA_ATTRIBUTION), "attributionFr": _e(DATA_ATTRIBUTION_FR),
        "icons": leaflet_icon_uris(),
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
    gm_language = "en"


def build_map(region: str | None, services: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
              gaps: pd.DataFrame, cds: gpd.GeoDataFrame, settings: MapSettings, *,
              basemap: Basemap, travel: pd.DataFrame | None = None,
              wraparound: pd.DataFrame | None = None,
              suggestions: pd.DataFrame | None = None,
              coverage: pd.DataFrame | None = None,
              access: pd.DataFrame | None = None) -> folium.Map:
    """One map: all of Ontario (``region=None``) or one OPP region (see :func:`map_data`)."""
    data = map_data(region, services, demand, gaps, cds, settings, travel=travel,
                    basemap=basemap, wraparound=wraparound, suggestions=suggestions,
                    coverage=coverage, access=access)
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
    m.gm_language = data["language"]
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
    # pinch-zoom allowed (folium's viewport forbids it); the page's language stated
    text = re.sub(r'<meta name="viewport"[^>]*>',
                  '<meta name="viewport" content="width=device-width, initial-scale=1">', text)
    text = re.sub(r"<html>", f'<html lang="{getattr(m, "gm_language", "en")}">', text, count=1)
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
               travel: pd.DataFrame | None = None, wraparound: pd.DataFrame | None = None,
               suggestions: pd.DataFrame | None = None,
               coverage: pd.DataFrame | None = None,
               access: pd.DataFrame | None = None) -> list[Path]:
    """Write each map of ``files`` (see :func:`map_files`)."""
    written = []
    for region, path in files:
        m = build_map(region, services, demand, gaps, cds, settings, travel=travel,
                      basemap=basemap, wraparound=wraparound, suggestions=suggestions,
                      coverage=coverage, access=access)
        write_text(render_deterministic(m), path)
        log.info("map %s: %.1f MB", path, path.stat().st_size / 1e6)
        written.append(path)
    return written


__all__ = ["ACCESS_BANDS", "Basemap", "MapSettings", "access_kinds", "access_value",
           "build_map", "caveat_fr", "check_withheld",
           "fold", "json_for_html", "map_data", "map_files", "phone_html",
           "render_deterministic", "search_table", "service_popup", "write_maps"]
