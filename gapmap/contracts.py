"""Contracts: the rules every stage shares, written once.

Shared rules
------------
:data:`PRECISIONS` is the project's one geocode-precision vocabulary, best to worst;
:func:`is_placed` says whether a service counts at a point (the first six precisions, with a
geometry), :func:`finer_than_town` whether a location is more precise than its town (what a
confidential service must never be in a shared output).

Also here, each written once: :func:`precision_rank` (the order of :data:`PRECISIONS`, for
any comparison of precisions), :func:`counts_in_person` (placed, and delivered in person
or with delivery unknown: an outreach-only or virtual-only service never counts in
person; the delivery modes are :data:`DELIVERY_MODES`, read by :func:`delivery_has` and
:func:`delivery_unknown`), :func:`counts_by_road` (in person, and not in a community with
no all-season road: the services a drive time can reach), :func:`check_withheld` (no
confidential service finer than its town), the travel table's :data:`ACCESS_VALUES` and their
wording (:func:`access_text`), and the geocode issue codes (:data:`GEOCODE_ISSUES`).

Stage tables
------------
Each table one stage writes and the next reads (:class:`StageTable`: columns and their
kind, key, frame type, CRS, the stage that writes it), and :func:`read_stage`, which checks a
stage file where it is read (see the section's comment below).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gapmap.errors import ConfidentialityError, InputFileError, SchemaError, StageFileError

# -- shared rules ---------------------------------------------------------------------------

PRECISIONS: tuple[str, ...] = (
    "exact", "street", "postal", "fsa", "town", "rural_fsa", "area", "none")
"""Geocode precision, best to worst. Only the first six place a point."""
POINT_PRECISIONS = frozenset(PRECISIONS[:6])
"""Precisions that give a service a point: it can count for coverage on the road graph."""
TOWN_OR_BETTER = frozenset(PRECISIONS[:5])
"""Precisions at the town or finer: a listing that names a town should reach one of them."""
FINER_THAN_TOWN = frozenset(PRECISIONS[:4])
"""Precisions finer than the town: a confidential service is never shown at one of them."""


def is_placed(services: pd.DataFrame) -> pd.Series:
    """True for the services that count at a point: a point precision and a geometry that is
    not empty (or, for a frame without geometry, a latitude)."""
    precise = services["geocode_precision"].isin(POINT_PRECISIONS)
    if "geometry" in services.columns:
        geom = np.array(services["geometry"].to_numpy(), dtype=object)  # a copy
        missing = np.asarray(pd.isna(geom), dtype=bool)
        geom[missing] = None
        point = ~missing & ~shapely.is_empty(geom)
        return precise & pd.Series(point, index=services.index)
    if "lat" in services.columns:
        return precise & services["lat"].notna()
    return precise


def finer_than_town(precision: pd.Series) -> pd.Series:
    """True where a geocode precision is finer than the town (exact, street, postal, FSA),
    or is not a precision at all: a value that cannot be read is never taken as coarse."""
    return precision.isin(FINER_THAN_TOWN) | ~precision.isin(PRECISIONS)


def precision_rank(precision: str) -> int:
    """Where a precision stands in :data:`PRECISIONS`: 0 is ``exact``, higher is coarser.

    Every comparison or sort of precisions goes through this order.

    Raises
    ------
    ValueError
        ``precision`` is not one of :data:`PRECISIONS`.
    """
    try:
        return PRECISIONS.index(precision)
    except ValueError:
        raise ValueError(f"{precision!r} is not a geocode precision "
                         f"({', '.join(PRECISIONS)})") from None


def is_fly_in(services: pd.DataFrame) -> pd.Series:
    """True for the services flagged ``access`` = ``no_all_season_road`` (in a community with
    no all-season road, see :func:`gapmap.travel.flag_fly_in_services`); all False for a
    frame without an ``access`` column."""
    if "access" not in services.columns:
        return pd.Series(False, index=services.index)
    return services["access"].astype(str) == "no_all_season_road"


DELIVERY_MODES: tuple[str, ...] = ("in_person", "outreach", "virtual")
"""The services table's ``delivery`` values (``;``-joined; "" when the listing does not say)."""


