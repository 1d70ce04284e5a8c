"""Ingest: raw service listings -> one normalised services table, plus rejected rows.

Listing files come in any format :mod:`gapmap.sources.readers` reads (CSV/TSV/TXT in any
encoding and delimiter, XLSX, XLS, ODS, JSON, GeoJSON, GeoPackage) with at least a name and
need types (``;``-, ``,``- or ``|``-separated, see :mod:`gapmap.taxonomy`), under gapmap's
own headers or recognised English and French ones (:mod:`gapmap.sources.listings`).
Hospitals from Statistics Canada's Open Database of Healthcare Facilities (ODHF) join as
``medical_care``. Each source's balance (read = accepted + rejected, + merged for ODHF) is
reported on its own line (:class:`SourceBalance`).

Services table (one row per service), the contract the geocoder reads:

=================  ==========================================================================
service_id         unique id (the listing's ``id``; ``odhf-<index>`` for ODHF hospitals)
name, organization text
need_types         ``;``-joined need-type codes, at least one
address, city      text as listed; blank for a confidential listing (location withheld)
postal_code        ``A1A 1A1`` or an FSA ``A1A``; blank when none or confidential
phone              the phone field, each number in national format ("(807) 684-6751")
phone_e164         its numbers in E.164 with extension (``+18076846751;ext=12``), ", "-joined
website            an http(s) URL, or "" (a value that is not one is named in ``notes``)
lat, lon           float degrees as listed, NaN when not given or confidential
confidential       bool: location must never be shown finer than the town
place_name         the town to geocode ("Barrie" from "Simcoe County (Barrie)"), or ""
area_name          the area the listing names instead of a town ("Niagara Region"), or ""
place_kind         ``town`` | ``area`` | ``several`` | ``blank``
listing_region     OPP region given for the listing file in the config, or ""
source, source_row the file name and 1-based line number(s) the row came from
coordinate_source  where the listed coordinates came from
source_url, notes  provenance of the listing
service_area       the areas the listing's ``service_area`` column or a directory package
                   says the service serves, or ""
capacity           its capacity as the source gives it ("40 beds; 12 rooms"), or ""
last_verified      when the source last verified it (as the source writes it), or ""
verification       how the source rates its own check of the listing, or ""
delivery           how the service reaches people: ``;``-joined of ``in_person``,
                   ``outreach``, ``virtual``, from the listing or directory; "" unknown
hours_weekly       the hours parsed into weekly open intervals ("Mon 09:00-17:00; ..."),
                   "" when none are given or they cannot be parsed
open_24_7          ``yes`` | ``no`` | ``unknown``
language_codes     ISO 639 codes of the languages offered (``en;fr``), "" unknown
gender_limit       ``women`` | ``men`` | ``any`` (stated open to all) | "" (not stated)
eligible_groups    ``;``-joined groups a listing limits itself to (``youth;families``), ""
age_min, age_max   age limits stated by the listing (float), NaN when none
=================  ==========================================================================

How the access columns are read (:mod:`gapmap.sources.access`): ``delivery`` from a
listing's ``delivery`` column (English and French headers), else from what its name states
(a helpline is ``virtual``, a walk-in ``in_person``), what its hours' labels state ("Phone:
24/7"), and ``in_person`` for a listing that gives beds or rooms; HSDS packages give it by
location type; ODHF hospitals are ``in_person``. It is never inferred from how precisely a
listing was placed: a residential programme listed by its area is not outreach. Every text
that cannot be read and every service whose delivery is unknown is listed in
``access_unparsed.csv`` (:data:`ACCESS_UNPARSED_COLUMNS`).

Rejected rows keep every original field (location fields redacted for confidential rows)
with ``source``, ``source_row``, ``field`` and ``reason``.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from gapmap.analysis.duplicates import DUPLICATE_COLUMNS, merge_duplicates
from gapmap.config import Config, Listing
from gapmap.contracts import SERVICES
from gapmap.errors import ListingFileError
from gapmap.sources.access import (
    DELIVERY_MODES,
    not_given,
    parse_eligibility,
    parse_hours,
    parse_languages,
)
from gapmap.sources.hsds import HSDS_EXTRA_COLUMNS, read_hsds
from gapmap.sources.listings import OPTIONAL_TEXT, ListingsRead, read_listings
from gapmap.sources.odhf import read_odhf_hospitals
from gapmap.sources.overrides import REPORT_COLUMNS, Overrides, apply_overrides, read_overrides
from gapmap.sources.readers import ReadOptions
from gapmap.taxonomy import VOCABULARY, Vocabulary

log = logging.getLogger(__name__)

SERVICE_COLUMNS = SERVICES.names
"""The services table's columns, declared in :data:`gapmap.contracts.SERVICES`."""
UNMAPPED_COLUMNS = ["term", "rows", "source", "lines"]
"""``unmapped_terms.csv``: each need-type term no need type caught, how many rows gave it,
in which file and on which lines."""
ACCESS_UNPARSED_COLUMNS = ["service_id", "source", "source_row", "field", "text", "problem"]
"""``access_unparsed.csv``: each hours, languages or eligibility text of a service that
could not be read (``field`` names the column, ``problem`` says why), and each service
whose delivery is unknown (``field`` = ``delivery``)."""
UNKNOWN_DELIVERY = "delivery unknown: the source does not say in person, outreach or virtual"


