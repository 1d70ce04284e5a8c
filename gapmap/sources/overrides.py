"""The analyst's listing overrides: correct a field, close a service, split a wrong merge.

A CSV (``[ingest] overrides``) with one correction per line, by service id, applied at
ingest to the rows read (before duplicates are merged), without editing any source:

=============  ===============================================================================
service_id     the id the listing or package gives (as in ``services.csv``)
action         ``set`` (``field`` = ``value``), ``close`` (the service is gone: closed,
               moved away, not a service), ``split`` (never merge it with the service
               ``value``: a wrong line in ``duplicates.csv``)
field, value   for ``set``: a services column among :data:`SETTABLE`, and its new value
               (blank clears it); for ``split``: ``value`` is the other service id
note           why (kept in the report)
=============  ===============================================================================

:func:`apply_overrides` returns the rows, the pairs to keep apart, and a report
(:data:`REPORT_COLUMNS`): each override ``applied`` or ``matched nothing`` (or ``refused``,
with why), written to ``overrides_report.csv``. A set value goes through the listing
rules: a phone is re-read (``phone_e164`` with it), a need type must be in the vocabulary,
a postal code must be Canadian; a confidential row's location stays withheld.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from gapmap.errors import InputFileError, SchemaError
from gapmap.sources.contacts import parse_phones
from gapmap.sources.listings import (
    WITHHELD,
    classify_place,
    normalise_postal_code,
    parse_bool,
)
from gapmap.taxonomy import VOCABULARY, Vocabulary

OVERRIDE_COLUMNS = ("service_id", "action", "field", "value", "note")
ACTIONS = ("set", "close", "split")
SETTABLE = ("name", "organization", "need_types", "address", "city", "postal_code", "phone",
            "website", "hours", "languages", "eligibility", "service_area", "capacity",
            "last_verified", "confidential", "notes")
"""The services columns an override may set."""
REPORT_COLUMNS = ["line", "service_id", "action", "field", "value", "outcome", "detail",
                  "note"]
_LOCATION = ("address", "postal_code")


@dataclass
class Overrides:
    """What the overrides did: rows kept, pairs kept apart, the report."""

    services: list[dict]
    keep_apart: list[frozenset[str]] = field(default_factory=list)
    report: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REPORT_COLUMNS))
    closed: int = 0


def read_overrides(path: Path) -> pd.DataFrame:
    """The overrides file as text, with its ``line`` numbers.

    Raises
    ------
    InputFileError
        No such file.
    SchemaError
        A column is missing, or an action is not one of :data:`ACTIONS`, naming the line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"input file not found: {path}")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in ("service_id", "action") if c not in df.columns]
    if missing:
        raise SchemaError(f"{path}: missing column(s) {', '.join(missing)} (expected "
                          f"{', '.join(OVERRIDE_COLUMNS)})")
    df = df.reindex(columns=list(OVERRIDE_COLUMNS), fill_value="")
    df = df.apply(lambda s: s.str.strip())
    df.insert(0, "line", [str(i + 2) for i in range(len(df))])
    for r in df.itertuples():
        if r.action.lower() not in ACTIONS:
            raise SchemaError(f"{path} line {r.line}: action {r.action!r} is not one of "
                              f"{', '.join(ACTIONS)}")
        if r.action.lower() == "set" and r.field not in SETTABLE:
            raise SchemaError(f"{path} line {r.line}: field {r.field!r} cannot be set "
                              f"(one of {', '.join(SETTABLE)})")
    df["action"] = df["action"].str.lower()
    return df


def _set(row: dict, column: str, value: str, vocabulary: Vocabulary) -> str:
    """Set one field through the listing rules; "" when done, else why it was refused."""
    if column == "phone":
        row["phone"], row["phone_e164"] = parse_phones(value)
    elif column == "need_types":
        codes, unknown = vocabulary.split(value)
        if unknown or not codes:
            return f"unknown need type {unknown[0]!r}" if unknown else "no need type given"
        row["need_types"] = ";".join(codes)
    elif column == "postal_code":
        postal = normalise_postal_code(value)
        if postal is None:
            return f"not a Canadian postal code: {value!r}"
        row["postal_code"] = "" if row.get("confidential") else postal
    elif column == "confidential":
        flag = parse_bool(value)
        if flag is None:
            return f"not true/false: {value!r}"
        row["confidential"] = flag
        if flag:
            if row.get("address"):
                row["address"] = WITHHELD
            row["postal_code"] = ""
            row["lat"] = row["lon"] = math.nan
    elif column in _LOCATION and row.get("confidential"):
        row[column] = WITHHELD if value else ""
    elif column == "city":
        row["city"] = value
        row["place_name"], row["area_name"], row["place_kind"] = classify_place(value)
    else:
        row[column] = value
    return ""


def apply_overrides(services: list[dict], overrides: pd.DataFrame, *,
                    vocabulary: Vocabulary = VOCABULARY) -> Overrides:
    """Apply each override to the rows with its ``service_id`` (see the module's
    docstring)."""
    by_id: Mapping[str, dict] = {str(s["service_id"]): s for s in services}
    closed: set[str] = set()
    apart: list[frozenset[str]] = []
    report = []
    for r in overrides.to_dict("records"):
        row = by_id.get(r["service_id"])
        outcome, detail = "applied", ""
        if row is None:
            outcome, detail = "matched nothing", "no service has this id"
        elif r["action"] == "close":
            closed.add(r["service_id"])
            detail = "service removed"
        elif r["action"] == "split":
            if r["value"] not in by_id:
                outcome, detail = "matched nothing", f"no service has the id {r['value']!r}"
            else:
                apart.append(frozenset((r["service_id"], r["value"])))
                detail = f"never merged with {r['value']}"
        else:
            old = row.get(r["field"], "")
            why = _set(row, r["field"], r["value"], vocabulary)
            if why:
                outcome, detail = "refused", why
            else:
                detail = "was blank" if old in ("", None) or (
                    isinstance(old, float) and math.isnan(old)) else "changed"
        report.append({**r, "outcome": outcome, "detail": detail})
    kept = [s for s in services if str(s["service_id"]) not in closed]
    return Overrides(kept, apart, pd.DataFrame(report, columns=REPORT_COLUMNS),
                     len(services) - len(kept))
