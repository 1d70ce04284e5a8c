"""Geocode: services table -> services with a point and a stated precision.

A chain of providers, in the order ``[geocode] order`` gives (default below), stops at the
first one that places the listing:

1. ``listing``: coordinates given in the listing and lying in Ontario -> ``exact``; a point
   taken from a host site (a hospital programme placed at its hospital: the
   ``coordinate_source`` says "host", or names an ODHF row that is a hospital) -> ``street``
   at best;
2. ``override``: the analyst's overrides file (``geocode.overrides``), by service id or
   by normalised address -> the precision the file gives (blank = ``exact``), source
   ``override``. A confidential listing is placed at the town nearest the given point;
3. ``nominatim``: the civic address through Nominatim (opt-in, ``[geocode.nominatim]``;
   cached, throttled, retried; see :mod:`gapmap.sources.geocoders`) -> ``street``. A failure is a
   note, and the chain goes on;
4. ``postal``: a full postal code in the analyst's postal-code table (``geocode.postal_codes``,
   none shipped) -> ``postal``; else an urban FSA point (Statistics Canada 2011 points
   first, GeoNames for FSAs created since) -> ``fsa``;
5. ``town``: the town name in GeoNames (names and alternate names), then the places_fpa
   gazetteer, then the curated remote communities (First Nation and community names, e.g.
   Kitchenuhmaykoosib Inninuwug / Big Trout Lake), then census subdivision names; accents
   and case folded, "St."/"Ste." read as "Saint"/"Sainte", "Township of ..." and trailing
   "First Nation" or reserve numbers dropped when the full name is unknown. Repeated names
   are told apart with the listing's postal code, region or named area; a name that stays
   ambiguous is reported (``ambiguous``, ``geocode_candidates``), not guessed;
6. ``rural_fsa``: a rural FSA (second character ``0``) -- a regional point;
7. ``area``: the listing names a region, a district or "Province-wide": no point, but the
   census divisions it names (``area_cduids``);
8. ``none``: nothing placed it. Such rows are reported, never dropped.

Every placed point is then checked, without moving it, against the listing's own postal
code and town: ``geocode_check`` is ``disagrees`` when the point lies farther than
``check_fsa_km`` / ``check_rural_fsa_km`` from the postal code's FSA point, or farther than
``check_town_km`` from every gazetteer point of the listing's town name (``agrees`` when a
check ran and passed, ``unchecked`` when there was nothing to check against).

:data:`gapmap.contracts.PRECISIONS` is the project's one precision vocabulary.

Output contract (GeoDataFrame, EPSG:4326): the services columns plus ``geometry`` (Point or
None), ``lat``/``lon`` (the placed point, NaN when unplaced), ``geocode_precision``,
``geocode_source``, ``geocode_note``, ``matched_place``, ``area_cduids`` (``;``-joined),
``ambiguous`` (bool), ``geocode_candidates`` (``;``-joined candidate places of an
ambiguous name), ``geocode_check`` (``agrees`` | ``disagrees`` | ``unchecked``),
``geocode_check_note`` and ``geocode_issues`` (``;``-joined codes from
:data:`gapmap.contracts.GEOCODE_ISSUES`, most urgent first, recorded by the provider or step
where each issue arises; ``geocode_note`` says the same in words, and is never read back),
``service_area_codes`` (the census divisions, 4 digits, and subdivisions, 7 digits, that the
listing's ``service_area`` names, else the area it names in place of a town, ``;``-joined;
``ON`` for the whole province; "" when it names none; :meth:`Gazetteer.service_area_codes`).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from gapmap import contracts
from gapmap.config import Config, GeocodeSettings
from gapmap.contracts import (
    GEOCODE_ISSUES,
    PRECISIONS,
    TOWN_OR_BETTER,
    is_placed,
    precision_rank,
)
from gapmap.io import read_geo, read_table
from gapmap.sources.geocoders import (
    OVERRIDE_COLUMNS,
    NominatimClient,
    Overrides,
    read_overrides,
    read_postal_codes,
)
from gapmap.sources.listings import WITHHELD, classify_place, looks_like_area

log = logging.getLogger(__name__)

CHECK_VALUES = ("agrees", "disagrees", "unchecked")
GEOCODE_COLUMNS = [c.name for c in contracts.GEOCODE_COLUMNS]  # declared in gapmap.contracts
_PRECISION_ISSUES = {"none": "failed", "rural_fsa": "rural_fsa", "area": "area"}
"""Issues that the final precision itself is: not placed, a regional point, an area."""

_TO_M = Transformer.from_crs(4326, 3347, always_xy=True)
_PREFIXES = re.compile(
    r"^((township|town|city|village|municipality|county|united townships|corporation) of "
    r"|(cite|ville|municipalite|canton|cantons unis|village) d(e |u |es |e la |'?))")
_SUFFIX_OF = re.compile(r"^(.+?),? (township|town|city|village|municipality) of$")
_NAME_SUFFIXES = re.compile(
    r"\s+(first nations?|nation|fn|indian reserve|reserve|ir|township|twp|unorganized"
    r"|area|\d+[a-z]?\d*)$")
_CD_ALIASES = {"sdg": "3501", "greater sudbury": "3553", "grand sudbury": "3553"}
_ODHF_ROW = re.compile(r"\bODHF\b.*?\brow index (\d+)", re.I)


def fold(text: str) -> str:
    """Fold a place name for matching: accents, case, punctuation, "St."/"Ste.", prefixes."""
    t = unicodedata.normalize("NFKD", text or "")
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    t = re.sub(r"[\x00-\x1f\x7f]", "", t)
    t = re.sub(r"\bste?[.]?(?=[\s-])", lambda m: "sainte" if m.group(0).startswith("ste")
               else "saint", t + " ").strip()
    t = re.sub(r"[’'`.]", "", t)
    t = re.sub(r"[^a-z0-9]+", " ", t).strip()
    t = _PREFIXES.sub("", t)
    t = _SUFFIX_OF.sub(r"\1", t)
    return t


def _latin(text: str) -> bool:
    """True for names written in the Latin alphabet (accents allowed): worth indexing."""
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c))
    return t.isascii() and any(c.isalpha() for c in t)


@dataclass
class Place:
    name: str
    lat: float
    lon: float
    source: str
    weight: float  # population, or a size rank: picks the main point among near repeats
    area_km2: float = 0.0  # census subdivisions: the municipality's land area
    x: float = 0.0
    y: float = 0.0

    def __post_init__(self) -> None:
        self.x, self.y = _TO_M.transform(self.lon, self.lat)


@dataclass
class TownMatch:
    place: Place | None
    candidates: list[Place] = field(default_factory=list)
    note: str = ""

    @property
    def ambiguous(self) -> bool:
        return self.place is None and len(self.candidates) > 1


Hint = tuple[shapely.Geometry, float, str]


class Gazetteer:
    """Offline place and postal look-ups built from the shipped gazetteers."""

    def __init__(self, config: Config) -> None:
        inp = config.inputs
        self.config = config
        self.settings: GeocodeSettings = config.geocode
        self.fsa: dict[str, tuple[float, float, str]] = {}
        self.fsa_all: dict[str, list[tuple[float, float, str]]] = {}
        self.fsa_names: dict[str, str] = {}
        for path, src in ((inp.fsa_geonames, "GeoNames FSA"),
                          (inp.fsa_statcan, "StatCan 2011 FSA")):
            t = read_table(path)
            for _, r in t.iterrows():
                if r["lat"] and r["lon"]:
                    fsa = r["fsa"].strip().upper()
                    # StatCan is read last so it wins where both have the FSA.
                    self.fsa[fsa] = (float(r["lat"]), float(r["lon"]), src)
                    self.fsa_all.setdefault(fsa, []).append(self.fsa[fsa])
                    self.fsa_names[fsa] = str(r.get("name", ""))
        self.sources: list[tuple[str, dict[str, list[Place]]]] = []
        geo: dict[str, list[Place]] = {}
        t = read_table(inp.places_geonames)
        for _, r in t.iterrows():
            p = Place(r["name"], float(r["lat"]), float(r["lon"]), "GeoNames",
                      float(r["population"] or 0))
            keys = {fold(r["name"])} | {fold(a) for a in r["alternatenames"].split("|")
                                        if a and _latin(a)}
            for k in keys - {""}:
                geo.setdefault(k, []).append(p)
        self.sources.append(("GeoNames", geo))
        if inp.places_fpa is not None:
            fpa: dict[str, list[Place]] = {}
            rank = {"major": 3.0, "medium": 2.0, "minor": 1.0}
            for _, r in read_table(inp.places_fpa).iterrows():
                p = Place(r["name"], float(r["lat"]), float(r["lon"]), "places_fpa",
                          rank.get(r["size_class"], 0.0))
                fpa.setdefault(fold(r["name"]), []).append(p)
            self.sources.append(("places_fpa", fpa))
        self.sources.append(("remote communities (curated)",
                             self._remote_aliases(inp.remote_communities)))
        csd: dict[str, list[Place]] = {}
        self.csd_codes: dict[str, list[tuple[str, Place]]] = {}
        for _, r in read_table(inp.census_subdivisions).iterrows():
            if not r["lat"]:
                continue
            p = Place(r["name"], float(r["lat"]), float(r["lon"]), "census subdivision",
                      float(r["pop2021"] or 0), float(r.get("area_km2") or 0))
            base = re.sub(r"\s*\(part\)", "", r["name"], flags=re.I)
            names = {r["name"], base, *r["name"].split(" / ")}
            keys = {fold(n) for n in names}
            # "Kitchenuhmaykoosib Aaki 84" is also "Kitchenuhmaykoosib Aaki"
            keys |= {_NAME_SUFFIXES.sub("", k) for k in keys if r["is_reserve"] == "1"}
            for k in keys - {""}:
                csd.setdefault(k, []).append(p)
                self.csd_codes.setdefault(k, []).append((str(r["csduid"]), p))
        self.sources.append(("census subdivision", csd))
        cds = read_geo(inp.census_divisions)
        self.cds = cds[["CDUID", "CDNAME", "geometry"]].copy()
        self.cds_m = self.cds.to_crs(3347)
        self.cd_names: dict[str, str] = dict(_CD_ALIASES)
        self.cd_label: dict[str, str] = {}
        for _, r in self.cds.iterrows():
            self.cd_label[r["CDUID"]] = r["CDNAME"].split(" / ")[0]
            for n in r["CDNAME"].split(" / "):
                self.cd_names[fold(n)] = r["CDUID"]
        prov = read_geo(inp.province).to_crs(3347)
        self.ontario_m = prov.buffer(self.settings.ontario_buffer_km * 1000).union_all()

    @staticmethod
    def _remote_aliases(path: object) -> dict[str, list[Place]]:
        """Names of the curated remote communities: the First Nation, its community names."""
        out: dict[str, list[Place]] = {}
        t = read_table(path)  # type: ignore[arg-type]
        for _, r in t.iterrows():
            if not r["lat"] or not r["lon"]:
                continue
            community = r["community"]
            m = re.match(r"^(.*?)\s*\((.*)\)\s*$", community)
            names = {community}
            if m:
                names |= {m.group(1)} | {x.strip() for x in m.group(2).split(";")
                                         if not re.search(r"\bonly\b", x)}
            names |= {r.get("fpa_place_name", "")}
            p = Place(community, float(r["lat"]), float(r["lon"]),
                      "remote communities (curated)", float(r.get("population") or 0))
            keys = {fold(n) for n in names}
            keys |= {_NAME_SUFFIXES.sub("", k) for k in keys}
            for k in keys - {""}:
                out.setdefault(k, []).append(p)
        return out

    # -- postal ---------------------------------------------------------------------------
    def fsa_point(self, postal_code: str) -> tuple[float, float, str] | None:
        fsa = (postal_code or "")[:3].upper()
        return self.fsa.get(fsa)

    # -- host sites -----------------------------------------------------------------------
    @cached_property
    def odhf_hospital_rows(self) -> frozenset[str]:
        """ODHF ``index`` values of hospitals (empty when no ODHF file is configured)."""
        path = self.config.inputs.hospitals
        if path is None:
            return frozenset()
        t = read_table(path)
        return frozenset(t.loc[t["odhf_facility_type"].str.lower() == "hospitals", "index"])

    def is_host_site(self, coordinate_source: str) -> bool:
        """Does the listing say its point is a host site's (a programme at its hospital)?"""
        text = coordinate_source or ""
        if re.search(r"\bhost\b", text, re.I):
            return True
        m = _ODHF_ROW.search(text)
        if not m:
            return False
        # the ODHF row it names is a hospital (from the ODHF file, or from the name given)
        named = text[m.end():].split(")")[0]
        return (m.group(1) in self.odhf_hospital_rows
                or bool(re.search(r"hospital|health sciences", named, re.I)))

    # -- places ---------------------------------------------------------------------------
    def in_ontario(self, lat: float, lon: float) -> bool:
        return bool(self.ontario_m.contains(shapely.Point(*_TO_M.transform(lon, lat))))

    def _clusters(self, cands: list[Place]) -> list[list[Place]]:
        """Group candidates lying within ``same_place_km`` of each other (one place)."""
        limit = self.settings.same_place_km * 1000
        clusters: list[list[Place]] = []
        for p in sorted(cands, key=lambda c: -c.weight):
            for cl in clusters:
                if np.hypot(cl[0].x - p.x, cl[0].y - p.y) <= limit:
                    cl.append(p)
                    break
            else:
                clusters.append([p])
        return clusters

    def _keys(self, name: str) -> list[str]:
        """The folded name, then looser forms ("X First Nation" -> "X", "X 84" -> "X")."""
        key = fold(name)
        keys = [key] if key else []
        loose = key
        while (shorter := _NAME_SUFFIXES.sub("", loose)) != loose and shorter:
            loose = shorter
            keys.append(loose)
        return keys

    def lookup(self, name: str) -> tuple[str, list[Place]]:
        """``(source, candidates)`` from the first gazetteer that knows the name."""
        src, cands, _key = self._lookup(name)
        return src, cands

    def _lookup(self, name: str) -> tuple[str, list[Place], str]:
        for i, key in enumerate(self._keys(name)):
            for src, index in self.sources:
                if index.get(key):
                    return src, index[key], key if i else ""
        return "", [], ""

    def all_places(self, name: str) -> list[Place]:
        """Every gazetteer point with this name, from every source (for checks)."""
        for key in self._keys(name):
            found = [p for _src, index in self.sources for p in index.get(key, [])]
            if found:
                return found
        return []

    def town(self, name: str, *, hints: Sequence[Hint] = ()) -> TownMatch:
        """Find a town by name. ``hints`` are (geometry in EPSG:3347, tolerance m, label).

        The first gazetteer that knows the name answers. Its candidates within
        ``same_place_km`` of each other are one place (the most populous point wins);
        several distinct places are told apart by the first hint that keeps exactly one.
        """
        src, cands, loose = self._lookup(name)
        if not cands:
            return TownMatch(None)
        read = f"read {name!r} as {loose!r}; " if loose else ""
        clusters = self._clusters(cands)
        if len(clusters) == 1:
            return TownMatch(clusters[0][0], note=read.rstrip("; "))
        for geom, tol, label in hints:
            dist = np.array([shapely.distance(geom, shapely.Point(c[0].x, c[0].y))
                             for c in clusters])
            fit = np.nonzero(dist <= tol)[0]
            if len(fit) == 1:
                return TownMatch(clusters[fit[0]][0], note=f"{read}chosen by {label}")
            # a regional (rural FSA) point: take the candidate clearly nearest to it
            order = np.argsort(dist)
            if label.startswith("rural") and dist[order[0]] * 2 < dist[order[1]]:
                return TownMatch(clusters[order[0]][0],
                                 note=f"{read}chosen by {label} (nearest of {len(clusters)})")
        firsts = [c[0] for c in clusters]
        where = "; ".join(self.describe(p) for p in firsts)
        return TownMatch(None, firsts,
                         note=f"{read}ambiguous: {len(clusters)} places named {name!r} in "
                              f"{src} ({where})")

    def describe(self, p: Place) -> str:
        """``"52.617,-94.083 (Kenora)"``: a candidate with its census division."""
        cd = self.cd_of_point(p.lat, p.lon) or ""
        return f"{p.lat:.3f},{p.lon:.3f} ({self.cd_label.get(cd, cd)})"

    def nearest_place(self, lat: float, lon: float, name: str = "") -> Place | None:
        """The town a point is in, as the gazetteer places it (never the point itself).

        Among ``name``'s places (grouped as :meth:`town` groups them), the one nearest the
        point, at its main gazetteer point; without a known name, the nearest GeoNames place.
        """
        x, y = _TO_M.transform(lon, lat)
        _src, cands = self.lookup(name) if name else ("", [])
        if cands:
            firsts = [c[0] for c in self._clusters(cands)]
        else:
            firsts = [p for _s, index in self.sources[:1] for ps in index.values() for p in ps]
        if not firsts:
            return None
        return min(firsts, key=lambda p: np.hypot(p.x - x, p.y - y))

    def cd_of_point(self, lat: float, lon: float) -> str | None:
        pt = shapely.Point(*_TO_M.transform(lon, lat))
        hit = self.cds_m[self.cds_m.contains(pt)]
        if len(hit):
            return str(hit["CDUID"].iloc[0])
        d = self.cds_m.distance(pt)
        return str(self.cds_m["CDUID"].iloc[int(np.argmin(d.to_numpy()))])

    def area_cduids(self, text: str, hints: Sequence[Hint]) -> list[str]:
        """Census divisions an area field names ("Niagara Region" -> ["3526"])."""
        parts = [p.strip() for p in re.split(r"\s/\s|/|&|,|\band\b", text) if p.strip()]
        whole = fold(re.sub(r"\b(region|regional municipality|county|counties|district|"
                            r"united counties)\b", "", text, flags=re.I))
        if whole in self.cd_names:
            return [self.cd_names[whole]]
        out: list[str] = []
        for part in parts:
            key = fold(re.sub(r"\b(region|regional|county|counties|district)\b", "", part,
                              flags=re.I))
            cd: str | None
            if key in self.cd_names and (looks_like_area(part) or key in _CD_ALIASES
                                         or not self.town(part, hints=hints).place):
                cd = self.cd_names[key]
            else:
                m = self.town(part, hints=hints)
                cd = self.cd_of_point(m.place.lat, m.place.lon) if m.place else None
            if cd and cd not in out:
                out.append(cd)
        return out


    def service_area_codes(self, text: str, hints: Sequence[Hint] = ()) -> list[str]:
        """The census divisions (4 digits) and subdivisions (7 digits) a service-area text
        names, or ``["ON"]`` for the whole province ("Ontario", "Province-wide").

        Each part (split at ``;``, ``,``, ``/``, "and") is a division when it names one
        ("Thunder Bay District", "Niagara Region"), else a subdivision when one census
        subdivision has that name (several: the one a hint keeps); a part naming neither,
        or a place that is no subdivision of its own ("Scarborough"), gives nothing rather
        than its whole division.
        """
        if _PROVINCE_WIDE.search(fold_area(text)):
            return ["ON"]
        whole = fold(re.sub(r"\b(region|regional municipality|county|counties|district|"
                            r"united counties)\b", "", text, flags=re.I))
        if whole in self.cd_names:  # "Stormont, Dundas and Glengarry": one division
            return [self.cd_names[whole]]
        parts = [p.strip() for p in re.split(r";|\s/\s|/|&|,|\band\b|\bet\b", text)
                 if p.strip()]
        out: list[str] = []
        for part in parts:
            key = fold(re.sub(r"\b(region|regional|county|counties|district|united counties)\b",
                              "", part, flags=re.I))
            code = ""
            if key in self.cd_names and (looks_like_area(part) or key in _CD_ALIASES
                                         or not self.csd_codes.get(fold(part))):
                code = self.cd_names[key]
            else:
                found = self.csd_codes.get(fold(part), [])
                codes = sorted({c for c, _ in found})
                if len(codes) > 1:
                    for geom, tol, _label in hints:
                        near = sorted({c for c, p in found if shapely.distance(
                            geom, shapely.Point(p.x, p.y)) <= tol})
                        if len(near) == 1:
                            codes = near
                            break
                code = codes[0] if len(codes) == 1 else ""
            if code and code not in out:
                out.append(code)
        return out


