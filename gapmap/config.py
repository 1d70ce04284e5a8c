"""One run's settings: a typed model per TOML table, read from a file and validated.

Each table of the config file (``[run]``, ``[inputs]``, ``[ingest]``, ``[outputs]``, ``[network]``,
``[demand]``, ``[coverage]``, ``[geocode]``, ``[geocode.nominatim]``, ``[remote]``,
``[maps]``, ``[referral]``) is a frozen pydantic dataclass below: its fields are the table's
settings, each with its type, range, default and description written once.
:func:`load_config` refuses an unknown table or setting with the nearest valid name, a value
of the wrong type or out of range, and a broken cross-field rule, in one line naming the file
and the key.
``docs/settings.md`` is generated from these models (:func:`settings_reference`).

Paths: relative paths in the file resolve against the file's folder. Every ``[inputs]``
reference file defaults to the Ontario data shipped in the repository's ``data/raw/``
(:func:`data_dir`; ``GAPMAP_DATA_DIR`` points elsewhere), so a config needs only its
listings; the output folders default to ``data/interim``, ``data/processed`` and ``maps``
beside the config file. What a run records (:meth:`Config.as_dict`,
:meth:`Config.fingerprint`) writes paths relative to the config's folder, or as
``<data>/...`` for the shipped data (:func:`portable_path`), so the same run in two
checkouts writes the same bytes.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import os
import tomllib
import types
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    Strict,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.dataclasses import dataclass
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError, core_schema

from gapmap.errors import ConfigError
from gapmap.taxonomy import NEED_CODES

# -- where the shipped data lives --------------------------------------------------------------

DATA_DIR_ENV = "GAPMAP_DATA_DIR"
"""Environment variable naming the folder of the shipped reference data (``data/raw``)."""


def data_dir() -> Path:
    """The shipped reference data: ``$GAPMAP_DATA_DIR``, else the repository's ``data/raw``."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parents[1] / "data" / "raw"


def portable_path(path: str | Path, folder: Path) -> str:
    """``path`` as recorded in run metadata, the same in any checkout.

    A shipped data file is ``<data>/<its path in data_dir()>``; anything else is relative to
    ``folder`` (the config file's folder), with ``..`` where it lies outside it.
    """
    p = Path(path).resolve()
    shipped = data_dir()
    if p.is_relative_to(shipped):
        return "<data>/" + p.relative_to(shipped).as_posix()
    try:
        return Path(os.path.relpath(p, folder.resolve())).as_posix()
    except ValueError:  # another drive: no relative path
        return p.as_posix()


def file_digest(path: str | Path) -> str | None:
    """SHA-256 of a file (of a folder: of its files' names and SHA-256s), or None if there
    is no such file.

    Not cached: on the shipped data a fingerprint hashes 1.9 MB (Ontario) to 14.6 MB
    (Ottawa) in 3-13 ms, about 0.2 s of a run that asks for it some 17 times.
    """
    import hashlib

    from gapmap.io import file_sha256

    path = Path(path)
    if path.is_dir():  # a directory package: its files' names and digests
        parts = [f"{p.relative_to(path).as_posix()} {file_sha256(p)}"
                 for p in sorted(path.rglob("*")) if p.is_file()]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return file_sha256(path) if path.is_file() else None


# -- names and their suggestions ----------------------------------------------------------------


def _edits(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two adjacent letters) turning ``a`` into ``b``."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The valid name ``word`` most likely misspells, or None when none is close: the
    fewest edits (a swap of two letters is one), then the nearest length, then the most
    letters in common."""
    options = {c.lower(): c for c in choices}
    if not options:
        return None
    w = word.lower()

    def ratio(c: str) -> float:
        return difflib.SequenceMatcher(None, w, c).ratio()

    best = min(options, key=lambda c: (_edits(w, c), abs(len(c) - len(w)), -ratio(c)))
    if _edits(w, best) <= (max(1, len(w) // 4) if len(w) > 2 else 0) or ratio(best) >= 0.7:
        return options[best]
    return None


def _did_you_mean(word: str, choices: Iterable[str], *, what: str = "") -> str:
    choices = list(choices)
    near = nearest(word, choices)
    if near is not None:
        return f"did you mean {near}?"
    return f"valid {what or 'names'}: {', '.join(choices)}"


@dataclasses.dataclass(frozen=True)
class _Names:
    """Annotated marker: a text value (or table key) must be one of a vocabulary.

    ``choices`` is called at validation time, so a vocabulary that lives in a module
    importing this one (the OPP regions) is read when it is needed.
    """

    what: str
    choices: Callable[[], tuple[str, ...]]

    def check(self, value: str) -> str:
        names = self.choices()
        if value not in names:
            raise PydanticCustomError("unknown_name", "unknown {what}",
                                      {"what": self.what, "choices": names})
        return value

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))


def _opp_regions() -> tuple[str, ...]:
    from gapmap.regions import OPP_REGIONS  # regions imports this module: read it late

    return OPP_REGIONS


# OSM ``highway`` values that are roads: the OpenStreetMap wiki's "Roads", "Link roads" and
# "Special road types" of Key:highway. Ways for walking, cycling and riding (footway,
# cycleway, path, steps, bridleway, corridor) and lifecycle values (construction, proposed)
# are not. A class is driven only when osm_speed_kph gives it a speed.
OSM_ROAD_CLASSES: tuple[str, ...] = (
    "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
    "motorway_link", "trunk_link", "primary_link", "secondary_link", "tertiary_link",
    "living_street", "service", "pedestrian", "track", "bus_guideway", "escape", "raceway",
    "road", "busway",
)
RNF_RANKS: tuple[str, ...] = ("1", "2", "3", "4", "5")
"""Statistics Canada Road Network File RANK: 1 (Trans-Canada) .. 5 (all other streets)."""

# -- value types ---------------------------------------------------------------------------------

Number = Annotated[float, Strict()]
Positive = Annotated[float, Strict(), Field(gt=0)]
NonNegative = Annotated[float, Strict(), Field(ge=0)]
NeedCode = Annotated[str, _Names("need type", lambda: NEED_CODES)]
OppRegion = Annotated[str, _Names("OPP region", _opp_regions)]
OsmClass = Annotated[str, _Names("OSM highway class", lambda: OSM_ROAD_CLASSES)]
RnfRank = Annotated[str, _Names("RNF RANK", lambda: RNF_RANKS)]
RnfClass = Annotated[str, BeforeValidator(lambda v: str(v) if type(v) is int else v),
                     Field(pattern=r"^[1-9][0-9]$", json_schema_extra={
                         "what": "RNF CLASS code",
                         "hint": 'a two-digit RNF CLASS code such as "12"'})]
CensusDivision = Annotated[str, Field(pattern=r"^\d{4}$", json_schema_extra={
    "what": "census division code",
    "hint": 'a 4-digit census division code such as "3506"'})]


def _path_text(value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            raise PydanticCustomError("path_blank", "must be a path")
        return Path(value)
    return value


def _optional_path_text(value: Any) -> Any:
    if value is False or value == "":
        return None
    if value is True:
        raise PydanticCustomError("path_or_false", "must be a path, or false to leave it out "
                                  "(no key: the shipped file)")
    return _path_text(value)


def _resolve(value: Path | None, info: ValidationInfo) -> Path | None:
    """A relative path against the config file's folder (given as the ``base`` context)."""
    base = (info.context or {}).get("base")
    if value is None or base is None:
        return value
    return (value if value.is_absolute() else base / value).resolve()


FilePath = Annotated[Path, BeforeValidator(_path_text), AfterValidator(_resolve)]
OptionalPath = Annotated[Path | None, BeforeValidator(_optional_path_text),
                         AfterValidator(_resolve)]


