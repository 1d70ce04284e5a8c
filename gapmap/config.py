"""One run's settings, read from a TOML file and validated.

Relative paths in the file are resolved against the directory that holds the file, so
``configs/ontario.toml`` names ``../data/raw/...``. Every default is written here once and
documented in the README; :func:`load_config` fills in whatever the file leaves out.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from gapmap.errors import ConfigError
from gapmap.taxonomy import NEED_CODES


@dataclass(frozen=True)
class Listing:
    """One service-listing file and, optionally, the OPP region its rows belong to."""

    path: Path
    region: str | None = None


@dataclass(frozen=True)
class Inputs:
    listings: tuple[Listing, ...]
    hospitals: Path | None
    census_divisions: Path
    province: Path
    opp_regions: Path
    census_subdivisions: Path
    census_tracts: Path
    fsa_statcan: Path
    fsa_geonames: Path
    places_geonames: Path
    places_fpa: Path | None
    highways: Path
    remote_communities: Path


@dataclass(frozen=True)
class Outputs:
    interim_dir: Path
    processed_dir: Path
    maps_dir: Path


NETWORK_SOURCES = ("kings_highways", "osm_file", "rnf_file", "osmnx")
"""Where the road graph comes from (``[network] source``)."""

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

FRAGMENT_RULES = ("auto", "join", "drop", "keep")


@dataclass(frozen=True)
class NetworkSettings:
    speed_kph: dict[str, float] = field(
        default_factory=lambda: {"expressway": 100.0, "primary_highway": 80.0}
    )
    default_speed_kph: float = 80.0
    node_snap_m: float = 1.0
    connector_circuity: float = 1.3
    connector_speed_kph: float = 60.0
    estimate_beyond_km: float = 25.0
    beyond_network_km: float = 100.0
    # a community reaches a service directly by local roads within this straight line
    # (same town, next village); 0: never, always by the network (see gapmap.travel)
    local_route_km: float = 25.0
    fly_in_service_km: float = 5.0  # a service this close to a fly-in community is in it
    # where the graph comes from (see gapmap.network.load_graph)
    source: str = "kings_highways"
    path: Path | None = None
    place: str | None = None
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north
    cache_dir: Path | None = None
    fragments: str = "auto"
    osm_speed_kph: dict[str, float] = field(default_factory=lambda: dict(OSM_SPEED_KPH))
    osm_zone_speed_kph: dict[str, float] = field(
        default_factory=lambda: dict(OSM_ZONE_SPEED_KPH))
    rnf_rank_speed_kph: dict[str, float] = field(
        default_factory=lambda: dict(RNF_RANK_SPEED_KPH))
    rnf_class_speed_kph: dict[str, float] = field(
        default_factory=lambda: dict(RNF_CLASS_SPEED_KPH))
    rnf_exclude_classes: tuple[str, ...] = RNF_EXCLUDE_CLASSES

    def fragment_rule(self) -> str:
        """``join`` for the King's Highways, ``drop`` for full road networks, unless set."""
        if self.fragments != "auto":
            return self.fragments
        return "join" if self.source == "kings_highways" else "drop"


DEMAND_SOURCES = ("census", "file")


@dataclass(frozen=True)
class DemandSettings:
    """Where people are: the census points (default) or a file of areas or points."""

    source: str = "census"
    path: Path | None = None
    layer: str | None = None
    id_column: str = ""
    population_column: str = ""
    name_column: str | None = None
    kind: str = "area"
    id_prefix: str = ""
    cduid_column: str | None = None
    cduid_from_id: bool = False
    csduid_column: str | None = None


@dataclass(frozen=True)
class CoverageSettings:
    default_threshold_min: float = 60.0
    thresholds_min: dict[str, float] = field(default_factory=dict)
    catchment_bands_min: tuple[float, ...] = (15.0, 30.0, 60.0, 120.0)
    catchment_buffer_m: float = 100.0    # half-width of the band drawn along a reached road
    catchment_simplify_m: float = 2.0    # each curved road simplified by this, once, first

    def threshold(self, need: str) -> float:
        return float(self.thresholds_min.get(need, self.default_threshold_min))


GEOCODE_PROVIDERS: tuple[str, ...] = (
    "listing", "override", "nominatim", "postal", "town", "rural_fsa", "area")