_PROVINCE_WIDE = re.compile(
    r"^(ontario|province|provincial|all of ontario|across ontario|ontario wide|"
    r"province wide|provincewide|province wide national|national|canada|canada wide|"
    r"across canada|toute la province|tout l ontario|partout en ontario)$|"
    r"\bprovince wide\b|\bontario wide\b|\ball of ontario\b|\bacross ontario\b|"
    r"\bcanada wide\b|\btoute la province\b|\bprovincewide\b")


def fold_area(text: str) -> str:
    """An area text folded for the whole-province test: accents, case and punctuation
    gone ("Province-wide (national)" -> "province wide national")."""
    t = unicodedata.normalize("NFKD", text or "")
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", " ", t).strip()


def _km(lat: float, lon: float, x: float, y: float) -> float:
    px, py = _TO_M.transform(lon, lat)
    return float(np.hypot(px - x, py - y)) / 1000


def _text(row: pd.Series, key: str) -> str:
    v = row.get(key, "")
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


def _hints(row: pd.Series, gaz: Gazetteer, regions_m: gpd.GeoDataFrame | None,
           postal_codes: dict[str, tuple[float, float]] | None = None) -> list[Hint]:
    hints: list[Hint] = []
    postal = _text(row, "postal_code")
    full = (postal_codes or {}).get(postal)
    if full:
        hints.append((shapely.Point(*_TO_M.transform(full[1], full[0])), 30_000.0,
                      f"postal code {postal}"))
    fsa = gaz.fsa_point(postal)
    if fsa:
        rural = postal[1:2] == "0"
        tol = gaz.settings.disambiguate_within_km * 1000 if rural else 30_000.0
        hints.append((shapely.Point(*_TO_M.transform(fsa[1], fsa[0])), tol,
                      f"{'rural ' if rural else ''}postal code {postal}"))
    if regions_m is not None and _text(row, "listing_region"):
        sel = regions_m[regions_m["opp_region"] == row["listing_region"]]
        if len(sel):
            hints.append((sel.union_all(), 5_000.0, f"region {row['listing_region']}"))
    area = _text(row, "area_name")
    if area:
        cds = gaz.area_cduids(area, [])
        sel = gaz.cds_m[gaz.cds_m["CDUID"].isin(cds)]
        if len(sel):
            hints.append((sel.union_all(), 5_000.0, f"area {area}"))
    return hints


