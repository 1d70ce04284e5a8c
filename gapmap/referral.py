"""Referral: the stage that writes a referral sheet per police office town, or for one point
or town an analyst names.

It reads the police offices (``inputs.police_offices``: a name, and an address, a town or a
point per row; the shipped file lists the OPP's 86 detachment office towns), places them
with the same geocode chain as the listings (the shipped offices name towns only, so they
are placed at town level) and reports those that stay unplaced. For each placed office, in
the run's scope, it finds per need the nearest services by drive time on the run's road
graph (:func:`gapmap.travel.travel_time_matrix`), the lines and area listings that serve it,
and writes them (:mod:`gapmap.outputs.referral`): one HTML sheet per office town, one PDF of
them all, one CSV of every row, and ``offices.csv`` (every office, placed or not).

A place in a community with no all-season road lists the services in the community (time
0), then the nearest by road from its air hub, "fly to <hub>, then road".

Columns of the places table (:func:`places_from_table`, :func:`place_at`,
:func:`place_in_town`): ``place_id``, ``place``, ``detail``, ``office_kind``,
``geocode_precision``, ``geocode_note``, the region columns (``cduid``, ``cd_name``,
``opp_region``, ...), ``access`` (set by :func:`_with_access`), ``air_hub``, ``origin_id``,
and the point (``geometry``, EPSG:4326; None when unplaced).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gapmap.analysis.referral import referral_rows
from gapmap.config import Config
from gapmap.contracts import SERVICES, SERVICES_LOCATED, is_placed, read_stage
from gapmap.errors import GeocodeError, SchemaError
from gapmap.io import generated_on, read_table
from gapmap.outputs.referral import ReferralMeta, write_referral
from gapmap.sources.listings import classify_place

log = logging.getLogger(__name__)

_NAME_COLUMNS = ("name", "detachment", "office")
_TOWN_COLUMNS = ("office_town", "town", "city")


def _slug(text: str) -> str:
    from gapmap.geocode import fold

    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-") or "place"


def _as_listing_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``place_id``, ``place``, ``city``, ``address``, ``lat``, ``lon``,
    ``listing_region`` as the services table's columns, so the geocode chain places them as
    it places any listing."""
    out = pd.DataFrame({c.name: "" for c in SERVICES.columns}, index=rows.index)
    out["service_id"] = rows["place_id"]
    out["name"] = rows["place"]
    for c in ("city", "address", "listing_region"):
        out[c] = rows[c].fillna("").astype(str)
    out["lat"] = pd.to_numeric(rows["lat"], errors="coerce").astype(float)
    out["lon"] = pd.to_numeric(rows["lon"], errors="coerce").astype(float)
    out["confidential"] = False
    kinds = [classify_place(c) for c in out["city"]]
    out["place_name"] = [k[0] for k in kinds]
    out["area_name"] = [k[1] for k in kinds]
    out["place_kind"] = [k[2] for k in kinds]
    return out


def _place(rows: pd.DataFrame, config: Config) -> gpd.GeoDataFrame:
    """Geocode and locate place rows (see :func:`_as_listing_rows`)."""
    from gapmap.geocode import geocode_services
    from gapmap.regions import assign_regions

    if not len(rows):
        return gpd.GeoDataFrame(rows.assign(geocode_precision="", geocode_note="", cduid="",
                                            cd_name="", opp_region=""),
                                geometry=gpd.GeoSeries([], crs=4326))
    geo = geocode_services(_as_listing_rows(rows), config)
    located = assign_regions(geo, config)
    keep = ["geocode_precision", "geocode_note", "cduid", "cd_name", "opp_region",
            "region_confidence"]
    out = rows.drop(columns=["lat", "lon"]).copy()
    for c in keep:
        out[c] = located[c].to_numpy()
    return gpd.GeoDataFrame(out, geometry=located.geometry.to_numpy(), crs=4326)


