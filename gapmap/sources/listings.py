"""Listing files, as working groups keep them -> validated service rows.

:func:`read_listings` reads one file (any format :mod:`gapmap.sources.readers` reads),
maps its headers to gapmap's columns (English and French headers recognised,
:data:`HEADER_ALIASES`, plus the config's ``columns``), and returns a
:class:`ListingsRead`: the accepted rows (the services table's columns, see
:mod:`gapmap.ingest`), the rejected rows with their file, line, field and reason (the rows
the reader could not read as a row among them), and the need-type terms no need type
caught. ``read = accepted + rejected`` for every file.

A confidential listing's street address, postal code and exact point are withheld here
(:func:`redact`), before anything else sees them. Phones are stored in national format
with their E.164 form beside them (``phone_e164``); websites must be http(s) URLs
(:mod:`gapmap.sources.contacts`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from gapmap.errors import SchemaError
from gapmap.sources.access import listing_access
from gapmap.sources.contacts import check_website, parse_phones
from gapmap.sources.readers import Malformed, RawTable, ReadOptions, read_rows
from gapmap.taxonomy import VOCABULARY, Vocabulary, fold

log = logging.getLogger(__name__)

REQUIRED_LISTING_COLUMNS = ("id", "name", "need_types")
"""gapmap's own layout: without an ``id`` column a row's id is ``<file stem>-<line>``;
without ``need_types`` the listing entry's ``need_type`` names every row's need."""
OPTIONAL_TEXT = ("hours", "languages", "eligibility", "capacity", "last_verified",
                 "verification")
"""Listing columns carried as they are to the shared services (hours, languages and
eligibility to the maps' popups too): ``capacity`` as the source gives it ("40 beds"),
``last_verified`` when the source last checked the listing, ``verification`` how the source
itself rates it ("unverified ..." or "pending ..." counts as unverified in
data_quality_by_region.csv)."""
_TEXT_FIELDS = ("organization", "address", "city", "postal_code", "phone", "website",
                *OPTIONAL_TEXT, "delivery", "service_area", "beds", "rooms", "status", "lat",
                "lon", "confidential", "coordinate_source", "source_url", "retrieved_note")
LISTING_COLUMNS: tuple[str, ...] = ("id", "name", "need_types", *_TEXT_FIELDS)
"""Every column a listing file may have (the targets of a listing entry's ``columns``)."""
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    # headers recognised without a ``columns`` mapping, English and French, compared folded
    # (case, accents, punctuation and spacing ignored); the column's own name is one too
    "id": ("identifier", "identifiant", "service id", "id du service", "no", "numero",
           "code", "record id", "ref"),
    "name": ("nom", "service", "service name", "nom du service", "program", "programme",
             "program name", "nom du programme", "name of service"),
    "need_types": ("need type", "need types", "needs", "type de service", "types de service",
                   "type de besoin", "types de besoins", "besoins", "service type",
                   "service types", "type of service", "categories", "category", "categorie",
                   "categories de service", "taxonomy", "taxonomy terms", "intent category"),
    "organization": ("organisation", "organisme", "agency", "organization name",
                     "nom de l organisme", "provider", "fournisseur"),
    "address": ("adresse", "street address", "civic address", "adresse civique", "street",
                "rue", "address 1"),
    "city": ("ville", "town", "municipality", "municipalite", "community", "communaute",
             "localite", "locality", "city town"),
    "postal_code": ("postal", "postcode", "code postal", "postal code", "zip"),
    "phone": ("telephone", "tel", "phone number", "numero de telephone", "phones",
              "telephone number"),
    "website": ("web", "website url", "site web", "site internet", "url", "web site",
                "site"),
    "hours": ("heures", "hours of operation", "heures d ouverture", "horaire", "horaires",
              "hours text", "opening hours"),
    "languages": ("language", "langue", "langues", "languages spoken", "langues parlees"),
    "eligibility": ("admissibilite", "eligibility criteria", "criteres d admissibilite",
                    "clientele", "eligibility notes", "who it serves"),
    "delivery": ("delivery mode", "delivery modes", "mode of delivery", "service delivery",
                 "mode", "modes", "mode de prestation", "modes de prestation", "prestation",
                 "mode de service", "modalite", "modalites", "modalites de service"),
    "service_area": ("service area", "service areas", "area served", "areas served",
                     "catchment", "catchment area", "zone desservie", "territoire desservi",
                     "region desservie", "secteur desservi"),
    "capacity": ("capacite", "places"),
    "beds": ("beds actual", "lits", "number of beds", "nombre de lits"),
    "rooms": ("rooms actual", "chambres", "number of rooms", "nombre de chambres"),
    "status": ("statut", "service status", "etat"),
    "last_verified": ("verified at", "verified on", "date verified", "last verified date",
                      "date updated", "date de verification"),
    "verification": ("verification level", "verification status", "niveau de verification"),
    "lat": ("latitude", "y"),
    "lon": ("longitude", "long", "lng", "x"),
    "confidential": ("confidentiel", "confidentielle", "adresse confidentielle",
                     "confidential address"),
    "coordinate_source": ("source des coordonnees", "coordinates source"),
    "source_url": ("source", "source link", "lien source", "url source"),
    "retrieved_note": ("note", "notes", "remarques", "commentaires", "comments"),
}
_POSTAL_RE = re.compile(r"^([A-Z]\d[A-Z])\s*(\d[A-Z]\d)?$")
_TRUE = {"true", "yes", "y", "1", "oui", "vrai"}
_FALSE = {"false", "no", "n", "0", "non", "faux", ""}
_AREA_WORDS = re.compile(
    r"\b(region|regional|county|counties|district|province|provincial|province-wide|"
    r"ontario-wide|national|canada-wide|territory|united counties)\b", re.I)
WITHHELD = "withheld (confidential)"


def normalise_postal_code(value: str) -> str | None:
    """``'m5s1b2'`` -> ``'M5S 1B2'``; an FSA alone stays ``'M5S'``; invalid -> None."""
    v = re.sub(r"\s+", "", value or "").upper()
    if not v:
        return ""
    m = _POSTAL_RE.match(v)
    if not m:
        return None
    return f"{m.group(1)} {m.group(2)}" if m.group(2) else m.group(1)


def parse_bool(value: str) -> bool | None:
    v = (value or "").strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    return None


def looks_like_area(text: str) -> bool:
    """True when a place field names an area rather than a town ("Niagara Region")."""
    return bool(_AREA_WORDS.search(text)) or text.strip().lower() in {"muskoka", "haliburton"}


def classify_place(city: str) -> tuple[str, str, str]:
    """Split a city field into (place_name, area_name, place_kind).

    ``"Toronto (Scarborough)"`` -> ("Toronto", "", "town");
    ``"Simcoe County (Barrie)"`` -> ("Barrie", "Simcoe County", "town");
    ``"Mississauga / Brampton"`` -> ("", "Mississauga / Brampton", "several");
    ``"Niagara Region"`` -> ("", "Niagara Region", "area"); ``""`` -> ("", "", "blank").
    """
    text = re.sub(r"\s+", " ", (city or "").strip())
    if not text:
        return "", "", "blank"
    # "Sioux Narrows-Nestor Falls, Township of" is one town, not a list
    text = re.sub(r"^(.+?),\s*(township|town|city|village|municipality) of$", r"\1", text,
                  flags=re.I)
    m = re.match(r"^(.*?)\s*\((.+)\)\s*$", text)
    if m:
        outer, inner = m.group(1).strip(), m.group(2).strip()
        outer_is_area = looks_like_area(outer) or bool(re.search(r"\band\b|,", outer))
        if outer_is_area and not looks_like_area(inner) and not _several(inner):
            return inner, outer, "town"
        if not outer_is_area and not _several(outer):
            return outer, "", "town"
        text = outer
    if _several(text):
        return "", text, "several"
    if looks_like_area(text):
        return "", text, "area"
    return text, "", "town"


def _several(text: str) -> bool:
    return bool(re.search(r"\s/\s|/|\s&\s|,", text)) or bool(
        re.search(r"\band\b", text) and _AREA_WORDS.search(text))


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
"""Control characters (a tab and line breaks excepted) stripped from every read cell."""


def clean_table(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of a table read as text: column names trimmed and lower-cased, every cell
    stripped of control characters and surrounding space."""
    df = df.copy()
    df.columns = [str(c).strip().lower() for c in df.columns]
    for c in df.columns:
        df[c] = df[c].astype(str).str.replace(_CONTROL, "", regex=True).str.strip()
    return df


def _fold_header(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", fold(str(text)).replace("_", " ")).strip()


_ALIAS_LOOKUP: dict[str, str] = {}
for _column, _aliases in HEADER_ALIASES.items():
    for _alias in (_column, *_aliases):
        _ALIAS_LOOKUP.setdefault(_fold_header(_alias), _column)


def column_map(header: Sequence[str], mapping: Mapping[str, str] | None = None
               ) -> dict[int, str]:
    """Which of gapmap's columns each header cell is (index -> column): the config's
    ``columns`` first (matched as written, then folded), then :data:`HEADER_ALIASES`. A
    column named twice keeps its first header."""
    given = {_fold_header(k): v for k, v in (mapping or {}).items()}
    exact = dict(mapping or {})
    out: dict[int, str] = {}
    for i, cell in enumerate(header):
        text = str(cell).strip()
        column = exact.get(text) or given.get(_fold_header(text)) or \
            _ALIAS_LOOKUP.get(_fold_header(text))
        if column and column not in out.values():
            out[i] = column
    return out


def _missing_columns_error(table: RawTable, missing: list[str], found: dict[int, str],
                           where: str) -> SchemaError:
    """Missing columns, with the columns found and, for each missing one, the nearest
    unmapped header."""
    from gapmap.config import nearest
    from gapmap.errors import ListingFileError

    unmapped = [h for i, h in enumerate(table.header) if i not in found and str(h).strip()]
    hints = []
    for column in missing:
        aliases = [column, *HEADER_ALIASES.get(column, ())]
        for h in unmapped:
            near = nearest(_fold_header(h), [_fold_header(a) for a in aliases])
            if near:
                hints.append(f'columns = {{ "{h}" = "{column}" }}?')
                break
    shown = ", ".join(repr(str(h)) for h in table.header if str(h).strip()) or "none"
    return ListingFileError(
        f"{where}: missing column(s) {', '.join(missing)}; found {shown}"
        + (f"; nearest: {' '.join(hints)}" if hints else
           "; map them with columns = { \"<header>\" = \"<column>\" } in its inputs.listings "
           "entry (or give need_type for a file of one need type)"))


@dataclass(frozen=True)
class RowRules:
    """What a row is checked against: the vocabulary, the default need type, the file."""

    vocabulary: Vocabulary = VOCABULARY
    default_need: str | None = None
    id_prefix: str = ""
    """Set when the file has no id column: a row's id is ``<id_prefix>-<line>``."""
    no_address_confidential: bool = False
    """A row without a street address is confidential (the listing entry's
    ``no_address = "confidential"``)."""


def _needs(row: Mapping[str, str], rules: RowRules, unmapped: list[str]
           ) -> tuple[list[str] | None, str]:
    text = row.get("need_types", "")
    codes, unknown = rules.vocabulary.split(text)
    unmapped += unknown
    if unknown:
        return None, (f"unknown need type {unknown[0]!r} (known: "
                      f"{', '.join(rules.vocabulary.codes)}; or add it to the vocabulary, "
                      "[ingest] vocabulary)")
    if not codes and rules.default_need:
        codes = [rules.default_need]
    if not codes:
        return None, "no need type given"
    return codes, ""


def _coordinates(row: Mapping[str, str]) -> tuple[float, float, str, str]:
    """(lat, lon, "", "") or (nan, nan, field, reason)."""
    nan = float("nan")
    lat_s, lon_s = row.get("lat", ""), row.get("lon", "")
    if bool(lat_s) != bool(lon_s):
        return nan, nan, "lat" if not lat_s else "lon", \
            "latitude and longitude must be given together"
    if not lat_s:
        return nan, nan, "", ""
    try:
        lat, lon = float(lat_s.replace(",", ".")), float(lon_s.replace(",", "."))
    except ValueError:
        return nan, nan, "lat", f"not a number: lat={lat_s!r} lon={lon_s!r}"
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return nan, nan, "lat", f"coordinates out of range: lat={lat} lon={lon}"
    if lon > 0 and lat < 0:
        return nan, nan, "lon", f"latitude and longitude look swapped: lat={lat} lon={lon}"
    return lat, lon, "", ""


def validate_listing_row(row: Mapping[str, str], rules: RowRules | None = None,
                          unmapped: list[str] | None = None
                          ) -> tuple[dict[str, object] | None, str, str]:
    """Return (normalised fields, "", "") or (None, field, reason); need-type terms no need
    type caught are added to ``unmapped``."""
    rules = rules or RowRules()
    unmapped = [] if unmapped is None else unmapped
    if not row["id"]:
        return None, "id", "blank id"
    if not row["name"]:
        return None, "name", "blank name"
    needs, reason = _needs(row, rules, unmapped)
    if needs is None:
        return None, "need_types", reason
    lat, lon, bad_field, reason = _coordinates(row)
    if bad_field:
        return None, bad_field, reason
    conf = parse_bool(row.get("confidential", ""))
    if conf is None:
        return None, "confidential", f"not true/false: {row.get('confidential')!r}"
    conf = conf or (rules.no_address_confidential and not row.get("address", ""))
    status = row.get("status", "")
    if status and fold(status).strip() not in _OPEN:
        return None, "status", f"status {status!r}: not an open service"
    capacity, bad_field, reason = _capacity(row)
    if bad_field:
        return None, bad_field, reason
    row, bad_field, reason = _civic_address(row)
    if bad_field:
        return None, bad_field, reason
    postal = normalise_postal_code(row.get("postal_code", ""))
    if postal is None:
        return None, "postal_code", f"not a Canadian postal code: {row.get('postal_code')!r}"
    place_name, area_name, kind = classify_place(row.get("city", ""))
    phone, phone_e164 = parse_phones(row.get("phone", ""))
    website, website_problem = check_website(row.get("website", ""))
    notes = "; ".join(n for n in (row.get("retrieved_note", ""), website_problem) if n)
    fields: dict[str, object] = {
        "service_id": row["id"], "name": row["name"],
        "organization": row.get("organization", ""), "need_types": ";".join(needs),
        "address": row.get("address", ""), "city": row.get("city", ""), "postal_code": postal,
        "phone": phone, "phone_e164": phone_e164, "website": website,
        **{c: row.get(c, "") for c in OPTIONAL_TEXT}, "capacity": capacity,
        "service_area": row.get("service_area", ""), **listing_access(row).columns(),
        "lat": lat,
        "lon": lon, "confidential": conf,
        "place_name": place_name, "area_name": area_name, "place_kind": kind,
        "coordinate_source": row.get("coordinate_source", ""),
        "source_url": row.get("source_url", ""), "notes": notes,
    }
    return fields, "", ""

_OPEN = {"active", "open", "actif", "active service", "ouvert", "en service"}
_CIVIC = re.compile(r"^(?P<street>.+?),\s*(?P<city>[^,]+?),\s*(?P<prov>[A-Z]{2})\b\s*"
                    r"(?P<postal>[A-Z]\d[A-Z]\s?\d[A-Z]\d|\d{5}(?:-\d{4})?)?\s*(?:\(.*\))?$")


def _capacity(row: Mapping[str, str]) -> tuple[str, str, str]:
    """(capacity text, "", "") from ``capacity`` or ``beds``/``rooms`` ("54 beds; 26 rooms"),
    or ("", field, reason) for a count that is not a number."""
    parts = []
    for column in ("beds", "rooms"):
        text = row.get(column, "")
        if not text:
            continue
        try:
            n = float(text.replace(",", "."))
        except ValueError:
            return "", column, f"not a number: {text!r}"
        if n > 0:
            parts.append(f"{n:g} {column}")
    return "; ".join([p for p in (row.get("capacity", ""), *parts) if p]), "", ""


def _civic_address(row: Mapping[str, str]) -> tuple[dict[str, str], str, str]:
    """A row whose town is blank and whose address runs on with it ("844a Princess St,
    Kingston, ON K7L 1G5"): the town and postal code taken from the address; an address in
    another province or state is (row, "address", reason), unless the listing is a line only
    (its delivery, name or hours labels say phone, text or chat): then it is kept as a
    province-wide line and the address goes to its notes. An area in the address field
    ("Province-wide") is moved to the town field, where it is read as an area."""
    out = dict(row)
    if not row.get("city", "") and looks_like_area(row.get("address", "")):
        # "Province-wide" in the address field: the area served, not a street
        out["city"], out["address"] = row["address"], ""
        return out, "", ""
    m = _CIVIC.match(row.get("address", ""))
    if row.get("city", "") or not m:
        return out, "", ""
    if m.group("prov") != "ON":
        if listing_access(row).delivery == "virtual":
            # a line whose office is elsewhere (Kids Help Phone's in Montréal): it serves
            # Ontario by phone, text or chat, so it is kept as a province-wide line, and the
            # office address, which is not where anyone is served, goes to the notes
            out["city"], out["address"], out["postal_code"] = "Province-wide", "", ""
            note = (f"a line reaching Ontario; its office is outside Ontario "
                    f"({m.group('prov')}): {row['address']}")
            out["retrieved_note"] = "; ".join(
                n for n in (row.get("retrieved_note", ""), note) if n)
            return out, "", ""
        return out, "address", f"outside Ontario ({m.group('prov')}): {row['address']!r}"
    out["city"] = m.group("city").strip()
    if not out.get("postal_code", "") and m.group("postal") and not m.group(
            "postal")[0].isdigit():
        out["postal_code"] = m.group("postal")
    return out, "", ""


def redact(fields: dict[str, object]) -> dict[str, object]:
    """Withhold a confidential listing's street address, postal code and exact point."""
    out = dict(fields)
    if out.get("address"):
        out["address"] = WITHHELD
    out["postal_code"] = ""
    out["lat"] = float("nan")
    out["lon"] = float("nan")
    return out


@dataclass
class ListingsRead:
    """One listing file read: accepted and rejected rows, the terms no need type caught,
    how the file was read. ``rows_read`` = accepted + rejected."""

    accepted: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    unmapped: list[tuple[str, str]] = field(default_factory=list)
    """(term, line) for each need-type term no need type caught."""
    described: str = ""

    @property
    def rows_read(self) -> int:
        return len(self.accepted) + len(self.rejected)


def reject_row(row: dict[str, str], *, source: str, line: int, field_name: str, reason: str
            ) -> dict:
    original = dict(row)
    if parse_bool(original.get("confidential", "")):
        for k in ("address", "postal_code", "lat", "lon"):
            if original.get(k):
                original[k] = WITHHELD
        if field_name in ("address", "postal_code", "lat", "lon"):
            reason = (f"invalid {field_name} (value withheld: confidential listing; see the "
                      "source file)")
    return {**original, "source": source, "source_row": str(line), "field": field_name,
            "reason": reason}


def _clean_text(value: str) -> str:
    return _CONTROL.sub("", str(value)).strip()


def read_listings(path: Path, region: str | None = None, *, options: ReadOptions | None = None,
                  columns: Mapping[str, str] | None = None, need_type: str | None = None,
                  vocabulary: Vocabulary = VOCABULARY, no_address: str = "public"
                  ) -> ListingsRead:
    """Read and validate one listing file (see the module's docstring).

    Raises
    ------
    InputFileError
        The file does not exist.
    ListingFileError
        The file cannot be read as a table, or lacks a ``name`` column, or a need-type
        column with no ``need_type`` given: the message lists the columns found and the
        nearest expected ones.
    """
    path = Path(path)

    def recognise(cells: Sequence[str]) -> set[str]:
        return set(column_map(cells, columns).values())

    table = read_rows(path, recognise, options)
    found = column_map(table.header, columns)
    needed = ["name"] + ([] if need_type else ["need_types"])
    missing = [c for c in needed if c not in found.values()]
    if missing and table.header:  # a JSON file of no records has no header, and no rows
        raise _missing_columns_error(table, missing, found, f"{path} ({table.described})")
    rules = RowRules(vocabulary, need_type,
                     "" if "id" in found.values() else path.stem,
                     no_address_confidential=no_address == "confidential")
    out = ListingsRead(described=table.described)
    entries: list[tuple[int, list[str] | Malformed]] = [*table.rows, *(
        (m.line, m) for m in table.malformed)]
    for line, item in sorted(entries, key=lambda e: e[0]):
        if isinstance(item, Malformed):
            # no text of the line: it may be a confidential listing's (file and line
            # point back to it)
            out.rejected.append({"source": path.name, "source_row": str(line),
                                 "field": "(row)", "reason": item.reason})
            continue
        row = _listing_row(table, found, item, line, rules)
        unmapped: list[str] = []
        fields, field_name, reason = validate_listing_row(row, rules, unmapped)
        out.unmapped += [(term, str(line)) for term in unmapped]
        if fields is None:
            out.rejected.append(reject_row(_original(table, found, item, row), source=path.name,
                                        line=line, field_name=field_name, reason=reason))
            continue
        if fields["confidential"]:
            fields = redact(fields)
        fields.update(source=path.name, source_row=str(line), listing_region=region or "")
        out.accepted.append(fields)
    return out


def _listing_row(table: RawTable, found: dict[int, str], values: list[str], line: int,
                 rules: RowRules) -> dict[str, str]:
    """A row as gapmap's columns (text, control characters removed, blank when absent),
    with the point of the record's geometry when the row gives none."""
    row = {c: "" for c in LISTING_COLUMNS}
    for i, column in found.items():
        row[column] = _clean_text(values[i])
    if rules.id_prefix:
        row["id"] = f"{rules.id_prefix}-{line}"
    point = table.points.get(line)
    if point is not None and not (row["lat"] or row["lon"]):
        row["lat"], row["lon"] = repr(point[0]), repr(point[1])
        row["coordinate_source"] = row["coordinate_source"] or point[2]
    return row


def _original(table: RawTable, found: dict[int, str], values: list[str],
              row: dict[str, str]) -> dict[str, str]:
    """A rejected row: gapmap's columns (as :func:`_listing_row` made them), then the file's
    other headers as written, so a confidential row's location is withheld wherever its
    header put it."""
    original = dict(row)
    for i, (h, v) in enumerate(zip(table.header, values, strict=False)):
        if i not in found and str(h).strip() and str(h) not in original:
            original[str(h)] = _clean_text(v)
    return original