def codes_in(frame: pd.DataFrame, column: str) -> pd.Series:
    """A ``;``-joined column (``delivery``, ``language_codes``, ``area_cduids``, ...) as a set
    of codes per row: empty where the cell is blank or the frame has no such column."""
    if column not in frame.columns:
        return pd.Series([frozenset()] * len(frame), index=frame.index, dtype=object)
    return frame[column].fillna("").astype(str).map(
        lambda v: frozenset(p.strip() for p in v.split(";") if p.strip()))


def delivery_has(services: pd.DataFrame, mode: str) -> pd.Series:
    """True where a service's ``delivery`` names ``mode`` (all False without the column)."""
    return codes_in(services, "delivery").map(lambda ms: mode in ms).astype(bool)


def delivery_unknown(services: pd.DataFrame) -> pd.Series:
    """True where the listing does not say how the service is delivered (``delivery`` "",
    or no such column)."""
    if "delivery" not in services.columns:
        return pd.Series(True, index=services.index)
    return services["delivery"].fillna("").astype(str).str.strip() == ""


def counts_in_person(services: pd.DataFrame) -> pd.Series:
    """True for the services that count in person: placed (:func:`is_placed`: the listing
    gives a place to go) and delivered in person, or placed with delivery unknown. An
    outreach-only or virtual-only service never counts in person, even with a point."""
    return is_placed(services) & (delivery_has(services, "in_person")
                                  | delivery_unknown(services))


def counts_by_road(services: pd.DataFrame) -> pd.Series:
    """True for the services a drive time can reach: in person (:func:`counts_in_person`)
    and not in a community with no all-season road (:func:`is_fly_in`). Only these count
    for physical coverage on the road graph and get a catchment."""
    return counts_in_person(services) & ~is_fly_in(services)


def check_withheld(services: pd.DataFrame, *, refusing: str = "share them") -> None:
    """Stop when a confidential service is placed finer than its town (:func:`finer_than_town`).

    Ingest and geocode place confidential services at their town at most; this is the guard
    every output that shares or draws services calls. ``refusing`` ends the message
    (``"map them"``, ``"share them"``).

    Raises
    ------
    ConfidentialityError
        Naming each such service and its precision.
    """
    bad = services["confidential"].astype(bool) & finer_than_town(services["geocode_precision"])
    if bad.any():
        rows = services.loc[bad, ["service_id", "geocode_precision"]]
        raise ConfidentialityError(
            f"services: confidential service(s) placed finer than their town, refusing to "
            f"{refusing}: " + ", ".join(f"{r.service_id} ({r.geocode_precision})"
                                        for r in rows.itertuples()))


ACCESS_VALUES: tuple[str, ...] = (
    "road", "estimate", "beyond_road_network", "no_all_season_road", "unreachable",
    "no_service", "in_community")
"""The travel table's ``access``, per community and need (:mod:`gapmap.travel`): a drive
time by road; an estimate (a long local-road connector); beyond the road network, no
all-season road, no path, no placed service of the need (no time); in the community (a
community with no all-season road that has an in-person service of the need inside it,
time 0)."""
TIMED_ACCESS = frozenset({"road", "estimate", "in_community"})
"""The ``access`` values that come with a time (0 for ``in_community``)."""
_ACCESS_WORDING = {
    "road": "",
    "estimate": "travel time is an estimate (long local-road connector)",
    "beyond_road_network": "beyond the road network: no drive time given",
    "no_all_season_road": "no all-season road: fly-in or winter road",
    "unreachable": "no road path to a service on the network",
    "no_service": "no placed service of this need anywhere",
    "in_community": "in the community (no all-season road: other needs fly out)",
}


def access_text(access: str) -> str:
    """The words for an ``access`` value, as the gap table's notes and the maps say it
    (``""`` for ``road``: nothing to add). A value outside :data:`ACCESS_VALUES` is spelled
    out (``"some_value"`` -> ``"some value"``) rather than dropped."""
    return _ACCESS_WORDING.get(access, str(access).replace("_", " "))


GEOCODE_ISSUES: tuple[str, ...] = (
    "failed", "ambiguous", "disagrees", "listed_point_rejected", "address_not_geocoded",
    "rural_fsa", "area")
"""Why a service is in the geocode report, most urgent first: not placed; a town name that
stays ambiguous; a point that disagrees with its own town or postal code; a listed point
outside Ontario; an address Nominatim did not place (the row ended coarser than ``street``);
placed only at a rural FSA's regional point; listed for an area. The geocode chain records
each code in ``geocode_issues`` where it arises; the report reads that column."""