def places_from_table(path: Path, config: Config) -> gpd.GeoDataFrame:
    """The police offices of ``path``, placed and located (module docstring).

    Raises
    ------
    SchemaError
        No name column (``name``, ``detachment`` or ``office``), or no column giving a place
        (``office_town``/``town``/``city``, ``address``, or ``lat`` and ``lon``).
    """
    t = read_table(path)
    t.columns = [str(c).strip().lower() for c in t.columns]
    name_col = next((c for c in _NAME_COLUMNS if c in t.columns), None)
    town_col = next((c for c in _TOWN_COLUMNS if c in t.columns), None)
    if name_col is None:
        raise SchemaError(f"{path}: no office name column ({', '.join(_NAME_COLUMNS)})")
    if town_col is None and "address" not in t.columns and not {"lat", "lon"} <= set(t.columns):
        raise SchemaError(f"{path}: no place column ({', '.join(_TOWN_COLUMNS)}, address, or "
                          "lat and lon)")
    blank = pd.Series("", index=t.index)
    town = t[town_col] if town_col else blank
    name = t[name_col]
    kind = t["office_kind"] if "office_kind" in t.columns else blank
    region = t["region"] if "region" in t.columns else blank
    place = np.where(town.ne("") & town.ne(name), town + " (" + name + ")", name)
    rows = pd.DataFrame({
        "place": place, "detail": name, "office_kind": kind, "city": town,
        "address": t["address"] if "address" in t.columns else blank,
        "lat": t["lat"] if "lat" in t.columns else blank,
        "lon": t["lon"] if "lon" in t.columns else blank,
        "listing_region": region.where(region.isin(_regions()), ""),
    })
    ids = [_slug(p) for p in rows["place"]]
    seen: dict[str, int] = {}
    for i, s in enumerate(ids):  # the same town and name twice: number them
        seen[s] = seen.get(s, 0) + 1
        ids[i] = s if seen[s] == 1 else f"{s}-{seen[s]}"
    rows.insert(0, "place_id", ids)
    return _place(rows, config)


def _regions() -> tuple[str, ...]:
    from gapmap.regions import OPP_REGIONS

    return OPP_REGIONS


def place_at(lat: float, lon: float, config: Config) -> gpd.GeoDataFrame:
    """One place at a point (``gapmap referral --at LAT,LON``).

    Raises
    ------
    GeocodeError
        The point is not in Ontario (with the geocoder's buffer).
    """
    from gapmap.geocode import Gazetteer
    from gapmap.regions import assign_regions

    if not Gazetteer(config).in_ontario(lat, lon):
        raise GeocodeError(f"--at {lat},{lon}: not in Ontario")
    name = f"{lat:.4f}, {lon:.4f}"
    gdf = gpd.GeoDataFrame({"place_id": [f"at-{lat:.4f}_{lon:.4f}"],
                            "place": [name], "detail": ["a point named by the analyst"],
                            "office_kind": [""], "geocode_precision": ["exact"],
                            "geocode_note": ["--at"]},
                           geometry=[shapely.Point(lon, lat)], crs=4326)
    return assign_regions(gdf, config)


def place_in_town(town: str, config: Config) -> gpd.GeoDataFrame:
    """One place at a town's point (``gapmap referral --town NAME``), placed by the geocode
    chain's town provider.

    Raises
    ------
    GeocodeError
        The town is not placed (not in the gazetteers, or ambiguous).
    """
    rows = pd.DataFrame({"place_id": [f"town-{_slug(town)}"], "place": [town],
                         "detail": ["a town named by the analyst"], "office_kind": [""],
                         "city": [town], "address": [""], "lat": [""], "lon": [""],
                         "listing_region": [""]})
    placed = _place(rows, config)
    if not is_placed(placed).iloc[0]:
        why = placed["geocode_note"].iloc[0] or placed["geocode_precision"].iloc[0]
        raise GeocodeError(f"--town {town!r}: not placed ({why}); name a town in the "
                           "gazetteer, or give --at LAT,LON")
    return placed


@dataclass(frozen=True)
class ReferralResult:
    """What the stage wrote: the files, the places with a sheet, the offices left unplaced."""

    files: list[Path]
    sheets: int
    unplaced: list[str]
    rows: int

    def summary(self) -> str:
        left = (f"; {len(self.unplaced)} office(s) unplaced, no sheet: "
                f"{', '.join(self.unplaced)}" if self.unplaced else "")
        return (f"referral: {self.sheets} sheet(s), {self.rows} rows{left}; "
                + ", ".join(f"{p.name} ({p.stat().st_size / 1e3:.0f} kB)" for p in self.files
                            if p.suffix in (".pdf", ".csv")))


