"""Open Referral HSDS packages (3.0 and 1.1) -> validated service rows.

:func:`read_hsds` reads a package from its folder of CSV tables and returns the same
:class:`~gapmap.sources.listings.ListingsRead` a listing file gives: one row per service at
each of its locations (a service with no location is one row with none), checked by the
listing rules (:func:`gapmap.sources.listings.validate_listing_row`), so
``read = accepted + rejected`` holds per package.

Which files: the package's ``datapackage.json`` when it is *sound* (a JSON object whose
resources name files that exist in the folder); else the standard file names of HSDS 3.0
(``service_at_location.csv``, ``addresses.csv``, ``schedules.csv`` ...) and 1.1
(``services_at_location.csv``, ``physical_addresses.csv``, ``regular_schedules.csv`` ...).
``described`` says which, and why a descriptor was passed over.

What a row takes from the package:

==============  =============================================================================
name            the service's name; ``organization`` its organisation's name
need_types      its taxonomy terms caught by the vocabulary (3.0: ``attributes`` ->
                ``taxonomy_terms``; 1.1: ``services_taxonomy`` -> ``taxonomy``), else the
                listing entry's ``need_type``; terms no need type caught go to
                ``unmapped_terms.csv``
address, city   the location's physical address (else its postal one); ``postal_code`` too
lat, lon        the location's point; an out-of-range point rejects the row
phone           the service's phones, else the location's, else the organisation's
hours           3.0 ``schedules`` (its description, else days and times); 1.1
                ``regular_schedules``
languages       ``languages`` of the service (or the location)
eligibility     3.0 ``eligibility_description`` and ages; 1.1 ``eligibility``
service_area    ``service_areas`` names (``service_area`` in 1.1), ``; ``-joined
capacity        3.0 ``service_capacity`` (``maximum``/``available`` and the ``units`` name)
last_verified   3.0 ``assured_date`` (``YYYY-MM-DD``)
==============  =============================================================================

A service whose ``status`` is not ``active`` (blank counts as active) is rejected: an
inactive service is not a service. A ``virtual`` location (3.0 ``location_type``) is a
line: the row keeps no address and no point, and says so in ``notes``.

Access columns (:mod:`gapmap.sources.access`): ``delivery`` is ``virtual`` at a virtual
location and ``in_person`` at a 3.0 ``physical`` location or a 1.1 location with a
``physical_addresses`` row (the standard's "address where the service is accessed"); a
location with only a postal address, or none, leaves it unknown. ``hours_weekly`` and
``open_24_7`` come from the schedule rows themselves (:func:`~gapmap.sources.access.
schedule_hours`), ``language_codes`` from the languages' ``code`` (3.0) and names; the
eligibility is read from the text above, ages from 3.0 ``minimum_age``/``maximum_age``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from gapmap.errors import InputFileError, ListingFileError
from gapmap.sources.access import join_modes, parse_languages, schedule_hours
from gapmap.sources.listings import (
    LISTING_COLUMNS,
    ListingsRead,
    RowRules,
    clean_table,
    redact,
    reject_row,
    validate_listing_row,
)
from gapmap.taxonomy import VOCABULARY, Vocabulary, fold

log = logging.getLogger(__name__)

HSDS_EXTRA_COLUMNS = ("service_area",)
"""The services columns only directory packages fill (blank for other listings)."""

# logical table -> (HSDS 3.0 file, HSDS 1.1 file, datapackage resource names)
TABLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "organization": ("organizations.csv", "organizations.csv", ("organization",
                                                                "organizations")),
    "service": ("services.csv", "services.csv", ("service", "services")),
    "location": ("locations.csv", "locations.csv", ("location", "locations")),
    "service_at_location": ("service_at_location.csv", "services_at_location.csv",
                            ("service_at_location", "services_at_location")),
    "address": ("addresses.csv", "physical_addresses.csv", ("address", "physical_address",
                                                            "physical_addresses")),
    "postal_address": ("", "postal_addresses.csv", ("postal_address", "postal_addresses")),
    "phone": ("phones.csv", "phones.csv", ("phone", "phones")),
    "schedule": ("schedules.csv", "regular_schedules.csv", ("schedule", "regular_schedule",
                                                            "regular_schedules")),
    "language": ("languages.csv", "languages.csv", ("language", "languages")),
    "service_area": ("service_areas.csv", "service_areas.csv", ("service_area",
                                                                "service_areas")),
    "eligibility": ("", "eligibility.csv", ("eligibility",)),
    "service_capacity": ("service_capacity.csv", "", ("service_capacity",)),
    "unit": ("units.csv", "", ("unit", "units")),
    "attribute": ("attributes.csv", "", ("attribute", "attributes")),
    "taxonomy_term": ("taxonomy_terms.csv", "", ("taxonomy_term", "taxonomy_terms")),
    "service_taxonomy": ("", "services_taxonomy.csv", ("service_taxonomy",
                                                      "services_taxonomy")),
    "taxonomy": ("", "taxonomy.csv", ("taxonomy",)),
}
_V3_MARKERS = ("service_at_location.csv", "addresses.csv", "schedules.csv", "attributes.csv",
               "taxonomy_terms.csv", "service_capacity.csv")
_V1_MARKERS = ("services_at_location.csv", "physical_addresses.csv", "regular_schedules.csv",
               "services_taxonomy.csv", "postal_addresses.csv")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_BYDAY = dict(zip(("MO", "TU", "WE", "TH", "FR", "SA", "SU"), _WEEKDAYS, strict=True))


def is_hsds_package(path: Path) -> bool:
    """True when ``path`` is a folder holding an HSDS ``services.csv``."""
    return path.is_dir() and (path / "services.csv").is_file()


@dataclass
class Package:
    """An HSDS package's tables (text, blanks as ""), its version and how its files were
    found."""

    folder: Path
    version: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    how: str = ""

    def table(self, name: str) -> pd.DataFrame:
        return self.tables.get(name, pd.DataFrame())

    def by(self, name: str, key: str) -> dict[str, list[dict[str, str]]]:
        """The rows of table ``name`` grouped by column ``key`` (blank keys left out)."""
        out: dict[str, list[dict[str, str]]] = defaultdict(list)
        df = self.table(name)
        if key not in df.columns:
            return out
        for rec in df.to_dict("records"):
            if rec[key]:
                out[rec[key]].append(rec)
        return out


def _descriptor_files(folder: Path) -> tuple[dict[str, str], str]:
    """(logical table -> file name) from ``datapackage.json``, or ({}, why it is not
    sound)."""
    found = sorted(folder.glob("datapackage*.json"))
    path = folder / "datapackage.json" if (folder / "datapackage.json").is_file() else (
        found[0] if len(found) == 1 else None)
    if path is None:
        return {}, "no datapackage.json"
    try:
        desc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {}, f"{path.name} is not JSON ({type(exc).__name__})"
    if not isinstance(desc, dict) or not isinstance(desc.get("resources"), list):
        return {}, f"{path.name} has no resources list"
    by_resource = {r: t for t, (_, _, names) in TABLES.items() for r in names}
    files: dict[str, str] = {}
    missing: list[str] = []
    for res in desc["resources"]:
        if not isinstance(res, dict) or not isinstance(res.get("path"), str):
            return {}, f"{path.name} has a resource without a path"
        if not (folder / res["path"]).is_file():
            missing.append(res["path"])
            continue
        table = by_resource.get(str(res.get("name", "")))
        if table:
            files[table] = res["path"]
    if missing:
        return {}, (f"{path.name} names {len(missing)} file(s) not in the folder "
                    f"({', '.join(missing[:3])})")
    if "service" not in files:
        return {}, f"{path.name} lists no services file"
    return files, ""


def _standard_files(folder: Path, version: str) -> dict[str, str]:
    files = {t: (v3 if version == "3.0" else v1) for t, (v3, v1, _) in TABLES.items()}
    return {t: f for t, f in files.items() if f and (folder / f).is_file()}


def _version(folder: Path) -> str:
    v3 = sum((folder / f).is_file() for f in _V3_MARKERS)
    v1 = sum((folder / f).is_file() for f in _V1_MARKERS)
    return "3.0" if v3 > v1 else "1.1"


def _read_table(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise ListingFileError(f"{path}: cannot be read as CSV ({exc})") from exc
    return clean_table(df)


def open_package(folder: Path) -> Package:
    """Find and read a package's tables.

    Raises
    ------
    InputFileError
        The folder does not exist.
    ListingFileError
        It holds no services table, or a table cannot be read as CSV.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError(f"input folder not found: {folder}")
    version = _version(folder)
    files, why = _descriptor_files(folder)
    how = "file list from its descriptor"
    standard = _standard_files(folder, version)
    if not files:
        files, how = standard, f"standard file names ({why})"
    else:  # a sound descriptor that leaves out a standard table: take it too
        for t, f in standard.items():
            files.setdefault(t, f)
    if "service" not in files:
        raise ListingFileError(f"{folder}: not an HSDS package (no services.csv)")
    pkg = Package(folder, version, files=files, how=how)
    for table, name in files.items():
        pkg.tables[table] = _read_table(folder / name)
    return pkg


