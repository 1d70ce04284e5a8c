"""Contracts: the rules every stage shares, written once.

Shared rules
------------
:data:`PRECISIONS` is the project's one geocode-precision vocabulary, best to worst;
:func:`is_placed` says whether a service counts at a point (the first six precisions, with a
geometry), :func:`finer_than_town` whether a location is more precise than its town (what a
confidential service must never be in a shared output).

Also here, each written once: :func:`precision_rank` (the order of :data:`PRECISIONS`, for
any comparison of precisions), :func:`counts_by_road` (placed, and not in a community with
no all-season road: the services a drive time can reach), :func:`check_withheld` (no
confidential service finer than its town), the travel table's :data:`ACCESS_VALUES` and their
wording (:func:`access_text`), and the geocode issue codes (:data:`GEOCODE_ISSUES`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from gapmap.errors import SchemaError

# -- shared rules ---------------------------------------------------------------------------

PRECISIONS: tuple[str, ...] = (
    "exact", "street", "postal", "fsa", "town", "rural_fsa", "area", "none")
"""Geocode precision, best to worst. Only the first six place a point."""
POINT_PRECISIONS = frozenset(PRECISIONS[:6])
"""Precisions that give a service a point: it can count for coverage on the road graph."""
TOWN_OR_BETTER = frozenset(PRECISIONS[:5])
"""Precisions at the town or finer: a listing that names a town should reach one of them."""
FINER_THAN_TOWN = frozenset(PRECISIONS[:4])
"""Precisions finer than the town: a confidential service is never shown at one of them."""


def is_placed(services: pd.DataFrame) -> pd.Series:
    """True for the services that count at a point: a point precision and a geometry that is
    not empty (or, for a frame without geometry, a latitude)."""
    precise = services["geocode_precision"].isin(POINT_PRECISIONS)
    if "geometry" in services.columns:
        geom = np.array(services["geometry"].to_numpy(), dtype=object)  # a copy
        missing = np.asarray(pd.isna(geom), dtype=bool)
        geom[missing] = None
        point = ~missing & ~shapely.is_empty(geom)
        return precise & pd.Series(point, index=services.index)
    if "lat" in services.columns:
        return precise & services["lat"].notna()
    return precise


def finer_than_town(precision: pd.Series) -> pd.Series:
    """True where a geocode precision is finer than the town (exact, street, postal, FSA),
    or is not a precision at all: a value that cannot be read is never taken as coarse."""
    return precision.isin(FINER_THAN_TOWN) | ~precision.isin(PRECISIONS)


def precision_rank(precision: str) -> int:
    """Where a precision stands in :data:`PRECISIONS`: 0 is ``exact``, higher is coarser.

    Every comparison or sort of precisions goes through this order.

    Raises
    ------
    ValueError
        ``precision`` is not one of :data:`PRECISIONS`.
    """
    try:
        return PRECISIONS.index(precision)
    except ValueError:
        raise ValueError(f"{precision!r} is not a geocode precision "
                         f"({', '.join(PRECISIONS)})") from None


def is_fly_in(services: pd.DataFrame) -> pd.Series:
    """True for the services flagged ``access`` = ``no_all_season_road`` (in a community with
    no all-season road, see :func:`gapmap.travel.flag_fly_in_services`); all False for a
    frame without an ``access`` column."""
    if "access" not in services.columns:
        return pd.Series(False, index=services.index)
    return services["access"].astype(str) == "no_all_season_road"


def counts_by_road(services: pd.DataFrame) -> pd.Series:
    """True for the services a drive time can reach: placed (:func:`is_placed`) and not in
    a community with no all-season road (:func:`is_fly_in`). Only these count for physical
    coverage on the road graph and get a catchment."""
    return is_placed(services) & ~is_fly_in(services)


def check_withheld(services: pd.DataFrame, *, refusing: str = "share them") -> None:
    """Stop when a confidential service is placed finer than its town (:func:`finer_than_town`).

    Ingest and geocode place confidential services at their town at most; this is the guard
    every output that shares or draws services calls. ``refusing`` ends the message
    (``"map them"``, ``"share them"``).

    Raises
    ------
    SchemaError
        Naming each such service and its precision.
    """
    bad = services["confidential"].astype(bool) & finer_than_town(services["geocode_precision"])
    if bad.any():
        rows = services.loc[bad, ["service_id", "geocode_precision"]]
        raise SchemaError(
            f"services: confidential service(s) placed finer than their town, refusing to "
            f"{refusing}: " + ", ".join(f"{r.service_id} ({r.geocode_precision})"
                                        for r in rows.itertuples()))


ACCESS_VALUES: tuple[str, ...] = (
    "road", "estimate", "beyond_road_network", "no_all_season_road", "unreachable",
    "no_service")
"""The travel table's ``access``, per community and need (:mod:`gapmap.travel`): a drive
time by road; an estimate (a long local-road connector); beyond the road network, no
all-season road, no path, no placed service of the need (no time)."""
TIMED_ACCESS = frozenset({"road", "estimate"})
"""The ``access`` values that come with a drive time."""
_ACCESS_WORDING = {
    "road": "",
    "estimate": "travel time is an estimate (long local-road connector)",
    "beyond_road_network": "beyond the road network: no drive time given",
    "no_all_season_road": "no all-season road: fly-in or winter road",
    "unreachable": "no road path to a service on the network",
    "no_service": "no placed service of this need anywhere",
}


def access_text(access: str) -> str:
    """The words for an ``access`` value, as the gap table's notes and the maps say it
    (``""`` for ``road``: nothing to add). A value outside :data:`ACCESS_VALUES` is spelled
    out (``"some_value"`` -> ``"some value"``) rather than dropped."""
    return _ACCESS_WORDING.get(access, str(access).replace("_", " "))


GEOCODE_ISSUES: tuple[str, ...] = (
    "failed", "ambiguous", "disagrees", "listed_point_rejected", "address_not_geocoded",
    "rural_fsa", "area")
"""Why a service is in the geocode report, most urgent first: not placed; a town name that
stays ambiguous; a point that disagrees with its own town or postal code; a listed point
outside Ontario; an address Nominatim did not place (the row ended coarser than ``street``);
placed only at a rural FSA's regional point; listed for an area. The geocode chain records
each code in ``geocode_issues`` where it arises; the report reads that column."""
