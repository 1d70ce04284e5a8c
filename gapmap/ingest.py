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
from dataclasses import dataclass

import pandas as pd

from gapmap.config import Config
from gapmap.contracts import SERVICES
from gapmap.sources.listings import OPTIONAL_TEXT, read_listings
from gapmap.sources.odhf import read_odhf_hospitals

log = logging.getLogger(__name__)

SERVICE_COLUMNS = SERVICES.names
"""The services table's columns, declared in :data:`gapmap.contracts.SERVICES`."""


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
    if not len(table):
        log.warning("no services: %s; the outputs will list none",
                    f"all {rows_read} rows were rejected" if rows_read else
                    "the listing files have no rows")
    for _, r in rej_df.iterrows():
        log.warning("rejected %s line %s, field %s: %s", r["source"], r["source_row"],
                    r["field"], r["reason"])
    log.info(result.summary())
    return result
