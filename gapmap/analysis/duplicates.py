"""The same service listed by two sources -> one service, every source named.

:func:`merge_duplicates` is a pure function over the services table (:mod:`gapmap.ingest`):
two rows from different sources are the same service when

* ``same_address``: the same organisation and name (case, accents, punctuation folded) at
  the same street address and town;
* ``within_m``: the same organisation and name, their listed points within ``within_m``
  metres (200 by default);
* ``same_phone``: a phone number (E.164) in common, in the same town.

Within one source, two rows are the same service listed twice (a directory filing it under
two categories: ``same_listing``) when they have the same organisation and name, the same
phone numbers and town, and no field that gives two different values; programmes that share
an intake line but differ in hours, eligibility or address stay apart.

Each group keeps its first row (the order of the config's listings); the others fill the
fields it leaves blank, add their need types, and are named in its ``source``,
``source_row`` and ``notes``. A confidential row never lends its location: its address,
postal code and point are never copied into a public row (they are withheld anyway), and a
group with a confidential row is confidential, its location withheld. A withheld address
is never compared.

``duplicates.csv`` (:data:`DUPLICATE_COLUMNS`): one row per merged row, for the analyst to
confirm or split (a listing override ``split`` keeps two rows apart).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import pandas as pd

from gapmap.taxonomy import fold

DUPLICATE_COLUMNS = ["kept_id", "merged_id", "rule", "distance_m", "name", "merged_name",
                     "kept_source", "merged_source", "confidential"]
"""``duplicates.csv``: the row kept, the row merged into it, the rule that matched
(``same_address`` | ``within_m`` | ``same_phone`` | ``same_listing``), the distance between
their listed points (blank when either has none), both names and sources, and whether the merged
service is confidential."""
_LOCATION = ("address", "postal_code", "lat", "lon")
_WITHHELD = "withheld (confidential)"


def _key(text: object) -> str:
    return re.sub(r"[^a-z0-9]+", " ", fold(str(text or ""))).strip()


def _metres(a: pd.Series, b: pd.Series) -> float:
    if any(pd.isna(v) for v in (a["lat"], a["lon"], b["lat"], b["lon"])):
        return math.nan
    p1, p2 = math.radians(a["lat"]), math.radians(b["lat"])
    dp, dl = p2 - p1, math.radians(b["lon"] - a["lon"])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def _numbers(row: pd.Series) -> frozenset[str]:
    """A row's phone numbers in E.164, without extensions (``phone_e164`` is ``", "``-joined,
    an extension after ``;ext=``)."""
    return frozenset(p.split(";")[0] for p in str(row.get("phone_e164", "") or "").split(", ")
                     if p)


def _pairs(services: pd.DataFrame, within_m: float) -> Iterable[tuple[int, int, str, float]]:
    """(i, j, rule, metres) for each matching pair of rows from different sources."""
    rows = services.reset_index(drop=True)
    named: dict[tuple[str, str], list[int]] = {}
    phoned: dict[tuple[str, str], list[int]] = {}
    for i, r in rows.iterrows():
        named.setdefault((_key(r["organization"]), _key(r["name"])), []).append(int(i))
        town = _key(r["place_name"])
        for number in sorted(_numbers(r)) if town else ():  # sorted: the same order each run
            phoned.setdefault((number, town), []).append(int(i))
    seen: set[tuple[int, int]] = set()
    for members in named.values():  # one source listing the same service twice
        for x, i in enumerate(members):
            for j in members[x + 1:]:
                a, b = rows.loc[i], rows.loc[j]
                if a["source"] == b["source"] and _same_listing(a, b):
                    seen.add((i, j))
                    yield i, j, "same_listing", _metres(a, b)
    for members, by_phone in [*((g, False) for g in named.values()),
                              *((g, True) for g in phoned.values())]:
        for x, i in enumerate(members):
            for j in members[x + 1:]:
                a, b = rows.loc[i], rows.loc[j]
                if a["source"] == b["source"] or (i, j) in seen:
                    continue
                d = _metres(a, b)
                rule = "same_phone" if by_phone else ""
                if not by_phone:
                    same = (a["address"] and a["address"] != _WITHHELD
                            and _key(a["address"]) == _key(b["address"])
                            and _key(a["city"]) == _key(b["city"]))
                    rule = "same_address" if same else (
                        "within_m" if d <= within_m else "")
                if rule:
                    seen.add((i, j))
                    yield i, j, rule, d


_LISTING_TEXT = ("address", "postal_code", "website", "hours", "languages", "eligibility",
                 "delivery", "service_area", "capacity")


def _same_listing(a: pd.Series, b: pd.Series) -> bool:
    """Two rows of one source are one service listed twice (a directory filing it under two
    categories) when they share the phone and the town, and no field gives two different
    values (a blank field says nothing). Programmes of one organisation that share an intake
    line differ in their hours, eligibility or address, and stay apart."""
    phones = _numbers(a)
    if not phones or phones != _numbers(b) or _key(a["city"]) != _key(b["city"]):
        return False
    for col in _LISTING_TEXT:
        x, y = _key(a.get(col, "")), _key(b.get(col, ""))
        if x and y and x != y:
            return False
    return True


def merge_duplicates(services: pd.DataFrame, *, within_m: float = 200.0,
                     keep_apart: Iterable[frozenset[str]] = ()
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(services with each group merged into its first row, the duplicates table).

    ``keep_apart``: pairs of service ids never merged (the analyst's ``split``)."""
    rows = services.reset_index(drop=True)
    apart = {frozenset(p) for p in keep_apart}
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    found: list[tuple[int, int, str, float]] = []
    together = {i: [i] for i in range(len(rows))}
    for i, j, rule, d in _pairs(rows, within_m):
        if frozenset((rows.at[i, "service_id"], rows.at[j, "service_id"])) in apart:
            continue
        ri, rj = find(i), find(j)
        if ri == rj:
            continue
        if rule == "same_listing" and not all(
                _same_listing(rows.loc[x], rows.loc[y])
                for x in together[ri] for y in together[rj]):
            continue  # a row blank where two others differ joins neither to the other
        root, other = min(ri, rj), max(ri, rj)
        parent[other] = root
        together[root] += together.pop(other)
        found.append((i, j, rule, d))
    groups: dict[int, list[int]] = {}
    for i in range(len(rows)):
        groups.setdefault(find(i), []).append(i)
    out = rows.copy()
    drop: list[int] = []
    for root, members in groups.items():
        if len(members) > 1:
            out.loc[root] = _merged(rows, members)
            drop += [m for m in members if m != root]
    merged = out.drop(index=drop).reset_index(drop=True)
    conf = dict(zip(merged["service_id"], merged["confidential"], strict=True))
    table = pd.DataFrame([{
        "kept_id": rows.at[find(i), "service_id"],
        "merged_id": rows.at[j, "service_id"],
        "rule": rule, "distance_m": "" if math.isnan(d) else round(d),
        "name": rows.at[find(i), "name"], "merged_name": rows.at[j, "name"],
        "kept_source": rows.at[find(i), "source"], "merged_source": rows.at[j, "source"],
        "confidential": bool(conf.get(rows.at[find(i), "service_id"], False)),
    } for i, j, rule, d in found], columns=DUPLICATE_COLUMNS)
    return merged, table