def _over(defaults: Mapping[str, float]) -> BeforeValidator:
    """In a config file, a speed table adds to (and overrides) its defaults; given in code,
    it is taken as it is."""
    def merge(value: Any, info: ValidationInfo) -> Any:
        if info.context is not None and isinstance(value, dict):
            return {**defaults, **value}
        return value
    return BeforeValidator(merge)


def _shipped(rel: str, description: str) -> Any:
    """A field defaulting to a file of the shipped data (``<data>/<rel>``)."""
    return Field(default_factory=lambda: data_dir() / rel, description=description,
                 json_schema_extra={"shipped": rel})


def _listing_items(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [{"path": v} if isinstance(v, str) else v for v in value]
    return value


_TABLE = ConfigDict(extra="forbid")


def _table_default(cls: type) -> Any:
    return Field(default_factory=cls)


# -- [run] -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class RunSettings:
    """``[run]``: what the run is called and what it analyses."""

    name: Annotated[str, AfterValidator(
        lambda v, info: v or (info.context or {}).get("stem") or "gapmap")] = Field(
        "", validate_default=True, json_schema_extra={"shown_default": "the file's name"},
        description="the run's name, shown on the maps and in the coverage table (and the "
                    "map's file name for a run limited to some census divisions)")
    data_vintage: str = Field("", description="the data's vintage, shown on the maps' "
                              "footer and in the run metadata")
    need_types: tuple[NeedCode, ...] = Field(
        NEED_CODES, min_length=1, description="the need types to analyse (default: all 14)")
    opp_regions: tuple[OppRegion, ...] = Field(
        (), description="the OPP regions to report and map (North East, North West, East, "
                        "West, Central); empty: all five")
    census_divisions: tuple[CensusDivision, ...] = Field(
        (), description='limit the run to these census divisions (4-digit codes such as '
                        '"3506"): services and demand in them only, one map named after the '
                        'run; empty: the whole province')


# -- [inputs] --------------------------------------------------------------------------------


def _listing_columns() -> tuple[str, ...]:
    from gapmap.sources.listings import LISTING_COLUMNS  # it imports this module: read late

    return LISTING_COLUMNS


ListingFormat = Literal["auto", "csv", "xlsx", "xls", "ods", "json", "geojson", "gpkg",
                        "hsds"]
LISTING_FORMATS: tuple[str, ...] = get_args(ListingFormat)
ListingColumn = Annotated[str, _Names("listing column", _listing_columns)]


def _encoding(value: str) -> str:
    import codecs

    try:
        return codecs.lookup(value).name
    except LookupError:
        raise PydanticCustomError("encoding", "is not an encoding Python knows (e.g. "
                                  "utf-8, cp1252, latin-1, utf-16)") from None


def _delimiter(value: str) -> str:
    value = {"tab": "\t", "\\t": "\t"}.get(value.lower(), value)
    if len(value) != 1 or value in "\"\r\n":
        raise PydanticCustomError("delimiter", "must be one character such as \",\", \";\", "
                                  "\"|\" or \"tab\"")
    return value


class FrozenMapping(dict[str, str]):
    """A table of names in a frozen setting: compared and hashed by its items (the stages
    cache on settings)."""

    def __hash__(self) -> int:  # type: ignore[override]  # dict sets __hash__ = None
        return hash(tuple(sorted(self.items())))


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class Listing:
    """One service-listing file: where it is, and what gapmap cannot guess about it."""

    path: FilePath = Field(description="the listings file: CSV/TSV/TXT, XLSX, XLS, ODS, "
                           "JSON, GeoJSON or GeoPackage; or an Open Referral HSDS 3.0 or 1.1 "
                           "package's folder")
    region: OppRegion | None = Field(
        None, description="the OPP region its rows belong to; helps tell repeated town "
                          "names apart")
    format: ListingFormat = Field(
        "auto", description="the file's format; `auto`: from its suffix (.csv/.tsv/.txt, "
        ".xlsx/.xlsm, .xls, .ods, .json, .geojson, .gpkg), or `hsds` for a folder holding "
        "a services.csv")
    sheet: str | None = Field(
        None, description="the sheet (XLSX, XLS, ODS) or layer (GeoPackage) to read; "
        "default: the first one with a recognised header")
    header_row: Annotated[int, Strict(), Field(ge=1)] | None = Field(
        None, description="the header's line or row number (1 = first); default: found "
        "among the first 30, title rows above it skipped")
    encoding: Annotated[str, AfterValidator(_encoding)] | None = Field(
        None, description="a text file's encoding, e.g. `cp1252`; default: detected "
        "(UTF-8 first, else charset-normalizer)")
    delimiter: Annotated[str, AfterValidator(_delimiter)] | None = Field(
        None, description="a text file's delimiter: `,` `;` `tab` or a vertical bar; "
        "default: detected")
    columns: Annotated[dict[str, ListingColumn], AfterValidator(FrozenMapping)] = Field(
        default_factory=FrozenMapping, description="the file's headers that gapmap does not "
        "recognise, mapped to its columns, e.g. `{ \"Nom du programme\" = \"name\" }`; "
        "English and French headers are recognised without it")
    need_type: NeedCode | None = Field(
        None, description="the need type of rows whose need-type cell is blank (or of "
        "every row, when the file has no need-type column)")
    no_address: Literal["public", "confidential"] = Field(
        "public", description="`confidential`: a row without a street address is "
        "confidential (a directory that leaves shelters' addresses out on purpose)")


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class Inputs:
    """``[inputs]``: the listings, and the reference files (the shipped Ontario data unless
    named)."""

    listings: Annotated[tuple[Listing, ...], BeforeValidator(_listing_items)] = Field(
        min_length=1, description='the service listing files: `["a.csv", ...]` or '
        '`[{ path = "a.csv", region = "North West" }, ...]` (required)')
    hospitals: OptionalPath = _shipped(
        "ontario/healthcare_facilities_odhf_v1.1.csv",
        "the ODHF facilities file whose hospitals become `medical_care` services; "
        "`false` (or \"\") leaves hospitals out")
    census_divisions: FilePath = _shipped(
        "ontario/census_divisions_2021_simplified.geojson", "census division polygons")
    province: FilePath = _shipped(
        "ontario/province_outline_2021_simplified.geojson", "the province's outline")
    opp_regions: FilePath = _shipped(
        "ontario/opp_region_by_census_division.csv",
        "the OPP region of each census division, with its confidence")
    census_subdivisions: FilePath = _shipped(
        "ontario/census_subdivisions_2021.csv", "census subdivisions: points and population")
    census_tracts: FilePath = _shipped(
        "ontario/census_tracts_2021.csv", "census tracts: points and population")
    fsa_statcan: FilePath = _shipped(
        "ontario/fsa_centroids_statcan2011.csv", "FSA points (Statistics Canada, 2011)")
    fsa_geonames: FilePath = _shipped(
        "ontario/fsa_centroids_geonames.csv", "FSA points (GeoNames), for newer FSAs")
    places_geonames: FilePath = _shipped(
        "ontario/places_geonames_cities500.csv", "the GeoNames gazetteer")
    places_fpa: OptionalPath = _shipped(
        "gpl-3.0/places_fpa.csv", "a second gazetteer (GPL-3.0); `false` leaves it out")
    highways: FilePath = _shipped(
        "gpl-3.0/highways_kings_fpa.geojson",
        "the King's Highways (GPL-3.0): the default road graph, drawn on the maps")
    remote_communities: FilePath = _shipped(
        "ontario/remote_communities_curated.csv", "the communities with no all-season road")
    police_offices: FilePath = _shipped(
        "ontario/opp_detachment_offices.csv",
        "the police offices that get a referral sheet: a name (`name` or `detachment`) and "
        "an address, a town (`office_town`, `town` or `city`) or a point (`lat`, `lon`); "
        "the shipped file has the OPP's 86 detachment office towns; also the candidate "
        "sites of `[suggest] candidates = \"detachments\"`")
    shelter_capacity: OptionalPath = _shipped(
        "toronto/toronto_shelter_locations_2024-03-20.csv",
        "Toronto's shelter locations with beds and rooms (20 March 2024): the labelled "
        "capacity-weighted access variant for Toronto; `false` leaves it out")
    opp_detachments: OptionalPath = _shipped(
        "ontario/opp_detachments.csv", "OPP detachments and their towns, searchable on the "
        "maps; `false` leaves them out")
    flsa_designated_areas: OptionalPath = _shipped(
        "ontario/flsa_designated_areas.csv", "the areas designated under the French Language "
        "Services Act, by census subdivision or whole division: `french_access_by_region.csv`; "
        "`false` leaves French access out")


# -- [ingest] --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class IngestSettings:
    """``[ingest]``: how listing files are read (each file's own settings are in
    `inputs.listings`)."""

    vocabulary: OptionalPath = Field(
        None, description="the analyst's vocabulary: a CSV (`need_type,term`, optionally "
        "`kind,language,source`) adding terms to the shipped need-type vocabulary")
    unreadable_files: Literal["stop", "skip"] = Field(
        "stop", description="a listing file that cannot be read (encoding, delimiter, sheet, "
        "columns): `stop` the run, or `skip` it with a warning and go on with the others")
    max_cell_chars: Annotated[int, Strict(), Field(ge=100)] = Field(
        32767, description="a longer cell rejects its row (32,767: a spreadsheet cell's "
        "limit)")
    overrides: OptionalPath = Field(
        None, description="the analyst's corrections to the listings, by service id, without "
        "editing them: a CSV `service_id,action,field,value,note`, action `set` (a field), "
        "`close` (the service) or `split` (never merge it with the service `value`); the run "
        "writes overrides_report.csv")
    stale_after_days: Annotated[int, Strict(), Field(ge=1)] = Field(
        730, description="a listing whose source last verified it longer ago than this "
        "(before the run date) counts as stale in data_quality_by_region.csv (two years: "
        "a common review cycle for directories)")
    duplicate_within_m: Annotated[float, Field(ge=0)] = Field(
        200.0, description="two sources' listings of the same organisation and name whose "
        "points lie this close (metres) are one service (also: the same street address, or "
        "the same phone in the same town); merged, and listed in duplicates.csv")



# -- [outputs] -------------------------------------------------------------------------------

_AFTER_CONFIG = "relative to the config file's folder"


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class Outputs:
    """``[outputs]``: where the run writes (folders relative to the config file's folder)."""

    interim_dir: FilePath = Field(Path("data/interim"), validate_default=True,
                                  description="the stage-to-stage tables")
    processed_dir: FilePath = Field(Path("data/processed"), validate_default=True,
                                    description="the tables and GeoPackages people use")
    maps_dir: FilePath = Field(Path("maps"), validate_default=True,
                               description="the HTML maps")
    referral_dir: FilePath = Field(Path("referral"), validate_default=True,
                                   description="the referral sheets: one HTML per office "
                                   "town, one PDF of them all, one CSV of every row")
    csv_bom: bool = Field(True, description="start every CSV with the UTF-8 byte-order mark, "
                          "so that Excel reads accents right (`false`: plain UTF-8)")
    reports: bool = Field(True, description="the report stage also writes `gapmap.xlsx`, "
                          "`data_dictionary.csv` and, in `<processed_dir>/reports/`, a report "
                          "per OPP region in HTML and PDF (printed by `referral.browser`)")
    report_communities: Annotated[int, Strict(), Field(ge=1, le=50)] = Field(
        5, description="the gap communities listed per need in a regional report and on a "
        "region's sheet of the workbook")


# -- [network] -------------------------------------------------------------------------------

NetworkSource = Literal["kings_highways", "osm_file", "rnf_file", "osmnx"]
NETWORK_SOURCES: tuple[str, ...] = get_args(NetworkSource)
"""Where the road graph comes from (``[network] source``)."""
FragmentRule = Literal["auto", "join", "drop", "keep"]
FRAGMENT_RULES: tuple[str, ...] = get_args(FragmentRule)
OSM_SUFFIXES = (".osm", ".osm.pbf", ".pbf", ".osm.bz2", ".osm.gz", ".o5m")

KINGS_HIGHWAYS_SPEED_KPH: dict[str, float] = {
    # the King's Highways file's categories: 400-series posted 100; two-lane highways 80
    "expressway": 100.0, "primary_highway": 80.0,
}
OSM_SPEED_KPH: dict[str, float] = {
    # OSM ``highway`` classes that are driven, and their speed where no maxspeed is tagged.
    # Ontario defaults: 400-series posted 100; the Highway Traffic Act's 80 outside built-up
    # areas for roads that mostly run between towns; its 50 inside them for town streets;
    # 60 for roads that are either; ramps slower than the roads they join.
    "motorway": 100.0, "motorway_link": 60.0,
    "trunk": 80.0, "trunk_link": 50.0,
    "primary": 80.0, "primary_link": 50.0,
    "secondary": 80.0, "secondary_link": 50.0,
    "tertiary": 60.0, "tertiary_link": 50.0,
    "unclassified": 60.0, "residential": 50.0, "living_street": 20.0, "road": 50.0,
}
OSM_ZONE_SPEED_KPH: dict[str, float] = {
    # implicit maxspeed values such as "CA:urban", "CA:ON:rural", "FI:urban": the part after
    # the last colon -> km/h (Highway Traffic Act defaults; "walk" is walking pace)
    "urban": 50.0, "rural": 80.0, "motorway": 100.0, "living_street": 20.0, "walk": 7.0,
}
RNF_RANK_SPEED_KPH: dict[str, float] = {
    # Statistics Canada Road Network File RANK: 1 (Trans-Canada) .. 5 (all other streets)
    "1": 100.0, "2": 80.0, "3": 60.0, "4": 50.0, "5": 40.0,
}
RNF_CLASS_SPEED_KPH: dict[str, float] = {
    # CLASS codes that override the RANK speed. 12: freeways and expressways (in Ottawa every
    # segment is Hwy 417, 416, 7, 174 or a parkway), posted 100; 25: interchange ramps
    # (unnamed segments beside the freeways).
    "12": 100.0, "25": 50.0,
}
RNF_EXCLUDE_CLASSES: tuple[str, ...] = ("27",)
"""RNF CLASS codes not driven: 27 is bus-only rapid transit (Ottawa's Transitway)."""


def _four_numbers(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) != 4:
        raise PydanticCustomError("bbox", "must be [west, south, east, north] in degrees")
    return value


def _table(defaults: dict[str, float]) -> Any:
    return lambda: dict(defaults)


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class NetworkSettings:
    """``[network]``: the road graph, and how communities and services join it."""

    source: NetworkSource = Field(
        "kings_highways", description="where the road graph comes from: the King's "
        "Highways (`inputs.highways`), an OpenStreetMap file, a Road Network File, or an "
        "osmnx download (see the README's \"Bring your own network\")")
    path: OptionalPath = Field(
        None, description="the road file of `osm_file` (.osm, .osm.pbf, .osm.bz2, .osm.gz, "
        ".o5m) or `rnf_file`; for `kings_highways` it defaults to `inputs.highways`")
    place: str | None = Field(None, description="`osmnx`: a place name to download")
    bbox: Annotated[tuple[Number, Number, Number, Number] | None,
                    BeforeValidator(_four_numbers)] = Field(
        None, description="`osmnx`: [west, south, east, north] in degrees, instead of a place")
    cache_dir: OptionalPath = Field(
        None, description="`osmnx`: where the download is kept as GraphML (default: "
        "`outputs.interim_dir`)")
    fragments: FragmentRule = Field(
        "auto", description="pieces not joined to the largest connected one: `join` them by "
        "a local-road connector, `drop` them, `keep` them; `auto`: join for the King's "
        "Highways, drop for full road networks")
    speed_kph: Annotated[dict[str, Positive], _over(KINGS_HIGHWAYS_SPEED_KPH)] = Field(
        default_factory=_table(KINGS_HIGHWAYS_SPEED_KPH),
        description="`kings_highways`: km/h by the highways file's `category` (400-series "
        "posted 100; two-lane King's Highways, towns along the way, 80); adds to the "
        "defaults; a category the file lacks is refused when the network is built")
    default_speed_kph: Positive = Field(
        80.0, description="`kings_highways`: km/h of a category with no speed")
    osm_speed_kph: Annotated[dict[OsmClass, Positive], _over(OSM_SPEED_KPH)] = Field(
        default_factory=_table(OSM_SPEED_KPH),
        description="OSM sources: the `highway` classes driven and their km/h where no "
        "`maxspeed` is tagged (Highway Traffic Act defaults: 50 in built-up areas, 80 "
        "elsewhere; posted 400-series limits); adds to the defaults, e.g. `service = 20` "
        "drives service roads. Keys: " + ", ".join(OSM_ROAD_CLASSES))
    osm_zone_speed_kph: Annotated[dict[str, Positive], _over(OSM_ZONE_SPEED_KPH)] = Field(
        default_factory=_table(OSM_ZONE_SPEED_KPH),
        description="OSM sources: km/h of implicit `maxspeed` values such as `CA:urban`, by "
        "the part after the last colon (free text); adds to the defaults")
    rnf_rank_speed_kph: Annotated[dict[RnfRank, Positive], _over(RNF_RANK_SPEED_KPH)] = Field(
        default_factory=_table(RNF_RANK_SPEED_KPH),
        description="`rnf_file`: km/h by RANK, 1 (Trans-Canada) .. 5 (all other streets); "
        "adds to the defaults")
    rnf_class_speed_kph: Annotated[dict[RnfClass, Positive],
                                   _over(RNF_CLASS_SPEED_KPH)] = Field(
        default_factory=_table(RNF_CLASS_SPEED_KPH),
        description="`rnf_file`: km/h by CLASS (two-digit codes), overriding the RANK speed: "
        "12 freeways and expressways, 25 ramps; adds to the defaults")
    rnf_exclude_classes: tuple[RnfClass, ...] = Field(
        RNF_EXCLUDE_CLASSES, description="`rnf_file`: CLASS codes left out (27: bus-only "
        "rapid transit, Ottawa's Transitway)")
    node_snap_m: Positive = Field(1.0, description="road vertices closer than this are one "
                                  "node")
    join_lines_within_m: NonNegative = Field(
        140.0, description="`kings_highways`: lines that cross are joined at the crossing, "
        "and a loose line end this close to another line is carried on to it; 140 m is twice "
        "the farthest a vertex moves when rounded to the file's 0.001° (69 m at 42° N); 0 "
        "joins crossings only. OSM and Road Network Files carry their own junctions")
    connector_circuity: Annotated[float, Strict(), Field(ge=1)] = Field(
        1.3, description="local-road connector: the straight line to the nearest node × "
        "this (road distance ≈ 1.2-1.4 × straight line in planning studies)")
    connector_speed_kph: Positive = Field(
        60.0, description="local-road connector speed (between rural 80 km/h roads and town "
        "streets)")
    estimate_beyond_km: Positive = Field(
        25.0, description="a longer connector makes the time an estimate")
    beyond_network_km: Positive = Field(
        100.0, description="a longer connector: beyond the road network, no time (at least "
        "`estimate_beyond_km`)")
    local_route_km: NonNegative = Field(
        25.0, description="a service this close in a straight line is also reached directly "
        "by local roads (`route = local`: same town, next village) and bounds the "
        "catchments' local-road disc; 0: network routes only. Independent of "
        "`estimate_beyond_km` (Ottawa: 2)")
    fly_in_service_km: NonNegative = Field(
        5.0, description="a service this close to a community with no all-season road is in "
        "it: no drive time, no catchment")

    @model_validator(mode="after")
    def _source_rules(self) -> NetworkSettings:
        s = self.source
        if s in ("osm_file", "rnf_file") and self.path is None:
            raise ValueError(f"network.source = {s!r} needs network.path, the road file "
                             "to read")
        if s == "osm_file" and self.path is not None and not self.path.name.lower().endswith(
                OSM_SUFFIXES):
            raise ValueError(f"network.path {self.path.name!r} is not an OpenStreetMap file "
                             "(.osm, .osm.pbf, .osm.bz2, .osm.gz, .o5m)")
        if s != "osmnx" and (self.place is not None or self.bbox is not None):
            raise ValueError(f"network.place and network.bbox are for source = \"osmnx\", "
                             f"not {s!r}")
        if s == "osmnx" and (self.place is None) == (self.bbox is None):
            raise ValueError("network.source = \"osmnx\" needs exactly one of network.place "
                             "(a place name) or network.bbox ([west, south, east, north] in "
                             "degrees)")
        if self.place is not None and not self.place.strip():
            raise ValueError(f"network.place must be a place name, got {self.place!r}")
        b = self.bbox
        if b is not None and not (-180 <= b[0] < b[2] <= 180 and -90 <= b[1] < b[3] <= 90):
            raise ValueError(f"network.bbox must be [west, south, east, north] in degrees "
                             f"with west < east and south < north, got {list(b)!r}")
        if self.beyond_network_km < self.estimate_beyond_km:
            raise ValueError(f"network.beyond_network_km ({self.beyond_network_km:g}) must be "
                             f">= estimate_beyond_km ({self.estimate_beyond_km:g})")
        return self

    def fragment_rule(self) -> str:
        """``join`` for the King's Highways, ``drop`` for full road networks, unless set."""
        if self.fragments != "auto":
            return self.fragments
        return "join" if self.source == "kings_highways" else "drop"


# -- [demand] --------------------------------------------------------------------------------

DemandSource = Literal["census", "file"]
DEMAND_SOURCES: tuple[str, ...] = get_args(DemandSource)


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class DemandSettings:
    """``[demand]``: where people are: the census points (default) or a file of areas or
    points (the other settings are for `source = "file"`)."""

    source: DemandSource = Field(
        "census", description="`census`: the census tracts and subdivisions of `[inputs]`; "
        "`file`: any polygons or points (polygons are represented by a point inside them)")
    path: OptionalPath = Field(None, description="the demand file (required for `file`)")
    layer: str | None = Field(None, description="its layer, for a multi-layer file")
    id_column: str = Field("", description="the id column (required for `file`)")
    population_column: str = Field("", description="the population column (required for "
                                   "`file`)")
    name_column: str | None = Field(None, description="a name column; default: `<kind> <id>`")
    kind: str = Field("area", description="what a row is, e.g. `dissemination_block`")
    id_prefix: str = Field("", description="prefixed to the ids, e.g. `db-`")
    cduid_column: str | None = Field(None, description="a census division code column")
    cduid_from_id: Annotated[bool, Strict()] = Field(
        False, description="the census division is the id's first four characters "
        "(Statistics Canada's geographic ids)")
    csduid_column: str | None = Field(
        None, description="a census subdivision code column (then the remote-community "
        "flags apply)")

    @model_validator(mode="after")
    def _file_rules(self) -> DemandSettings:
        if self.source == "census":
            for name, info in _fields(type(self)).items():
                if name != "source" and getattr(self, name) != info.get_default():
                    raise ValueError(f"demand.{name} is for source = \"file\"")
        else:
            for key in ("path", "id_column", "population_column"):
                if not getattr(self, key):
                    raise ValueError(f"demand.source = \"file\" needs demand.{key}")
        return self


# -- [coverage] ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class CoverageSettings:
    """``[coverage]``: the drive-time thresholds and catchment bands."""

    default_threshold_min: Positive = Field(
        60.0, description="a community within this drive of a need's nearest service is "
        "covered (a common planning convention for specialised services, not a standard)")
    thresholds_min: dict[NeedCode, Positive] = Field(
        default_factory=dict, description="per-need overrides, e.g. `{ medical_care = 30 }`")
    catchment_bands_min: tuple[Positive, ...] = Field(
        (15.0, 30.0, 60.0, 120.0), min_length=1, description="catchment bands")
    catchment_buffer_m: Positive = Field(
        100.0, description="reached roads are buffered by this to make catchment polygons")
    catchment_simplify_m: NonNegative = Field(
        2.0, description="each curved road is simplified by this many metres (topology "
        "preserved, ends kept), once, before the catchment bands are drawn: on Ottawa areas "
        "move by at most 0.04 %, polygons have a third fewer vertices; 0: the file's lines")

    depth_thresholds_min: tuple[Positive, ...] = Field(
        (30.0, 60.0, 90.0), min_length=1, description="the long coverage table "
        "(`coverage.csv`) reports every need at each of these drive times, beside its own "
        "threshold")

    def threshold(self, need: str) -> float:
        return float(self.thresholds_min.get(need, self.default_threshold_min))


# -- [names], [access], [wraparound], [suggest], [scenario] ------------------------------------


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class NamesSettings:
    """``[names]``: how outputs name a community (:mod:`gapmap.analysis.names`)."""

    near_within_km: Positive = Field(
        10.0, description="a census tract (or any point that is not a municipality) is named "
        "\"near <town>\" after the nearest gazetteer town within this distance")


AccessDecay = Literal["bands", "gaussian"]
AccessGroup = Literal["women_with_children", "women", "youth", "families", "men"]


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class AccessSettings:
    """``[access]``: what counts as access (:mod:`gapmap.analysis.access`: open when
    needed, for whom) and capacity-aware access, the two-step floating catchment area
    (:mod:`gapmap.analysis.fca`)."""

    need_24_7: tuple[NeedCode, ...] = Field(
        (), description="the needs whose coverage counts only services open 24/7 (in "
        "person, outreach and lines); people whose best reach is by services of unknown hours "
        "are reported apart (`pop_hours_unknown`). Off by default until hours are parsed; "
        "DOMAIN.md expects 24/7 for `emergency_shelter`, `sexual_assault_care`, "
        "`crisis_support` (crisis lines) and `anti_trafficking` (the trafficking hotline)")
    for_group: AccessGroup = Field(
        "women_with_children", description="the group a run is for: its coverage "
        "(`pop_*_for_group`) counts only services whose stated eligibility admits it "
        "(a men-only or youth-only shelter does not take in a woman with her children); "
        "services that state no eligibility count and are reported as unknown. 95 % of "
        "police-reported trafficking victims in Ontario in 2019 were women and girls")

    decay: AccessDecay = Field(
        "bands", description="E2SFCA weights: `bands` splits each need's threshold into "
        "equal bands weighted by `band_weights` (Luo & Qi 2009); `gaussian` weighs a time t "
        "by exp(-t^2 / (2 s^2)) with s chosen so that the weight is 0.01 at the threshold")
    band_weights: tuple[Positive, ...] = Field(
        (1.0, 0.68, 0.22), min_length=1,
        description="the weight of each band, nearest first (Luo & Qi's 0-10/10-20/20-30 min)")
    per_population: Positive = Field(
        100_000.0, description="access is reported per this many people")
    capacity_division: CensusDivision = Field(
        "3520", description="the census division whose demand the capacity variant "
        "(`inputs.shelter_capacity`) measures: Toronto")
    capacity_threshold_min: Positive = Field(
        30.0, description="the capacity variant's catchment, in minutes: city scale (at 60 "
        "min every Toronto tract reaches every shelter and access is flat)")


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class WraparoundSettings:
    """``[wraparound]``: how many needs a community reaches together."""

    need_types: tuple[NeedCode, ...] = Field(
        (), description="the needs counted (empty: every need type of the run)")


SuggestCandidates = Literal["towns", "detachments", "file"]


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class SuggestSettings:
    """``[suggest]``: where one more service would help most (the maximal covering location
    problem, :mod:`gapmap.analysis.location`)."""

    sites: Annotated[int, Strict(), Field(ge=1, le=20)] = Field(
        3, description="sites suggested per need and OPP region")
    candidates: SuggestCandidates = Field(
        "towns", description="`towns`: the gazetteer towns (GeoNames, population >= "
        "`min_town_population`); `detachments`: the OPP detachment office towns "
        "(`inputs.police_offices`); `file`: `candidates_path`")
    min_town_population: NonNegative = Field(
        1000.0, description="`towns`: the smallest town considered")
    candidates_path: OptionalPath = Field(
        None, description="`file`: a CSV of `name,lat,lon` (optionally `opp_region`)")
    thin_listings_below: Annotated[int, Strict(), Field(ge=0)] = Field(
        3, description="a region with fewer placed services of a need than this gets the "
        "caveat \"few listings\"")
    unverified_share_above: Annotated[float, Strict(), Field(ge=0, le=1)] = Field(
        0.25, description="... and \"much unverified\" when more than this share of its "
        "services of that need are area-only, unplaced or placed no finer than their town")

    @model_validator(mode="after")
    def _path_for_file(self) -> SuggestSettings:
        if self.candidates == "file" and self.candidates_path is None:
            raise ValueError('suggest.candidates = "file" needs suggest.candidates_path')
        return self


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class ScenarioSettings:
    """``[scenario]``: services added and removed, compared with the baseline
    (``scenario_compare.csv``). A scenario run writes under its own output folders."""

    add: OptionalPath = Field(
        None, description="a listings file of services to add (the listings' columns, with "
        "`lat`/`lon`)")
    remove: tuple[str, ...] = Field((), description="service ids to remove")

    @property
    def active(self) -> bool:
        return self.add is not None or bool(self.remove)


# -- [geocode] and [geocode.nominatim] ---------------------------------------------------------

GeocodeProvider = Literal["listing", "override", "nominatim", "postal", "town", "rural_fsa",
                          "area"]
GEOCODE_PROVIDERS: tuple[GeocodeProvider, ...] = get_args(GeocodeProvider)
"""The geocoding providers, in their default order (see :mod:`gapmap.geocode`)."""
NominatimMode = Literal["off", "cached", "online"]
NOMINATIM_MODES: tuple[str, ...] = get_args(NominatimMode)


def _stripped(value: str) -> str:
    return value.strip()


def _host(value: str) -> str:
    host = value.strip().strip("/")
    if not host or "/" in host:
        raise PydanticCustomError("host_name", "must be a host name such as "
                                  "'nominatim.openstreetmap.org'")
    return host


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class NominatimSettings:
    """``[geocode.nominatim]``: civic-address geocoding through a Nominatim server.

    ``mode``: ``"off"`` (default: never used), ``"cached"`` (answers from the cache file
    only, never the network: a rerun is offline and repeatable) or ``"online"`` (the cache
    first, then the server, at most one request per ``min_delay_s``).
    """

    mode: NominatimMode = Field(
        "off", description="`off`: never used; `cached`: answers from the cache file only, "
        "never the network; `online`: the cache first, then the server")
    user_agent: Annotated[str, AfterValidator(_stripped)] = Field(
        "", description="identifies you to the server (usage policy), e.g. "
        "`gapmap/0.1 (you@your-org.ca)`; required for `online`")
    domain: Annotated[str, AfterValidator(_host)] = Field(
        "nominatim.openstreetmap.org", description="the server's host name")
    scheme: Literal["http", "https"] = Field("https", description="`https` or `http`")
    cache: OptionalPath = Field(
        None, description="the SQLite cache of every answer, keyed by the normalised query "
        "(default: `<outputs.interim_dir>/nominatim_cache.sqlite`)")
    min_delay_s: Annotated[float, Strict(), Field(ge=1, json_schema_extra={
        "hint": "at most one request per second (Nominatim usage policy)"})] = Field(
        1.0, description="seconds between requests, at least 1 (usage policy)")
    timeout_s: Positive = Field(10.0, description="seconds to wait for an answer")
    retries: Annotated[int, Strict(), Field(ge=0)] = Field(
        2, description="retries per address, waiting `backoff_s`, then twice that, ...")
    backoff_s: NonNegative = Field(2.0, description="the first retry's wait, in seconds")
    give_up_after: Annotated[int, Strict(), Field(ge=1)] = Field(
        3, description="this many addresses failing in a row: stop asking for the rest of "
        "the run")

    @model_validator(mode="after")
    def _online_needs_an_agent(self) -> NominatimSettings:
        agent = self.user_agent
        if self.mode == "online" and (not agent or agent.lower().startswith(("geopy",
                                                                             "python"))):
            raise ValueError("geocode.nominatim.mode = 'online' needs a user_agent that "
                             "identifies your application and a contact, e.g. "
                             "'gapmap/0.1 (analyst@example.org)' (Nominatim usage policy)")
        return self


def _each_once(value: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(value)) != len(value):
        raise PydanticCustomError("repeated", "must name each provider once")
    return value


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class GeocodeSettings:
    """``[geocode]``: how services are placed (see the README's Geocode section)."""

    order: Annotated[tuple[GeocodeProvider, ...], AfterValidator(_each_once)] = Field(
        GEOCODE_PROVIDERS, min_length=1,
        description="the providers, best first; leave one out to skip it")
    overrides: OptionalPath = Field(
        None, description="the analyst's fixes: `geocode_report.csv` filled in")
    postal_codes: OptionalPath = Field(
        None, description="a full postal-code table (`postal_code,lat,lon`); none is shipped")
    same_place_km: Positive = Field(20.0, description="gazetteer entries this close are "
                                    "one place")
    ontario_buffer_km: Positive = Field(5.0, description="listed points must lie in Ontario "
                                        "plus this")
    disambiguate_within_km: Positive = Field(
        150.0, description="how far a rural FSA point may be from the place it tells apart")
    check_town_km: Positive = Field(30.0, description="a point farther than this from its "
                                    "own town is flagged")
    check_fsa_km: Positive = Field(25.0, description="... from its own urban postal FSA")
    check_rural_fsa_km: Positive = Field(400.0, description="... from its own rural FSA (a "
                                         "regional point)")
    nominatim: NominatimSettings = _table_default(NominatimSettings)


# -- [remote] and [maps] -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class RemoteSettings:
    """``[remote]``: communities with no all-season road."""

    air_hubs: tuple[str, ...] = Field(
        ("Sioux Lookout", "Thunder Bay", "Timmins"), min_length=1,
        description="the hubs named for fly-in communities (the nearest by distance), "
        "each a town in the gazetteer")


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class MapsSettings:
    """``[maps]``: what the HTML maps show."""

    confidential: Literal["town", "hide"] = Field(
        "town", description="`town`: confidential services shown at their town, \"location "
        "withheld\"; `hide`: left off the maps entirely")
    language: Literal["en", "fr"] = Field(
        "en", description="the maps' language when they open (a button on the map switches "
        "between English and French)")
    far_min: float = Field(
        480.0, gt=0, description="minutes: a community's nearest service farther than this "
        "is flagged in its map panel and in the regional reports as too far to be an answer "
        "(8 hours' drive by default)")
    stale_before: int = Field(
        2020, ge=0, description="a year: a service whose name dates it before this year (\"2017 "
        "Community Supports Fund\") is flagged in the map panel and the regional reports as "
        "possibly ended, a year before the 2021 Census the maps measure; 0: never")


ReferralLanguage = Literal["en", "fr", "both"]
REFERRAL_LANGUAGES: tuple[str, ...] = get_args(ReferralLanguage)


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class ReferralSettings:
    """``[referral]``: the referral sheets for the point of first contact (``gapmap
    referral``)."""

    language: ReferralLanguage = Field(
        "en", description="`en`, `fr`, or `both` (each sheet in English, then in French)")
    services_per_need: Annotated[int, Strict(), Field(ge=1, le=10)] = Field(
        3, description="the nearest services by drive time listed per need")
    stale_after_days: Annotated[int, Strict(), Field(ge=1)] = Field(
        365, description="a listing last verified longer ago than this (before the run's "
        "date) is marked stale; one with no date is marked unverified")
    browser: str = Field(
        "/usr/bin/chromium", min_length=1,
        description="the headless Chromium that prints the PDF (Debian's `chromium`, "
        "installed by `make chromium`)")


# -- the whole config ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class Config:
    """A run's settings: one field per table of the config file, and the file's path.

    The names the rest of gapmap reads (``name``, ``need_types``, ``opp_regions_in_scope``,
    ``census_divisions_in_scope``, ``air_hubs``, ``confidential_display``,
    ``data_vintage``) are properties over ``[run]``, ``[remote]`` and ``[maps]``.
    """

    run: RunSettings = _table_default(RunSettings)
    inputs: Inputs
    ingest: IngestSettings = _table_default(IngestSettings)
    outputs: Outputs = _table_default(Outputs)
    network: NetworkSettings = _table_default(NetworkSettings)
    demand: DemandSettings = _table_default(DemandSettings)
    coverage: CoverageSettings = _table_default(CoverageSettings)
    geocode: GeocodeSettings = _table_default(GeocodeSettings)
    remote: RemoteSettings = _table_default(RemoteSettings)
    maps: MapsSettings = _table_default(MapsSettings)
    referral: ReferralSettings = _table_default(ReferralSettings)
    names: NamesSettings = _table_default(NamesSettings)
    access: AccessSettings = _table_default(AccessSettings)
    wraparound: WraparoundSettings = _table_default(WraparoundSettings)
    suggest: SuggestSettings = _table_default(SuggestSettings)
    scenario: ScenarioSettings = _table_default(ScenarioSettings)
    path: Path | None = None
    """The config file (None for a config built in code): not a setting."""

    @model_validator(mode="after")
    def _fill_in(self) -> Config:
        """Defaults that follow other tables, and the shipped data folder's presence."""
        shipped = data_dir()
        if not shipped.is_dir():
            used = [k for k, p in self._input_paths().items() if p.is_relative_to(shipped)]
            if used:
                raise ValueError(
                    f"the shipped reference data folder {shipped} does not exist, and "
                    f"{used[0]} defaults to a file in it: set {DATA_DIR_ENV} to the folder "
                    "holding ontario/ and gpl-3.0/, or name every [inputs] file")
        if self.scenario.active:
            out = self.outputs
            shared = [k for k in ("interim_dir", "processed_dir", "maps_dir")
                      if self.run.name not in getattr(out, k).parts]
            if shared:
                raise ValueError(
                    f"a [scenario] writes to its own folders: outputs.{shared[0]} "
                    f"({getattr(out, shared[0])}) must have a folder named after the run "
                    f"({self.run.name!r}), e.g. data/processed/{self.run.name}, so the "
                    "baseline's outputs are never overwritten")
        net, nom = self.network, self.geocode.nominatim
        if (net.source == "kings_highways" and net.path is None) or net.cache_dir is None:
            net = dataclasses.replace(
                net, path=net.path or (self.inputs.highways if net.source == "kings_highways"
                                       else None),
                cache_dir=net.cache_dir or self.outputs.interim_dir)
            object.__setattr__(self, "network", net)
        if nom.cache is None:
            nom = dataclasses.replace(
                nom, cache=self.outputs.interim_dir / "nominatim_cache.sqlite")
            object.__setattr__(self, "geocode", dataclasses.replace(self.geocode,
                                                                    nominatim=nom))
        return self

    # the names the stages read
    @property
    def name(self) -> str:
        return self.run.name

    @property
    def need_types(self) -> tuple[str, ...]:
        return self.run.need_types

    @property
    def opp_regions_in_scope(self) -> tuple[str, ...]:
        return self.run.opp_regions

    @property
    def census_divisions_in_scope(self) -> tuple[str, ...]:
        return self.run.census_divisions

    @property
    def data_vintage(self) -> str:
        return self.run.data_vintage

    @property
    def air_hubs(self) -> tuple[str, ...]:
        return self.remote.air_hubs

    @property
    def confidential_display(self) -> str:
        return self.maps.confidential

    @property
    def folder(self) -> Path:
        """The folder recorded paths are relative to: the config file's (else the cwd)."""
        return self.path.resolve().parent if self.path else Path.cwd()

    def updated(self, **tables: Mapping[str, Any]) -> Config:
        """A copy with some settings changed, table by table:
        ``config.updated(run={"census_divisions": ("3506",)}, maps={"confidential": "hide"})``.
        """
        changes = {t: dataclasses.replace(getattr(self, t), **v) for t, v in tables.items()}
        return dataclasses.replace(self, **changes)

    def _input_paths(self) -> dict[str, Path]:
        i = self.inputs
        found = {f"inputs.listings[{n}]": li.path for n, li in enumerate(i.listings)}
        for f in dataclasses.fields(i):
            value = getattr(i, f.name)
            if isinstance(value, Path):
                found[f"inputs.{f.name}"] = value
        return found

    def input_files(self) -> dict[str, Path]:
        """Every input file the settings name, by dotted key (the fingerprint hashes them)."""
        found = self._input_paths()
        for key in ("ingest.vocabulary", "ingest.overrides", "demand.path", "network.path",
                    "geocode.overrides", "geocode.postal_codes", "suggest.candidates_path",
                    "scenario.add"):
            table, name = key.split(".")
            value = getattr(getattr(self, table), name)
            if value is not None and value not in found.values():
                found[key] = value
        return found

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-able values, table by table, with paths written as
        :func:`portable_path` (relative to the config's folder, or ``<data>/...``)."""
        folder = self.folder

        def plain(value: Any) -> Any:
            if isinstance(value, Path):
                return portable_path(value, folder)
            if isinstance(value, dict):
                return {str(k): plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        out: dict[str, Any] = plain(dataclasses.asdict(self))
        del out["path"]
        return out

    def fingerprint(self) -> str:
        """A short hash of the settings and of every input file's content, recorded with
        every output: the same in any checkout, different when a setting or an input
        changes."""
        folder = self.folder
        files = {portable_path(p, folder): file_digest(p) for p in self.input_files().values()}
        blob = json.dumps({"settings": self.as_dict(), "inputs_sha256": files},
                          sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


# -- loading -----------------------------------------------------------------------------------


def load_config(path: str | Path) -> Config:
    """Read and validate a run's TOML configuration.

    Raises
    ------
    ConfigError
        In one line, naming the file and the setting that is unknown, missing or wrong (an
        unknown name with the nearest valid one).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return config_from_dict(raw, path=path)


def config_from_dict(raw: Mapping[str, Any], *, path: Path | None = None,
                     base: Path | None = None) -> Config:
    """A :class:`Config` from parsed TOML; relative paths resolve against ``base`` (default:
    the folder of ``path``, else the working folder)."""
    where = str(path or "<config>")
    for key, value in raw.items():
        if key in TABLES:
            pass
        elif isinstance(value, dict):
            raise ConfigError(f"{where}: [{key}]: unknown section; " + _did_you_mean(
                f"[{key}]", [f"[{t}]" for t in TABLES], what="sections"))
        else:
            settings = {f"[{t}] {n}": n for t in TABLES for n in _fields(TABLE_MODELS[t])}
            near = nearest(key, settings.values())
            hint = (f"did you mean {next(k for k, n in settings.items() if n == near)}?"
                    if near else "settings belong in a [table] such as [run]")
            raise ConfigError(f"{where}: {key}: a setting outside any [table]; {hint}")
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: [{key}] must be a table, got {value!r}")
    data: dict[str, Any] = {t: raw.get(t, {}) for t in TABLES}
    data["path"] = path
    base = base if base is not None else (path.parent if path else Path.cwd())
    context = {"base": base.resolve(), "stem": path.stem if path else None}
    try:
        return _CONFIG.validate_python(data, context=context)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {_describe(exc)}") from exc


# -- error messages --------------------------------------------------------------------------


def _fields(cls: Any) -> dict[str, FieldInfo]:
    return getattr(cls, "__pydantic_fields__", {})


def _strip(tp: Any) -> Any:
    """``tp`` without Annotated and None: ``Listing | None`` -> Listing."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _is_table(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


_CONFIG = TypeAdapter(Config)
TABLES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Config) if f.name != "path")
"""The top-level tables of a config file, in the order the reference documents them."""


def _models(cls: Any, prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, info in _fields(cls).items():
        tp = _strip(info.annotation)
        if _is_table(tp) and name != "path":
            found[prefix + name] = tp
            found.update(_models(tp, f"{prefix}{name}."))
    return found


TABLE_MODELS: dict[str, Any] = _models(Config)
"""Every table of a config file (``"geocode.nominatim"`` included) and its model."""


def _walk(loc: tuple[Any, ...]) -> tuple[list[str], list[Any], Any, FieldInfo | None]:
    """Split an error location into its table (``["geocode", "nominatim"]``) and the rest,
    with the model that holds the last named field and that field's info."""
    cls: Any = Config
    section: list[str] = []
    rest: list[Any] = []
    owner, info = None, None
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int) or not _is_table(cls):
            rest.append(part)
            if isinstance(part, str):
                cls = None
            continue
        owner, info = cls, _fields(cls).get(part)
        tp = _strip(info.annotation) if info else None
        if not rest and _is_table(tp) and cls is not Listing:
            section.append(part)
        else:
            rest.append(part)
        if get_origin(tp) is tuple:
            tp = _strip(get_args(tp)[0])
        cls = tp if _is_table(tp) else None
    return section, rest, owner, info


def _dotted(section: list[str], rest: list[Any]) -> str:
    text = ".".join(section)
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else f"{'.' if text else ''}{part}"
    return text


def _hint(info: FieldInfo | None) -> str:
    """The ``hint`` a field (or the items or values of its type) declares, in brackets."""
    def find(item: Any) -> str | None:
        extra = getattr(item, "json_schema_extra", None)
        if isinstance(extra, dict) and "hint" in extra:
            return str(extra["hint"])
        inner = [*getattr(item, "metadata", ()), *get_args(item),
                 *((item.annotation,) if isinstance(item, FieldInfo) else ())]
        return next((h for h in map(find, inner) if h), None)

    found = find(info) if info is not None else None
    return f" ({found})" if found else ""


_PHRASES = {
    "float_type": "must be a number", "float_parsing": "must be a number",
    "int_type": "must be a whole number", "int_parsing": "must be a whole number",
    "bool_type": "must be true or false", "string_type": "must be text",
    "greater_than": "must be > {gt:g}", "greater_than_equal": "must be >= {ge:g}",
    "less_than": "must be < {lt:g}", "less_than_equal": "must be <= {le:g}",
    "tuple_type": "must be a list", "list_type": "must be a list",
    "dict_type": "must be a table", "dataclass_type": "must be a table",
    "dataclass_args_type": "must be a table",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)", "path_type": "must be a path",
    "string_pattern_mismatch": "is not valid",
}


def _describe(exc: ValidationError) -> str:
    """One line for the first error (unknown names first: they explain the rest)."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] not in (
        "unexpected_keyword_argument", "extra_forbidden", "unknown_name"))
    err = errors[0]
    kind, loc, ctx = err["type"], tuple(err["loc"]), err.get("ctx") or {}
    section, rest, owner, info = _walk(loc)
    table = f"[{'.'.join(section)}]" if section else ""
    key = _dotted([], rest)
    others = [e for e in errors[1:]  # not the echoes of this one: a missing or short parent
              if e["type"] != "missing" and tuple(e["loc"]) != loc[:len(e["loc"])]]
    more = f" (and {len(others)} more problem(s))" if others else ""
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        name = str(loc[-1])
        valid = [n for n in _fields(owner) if not (owner is Config and n == "path")]
        tables = [n for n in valid if _is_table(_strip(_fields(owner)[n].annotation))]
        if owner is Config or (isinstance(err["input"], dict) and nearest(name, valid) in tables):
            prefix = "".join(f"{s}." for s in section)
            return (f"[{prefix}{name}]: unknown section; " + _did_you_mean(
                f"[{prefix}{name}]", [f"[{prefix}{t}]" for t in tables], what="sections") + more)
        return f"{table} {key}: unknown key; {_did_you_mean(name, valid, what='keys')}{more}"
    if kind == "unknown_name":
        word = str(err["input"])
        value = "" if loc[-1] == "[key]" else f" {word!r}"
        return (f"{table} {key}: unknown {ctx['what']}{value}; "
                f"{_did_you_mean(word, ctx['choices'], what=ctx['what'] + 's')}{more}")
    dotted = _dotted(section, rest)
    if kind == "value_error":
        return f"{ctx['error']}{more}"
    if kind == "missing":
        return f"{dotted} is required{more}"
    if kind == "literal_error":
        choices = [c.strip(" '") for c in ctx["expected"].replace(" or ", ", ").split(", ")]
        near = nearest(err["input"], choices) if isinstance(err["input"], str) else None
        return (f"{dotted} must be one of {', '.join(choices)}; got {err['input']!r}"
                + (f" (did you mean {near}?)" if near else "") + more)
    phrase = _PHRASES.get(kind)
    text = phrase.format(**ctx) if phrase else err["msg"]
    return f"{dotted} {text}, got {err['input']!r}{_hint(info)}{more}"



# -- the settings reference (docs/settings.md) ---------------------------------------------------

_REFERENCE_INTRO = """\
# Settings reference

<!-- Generated from the models in gapmap/config.py by
     `.venv/bin/python -m gapmap.config > docs/settings.md`; tests/test_settings.py holds
     this file equal to them. Edit the models, then regenerate. -->

A run reads its settings from a TOML file (`gapmap run --config FILE`; `configs/ontario.toml`
and `configs/ottawa.toml` are examples). Every setting has a default except
`inputs.listings`, so `[run]` with a `name` and `[inputs]` with `listings = ["my.csv"]` is a
whole config. An unknown section or setting, a value of the wrong type or out of range, and
a broken rule between settings stop the run before any stage, in one line naming the file and
the key (an unknown name with the nearest valid one:
`[coverage] default_treshold_min: unknown key; did you mean default_threshold_min?`).

Paths: a relative path resolves against the config file's folder. `<data>` is the Ontario
reference data shipped in the repository's `data/raw/` (or the folder that the environment
variable `GAPMAP_DATA_DIR` names); each `[inputs]` reference file defaults to its file there,
wherever the config file lives. The run metadata, the fingerprint and the maps record paths
relative to the config file's folder (`<data>/...` for the shipped data), so the same run
gives the same bytes in any checkout.