"""The geocoding providers, in their default order (see :mod:`gapmap.geocode`)."""
NOMINATIM_MODES: tuple[str, ...] = ("off", "cached", "online")


@dataclass(frozen=True)
class NominatimSettings:
    """Civic-address geocoding through a Nominatim server (``[geocode.nominatim]``).

    ``mode``: ``"off"`` (default: never used), ``"cached"`` (answers from the cache file
    only, never the network: a rerun is offline and repeatable) or ``"online"`` (the cache
    first, then the server, at most one request per ``min_delay_s``).
    """

    mode: str = "off"
    user_agent: str = ""
    domain: str = "nominatim.openstreetmap.org"
    scheme: str = "https"
    cache: Path | None = None  # None: <outputs.interim_dir>/nominatim_cache.sqlite
    min_delay_s: float = 1.0
    timeout_s: float = 10.0
    retries: int = 2
    backoff_s: float = 2.0
    give_up_after: int = 3


@dataclass(frozen=True)
class GeocodeSettings:
    same_place_km: float = 20.0
    ontario_buffer_km: float = 5.0
    disambiguate_within_km: float = 150.0
    order: tuple[str, ...] = GEOCODE_PROVIDERS
    overrides: Path | None = None
    postal_codes: Path | None = None
    check_town_km: float = 30.0
    check_fsa_km: float = 25.0
    check_rural_fsa_km: float = 400.0
    nominatim: NominatimSettings = field(default_factory=NominatimSettings)


@dataclass(frozen=True)
class Config:
    name: str
    path: Path | None
    inputs: Inputs
    outputs: Outputs
    need_types: tuple[str, ...] = NEED_CODES
    opp_regions_in_scope: tuple[str, ...] = ()
    census_divisions_in_scope: tuple[str, ...] = ()
    network: NetworkSettings = field(default_factory=NetworkSettings)
    demand: DemandSettings = field(default_factory=DemandSettings)
    coverage: CoverageSettings = field(default_factory=CoverageSettings)
    geocode: GeocodeSettings = field(default_factory=GeocodeSettings)
    air_hubs: tuple[str, ...] = ("Sioux Lookout", "Thunder Bay", "Timmins")
    confidential_display: str = "town"
    data_vintage: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-able values (paths as strings)."""
        return json.loads(json.dumps(asdict(self), default=str))

    def fingerprint(self) -> str:
        """A short hash of the settings, recorded with every output."""
        blob = json.dumps(self.as_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


_INPUT_KEYS = {
    "hospitals", "census_divisions", "province", "opp_regions", "census_subdivisions",
    "census_tracts", "fsa_statcan", "fsa_geonames", "places_geonames", "places_fpa",
    "highways", "remote_communities",
}
_OPTIONAL_INPUTS = {"hospitals", "places_fpa"}


def _reject_unknown(section: dict[str, Any], known: set[str], name: str, where: str) -> None:
    """Refuse keys a table does not define: a typo must not silently fall back to a default."""
    unknown = set(section) - known
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) in [{name}]: {', '.join(sorted(unknown))}")


def _section(raw: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    return value


def _number(section: dict[str, Any], key: str, default: float, where: str,
            *, positive: bool = True) -> float:
    """``section[key]`` (else ``default``) as a float: > 0, or >= 0 if not ``positive``."""
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: {key} must be a number, got {value!r}")
    if positive and value <= 0:
        raise ConfigError(f"{where}: {key} must be > 0, got {value!r}")
    if value < 0:
        raise ConfigError(f"{where}: {key} must be >= 0, got {value!r}")
    return float(value)


def load_config(path: str | Path) -> Config:
    """Read and validate a run's TOML configuration.

    Raises
    ------
    ConfigError
        Naming the file and the setting that is missing or wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return config_from_dict(raw, base=path.parent, path=path)


