"""What a referral sheet lists, from plain frames: per place and need, the nearest services by
drive time, the lines and area listings that serve the place, and how fresh each listing is.

Pure functions over frames and values (the stage :mod:`gapmap.referral` turns the Config into
them). The result is one long table, :data:`REFERRAL_COLUMNS`, one row per (place, need,
listed service); :mod:`gapmap.outputs.referral` draws and writes it.

The nearest services are those a person can walk into
(:func:`gapmap.contracts.counts_in_person`, by drive time). Below them, the services that do
not count in person (a line, outreach, a listing for an area) and whose area covers the place
(:func:`gapmap.analysis.access.reach_areas`, the rule coverage uses): a ``line`` when it has
a phone, else ``area``; ``reached`` says ``by phone``, ``outreach`` or ``listed for the
area``. "Open 24/7" is the parsed hours' ``open_24_7`` (``yes``); where the hours were not
parsed (``unknown``), what the listing itself states in its hours, name or phone text
(:func:`stated_24_7`), never inferred from its kind; ``no`` is never 24/7.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from gapmap.analysis.access import in_area, reach_areas
from gapmap.contracts import codes_in, counts_in_person, is_placed
from gapmap.taxonomy import offers

REFERRAL_COLUMNS: tuple[str, ...] = (
    "place_id", "place", "opp_region", "cd_name", "place_access", "air_hub", "need_type",
    "section", "rank", "service_id", "name", "organization", "town", "phone", "website",
    "hours", "open_24_7", "languages", "eligibility", "travel_min", "reached", "confidential",
    "source", "last_verified", "verification")
"""One row per listed service on a sheet. ``section``: ``nearest`` (by drive time, ranked),
``line`` (no point, has a phone, serves the place), ``area`` (listed for the place's area
with no phone). ``reached``: ``road``, ``local road``, ``road (estimate)``, ``in community``,
``fly to <hub>, then road``, ``by phone``, ``outreach``, ``listed for the area``. ``verification``:
``verified``, ``stale`` or ``unverified``. No street address and no service coordinates:
the sheet names a service's town and its public contact (a confidential one is
``location withheld``)."""

_24_7 = re.compile(r"\b24\s*/\s*7\b|\b24[- ]?hours?\b|\b24[- ]?h\b|24 heures", re.I)
_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DOUBT = re.compile(r"\bunverified\b|\bnot confirmed\b|\bnot verified\b", re.I)


def stated_24_7(*texts: str) -> bool:
    """True when one of the listing's own texts (hours, name, phone) says it is open 24/7
    ("24/7", "24-hour", "24 hours", "24 h"). Not a parser of hours: the access issue brings
    that; a listing that says nothing is not taken as closed, only as not stated."""
    return any(_24_7.search(t or "") for t in texts)


def last_verified(note: str) -> dt.date | None:
    """The date a listing was last read at its source: the first ISO date (YYYY-MM-DD) in
    its provenance note (``retrieved_note``: "read 2026-11-26 ..."), else None."""
    m = _DATE.search(note or "")
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def verification(note: str, *, today: dt.date, stale_after_days: int) -> tuple[str, str]:
    """(status, date): ``unverified`` when the note gives no date or itself doubts the row
    ("unverified", "not confirmed"), ``stale`` when the date is more than
    ``stale_after_days`` before ``today``, else ``verified``; the date as YYYY-MM-DD or ""."""
    when = last_verified(note)
    text = when.isoformat() if when else ""
    if when is None or _DOUBT.search(note or ""):
        return "unverified", text
    if (today - when).days > stale_after_days:
        return "stale", text
    return "verified", text


def _reached(route: str, access: str) -> str:
    if route == "local":
        return "local road"
    return "road (estimate)" if access == "estimate" else "road"


def _service_fields(svc: pd.Series, *, today: dt.date, stale_after_days: int
                    ) -> dict[str, object]:
    """The columns a sheet shows of one service: its public contact and provenance."""
    status, when = verification(str(svc.get("notes", "") or ""), today=today,
                                stale_after_days=stale_after_days)
    text = {k: str(svc.get(k, "") or "") for k in (
        "service_id", "name", "organization", "phone", "website", "hours", "languages",
        "eligibility")}
    confidential = bool(svc.get("confidential", False))
    town = str(svc.get("matched_place", "") or svc.get("city", "") or "")
    if not is_placed(pd.DataFrame([svc])).iloc[0]:
        town = str(svc.get("area_name", "") or svc.get("city", "") or "")
    url = str(svc.get("source_url", "") or "")
    source = re.sub(r"^https?://(www\d*\.)?", "", url).split("/")[0] if url else ""
    source = source or str(svc.get("source", "") or "")
    return {**text, "town": town, "confidential": confidential,
            "open_24_7": _open_24_7(svc, text),
            "source": source, "last_verified": when, "verification": status}


def _open_24_7(svc: pd.Series, text: dict[str, str]) -> bool:
    """The parsed hours' answer (``open_24_7`` ``yes``/``no``); where they say nothing
    (``unknown``, or a frame without the column), what the listing's own texts state."""
    parsed = str(svc.get("open_24_7", "") or "unknown")
    if parsed in ("yes", "no"):
        return parsed == "yes"
    return stated_24_7(text["hours"], text["name"], text["phone"])


