"""Listing files (CSV or XLSX in gapmap's column layout) -> validated service rows.

:func:`read_listings` returns the accepted rows (the services table's columns, see
:mod:`gapmap.ingest`) and the rejected rows with their file, line, field and reason.
A confidential listing's street address, postal code and exact point are withheld here
(:func:`redact`), before anything else sees them.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from gapmap.io import read_table, require_columns

log = logging.getLogger(__name__)

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