def _join(values: Iterable[str], sep: str = "; ") -> str:
    out: list[str] = []
    for v in values:
        v = (v or "").strip()
        if v and v not in out:
            out.append(v)
    return sep.join(out)


def _time(text: str) -> str:
    m = re.match(r"^(\d{1,2}):(\d{2})", text or "")
    return f"{int(m.group(1)):02d}:{m.group(2)}" if m else (text or "")


def _weekday(text: str) -> str:
    t = (text or "").strip()
    if t.isdigit() and 1 <= int(t) <= 7:
        return _WEEKDAYS[int(t) - 1]
    return t[:3].title() if t else ""


def _hours(rows: list[dict[str, str]]) -> str:
    parts = []
    for r in rows:
        if r.get("description"):
            parts.append(r["description"])
            continue
        days = r.get("weekday", "") and _weekday(r["weekday"]) or ",".join(
            _BYDAY.get(d.strip().upper(), d.strip()) for d in r.get("byday", "").split(",")
            if d.strip())
        if r.get("opens_at") or r.get("closes_at"):
            parts.append(f"{days} {_time(r.get('opens_at', ''))}-"
                         f"{_time(r.get('closes_at', ''))}".strip())
        elif days:
            parts.append(f"{days} closed")
    return _join(parts)


def _phone_text(rows: list[dict[str, str]]) -> str:
    out = []
    for r in rows:
        number = r.get("number", "").strip().strip('"').strip()
        if number:
            ext = r.get("extension", "")
            out.append(f"{number} ext. {ext}" if ext else number)
    return _join(out)


