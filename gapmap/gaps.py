"""Gaps: the stage that measures coverage and lists the gap communities.

It turns the run's :class:`~gapmap.config.Config` into the plain arguments of the measures
in :mod:`gapmap.analysis.coverage` (thresholds per need, the OPP regions in scope, the
total row's label), where the columns of both tables are documented.

The total row's ``opp_region`` says what it covers, :func:`total_label`: ``Ontario`` for a
province-wide run; for a run limited to some census divisions (``run.census_divisions``) the
run's name and those divisions, e.g. ``ottawa (census division 3506)``. Read it with
:func:`total_label`, never by spelling the string.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from gapmap.analysis.access import eligibility_by_need, reach_with_rules
from gapmap.analysis.coverage import (
    COVERAGE_COLUMNS,
    coverage_by_region,
    coverage_in_depth,
    gap_communities,
)
from gapmap.analysis.wraparound import wraparound_by_community, wraparound_by_region
from gapmap.config import Config
from gapmap.regions import OPP_REGIONS


def total_label(config: Config) -> str:
    """The ``opp_region`` of the coverage table's total row: the area the run covers.

    ``"Ontario"`` for a province-wide run (its demand is the whole province, even when
    ``run.opp_regions`` reports fewer regions); ``"<run name> (census division 3506)"``
    (``divisions 3506, 3507`` for several) for a run limited by ``run.census_divisions``,
    whose demand is only those divisions.
    """
    cds = config.census_divisions_in_scope
    if not cds:
        return "Ontario"
    what = "census division" if len(cds) == 1 else "census divisions"
    return f"{config.name} ({what} {', '.join(cds)})"


def thresholds(config: Config) -> dict[str, float]:
    """Each need type of the run and its threshold in minutes, in the run's order."""
    return {need: config.coverage.threshold(need) for need in config.need_types}


def regions(config: Config) -> list[str]:
    """The OPP regions a run reports, in order."""
    return list(config.opp_regions_in_scope or OPP_REGIONS)


def wraparound_thresholds(config: Config) -> dict[str, float]:
    """The needs wraparound counts (``wraparound.need_types``, default every need of the
    run) and their thresholds."""
    needs = config.wraparound.need_types or config.need_types
    return {need: config.coverage.threshold(need) for need in needs}


def reach_limit_min(config: Config) -> float:
    """The longest drive time any coverage measure of the run reads: the travel stage keeps
    every in-person pair within it (:func:`gapmap.travel.reach_pairs`)."""
    return max(thresholds(config).values())


@dataclass(frozen=True)
class GapTables:
    """What the gaps stage writes: ``coverage`` (one row per region x need at the need's
    threshold), ``depth`` (the long table), ``gaps``, ``wraparound`` (per community),
    ``wraparound_regions`` and ``eligibility`` (per need, who the services are for)."""

    coverage: pd.DataFrame
    depth: pd.DataFrame
    gaps: pd.DataFrame
    wraparound: pd.DataFrame
    wraparound_regions: pd.DataFrame
    eligibility: pd.DataFrame
    french: pd.DataFrame | None = None


def french_access(pairs: pd.DataFrame, demand: pd.DataFrame, services: pd.DataFrame,
                  config: Config) -> pd.DataFrame | None:
    """``french_access_by_region.csv`` (:mod:`gapmap.analysis.french`), or None when
    ``inputs.flsa_designated_areas`` is off."""
    from gapmap.analysis.french import (
        designation,
        french_access_by_region,
        french_reach,
        language_unknown,
        offers_french,
        read_designated_areas,
    )
    from gapmap.io import read_table
    from gapmap.taxonomy import offers

    path = config.inputs.flsa_designated_areas
    if path is None:
        return None
    areas = read_designated_areas(path)
    designated = designation(demand, areas, read_table(config.inputs.census_subdivisions))
    limits = thresholds(config)
    reach = french_reach(pairs, demand, services, thresholds_min=limits)
    fr = services[offers_french(services).to_numpy()]
    unknown = services[language_unknown(services).to_numpy()]
    return french_access_by_region(
        reach, designated, demand, regions=regions(config), total_label=total_label(config),
        services_in_french={n: int(offers(fr["need_types"], n).sum()) for n in limits},
        services_language_unknown={n: int(offers(unknown["need_types"], n).sum())
                                   for n in limits})


def gap_tables(travel: pd.DataFrame, demand: pd.DataFrame, services: pd.DataFrame,
               config: Config, *, pairs: pd.DataFrame | None = None) -> GapTables:
    """The coverage tables, the gap communities and wraparound of a run (see
    :mod:`gapmap.analysis.coverage` and :mod:`gapmap.analysis.wraparound`).

    ``pairs`` (the travel stage's ``reach.parquet``, :func:`gapmap.travel.reach_pairs`)
    gives the reach by kind, open when needed (``access.need_24_7``) and for whom
    (``access.for_group``, :mod:`gapmap.analysis.access`); without it only in-person reach
    is known (every other kind reads as not reached).
    """
    limits, where, label = thresholds(config), regions(config), total_label(config)
    acc = config.access
    reach = None if pairs is None else reach_with_rules(
        pairs, demand, services, thresholds_min=limits, need_24_7=acc.need_24_7,
        group=acc.for_group)
    cov = coverage_by_region(travel, demand, services, thresholds_min=limits, regions=where,
                             total_label=label, reach=reach, need_24_7=acc.need_24_7,
                             group=acc.for_group)
    depth = coverage_in_depth(travel, demand, services, thresholds_min=limits,
                              depth_min=config.coverage.depth_thresholds_min, regions=where,
                              total_label=label, reach=reach)
    gaps = gap_communities(travel, demand, thresholds_min=limits, services=services,
                           reach=reach)
    wrap = wraparound_by_community(travel, demand,
                                   thresholds_min=wraparound_thresholds(config))
    wrap_regions = wraparound_by_region(wrap, regions=where, total_label=label)
    eligibility = eligibility_by_need(services, config.need_types, group=acc.for_group)
    french = None if pairs is None else french_access(pairs, demand, services, config)
    return GapTables(cov, depth, gaps, wrap, wrap_regions, eligibility, french)


__all__ = ["COVERAGE_COLUMNS", "GapTables", "french_access", "gap_tables", "reach_limit_min",
           "regions", "thresholds", "total_label", "wraparound_thresholds"]
