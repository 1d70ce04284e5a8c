"""Ingest: raw service listings -> one normalised services table, plus rejected rows.

Accepted listing files are CSV or XLSX with at least ``id``, ``name`` and ``need_types``
(``;``-separated need types, see :mod:`gapmap.taxonomy`), and any of ``organization``,
``address``, ``city``, ``postal_code``, ``phone``, ``website``, ``lat``, ``lon``,
``confidential``, ``coordinate_source``, ``source_url``, ``retrieved_note``. Hospitals from
Statistics Canada's Open Database of Healthcare Facilities (ODHF) join as ``medical_care``.

Services table (one row per service), the contract the geocoder reads:

=================  ==========================================================================
service_id         unique id (the listing's ``id``; ``odhf-<index>`` for ODHF hospitals)
name, organization text
need_types         ``;``-joined need-type codes, at least one
address, city      text as listed; blank for a confidential listing (location withheld)
postal_code        ``A1A 1A1`` or an FSA ``A1A``; blank when none or confidential
phone, website     text
lat, lon           float degrees as listed, NaN when not given or confidential
confidential       bool: location must never be shown finer than the town
place_name         the town to geocode ("Barrie" from "Simcoe County (Barrie)"), or ""
area_name          the area the listing names instead of a town ("Niagara Region"), or ""
place_kind         ``town`` | ``area`` | ``several`` | ``blank``
listing_region     OPP region given for the listing file in the config, or ""
source, source_row the file name and 1-based line number(s) the row came from
coordinate_source  where the listed coordinates came from
source_url, notes  provenance of the listing
=================  ==========================================================================

Rejected rows keep every original field (location fields redacted for confidential rows)
with ``source``, ``source_row``, ``field`` and ``reason``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gapmap.config import Config
from gapmap.io import read_table, require_columns

log = logging.getLogger(__name__)

SERVICE_COLUMNS = [
    "service_id", "name", "organization", "need_types", "address", "city", "postal_code",
    "phone", "website", "hours", "languages", "eligibility", "lat", "lon", "confidential",
    "place_name", "area_name", "place_kind",
    "listing_region", "source", "source_row", "coordinate_source", "source_url", "notes",
]
REQUIRED_LISTING_COLUMNS = ("id", "name", "need_types")
OPTIONAL_TEXT = ("hours", "languages", "eligibility")
"""Listing columns carried as they are to the shared services and the maps' popups."""
_TEXT_FIELDS = ("organization", "address", "city", "postal_code", "phone", "website",
                *OPTIONAL_TEXT, "lat", "lon", "confidential", "coordinate_source", "source_url",
                "retrieved_note")
_POSTAL_RE = re.compile(r"^([A-Z]\d[A-Z])\s*(\d[A-Z]\d)?$")
_TRUE = {"true", "yes", "y", "1", "oui", "vrai"}
_FALSE = {"false", "no", "n", "0", "non", "faux", ""}
_AREA_WORDS = re.compile(
    r"\b(region|regional|county|counties|district|province|provincial|province-wide|"
    r"ontario-wide|national|canada-wide|territory|united counties)\b", re.I)
WITHHELD = "withheld (confidential)"


@dataclass
class IngestResult:
    """What ingest produced: the services, the rejected rows, and the counts."""

    services: pd.DataFrame
    rejected: pd.DataFrame
    rows_read: int
    rows_merged: int

    def summary(self) -> str:
        accepted = self.rows_read - len(self.rejected)
        return (f"read {self.rows_read} rows: {accepted} accepted + {len(self.rejected)} "
                f"rejected; {len(self.services)} services after merging "
                f"{self.rows_merged} repeated ODHF rows")


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