def config_from_dict(raw: dict[str, Any], *, base: Path, path: Path | None = None) -> Config:
    """Build a :class:`Config` from parsed TOML; relative paths resolve against ``base``."""
    where = str(path or "<config>")

    def resolve(value: Any, key: str) -> Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: {key} must be a path string, got {value!r}")
        p = Path(value)
        return (p if p.is_absolute() else (base / p)).resolve()

    run = _section(raw, "run", where)
    inp = _section(raw, "inputs", where)
    _reject_unknown(inp, _INPUT_KEYS | {"listings"}, "inputs", where)
    missing = _INPUT_KEYS - _OPTIONAL_INPUTS - set(inp)
    if missing:
        raise ConfigError(f"{where}: [inputs] is missing {', '.join(sorted(missing))}")
    listings_raw = inp.get("listings")
    if not isinstance(listings_raw, list) or not listings_raw:
        raise ConfigError(f"{where}: [inputs] listings must be a non-empty list")
    listings = []
    for i, item in enumerate(listings_raw):
        if isinstance(item, str):
            item = {"path": item}
        if not isinstance(item, dict) or "path" not in item:
            raise ConfigError(f"{where}: inputs.listings[{i}] needs a path")
        listings.append(Listing(resolve(item["path"], f"inputs.listings[{i}].path"),
                                item.get("region")))
    paths = {k: (resolve(inp[k], f"inputs.{k}") if k in inp else None) for k in _INPUT_KEYS}
    inputs = Inputs(listings=tuple(listings), **paths)  # type: ignore[arg-type]

    out = _section(raw, "outputs", where)
    outputs = Outputs(
        interim_dir=resolve(out.get("interim_dir", "data/interim"), "outputs.interim_dir"),
        processed_dir=resolve(out.get("processed_dir", "data/processed"),
                              "outputs.processed_dir"),
        maps_dir=resolve(out.get("maps_dir", "maps"), "outputs.maps_dir"),
    )

    needs = tuple(run.get("need_types", NEED_CODES))
    bad = [n for n in needs if n not in NEED_CODES]
    if bad:
        raise ConfigError(f"{where}: run.need_types has unknown need type(s): {', '.join(bad)}")

    net = _section(raw, "network", where)
    d = NetworkSettings()
    speeds = dict(d.speed_kph)
    for k, v in net.get("speed_kph", {}).items():
        speeds[k] = _number({k: v}, k, 0, f"{where} network.speed_kph")
    network = NetworkSettings(
        speed_kph=speeds,
        default_speed_kph=_number(net, "default_speed_kph", d.default_speed_kph, where),
        node_snap_m=_number(net, "node_snap_m", d.node_snap_m, where),
        connector_circuity=_number(net, "connector_circuity", d.connector_circuity, where),
        connector_speed_kph=_number(net, "connector_speed_kph", d.connector_speed_kph, where),
        estimate_beyond_km=_number(net, "estimate_beyond_km", d.estimate_beyond_km, where),
        beyond_network_km=_number(net, "beyond_network_km", d.beyond_network_km, where),
        local_route_km=_number(net, "local_route_km", d.local_route_km, where, positive=False),
        **_network_source(net, inputs, outputs, resolve, where),
        fly_in_service_km=_number(net, "fly_in_service_km", d.fly_in_service_km, where,
                                  positive=False),
    )
    if network.connector_circuity < 1:
        raise ConfigError(f"{where}: network.connector_circuity must be >= 1")
    if network.beyond_network_km < network.estimate_beyond_km:
        raise ConfigError(f"{where}: network.beyond_network_km must be >= estimate_beyond_km")

    cov = _section(raw, "coverage", where)
    c = CoverageSettings()
    per_need = {}
    for k, v in cov.get("thresholds_min", {}).items():
        if k not in NEED_CODES:
            raise ConfigError(f"{where}: coverage.thresholds_min names unknown need type {k!r}")
        per_need[k] = _number({k: v}, k, 0, f"{where} coverage.thresholds_min")
    bands = cov.get("catchment_bands_min", list(c.catchment_bands_min))
    if not isinstance(bands, list) or not all(
            isinstance(b, int | float) and not isinstance(b, bool) and b > 0 for b in bands):
        raise ConfigError(f"{where}: coverage.catchment_bands_min must be a list of positive "
                          f"numbers, got {bands!r}")
    coverage = CoverageSettings(
        default_threshold_min=_number(cov, "default_threshold_min", c.default_threshold_min,
                                      where),
        thresholds_min=per_need,
        catchment_bands_min=tuple(float(b) for b in bands),
        catchment_buffer_m=_number(cov, "catchment_buffer_m", c.catchment_buffer_m, where),
        catchment_simplify_m=_number(cov, "catchment_simplify_m", c.catchment_simplify_m,
                                     where, positive=False),
    )

    geocode = _geocode_settings(_section(raw, "geocode", where), where, resolve,
                                outputs.interim_dir)

    maps = _section(raw, "maps", where)
    conf = maps.get("confidential", "town")
    if conf not in ("town", "hide"):
        raise ConfigError(f"{where}: maps.confidential must be 'town' or 'hide', got {conf!r}")

    scope = tuple(run.get("opp_regions", ()))
    cd_scope = run.get("census_divisions", [])
    if not isinstance(cd_scope, list) or not all(
            isinstance(c, str) and c.isdigit() and len(c) == 4 for c in cd_scope):
        raise ConfigError(f"{where}: run.census_divisions must be a list of 4-digit census "
                          f"division codes such as \"3506\", got {cd_scope!r}")
    return Config(
        name=str(run.get("name", path.stem if path else "gapmap")),
        path=path,
        inputs=inputs,
        outputs=outputs,
        need_types=needs,
        opp_regions_in_scope=scope,
        census_divisions_in_scope=tuple(cd_scope),
        network=network,
        demand=_demand(_section(raw, "demand", where), resolve, where),
        coverage=coverage,
        geocode=geocode,
        air_hubs=tuple(_section(raw, "remote", where).get("air_hubs",
                                                         Config.air_hubs)),  # type: ignore[arg-type]
        confidential_display=conf,
        data_vintage=str(run.get("data_vintage", "")),
    )