def _with_access(places: gpd.GeoDataFrame, config: Config) -> gpd.GeoDataFrame:
    """``access`` (``no_all_season_road`` within ``network.fly_in_service_km`` of such a
    community, else ``road``), ``air_hub`` (that community's) and ``origin_id`` (the air
    hub's ``hub-<slug>`` for those, else the place's own id)."""
    from gapmap.demand import remote_communities
    from gapmap.travel import flag_fly_in_services, projected_xy

    remote = remote_communities(config)
    out = flag_fly_in_services(places.assign(service_id=places["place_id"]), remote,
                               within_km=config.network.fly_in_service_km
                               ).drop(columns="service_id")
    out["air_hub"] = ""
    fly = (out["access"] == "no_all_season_road").to_numpy()
    pts = remote[remote.geometry.notna()].reset_index(drop=True)
    if fly.any() and len(pts):
        from scipy.spatial import cKDTree

        _, j = cKDTree(projected_xy(pts)).query(projected_xy(out[fly]))
        out.loc[fly, "air_hub"] = pts["air_hub"].to_numpy()[j]
    out["origin_id"] = np.where(fly, "hub-" + out["air_hub"].map(_slug), out["place_id"])
    return out


def _origins(places: gpd.GeoDataFrame, config: Config) -> gpd.GeoDataFrame:
    """The points drive times start from: each road place, and each air hub a fly-in place
    flies to (placed like a town)."""
    road = places[places["access"] != "no_all_season_road"]
    own = gpd.GeoDataFrame({"demand_id": road["place_id"], "access": "road"},
                           geometry=road.geometry.to_numpy(), crs=4326)
    hubs = sorted(set(places.loc[places["access"] == "no_all_season_road", "air_hub"]) - {""})
    if not hubs:
        return own
    rows = pd.DataFrame({"place_id": ["hub-" + _slug(h) for h in hubs], "place": hubs,
                         "city": hubs, "address": "", "lat": "", "lon": "",
                         "listing_region": ""})
    hub_pts = _place(rows, config)
    hub_pts = hub_pts[is_placed(hub_pts)]
    extra = gpd.GeoDataFrame({"demand_id": hub_pts["place_id"], "access": "road"},
                             geometry=hub_pts.geometry.to_numpy(), crs=4326)
    return gpd.GeoDataFrame(pd.concat([own, extra], ignore_index=True), crs=4326)


def _in_community(places: gpd.GeoDataFrame, services: gpd.GeoDataFrame, km: float
                  ) -> pd.DataFrame:
    """(place_id, service_id) of the services with no all-season road within ``km`` of a
    place with none (a nursing station, Moosonee's hospital)."""
    from gapmap.contracts import is_fly_in
    from gapmap.network import geodesic_m

    fly_p = places[places["access"] == "no_all_season_road"]
    fly_s = services[is_fly_in(services) & is_placed(services)]
    pairs = []
    for p in fly_p.itertuples(index=False):
        d = geodesic_m(np.full(len(fly_s), p.geometry.x), np.full(len(fly_s), p.geometry.y),
                       fly_s.geometry.x.to_numpy(), fly_s.geometry.y.to_numpy())
        pairs += [(p.place_id, s) for s in fly_s["service_id"].to_numpy()[d <= km * 1000]]
    return pd.DataFrame(pairs, columns=["place_id", "service_id"])


def _drive_times(places: gpd.GeoDataFrame, services: gpd.GeoDataFrame, config: Config
                 ) -> tuple[pd.DataFrame, dict[str, str]]:
    """Drive times from every origin to every service (long form, ``origin_id``), and the
    travel ``access`` of each origin (road, estimate, beyond_road_network)."""
    from gapmap.network import RoadGraph
    from gapmap.pipeline import StagePaths
    from gapmap.travel import TravelEngine, travel_time_matrix

    p = StagePaths.of(config)
    origins = _origins(places, config)
    engine = TravelEngine(RoadGraph.load(p.nodes, p.edges), config.network)
    matrix = travel_time_matrix(engine, origins, services)
    access = dict(zip(matrix.demand_id, matrix.demand_access, strict=True))
    times = matrix.to_frame().rename(columns={"demand_id": "origin_id"})
    return times, access


