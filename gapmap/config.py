"""One run's settings, read from a TOML file and validated.

Relative paths in the file are resolved against the directory that holds the file, so
``configs/ontario.toml`` names ``../data/raw/...``. Every default is written here once and
documented in the README; :func:`load_config` fills in whatever the file leaves out.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
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
    fly_in_service_km: float = 5.0  # a service this close to a fly-in community is in it


@dataclass(frozen=True)
class CoverageSettings:
    default_threshold_min: float = 60.0
    thresholds_min: dict[str, float] = field(default_factory=dict)
    catchment_bands_min: tuple[float, ...] = (15.0, 30.0, 60.0, 120.0)
    catchment_buffer_m: float = 100.0    # half-width of the band drawn along a reached road
    catchment_simplify_m: float = 0.0    # road lines simplified by this before buffering

    def threshold(self, need: str) -> float:
        return float(self.thresholds_min.get(need, self.default_threshold_min))


@dataclass(frozen=True)
class GeocodeSettings:
    same_place_km: float = 20.0
    ontario_buffer_km: float = 5.0
    disambiguate_within_km: float = 150.0


@dataclass(frozen=True)
class Config:
    name: str
    path: Path | None
    inputs: Inputs
    outputs: Outputs
    need_types: tuple[str, ...] = NEED_CODES
    opp_regions_in_scope: tuple[str, ...] = ()
    network: NetworkSettings = field(default_factory=NetworkSettings)
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


def _section(raw: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    return value


def _number(section: dict[str, Any], key: str, default: float, where: str,
            *, positive: bool = True) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: {key} must be a number, got {value!r}")
    if positive and value <= 0:
        raise ConfigError(f"{where}: {key} must be > 0, got {value!r}")
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
    unknown = set(inp) - _INPUT_KEYS - {"listings"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) in [inputs]: {', '.join(sorted(unknown))}")
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

    geo = _section(raw, "geocode", where)
    g = GeocodeSettings()
    geocode = GeocodeSettings(
        same_place_km=_number(geo, "same_place_km", g.same_place_km, where),
        ontario_buffer_km=_number(geo, "ontario_buffer_km", g.ontario_buffer_km, where),
        disambiguate_within_km=_number(geo, "disambiguate_within_km",
                                       g.disambiguate_within_km, where),
    )

    maps = _section(raw, "maps", where)
    conf = maps.get("confidential", "town")
    if conf not in ("town", "hide"):
        raise ConfigError(f"{where}: maps.confidential must be 'town' or 'hide', got {conf!r}")

    scope = tuple(run.get("opp_regions", ()))
    return Config(
        name=str(run.get("name", path.stem if path else "gapmap")),
        path=path,
        inputs=inputs,
        outputs=outputs,
        need_types=needs,
        opp_regions_in_scope=scope,
        network=network,
        coverage=coverage,
        geocode=geocode,
        air_hubs=tuple(_section(raw, "remote", where).get("air_hubs",
                                                         Config.air_hubs)),  # type: ignore[arg-type]
        confidential_display=conf,
        data_vintage=str(run.get("data_vintage", "")),
    )
