"""French-language access: which people live in an area designated under the French
Language Services Act (FLSA), where the Act gives a right to provincial services in French.

The designated areas are public law, shipped as ``data/raw/ontario/flsa_designated_areas.csv``
(:func:`read_designated_areas`; its source and mapping to 2021 census geography are in
``data/raw/PROVENANCE.md``): one row per census subdivision, or per whole census division
(``csduid`` blank), with ``coverage``:

* ``all``: the whole subdivision (or division) is designated;
* ``most`` / ``part``: a designated former municipality is now most / part of a larger
  2021 subdivision (Hamilton as it was in 2000, Winchester in North Dundas, Anderdon in
  Amherstburg, ...).

**Rule for most and part.** The whole subdivision counts as designated. This over-counts
(the 2021 census has no population for the former municipality), so every figure also gives
the population that comes from ``most`` and ``part`` rows (``pop_designated_partial``), and
a planner can quote the range.

**Rule for points without a subdivision.** A census tract carries its census division but
no subdivision. A point without one is given the subdivision whose representative point (the
census subdivision file's ``lat``/``lon``) is nearest, among the subdivisions of its own
census division and, for a tract, of its own census metropolitan area or agglomeration (the
first three digits of the tract id). Where the division holds one subdivision of the metro
area (Toronto, Ottawa, Greater Sudbury, Hamilton, London, Kingston) the rule is exact; where
it holds several (Peel: Mississauga, Brampton, Caledon), tracts near a boundary may be given
the neighbour. A point in a wholly designated division is designated whatever subdivision it
is given.

:func:`designation` returns, per demand point: ``demand_id``, ``designated_area`` (the Act's
name, "" when not designated), ``designation`` (``all`` | ``most`` | ``part`` | ""),
``flsa_csduid`` (the subdivision the point was counted in, "" for a whole division) and
``flsa_rule`` (``subdivision`` | ``nearest subdivision`` | ``whole division`` | "").
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from gapmap.contracts import codes_in
from gapmap.errors import SchemaError
from gapmap.io import read_table, require_columns
from gapmap.travel import projected_xy

DESIGNATED_COLUMNS = ["designated_area", "csduid", "cduid", "coverage", "source"]
"""The columns :func:`read_designated_areas` requires (``note`` is kept when present)."""
COVERAGE_VALUES = ("all", "most", "part")
DESIGNATION_COLUMNS = ["demand_id", "designated_area", "designation", "flsa_csduid",
                       "flsa_rule"]


def read_designated_areas(path: Path) -> pd.DataFrame:
    """The designated-areas table, checked: the columns present, ``coverage`` one of
    :data:`COVERAGE_VALUES`, ``csduid`` 7 digits or blank, ``cduid`` 4 digits and the
    subdivision inside it, no subdivision or division listed twice. An error names the file,
    the line and the field."""
    df = read_table(path)
    require_columns(df, DESIGNATED_COLUMNS, str(path))
    df = df.astype(str).apply(lambda c: c.str.strip())
    for i, row in df.iterrows():
        line = int(str(i)) + 2  # the header is line 1
        where = f"{path}: line {line}"
        if row["coverage"] not in COVERAGE_VALUES:
            raise SchemaError(f"{where}: field coverage is {row['coverage']!r}; expected one "
                              f"of {', '.join(COVERAGE_VALUES)}")
        if not (len(row["cduid"]) == 4 and row["cduid"].isdigit()):
            raise SchemaError(f"{where}: field cduid is {row['cduid']!r}; expected a 4-digit "
                              "census division code")
        csd = row["csduid"]
        if csd and not (len(csd) == 7 and csd.isdigit() and csd.startswith(row["cduid"])):
            raise SchemaError(f"{where}: field csduid is {csd!r}; expected blank (the whole "
                              f"division) or a 7-digit code inside division {row['cduid']}")
    key = df["csduid"].where(df["csduid"] != "", "cd-" + df["cduid"])
    dup = key[key.duplicated()]
    if len(dup):
        line = int(dup.index[0]) + 2
        raise SchemaError(f"{path}: line {line}: field csduid: {dup.iloc[0]!r} is listed twice")
    return df.reset_index(drop=True)


def _tract_cma(demand: pd.DataFrame) -> pd.Series:
    """The census metropolitan area or agglomeration code of a tract ("" for other points):
    the first three digits of its id."""
    ids = demand["demand_id"].astype(str)
    return ids.str.extract(r"^ct-(\d{3})", expand=False).fillna("")


def designation(demand: pd.DataFrame, areas: pd.DataFrame,
                subdivisions: pd.DataFrame) -> pd.DataFrame:
    """Each demand point's FLSA designation (columns :data:`DESIGNATION_COLUMNS`; rules in
    the module docstring).

    ``demand`` needs ``demand_id``, ``cduid``, ``csduid`` ("" when unknown) and a point
    ``geometry``; ``subdivisions`` the census subdivision table (``csduid``, ``cduid``,
    ``cma_code``, ``lat``, ``lon``); ``areas`` is :func:`read_designated_areas`'.
    """
    out = pd.DataFrame({"demand_id": demand["demand_id"].astype(str).to_numpy()})
    cduid = demand["cduid"].fillna("").astype(str).to_numpy()
    csduid = demand["csduid"].fillna("").astype(str).to_numpy().copy()
    rule = np.where(csduid != "", "subdivision", "").astype(object)
    missing = np.flatnonzero(csduid == "")
    if len(missing):
        subs = subdivisions.copy()
        subs_xy = projected_xy(gpd.GeoSeries(gpd.points_from_xy(
            pd.to_numeric(subs["lon"]), pd.to_numeric(subs["lat"])), crs=4326))
        pts = demand.iloc[missing]
        xy = projected_xy(pts)
        cma = _tract_cma(pts).to_numpy()
        for k, i in enumerate(missing):
            if not np.isfinite(xy[k]).all():
                continue
            cand = (subs["cduid"].astype(str) == cduid[i]).to_numpy()
            if cma[k]:
                in_cma = cand & (subs["cma_code"].astype(str) == cma[k]).to_numpy()
                cand = in_cma if in_cma.any() else cand
            idx = np.flatnonzero(cand)
            if not len(idx):
                continue
            _, j = cKDTree(subs_xy[idx]).query(xy[k])
            csduid[i] = str(subs["csduid"].iloc[idx[int(j)]])
            rule[i] = "nearest subdivision"
    by_csd = areas[areas["csduid"] != ""].set_index("csduid")
    whole = areas[areas["csduid"] == ""].set_index("cduid")
    name = np.full(len(out), "", dtype=object)
    cover = np.full(len(out), "", dtype=object)
    counted = np.full(len(out), "", dtype=object)
    for n in range(len(out)):
        if cduid[n] in whole.index:
            row = whole.loc[cduid[n]]
            rule[n] = "whole division"
        elif csduid[n] in by_csd.index:
            row = by_csd.loc[csduid[n]]
            counted[n] = csduid[n]
        else:
            rule[n] = ""
            continue
        name[n], cover[n] = row["designated_area"], row["coverage"]
    out["designated_area"], out["designation"] = name, cover
    out["flsa_csduid"], out["flsa_rule"] = counted, rule
    return out[DESIGNATION_COLUMNS]




FRENCH_ACCESS_KINDS = ("in_person", "outreach", "line", "language_unknown", "none")
"""How a designated community is best reached in French (:func:`french_reach`): in person
within the need's threshold, else only by outreach, else only by a line, all by services that
state French; ``language_unknown`` when the best way it is reached at all is by a service
whose languages are not stated (it may or may not offer French: not a gap, not covered);
``none`` when nothing that offers or may offer French reaches it."""

FRENCH_ACCESS_COLUMNS = ["need_type", "opp_region", "pop_designated", "pop_designated_partial",
                         "pop_fr_in_person", "pop_fr_outreach_only", "pop_fr_line_only",
                         "pop_fr_language_unknown", "pop_fr_none", "pct_fr_in_person",
                         "services_in_french", "services_language_unknown"]


def french_access_by_region(reach: pd.DataFrame, designated: pd.DataFrame,
                            demand: pd.DataFrame, *, regions: list[str],
                            total_label: str = "Ontario",
                            services_in_french: Mapping[str, int] | None = None,
                            services_language_unknown: Mapping[str, int] | None = None
                            ) -> pd.DataFrame:
    """``french_access_by_region.csv``: per need type and OPP region (and the total), the
    population of designated areas and how it is reached in French.

    ``reach`` has one row per demand point and need type, ``demand_id``, ``need_type`` and
    ``reached_by`` (one of :data:`FRENCH_ACCESS_KINDS`, :func:`french_reach`);
    ``designated`` is :func:`designation`'s table; ``demand`` gives ``pop2021`` and
    ``opp_region``; the two mappings count the services per need type that state French and
    that state no language (0 when not given).

    Columns (:data:`FRENCH_ACCESS_COLUMNS`): ``pop_designated`` (everyone in a designated
    area, 'most' and 'part' rows counting their whole subdivision), ``pop_designated_partial``
    (of which from 'most' and 'part' rows), ``pop_fr_in_person``, ``pop_fr_outreach_only``,
    ``pop_fr_line_only``, ``pop_fr_language_unknown``, ``pop_fr_none`` (these five sum to
    ``pop_designated``), ``pct_fr_in_person``, ``services_in_french`` and
    ``services_language_unknown``.
    """
    bad = set(reach["reached_by"]) - set(FRENCH_ACCESS_KINDS)
    if bad:
        raise ValueError(f"reached_by has unknown value(s) {sorted(bad)}")
    pts = designated[designated["designation"] != ""].merge(
        pd.DataFrame(demand[["demand_id", "pop2021", "opp_region"]]), on="demand_id",
        validate="1:1")
    r = reach.merge(pts, on="demand_id", how="inner", validate="m:1")
    rows = []
    for need in pd.unique(reach["need_type"]):
        rn = r[r["need_type"] == need]
        for region in [*regions, None]:
            sel = rn if region is None else rn[rn["opp_region"] == region]
            pop = sel["pop2021"]
            total = int(pop.sum())
            kind = {k: int(pop[sel["reached_by"] == k].sum()) for k in FRENCH_ACCESS_KINDS}
            rows.append({
                "need_type": need, "opp_region": region or total_label,
                "pop_designated": total,
                "pop_designated_partial": int(pop[sel["designation"] != "all"].sum()),
                "pop_fr_in_person": kind["in_person"],
                "pop_fr_outreach_only": kind["outreach"],
                "pop_fr_line_only": kind["line"],
                "pop_fr_language_unknown": kind["language_unknown"],
                "pop_fr_none": kind["none"],
                "pct_fr_in_person": (round(100 * kind["in_person"] / total, 1) if total
                                     else np.nan),
                "services_in_french": int((services_in_french or {}).get(need, 0)),
                "services_language_unknown": int(
                    (services_language_unknown or {}).get(need, 0)),
            })
    return pd.DataFrame(rows, columns=FRENCH_ACCESS_COLUMNS)


def offers_french(services: pd.DataFrame) -> pd.Series:
    """Per service: its ``language_codes`` include ``fr``."""
    return codes_in(services, "language_codes").map(lambda c: "fr" in c).astype(bool)


def language_unknown(services: pd.DataFrame) -> pd.Series:
    """Per service: its listing states no language."""
    return codes_in(services, "language_codes").map(lambda c: not c).astype(bool)


def french_reach(pairs: pd.DataFrame, demand: pd.DataFrame, services: pd.DataFrame, *,
                 thresholds_min: Mapping[str, float]) -> pd.DataFrame:
    """Per demand point and need, how it is reached in French (``demand_id``,
    ``need_type``, ``reached_by``, one of :data:`FRENCH_ACCESS_KINDS`).

    The best kind (in person, outreach, line: :func:`gapmap.analysis.access.reach_by_kind`)
    is judged over the services that state French or state no language; when only the
    latter give that best kind, the answer is ``language_unknown``, never a gap: a listing
    that does not say is not evidence that French is missing. For anyone, at any hours.
    """
    from gapmap.analysis.access import reach_by_kind, reached_by

    fr, unknown = offers_french(services).to_numpy(), language_unknown(services).to_numpy()
    known = reached_by(reach_by_kind(pairs, demand, services[fr],
                                     thresholds_min=thresholds_min))
    maybe_reach = reach_by_kind(pairs, demand, services[fr | unknown],
                                thresholds_min=thresholds_min)
    maybe = reached_by(maybe_reach)
    best = known.where(known.to_numpy() == maybe.to_numpy(), "language_unknown")
    return maybe_reach[["demand_id", "need_type"]].assign(reached_by=best.to_numpy())


__all__ = ["COVERAGE_VALUES", "DESIGNATED_COLUMNS", "DESIGNATION_COLUMNS",
           "FRENCH_ACCESS_COLUMNS", "FRENCH_ACCESS_KINDS", "designation",
           "french_access_by_region", "french_reach", "language_unknown", "offers_french",
           "read_designated_areas"]
