"""Coverage measures: pure functions over the travel table, the demand points and the
services, with plain arguments (thresholds per need, the regions to report, the total row's
label). A five-row test needs no config; :mod:`gapmap.gaps` is the stage that turns a
:class:`~gapmap.config.Config` into these arguments. The travel table is
:mod:`gapmap.travel`'s, the demand points :mod:`gapmap.demand`'s.

:func:`coverage_by_region` returns one row per OPP region and need type, plus a total row
per need type over everyone in the run, with columns ``opp_region``, ``need_type``,
``threshold_min``, ``pop2021`` (everyone in the region), ``pop_covered`` (a drive within the
threshold), ``pct_covered``, ``pop_covered_estimate`` (covered, but the time relies on a long
connector), ``pop_outside`` (a road, but farther than the threshold or unreachable),
``pop_no_all_season_road``, ``pop_beyond_road_network``, ``points_not_enumerated`` (reserves
counted as 0 in 2021: their people are missing from every figure), ``services_placed`` and
``services_area_level`` (listed for the region but on no point: they count for no coverage).

Then the reach by kind (:mod:`gapmap.analysis.access`), five columns that sum to
``pop2021``, never added into one another: ``pop_in_person`` (in person within the
threshold, or a service inside a fly-in community; for a need in ``need_24_7`` only
services open 24/7 count), ``pop_outreach_only`` (not in person, but in an outreach
service's area), ``pop_line_only`` (neither, but in a line's area: phone, text, video),
``pop_hours_unknown`` (a 24/7 need whose best reach is by services of unknown hours) and
``pop_not_reached``; ``requires_24_7`` says whether the rule applied. The same five with
``_for_group`` count only the services whose eligibility admits ``for_group`` (unknown
eligibility counts). Then the services of the need in the region:
``services_delivery_unknown`` (delivery not stated: counted in person where placed),
``services_outreach``, ``services_virtual``, ``services_hours_unknown``,
``services_eligibility_unknown``, ``services_exclude_group``.

The total row's ``opp_region`` is the ``total_label`` argument (the stage passes
:func:`gapmap.gaps.total_label`: ``Ontario``, or e.g. ``ottawa (census division 3506)``).

:func:`coverage_in_depth` is the long coverage table (``coverage.csv``): one row per OPP
region (and the total) x need type x drive time (``thresholds_min``, default 30/60/90, and the
need's own threshold, marked ``need_threshold``), with one column group per *access kind*
(:data:`ACCESS_KINDS`: ``in_person`` today, by road; outreach and virtual reach are added as
``pop_<kind>`` / ``pct_<kind>`` columns when listings say how a service is delivered, never
inside the in-person figure), and the population-weighted mean and 90th percentile of the
drive time to the nearest service over the people who have one.

:func:`gap_communities` lists the demand points outside the threshold, ranked within each
region and need type by the *gap score*: population x minutes beyond the threshold (points
with no drive time, e.g. no all-season road, after those with one, by population).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from gapmap.analysis.access import admits, hours_known
from gapmap.analysis.names import census_code
from gapmap.contracts import (
    ACCESS_VALUES,
    COVERAGE,
    COVERAGE_DEPTH,
    GAP_COMMUNITIES,
    TIMED_ACCESS,
    access_text,
    delivery_has,
    delivery_unknown,
    is_placed,
)
from gapmap.regions import serves_region
from gapmap.taxonomy import offers

COVERAGE_COLUMNS = COVERAGE.names
"""The coverage table's columns, declared in :data:`gapmap.contracts.COVERAGE`."""

ACCESS_KINDS: tuple[str, ...] = ("in_person", "outreach_only", "line_only")
"""The access kinds the long coverage table reports, a ``pop_<kind>`` and ``pct_<kind>``
column each: in person within the drive time; not in person but by outreach over the
service's area; by neither but by a line (phone, text, video). Never added together."""


