"""Capacity-aware access: the two-step floating catchment area (2SFCA, Luo & Wang 2003) and
its enhanced form (E2SFCA, Luo & Qi 2009), pure functions over a cost matrix.

For demand points i (population P_i), services j (supply S_j) and drive times t_ij (minutes,
``inf`` where there is none), with a weight W(t) that is 0 beyond ``max_min``:

1. each service's ratio R_j = S_j / sum_i P_i W(t_ij): its supply per person who can reach it;
2. each point's access A_i = sum_j R_j W(t_ij).

2SFCA weighs every time within ``max_min`` by 1; E2SFCA by bands (:func:`band_weight`: the
threshold split in equal bands, by default 1.00 / 0.68 / 0.22; a time on a band's upper edge
belongs to that band, as in PySAL ``access``'s ``step_fn``) or a Gaussian
(:func:`gaussian_weight`). A service that nobody reaches (R_j undefined) gives no access.
The sum of A_i P_i equals the supply of the services somebody reaches: access is supply shared
out, so it is read as "services (or beds) per person", not as a share of people covered.

:func:`supply_units` decides what a service's supply is: its ``capacity`` where every service
of the need carries one, else one unit per service (and says which).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

Weight = Callable[[np.ndarray], np.ndarray]
"""A weight of drive times in minutes (an array), 0 where a time is out of reach."""

CAPACITY = "capacity"
ONE_PER_SERVICE = "one unit per service"


def band_weight(max_min: float, weights: Sequence[float] = (1.0, 0.68, 0.22)) -> Weight:
    """E2SFCA's stepped weight: ``max_min`` split into ``len(weights)`` equal bands, a time
    ``t`` in band k (``edge_{k-1} < t <= edge_k``) weighted ``weights[k]``; 0 beyond."""
    w = np.asarray(weights, float)
    edges = max_min * np.arange(1, len(w) + 1) / len(w)

    def weight(t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, float)
        k = np.searchsorted(edges, np.where(np.isfinite(t), t, np.inf), side="left")
        return np.where(k < len(w), w[np.minimum(k, len(w) - 1)], 0.0)
    return weight


def gaussian_weight(max_min: float, *, at_max: float = 0.01) -> Weight:
    """A Gaussian weight exp(-t^2 / (2 s^2)), ``s`` chosen so the weight is ``at_max`` at
    ``max_min``; 0 beyond."""
    sigma = max_min / np.sqrt(-2 * np.log(at_max))

    def weight(t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, float)
        return np.where(t <= max_min, np.exp(-(t ** 2) / (2 * sigma ** 2)), 0.0)
    return weight


def _weights(cost: np.ndarray, max_min: float, weight: Weight | None) -> np.ndarray:
    within = np.isfinite(cost) & (cost <= max_min)
    if weight is None:
        return within.astype(float)
    return np.where(within, weight(np.where(within, cost, 0.0)), 0.0)


def two_stage_fca(cost: np.ndarray, demand: np.ndarray, supply: np.ndarray, *,
                  max_min: float, weight: Weight | None = None) -> np.ndarray:
    """Each demand point's access (module docstring): ``cost`` is demand x services in
    minutes, ``demand`` the population of each point, ``supply`` each service's supply;
    ``weight`` None is the plain 2SFCA (1 within ``max_min``)."""
    cost = np.asarray(cost, float)
    if cost.shape != (len(demand), len(supply)):
        raise ValueError(f"cost is {cost.shape}, expected ({len(demand)}, {len(supply)})")
    w = _weights(cost, max_min, weight)
    reached_by = w.T @ np.asarray(demand, float)
    ratio = np.divide(np.asarray(supply, float), reached_by,
                      out=np.zeros(len(supply)), where=reached_by > 0)
    return w @ ratio


def supply_units(services: pd.DataFrame) -> tuple[np.ndarray, str]:
    """The supply of each service and its basis: ``capacity`` when the table has a
    ``capacity`` column filled with a positive number for every row, else one unit each."""
    if "capacity" in services.columns and len(services):
        cap = pd.to_numeric(services["capacity"], errors="coerce")
        if cap.notna().all() and (cap > 0).all():
            return cap.to_numpy(float), CAPACITY
    return np.ones(len(services)), ONE_PER_SERVICE