# -- stage tables ---------------------------------------------------------------------------
# Each table one stage writes and the next reads, declared once: its columns and their kind,
# its key, whether it is a GeoDataFrame (then in EPSG:4326) and the stage that writes it.
# :func:`read_stage` reads a stage file and returns the declared table, or raises
# :class:`StageFileError` in one line naming the file, the stage that wrote it and the
# column or problem. A table may carry columns beyond those declared (a stage keeps the
# columns of its input); the declared ones are the contract the next stage relies on.

log = logging.getLogger(__name__)

Kind = Literal["text", "float", "int", "bool", "geometry"]
FrameT = TypeVar("FrameT", bound=pd.DataFrame)
STAGE_CRS = "EPSG:4326"
"""The CRS of every stage table with geometry."""


@dataclass(frozen=True)
class Column:
    """A declared column: its name and kind (``text``, ``float``, ``int``, ``bool``,
    ``geometry``)."""

    name: str
    kind: Kind


def _columns(kind: Kind, names: str) -> tuple[Column, ...]:
    return tuple(Column(n, kind) for n in names.split())


@dataclass(frozen=True)
class StageTable(Generic[FrameT]):
    """The contract of one stage table (see the section comment above).

    ``frame`` is ``pd.DataFrame`` or ``gpd.GeoDataFrame`` (geometry in :data:`STAGE_CRS`);
    ``key`` the column(s) whose values are unique (none: any number of equal rows);
    ``stage`` the stage that writes ``file``.
    """

    file: str
    stage: str
    frame: type[FrameT]
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        """The declared column names, in order."""
        return [c.name for c in self.columns]

    @property
    def geo(self) -> bool:
        return issubclass(self.frame, gpd.GeoDataFrame)

    def empty(self) -> FrameT:
        """A table with no rows and every declared column, of its declared type."""
        data = {c.name: _empty_column(c.kind) for c in self.columns if c.kind != "geometry"}
        df = pd.DataFrame(data)
        if self.geo:
            return cast(FrameT, gpd.GeoDataFrame(df, geometry=gpd.GeoSeries([], crs=STAGE_CRS)))
        return cast(FrameT, df)

    def check(self, df: pd.DataFrame, source: str | Path) -> FrameT:
        """``df`` as this table, or :class:`StageFileError` naming ``source``, the stage that
        wrote it and the first problem: no geometry or CRS, a missing column, a column of
        the wrong kind, a blank or repeated key. A table with no rows is given every declared
        column's type (a file written from an empty frame may lose them)."""
        def fail(problem: str) -> StageFileError:
            return StageFileError(f"{source}: {problem} (written by the {self.stage} stage)")

        if self.geo:
            if not isinstance(df, gpd.GeoDataFrame):
                raise fail("no geometry column: a GeoDataFrame is expected")
            if df.crs is None:
                raise fail(f"no CRS: geometry in {STAGE_CRS} is expected")
            if not df.crs.equals(STAGE_CRS):
                raise fail(f"CRS {df.crs.to_string()}: {STAGE_CRS} is expected")
        missing = [c for c in self.names if c not in df.columns]
        if missing:
            raise fail(f"missing column(s) {', '.join(missing)}")
        if not len(df):
            return self._conform(df)
        for c in self.columns:
            found = _kind_problem(df[c.name], c.kind)
            if found:
                raise fail(f"column {c.name!r} should be {c.kind}, {found}")
        if self.key:
            keys = df[list(self.key)]
            blank = keys.isna().any(axis=1)
            if blank.any():
                raise fail(f"blank key {', '.join(self.key)} in row {int(blank.argmax()) + 1}")
            dup = keys[keys.duplicated()].drop_duplicates()
            if len(dup):
                shown = "; ".join("/".join(map(str, r)) for r in dup.head(5).itertuples(False))
                raise fail(f"duplicate key {', '.join(self.key)}: {shown}")
        return cast(FrameT, df)

    def _conform(self, df: pd.DataFrame) -> FrameT:
        out = df.copy()
        for c in self.columns:
            if c.kind != "geometry":
                out[c.name] = _empty_column(c.kind)
        return cast(FrameT, out)


_EMPTY_DTYPES: dict[str, Any] = {"text": str, "float": "float64", "int": "int64",
                                 "bool": "bool"}