@dataclass
class SourceBalance:
    """One source's balance: ``read = accepted + rejected (+ merged)``, or why it was
    skipped."""

    source: str
    described: str = ""
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    merged: int = 0
    skipped: str = ""

    def line(self) -> str:
        if self.skipped:
            return f"  {self.source}: SKIPPED, not read: {self.skipped}"
        merged = f" + {self.merged} merged" if self.merged else ""
        how = f" ({self.described})" if self.described else ""
        return (f"  {self.source}{how}: read {self.read} rows = {self.accepted} accepted + "
                f"{self.rejected} rejected{merged}")


@dataclass
class IngestResult:
    """What ingest produced: the services, the rejected rows, and the counts."""

    services: pd.DataFrame
    rejected: pd.DataFrame
    rows_read: int
    rows_merged: int
    sources: list[SourceBalance] = field(default_factory=list)
    unmapped: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=UNMAPPED_COLUMNS))
    duplicates: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=DUPLICATE_COLUMNS))
    overrides: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=REPORT_COLUMNS))
    closed: int = 0
    unparsed: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=ACCESS_UNPARSED_COLUMNS))

    def summary(self) -> str:
        accepted = self.rows_read - len(self.rejected)
        total = (f"read {self.rows_read} rows: {accepted} accepted + "
                 f"{len(self.rejected)} rejected; {len(self.services)} services after merging "
                 f"{self.rows_merged} repeated ODHF rows"
                 + (f" and {len(self.duplicates)} listed again by another source"
                    if len(self.duplicates) else ""))
        lines = [b.line() for b in self.sources]
        if len(self.overrides):
            n = self.overrides["outcome"].value_counts()
            lines.append(f"  listing overrides: {n.get('applied', 0)} applied ("
                         f"{self.closed} service(s) closed), {n.get('matched nothing', 0)} "
                         f"matched nothing, {n.get('refused', 0)} refused: see "
                         "overrides_report.csv")
        if len(self.duplicates):
            lines.append(f"  {len(self.duplicates)} listing(s) merged into the same service "
                         "listed by another source: see duplicates.csv")
        if len(self.unmapped):
            lines.append(f"  {len(self.unmapped)} need-type term(s) no need type caught: see "
                         "unmapped_terms.csv")
        if len(self.services):
            lines.append(access_summary(self.services, self.unparsed))
        return "\n".join([total, *lines])


def access_summary(services: pd.DataFrame, unparsed: pd.DataFrame) -> str:
    """One line: delivery known per mode, hours read and 24/7, languages, limits, and how
    many texts could not be read."""
    modes = services["delivery"].str.split(";")
    per_mode = ", ".join(f"{m} {int(modes.apply(lambda ms, m=m: m in ms).sum())}"
                         for m in DELIVERY_MODES)
    open_247 = services["open_24_7"].value_counts()
    texts = int((unparsed["field"] != "delivery").sum()) if len(unparsed) else 0
    return (f"  access: delivery known for {int((services['delivery'] != '').sum())} of "
            f"{len(services)} services ({per_mode}); open 24/7 yes {open_247.get('yes', 0)}, "
            f"no {open_247.get('no', 0)}, unknown {open_247.get('unknown', 0)}; languages "
            f"for {int((services['language_codes'] != '').sum())}; gender limit for "
            f"{int((services['gender_limit'] != '').sum())}; {texts} text(s) not read: see "
            "access_unparsed.csv")