def _serves_area(services: pd.DataFrame, areas: pd.Series, place: pd.DataFrame) -> pd.Series:
    """The services that do not count in person whose area (``areas``, from
    :func:`gapmap.analysis.access.reach_areas`) covers ``place`` (one row: ``cduid``,
    ``csduid``, ``opp_region``)."""
    inside = in_area(place, areas)[0] if len(services) else np.zeros(0, dtype=bool)
    return ~counts_in_person(services) & pd.Series(inside, index=services.index)


def _how_reached(svc: dict[str, object], modes: frozenset[str]) -> str:
    if svc["phone"] and ("virtual" in modes or "outreach" not in modes):
        return "by phone"
    return "outreach" if "outreach" in modes else "listed for the area"


def referral_rows(places: pd.DataFrame, services: pd.DataFrame, times: pd.DataFrame,
                  need_types: Sequence[str], *, per_need: int, today: dt.date,
                  stale_after_days: int, in_community: pd.DataFrame | None = None
                  ) -> pd.DataFrame:
    """Every row of every sheet (:data:`REFERRAL_COLUMNS`).

    ``places``: ``place_id``, ``place``, ``opp_region``, ``cd_name``, ``cduid``, ``access``
    (``road``, ``estimate``, ``beyond_road_network`` or ``no_all_season_road``), ``air_hub``
    and ``origin_id`` (the origin its times start from: its own id, or its air hub's for a
    place with no all-season road). ``times``: drive times, long form, ``origin_id``,
    ``service_id``, ``travel_min``, ``route`` (``network`` | ``local``), ``access``
    (``road`` | ``estimate``), as :meth:`gapmap.travel.TravelMatrix.to_frame` gives them
    (its ``demand_id`` renamed). ``services``: the located services
    (``service_id``, ``need_types``, contact and provenance columns, ``geocode_precision``,
    ``area_cduids``, ``opp_region``). ``in_community``: ``place_id``, ``service_id`` of the
    services inside a place with no all-season road (time 0).
    """
    by_id = services.set_index("service_id", drop=False)
    fields = {sid: _service_fields(row, today=today, stale_after_days=stale_after_days)
              for sid, row in by_id.iterrows()}
    times = times.merge(services[["service_id", "need_types"]], on="service_id")
    local = (in_community if in_community is not None
             else pd.DataFrame(columns=["place_id", "service_id"]))
    areas = reach_areas(services)
    modes_of = dict(zip(services["service_id"], codes_in(services, "delivery"), strict=True))
    rows: list[dict[str, object]] = []
    for place in places.itertuples(index=False):
        head = {"place_id": place.place_id, "place": place.place,
                "opp_region": place.opp_region, "cd_name": place.cd_name,
                "place_access": place.access, "air_hub": place.air_hub}
        mine = times[times["origin_id"] == place.origin_id]
        here = set(local.loc[local["place_id"] == place.place_id, "service_id"])
        where = pd.DataFrame({"cduid": [str(place.cduid)], "csduid": [""],
                              "opp_region": [str(place.opp_region)]})
        area = services[_serves_area(services, areas, where).to_numpy()]
        fly = place.access == "no_all_season_road"
        for need in need_types:
            ranked = _nearest(mine, here, by_id, need, per_need, fly=fly, hub=place.air_hub)
            for rank, (sid, minutes, how) in enumerate(ranked, 1):
                rows.append({**head, "need_type": need, "section": "nearest", "rank": rank,
                             **fields[sid], "travel_min": minutes, "reached": how})
            for sid in _lines(area, need, fields):
                has_phone = bool(fields[sid]["phone"])
                rows.append({**head, "need_type": need,
                             "section": "line" if has_phone else "area", "rank": 0,
                             **fields[sid], "travel_min": np.nan,
                             "reached": _how_reached(fields[sid], modes_of[sid])})
    out = pd.DataFrame(rows, columns=list(REFERRAL_COLUMNS))
    out["rank"] = out["rank"].astype("int64")
    out["travel_min"] = out["travel_min"].astype(float).round(1)
    return out


def _nearest(times: pd.DataFrame, here: set[str], by_id: pd.DataFrame, need: str, k: int, *,
             fly: bool, hub: str) -> list[tuple[str, float, str]]:
    """The ``k`` nearest services of ``need``: those in the community first (time 0), then
    by drive time (ties by id), each once."""
    found: list[tuple[str, float, str]] = []
    for sid in sorted(here):
        if offers(by_id.loc[[sid], "need_types"], need).iloc[0]:
            found.append((sid, 0.0, "in community"))
    cand = times[offers(times["need_types"], need).to_numpy()]
    cand = cand[~cand["service_id"].isin(here)].sort_values(["travel_min", "service_id"])
    for r in cand.head(k).itertuples(index=False):
        how = _reached(str(r.route), str(r.access))
        if fly:
            how = f"fly to {hub}, then {how}" if hub else f"fly out, then {how}"
        found.append((str(r.service_id), float(r.travel_min), how))
    return found[:k]


def _lines(area: pd.DataFrame, need: str, fields: dict[str, dict[str, object]]) -> list[str]:
    """The area-level and province-wide listings of ``need`` serving the place: those with a
    phone first, stated 24/7 first among them, then by name."""
    ids = area.loc[offers(area["need_types"], need).to_numpy(), "service_id"].tolist()
    return sorted(ids, key=lambda s: (not fields[s]["phone"], not fields[s]["open_24_7"],
                                      str(fields[s]["name"]).lower(), s))