def _empty_column(kind: Kind) -> pd.Series:
    return pd.Series([], dtype=_EMPTY_DTYPES[kind])


def _kind_problem(col: pd.Series, kind: Kind) -> str:
    """What is wrong with ``col`` as a column of ``kind`` ("" when nothing is). Text is a
    string column, or an object column of strings and missing values; a float column of
    nothing but NaN also passes as text (a blank column); an int column passes as float."""
    dtype = col.dtype
    if kind == "geometry":
        ok = isinstance(dtype, gpd.array.GeometryDtype)
    elif pd.api.types.is_object_dtype(dtype):
        values = col.dropna()
        ok = kind == "text" and bool(values.map(lambda v: isinstance(v, str)).all())
    elif pd.api.types.is_string_dtype(dtype):
        ok = kind == "text"
    elif pd.api.types.is_bool_dtype(dtype):
        ok = kind == "bool"
    elif pd.api.types.is_integer_dtype(dtype):
        ok = kind in ("int", "float")
    elif pd.api.types.is_float_dtype(dtype):
        ok = kind == "float" or (kind == "text" and col.isna().all())
    else:
        ok = False
    return "" if ok else f"found {dtype}"


def read_stage(path: str | Path, table: StageTable[FrameT]) -> FrameT:
    """Read the stage file ``path`` (Parquet or CSV) as ``table`` declares it.

    Raises
    ------
    InputFileError
        The file is missing (the message names the stage to run).
    StageFileError
        The file cannot be read (truncated, corrupt, a GeoParquet whose geometry fails to
        read) or is not the declared table (:meth:`StageTable.check`).
    """
    from gapmap.io import read_parquet

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: not found; the {table.stage} stage writes it "
                             f"(run `gapmap {table.stage}`)")
    try:
        df = _read_csv(path, table) if path.suffix.lower() == ".csv" else read_parquet(path)
    except SchemaError as exc:
        raise StageFileError(f"{exc} (written by the {table.stage} stage)") from exc
    out = table.check(df, path)
    if not len(out):
        log.warning("%s has no rows: the %s stage found none", path.name, table.stage)
    return out


def write_stage(df: FrameT, path: str | Path, table: StageTable[FrameT]) -> Path:
    """Write a stage table (Parquet, or CSV by suffix) atomically, checked as ``table``
    declares it, so that a stage breaking its contract stops where it breaks it; a table
    with no rows is written with every declared column and type."""
    from gapmap.io import write_csv, write_parquet

    out = table.check(df, path)
    return write_csv(out, path) if Path(path).suffix.lower() == ".csv" else \
        write_parquet(out, path)


def _read_csv(path: Path, table: StageTable[FrameT]) -> pd.DataFrame:
    text: dict[Any, Any] = {c.name: str for c in table.columns if c.kind == "text"}
    try:
        return pd.read_csv(path, dtype=text, encoding="utf-8-sig")  # BOM or not
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError,
            ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SchemaError(f"{path}: cannot be read as CSV ({first})") from exc


# The tables. Services: ingest writes them; geocode adds a point and its precision; regions
# the census division and OPP region (columns documented in each stage's module).

_SERVICE_TEXT = ("service_id name organization need_types address city postal_code phone "
                 "website hours languages eligibility")
_SERVICE_SOURCE_TEXT = ("place_name area_name place_kind listing_region source source_row "
                        "coordinate_source source_url notes")
_SERVICE_CONTACT_TEXT = "phone_e164"  # the phone numbers in E.164, with extension
# what directories add: the areas served, capacity as given, date last verified, and how
# the source itself rates its verification
_SERVICE_DIRECTORY_TEXT = "service_area capacity last_verified verification"
# how a service is reached and by whom, parsed from the listing (issue 16, see gapmap.ingest)
_SERVICE_ACCESS_TEXT = ("delivery hours_weekly open_24_7 language_codes gender_limit "
                        "eligible_groups")
SERVICES: StageTable[pd.DataFrame] = StageTable(
    "services.parquet", "ingest", pd.DataFrame,
    (*_columns("text", _SERVICE_TEXT), *_columns("float", "lat lon"),
     *_columns("bool", "confidential"), *_columns("text", _SERVICE_SOURCE_TEXT),
     *_columns("text", _SERVICE_CONTACT_TEXT), *_columns("text", _SERVICE_DIRECTORY_TEXT),
     *_columns("text", _SERVICE_ACCESS_TEXT), *_columns("float", "age_min age_max")),
    key=("service_id",))
