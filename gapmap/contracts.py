"""Contracts: the rules every stage shares, written once.

Shared rules
------------
:data:`PRECISIONS` is the project's one geocode-precision vocabulary, best to worst;
:func:`is_placed` says whether a service counts at a point (the first six precisions, with a
geometry), :func:`finer_than_town` whether a location is more precise than its town (what a
confidential service must never be in a shared output).
"""

from __future__ import annotations

import pandas as pd

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
    """True for the services that count at a point: a point precision and a geometry (or,
    for a frame without geometry, a latitude)."""
    precise = services["geocode_precision"].isin(POINT_PRECISIONS)
    if "geometry" in services.columns:
        return precise & services["geometry"].notna()
    if "lat" in services.columns:
        return precise & services["lat"].notna()
    return precise


def finer_than_town(precision: pd.Series) -> pd.Series:
    """True where a geocode precision is finer than the town (exact, street, postal, FSA)."""
    return precision.isin(FINER_THAN_TOWN)