class _Lookups:
    """The package's tables indexed for one pass over its services."""

    def __init__(self, pkg: Package) -> None:
        self.pkg = pkg
        self.orgs = {r["id"]: r for r in pkg.table("organization").to_dict("records")
                     if r.get("id")}
        self.locations = {r["id"]: r for r in pkg.table("location").to_dict("records")
                          if r.get("id")}
        self.addresses = pkg.by("address", "location_id")
        self.postal = pkg.by("postal_address", "location_id")
        self.phones = {k: pkg.by("phone", k) for k in
                       ("service_id", "location_id", "organization_id",
                        "service_at_location_id")}
        self.schedules = {k: pkg.by("schedule", k) for k in
                          ("service_id", "location_id", "service_at_location_id")}
        self.languages = {k: pkg.by("language", k) for k in ("service_id", "location_id")}
        self.areas = pkg.by("service_area", "service_id")
        self.eligibility = pkg.by("eligibility", "service_id")
        self.capacity = pkg.by("service_capacity", "service_id")
        self.units = {r["id"]: r for r in pkg.table("unit").to_dict("records") if r.get("id")}
        self.terms = self._terms()
        self.links = self._links()

    def _terms(self) -> dict[str, list[tuple[str, ...]]]:
        """service id -> its taxonomy terms, each as (name, code) (3.0) or (name,) (1.1)."""
        out: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        if self.pkg.version == "3.0":
            terms = {r["id"]: r for r in self.pkg.table("taxonomy_term").to_dict("records")}
            for a in self.pkg.table("attribute").to_dict("records"):
                entity = a.get("link_entity", "service")
                if entity not in ("service", "link_entity", "") or a.get(
                        "taxonomy_term_id") not in terms:
                    continue
                term = terms[a["taxonomy_term_id"]]
                out[a.get("link_id", "")].append((term.get("name", ""), term.get("code", "")))
        else:
            tax = {r["id"]: r for r in self.pkg.table("taxonomy").to_dict("records")}
            for s in self.pkg.table("service_taxonomy").to_dict("records"):
                term = tax.get(s.get("taxonomy_id", ""))
                if term and term.get("name"):
                    out[s.get("service_id", "")].append((term["name"],))
        return out

    def _links(self) -> dict[str, list[tuple[str, str]]]:
        """service id -> [(service_at_location id, location id)]: the package's
        service_at_location table, else the locations' own ``service_id``."""
        out: dict[str, list[tuple[str, str]]] = defaultdict(list)
        sal = self.pkg.table("service_at_location")
        if len(sal.columns):
            for r in sal.to_dict("records"):
                out[r.get("service_id", "")].append((r.get("id", ""),
                                                     r.get("location_id", "")))
        else:
            for loc in self.locations.values():
                if loc.get("service_id"):
                    out[loc["service_id"]].append(("", loc["id"]))
        return out