"""ingest -> ``services.parquet``: one row per service (:mod:`gapmap.ingest`)."""

GEOCODE_COLUMNS: tuple[Column, ...] = (
    *_columns("text", "geocode_precision geocode_source geocode_note matched_place "
                      "area_cduids"),
    Column("ambiguous", "bool"),
    *_columns("text", "geocode_candidates geocode_check geocode_check_note geocode_issues "
                      "service_area_codes"))
"""What geocode adds to the services, besides the point (:mod:`gapmap.geocode`)."""

SERVICES_GEOCODED: StageTable[gpd.GeoDataFrame] = StageTable(
    "services_geocoded.parquet", "geocode", gpd.GeoDataFrame,
    SERVICES.columns + GEOCODE_COLUMNS + (Column("geometry", "geometry"),),
    key=("service_id",))
"""geocode -> ``services_geocoded.parquet``: the services with ``geometry`` (None when
unplaced), ``lat``/``lon`` the placed point."""

REGION_COLUMNS: tuple[Column, ...] = _columns(
    "text", "cduid cd_name opp_region region_confidence region_method")
"""What the regions stage adds to services and demand points (:mod:`gapmap.regions`)."""

SERVICES_LOCATED: StageTable[gpd.GeoDataFrame] = StageTable(
    "services_located.parquet", "regions", gpd.GeoDataFrame,
    SERVICES_GEOCODED.columns + REGION_COLUMNS, key=("service_id",))
"""regions -> ``services_located.parquet``: the geocoded services in the run's scope with
their census division and OPP region."""

DEMAND_POINT_COLUMNS: tuple[Column, ...] = (
    *_columns("text", "demand_id name kind csduid cduid cma_name"),
    Column("pop2021", "int"), *_columns("bool", "is_reserve enumerated"),
    *_columns("text", "access remote_community air_hub"), Column("geometry", "geometry"))
"""The population points :func:`gapmap.demand.build_demand` returns."""

DEMAND: StageTable[gpd.GeoDataFrame] = StageTable(
    "demand.parquet", "demand", gpd.GeoDataFrame,
    DEMAND_POINT_COLUMNS + tuple(c for c in REGION_COLUMNS if c.name != "cduid")
    + (Column("census_code", "text"),),
    key=("demand_id",))
"""demand -> ``demand.parquet``: the population points in scope, with their region; ``name``
is the name people know (:mod:`gapmap.analysis.names`), ``census_code`` the census id."""

NETWORK_NODES: StageTable[pd.DataFrame] = StageTable(
    "network_nodes.parquet", "network", pd.DataFrame,
    _columns("float", "x y"))
"""network -> ``network_nodes.parquet``: node ``i`` is row ``i``, ``x``/``y`` lon/lat (and
the graph's ``source``) (:mod:`gapmap.network`)."""

NETWORK_EDGES: StageTable[gpd.GeoDataFrame] = StageTable(
    "network_edges.parquet", "network", gpd.GeoDataFrame,
    (*_columns("int", "u v"), *_columns("float", "length_m speed_kph travel_s"),
     *_columns("text", "road_class label"), Column("geometry", "geometry")))
"""network -> ``network_edges.parquet``: the directed edges between node rows ``u`` and
``v`` (parallel edges allowed, so no key)."""

TRAVEL: StageTable[pd.DataFrame] = StageTable(
    "travel.parquet", "travel", pd.DataFrame,
    (*_columns("text", "demand_id need_type"), Column("travel_min", "float"),
     *_columns("text", "service_id access route")),
    key=("demand_id", "need_type"))
"""travel -> ``travel.parquet``: per demand point and need type, the nearest service and
the time to it (:mod:`gapmap.travel`)."""

REACH: StageTable[pd.DataFrame] = StageTable(
    "reach.parquet", "travel", pd.DataFrame,
    (*_columns("text", "demand_id service_id"), Column("travel_min", "float"),
     *_columns("text", "access route")),
    key=("demand_id", "service_id"))
"""travel -> ``reach.parquet``: every (demand point, in-person service) pair within the
run's longest threshold, and the ``in_community`` pairs (:func:`gapmap.travel.reach_pairs`)."""

