"""Plan: the stage that measures capacity-aware access, suggests where to add a service, and
compares a scenario with the baseline.

It builds drive-time matrices with the travel engine (:func:`gapmap.travel.travel_time_matrix`,
never a second router) and turns the :class:`~gapmap.config.Config` into the plain arguments
of the measures in :mod:`gapmap.analysis.fca` and :mod:`gapmap.analysis.location`.

:func:`access_by_community` (``access_by_community.csv``), per demand point and need type:
``demand_id``, ``name``, ``census_code``, ``opp_region``, ``need_type``, ``pop2021``,
``threshold_min``, ``services_within`` (services of the need within the threshold),
``access_2sfca`` and ``access_e2sfca`` (supply per ``access.per_population`` people, see
:mod:`gapmap.analysis.fca`), ``supply_basis`` (``capacity`` or ``one unit per service``).

:func:`suggestions` (``suggestions.csv``), per need type x OPP region x method (``exact``,
``greedy``) x rank: ``site`` (the candidate's name), ``site_kind`` (``town``,
``detachment``, ``file``), ``cd_name``, ``lat``, ``lon``, ``pop_added`` (people newly within
the threshold, after the sites ranked before it), ``pop_added_alone``, ``pop2021`` (the
region's), ``pct_covered_before``, ``pct_covered_after`` (with this site and those before
it), ``services_placed``, ``services_not_placed`` (area-level or unplaced),
``services_coarse`` (placed at town level or coarser, or disagreeing with their own town),
``caveat`` (:func:`gapmap.analysis.location.suggestion_caveat`).

:func:`scenario_compare` (``scenario_compare.csv``), per OPP region (and total) x need:
``opp_region``, ``need_type``, ``threshold_min``, ``pop2021``, ``pop_covered_before``,
``pop_covered_after``, ``pct_covered_before``, ``pct_covered_after``, ``pop_change``,
``services_placed_before``, ``services_placed_after``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.analysis.coverage import coverage_by_region
from gapmap.analysis.fca import band_weight, gaussian_weight, supply_units, two_stage_fca
from gapmap.analysis.location import (
    DataQuality,
    coverage_matrix,
    mclp_exact,
    mclp_greedy,
    site_gains,
    suggestion_caveat,
)
from gapmap.config import Config
from gapmap.contracts import TIMED_ACCESS, counts_by_road
from gapmap.errors import SchemaError
from gapmap.gaps import regions, thresholds, total_label
from gapmap.io import read_table, require_columns
from gapmap.taxonomy import offers
from gapmap.travel import TravelEngine, TravelMatrix, nearest_service_times, travel_time_matrix

log = logging.getLogger(__name__)


# -- capacity-aware access -------------------------------------------------------------------


def access_by_community(matrix: TravelMatrix, demand: pd.DataFrame, services: pd.DataFrame,
                        config: Config) -> pd.DataFrame:
    """2SFCA and E2SFCA per community and need (module docstring). ``matrix`` is demand x
    ``services`` (rows and columns in the frames' order)."""
    s = config.access
    pop = demand["pop2021"].to_numpy(float)
    road = counts_by_road(services).to_numpy()
    parts = []
    for need, limit in thresholds(config).items():
        cols = offers(services["need_types"], need).to_numpy() & road
        cost = matrix.travel_min[:, cols]
        supply, basis = supply_units(services[cols])
        weight = (band_weight(limit, s.band_weights) if s.decay == "bands"
                  else gaussian_weight(limit))
        parts.append(pd.DataFrame({
            "demand_id": demand["demand_id"].to_numpy(), "name": demand["name"].to_numpy(),
            "census_code": demand["census_code"].to_numpy(),
            "opp_region": demand["opp_region"].to_numpy(), "need_type": need,
            "pop2021": demand["pop2021"].to_numpy(), "threshold_min": limit,
            "services_within": coverage_matrix(cost, limit).sum(axis=1),
            "access_2sfca": s.per_population * two_stage_fca(cost, pop, supply,
                                                            max_min=limit),
            "access_e2sfca": s.per_population * two_stage_fca(cost, pop, supply,
                                                             max_min=limit, weight=weight),
            "supply_basis": basis}))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    for c in ("access_2sfca", "access_e2sfca"):
        if c in out:
            out[c] = out[c].round(4)
    return out


# -- the capacity-weighted variant (Toronto's shelter beds) ----------------------------------

CAPACITY_LABEL = ("Toronto shelter beds and rooms open on 20 March 2024 (City of Toronto, all "
                  "sectors: not only beds for survivors), locations at their postal FSA")


def shelter_locations(config: Config) -> gpd.GeoDataFrame:
    """The shelter locations of ``inputs.shelter_capacity`` as services with a capacity:
    ``service_id``, ``name``, ``capacity`` (beds + rooms), ``geocode_precision`` (``fsa``,
    or ``town`` for a location with no postal code: Toronto's point), ``geometry``."""
    from gapmap.geocode import Gazetteer

    path = config.inputs.shelter_capacity
    if path is None:
        raise SchemaError("inputs.shelter_capacity is off")
    t = read_table(path)
    require_columns(t, ["LOCATION_ID", "LOCATION_NAME", "LOCATION_POSTAL_CODE", "beds_actual",
                        "rooms_actual"], str(path))
    fsa: dict[str, tuple[float, float]] = {}
    for fpath in (config.inputs.fsa_geonames, config.inputs.fsa_statcan):  # StatCan wins
        f = read_table(fpath)
        fsa.update({r.fsa.strip().upper(): (float(r.lat), float(r.lon))
                    for r in f.itertuples() if r.lat and r.lon})
    town = Gazetteer(config).town("Toronto").place
    if town is None:
        raise SchemaError("Toronto is not in the gazetteer")
    code = t["LOCATION_POSTAL_CODE"].fillna("").astype(str).str.strip().str[:3].str.upper()
    at = [fsa.get(c) for c in code]
    cap = (pd.to_numeric(t["beds_actual"], errors="coerce").fillna(0)
           + pd.to_numeric(t["rooms_actual"], errors="coerce").fillna(0))
    return gpd.GeoDataFrame({
        "service_id": "shelter-" + t["LOCATION_ID"].astype(str),
        "name": t["LOCATION_NAME"].fillna("").astype(str), "capacity": cap.to_numpy(),
        "geocode_precision": ["fsa" if a else "town" for a in at]},
        geometry=gpd.points_from_xy([a[1] if a else town.lon for a in at],
                                    [a[0] if a else town.lat for a in at]), crs=4326)


def capacity_access(engine: TravelEngine, demand: gpd.GeoDataFrame, config: Config
                    ) -> pd.DataFrame | None:
    """2SFCA and E2SFCA of shelter beds and rooms for the demand in
    ``access.capacity_division`` (None when the run has no demand there or the file is off).

    Columns: ``demand_id``, ``name``, ``census_code``, ``pop2021``, ``threshold_min``,
    ``locations_within``, ``capacity_within`` (beds and rooms within the threshold),
    ``access_2sfca``, ``access_e2sfca`` (beds and rooms per ``access.per_population``
    people), ``supply`` (:data:`CAPACITY_LABEL`).
    """
    s = config.access
    here = demand[(demand["cduid"] == s.capacity_division).to_numpy()].reset_index(drop=True)
    if config.inputs.shelter_capacity is None or not len(here):
        return None
    shelters = shelter_locations(config)
    limit = s.capacity_threshold_min
    cost = travel_time_matrix(engine, here, shelters, limit_min=limit).travel_min
    pop, cap = here["pop2021"].to_numpy(float), shelters["capacity"].to_numpy(float)
    weight = (band_weight(limit, s.band_weights) if s.decay == "bands"
              else gaussian_weight(limit))
    within = coverage_matrix(cost, limit)
    return pd.DataFrame({
        "demand_id": here["demand_id"], "name": here["name"],
        "census_code": here["census_code"], "pop2021": here["pop2021"],
        "threshold_min": limit, "locations_within": within.sum(axis=1),
        "capacity_within": (within * cap).sum(axis=1).round(0).astype(int),
        "access_2sfca": (s.per_population * two_stage_fca(cost, pop, cap, max_min=limit)
                         ).round(2),
        "access_e2sfca": (s.per_population * two_stage_fca(cost, pop, cap, max_min=limit,
                                                           weight=weight)).round(2),
        "supply": CAPACITY_LABEL})


# -- candidate sites -------------------------------------------------------------------------


def candidate_sites(config: Config) -> gpd.GeoDataFrame:
    """The candidate sites of ``suggest.candidates`` in the run's scope (its OPP regions and
    census divisions), with their census division and OPP region: columns ``service_id``
    (``site-<n>``), ``name``, ``site_kind``, ``geocode_precision`` (``town``), ``geometry``
    and the region columns."""
    from gapmap.regions import assign_regions, within_scope

    s = config.suggest
    if s.candidates == "towns":
        path = config.inputs.places_geonames
        t = read_table(path)
        require_columns(t, ["name", "lat", "lon", "population"], str(path))
        t = t[pd.to_numeric(t["population"], errors="coerce").fillna(0)
              >= s.min_town_population]
        names, lat, lon = t["name"], t["lat"], t["lon"]
    elif s.candidates == "detachments":
        names, lat, lon = _detachment_towns(config)
    else:
        if s.candidates_path is None:  # the settings refuse this; a config built in code
            raise SchemaError('suggest.candidates = "file" needs suggest.candidates_path')
        t = read_table(s.candidates_path)
        require_columns(t, ["name", "lat", "lon"], str(s.candidates_path))
        names, lat, lon = t["name"], t["lat"], t["lon"]
    y, x = pd.to_numeric(pd.Series(lat), errors="coerce"), pd.to_numeric(pd.Series(lon),
                                                                          errors="coerce")
    if y.isna().any() or x.isna().any():
        raise SchemaError(f"suggest.candidates = {s.candidates!r}: a site with no point")
    kind = {"towns": "town", "detachments": "detachment", "file": "file"}[s.candidates]
    gdf = gpd.GeoDataFrame({
        "service_id": [f"site-{i}" for i in range(len(x))],
        "name": pd.Series(names).astype(str).to_numpy(), "site_kind": kind,
        "geocode_precision": "town"}, geometry=gpd.points_from_xy(x, y), crs=4326)
    gdf = within_scope(assign_regions(gdf.drop_duplicates("name"), config), config)
    return gdf[gdf["opp_region"].isin(regions(config)).to_numpy()].reset_index(drop=True)


def _detachment_towns(config: Config) -> tuple[list[str], list[float], list[float]]:
    """The OPP detachment office towns, placed at their town by the gazetteer (a town it
    does not know is left out and logged)."""
    from gapmap.geocode import Gazetteer

    path = config.inputs.police_offices
    t = read_table(path)
    require_columns(t, ["office_town"], str(path))
    gaz = Gazetteer(config)
    names, lat, lon = [], [], []
    for town in dict.fromkeys(t["office_town"].astype(str).str.strip()):
        m = gaz.town(town)
        if m.place is None:
            log.warning("%s: office town %r not found in the gazetteer; left out", path, town)
            continue
        names.append(town)
        lat.append(m.place.lat)
        lon.append(m.place.lon)
    return names, lat, lon


# -- where to add a service ------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    need: str
    region: str
    limit: float
    rows: np.ndarray  # demand rows in the region
    sites: np.ndarray  # candidate columns in the region


def covered_now(travel: pd.DataFrame, demand: pd.DataFrame, need: str, limit: float
                ) -> np.ndarray:
    """True for each demand point (in ``demand``'s order) whose nearest service of ``need``
    is within ``limit`` by road."""
    t = travel[travel["need_type"] == need].set_index("demand_id").reindex(demand["demand_id"])
    return (t["access"].isin(TIMED_ACCESS) & (t["travel_min"] <= limit)).to_numpy()


def suggestions(travel: pd.DataFrame, demand: pd.DataFrame, services: pd.DataFrame,
                sites: gpd.GeoDataFrame, site_matrix: TravelMatrix, config: Config
                ) -> pd.DataFrame:
    """The sites that add the most covered people, per need and region (module docstring)."""
    k = config.suggest.sites
    pop = demand["pop2021"].to_numpy(float)
    rows = []
    for need, limit in thresholds(config).items():
        now = covered_now(travel, demand, need, limit)
        for region in regions(config):
            p = _Problem(need, region, limit,
                         np.nonzero((demand["opp_region"] == region).to_numpy())[0],
                         np.nonzero((sites["opp_region"] == region).to_numpy())[0])
            rows.extend(_suggest(p, pop, now, services, sites, site_matrix, k, config))
    return pd.DataFrame(rows)


def _suggest(p: _Problem, pop: np.ndarray, now: np.ndarray, services: pd.DataFrame,
             sites: gpd.GeoDataFrame, site_matrix: TravelMatrix, k: int, config: Config
             ) -> list[dict[str, object]]:
    weights = np.where(now[p.rows], 0.0, pop[p.rows])
    covers = coverage_matrix(site_matrix.travel_min[np.ix_(p.rows, p.sites)], p.limit)
    total = float(pop[p.rows].sum())
    before = float(pop[p.rows][now[p.rows]].sum())
    quality = DataQuality.of(services, p.need, p.region)
    out: list[dict[str, object]] = []
    for method, solve in (("exact", mclp_exact), ("greedy", mclp_greedy)):
        covered = before
        for rank, (j, added, alone) in enumerate(site_gains(covers, weights,
                                                            solve(covers, weights, k)), 1):
            site = sites.iloc[p.sites[j]]
            covered += added
            out.append({
                "need_type": p.need, "opp_region": p.region, "method": method, "rank": rank,
                "site": site["name"], "site_kind": site["site_kind"],
                "cd_name": site["cd_name"], "lat": round(site.geometry.y, 5),
                "lon": round(site.geometry.x, 5), "threshold_min": p.limit,
                "pop_added": int(round(added)), "pop_added_alone": int(round(alone)),
                "pop2021": int(total),
                "pct_covered_before": round(100 * before / total, 1) if total else np.nan,
                "pct_covered_after": round(100 * covered / total, 1) if total else np.nan,
                "services_placed": quality.placed, "services_not_placed": quality.not_placed,
                "services_coarse": quality.coarse,
                "caveat": suggestion_caveat(quality, site_cduid=str(site["cduid"]),
                                            site_cd_name=str(site["cd_name"]),
                                            thin_below=config.suggest.thin_listings_below,
                                            coarse_share_above=(
                                                config.suggest.unverified_share_above))})
    return out


# -- scenarios -------------------------------------------------------------------------------


def scenario_services(services: gpd.GeoDataFrame, config: Config) -> gpd.GeoDataFrame:
    """The services of the scenario: the run's, less ``scenario.remove``, plus the rows of
    ``scenario.add`` (``id``, ``name``, ``need_types``, ``lat``, ``lon``; ``city``
    optional), placed at their point and given their region."""
    from gapmap.regions import assign_regions

    sc = config.scenario
    unknown = sorted(set(sc.remove) - set(services["service_id"]))
    if unknown:
        raise SchemaError(f"{config.path}: scenario.remove names unknown service ids: "
                          f"{', '.join(unknown[:5])}")
    kept = services[~services["service_id"].isin(sc.remove)]
    if sc.add is None:
        return kept
    t = read_table(sc.add)
    require_columns(t, ["id", "name", "need_types", "lat", "lon"], str(sc.add))
    lat, lon = pd.to_numeric(t["lat"], errors="coerce"), pd.to_numeric(t["lon"],
                                                                         errors="coerce")
    if lat.isna().any() or lon.isna().any():
        raise SchemaError(f"{sc.add}: every added service needs a lat and a lon")
    clash = sorted(set(t["id"]) & set(services["service_id"]))
    if clash:
        raise SchemaError(f"{sc.add}: id {clash[0]!r} is already a service of the run")
    added = gpd.GeoDataFrame({
        "service_id": t["id"], "name": t["name"], "need_types": t["need_types"],
        "city": t["city"] if "city" in t.columns else "", "geocode_precision": "exact",
        "confidential": False}, geometry=gpd.points_from_xy(lon, lat), crs=4326)
    added = assign_regions(added, config)
    return pd.concat([kept, added], ignore_index=True)


def scenario_compare(travel_before: pd.DataFrame, travel_after: pd.DataFrame,
                     demand: pd.DataFrame, before: pd.DataFrame, after: pd.DataFrame,
                     config: Config) -> pd.DataFrame:
    """Coverage per region and need before and after the scenario (module docstring)."""
    limits, where, label = thresholds(config), regions(config), total_label(config)
    b = coverage_by_region(travel_before, demand, before, thresholds_min=limits,
                           regions=where, total_label=label)
    a = coverage_by_region(travel_after, demand, after, thresholds_min=limits, regions=where,
                           total_label=label)
    key = ["opp_region", "need_type"]
    m = b.merge(a, on=key, suffixes=("_before", "_after"), validate="1:1")
    return pd.DataFrame({
        "opp_region": m["opp_region"], "need_type": m["need_type"],
        "threshold_min": m["threshold_min_before"], "pop2021": m["pop2021_before"],
        "pop_covered_before": m["pop_covered_before"],
        "pop_covered_after": m["pop_covered_after"],
        "pct_covered_before": m["pct_covered_before"],
        "pct_covered_after": m["pct_covered_after"],
        "pop_change": m["pop_covered_after"] - m["pop_covered_before"],
        "services_placed_before": m["services_placed_before"],
        "services_placed_after": m["services_placed_after"]})


def scenario_travel(engine: TravelEngine, demand: gpd.GeoDataFrame,
                    services: gpd.GeoDataFrame, config: Config) -> pd.DataFrame:
    """The nearest-service times with the scenario's services."""
    return nearest_service_times(engine, demand, services, config.need_types)


__all__ = ["access_by_community", "candidate_sites", "capacity_access", "covered_now",
           "scenario_compare", "scenario_services", "scenario_travel", "shelter_locations",
           "suggestions", "travel_time_matrix"]