def _with_demand(travel: pd.DataFrame, demand: pd.DataFrame,
                 thresholds_min: Mapping[str, float]) -> pd.DataFrame:
    cols = ["demand_id", "name", "census_code", "kind", "pop2021", "opp_region", "cd_name",
            "enumerated", "air_hub", "remote_community"]
    if "census_code" not in demand.columns:  # demand points not yet named
        demand = demand.assign(census_code=census_code(demand))
    t = travel.merge(pd.DataFrame(demand[cols]), on="demand_id", how="left", validate="m:1")
    t["threshold_min"] = t["need_type"].map(_threshold_of(thresholds_min)).astype(float)
    t["covered"] = t["access"].isin(TIMED_ACCESS) & (t["travel_min"] <= t["threshold_min"])
    return t


def _threshold_of(thresholds_min: Mapping[str, float]) -> Callable[[str], float]:
    """The threshold of a need type; a need without one is an error, not a default."""

    def of(need: str) -> float:
        try:
            return float(thresholds_min[need])
        except KeyError:
            raise ValueError(f"no threshold given for need type {need!r}") from None
    return of


def _reach_words(t: pd.DataFrame, reach: pd.DataFrame | None) -> pd.DataFrame:
    """``t`` (:func:`_with_demand`) with ``reached_by`` and ``reached_by_group`` from
    ``reach`` (:func:`gapmap.analysis.access.reach_with_rules`); without it, in person
    where covered, else none (no outreach or line known)."""
    if reach is None:
        word = np.where(t["covered"], "in_person", "none")
        return t.assign(reached_by=word, reached_by_group=word, outreach=False, line=False)
    cols = ["demand_id", "need_type", "reached_by", "reached_by_group", "outreach", "line"]
    out = t.merge(reach[cols], on=["demand_id", "need_type"], how="left", validate="1:1")
    for c in ("reached_by", "reached_by_group"):
        out[c] = out[c].fillna("none")
    for c in ("outreach", "line"):
        out[c] = out[c].fillna(False).astype(bool)
    return out


def _kind_columns(pop: pd.Series, word: pd.Series, suffix: str = "") -> dict[str, int]:
    """The population per reach word (:data:`gapmap.analysis.access.REACHED_BY`), one
    column each, summing to ``pop``'s total."""
    names = {"in_person": "pop_in_person", "outreach": "pop_outreach_only",
             "line": "pop_line_only", "hours_unknown": "pop_hours_unknown",
             "none": "pop_not_reached"}
    return {col + suffix: int(pop[word == w].sum()) for w, col in names.items()}