@dataclass
class _Placed:
    lat: float
    lon: float
    precision: str
    source: str
    matched_place: str = ""
    note: str = ""


@dataclass
class _State:
    """What the providers learn about one row as the chain runs."""

    row: pd.Series
    notes: list[str] = field(default_factory=list)
    ambiguous: bool = False
    candidates: list[str] = field(default_factory=list)
    place_kind: str = ""
    area_name: str = ""
    issues: set[str] = field(default_factory=set)

    def flag(self, issue: str) -> None:
        """Record an issue code (one of :data:`~gapmap.contracts.GEOCODE_ISSUES`)."""
        if issue not in GEOCODE_ISSUES:
            raise ValueError(f"unknown geocode issue {issue!r}; add it to GEOCODE_ISSUES")
        self.issues.add(issue)


class GeocodeChain:
    """The provider chain over one gazetteer (see the module docstring).

    Parameters
    ----------
    gazetteer
        The offline look-ups.
    settings
        The order and the check tolerances; by default the gazetteer's.
    regions_m
        OPP region polygons in EPSG:3347 (hints for repeated names), or None.
    overrides
        The analyst's overrides, or None.
    nominatim
        A :class:`~gapmap.sources.geocoders.NominatimClient`, or None (no civic-address look-ups).
    postal_codes
        A full postal-code table (``{"K1A 0A6": (lat, lon)}``), or None.
    """

    def __init__(self, gazetteer: Gazetteer, *, settings: GeocodeSettings | None = None,
                 regions_m: gpd.GeoDataFrame | None = None,
                 overrides: Overrides | None = None,
                 nominatim: NominatimClient | None = None,
                 postal_codes: dict[str, tuple[float, float]] | None = None) -> None:
        self.gaz = gazetteer
        self.settings = settings or gazetteer.settings
        self.postal_codes = postal_codes or {}
        self.regions_m = regions_m
        self.overrides = overrides
        self.nominatim = nominatim
        self.providers: dict[str, Callable[[_State], _Placed | None]] = {
            "listing": self._listing, "override": self._override,
            "nominatim": self._nominatim, "postal": self._postal, "town": self._town,
            "rural_fsa": self._rural_fsa,
        }

    # -- providers ------------------------------------------------------------------------
    def _listing(self, st: _State) -> _Placed | None:
        lat, lon = st.row.get("lat", np.nan), st.row.get("lon", np.nan)
        if pd.isna(lat) or pd.isna(lon):
            return None
        if not self.gaz.in_ontario(lat, lon):
            st.notes.append(f"listed point ({lat}, {lon}) lies outside Ontario: ignored")
            st.flag("listed_point_rejected")
            return None
        cs = _text(st.row, "coordinate_source")
        host = self.gaz.is_host_site(cs)
        return _Placed(float(lat), float(lon), "street" if host else "exact",
                       f"listing ({cs or 'coordinates'})",
                       note="host site's point: the programme is there or nearby"
                       if host else "")

    def _override(self, st: _State) -> _Placed | None:
        if self.overrides is None:
            return None
        r = st.row
        address = "" if r.get("confidential") else _text(r, "address")
        ov = self.overrides.find(_text(r, "service_id"), address, _text(r, "city"))
        if ov is None:
            return None
        if r.get("confidential"):
            # Never let a typed-in point reveal a confidential location: use its town.
            p = self.gaz.nearest_place(ov.lat, ov.lon, _text(r, "place_name"))
            if p is None:
                return None
            return _Placed(p.lat, p.lon, "town", f"override ({ov.where})", p.name,
                           note="confidential: placed at the gazetteer town nearest the "
                                "override point")
        return _Placed(ov.lat, ov.lon, ov.precision, f"override ({ov.where})",
                       note=ov.note)

    def _nominatim(self, st: _State) -> _Placed | None:
        client = self.nominatim
        address = _text(st.row, "address")
        if (client is None or not client.active or not address or address == WITHHELD
                or st.row.get("confidential")):
            return None
        ans = client.lookup(address, _text(st.row, "city"), self.gaz.in_ontario)
        if ans.placed:
            assert ans.lat is not None and ans.lon is not None
            src = "Nominatim (cache)" if ans.from_cache else "Nominatim"
            return _Placed(ans.lat, ans.lon, "street", src, note=ans.label)
        if ans.note:
            st.notes.append(ans.note)
        if ans.issue:
            st.flag(ans.issue)
        return None

    def _postal(self, st: _State) -> _Placed | None:
        postal = _text(st.row, "postal_code")
        full = self.postal_codes.get(postal)
        if full:
            return _Placed(full[0], full[1], "postal", f"postal-code table {postal}")
        fsa = self.gaz.fsa_point(postal)
        if fsa and postal[1:2] != "0":
            return _Placed(fsa[0], fsa[1], "fsa", f"{fsa[2]} {postal[:3]}")
        return None

    def _town(self, st: _State) -> _Placed | None:
        name = _text(st.row, "place_name")
        if not name:
            return None
        m = self.gaz.town(name, hints=_hints(st.row, self.gaz, self.regions_m, self.postal_codes))
        if m.place:
            return _Placed(m.place.lat, m.place.lon, "town", m.place.source, m.place.name,
                           note=m.note)
        if m.ambiguous:
            st.ambiguous = True
            st.flag("ambiguous")
            st.candidates = [f"{p.name} {self.gaz.describe(p)}" for p in m.candidates]
            st.notes.append(m.note)
        elif fold(name) in self.gaz.cd_names:
            st.place_kind, st.area_name = "area", name
        else:
            st.notes.append(f"town {name!r} not in any gazetteer")
        return None

    def _rural_fsa(self, st: _State) -> _Placed | None:
        postal = _text(st.row, "postal_code")
        fsa = self.gaz.fsa_point(postal)
        if fsa and postal[1:2] == "0":
            return _Placed(fsa[0], fsa[1], "rural_fsa",
                           f"{fsa[2]} {postal[:3]} (rural: regional point)")
        return None

    # -- the chain ------------------------------------------------------------------------
    def place(self, row: pd.Series) -> dict[str, object]:
        """Place one service row; returns the geocode columns (lat/lon NaN when unplaced)."""
        st = _State(row, place_kind=_text(row, "place_kind"), area_name=_text(row, "area_name"))
        out: dict[str, object] = {
            "geo_lat": np.nan, "geo_lon": np.nan, "geocode_precision": "none",
            "geocode_source": "", "geocode_note": "", "matched_place": "", "area_cduids": "",
            "ambiguous": False, "geocode_candidates": "", "geocode_check": "unchecked",
            "geocode_check_note": "", "geocode_issues": "", "service_area_codes": ""}
        placed: _Placed | None = None
        by = ""
        for name in self.settings.order:
            if name == "area":
                if st.place_kind in ("area", "several") and st.area_name:
                    row2 = row.copy()
                    row2["area_name"] = st.area_name
                    cds = self.gaz.area_cduids(st.area_name, _hints(
                        row2, self.gaz, self.regions_m, self.postal_codes))
                    out.update(geocode_precision="area", area_cduids=";".join(cds),
                               geocode_source="area named in listing")
                    st.notes.append(f"names an area ({st.area_name}): listed, but counts "
                                    "for no physical coverage")
                    break
                continue
            placed = self.providers[name](st)
            if placed is not None:
                by = name
                break
        if placed is not None:
            if placed.note:
                st.notes.append(placed.note)
            out.update(geo_lat=placed.lat, geo_lon=placed.lon,
                       geocode_precision=placed.precision, geocode_source=placed.source,
                       matched_place=placed.matched_place)
            self._unused_override_note(st, by)
            out["geocode_check"], out["geocode_check_note"] = self.check(
                row, placed.lat, placed.lon, by)
            if out["geocode_check"] == "disagrees":
                st.flag("disagrees")
        elif out["geocode_precision"] == "none" and not st.notes:
            st.notes.append("no coordinates, postal code or town")
        out["service_area_codes"] = ";".join(self._service_area_codes(row, st))
        out["ambiguous"] = st.ambiguous
        out["geocode_candidates"] = "; ".join(st.candidates)
        out["geocode_note"] = "; ".join(n for n in st.notes if n)
        out["geocode_issues"] = self._issue_codes(st, str(out["geocode_precision"]))
        return out

    def _service_area_codes(self, row: pd.Series, st: _State) -> list[str]:
        """The areas the listing says it serves: its ``service_area``, else the area it
        names in place of a town (its area, never its point's)."""
        text = _text(row, "service_area") or st.area_name
        if not text:
            return []
        return self.gaz.service_area_codes(text, _hints(row, self.gaz, self.regions_m,
                                                        self.postal_codes))

    @staticmethod
    def _issue_codes(st: _State, precision: str) -> str:
        """The row's issue codes, most urgent first: those its providers and checks recorded,
        plus what its final precision is (:data:`_PRECISION_ISSUES`). An address Nominatim
        did not place is no issue once the row is placed at street level or better anyway."""
        issues = set(st.issues)
        if precision in _PRECISION_ISSUES:
            issues.add(_PRECISION_ISSUES[precision])
        if precision_rank(precision) <= precision_rank("street"):
            issues.discard("address_not_geocoded")
        return ";".join(sorted(issues, key=GEOCODE_ISSUES.index))

    def _unused_override_note(self, st: _State, by: str) -> None:
        """Say so when an override exists but an earlier provider placed the row."""
        order = self.settings.order
        if (self.overrides is None or "override" not in order or by == "override"
                or order.index(by) > order.index("override")):
            return
        r = st.row
        ov = self.overrides.find(_text(r, "service_id"),
                                 "" if r.get("confidential") else _text(r, "address"),
                                 _text(r, "city"))
        if ov is not None:
            st.notes.append(f"override at {ov.where} not applied: {by!r} comes before "
                            "'override' in geocode.order")

    def check(self, row: pd.Series, lat: float, lon: float, by: str) -> tuple[str, str]:
        """Check a placed point against the listing's own postal code and town.

        Returns ``(geocode_check, geocode_check_note)``; the point is never moved.
        """
        s, gaz = self.settings, self.gaz
        problems: list[str] = []
        checked: list[str] = []
        postal = _text(row, "postal_code")
        if postal and by not in ("postal", "rural_fsa"):
            full = self.postal_codes.get(postal)
            fsa = postal[:3]
            pts = [(full[0], full[1], "postal-code table")] if full else gaz.fsa_all.get(fsa, [])
            if pts:
                rural = postal[1:2] == "0" and not full
                tol = s.check_rural_fsa_km if rural else s.check_fsa_km
                d = min(_km(lat, lon, *_TO_M.transform(p[1], p[0])) for p in pts)
                checked.append("postal code")
                if d > tol:
                    label = gaz.fsa_names.get(fsa, "")
                    problems.append(f"{d:.0f} km from its postal code {postal}"
                                    f"{f' ({label})' if label else ''}, more than {tol:g} km")
        name = _text(row, "place_name")
        if name and by != "town":
            places = gaz.all_places(name)
            if places:
                d = min(_km(lat, lon, p.x, p.y) for p in places)
                # a large municipality (Chatham-Kent, Greater Sudbury) reaches farther
                # from its point: allow twice the radius of a circle of its area
                tol = max([s.check_town_km] + [2 * np.sqrt(p.area_km2 / np.pi)
                                               for p in places])
                checked.append("town")
                if d > tol:
                    problems.append(f"{d:.0f} km from its town {name!r}, more than "
                                    f"{tol:.0f} km")
        if problems:
            return "disagrees", "point " + "; ".join(problems)
        if checked:
            return "agrees", f"agrees with its {' and '.join(checked)}"
        return "unchecked", ""