def _speed_table(section: dict[str, Any], key: str, defaults: dict[str, float],
                 where: str) -> dict[str, float]:
    """A class -> km/h table: the defaults, updated by the file's entries (keys as text)."""
    value = section.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: network.{key} must be a table of class = km/h, "
                          f"got {value!r}")
    table = dict(defaults)
    for k, v in value.items():
        table[str(k)] = _number({str(k): v}, str(k), 0, f"{where} network.{key}")
    return table


def _network_source(net: dict[str, Any], inputs: Inputs, outputs: Outputs,
                    resolve: Any, where: str) -> dict[str, Any]:
    """The [network] settings that say where the graph comes from, validated."""
    _reject_unknown(net, {f.name for f in fields(NetworkSettings)}, "network", where)
    source = net.get("source", "kings_highways")
    if source not in NETWORK_SOURCES:
        raise ConfigError(f"{where}: network.source must be one of "
                          f"{', '.join(NETWORK_SOURCES)}, got {source!r}")
    out: dict[str, Any] = {"source": source}
    path = resolve(net["path"], "network.path") if "path" in net else None
    if source == "kings_highways":
        path = path or inputs.highways
    elif source in ("osm_file", "rnf_file") and path is None:
        raise ConfigError(f"{where}: network.source = {source!r} needs network.path, the "
                          "road file to read")
    if source == "osm_file" and path is not None and not path.name.lower().endswith(
            (".osm", ".osm.pbf", ".pbf", ".osm.bz2", ".osm.gz", ".o5m")):
        raise ConfigError(f"{where}: network.path {path.name!r} is not an OpenStreetMap file "
                          "(.osm, .osm.pbf, .osm.bz2, .osm.gz, .o5m)")
    out["path"] = path
    place, bbox = net.get("place"), net.get("bbox")
    if source == "osmnx":
        if (place is None) == (bbox is None):
            raise ConfigError(f"{where}: network.source = \"osmnx\" needs exactly one of "
                              "network.place (a place name) or network.bbox "
                              "([west, south, east, north] in degrees)")
        if place is not None and (not isinstance(place, str) or not place.strip()):
            raise ConfigError(f"{where}: network.place must be a place name, got {place!r}")
        if bbox is not None:
            ok = (isinstance(bbox, list) and len(bbox) == 4 and all(
                isinstance(b, int | float) and not isinstance(b, bool) for b in bbox))
            if not ok or not (-180 <= bbox[0] < bbox[2] <= 180 and -90 <= bbox[1] < bbox[3] <= 90):
                raise ConfigError(f"{where}: network.bbox must be [west, south, east, north] "
                                  f"in degrees with west < east and south < north, got {bbox!r}")
            out["bbox"] = tuple(float(b) for b in bbox)
        elif isinstance(place, str):
            out["place"] = place.strip()
    elif place is not None or bbox is not None:
        raise ConfigError(f"{where}: network.place and network.bbox are for "
                          f"source = \"osmnx\", not {source!r}")
    out["cache_dir"] = (resolve(net["cache_dir"], "network.cache_dir") if "cache_dir" in net
                        else outputs.interim_dir)
    fragments = net.get("fragments", "auto")
    if fragments not in FRAGMENT_RULES:
        raise ConfigError(f"{where}: network.fragments must be one of "
                          f"{', '.join(FRAGMENT_RULES)}, got {fragments!r}")
    out["fragments"] = fragments
    out["osm_speed_kph"] = _speed_table(net, "osm_speed_kph", OSM_SPEED_KPH, where)
    out["osm_zone_speed_kph"] = _speed_table(net, "osm_zone_speed_kph", OSM_ZONE_SPEED_KPH,
                                             where)
    out["rnf_rank_speed_kph"] = _speed_table(net, "rnf_rank_speed_kph", RNF_RANK_SPEED_KPH,
                                             where)
    out["rnf_class_speed_kph"] = _speed_table(net, "rnf_class_speed_kph",
                                              RNF_CLASS_SPEED_KPH, where)
    excl = net.get("rnf_exclude_classes", list(RNF_EXCLUDE_CLASSES))
    if not isinstance(excl, list) or not all(isinstance(c, str | int) for c in excl):
        raise ConfigError(f"{where}: network.rnf_exclude_classes must be a list of CLASS "
                          f"codes, got {excl!r}")
    out["rnf_exclude_classes"] = tuple(str(c) for c in excl)
    return out