COVERAGE: StageTable[pd.DataFrame] = StageTable(
    "coverage_by_region.csv", "gaps", pd.DataFrame,
    (*_columns("text", "opp_region need_type"), Column("threshold_min", "float"),
     *_columns("int", "pop2021 pop_covered"), Column("pct_covered", "float"),
     *_columns("int", "pop_covered_estimate pop_outside pop_no_all_season_road "
                      "pop_beyond_road_network points_not_enumerated services_placed "
                      "services_area_level"),
     Column("requires_24_7", "bool"),
     *_columns("int", "pop_in_person pop_outreach_only pop_line_only pop_hours_unknown "
                      "pop_not_reached"),
     Column("for_group", "text"),
     *_columns("int", "pop_in_person_for_group pop_outreach_only_for_group "
                      "pop_line_only_for_group pop_hours_unknown_for_group "
                      "pop_not_reached_for_group"),
     *_columns("int", "services_delivery_unknown services_outreach services_virtual "
                      "services_hours_unknown services_eligibility_unknown "
                      "services_exclude_group")),
    key=("opp_region", "need_type"))
"""gaps -> ``coverage_by_region.csv``, read by the report stage
(:mod:`gapmap.analysis.coverage`)."""

COVERAGE_DEPTH: StageTable[pd.DataFrame] = StageTable(
    "coverage.csv", "gaps", pd.DataFrame,
    (*_columns("text", "opp_region need_type"), Column("threshold_min", "float"),
     Column("need_threshold", "bool"), *_columns("int", "pop2021 pop_in_person"),
     Column("pct_in_person", "float"), Column("pop_outreach_only", "int"),
     Column("pct_outreach_only", "float"), Column("pop_line_only", "int"),
     Column("pct_line_only", "float"),
     *_columns("int", "pop_estimate pop_no_all_season_road pop_beyond_road_network "
                      "pop_no_time"),
     *_columns("float", "mean_travel_min p90_travel_min"),
     *_columns("int", "points_not_enumerated services_placed services_area_level")),
    key=("opp_region", "need_type", "threshold_min"))
"""gaps -> ``coverage.csv``: the long coverage table, per region x need x drive time, one
``pop_<kind>``/``pct_<kind>`` pair per access kind
(:func:`gapmap.analysis.coverage.coverage_in_depth`)."""

GAP_COMMUNITIES: StageTable[pd.DataFrame] = StageTable(
    "gap_communities.csv", "gaps", pd.DataFrame,
    (*_columns("text", "need_type opp_region"), Column("rank", "int"),
     *_columns("text", "demand_id name census_code kind cd_name"), Column("pop2021", "int"),
     Column("enumerated", "bool"),
     *_columns("float", "travel_min threshold_min minutes_beyond gap_score"),
     *_columns("text", "service_id service_name service_town access air_hub note "
                       "reached_by")),
    key=("need_type", "demand_id"))
"""gaps -> ``gap_communities.csv``, read by the maps and report stages
(:func:`gapmap.analysis.coverage.gap_communities`)."""

ELIGIBILITY_BY_NEED: StageTable[pd.DataFrame] = StageTable(
    "eligibility_by_need.csv", "gaps", pd.DataFrame,
    (*_columns("text", "need_type for_group"),
     *_columns("int", "services services_restricted"), Column("restricted_to", "text"),
     *_columns("int", "services_admit_group services_exclude_group "
                      "services_eligibility_unknown"),
     Column("restricted_services", "text")),
    key=("need_type",))
"""gaps -> ``eligibility_by_need.csv``: per need, the services that restrict whom they serve
and to whom (:func:`gapmap.analysis.access.eligibility_by_need`)."""

FRENCH_ACCESS: StageTable[pd.DataFrame] = StageTable(
    "french_access_by_region.csv", "gaps", pd.DataFrame,
    (*_columns("text", "need_type opp_region"),
     *_columns("int", "pop_designated pop_designated_partial pop_fr_in_person "
                      "pop_fr_outreach_only pop_fr_line_only pop_fr_language_unknown "
                      "pop_fr_none"),
     Column("pct_fr_in_person", "float"),
     *_columns("int", "services_in_french services_language_unknown")),
    key=("need_type", "opp_region"))
"""gaps -> ``french_access_by_region.csv``: per need and OPP region, the population of the
areas designated under the French Language Services Act and how services offering French
reach it (:func:`gapmap.analysis.french.french_access_by_region`)."""