def geocode_row(row: pd.Series, gaz: Gazetteer, regions_m: gpd.GeoDataFrame | None = None
                ) -> dict[str, object]:
    """Place one row with the offline chain (no overrides, no Nominatim)."""
    return GeocodeChain(gaz, regions_m=regions_m).place(row)


def geocode_services(services: pd.DataFrame, config: Config,
                     gazetteer: Gazetteer | None = None, *,
                     nominatim: NominatimClient | None = None,
                     overrides: Overrides | None = None,
                     postal_codes: dict[str, tuple[float, float]] | None = None
                     ) -> gpd.GeoDataFrame:
    """Geocode every service; see the module docstring for the output contract.

    Confidential listings arrive without address, postal code or point (ingest withholds
    them), so they are placed at most at their town.

    Parameters
    ----------
    nominatim
        A Nominatim client to use (tests inject one); by default one is made from
        ``[geocode.nominatim]`` when its mode is not ``"off"``.
    overrides
        Overrides to use; by default read from ``geocode.overrides`` when set.
    postal_codes
        A full postal-code table; by default read from ``geocode.postal_codes`` when set.
    """
    from gapmap.regions import opp_region_polygons

    gaz = gazetteer or Gazetteer(config)
    settings = config.geocode
    if overrides is None and settings.overrides is not None and "override" in settings.order:
        overrides = read_overrides(settings.overrides, gaz.in_ontario)
    if postal_codes is None and settings.postal_codes is not None:
        postal_codes = read_postal_codes(settings.postal_codes)
    own_client = nominatim is None and settings.nominatim.mode != "off" \
        and "nominatim" in settings.order
    if own_client:
        nominatim = NominatimClient(settings.nominatim)
    regions_m = opp_region_polygons(config).to_crs(3347)
    chain = GeocodeChain(gaz, settings=settings, regions_m=regions_m, overrides=overrides,
                         nominatim=nominatim, postal_codes=postal_codes)
    try:
        rows = [chain.place(r) for _, r in services.iterrows()]
    finally:
        if own_client and nominatim is not None:
            nominatim.close()
    if nominatim is not None and nominatim.active:
        log.info(nominatim.summary())
    if overrides is not None:
        for key in overrides.unused():
            log.warning("override %s matched no service", key)
    geo = pd.DataFrame(rows, index=services.index,  # the columns even with no rows
                       columns=["geo_lat", "geo_lon", *GEOCODE_COLUMNS])
    df = pd.concat([services.drop(columns=[c for c in GEOCODE_COLUMNS if c in services]),
                    geo], axis=1)
    df = df.drop(columns=["lat", "lon"]).rename(columns={"geo_lat": "lat", "geo_lon": "lon"})
    placed = is_placed(df[["geocode_precision", "lat"]])  # a point precision and a point
    geom = [shapely.Point(x, y) if ok else None
            for x, y, ok in zip(df["lon"], df["lat"], placed, strict=True)]
    gdf = gpd.GeoDataFrame(df, geometry=geom, crs=4326)
    gdf.attrs["nominatim"] = nominatim.summary() if nominatim is not None else "Nominatim off"
    log.info("geocoded %d services: %s", len(gdf), describe_precision(gdf))
    return gdf