def coverage_by_region(travel: pd.DataFrame, demand: pd.DataFrame, services: pd.DataFrame,
                       *, thresholds_min: Mapping[str, float], regions: Sequence[str],
                       total_label: str = "Ontario",
                       need_types: Sequence[str] | None = None,
                       reach: pd.DataFrame | None = None, need_24_7: Sequence[str] = (),
                       group: str = "women_with_children") -> pd.DataFrame:
    """Population coverage per OPP region and need type (see the module docstring).

    ``thresholds_min`` gives each need type's threshold; ``regions`` the OPP regions to
    report (a row each), ``total_label`` the ``opp_region`` of each need's total row over
    every demand point; ``need_types`` (default: the keys of ``thresholds_min``) their order.
    ``reach`` (:func:`gapmap.analysis.access.reach_with_rules`, run with ``need_24_7`` and
    ``group``) gives the columns by kind; without it only in-person reach is known.
    """
    t = _reach_words(_with_demand(travel, demand, thresholds_min), reach)
    threshold = _threshold_of(thresholds_min)
    placed = is_placed(services)
    unknown_delivery = delivery_unknown(services)
    outreach, virtual = delivery_has(services, "outreach"), delivery_has(services, "virtual")
    _, hours_unknown = hours_known(services)
    verdict = admits(services, group)
    rows = []
    everyone = total_label
    for need in (list(thresholds_min) if need_types is None else need_types):
        tn = t[t["need_type"] == need]
        has_need = offers(services["need_types"], need)
        for region in [*regions, None]:  # None: the total row
            sel = tn if region is None else tn[tn["opp_region"] == region]
            in_region = (pd.Series(True, index=services.index) if region is None
                         else serves_region(services["opp_region"], region))
            pop = sel["pop2021"]
            total = int(pop.sum())
            covered = int(pop[sel["covered"]].sum())
            mine = has_need & in_region
            rows.append({
                "opp_region": region or everyone, "need_type": need,
                "threshold_min": threshold(need), "pop2021": total,
                "pop_covered": covered,
                "pct_covered": round(100 * covered / total, 1) if total else np.nan,
                "pop_covered_estimate": int(pop[sel["covered"]
                                                & (sel["access"] == "estimate")].sum()),
                "pop_outside": int(pop[~sel["covered"] & sel["access"].isin(
                    ["road", "estimate", "unreachable", "no_service"])].sum()),
                "pop_no_all_season_road": int(pop[sel["access"] == "no_all_season_road"].sum()),
                "pop_beyond_road_network": int(pop[sel["access"] == "beyond_road_network"].sum()),
                "points_not_enumerated": int((~sel["enumerated"].astype(bool)).sum()),
                "services_placed": int((has_need & placed & in_region).sum()),
                "services_area_level": int((has_need & ~placed & in_region).sum()),
                "requires_24_7": need in need_24_7,
                **_kind_columns(pop, sel["reached_by"]),
                "for_group": group,
                **_kind_columns(pop, sel["reached_by_group"], "_for_group"),
                "services_delivery_unknown": int((mine & unknown_delivery).sum()),
                "services_outreach": int((mine & outreach).sum()),
                "services_virtual": int((mine & virtual).sum()),
                "services_hours_unknown": int((mine & hours_unknown).sum()),
                "services_eligibility_unknown": int((mine & (verdict == "unknown")).sum()),
                "services_exclude_group": int((mine & (verdict == "no")).sum()),
            })
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q`` quantile of ``values`` weighted by ``weights``: the smallest value whose
    cumulative weight reaches ``q`` of the total (NaN when the weights sum to 0)."""
    v, w = np.asarray(values, float), np.asarray(weights, float)
    if not len(v) or w.sum() <= 0:
        return float("nan")
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cum, q * cum[-1] - 1e-9 * cum[-1])])


def coverage_in_depth(travel: pd.DataFrame, demand: pd.DataFrame, services: pd.DataFrame, *,
                      thresholds_min: Mapping[str, float], depth_min: Sequence[float],
                      regions: Sequence[str], total_label: str = "Ontario",
                      reach: pd.DataFrame | None = None) -> pd.DataFrame:
    """The long coverage table (see the module docstring; columns in
    :data:`gapmap.contracts.COVERAGE_DEPTH`).

    ``thresholds_min`` gives each need type's own threshold (its order is the table's),
    ``depth_min`` the drive times every need is also reported at; ``reach``
    (:func:`gapmap.analysis.access.reach_with_rules`) the outreach and line reach, for
    anyone at any hours (without it, none is known).
    """
    t = _reach_words(_with_demand(travel, demand, thresholds_min), reach)
    timed = t["access"].isin(TIMED_ACCESS) & t["travel_min"].notna()
    placed = is_placed(services)
    rows = []
    for need, own in thresholds_min.items():
        tn, timed_n = t[t["need_type"] == need], timed[t["need_type"] == need]
        has_need = offers(services["need_types"], need)
        limits = sorted({float(x) for x in depth_min} | {float(own)})
        for region in [*regions, None]:
            in_r = slice(None) if region is None else (tn["opp_region"] == region).to_numpy()
            sel, ok = tn[in_r], timed_n[in_r]
            in_region = (pd.Series(True, index=services.index) if region is None
                         else serves_region(services["opp_region"], region))
            pop = sel["pop2021"]
            total = int(pop.sum())
            times, w = sel.loc[ok, "travel_min"].to_numpy(float), pop[ok].to_numpy(float)
            mean = float(np.average(times, weights=w)) if w.sum() > 0 else np.nan
            p90 = weighted_quantile(times, w, 0.9)
            for limit in limits:
                within = ok & (sel["travel_min"] <= limit)
                covered = int(pop[within].sum())
                by_outreach = int(pop[~within & sel["outreach"]].sum())
                by_line = int(pop[~within & ~sel["outreach"] & sel["line"]].sum())
                rows.append({
                    "opp_region": region or total_label, "need_type": need,
                    "threshold_min": limit, "need_threshold": limit == float(own),
                    "pop2021": total, "pop_in_person": covered,
                    "pct_in_person": _pct(covered, total),
                    "pop_outreach_only": by_outreach,
                    "pct_outreach_only": _pct(by_outreach, total),
                    "pop_line_only": by_line, "pct_line_only": _pct(by_line, total),
                    "pop_estimate": int(pop[within & (sel["access"] == "estimate")].sum()),
                    "pop_no_all_season_road": int(
                        pop[sel["access"] == "no_all_season_road"].sum()),
                    "pop_beyond_road_network": int(
                        pop[sel["access"] == "beyond_road_network"].sum()),
                    "pop_no_time": int(pop[~ok].sum()),
                    "mean_travel_min": round(mean, 1), "p90_travel_min": round(p90, 1),
                    "points_not_enumerated": int((~sel["enumerated"].astype(bool)).sum()),
                    "services_placed": int((has_need & placed & in_region).sum()),
                    "services_area_level": int((has_need & ~placed & in_region).sum()),
                })
    return pd.DataFrame(rows, columns=COVERAGE_DEPTH.names)


def _pct(part: int, total: int) -> float:
    return round(100 * part / total, 1) if total else np.nan


def gap_communities(travel: pd.DataFrame, demand: pd.DataFrame, *,
                    thresholds_min: Mapping[str, float],
                    services: pd.DataFrame | None = None,
                    reach: pd.DataFrame | None = None) -> pd.DataFrame:
    """Demand points outside each need's threshold, ranked within region and need by the
    gap score (module docstring).

    Columns (:data:`gapmap.contracts.GAP_COMMUNITIES`): ``need_type``, ``opp_region``,
    ``rank``, ``demand_id``, ``name`` (:mod:`gapmap.analysis.names`), ``census_code``,
    ``kind``, ``cd_name``, ``pop2021``, ``enumerated``, ``travel_min``, ``threshold_min``,
    ``minutes_beyond``, ``gap_score`` (people x minutes; NaN with no drive time),
    ``service_id`` (nearest, if any), ``service_name`` and ``service_town`` (from
    ``services``; the town only, also for a confidential service), ``access``, ``air_hub``,
    ``note``, ``reached_by``: what reaches the community instead, for anyone at any hours
    (``outreach``, ``line`` or ``none``; from ``reach``,
    :func:`gapmap.analysis.access.reach_with_rules`; ``none`` without it).
    """
    t = _reach_words(_with_demand(travel, demand, thresholds_min), reach)
    t["reached_by"] = np.select([t["outreach"], t["line"]], ["outreach", "line"], "none")
    g = t[~t["covered"]].copy()
    g["minutes_beyond"] = (g["travel_min"] - g["threshold_min"]).where(
        g["access"].isin(TIMED_ACCESS))
    g["gap_score"] = (g["pop2021"] * g["minutes_beyond"]).round(0)
    g["service_name"], g["service_town"] = _nearest_service_names(g["service_id"], services)
    notes = {a: access_text(a) for a in ACCESS_VALUES}
    g["note"] = g["access"].map(notes).fillna("")
    g.loc[~g["enumerated"].astype(bool), "note"] = (
        g["note"] + "; not enumerated in 2021 (population unknown, not zero)").str.lstrip("; ")
    hub = g["air_hub"].fillna("") != ""
    g.loc[hub, "note"] = g.loc[hub, "note"] + "; nearest air hub " + g.loc[hub, "air_hub"]
    g["_scored"] = g["gap_score"].notna()
    g = g.sort_values(["need_type", "opp_region", "_scored", "gap_score", "pop2021", "name"],
                      ascending=[True, True, False, False, False, True])
    g["rank"] = g.groupby(["need_type", "opp_region"]).cumcount() + 1
    out = g[GAP_COMMUNITIES.names].reset_index(drop=True)
    out["travel_min"] = out["travel_min"].round(1)
    out["minutes_beyond"] = out["minutes_beyond"].round(1)
    return out


def _nearest_service_names(service_id: pd.Series, services: pd.DataFrame | None
                           ) -> tuple[pd.Series, pd.Series]:
    """The name and town of each nearest service ("" when there is none or no table)."""
    if services is None or not len(services):
        blank = pd.Series("", index=service_id.index, dtype=object)
        return blank, blank.copy()
    by_id = services.drop_duplicates("service_id").set_index("service_id")
    name = service_id.map(by_id["name"]).fillna("").astype(str)
    town = service_id.map(by_id["city"]).fillna("").astype(str)
    return name, town