Tables of names (`coverage.thresholds_min`, the speed tables of `[network]`) add to their
defaults; their keys are checked against their vocabularies: need types, OSM `highway`
classes, RNF RANKs (1-5) and CLASS codes (two digits); the King's Highways categories of
`network.speed_kph` are checked against the highways file when the network is built.
"""


def _toml(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Path):
        return json.dumps(value.as_posix())
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(_toml, value)) + "]"
    if isinstance(value, dict):
        return ("{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
                if value else "{}")
    return str(value)


def _type_text(tp: Any, meta: Iterable[Any] = ()) -> str:
    """A reader's name for a field's type: ``number > 0``, ``[need type, ...]``, ..."""
    flat: list[Any] = []
    while get_origin(tp) is Annotated:
        tp, *more = get_args(tp)
        meta = [*more, *meta]
    for m in meta:
        flat += [m, *getattr(m, "metadata", ())] if isinstance(m, FieldInfo) else [m]
    for m in flat:
        extra = getattr(m, "json_schema_extra", None)
        if isinstance(m, _Names):
            return m.what
        if isinstance(extra, dict) and "what" in extra:
            return str(extra["what"])
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_text(a) for a in get_args(tp) if a is not type(None))
    if origin is Literal:
        return " \\| ".join(f'"{a}"' for a in get_args(tp))
    if origin is tuple:
        args = get_args(tp)
        if args[-1] is Ellipsis:
            return f"[{_type_text(args[0])}, ...]"
        return "[" + ", ".join(_type_text(a) for a in args) + "]"
    if origin is dict:
        key, value = get_args(tp)
        return f"{{ {_type_text(key)} = {_type_text(value)}, ... }}"
    if _is_table(tp):
        return "{ " + ", ".join(_fields(tp)) + " }"
    text = {float: "number", int: "whole number", str: "text", bool: "true/false",
            Path: "path"}.get(tp, getattr(tp, "__name__", str(tp)))
    for m in flat:
        for op, attr in ((">", "gt"), (">=", "ge"), ("<", "lt"), ("<=", "le")):
            bound = getattr(m, attr, None)
            if isinstance(m, annotated_types.BaseMetadata) and bound is not None:
                text += f" {op} {bound:g}"
    return text


def _default_text(info: FieldInfo) -> str:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if "shipped" in extra:
        return f"`<data>/{extra['shipped']}`"
    if "shown_default" in extra:
        return str(extra["shown_default"])
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    return f"`{_toml(value)}`".replace("|", "\\|")


def _rows(cls: Any, prefix: str = "") -> list[str]:
    rows = []
    for name, info in _fields(cls).items():
        tp = _strip(info.annotation)
        if _is_table(tp):
            continue
        rows.append(f"| `{prefix}{name}` | {_type_text(info.annotation, info.metadata)} | "
                    f"{_default_text(info)} | {info.description or ''} |")
        if get_origin(tp) is tuple and _is_table(_strip(get_args(tp)[0])):
            rows += _rows(_strip(get_args(tp)[0]), f"{prefix}{name}[].")
    return rows


def _section(name: str, cls: Any) -> list[str]:
    doc = (cls.__doc__ or "").strip().split("\n\n")[0].replace("``", "`")
    doc = " ".join(line.strip() for line in doc.splitlines()).removeprefix(f"`[{name}]`: ")
    return [f"## `[{name}]`", "", doc[:1].upper() + doc[1:], "",
            "| setting | type | default | what |", "|---|---|---|---|", *_rows(cls), ""]


def settings_reference() -> str:
    """The settings reference (``docs/settings.md``): every table's settings with their
    type, default and description, from the models above."""
    lines = [_REFERENCE_INTRO]
    for name, cls in TABLE_MODELS.items():
        lines += _section(name, cls)
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(settings_reference(), end="")