def _address(look: _Lookups, loc_id: str) -> dict[str, str]:
    rows = look.addresses.get(loc_id, []) or look.postal.get(loc_id, [])
    physical = [r for r in rows if r.get("address_type", "physical") in ("physical", "")]
    r = (physical or rows or [{}])[0]
    street = _join((r.get(f"address_{i}", "") for i in (1, 2, 3, 4)), ", ")
    return {"address": street, "city": r.get("city", ""),
            "postal_code": r.get("postal_code", "")}


def _capacity(look: _Lookups, service_id: str) -> str:
    out = []
    for r in look.capacity.get(service_id, []):
        unit = look.units.get(r.get("unit_id", ""), {}).get("name", "") or "places"
        n = r.get("maximum") or r.get("available")
        if n:
            out.append(f"{n} {unit}")
    return _join(out)


def _eligibility(look: _Lookups, svc: Mapping[str, str]) -> str:
    ages = ""
    lo, hi = svc.get("minimum_age", ""), svc.get("maximum_age", "")
    if lo or hi:
        ages = f"ages {lo or '0'}-{hi}" if hi else f"ages {lo}+"
    return _join([svc.get("eligibility_description", ""), ages,
                  *(r.get("eligibility", "") for r in look.eligibility.get(svc["id"], []))])


def _need_codes(terms: list[tuple[str, ...]], vocabulary: Vocabulary
                ) -> tuple[list[str], list[str]]:
    """(need codes, unmapped terms): each term by its name, else its code; a term neither
    catches is unmapped (by name)."""
    codes: list[str] = []
    unmapped: list[str] = []
    for term in terms:
        found: list[str] = []
        for text in term:
            if text:
                found = vocabulary.split(text.replace(";", " ").replace(",", " "))[0] \
                    if vocabulary.lookup.get(fold(text)) is None else \
                    [vocabulary.lookup[fold(text)]]
            if found:
                break
        if found:
            codes += [c for c in found if c not in codes]
        else:
            unmapped.append(next((t for t in term if t), ""))
    return codes, unmapped


def _delivery(look: _Lookups, loc_id: str) -> str:
    """A location's delivery mode as the package states it (see the module's docstring)."""
    loc = look.locations.get(loc_id, {})
    kind = loc.get("location_type", "").strip().lower()
    if kind == "virtual":
        return "virtual"
    if kind == "physical" or (not kind and look.pkg.version == "1.1"
                               and look.addresses.get(loc_id)):
        return "in_person"
    return ""


def _access(look: _Lookups, svc: dict[str, str], loc_id: str, sched: list[dict[str, str]],
            langs: list[dict[str, str]]) -> dict[str, object]:
    """The access columns the package's own tables give (beside the text ones)."""
    out: dict[str, object] = {"delivery": _delivery(look, loc_id)}
    if sched:
        hours = schedule_hours(sched)
        if not hours.problem:
            out.update(hours_weekly=hours.weekly, open_24_7=hours.open_24_7)
    names = _join(r.get("name", "") or r.get("language", "") for r in langs)
    got = parse_languages(names, [r.get("code", "") for r in langs])
    if got.codes:
        out["language_codes"] = got.codes
    for column, key in (("age_min", "minimum_age"), ("age_max", "maximum_age")):
        with contextlib.suppress(ValueError):
            out[column] = float(svc.get(key, "") or "nan")
    return {k: v for k, v in out.items() if v == v}  # NaN ages leave the text's reading


