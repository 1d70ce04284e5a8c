"""How complete the listings are, per OPP region and need type: part of every gap is
missing data, and this table says which part.

:func:`data_quality` is a pure function over the located services
(:data:`gapmap.contracts.SERVICES_LOCATED`); ``data_quality_by_region.csv`` has one row per
OPP region × need type (a service of several need types counts under each), then one per
need type over all regions (``opp_region`` ``all regions``), with the columns of
:data:`QUALITY_COLUMNS`.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from gapmap.contracts import PRECISIONS

QUALITY_COLUMNS = [
    "opp_region", "need_type", "services", "with_phone", "with_hours", "with_languages",
    "with_capacity", "town_or_coarser", "area_only", "unplaced", "with_verified_date",
    "verified_stale", "confidential", "unverified"]
"""``services``: how many; ``with_phone`` / ``with_hours`` / ``with_languages`` /
``with_capacity``: how many list one; ``town_or_coarser``: placed at a town's point or a
rural FSA's (not at their address); ``area_only``: no point, an area only; ``unplaced``:
nothing placed them; ``with_verified_date``: the source says when it last verified them;
``verified_stale``: of those, last verified before the run date less ``stale_after_days``;
``confidential``: location withheld; ``unverified``: the source itself says they are not
verified (a ``verification`` beginning "unverified" or "pending")."""
ALL_REGIONS = "all regions"
_COARSE = frozenset(("town", "rural_fsa"))
assert set(PRECISIONS) >= _COARSE


def _text(services: pd.DataFrame, column: str) -> pd.Series:
    if column not in services.columns:
        return pd.Series("", index=services.index)
    return services[column].fillna("").astype(str).str.strip()


def data_quality(services: pd.DataFrame, *, today: dt.date, stale_after_days: int
                 ) -> pd.DataFrame:
    """The data-quality table (see :data:`QUALITY_COLUMNS`) of the located services."""
    s = pd.DataFrame(index=services.index)
    s["opp_region"] = _text(services, "opp_region").replace("", "unknown")
    s["need_type"] = _text(services, "need_types").str.split(";")
    s["with_phone"] = _text(services, "phone") != ""
    s["with_hours"] = _text(services, "hours") != ""
    s["with_languages"] = _text(services, "languages") != ""
    s["with_capacity"] = _text(services, "capacity") != ""
    precision = _text(services, "geocode_precision")
    s["town_or_coarser"] = precision.isin(_COARSE)
    s["area_only"] = precision == "area"
    s["unplaced"] = precision == "none"
    verified = pd.to_datetime(_text(services, "last_verified").str[:10], errors="coerce",
                              format="%Y-%m-%d")
    s["with_verified_date"] = verified.notna()
    cutoff = pd.Timestamp(today - dt.timedelta(days=stale_after_days))
    s["verified_stale"] = verified.notna() & (verified < cutoff)
    s["confidential"] = services["confidential"].astype(bool) if "confidential" in \
        services.columns else False
    s["unverified"] = _text(services, "verification").str.lower().str.match(
        r"^(unverified|pending)")
    s = s.explode("need_type")
    s = s[s["need_type"].fillna("") != ""]
    counts = QUALITY_COLUMNS[3:]
    by_region = s.groupby(["opp_region", "need_type"], sort=True)
    table = by_region[counts].sum()
    table.insert(0, "services", by_region.size())
    total = s.groupby("need_type", sort=True)
    all_rows = total[counts].sum()
    all_rows.insert(0, "services", total.size())
    all_rows = all_rows.reset_index()
    all_rows.insert(0, "opp_region", ALL_REGIONS)
    out = pd.concat([table.reset_index(), all_rows], ignore_index=True)
    out[QUALITY_COLUMNS[2:]] = out[QUALITY_COLUMNS[2:]].astype(int)
    return out[QUALITY_COLUMNS]