WRAPAROUND: StageTable[pd.DataFrame] = StageTable(
    "wraparound.csv", "gaps", pd.DataFrame,
    (*_columns("text", "demand_id name census_code opp_region cd_name"),
     *_columns("int", "pop2021 needs_counted needs_reached"),
     *_columns("text", "needs_missing access")),
    key=("demand_id",))
"""gaps -> ``wraparound.csv``: per community, the needs reached within their thresholds
(:func:`gapmap.analysis.wraparound.wraparound_by_community`)."""

WRAPAROUND_BY_REGION: StageTable[pd.DataFrame] = StageTable(
    "wraparound_by_region.csv", "gaps", pd.DataFrame,
    (Column("opp_region", "text"), *_columns("int", "needs_reached pop2021"),
     *_columns("float", "pct_pop pct_pop_at_least mean_needs_reached")),
    key=("opp_region", "needs_reached"))
"""gaps -> ``wraparound_by_region.csv``: the population by number of needs reached
(:func:`gapmap.analysis.wraparound.wraparound_by_region`)."""

ACCESS_BY_COMMUNITY: StageTable[pd.DataFrame] = StageTable(
    "access_by_community.csv", "plan", pd.DataFrame,
    (*_columns("text", "demand_id name census_code opp_region need_type"),
     Column("pop2021", "int"), Column("threshold_min", "float"),
     Column("services_within", "int"), *_columns("float", "access_2sfca access_e2sfca"),
     Column("supply_basis", "text")),
    key=("demand_id", "need_type"))
"""plan -> ``access_by_community.csv``: 2SFCA and E2SFCA per community and need
(:func:`gapmap.plan.access_by_community`)."""

SUGGESTIONS: StageTable[pd.DataFrame] = StageTable(
    "suggestions.csv", "plan", pd.DataFrame,
    (*_columns("text", "need_type opp_region method"), Column("rank", "int"),
     *_columns("text", "site site_kind cd_name"),
     *_columns("float", "lat lon threshold_min"),
     *_columns("int", "pop_added pop_added_alone pop2021"),
     *_columns("float", "pct_covered_before pct_covered_after"),
     *_columns("int", "services_placed services_not_placed services_coarse"),
     Column("caveat", "text")),
    key=("need_type", "opp_region", "method", "rank"))
"""plan -> ``suggestions.csv``: where one more service adds the most covered people
(:func:`gapmap.plan.suggestions`)."""

SCENARIO_COMPARE: StageTable[pd.DataFrame] = StageTable(
    "scenario_compare.csv", "plan", pd.DataFrame,
    (*_columns("text", "opp_region need_type"), Column("threshold_min", "float"),
     *_columns("int", "pop2021 pop_covered_before pop_covered_after"),
     *_columns("float", "pct_covered_before pct_covered_after"),
     *_columns("int", "pop_change services_placed_before services_placed_after")),
    key=("opp_region", "need_type"))
"""plan -> ``scenario_compare.csv``: coverage before and after a ``[scenario]``
(:func:`gapmap.plan.scenario_compare`)."""

ACCESS_CAPACITY: StageTable[pd.DataFrame] = StageTable(
    "access_capacity.csv", "plan", pd.DataFrame,
    (*_columns("text", "demand_id name census_code"), Column("pop2021", "int"),
     Column("threshold_min", "float"), *_columns("int", "locations_within capacity_within"),
     *_columns("float", "access_2sfca access_e2sfca"), Column("supply", "text")),
    key=("demand_id",))
"""plan -> ``access_capacity.csv``: the labelled capacity-weighted variant (Toronto's shelter
beds and rooms for Toronto's demand, :func:`gapmap.plan.capacity_access`)."""


_YEAR_IN_NAME = re.compile(r"\b(19[5-9]\d|20\d\d)\b")


def dated_before(name: str, before: int) -> int:
    """The year a service's name dates it to ("Anti-human-trafficking project (2017
    Community Supports Fund)" -> 2017) when that is before ``before``, else 0: a listing
    named for a past year's funding may have ended, and an answer that rests on it is
    flagged (the maps' panel, the regional reports), never hidden."""
    years = [int(y) for y in _YEAR_IN_NAME.findall(name or "")]
    return max(years) if years and max(years) < before else 0