def _merged(rows: pd.DataFrame, members: list[int]) -> pd.Series:
    first = rows.loc[members[0]].copy()
    others = [rows.loc[m] for m in members[1:]]
    confidential = bool(first["confidential"]) or any(bool(o["confidential"]) for o in others)
    for o in others:
        for col in rows.columns:
            if col in ("service_id", "need_types", "source", "source_row", "notes",
                       "confidential"):
                continue
            if col in _LOCATION and bool(o["confidential"]):
                continue  # a confidential row never lends its location
            blank = (first[col] == "" or (isinstance(first[col], float) and
                                          math.isnan(first[col]))
                     or (col == "open_24_7" and first[col] == "unknown"))
            if blank:
                first[col] = o[col]
    needs: list[str] = []
    for r in [rows.loc[members[0]], *others]:
        needs += [n for n in str(r["need_types"]).split(";") if n and n not in needs]
    first["need_types"] = ";".join(needs)
    first["source"] = "; ".join(dict.fromkeys(str(r["source"]) for r in
                                              [rows.loc[members[0]], *others]))
    first["source_row"] = "; ".join(f"{r['source']}:{r['source_row']}" for r in
                                    [rows.loc[members[0]], *others])
    note = "merged with " + ", ".join(str(o["service_id"]) for o in others)
    first["notes"] = "; ".join(n for n in (first["notes"], note) if n)
    first["confidential"] = confidential
    if confidential:
        if first["address"]:
            first["address"] = _WITHHELD
        first["postal_code"] = ""
        first["lat"] = math.nan
        first["lon"] = math.nan
    return first