def build_referral(places: gpd.GeoDataFrame, config: Config, *, folder: Path,
                   basename: str, per_place_html: bool) -> ReferralResult:
    """Write the referral files for ``places`` (placed ones; the others are reported)."""
    from gapmap import __version__
    from gapmap.demand import remote_communities
    from gapmap.pipeline import StagePaths
    from gapmap.travel import flag_fly_in_services

    placed_mask = is_placed(places) if len(places) else pd.Series([], dtype=bool)
    unplaced = places.loc[~placed_mask, "place"].tolist() if len(places) else []
    for name in unplaced:
        log.warning("police office %s: not placed, no referral sheet", name)
    placed = _with_access(places[placed_mask.to_numpy()].reset_index(drop=True), config)
    services = flag_fly_in_services(
        read_stage(StagePaths.of(config).located, SERVICES_LOCATED), remote_communities(config),
        within_km=config.network.fly_in_service_km)
    times, access = _drive_times(placed, services, config)
    placed["access"] = [a if a == "no_all_season_road" else access.get(i, a)
                        for i, a in zip(placed["place_id"], placed["access"], strict=True)]
    settings = config.referral
    today = pd.Timestamp(generated_on()).date()
    rows = referral_rows(placed, services, times, config.need_types,
                         per_need=settings.services_per_need, today=today,
                         stale_after_days=settings.stale_after_days,
                         in_community=_in_community(placed, services,
                                                    config.network.fly_in_service_km))
    meta = ReferralMeta(run_name=config.name, generated=today.isoformat(),
                        version=__version__, fingerprint=config.fingerprint(),
                        data_vintage=config.data_vintage,
                        stale_after_days=settings.stale_after_days)
    files = write_referral(rows, placed, folder, need_types=config.need_types,
                           basename=basename, meta=meta,
                           language=settings.language, browser=settings.browser,
                           per_place_html=per_place_html)
    sheets = len(placed) * (2 if settings.language == "both" else 1)
    return ReferralResult(files, sheets, unplaced, len(rows))


OFFICE_COLUMNS: tuple[str, ...] = (
    "place_id", "place", "detail", "office_kind", "city", "placed", "geocode_precision",
    "geocode_note", "cduid", "cd_name", "opp_region", "lat", "lon")
"""The columns of ``offices.csv``: every police office and how it was placed."""


def write_office_sheets(config: Config) -> ReferralResult:
    """The stage: a sheet per placed police office town in the run's scope, the PDF of them
    all, the CSV of every row, and ``offices.csv`` (every office and how it was placed)."""
    from gapmap.io import write_csv
    from gapmap.regions import serves_region, within_scope

    folder = config.outputs.referral_dir
    offices = places_from_table(config.inputs.police_offices, config)
    if len(offices):
        offices = within_scope(offices, config)
        if config.opp_regions_in_scope:
            keep = np.zeros(len(offices), dtype=bool)
            for region in config.opp_regions_in_scope:
                keep |= serves_region(offices["opp_region"], region).to_numpy()
            offices = offices[keep | ~is_placed(offices).to_numpy()].reset_index(drop=True)
    table = pd.DataFrame(offices.drop(columns="geometry"))
    table["placed"] = is_placed(offices).to_numpy() if len(offices) else []
    table["lat"] = [g.y if g is not None and not g.is_empty else np.nan
                    for g in offices.geometry]
    table["lon"] = [g.x if g is not None and not g.is_empty else np.nan
                    for g in offices.geometry]
    write_csv(table.reindex(columns=list(OFFICE_COLUMNS)), folder / "offices.csv")
    result = build_referral(offices, config, folder=folder, basename="referral_sheets",
                            per_place_html=True)
    return ReferralResult([*result.files, folder / "offices.csv"], result.sheets,
                          result.unplaced, result.rows)


def write_lookup_sheet(config: Config, *, at: tuple[float, float] | None = None,
                       town: str | None = None) -> ReferralResult:
    """One sheet for a point or a town an analyst names, under ``<referral_dir>/lookup/``:
    ``<place_id>.html``, ``.pdf`` and ``.csv``."""
    if (at is None) == (town is None):
        raise ValueError("give exactly one of at and town")
    place = place_at(*at, config) if at is not None else place_in_town(str(town), config)
    pid = str(place["place_id"].iloc[0])
    return build_referral(place, config, folder=config.outputs.referral_dir / "lookup",
                          basename=pid, per_place_html=False)