# -- the report ----------------------------------------------------------------------------

def _issues(r: pd.Series) -> list[str]:
    """The row's issue codes, as the geocode chain recorded them (``geocode_issues``)."""
    return [i for i in str(r["geocode_issues"]).split(";") if i]


def geocode_report(gdf: pd.DataFrame) -> pd.DataFrame:
    """Rows an analyst should look at, in the overrides file's own layout.

    Columns :data:`~gapmap.sources.geocoders.OVERRIDE_COLUMNS`: ``lat``, ``lon``, ``precision`` and
    ``note`` are blank for the analyst to fill in; ``issue`` (``;``-joined, from
    :data:`~gapmap.contracts.GEOCODE_ISSUES`: the ``geocode_issues`` the chain recorded) and
    ``reason`` (the notes) say what went wrong; ``candidates`` lists the places an
    ambiguous name could be. Saved as CSV and named in ``geocode.overrides``, the filled-in
    rows place their services on the next run (source ``override``); rows left blank are
    ignored. Every ambiguous name is in it.
    """
    rows = []
    for _, r in gdf.iterrows():
        issues = _issues(r)
        if not issues:
            continue
        reasons = [str(r["geocode_note"])]
        if "disagrees" in issues:
            reasons.append(str(r["geocode_check_note"]))
        reason = "; ".join(x for x in reasons if x)
        if "disagrees" in issues and str(r["geocode_source"]).startswith("listing"):
            reason += ("; to replace a listed point, put 'override' before 'listing' in "
                       "geocode.order")
        rows.append({
            "service_id": r["service_id"], "name": r.get("name", ""),
            "address": r.get("address", ""), "city": r.get("city", ""),
            "postal_code": r.get("postal_code", ""), "lat": "", "lon": "", "precision": "",
            "note": "", "issue": ";".join(issues), "reason": reason,
            "geocode_precision": r["geocode_precision"],
            "geocode_source": r["geocode_source"],
            "candidates": r.get("geocode_candidates", ""), "source": r.get("source", ""),
            "source_row": r.get("source_row", ""),
            "_rank": GEOCODE_ISSUES.index(issues[0]),
        })
    report = pd.DataFrame(rows, columns=[*OVERRIDE_COLUMNS, "_rank"])
    report = report.sort_values(["_rank", "service_id"], kind="stable")
    return report.drop(columns="_rank").reset_index(drop=True)


