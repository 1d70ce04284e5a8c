"""What counts as access (issue 16): by which kind a service reaches a community, open when
needed, and for whom. Pure functions over the services, the demand points and the in-person
pairs the travel stage writes (:func:`gapmap.travel.reach_pairs`); no config.

Kinds
-----
A service reaches a demand point for a need in one or more of three kinds:

- **in person**: the service counts in person (:func:`gapmap.contracts.counts_in_person`:
  placed, and its ``delivery`` includes ``in_person`` or is unknown) and a pair within the
  need's threshold joins them (a drive, or ``in_community``: time 0 inside a community with
  no all-season road). An outreach-only or virtual-only service never counts in person,
  even with a point.
- **outreach**: ``delivery`` includes ``outreach`` and the point is in its area
  (:func:`reach_areas`).
- **line**: ``delivery`` includes ``virtual`` (phone, text, video) and the point is in its
  area.

:func:`reach_by_kind` says, per demand point and need, which kinds reach it given any
filtered set of services (open 24/7, admitting a group, offering French): the one function
every such question calls. :func:`reached_by` turns the three flags into one word, best
first (:data:`REACHED_BY`): ``in_person``, ``outreach`` (only by outreach), ``line`` (only
by a line), ``none``.

Areas
-----
A service's area (:func:`reach_areas`) is the codes it names: ``service_area_codes`` (from
the geocoder: census divisions, 4 digits; subdivisions, 7 digits; ``ON`` the province)
together with ``area_cduids``. When it names none: ``opp_region`` ``all`` is the province;
else a placed service's own census division (``cduid``: a local agency's line or outreach
covers its district, no more, until the listing says otherwise); else its OPP region(s);
else a virtual service (a line listed with no place and no area) reaches the province and
an outreach service reaches nobody. A demand point is in an area when the area holds
``ON``, its census division, its census subdivision (subdivision points only: a census
tract carries its division but no subdivision, so a subdivision code does not reach
tracts) or its OPP region.

Open when needed
----------------
:func:`hours_known` reads ``open_24_7``. For a need that requires 24/7, ``no`` never counts
and ``yes`` counts; the best kind that reaches a point is found over the services open 24/7
or of unknown hours (``unknown`` or blank), and when no service open 24/7 reaches it by
that kind the point is ``hours_unknown``, never covered or not covered. So a hospital of
unknown hours 5 minutes away does not turn into "line only" because a 24/7 line exists,
and a line of unknown hours that is the only reach is ``hours_unknown``.

For whom
--------
:func:`admits` says whether a service's stated eligibility admits a group (:data:`GROUPS`):
``no`` when its ``gender_limit`` is the other gender (``men`` for a group of women) or its
``eligible_groups`` name groups, none of which take the group in (a youth-only shelter does
not take in a woman with her children; one open to ``families`` or ``women_with_children``
does); ``yes`` when it states a limit that does not shut the group out (``any``,
``women``, a group that includes it); ``unknown`` when it states nothing. Age limits are
reported but not used (the run's group has no age). Unknown counts, and is reported as
unknown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gapmap.contracts import TIMED_ACCESS, codes_in, counts_in_person, delivery_has
from gapmap.taxonomy import offers_each

PROVINCE = "ON"
"""The area code of the whole province (``35``, Ontario's census code, is read as it too)."""

REACHED_BY: tuple[str, ...] = ("in_person", "outreach", "line", "hours_unknown", "none")
"""How a demand point is reached for a need, best first: in person within the threshold;
only by outreach; only by a line (phone, text, video); a need that requires 24/7 whose best
kind of reach is only by services of unknown hours; not at all."""


@dataclass(frozen=True)
class Group:
    """Who a run is for: the ``gender_limit`` that excludes the group (``None``: none does)
    and the ``eligible_groups`` that take it in."""

    excluded_by_gender: str | None
    taken_in_by: frozenset[str]


GROUPS: Mapping[str, Group] = {
    "women_with_children": Group("men", frozenset({"women_with_children", "families",
                                                   "women"})),
    "women": Group("men", frozenset({"women", "women_with_children"})),
    "youth": Group(None, frozenset({"youth"})),
    "families": Group(None, frozenset({"families", "women_with_children"})),
    "men": Group("women", frozenset({"men"})),
}
"""The groups a run can be for (``access.for_group``) and what their eligibility rule reads."""


def _column(services: pd.DataFrame, name: str) -> pd.Series:
    if name in services.columns:
        return services[name].fillna("").astype(str)
    return pd.Series("", index=services.index, dtype=object)


def reach_areas(services: pd.DataFrame) -> pd.Series:
    """Each service's area as a set of codes (module docstring: ``ON``, census division and
    subdivision codes, ``region:<OPP region>``); an empty set reaches nobody."""
    named = [a | b for a, b in zip(codes_in(services, "service_area_codes"),
                                   codes_in(services, "area_cduids"), strict=True)]
    regions = codes_in(services, "opp_region")
    cduid = _column(services, "cduid")
    virtual = delivery_has(services, "virtual")
    out = []
    for codes, reg, cd, line in zip(named, regions, cduid, virtual, strict=True):
        if codes:
            area = frozenset(PROVINCE if c == "35" else c for c in codes)
        elif "all" in reg:
            area = frozenset({PROVINCE})
        elif cd:
            area = frozenset({cd})
        elif reg:
            area = frozenset(f"region:{r}" for r in reg)
        else:
            area = frozenset({PROVINCE}) if line else frozenset()
        out.append(area)
    return pd.Series(out, index=services.index, dtype=object)


def in_area(demand: pd.DataFrame, areas: pd.Series) -> np.ndarray:
    """Boolean (demand points x services): the point is in the service's area."""
    cd = _column(demand, "cduid").to_numpy()
    csd = _column(demand, "csduid").to_numpy()
    region = np.array([f"region:{r}" for r in _column(demand, "opp_region")], dtype=object)
    out = np.zeros((len(demand), len(areas)), dtype=bool)
    for j, area in enumerate(areas):
        if PROVINCE in area:
            out[:, j] = True
        elif area:
            codes = list(area)
            out[:, j] = (np.isin(cd, codes) | (np.isin(csd, codes) & (csd != ""))
                         | np.isin(region, codes))
    return out


def reach_by_kind(pairs: pd.DataFrame, demand: pd.DataFrame, services: pd.DataFrame, *,
                  thresholds_min: Mapping[str, float],
                  need_types: Sequence[str] | None = None) -> pd.DataFrame:
    """Per demand point and need, which kinds of the given ``services`` reach it.

    ``pairs``: the in-person pairs (``demand_id``, ``service_id``, ``travel_min``,
    ``access``; :func:`gapmap.travel.reach_pairs`), within at least each need's threshold;
    pairs of a service not in ``services`` are ignored, so filter ``services`` (24/7,
    eligibility, language) and call again. ``thresholds_min`` gives each need's threshold,
    ``need_types`` (default its keys) the needs.

    Returns ``demand_id``, ``need_type`` (need-major, demand order) and the booleans
    ``in_person``, ``outreach``, ``line``.
    """
    needs = list(thresholds_min) if need_types is None else list(need_types)
    n, k = len(demand), len(needs)
    services = services.drop_duplicates("service_id")
    offered = (offers_each(services["need_types"], needs) if len(services)
               else np.zeros((0, k), dtype=bool))
    in_person = counts_in_person(services).to_numpy() if len(services) else np.zeros(0, bool)
    demand_pos = pd.Index(demand["demand_id"]).get_indexer(pairs["demand_id"])
    service_pos = pd.Index(services["service_id"]).get_indexer(pairs["service_id"])
    timed = pairs["access"].isin(TIMED_ACCESS).to_numpy()
    ok = (demand_pos >= 0) & (service_pos >= 0) & timed
    ok[ok] &= in_person[service_pos[ok]]
    minutes = pairs["travel_min"].to_numpy(dtype=float)
    person = np.zeros((k, n), dtype=bool)
    for j, need in enumerate(needs):
        hit = ok.copy()
        hit[ok] &= offered[service_pos[ok], j]
        hit &= minutes <= float(thresholds_min[need])
        person[j, demand_pos[hit]] = True
    areas = reach_areas(services) if len(services) else pd.Series([], dtype=object)
    inside = in_area(demand, areas)
    outreach = _by_area(inside, offered, delivery_has(services, "outreach").to_numpy())
    line = _by_area(inside, offered, delivery_has(services, "virtual").to_numpy())
    return pd.DataFrame({
        "demand_id": np.tile(demand["demand_id"].to_numpy(), k),
        "need_type": np.repeat(np.asarray(needs, dtype=object), n),
        "in_person": person.ravel(), "outreach": outreach.ravel(), "line": line.ravel()})


def _by_area(inside: np.ndarray, offered: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """(needs x demand): a service of the kind offering the need has the point in its area."""
    use = offered & kind[:, None]
    return (inside.astype(np.int32) @ use.astype(np.int32)).T > 0


def reached_by(reach: pd.DataFrame) -> pd.Series:
    """One word per row of :func:`reach_by_kind`, best first: ``in_person``, ``outreach``,
    ``line``, ``none``."""
    return pd.Series(np.select([reach["in_person"], reach["outreach"], reach["line"]],
                               ["in_person", "outreach", "line"], "none"),
                     index=reach.index, dtype=object)


def reach_with_rules(pairs: pd.DataFrame, demand: pd.DataFrame, services: pd.DataFrame, *,
                     thresholds_min: Mapping[str, float], need_24_7: Sequence[str] = (),
                     group: str = "women_with_children") -> pd.DataFrame:
    """Per demand point and need: the kinds that reach it for anyone at any hours
    (``in_person``, ``outreach``, ``line``, as :func:`reach_by_kind`), and ``reached_by``
    (anyone) and ``reached_by_group`` (the services that admit ``group``, :func:`admits`
    not ``no``), each one of :data:`REACHED_BY` with the hours rule applied to the needs of
    ``need_24_7`` (:func:`hours_known`; the module docstring)."""
    base = reach_by_kind(pairs, demand, services, thresholds_min=thresholds_min)
    out = base.copy()
    out["reached_by"] = _with_hours(base, pairs, demand, services, thresholds_min,
                                    need_24_7).to_numpy()
    taken_in = admits(services, group) != "no"
    for_group = services[taken_in]
    group_base = base if taken_in.all() else reach_by_kind(  # the same services: same reach
        pairs, demand, for_group, thresholds_min=thresholds_min)
    out["reached_by_group"] = _with_hours(group_base, pairs, demand, for_group,
                                          thresholds_min, need_24_7).to_numpy()
    return out


def _with_hours(base: pd.DataFrame, pairs: pd.DataFrame, demand: pd.DataFrame,
                services: pd.DataFrame, thresholds_min: Mapping[str, float],
                need_24_7: Sequence[str]) -> pd.Series:
    """:func:`reached_by` of ``base``, with the needs of ``need_24_7`` judged on the
    services open 24/7 or of unknown hours, ``hours_unknown`` where the best kind is reached
    only through services of unknown hours (module docstring)."""
    word = reached_by(base)
    needs = [n for n in need_24_7 if n in thresholds_min]
    if not needs:
        return word
    yes, unknown = hours_known(services)
    strict = reached_by(reach_by_kind(pairs, demand, services[yes],
                                      thresholds_min=thresholds_min, need_types=needs))
    loose = reached_by(reach_by_kind(pairs, demand, services[yes | unknown],
                                     thresholds_min=thresholds_min, need_types=needs))
    judged = strict.where(strict == loose, "hours_unknown")
    key = pd.MultiIndex.from_arrays([base["demand_id"], base["need_type"]])
    sub = pd.MultiIndex.from_arrays([np.tile(demand["demand_id"].to_numpy(), len(needs)),
                                     np.repeat(np.asarray(needs, dtype=object), len(demand))])
    pos = key.get_indexer(sub)
    out = word.to_numpy().copy()
    out[pos] = judged.to_numpy()
    return pd.Series(out, index=base.index, dtype=object)


def hours_known(services: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(open 24/7, hours unknown) per service, from ``open_24_7`` (``yes``; ``unknown`` or
    blank)."""
    value = _column(services, "open_24_7").str.strip().str.lower()
    return value == "yes", value.isin(["", "unknown"])


def admits(services: pd.DataFrame, group: str) -> pd.Series:
    """``yes`` | ``no`` | ``unknown`` per service: does its stated eligibility take in
    ``group`` (a key of :data:`GROUPS`; the rule is in the module docstring)?"""
    try:
        g = GROUPS[group]
    except KeyError:
        raise ValueError(f"unknown group {group!r} (one of {', '.join(GROUPS)})") from None
    gender = _column(services, "gender_limit").str.strip().str.lower()
    groups = codes_in(services, "eligible_groups")
    excluded = (gender == g.excluded_by_gender) if g.excluded_by_gender else \
        pd.Series(False, index=services.index)
    not_taken = groups.map(lambda gs: bool(gs) and not (gs & g.taken_in_by)).astype(bool)
    stated = (gender != "") | groups.map(bool).astype(bool)
    return pd.Series(np.select([excluded | not_taken, stated], ["no", "yes"], "unknown"),
                     index=services.index, dtype=object)


def limit_text(services: pd.DataFrame) -> pd.Series:
    """Each service's stated limit in words (``men``, ``youth; ages 16-24``), "" when it
    states none (``gender_limit`` ``any`` is no limit)."""
    gender = _column(services, "gender_limit").str.strip().str.lower()
    groups = _column(services, "eligible_groups").str.strip()
    lo = pd.to_numeric(services.get("age_min", pd.Series(np.nan, index=services.index)),
                       errors="coerce")
    hi = pd.to_numeric(services.get("age_max", pd.Series(np.nan, index=services.index)),
                       errors="coerce")
    out = []
    for g, grp, a, b in zip(gender, groups, lo, hi, strict=True):
        parts = [g] if g and g != "any" else []
        parts += [x for x in grp.split(";") if x]
        if pd.notna(a) or pd.notna(b):
            parts.append("ages " + (f"{a:g}" if pd.notna(a) else "") + "-"
                         + (f"{b:g}" if pd.notna(b) else ""))
        out.append("; ".join(parts))
    return pd.Series(out, index=services.index, dtype=object)


ELIGIBILITY_COLUMNS = ["need_type", "for_group", "services", "services_restricted",
                       "restricted_to", "services_admit_group", "services_exclude_group",
                       "services_eligibility_unknown", "restricted_services"]


def eligibility_by_need(services: pd.DataFrame, need_types: Sequence[str], *,
                        group: str) -> pd.DataFrame:
    """Per need: how many services restrict whom they serve and to whom.

    Columns (:data:`gapmap.contracts.ELIGIBILITY_BY_NEED`): ``need_type``, ``for_group``,
    ``services``, ``services_restricted`` (a stated limit), ``restricted_to`` (each limit
    and its count, ``"men 2; youth; ages 16-24 1"``), ``services_admit_group`` (stated, and
    it takes the group in), ``services_exclude_group``, ``services_eligibility_unknown``
    (states nothing: counted for the group), ``restricted_services`` (each restricting
    service's id, name and limit).
    """
    services = services.drop_duplicates("service_id")
    offered = offers_each(services["need_types"], need_types) if len(services) else \
        np.zeros((0, len(need_types)), dtype=bool)
    limit = limit_text(services)
    verdict = admits(services, group)
    rows = []
    for j, need in enumerate(need_types):
        sel = offered[:, j]
        lim, ok, s = limit[sel], verdict[sel], services[sel]
        restricted = lim != ""
        counts = Counter(lim[restricted])
        rows.append({
            "need_type": need, "for_group": group, "services": int(sel.sum()),
            "services_restricted": int(restricted.sum()),
            "restricted_to": "; ".join(f"{t} {c}" for t, c in sorted(counts.items())),
            "services_admit_group": int((ok == "yes").sum()),
            "services_exclude_group": int((ok == "no").sum()),
            "services_eligibility_unknown": int((ok == "unknown").sum()),
            "restricted_services": " | ".join(
                f"{i} {nm} ({t})" for i, nm, t in zip(
                    s.loc[restricted, "service_id"], s.loc[restricted, "name"],
                    lim[restricted], strict=True)),
        })
    return pd.DataFrame(rows, columns=ELIGIBILITY_COLUMNS)
