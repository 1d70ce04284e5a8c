"""Where one more service helps most: the maximal covering location problem (MCLP, Church &
ReVelle 1974) over a coverage matrix, solved exactly and greedily.

``covers[i, j]`` is True when candidate site j would reach demand point i within the need's
threshold; ``weights[i]`` the people at i *not covered today* (today's services are fixed: a
point they already cover weighs 0). Choose at most ``k`` sites to maximise the weight covered.

* :func:`mclp_exact` solves the integer programme (maximise sum w_i y_i subject to
  y_i <= sum_{j covers i} x_j, sum x_j <= k, x binary, 0 <= y <= 1) with PuLP's CBC, after
  merging demand points covered by the same sites and dropping sites that cover nobody; for
  the sizes here (a few hundred candidates and points per need and region) it is exact in
  well under a second.
* :func:`mclp_greedy` adds, k times, the site that adds the most (ties: the lower index).
* :func:`site_gains` orders chosen sites as the greedy would and gives each site's marginal
  gain in that order and its gain alone, so both methods are reported alike.

Each suggestion carries a data caveat (:func:`suggestion_caveat`) from a stated rule over the
listings of the need in the region (:class:`DataQuality`): a site may rank high only because
nothing is listed near it, and a gap in the listings is not a gap in services.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pulp

from gapmap.contracts import is_placed
from gapmap.regions import serves_region
from gapmap.taxonomy import offers

COARSE_PRECISIONS = frozenset({"town", "rural_fsa"})
"""Placed, but no finer than a town (or a rural postal district)."""


@dataclass(frozen=True)
class DataQuality:
    """The listings of one need in one region: services ``placed`` at a point,
    ``not_placed`` (listed for an area or with no point: they count for no coverage),
    ``coarse`` (placed no finer than their town, or disagreeing with their own town), and
    the census divisions where one is listed (``cduids``: placed there, or naming it)."""

    placed: int
    not_placed: int
    coarse: int
    cduids: frozenset[str]

    @classmethod
    def of(cls, services: pd.DataFrame, need: str, region: str) -> DataQuality:
        has = offers(services["need_types"], need) & serves_region(services["opp_region"],
                                                                   region)
        placed = is_placed(services)
        coarse = services["geocode_precision"].isin(COARSE_PRECISIONS)
        if "geocode_check" in services.columns:
            coarse |= services["geocode_check"].astype(str) == "disagrees"
        cds: set[str] = set(services.loc[has & placed, "cduid"].dropna().astype(str)) \
            if "cduid" in services.columns else set()
        if "area_cduids" in services.columns:
            for v in services.loc[has & ~placed, "area_cduids"].dropna().astype(str):
                cds.update(c for c in v.split(";") if c)
        return cls(placed=int((has & placed).sum()), not_placed=int((has & ~placed).sum()),
                   coarse=int((has & placed & coarse).sum()), cduids=frozenset(cds))


def suggestion_caveat(q: DataQuality, *, site_cduid: str, site_cd_name: str,
                      thin_below: int, coarse_share_above: float) -> str:
    """The data caveat of a suggested site, ``;``-joined ("" when none applies):

    1. fewer than ``thin_below`` placed services of the need in the region: "few listings";
    2. no service of the need placed in, or listed for, the site's census division: "none
       listed in <division>" (the site may rank high because nothing there is listed);
    3. services listed only for an area or with no point: they count for no coverage;
    4. more than ``coarse_share_above`` of the placed ones placed no finer than their town.
    """
    out = []
    if q.placed < thin_below:
        out.append(f"few listings: {q.placed} placed service(s) of this need in the region")
    if site_cduid not in q.cduids:
        out.append(f"no service of this need listed in {site_cd_name}: the gap may be in "
                   "the listings")
    if q.not_placed:
        out.append(f"{q.not_placed} listed for an area or with no point (not counted)")
    if q.placed and q.coarse / q.placed > coarse_share_above:
        out.append(f"{round(100 * q.coarse / q.placed)} % of the placed services placed only "
                   "at their town (confidential ones by rule)")
    return "; ".join(out)


def coverage_matrix(cost_min: np.ndarray, max_min: float) -> np.ndarray:
    """demand x candidates: True where the time is finite and within ``max_min``."""
    cost = np.asarray(cost_min, float)
    return np.isfinite(cost) & (cost <= max_min)


def covered_weight(covers: np.ndarray, weights: np.ndarray, chosen: list[int]) -> float:
    """The weight of the points at least one of ``chosen`` covers."""
    if not chosen:
        return 0.0
    return float(np.asarray(weights, float)[covers[:, chosen].any(axis=1)].sum())


def mclp_greedy(covers: np.ndarray, weights: np.ndarray, k: int) -> list[int]:
    """Up to ``k`` sites, each the one adding the most weight (none once nothing is added)."""
    w = np.asarray(weights, float).copy()
    cov = np.asarray(covers, bool)
    chosen: list[int] = []
    for _ in range(min(k, cov.shape[1])):
        gain = w @ cov
        if chosen:
            gain[chosen] = -1
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        w[cov[:, j]] = 0
    return chosen


def _reduced(covers: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray]:
    """The problem with weightless or uncoverable points dropped, points covered by the same
    sites merged, and sites covering nobody dropped: (covers, weights, site indices)."""
    cov = np.asarray(covers, bool)
    w = np.asarray(weights, float)
    keep = (w > 0) & cov.any(axis=1)
    cov, w = cov[keep], w[keep]
    sites = np.nonzero(cov.any(axis=0))[0]
    cov = cov[:, sites]
    if not len(cov):
        return cov, w, sites
    packed = np.packbits(cov, axis=1)
    _, inverse = np.unique(packed, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    merged_w = np.bincount(inverse, weights=w)
    first = np.zeros(len(merged_w), dtype=int)
    first[inverse[::-1]] = np.arange(len(inverse))[::-1]
    return cov[first], merged_w, sites


def mclp_exact(covers: np.ndarray, weights: np.ndarray, k: int, *,
               time_limit_s: float | None = None) -> list[int]:
    """At most ``k`` sites covering the most weight: the integer programme's optimum (module
    docstring), sites that add nothing left out, in increasing index."""
    cov, w, sites = _reduced(covers, weights)
    if not len(sites) or not len(w):
        return []
    if len(sites) <= k:
        chosen = [int(s) for s in sites]
    else:
        with warnings.catch_warnings():  # PuLP 3 announces its 4.0 API; <4 is required
            warnings.simplefilter("ignore", DeprecationWarning)
            chosen = [int(sites[j]) for j in _solve(cov, w, k, time_limit_s)]
    return _without_idle(covers, weights, chosen)


def _without_idle(covers: np.ndarray, weights: np.ndarray, chosen: list[int]) -> list[int]:
    """``chosen`` less the sites that add nothing to the others (the solver may pick any
    to fill k), dropped one at a time so the weight covered stays the same; sorted."""
    best = covered_weight(covers, weights, chosen)
    kept = sorted(chosen)
    for j in sorted(chosen, reverse=True):
        rest = [c for c in kept if c != j]
        if covered_weight(covers, weights, rest) >= best:
            kept = rest
    return kept


def _solve(cov: np.ndarray, w: np.ndarray, k: int, time_limit_s: float | None) -> list[int]:
    """The integer programme on a reduced problem: the columns chosen."""
    prob = pulp.LpProblem("mclp", pulp.LpMaximize)
    x = [pulp.LpVariable(f"x{j}", cat="Binary") for j in range(cov.shape[1])]
    y = [pulp.LpVariable(f"y{i}", lowBound=0, upBound=1) for i in range(len(w))]
    prob += pulp.lpSum(float(w[i]) * y[i] for i in range(len(w)))
    for i in range(len(w)):
        prob += y[i] <= pulp.lpSum(x[j] for j in np.nonzero(cov[i])[0])
    prob += pulp.lpSum(x) <= k
    solver = pulp.PULP_CBC_CMD(msg=False, gapRel=0, timeLimit=time_limit_s)
    status = prob.solve(solver)
    if pulp.LpStatus[status] != "Optimal":
        raise RuntimeError(f"the MCLP solver stopped with status {pulp.LpStatus[status]}")
    return [j for j in range(cov.shape[1]) if (x[j].value() or 0) > 0.5]


def site_gains(covers: np.ndarray, weights: np.ndarray, chosen: list[int]
               ) -> list[tuple[int, float, float]]:
    """``chosen`` in greedy order, each with (site, weight it adds after those before it,
    weight it covers alone)."""
    w = np.asarray(weights, float).copy()
    cov = np.asarray(covers, bool)
    alone = {j: float(w[cov[:, j]].sum()) for j in chosen}
    left, out = list(chosen), []
    while left:
        gains = [float(w[cov[:, j]].sum()) for j in left]
        best = int(np.argmax(gains))
        j = left.pop(best)
        out.append((j, gains[best], alone[j]))
        w[cov[:, j]] = 0
    return out