def access_unparsed(services: pd.DataFrame) -> pd.DataFrame:
    """The ``access_unparsed.csv`` table (:data:`ACCESS_UNPARSED_COLUMNS`) of the final
    services: their unread texts (read again by the same parsers) and unknown deliveries."""
    rows: list[dict[str, str]] = []
    for r in services.to_dict("records"):
        where = {"service_id": r["service_id"], "source": r["source"],
                 "source_row": r["source_row"]}
        hours = "" if r["hours_weekly"] or not_given(r["hours"]) else \
            parse_hours(r["hours"]).problem
        for column, problem in (
                ("hours", hours),
                ("languages", parse_languages(r["languages"]).problem),
                ("eligibility", parse_eligibility(r["eligibility"]).problem),
                ("delivery", "" if r["delivery"] else UNKNOWN_DELIVERY)):
            if problem:
                rows.append({**where, "field": column,
                             "text": "" if column == "delivery" else r[column],
                             "problem": problem})
    return pd.DataFrame(rows, columns=ACCESS_UNPARSED_COLUMNS)


def _read_options(listing: Listing, config: Config) -> ReadOptions:
    return ReadOptions(format=listing.format, sheet=listing.sheet,
                       header_row=listing.header_row, encoding=listing.encoding,
                       delimiter=listing.delimiter,
                       max_cell_chars=config.ingest.max_cell_chars)


def _read_listing(listing: Listing, config: Config, vocabulary: Vocabulary
                  ) -> ListingsRead | SourceBalance:
    """One listing file read, or, when it cannot be read and the config says skip, its
    skipped balance."""
    try:
        if listing.format == "hsds" or (listing.format == "auto" and listing.path.is_dir()):
            return read_hsds(listing.path, listing.region, need_type=listing.need_type,
                             vocabulary=vocabulary)
        return read_listings(listing.path, listing.region,
                             options=_read_options(listing, config), columns=listing.columns,
                             need_type=listing.need_type, vocabulary=vocabulary,
                             no_address=listing.no_address)
    except ListingFileError as exc:
        if config.ingest.unreadable_files != "skip":
            raise
        log.warning("SKIPPED listing file %s ([ingest] unreadable_files = \"skip\"): %s",
                    listing.path.name, exc)
        return SourceBalance(listing.path.name, skipped=str(exc))


def _unmapped_table(found: list[tuple[str, str, str]]) -> pd.DataFrame:
    """(term, source, line) -> one row per term and source, most frequent first."""
    if not found:
        return pd.DataFrame(columns=UNMAPPED_COLUMNS)
    counts = Counter((t, s) for t, s, _ in found)
    lines: dict[tuple[str, str], list[str]] = {}
    for t, s, ln in found:
        lines.setdefault((t, s), []).append(ln)
    rows = [{"term": t, "rows": n, "source": s, "lines": ";".join(lines[(t, s)][:20])}
            for (t, s), n in counts.items()]
    return pd.DataFrame(rows, columns=UNMAPPED_COLUMNS).sort_values(
        ["rows", "term", "source"], ascending=[False, True, True], kind="stable",
        ignore_index=True)


