"""Wraparound: how many needs each community reaches together, each within its own
threshold, and how the population spreads over that count in each OPP region.

Wraparound support (several services around one person) is what the working groups aim for;
a community that reaches 13 of 14 needs and one that reaches 5 look alike in a per-need
table. A need is *reached* when the nearest service of it is within the need's threshold by
road (``road`` or ``estimate``, as in :mod:`gapmap.analysis.coverage`); a community with no
all-season road reaches none by road (its own services are listed, not driven to).

:func:`wraparound_by_community` columns: ``demand_id``, ``name``, ``census_code``,
``opp_region``, ``cd_name``, ``pop2021``, ``needs_counted``, ``needs_reached``,
``needs_missing`` (``;``-separated need types, in the run's order), ``access`` (``road``,
or ``no_all_season_road``).

:func:`wraparound_by_region` columns: ``opp_region`` (and the total label), ``needs_reached``
(0 .. needs counted), ``pop2021``, ``pct_pop`` (of the region), ``pct_pop_at_least`` (share
reaching at least that many) and ``mean_needs_reached`` (population-weighted, repeated on
every row of the region).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from gapmap.analysis.names import census_code
from gapmap.contracts import TIMED_ACCESS


def reached(travel: pd.DataFrame, thresholds_min: Mapping[str, float]) -> pd.DataFrame:
    """A demand x need table of booleans: the need's nearest service within its threshold.

    ``thresholds_min`` names the needs counted (columns, in its order); a need missing from
    ``travel`` is reached by no one.
    """
    t = travel[travel["need_type"].isin(list(thresholds_min))]
    limit = t["need_type"].map({k: float(v) for k, v in thresholds_min.items()})
    ok = t["access"].isin(TIMED_ACCESS) & (t["travel_min"] <= limit)
    wide = (pd.DataFrame({"demand_id": t["demand_id"], "need_type": t["need_type"], "ok": ok})
            .pivot_table(index="demand_id", columns="need_type", values="ok",
                         aggfunc="any", fill_value=False))
    return wide.reindex(columns=list(thresholds_min), fill_value=False).astype(bool)


def wraparound_by_community(travel: pd.DataFrame, demand: pd.DataFrame, *,
                            thresholds_min: Mapping[str, float]) -> pd.DataFrame:
    """Per community, the needs reached within their thresholds (module docstring)."""
    if "census_code" not in demand.columns:  # demand points not yet named
        demand = demand.assign(census_code=census_code(demand))
    r = reached(travel, thresholds_min).reindex(demand["demand_id"], fill_value=False)
    needs = np.array(list(thresholds_min), dtype=object)
    missing = [";".join(needs[~row]) for row in r.to_numpy()]
    return pd.DataFrame({
        "demand_id": demand["demand_id"].to_numpy(), "name": demand["name"].to_numpy(),
        "census_code": demand["census_code"].to_numpy(),
        "opp_region": demand["opp_region"].to_numpy(), "cd_name": demand["cd_name"].to_numpy(),
        "pop2021": demand["pop2021"].to_numpy(), "needs_counted": len(needs),
        "needs_reached": r.sum(axis=1).to_numpy().astype(int), "needs_missing": missing,
        "access": demand["access"].to_numpy()})


def wraparound_by_region(by_community: pd.DataFrame, *, regions: Sequence[str],
                         total_label: str = "Ontario") -> pd.DataFrame:
    """The population by number of needs reached, per region and in total (module
    docstring)."""
    n = int(by_community["needs_counted"].max()) if len(by_community) else 0
    rows = []
    for region in [*regions, None]:
        sel = by_community if region is None else by_community[
            by_community["opp_region"] == region]
        pop = sel.groupby("needs_reached")["pop2021"].sum().reindex(
            range(n + 1), fill_value=0)
        total = int(pop.sum())
        mean = float(np.average(pop.index, weights=pop)) if total else np.nan
        at_least = pop[::-1].cumsum()[::-1]
        for k in range(n + 1):
            rows.append({
                "opp_region": region or total_label, "needs_reached": k,
                "pop2021": int(pop[k]),
                "pct_pop": round(100 * pop[k] / total, 1) if total else np.nan,
                "pct_pop_at_least": round(100 * at_least[k] / total, 1) if total else np.nan,
                "mean_needs_reached": round(mean, 2)})
    return pd.DataFrame(rows)
