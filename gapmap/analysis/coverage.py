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

The total row's ``opp_region`` is the ``total_label`` argument (the stage passes
:func:`gapmap.gaps.total_label`: ``Ontario``, or e.g. ``ottawa (census division 3506)``).

:func:`gap_communities` lists the demand points outside the threshold, ranked by
population within each region and need type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from gapmap.contracts import (
    ACCESS_VALUES,
    COVERAGE,
    GAP_COMMUNITIES,
    TIMED_ACCESS,
    access_text,
    is_placed,
)
from gapmap.regions import serves_region
from gapmap.taxonomy import offers

COVERAGE_COLUMNS = COVERAGE.names
"""The coverage table's columns, declared in :data:`gapmap.contracts.COVERAGE`."""


def _with_demand(travel: pd.DataFrame, demand: pd.DataFrame,
                 thresholds_min: Mapping[str, float]) -> pd.DataFrame:
    cols = ["demand_id", "name", "kind", "pop2021", "opp_region", "cd_name", "enumerated",
            "air_hub", "remote_community"]
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


def coverage_by_region(travel: pd.DataFrame, demand: pd.DataFrame, services: pd.DataFrame,
                       *, thresholds_min: Mapping[str, float], regions: Sequence[str],
                       total_label: str = "Ontario",
                       need_types: Sequence[str] | None = None) -> pd.DataFrame:
    """Population coverage per OPP region and need type (see the module docstring).

    ``thresholds_min`` gives each need type's threshold; ``regions`` the OPP regions to
    report (a row each), ``total_label`` the ``opp_region`` of each need's total row over
    every demand point; ``need_types`` (default: the keys of ``thresholds_min``) their order.
    """
    t = _with_demand(travel, demand, thresholds_min)
    threshold = _threshold_of(thresholds_min)
    placed = is_placed(services)
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
            })
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def gap_communities(travel: pd.DataFrame, demand: pd.DataFrame, *,
                    thresholds_min: Mapping[str, float]) -> pd.DataFrame:
    """Demand points outside each need's threshold, ranked by population in region and need.

    Columns: ``need_type``, ``opp_region``, ``rank``, ``demand_id``, ``name``, ``kind``,
    ``cd_name``, ``pop2021``, ``enumerated``, ``travel_min``, ``threshold_min``,
    ``service_id`` (nearest, if any), ``access``, ``air_hub``, ``note``.
    """
    t = _with_demand(travel, demand, thresholds_min)
    g = t[~t["covered"]].copy()
    notes = {a: access_text(a) for a in ACCESS_VALUES}
    g["note"] = g["access"].map(notes).fillna("")
    g.loc[~g["enumerated"].astype(bool), "note"] = (
        g["note"] + "; not enumerated in 2021 (population unknown, not zero)").str.lstrip("; ")
    hub = g["air_hub"].fillna("") != ""
    g.loc[hub, "note"] = g.loc[hub, "note"] + "; nearest air hub " + g.loc[hub, "air_hub"]
    g = g.sort_values(["need_type", "opp_region", "pop2021", "name"],
                      ascending=[True, True, False, True])
    g["rank"] = g.groupby(["need_type", "opp_region"]).cumcount() + 1
    out = g[GAP_COMMUNITIES.names].reset_index(drop=True)
    out["travel_min"] = out["travel_min"].round(1)
    return out