def _demand(dem: dict[str, Any], resolve: Any, where: str) -> DemandSettings:
    """[demand]: ``source = "census"`` (default) or ``"file"`` with its columns."""
    _reject_unknown(dem, {f.name for f in fields(DemandSettings)}, "demand", where)
    source = dem.get("source", "census")
    if source not in DEMAND_SOURCES:
        raise ConfigError(f"{where}: demand.source must be one of {', '.join(DEMAND_SOURCES)}, "
                          f"got {source!r}")
    if source == "census":
        extra = set(dem) - {"source"}
        if extra:
            raise ConfigError(f"{where}: demand.{sorted(extra)[0]} is for source = \"file\"")
        return DemandSettings()
    for key in ("path", "id_column", "population_column"):
        if not dem.get(key):
            raise ConfigError(f"{where}: demand.source = \"file\" needs demand.{key}")
    text_keys = ("layer", "id_column", "population_column", "name_column", "kind", "id_prefix",
                 "cduid_column", "csduid_column")
    for key in text_keys:
        if key in dem and not isinstance(dem[key], str):
            raise ConfigError(f"{where}: demand.{key} must be text, got {dem[key]!r}")
    if not isinstance(dem.get("cduid_from_id", False), bool):
        raise ConfigError(f"{where}: demand.cduid_from_id must be true or false")
    return DemandSettings(
        source=source, path=resolve(dem["path"], "demand.path"), layer=dem.get("layer"),
        id_column=dem["id_column"], population_column=dem["population_column"],
        name_column=dem.get("name_column"), kind=dem.get("kind", "area"),
        id_prefix=dem.get("id_prefix", ""), cduid_column=dem.get("cduid_column"),
        cduid_from_id=dem.get("cduid_from_id", False), csduid_column=dem.get("csduid_column"),
    )


_GEOCODE_KEYS = {
    "same_place_km", "ontario_buffer_km", "disambiguate_within_km", "order", "overrides",
    "postal_codes", "check_town_km", "check_fsa_km", "check_rural_fsa_km", "nominatim",
}
_NOMINATIM_KEYS = {
    "mode", "user_agent", "domain", "scheme", "cache", "min_delay_s", "timeout_s", "retries",
    "backoff_s", "give_up_after",
}


