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

import pandas as pd

from gapmap.analysis.coverage import COVERAGE_COLUMNS, coverage_by_region, gap_communities
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


def gap_tables(travel: pd.DataFrame, demand: pd.DataFrame, services: pd.DataFrame,
               config: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The coverage table and the gap communities of a run (see
    :mod:`gapmap.analysis.coverage`)."""
    limits = thresholds(config)
    cov = coverage_by_region(travel, demand, services, thresholds_min=limits,
                             regions=list(config.opp_regions_in_scope or OPP_REGIONS),
                             total_label=total_label(config))
    gaps = gap_communities(travel, demand, thresholds_min=limits)
    return cov, gaps


__all__ = ["COVERAGE_COLUMNS", "gap_tables", "thresholds", "total_label"]
