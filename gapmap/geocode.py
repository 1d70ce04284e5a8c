"""Geocode: services table -> services with a point and a stated precision, offline.

The chain, best first, stops at the first provider that places the listing:

1. ``exact``: coordinates given in the listing and lying in Ontario (``street`` when the
   listing says the point is its host site's, e.g. a programme placed at its hospital);
2. ``fsa``: an urban postal FSA point (Statistics Canada 2011 points first, GeoNames for
   FSAs created since);
3. ``town``: the town name in GeoNames (names and alternate names), then the places_fpa
   gazetteer, then census subdivision names. Repeated names are told apart with the
   listing's postal code, region or named area; a name that stays ambiguous is reported,
   not guessed;
4. ``rural_fsa``: a rural FSA (second character ``0``) -- a regional point;
5. ``area``: the listing names a region, a district or "Province-wide": no point, but the
   census divisions it names (``area_cduids``);
6. ``none``: nothing placed it. Such rows are reported, never dropped.

:data:`PRECISIONS` is the project's one precision vocabulary; issue-level providers
(street address, full postal code) slot into it without renaming anything.

Output contract (GeoDataFrame, EPSG:4326): the services columns plus ``geometry`` (Point or
None), ``geocode_precision``, ``geocode_source``, ``geocode_note``, ``matched_place``,
``area_cduids`` (``;``-joined) and ``ambiguous`` (bool).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from gapmap.config import Config
from gapmap.ingest import classify_place, looks_like_area
from gapmap.io import read_geo, read_table

log = logging.getLogger(__name__)

PRECISIONS: tuple[str, ...] = (
    "exact", "street", "postal", "fsa", "town", "rural_fsa", "area", "none")
"""Geocode precision, best to worst. Only the first six place a point."""
POINT_PRECISIONS = frozenset(PRECISIONS[:6])

_TO_M = Transformer.from_crs(4326, 3347, always_xy=True)
_PREFIXES = re.compile(
    r"^(township|town|city|village|municipality|county|united townships|corporation) of ")
_CD_ALIASES = {"sdg": "3501", "greater sudbury": "3553", "grand sudbury": "3553"}


def fold(text: str) -> str:
    """Fold a place name for matching: accents, case, punctuation, "St."/"Ste.", prefixes."""
    t = unicodedata.normalize("NFKD", text or "")
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    t = re.sub(r"[\x00-\x1f\x7f]", "", t)
    t = re.sub(r"\bste?[.]?\s", lambda m: "sainte " if m.group(0).startswith("ste") else
               "saint ", t + " ").strip()
    t = re.sub(r"[’'`.]", "", t)
    t = re.sub(r"[^a-z0-9]+", " ", t).strip()
    t = _PREFIXES.sub("", t)
    return t


@dataclass
class Place:
    name: str
    lat: float
    lon: float
    source: str
    weight: float  # population, or a size rank: picks the main point among near repeats
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


class Gazetteer:
    """Offline place and postal look-ups built from the shipped gazetteers."""

    def __init__(self, config: Config) -> None:
        inp = config.inputs
        self.settings = config.geocode
        self.fsa: dict[str, tuple[float, float, str]] = {}
        for path, src in ((inp.fsa_geonames, "GeoNames FSA"),
                          (inp.fsa_statcan, "StatCan 2011 FSA")):
            t = read_table(path)
            for _, r in t.iterrows():
                if r["lat"] and r["lon"]:
                    # StatCan is read last so it wins where both have the FSA.
                    self.fsa[r["fsa"].strip().upper()] = (float(r["lat"]), float(r["lon"]), src)
        self.sources: list[tuple[str, dict[str, list[Place]]]] = []
        geo: dict[str, list[Place]] = {}
        t = read_table(inp.places_geonames)
        for _, r in t.iterrows():
            p = Place(r["name"], float(r["lat"]), float(r["lon"]), "GeoNames",
                      float(r["population"] or 0))
            keys = {fold(r["name"])} | {fold(a) for a in r["alternatenames"].split("|")
                                        if a and a.isascii()}
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
        csd: dict[str, list[Place]] = {}
        for _, r in read_table(inp.census_subdivisions).iterrows():
            if not r["lat"]:
                continue
            p = Place(r["name"], float(r["lat"]), float(r["lon"]), "census subdivision",
                      float(r["pop2021"] or 0))
            names = {fold(r["name"]), fold(re.sub(r"\s*\(part\)", "", r["name"], flags=re.I))}
            names |= {fold(n) for n in r["name"].split(" / ")}
            for k in names - {""}:
                csd.setdefault(k, []).append(p)
        self.sources.append(("census subdivision", csd))
        cds = read_geo(inp.census_divisions)
        self.cds = cds[["CDUID", "CDNAME", "geometry"]].copy()
        self.cds_m = self.cds.to_crs(3347)
        self.cd_names: dict[str, str] = dict(_CD_ALIASES)
        for _, r in self.cds.iterrows():
            for n in r["CDNAME"].split(" / "):
                self.cd_names[fold(n)] = r["CDUID"]
        prov = read_geo(inp.province).to_crs(3347)
        self.ontario_m = prov.buffer(self.settings.ontario_buffer_km * 1000).union_all()

    # -- postal ---------------------------------------------------------------------------
    def fsa_point(self, postal_code: str) -> tuple[float, float, str] | None:
        fsa = (postal_code or "")[:3].upper()
        return self.fsa.get(fsa)

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

    def town(self, name: str, *,
             hints: Sequence[tuple[shapely.Geometry, float, str]] = ()) -> TownMatch:
        """Find a town by name. ``hints`` are (geometry in EPSG:3347, tolerance m, label).

        The first gazetteer that knows the name answers. Its candidates within
        ``same_place_km`` of each other are one place (the most populous point wins);
        several distinct places are told apart by the first hint that keeps exactly one.
        """
        key = fold(name)
        if not key:
            return TownMatch(None)
        for _src, index in self.sources:
            cands = index.get(key)
            if not cands:
                continue
            clusters = self._clusters(cands)
            if len(clusters) == 1:
                return TownMatch(clusters[0][0])
            for geom, tol, label in hints:
                dist = np.array([shapely.distance(geom, shapely.Point(c[0].x, c[0].y))
                                 for c in clusters])
                fit = np.nonzero(dist <= tol)[0]
                if len(fit) == 1:
                    return TownMatch(clusters[fit[0]][0], note=f"chosen by {label}")
                # a regional (rural FSA) point: take the candidate clearly nearest to it
                order = np.argsort(dist)
                if label.startswith("rural") and dist[order[0]] * 2 < dist[order[1]]:
                    return TownMatch(clusters[order[0]][0],
                                     note=f"chosen by {label} (nearest of {len(clusters)})")
            where = "; ".join(f"{c[0].lat:.3f},{c[0].lon:.3f}" for c in clusters)
            return TownMatch(None, [c[0] for c in clusters],
                             note=f"ambiguous: {len(clusters)} places named {name!r} "
                                  f"in {_src} ({where})")
        return TownMatch(None)

    def cd_of_point(self, lat: float, lon: float) -> str | None:
        pt = shapely.Point(*_TO_M.transform(lon, lat))
        hit = self.cds_m[self.cds_m.contains(pt)]
        if len(hit):
            return str(hit["CDUID"].iloc[0])
        d = self.cds_m.distance(pt)
        return str(self.cds_m["CDUID"].iloc[int(np.argmin(d.to_numpy()))])

    def area_cduids(self, text: str, hints: list) -> list[str]:
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


def _hints(row: pd.Series, gaz: Gazetteer, regions_m: gpd.GeoDataFrame | None
           ) -> list[tuple[shapely.Geometry, float, str]]:
    hints = []
    fsa = gaz.fsa_point(row["postal_code"])
    if fsa:
        rural = row["postal_code"][1:2] == "0"
        tol = gaz.settings.disambiguate_within_km * 1000 if rural else 30_000.0
        hints.append((shapely.Point(*_TO_M.transform(fsa[1], fsa[0])), tol,
                      f"{'rural ' if rural else ''}postal code {row['postal_code']}"))
    if regions_m is not None and row.get("listing_region"):
        sel = regions_m[regions_m["opp_region"] == row["listing_region"]]
        if len(sel):
            hints.append((sel.union_all(), 5_000.0, f"region {row['listing_region']}"))
    area = row.get("area_name", "")
    if area:
        cds = gaz.area_cduids(area, [])
        sel = gaz.cds_m[gaz.cds_m["CDUID"].isin(cds)]
        if len(sel):
            hints.append((sel.union_all(), 5_000.0, f"area {area}"))
    return hints


def geocode_row(row: pd.Series, gaz: Gazetteer, regions_m: gpd.GeoDataFrame | None = None
                ) -> dict[str, object]:
    """Place one service row; returns the geocode columns (lat/lon NaN when unplaced)."""
    out: dict[str, object] = {"geo_lat": np.nan, "geo_lon": np.nan, "geocode_precision": "none",
                              "geocode_source": "", "geocode_note": "", "matched_place": "",
                              "area_cduids": "", "ambiguous": False}
    notes = []
    lat, lon = row["lat"], row["lon"]
    if pd.notna(lat) and pd.notna(lon):
        if gaz.in_ontario(lat, lon):
            host = "host" in str(row.get("coordinate_source", "")).lower()
            out.update(geo_lat=lat, geo_lon=lon, geocode_precision="street" if host else "exact",
                       geocode_source=f"listing ({row.get('coordinate_source') or 'coordinates'})")
            return out
        notes.append(f"listed point ({lat}, {lon}) lies outside Ontario: ignored")
    postal = row["postal_code"] or ""
    fsa = gaz.fsa_point(postal) if postal else None
    if fsa and postal[1:2] != "0":
        out.update(geo_lat=fsa[0], geo_lon=fsa[1], geocode_precision="fsa",
                   geocode_source=f"{fsa[2]} {postal[:3]}", geocode_note="; ".join(notes))
        return out
    if row["place_name"]:
        m = gaz.town(row["place_name"], hints=_hints(row, gaz, regions_m))
        if m.place:
            out.update(geo_lat=m.place.lat, geo_lon=m.place.lon, geocode_precision="town",
                       geocode_source=m.place.source, matched_place=m.place.name)
            if m.note:
                notes.append(m.note)
            out["geocode_note"] = "; ".join(notes)
            return out
        if m.ambiguous:
            out["ambiguous"] = True
            notes.append(m.note)
        elif fold(row["place_name"]) in gaz.cd_names:
            row = row.copy()
            row["place_kind"], row["area_name"] = "area", row["place_name"]
        else:
            notes.append(f"town {row['place_name']!r} not in any gazetteer")
    if fsa:
        out.update(geo_lat=fsa[0], geo_lon=fsa[1], geocode_precision="rural_fsa",
                   geocode_source=f"{fsa[2]} {postal[:3]} (rural: regional point)",
                   geocode_note="; ".join(notes))
        return out
    if row["place_kind"] in ("area", "several"):
        cds = gaz.area_cduids(row["area_name"], _hints(row, gaz, regions_m))
        out.update(geocode_precision="area", area_cduids=";".join(cds),
                   geocode_source="area named in listing")
        notes.append(f"names an area ({row['area_name']}): listed, but counts for no "
                     "physical coverage")
    elif row["place_kind"] == "blank" and not notes:
        notes.append("no coordinates, postal code or town")
    out["geocode_note"] = "; ".join(notes)
    return out


def geocode_services(services: pd.DataFrame, config: Config,
                     gazetteer: Gazetteer | None = None) -> gpd.GeoDataFrame:
    """Geocode every service offline; see the module docstring for the output contract.

    Confidential listings arrive without address, postal code or point (ingest withholds
    them), so they are placed at most at their town.
    """
    from gapmap.regions import opp_region_polygons

    gaz = gazetteer or Gazetteer(config)
    regions_m = opp_region_polygons(config).to_crs(3347)
    rows = [geocode_row(r, gaz, regions_m) for _, r in services.iterrows()]
    geo = pd.DataFrame(rows, index=services.index)
    df = pd.concat([services, geo], axis=1)
    placed = df["geo_lat"].notna()
    geom = [shapely.Point(x, y) if ok else None
            for x, y, ok in zip(df["geo_lon"], df["geo_lat"], placed, strict=True)]
    df = df.drop(columns=["lat", "lon"]).rename(columns={"geo_lat": "lat", "geo_lon": "lon"})
    gdf = gpd.GeoDataFrame(df, geometry=geom, crs=4326)
    counts = gdf["geocode_precision"].value_counts()
    log.info("geocoded %d services: %s", len(gdf),
             ", ".join(f"{p} {counts.get(p, 0)}" for p in PRECISIONS))
    return gdf


def geocode_report(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """Rows an analyst should look at: unplaced, ambiguous, area-level or coarse geocodes."""
    bad = gdf[gdf["geocode_precision"].isin(["none", "area", "rural_fsa"]) | gdf["ambiguous"]
              | gdf["geocode_note"].str.contains("outside Ontario")]
    cols = ["service_id", "name", "city", "postal_code", "source", "source_row",
            "geocode_precision", "geocode_source", "ambiguous", "geocode_note"]
    return pd.DataFrame(bad[cols]).sort_values(["geocode_precision", "service_id"])


def describe_precision(gdf: pd.DataFrame) -> str:
    counts = gdf["geocode_precision"].value_counts()
    return ", ".join(f"{p}={counts.get(p, 0)}" for p in PRECISIONS)


__all__ = ["PRECISIONS", "Gazetteer", "geocode_services", "geocode_report", "fold",
           "classify_place"]