def _clean(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df.columns = [str(c).strip().lower() for c in df.columns]
    for c in df.columns:
        df[c] = df[c].astype(str).str.replace(r"[\x00-\x08\x0b-\x1f\x7f]", "", regex=True)
        df[c] = df[c].str.strip()
    return df


def _validate_listing_row(row: pd.Series) -> tuple[dict[str, object] | None, str, str]:
    """Return (normalised fields, "", "") or (None, field, reason)."""
    from gapmap.taxonomy import split_needs

    if not row["id"]:
        return None, "id", "blank id"
    if not row["name"]:
        return None, "name", "blank name"
    try:
        needs = split_needs(row["need_types"])
    except KeyError as exc:
        return None, "need_types", str(exc.args[0])
    if not needs:
        return None, "need_types", "no need type given"
    lat_s, lon_s = row.get("lat", ""), row.get("lon", "")
    lat = lon = float("nan")
    if bool(lat_s) != bool(lon_s):
        return None, "lat" if not lat_s else "lon", "latitude and longitude must be given together"
    if lat_s:
        try:
            lat, lon = float(lat_s), float(lon_s)
        except ValueError:
            return None, "lat", f"not a number: lat={lat_s!r} lon={lon_s!r}"
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None, "lat", f"coordinates out of range: lat={lat} lon={lon}"
        if lon > 0 and lat < 0:
            return None, "lon", f"latitude and longitude look swapped: lat={lat} lon={lon}"
    conf = parse_bool(row.get("confidential", ""))
    if conf is None:
        return None, "confidential", f"not true/false: {row.get('confidential')!r}"
    postal = normalise_postal_code(row.get("postal_code", ""))
    if postal is None:
        return None, "postal_code", f"not a Canadian postal code: {row.get('postal_code')!r}"
    place_name, area_name, kind = classify_place(row.get("city", ""))
    fields: dict[str, object] = {
        "service_id": row["id"], "name": row["name"],
        "organization": row.get("organization", ""), "need_types": ";".join(needs),
        "address": row.get("address", ""), "city": row.get("city", ""), "postal_code": postal,
        "phone": row.get("phone", ""), "website": row.get("website", ""),
        **{c: row.get(c, "") for c in OPTIONAL_TEXT}, "lat": lat, "lon": lon, "confidential": conf,
        "place_name": place_name, "area_name": area_name, "place_kind": kind,
        "coordinate_source": row.get("coordinate_source", ""),
        "source_url": row.get("source_url", ""), "notes": row.get("retrieved_note", ""),
    }
    return fields, "", ""


def redact(fields: dict[str, object]) -> dict[str, object]:
    """Withhold a confidential listing's street address, postal code and exact point."""
    out = dict(fields)
    if out.get("address"):
        out["address"] = WITHHELD
    out["postal_code"] = ""
    out["lat"] = float("nan")
    out["lon"] = float("nan")
    return out


def read_listings(path: Path, region: str | None = None) -> tuple[list[dict], list[dict], int]:
    """Validate one listing file: (accepted rows, rejected rows, rows read)."""
    raw = _clean(read_table(path))
    require_columns(raw, REQUIRED_LISTING_COLUMNS, str(path))
    for c in _TEXT_FIELDS:
        if c not in raw.columns:
            raw[c] = ""
    accepted, rejected = [], []
    for i, row in raw.iterrows():
        line = int(i) + 2  # header is line 1
        fields, field, reason = _validate_listing_row(row)
        if fields is None:
            original = row.to_dict()
            if parse_bool(original.get("confidential", "")):
                for k in ("address", "postal_code", "lat", "lon"):
                    if original.get(k):
                        original[k] = WITHHELD
                if field in ("address", "postal_code", "lat", "lon"):
                    reason = f"invalid {field} (value withheld: confidential listing; see the " \
                             "source file)"
            rejected.append({**original, "source": path.name, "source_row": str(line),
                             "field": field, "reason": reason})
            continue
        if fields["confidential"]:
            fields = redact(fields)
        fields.update(source=path.name, source_row=str(line), listing_region=region or "")
        accepted.append(fields)
    return accepted, rejected, len(raw)


def _odhf_site_key(row: pd.Series) -> str:
    street = f"{row['street_no']} {row['street_name']}".strip().lower()
    if street:
        return f"{row['postal_code']}|{re.sub(r'[^a-z0-9]', '', street)}"
    site = re.split(r"\s[—–-]\s", row["facility_name"])[-1].lower()
    return f"{row['postal_code']}|{re.sub(r'[^a-z0-9]', '', site)}"


def read_odhf_hospitals(path: Path, province: gpd.GeoDataFrame,
                        buffer_km: float) -> tuple[list[dict], list[dict], int, int]:
    """ODHF rows of type Hospitals -> medical_care services.

    Rows whose point lies outside Ontario (beyond ``buffer_km``) are rejected; rows that
    ODHF repeats for one site (several hospital corporations listing the same building)
    are merged into one service whose ``source_row`` lists every line.
    """
    raw = _clean(read_table(path))
    require_columns(raw, ["index", "facility_name", "odhf_facility_type", "street_no",
                          "street_name", "postal_code", "city", "latitude", "longitude"],
                    str(path))
    raw["line"] = np.arange(len(raw)) + 2
    hosp = raw[raw["odhf_facility_type"].str.lower() == "hospitals"].copy()
    outline = province.to_crs(3347).buffer(buffer_km * 1000).union_all()
    accepted, rejected = [], []
    groups: dict[str, dict] = {}
    merged = 0
    for _, row in hosp.iterrows():
        lat = pd.to_numeric(row["latitude"], errors="coerce")
        lon = pd.to_numeric(row["longitude"], errors="coerce")
        if pd.notna(lat) and pd.notna(lon):
            pt = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(3347).iloc[0]
            if not outline.contains(pt):
                rejected.append({**row.drop("line").to_dict(), "source": path.name,
                                 "source_row": str(row["line"]), "field": "latitude",
                                 "reason": f"point ({lat}, {lon}) lies outside Ontario"})
                continue
        postal = normalise_postal_code(row["postal_code"]) or ""
        row["postal_code"] = postal
        key = _odhf_site_key(row)
        if key in groups:
            groups[key]["source_row"] += f";{row['line']}"
            groups[key]["organization"] += f"; {row['facility_name']}"
            merged += 1
            continue
        street = f"{row['street_no']} {row['street_name']}".strip().title()
        city = row["city"].title()
        groups[key] = {
            "service_id": f"odhf-{row['index']}", "name": row["facility_name"],
            "organization": row.get("provider", ""), "need_types": "medical_care",
            "address": street, "city": city, "postal_code": postal,
            "phone": "", "website": "", "lat": float(lat), "lon": float(lon),
            "confidential": False, **dict(zip(("place_name", "area_name", "place_kind"),
                                                classify_place(city), strict=True)),
            "listing_region": "", "source": path.name, "source_row": str(row["line"]),
            "coordinate_source": "ODHF v1.1" if pd.notna(lat) else "",
            "source_url": "https://www150.statcan.gc.ca/n1/pub/13-26-0001/index-eng.htm",
            "notes": f"ODHF {row.get('source_facility_type', '')}".strip(),
        }
    accepted = list(groups.values())
    return accepted, rejected, len(hosp), merged


def ingest(config: Config) -> IngestResult:
    """Read every listing file in the config (and the ODHF hospitals) into one table.

    A listing id repeated across files is rejected on its second appearance, so every
    ``service_id`` is unique. Nothing is dropped silently: ``rows_read`` equals the
    accepted rows plus the rejected ones.
    """
    from gapmap.io import read_geo

    services: list[dict] = []
    rejected: list[dict] = []
    rows_read = merged = 0
    seen: dict[str, str] = {}
    for listing in config.inputs.listings:
        acc, rej, n = read_listings(listing.path, listing.region)
        rows_read += n
        rejected += rej
        for s in acc:
            where = f"{s['source']} line {s['source_row']}"
            if s["service_id"] in seen:
                rej_row = {("id" if k == "service_id" else k): v for k, v in s.items()
                           if k in SERVICE_COLUMNS}
                rejected.append({**rej_row, "field": "id",
                                 "reason": f"duplicate id {s['service_id']!r} "
                                           f"(first in {seen[s['service_id']]})"})
                continue
            seen[s["service_id"]] = where
            services.append(s)
    if config.inputs.hospitals is not None:
        province = read_geo(config.inputs.province)
        acc, rej, n, m = read_odhf_hospitals(config.inputs.hospitals, province,
                                             config.geocode.ontario_buffer_km)
        rows_read += n
        merged += m
        rejected += rej
        services += acc
    table = pd.DataFrame(services, columns=SERVICE_COLUMNS)
    table[list(OPTIONAL_TEXT)] = table[list(OPTIONAL_TEXT)].fillna("")  # hospitals have none
    table["confidential"] = table["confidential"].astype(bool)
    table["lat"] = table["lat"].astype(float)
    table["lon"] = table["lon"].astype(float)
    rej_df = pd.DataFrame(rejected)
    lead = ["source", "source_row", "field", "reason"]
    if len(rej_df):
        rej_df = rej_df[lead + [c for c in rej_df.columns if c not in lead]].astype(str)
    else:
        rej_df = pd.DataFrame(columns=lead)
    result = IngestResult(table, rej_df, rows_read, merged)
    for _, r in rej_df.iterrows():
        log.warning("rejected %s line %s, field %s: %s", r["source"], r["source_row"],
                    r["field"], r["reason"])
    log.info(result.summary())
    return result