def _row(look: _Lookups, svc: dict[str, str], sal_id: str, loc_id: str, several: bool,
         rules: RowRules) -> tuple[dict[str, str], dict[str, object], list[str], str]:
    """(listing row, extra columns, unmapped terms, rejection reason or "")."""
    sid = svc.get("id", "")
    loc = look.locations.get(loc_id, {})
    virtual = loc.get("location_type", "") == "virtual"
    row = {c: "" for c in LISTING_COLUMNS}
    row["id"] = f"{sid}@{loc_id}" if several and sid else sid
    row["name"] = svc.get("name", "")
    row["organization"] = look.orgs.get(svc.get("organization_id", ""), {}).get("name", "")
    codes, unmapped = _need_codes(look.terms.get(sid, []), rules.vocabulary)
    row["need_types"] = ";".join(codes)
    notes = []
    if loc_id and not loc:
        notes.append(f"location {loc_id!r} not in the package")
    if virtual:
        notes.append("virtual location: a line (phone or online), not a point")
    elif loc:
        row.update(_address(look, loc_id))
        row["lat"], row["lon"] = loc.get("latitude", ""), loc.get("longitude", "")
        if row["lat"] and row["lon"]:
            row["coordinate_source"] = "HSDS location"
    phones = (look.phones["service_at_location_id"].get(sal_id, []) if sal_id else []) \
        or look.phones["service_id"].get(sid, []) \
        or look.phones["location_id"].get(loc_id, []) \
        or look.phones["organization_id"].get(svc.get("organization_id", ""), [])
    row["phone"] = _phone_text(phones)
    sched = (look.schedules["service_at_location_id"].get(sal_id, []) if sal_id else []) \
        or look.schedules["service_id"].get(sid, []) \
        or look.schedules["location_id"].get(loc_id, [])
    row["hours"] = _hours(sched)
    langs = look.languages["service_id"].get(sid, []) or \
        look.languages["location_id"].get(loc_id, [])
    row["languages"] = _join(r.get("name", "") or r.get("language", "") for r in langs)
    row["eligibility"] = _eligibility(look, svc)
    row["website"] = svc.get("url", "")
    row["retrieved_note"] = _join(notes)
    extra: dict[str, object] = {
        "service_area": _join(r.get("name", "") or r.get("service_area", "")
                              for r in look.areas.get(sid, [])),
        "capacity": _capacity(look, sid), "last_verified": svc.get("assured_date", "")[:10],
        **_access(look, svc, loc_id, sched, langs)}
    status = svc.get("status", "").strip().lower()
    reason = "" if status in ("", "active") else \
        f"status {svc['status']!r}: an inactive service is not a service"
    if not reason and unmapped and not codes:
        reason = (f"no need type: none of its taxonomy terms ({', '.join(unmapped)}) is in "
                  "the vocabulary ([ingest] vocabulary)")
    return row, extra, unmapped, reason


def read_hsds(folder: Path, region: str | None = None, *, need_type: str | None = None,
              vocabulary: Vocabulary = VOCABULARY) -> ListingsRead:
    """Read an HSDS 3.0 or 1.1 package (see the module's docstring).

    Raises
    ------
    InputFileError
        The folder does not exist.
    ListingFileError
        It holds no services table, or a table cannot be read as CSV.
    """
    pkg = open_package(folder)
    look = _Lookups(pkg)
    rules = RowRules(vocabulary, need_type)
    out = ListingsRead(described=f"HSDS {pkg.version} package, {pkg.how}")
    source = f"{pkg.folder.name}/{pkg.files['service']}"
    for i, svc in enumerate(pkg.table("service").to_dict("records")):
        line = i + 2
        links = look.links.get(svc.get("id", ""), []) if svc.get("id") else []
        for sal_id, loc_id in links or [("", "")]:
            row, extra, unmapped, reason = _row(look, svc, sal_id, loc_id, len(links) > 1,
                                                rules)
            out.unmapped += [(t, str(line)) for t in unmapped]
            if reason:
                out.rejected.append(reject_row(
                row, source=source, line=line, reason=reason,
                field_name="status" if reason.startswith("status") else "need_types"))
                continue
            fields, field_name, why = validate_listing_row(row, rules, [])
            if fields is None:
                out.rejected.append(reject_row(row, source=source, line=line,
                                               field_name=field_name, reason=why))
                continue
            if fields["confidential"]:
                fields = redact(fields)
            # the location's mode joins what the name and hours' labels state
            delivery = join_modes(str(fields["delivery"]), str(extra.pop("delivery", "")))
            fields.update(extra, delivery=delivery, source=source, source_row=str(line),
                          listing_region=region or "")
            out.accepted.append(fields)
    return out