def describe_precision(gdf: pd.DataFrame) -> str:
    counts = gdf["geocode_precision"].value_counts()
    return ", ".join(f"{p}={counts.get(p, 0)}" for p in PRECISIONS)


def names_a_place(gdf: pd.DataFrame) -> pd.Series:
    """Rows that name a town, an address, a postal code or a point -- not only an area.

    The denominator of the offline placement figure (:func:`placement_summary`).
    """
    address = gdf["address"].fillna("").astype(str)
    has_address = (address != "") & (address != WITHHELD)
    has_postal = gdf["postal_code"].fillna("").astype(str) != ""
    listed = gdf["geocode_source"].astype(str).str.startswith("listing") | \
        gdf["geocode_issues"].astype(str).str.split(";").map(
            lambda codes: "listed_point_rejected" in codes)
    town = gdf["place_kind"] == "town"
    return (has_address | has_postal | listed | town) & (gdf["geocode_precision"] != "area")


def placement_summary(gdf: pd.DataFrame, report: pd.DataFrame | None = None) -> str:
    """The printed summary: precision breakdown, the town-or-better share, checks, issues."""
    eligible = names_a_place(gdf)
    good = eligible & gdf["geocode_precision"].isin(TOWN_OR_BETTER)
    n, k = int(eligible.sum()), int(good.sum())
    share = 100 * k / n if n else 100.0
    checks = gdf["geocode_check"].value_counts()
    lines = [
        f"geocoded {len(gdf)} services: {describe_precision(gdf)}",
        f"town precision or better: {k} of the {n} listings that name a town, address, "
        f"postal code or point ({share:.1f} %)",
        "check against own town and postal code: "
        + ", ".join(f"{c} {checks.get(c, 0)}" for c in CHECK_VALUES),
        f"ambiguous names: {int(gdf['ambiguous'].sum())}",
        str(gdf.attrs.get("nominatim", "")),
    ]
    if report is not None:
        counts = {i: int(report["issue"].str.split(";").map(lambda xs, i=i: i in xs).sum())
                  for i in GEOCODE_ISSUES}
        lines.append(f"report: {len(report)} rows to review ("
                     + ", ".join(f"{i} {c}" for i, c in counts.items() if c) + ")")
    return "\n".join(line for line in lines if line)


__all__ = ["Gazetteer", "GeocodeChain", "geocode_services", "geocode_report",
           "placement_summary", "names_a_place", "fold", "classify_place"]