def _integer(section: dict[str, Any], key: str, default: int, where: str, *,
             minimum: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: {key} must be a whole number >= {minimum}, got {value!r}")
    return value


def _geocode_settings(geo: dict[str, Any], where: str, resolve: Callable[[Any, str], Path],
                      interim_dir: Path) -> GeocodeSettings:
    """Validate ``[geocode]`` and ``[geocode.nominatim]``."""
    _reject_unknown(geo, _GEOCODE_KEYS, "geocode", where)
    g = GeocodeSettings()
    order = geo.get("order", list(g.order))
    if (not isinstance(order, list) or not order
            or not all(isinstance(o, str) and o in GEOCODE_PROVIDERS for o in order)
            or len(set(order)) != len(order)):
        raise ConfigError(f"{where}: geocode.order must list some of "
                          f"{', '.join(GEOCODE_PROVIDERS)}, each once; got {order!r}")
    nom = geo.get("nominatim", {})
    if not isinstance(nom, dict):
        raise ConfigError(f"{where}: [geocode.nominatim] must be a table")
    _reject_unknown(nom, _NOMINATIM_KEYS, "geocode.nominatim", where)
    n = NominatimSettings()
    nw = f"{where} [geocode.nominatim]"
    mode = nom.get("mode", n.mode)
    if mode not in NOMINATIM_MODES:
        raise ConfigError(f"{nw}: mode must be one of {', '.join(NOMINATIM_MODES)}, "
                          f"got {mode!r}")
    agent = nom.get("user_agent", n.user_agent)
    if not isinstance(agent, str):
        raise ConfigError(f"{nw}: user_agent must be text, got {agent!r}")
    agent = agent.strip()
    if mode == "online" and (not agent or agent.lower().startswith(("geopy", "python"))):
        raise ConfigError(f"{nw}: mode = 'online' needs a user_agent that identifies your "
                          "application and a contact, e.g. 'gapmap/0.1 (analyst@example.org)' "
                          "(Nominatim usage policy)")
    scheme = nom.get("scheme", n.scheme)
    if scheme not in ("http", "https"):
        raise ConfigError(f"{nw}: scheme must be 'http' or 'https', got {scheme!r}")
    domain = nom.get("domain", n.domain)
    if not isinstance(domain, str) or not domain.strip() or "/" in domain.strip("/"):
        raise ConfigError(f"{nw}: domain must be a host name such as "
                          f"'nominatim.openstreetmap.org', got {domain!r}")
    min_delay = _number(nom, "min_delay_s", n.min_delay_s, nw)
    if min_delay < 1.0:
        raise ConfigError(f"{nw}: min_delay_s must be >= 1 (at most one request per second), "
                          f"got {min_delay!r}")
    backoff = _number(nom, "backoff_s", n.backoff_s, nw, positive=False)
    nominatim = NominatimSettings(
        mode=mode, user_agent=agent, domain=domain.strip().strip("/"), scheme=scheme,
        cache=(resolve(nom["cache"], "geocode.nominatim.cache") if "cache" in nom
               else interim_dir / "nominatim_cache.sqlite"),
        min_delay_s=min_delay,
        timeout_s=_number(nom, "timeout_s", n.timeout_s, nw),
        retries=_integer(nom, "retries", n.retries, nw, minimum=0),
        backoff_s=backoff,
        give_up_after=_integer(nom, "give_up_after", n.give_up_after, nw, minimum=1),
    )
    return GeocodeSettings(
        same_place_km=_number(geo, "same_place_km", g.same_place_km, where),
        ontario_buffer_km=_number(geo, "ontario_buffer_km", g.ontario_buffer_km, where),
        disambiguate_within_km=_number(geo, "disambiguate_within_km",
                                       g.disambiguate_within_km, where),
        order=tuple(order),
        overrides=resolve(geo["overrides"], "geocode.overrides") if "overrides" in geo else None,
        postal_codes=(resolve(geo["postal_codes"], "geocode.postal_codes")
                      if "postal_codes" in geo else None),
        check_town_km=_number(geo, "check_town_km", g.check_town_km, where),
        check_fsa_km=_number(geo, "check_fsa_km", g.check_fsa_km, where),
        check_rural_fsa_km=_number(geo, "check_rural_fsa_km", g.check_rural_fsa_km, where),
        nominatim=nominatim,
    )
