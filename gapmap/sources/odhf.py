"""Statistics Canada's Open Database of Healthcare Facilities (ODHF) -> hospital services.

:func:`read_odhf_hospitals` keeps the rows of type *Hospitals* as ``medical_care``
services in the services table's columns (see :mod:`gapmap.ingest`).
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gapmap.io import read_table, require_columns
from gapmap.sources.listings import classify_place, clean_table, normalise_postal_code


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
    raw = clean_table(read_table(path))
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
            # a hospital is a building people come to: in person (hours, languages and
            # eligibility are not in ODHF, so unknown)
            "delivery": "in_person",
        }
    accepted = list(groups.values())
    return accepted, rejected, len(hosp), merged