@dataclass
class _Gathered:
    """What the sources gave, before it becomes tables."""

    services: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    balances: list[SourceBalance] = field(default_factory=list)
    unmapped: list[tuple[str, str, str]] = field(default_factory=list)
    rows_read: int = 0
    merged: int = 0
    seen: dict[str, str] = field(default_factory=dict)

    def add_listing(self, name: str, read: ListingsRead) -> None:
        """One listing file's rows; an id seen in an earlier row or file is rejected here."""
        balance = SourceBalance(name, read.described, read.rows_read,
                                rejected=len(read.rejected))
        self.rows_read += read.rows_read
        self.rejected += read.rejected
        self.unmapped += [(term, name, line) for term, line in read.unmapped]
        for s in read.accepted:
            if s["service_id"] in self.seen:
                rej_row = {("id" if k == "service_id" else k): v for k, v in s.items()
                           if k in SERVICE_COLUMNS}
                self.rejected.append({**rej_row, "field": "id",
                                      "reason": f"duplicate id {s['service_id']!r} "
                                                f"(first in {self.seen[s['service_id']]})"})
                balance.rejected += 1
                continue
            self.seen[s["service_id"]] = f"{s['source']} line {s['source_row']}"
            self.services.append(s)
            balance.accepted += 1
        self.balances.append(balance)

    def add_hospitals(self, config: Config) -> None:
        from gapmap.io import read_geo

        path = config.inputs.hospitals
        if path is None:
            return
        province = read_geo(config.inputs.province)
        acc, rej, n, m = read_odhf_hospitals(path, province, config.geocode.ontario_buffer_km)
        self.rows_read += n
        self.merged += m
        self.rejected += rej
        self.services += acc
        self.balances.append(SourceBalance(path.name, "ODHF hospitals", n, len(acc),
                                           len(rej), m))


def _services_table(services: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(services, columns=SERVICE_COLUMNS)
    blank = [*OPTIONAL_TEXT, "phone_e164", *HSDS_EXTRA_COLUMNS]  # hospitals have none
    for column in blank:
        table[column] = table[column].astype(object).fillna("")
    for column in ("delivery", "hours_weekly", "language_codes", "gender_limit",
                   "eligible_groups"):
        table[column] = table[column].astype(object).fillna("")
    table["open_24_7"] = table["open_24_7"].astype(object).fillna("unknown")
    table["age_min"] = table["age_min"].astype(float)
    table["age_max"] = table["age_max"].astype(float)
    table["confidential"] = table["confidential"].astype(bool)
    table["lat"] = table["lat"].astype(float)
    table["lon"] = table["lon"].astype(float)
    return table


def _rejected_table(rejected: list[dict]) -> pd.DataFrame:
    """The rejected rows as text, file, line, field and reason first."""
    lead = ["source", "source_row", "field", "reason"]
    if not rejected:
        return pd.DataFrame(columns=lead)
    df = pd.DataFrame(rejected)
    return df[lead + [c for c in df.columns if c not in lead]].astype(object).fillna(
        "").astype(str)


def ingest(config: Config) -> IngestResult:
    """Read every listing file in the config (and the ODHF hospitals) into one table.

    A listing id repeated across files is rejected on its second appearance, so every
    ``service_id`` is unique. Nothing is dropped silently: for every source, and in all,
    the rows read equal the accepted rows plus the rejected ones (plus, for ODHF, the
    repeated rows merged into one service).

    Raises
    ------
    ListingFileError
        A listing file cannot be read, unless ``[ingest] unreadable_files = "skip"``.
    """
    vocabulary = VOCABULARY
    if config.ingest.vocabulary is not None:
        vocabulary = VOCABULARY.extended(config.ingest.vocabulary)
    got = _Gathered()
    for listing in config.inputs.listings:
        read = _read_listing(listing, config, vocabulary)
        if isinstance(read, SourceBalance):
            got.balances.append(read)
        else:
            got.add_listing(listing.path.name, read)
    got.add_hospitals(config)
    corrected = Overrides(got.services)
    if config.ingest.overrides is not None:
        corrected = apply_overrides(got.services, read_overrides(config.ingest.overrides),
                                    vocabulary=vocabulary)
    table, duplicates = merge_duplicates(_services_table(corrected.services),
                                         within_m=config.ingest.duplicate_within_m,
                                         keep_apart=corrected.keep_apart)
    rej_df = _rejected_table(got.rejected)
    result = IngestResult(table, rej_df, got.rows_read, got.merged, got.balances,
                          _unmapped_table(got.unmapped), duplicates,
                          corrected.report, corrected.closed, access_unparsed(table))
    if not len(table):
        log.warning("no services: %s; the outputs will list none",
                    f"all {got.rows_read} rows were rejected" if got.rows_read else
                    "the listing files have no rows")
    for _, r in rej_df.iterrows():
        log.warning("rejected %s line %s, field %s: %s", r["source"], r["source_row"],
                    r["field"], r["reason"])
    log.info(result.summary())
    return result
