"""Names people know: one rule names a community in every output (gap table, access and
wraparound tables, the maps' panel, the GeoPackage).

A census subdivision (a municipality or reserve) is named by its own name. Any other point
(a census tract, a dissemination block, an area from a file) is named ``near <town>`` after
the nearest gazetteer town within ``near_within_km``, e.g. ``near Innisfil`` for a tract of
the Barrie metro area that lies in Simcoe County, never ``Toronto CT 0485.02``; when no town
is that close, by its straight-line distance to the nearest one (``14 km from Guelph``); with
no town at all, by its own name. The census code (tract or
subdivision id) stays in its own column, ``census_code`` (:func:`census_code`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

NAMED_BY_OWN_NAME = frozenset({"subdivision"})
"""Demand kinds named by their own name (the municipality or reserve)."""


def census_code(demand: pd.DataFrame) -> pd.Series:
    """The census code of each demand point: its id without the ``ct-`` / ``csd-`` prefix
    (a tract's CTUID, a subdivision's CSDUID; a file's id as given)."""
    return demand["demand_id"].astype(str).str.replace(r"^(ct|csd)-", "", regex=True)


def community_names(demand_xy_m: np.ndarray, kinds: pd.Series, own_names: pd.Series,
                    towns_xy_m: np.ndarray, town_names: pd.Series, *,
                    near_within_km: float) -> pd.Series:
    """The name of each community (see the module docstring).

    ``demand_xy_m`` and ``towns_xy_m`` are (n, 2) points in metres (EPSG:3347); ``kinds``
    the demand kinds (``subdivision`` keeps ``own_names``); ``town_names`` the towns'.
    Returns a Series aligned with ``kinds``.
    """
    own = own_names.astype(str).to_numpy(dtype=object)
    out = own.copy()
    keep = kinds.isin(NAMED_BY_OWN_NAME).to_numpy()
    todo = np.nonzero(~keep)[0]
    if len(todo):
        if len(towns_xy_m):
            dist, which = cKDTree(np.asarray(towns_xy_m, float)).query(
                np.asarray(demand_xy_m, float)[todo])
        else:
            dist, which = np.full(len(todo), np.inf), np.zeros(len(todo), int)
        names = town_names.astype(str).to_numpy(dtype=object)
        for k, i in enumerate(todo):
            if dist[k] <= near_within_km * 1000:
                out[i] = f"near {names[which[k]]}"
            elif np.isfinite(dist[k]):
                out[i] = f"{dist[k] / 1000:.0f} km from {names[which[k]]}"
    return pd.Series(out, index=kinds.index, name="name")
