"""The stages as functions of a config: each reads its inputs and writes its outputs.

This is what the CLI and the Makefile call, and what a notebook calls to run a stage on
files. Paths come from :class:`StagePaths`; each stage writes atomically and records how it
was made in ``<interim>/<stage>.json``. :func:`make_variables` gives the Makefile the same
output folders and the input files the config names, so its file targets follow the config.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gapmap.config import Config
from gapmap.contracts import (
    ACCESS_BY_COMMUNITY,
    ACCESS_CAPACITY,
    COVERAGE,
    COVERAGE_DEPTH,
    DEMAND,
    ELIGIBILITY_BY_NEED,
    FRENCH_ACCESS,
    GAP_COMMUNITIES,
    REACH,
    SCENARIO_COMPARE,
    SERVICES,
    SERVICES_GEOCODED,
    SERVICES_LOCATED,
    SUGGESTIONS,
    TRAVEL,
    WRAPAROUND,
    WRAPAROUND_BY_REGION,
    read_stage,
    write_stage,
)
from gapmap.gaps import total_label
from gapmap.io import generated_on, provenance, read_geo, write_csv, write_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StagePaths:
    """Where each stage writes, under the config's output folders."""

    services: Path
    geocoded: Path
    located: Path
    demand: Path
    nodes: Path
    edges: Path
    travel: Path
    reach: Path
    coverage: Path
    coverage_depth: Path
    gaps: Path
    eligibility: Path
    french: Path
    wraparound: Path
    wraparound_regions: Path
    access: Path
    access_capacity: Path
    suggestions: Path
    scenario_compare: Path
    services_csv: Path
    rejected: Path
    geocode_report: Path
    geopackage: Path
    metadata: Path
    catchments: Path

    @classmethod
    def of(cls, config: Config) -> StagePaths:
        i, p = config.outputs.interim_dir, config.outputs.processed_dir
        return cls(
            services=i / "services.parquet", geocoded=i / "services_geocoded.parquet",
            located=i / "services_located.parquet", demand=i / "demand.parquet",
            nodes=i / "network_nodes.parquet", edges=i / "network_edges.parquet",
            travel=i / "travel.parquet", reach=i / "reach.parquet",
            coverage=p / "coverage_by_region.csv",
            eligibility=p / "eligibility_by_need.csv",
            french=p / "french_access_by_region.csv",
            coverage_depth=p / "coverage.csv", gaps=p / "gap_communities.csv",
            wraparound=p / "wraparound.csv", wraparound_regions=p / "wraparound_by_region.csv",
            access=p / "access_by_community.csv", access_capacity=p / "access_capacity.csv",
            suggestions=p / "suggestions.csv",
            scenario_compare=p / "scenario_compare.csv",
            services_csv=p / "services.csv",
            rejected=p / "rejected_rows.csv", geocode_report=p / "geocode_report.csv",
            geopackage=p / "gapmap.gpkg", metadata=p / "run_metadata.json",
            catchments=p / "catchments.gpkg",
        )


def _record(config: Config, stage: str, inputs: list[Path], **summary: Any) -> None:
    meta = provenance(config, inputs, stage=stage)
    meta["summary"] = summary
    write_json(meta, config.outputs.interim_dir / f"{stage}.json")


def _reference_inputs(config: Config) -> list[Path]:
    i = config.inputs
    return [p for p in (i.census_divisions, i.province, i.opp_regions, i.census_subdivisions,
                        i.census_tracts, i.fsa_statcan, i.fsa_geonames, i.places_geonames,
                        i.places_fpa, i.remote_communities, i.opp_detachments)
            if p is not None]


def _listing_inputs(config: Config) -> list[Path]:
    """The files the ingest stage reads: the listings, the ODHF hospitals file, the
    analyst's vocabulary and listing overrides. A directory package (a folder) counts as
    the files in it."""
    i = config.inputs
    listed = [f for li in i.listings for f in (
        sorted(p for p in li.path.iterdir() if p.is_file()) if li.path.is_dir() else [li.path])]
    return [*listed, *([i.hospitals] if i.hospitals else []),
            *([config.ingest.vocabulary] if config.ingest.vocabulary else []),
            *([config.ingest.overrides] if config.ingest.overrides else [])]


def stage_ingest(config: Config) -> str:
    from gapmap.ingest import ingest

    p = StagePaths.of(config)
    result = ingest(config)
    write_stage(result.services, p.services, SERVICES)
    write_csv(result.rejected, p.rejected)
    write_csv(result.unmapped, config.outputs.processed_dir / "unmapped_terms.csv")
    write_csv(result.duplicates, config.outputs.processed_dir / "duplicates.csv")
    write_csv(result.overrides, config.outputs.processed_dir / "overrides_report.csv")
    write_csv(result.unparsed, config.outputs.interim_dir / "access_unparsed.csv")
    _record(config, "ingest", _listing_inputs(config), rows_read=result.rows_read,
            accepted=result.rows_read - len(result.rejected), rejected=len(result.rejected),
            services=len(result.services), merged=result.rows_merged,
            sources=[dataclasses.asdict(b) for b in result.sources],
            unmapped_terms=int(result.unmapped["rows"].sum()) if len(result.unmapped) else 0,
            duplicates_merged=len(result.duplicates), access_unparsed=len(result.unparsed),
            overrides=result.overrides["outcome"].value_counts().to_dict())
    return result.summary()


def stage_geocode(config: Config) -> str:
    from gapmap.geocode import geocode_report, geocode_services, placement_summary

    p = StagePaths.of(config)
    services = read_stage(p.services, SERVICES)
    gdf = geocode_services(services, config)
    write_stage(gdf, p.geocoded, SERVICES_GEOCODED)
    report = geocode_report(gdf)
    write_csv(report, p.geocode_report)
    ambiguous = int(gdf["ambiguous"].sum())
    analyst_files = [f for f in (config.geocode.overrides, config.geocode.postal_codes,
                                 config.inputs.hospitals) if f]
    _record(config, "geocode", [p.services, *_reference_inputs(config), *analyst_files],
            precision=gdf["geocode_precision"].value_counts().to_dict(), ambiguous=ambiguous,
            check=gdf["geocode_check"].value_counts().to_dict(), report_rows=len(report),
            nominatim=gdf.attrs.get("nominatim", ""))
    return (f"{placement_summary(gdf, report)}\nsee {p.geocode_report}: fill in lat/lon and "
            "name the file in geocode.overrides to place those rows")


def stage_regions(config: Config) -> str:
    from gapmap.analysis.data_quality import data_quality
    from gapmap.outputs.tables import write_service_tables
    from gapmap.regions import assign_regions, within_scope

    p = StagePaths.of(config)
    located = assign_regions(read_stage(p.geocoded, SERVICES_GEOCODED), config)
    located = within_scope(located, config, area_level=True)
    write_stage(located, p.located, SERVICES_LOCATED)
    write_service_tables(located, p.services_csv)
    write_csv(data_quality(located, today=dt.date.fromisoformat(generated_on()),
                           stale_after_days=config.ingest.stale_after_days),
              config.outputs.processed_dir / "data_quality_by_region.csv")
    counts = located["region_method"].value_counts().to_dict()
    _record(config, "regions", [p.geocoded, config.inputs.opp_regions], region_method=counts)
    return "regions: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                          or "no services")


def stage_demand(config: Config) -> str:
    from gapmap.demand import build_demand, name_communities
    from gapmap.regions import assign_regions, within_scope

    p = StagePaths.of(config)
    demand = within_scope(assign_regions(build_demand(config), config), config)
    demand = name_communities(demand, config)
    write_stage(demand, p.demand, DEMAND)
    total = int(demand["pop2021"].sum())
    inputs = _reference_inputs(config)
    if config.demand.path is not None:
        inputs.append(config.demand.path)
    _record(config, "demand", inputs, points=len(demand), pop2021=total,
            not_enumerated=int((~demand["enumerated"]).sum()),
            no_all_season_road=int((demand["access"] == "no_all_season_road").sum()))
    return (f"demand: {len(demand)} points, population {total:,}; "
            f"{int((~demand['enumerated']).sum())} reserves not enumerated in 2021; "
            f"{int((demand['access'] == 'no_all_season_road').sum())} points with no "
            "all-season road")


def _network_inputs(config: Config) -> list[Path]:
    """The file the network stage reads: ``network.path`` (for ``kings_highways`` the
    highways file, for ``osm_file`` and ``rnf_file`` the file named), or for ``osmnx`` the
    download's cache, written on the first run."""
    net = config.network
    if net.source == "osmnx":
        from gapmap.sources.roads import osmnx_cache_path

        return [osmnx_cache_path(net)]
    return [net.path] if net.path is not None else []


def stage_network(config: Config) -> str:
    from gapmap.network import load_graph

    p = StagePaths.of(config)
    graph = load_graph(config.network)
    graph.save(p.nodes, p.edges)
    ncomp = len(set(graph.components()))
    joins = graph.joins if graph.joins is not None else pd.DataFrame(columns=["kind"])
    by_kind = {str(k): int(v) for k, v in joins["kind"].value_counts().sort_index().items()}
    _record(config, "network", _network_inputs(config), source=graph.source,
            nodes=graph.n_nodes, edges=len(graph.edges), components=ncomp,
            joins=by_kind, join_list=joins.to_dict(orient="records"))
    joined = ("; lines joined where they meet: " + ", ".join(
        f"{v} {k}{'s' if v != 1 else ''}" for k, v in by_kind.items())) if by_kind else ""
    return (f"network: {graph.source}: {graph.n_nodes} nodes, {len(graph.edges)} directed "
            f"edges, {ncomp} components{joined}")


def stage_travel(config: Config) -> str:
    from gapmap.gaps import reach_limit_min
    from gapmap.network import RoadGraph
    from gapmap.travel import TravelEngine, nearest_service_times, reach_pairs

    p = StagePaths.of(config)
    graph = RoadGraph.load(p.nodes, p.edges)
    engine = TravelEngine(graph, config.network)
    demand = read_stage(p.demand, DEMAND)
    services = _with_fly_in_flag(read_stage(p.located, SERVICES_LOCATED), config)
    travel = nearest_service_times(engine, demand, services, config.need_types)
    pairs = reach_pairs(engine, demand, services, limit_min=reach_limit_min(config))
    write_stage(pairs, p.reach, REACH)  # before travel.parquet, the Makefile's target
    write_stage(travel, p.travel, TRAVEL)
    counts = travel["access"].value_counts().to_dict()
    _record(config, "travel", [p.nodes, p.edges, p.demand, p.located], access=counts)
    return "travel: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                         or "no demand points")


def _with_fly_in_flag(services: gpd.GeoDataFrame, config: Config) -> gpd.GeoDataFrame:
    """The services with ``access`` set: fly-in ones get no drive time (see travel)."""
    from gapmap.demand import remote_communities
    from gapmap.travel import flag_fly_in_services

    return flag_fly_in_services(services, remote_communities(config),
                                within_km=config.network.fly_in_service_km)


def stage_catchments(config: Config) -> str:
    """Catchment polygons per service and band, and their union per need type."""
    from gapmap.catchments import CatchmentBuilder, need_catchments, service_catchments
    from gapmap.io import write_geopackage
    from gapmap.network import RoadGraph
    from gapmap.travel import TravelEngine

    p = StagePaths.of(config)
    engine = TravelEngine(RoadGraph.load(p.nodes, p.edges), config.network)
    services = _with_fly_in_flag(read_stage(p.located, SERVICES_LOCATED), config)
    cov = config.coverage
    builder = CatchmentBuilder(engine, buffer_m=cov.catchment_buffer_m,
                               simplify_m=cov.catchment_simplify_m)
    bands = cov.catchment_bands_min
    workers = min(4, os.cpu_count() or 1)
    per_service = service_catchments(engine, services, bands, builder=builder, workers=workers)
    per_need = need_catchments(engine, services, config.need_types, bands, builder=builder,
                               workers=workers)
    from gapmap.outputs.geopackage import layer_descriptions

    layers = {"service_catchments": per_service, "need_catchments": per_need}
    write_geopackage(layers, p.catchments, descriptions=layer_descriptions(
        {name: list(df.columns) for name, df in layers.items()}))
    _record(config, "catchments", [p.nodes, p.edges, p.located],
            services=int(per_service["service_id"].nunique()), bands=list(bands),
            basis=per_service["basis"].value_counts().to_dict())
    return (f"catchments: {per_service['service_id'].nunique()} services x {len(bands)} bands, "
            f"{len(per_need)} need-type unions; {p.catchments}")


def stage_gaps(config: Config) -> str:
    from gapmap.gaps import gap_tables

    p = StagePaths.of(config)
    travel = read_stage(p.travel, TRAVEL)
    demand = read_stage(p.demand, DEMAND)
    services = read_stage(p.located, SERVICES_LOCATED)
    pairs = read_stage(p.reach, REACH)
    tables = gap_tables(travel, demand, services, config, pairs=pairs)
    cov = tables.coverage
    write_stage(cov, p.coverage, COVERAGE)
    write_stage(tables.depth, p.coverage_depth, COVERAGE_DEPTH)
    write_stage(tables.gaps, p.gaps, GAP_COMMUNITIES)
    write_stage(tables.wraparound, p.wraparound, WRAPAROUND)
    write_stage(tables.wraparound_regions, p.wraparound_regions, WRAPAROUND_BY_REGION)
    write_stage(tables.eligibility, p.eligibility, ELIGIBILITY_BY_NEED)
    if tables.french is not None:
        write_stage(tables.french, p.french, FRENCH_ACCESS)
    else:
        p.french.unlink(missing_ok=True)  # French access is off: no stale table left behind
    flsa = config.inputs.flsa_designated_areas
    _record(config, "gaps", [p.travel, p.reach, p.demand, p.located,
                             *([flsa, config.inputs.census_subdivisions] if flsa else [])])
    where = total_label(config)
    tot = cov[cov["opp_region"] == where].set_index("need_type")
    lines = [f"  {n:<24} {tot.at[n, 'pct_covered']:5.1f} % of {tot.at[n, 'pop2021']:,} within "
             f"{tot.at[n, 'threshold_min']:g} min" for n in config.need_types]
    wrap = tables.wraparound_regions
    wrap = wrap[wrap["opp_region"] == where]
    if len(wrap):
        n = int(wrap["needs_reached"].max())
        lines.append(f"  wraparound: {wrap['pct_pop'].iloc[-1]:.1f} % reach all {n} needs; "
                     f"mean {wrap['mean_needs_reached'].iloc[0]:.1f} needs reached")
    return f"coverage in {where}:\n" + "\n".join(lines)


def stage_plan(config: Config) -> str:
    """Capacity-aware access, suggested sites and, with a ``[scenario]``, its comparison."""
    import time

    from gapmap.network import RoadGraph
    from gapmap.plan import (
        access_by_community,
        candidate_sites,
        capacity_access,
        scenario_compare,
        scenario_services,
        scenario_travel,
        suggestions,
        travel_time_matrix,
    )
    from gapmap.travel import TravelEngine

    p = StagePaths.of(config)
    start = time.perf_counter()
    engine = TravelEngine(RoadGraph.load(p.nodes, p.edges), config.network)
    demand = read_stage(p.demand, DEMAND)
    services = _with_fly_in_flag(read_stage(p.located, SERVICES_LOCATED), config)
    travel = read_stage(p.travel, TRAVEL)
    limit = max([config.coverage.threshold(n) for n in config.need_types], default=0.0)
    matrix = travel_time_matrix(engine, demand, services, limit_min=limit)
    access = access_by_community(matrix, demand, services, config)
    write_stage(access, p.access, ACCESS_BY_COMMUNITY)
    capacity = capacity_access(engine, demand, config)
    if capacity is not None:
        write_stage(capacity, p.access_capacity, ACCESS_CAPACITY)
    sites = candidate_sites(config)
    site_matrix = travel_time_matrix(engine, demand, sites, limit_min=limit)
    suggested = suggestions(travel, demand, services, sites, site_matrix, config)
    write_stage(suggested, p.suggestions, SUGGESTIONS)
    inputs = [p.nodes, p.edges, p.demand, p.located, p.travel]
    if capacity is not None and config.inputs.shelter_capacity is not None:
        inputs.append(config.inputs.shelter_capacity)
    lines = [f"plan: access_by_community.csv ({len(access)} rows); "
             + (f"access_capacity.csv ({len(capacity)} Toronto points); "
                if capacity is not None else "") + "suggestions.csv: "
             f"{len(suggested)} sites among {len(sites)} candidates "
             f"({config.suggest.candidates})"]
    if config.scenario.active:
        after = _with_fly_in_flag(scenario_services(services, config), config)
        compare = scenario_compare(travel, scenario_travel(engine, demand, after, config),
                                   demand, services, after, config)
        write_stage(compare, p.scenario_compare, SCENARIO_COMPARE)
        where = total_label(config)
        tot = compare[(compare["opp_region"] == where) & (compare["pop_change"] != 0)]
        lines.append(f"scenario: {len(after) - len(services) + len(config.scenario.remove)} "
                     f"added, {len(config.scenario.remove)} removed; " + (", ".join(
                         f"{r.need_type} {r.pop_change:+,}" for r in tot.itertuples())
                         or "no change in coverage"))
        inputs += [f for f in (config.scenario.add,) if f is not None]
    _record(config, "plan", inputs, candidates=len(sites), suggestions=len(suggested),
            scenario=config.scenario.active)
    lines[0] += f" in {time.perf_counter() - start:.1f} s"
    return "\n".join(lines)


def _census_divisions_in_scope(config: Config) -> gpd.GeoDataFrame:
    from gapmap.regions import census_divisions

    cds = census_divisions(config)
    if config.census_divisions_in_scope:
        cds = cds[cds["CDUID"].isin(config.census_divisions_in_scope)]
    return cds


def stage_maps(config: Config) -> str:
    from gapmap.maps import write_maps

    p = StagePaths.of(config)
    paths = write_maps(read_stage(p.located, SERVICES_LOCATED), read_stage(p.demand, DEMAND),
                       read_stage(p.gaps, GAP_COMMUNITIES), _census_divisions_in_scope(config),
                       config, travel=read_stage(p.travel, TRAVEL))
    return "maps: " + ", ".join(f"{x.name} ({x.stat().st_size / 1e6:.1f} MB)" for x in paths)


def _analysis_layers(p: StagePaths) -> dict[str, pd.DataFrame]:
    """The gaps and plan stages' tables for the GeoPackage, those that exist: ``coverage``
    (the long table), ``wraparound_by_region`` and ``suggestions`` (points)."""
    layers: dict[str, pd.DataFrame] = {}
    if p.coverage_depth.is_file():
        layers["coverage"] = read_stage(p.coverage_depth, COVERAGE_DEPTH)
    if p.wraparound_regions.is_file():
        layers["wraparound_by_region"] = read_stage(p.wraparound_regions, WRAPAROUND_BY_REGION)
    if p.suggestions.is_file():
        s = read_stage(p.suggestions, SUGGESTIONS)
        layers["suggestions"] = gpd.GeoDataFrame(
            s, geometry=gpd.points_from_xy(s["lon"], s["lat"]), crs=4326)
    return layers


def stage_report(config: Config) -> str:
    from gapmap.demand import remote_communities
    from gapmap.report import write_reports

    p = StagePaths.of(config)
    extra: dict[str, pd.DataFrame] = (
        {"need_catchments": read_geo(p.catchments, layer="need_catchments")}
        if p.catchments.is_file() else {})
    extra.update(_analysis_layers(p))
    services, demand = read_stage(p.located, SERVICES_LOCATED), read_stage(p.demand, DEMAND)
    cds = _census_divisions_in_scope(config)
    path = write_reports(
        services=services, demand=demand,
        coverage=read_stage(p.coverage, COVERAGE), gaps=read_stage(p.gaps, GAP_COMMUNITIES),
        cds=cds, remote=remote_communities(config),
        highways=read_geo(config.inputs.highways), config=config, extra_layers=extra)
    inputs = [p.located, p.demand, p.coverage, p.gaps, p.travel, *_reference_inputs(config)]
    meta = provenance(config, inputs, stage="report")
    meta["config"] = config.as_dict()
    stages = {}
    for stage in ("ingest", "geocode", "regions", "demand", "network", "travel", "catchments",
                  "gaps", "plan"):
        f = config.outputs.interim_dir / f"{stage}.json"
        if f.is_file():
            import json

            stages[stage] = json.loads(f.read_text())
    meta["stages"] = stages
    write_json(meta, p.metadata)
    if not config.outputs.reports:
        return f"report: {path} and {p.metadata}"
    from gapmap.report import write_handover

    files = write_handover(config, cds=cds, demand=demand, services=services)
    pdfs = [f for f in files if f.suffix == ".pdf"]
    return (f"report: {path}, {p.metadata}, " + ", ".join(
        f"{f.name} ({f.stat().st_size / 1e3:.0f} kB)" for f in files if f.suffix != ".png"
        and f.parent == config.outputs.processed_dir)
        + f"; {len(pdfs)} regional reports in {pdfs[0].parent if pdfs else '-'}")


def stage_referral(config: Config) -> str:
    """A referral sheet per police office town in scope: HTML each, one PDF, one CSV."""
    from gapmap.referral import write_office_sheets

    p = StagePaths.of(config)
    result = write_office_sheets(config)
    _record(config, "referral", [config.inputs.police_offices, p.located, p.nodes, p.edges],
            sheets=result.sheets, rows=result.rows, unplaced=result.unplaced)
    return result.summary()


# -- the Makefile's view of a config ---------------------------------------------------------

_MAKE_UNSAFE = re.compile(r"[\s#$:;%*?\[\]\\]")


def make_inputs(config: Config) -> dict[str, list[Path]]:
    """The input files the Makefile's targets depend on, grouped as the Makefile uses them.

    ``LISTINGS`` (the listing files and the ODHF file), ``REFERENCE`` (census, gazetteers,
    OPP regions, remote communities), ``HIGHWAYS`` (``inputs.highways``, drawn on the maps
    and written to the GeoPackage), ``GEOCODE_INPUTS`` (``geocode.overrides`` and
    ``geocode.postal_codes`` when set), ``DEMAND_INPUTS`` (``demand.path`` when set) and
    ``PLAN_INPUTS`` (the plan stage's candidate sites and scenario files) and
    ``NETWORK_INPUTS``: what the network stage reads, ``inputs.highways`` for
    ``kings_highways``, ``network.path`` for ``osm_file`` and ``rnf_file``, the download
    cache for ``osmnx`` (which the stage writes on its first run, and a user may delete to
    download again: :func:`make_variables` lists it only while it exists); ``OFFICES``
    (``inputs.police_offices``, read by the referral stage); ``GAPS_INPUTS``
    (``inputs.flsa_designated_areas`` when set, read only by the gaps stage).
    """
    i = config.inputs
    return {
        "LISTINGS": _listing_inputs(config),
        "REFERENCE": _reference_inputs(config),
        "HIGHWAYS": [i.highways],
        "GEOCODE_INPUTS": [f for f in (config.geocode.overrides, config.geocode.postal_codes)
                           if f is not None],
        "DEMAND_INPUTS": [config.demand.path] if config.demand.path is not None else [],
        "NETWORK_INPUTS": _network_inputs(config),
        "OFFICES": [i.police_offices],
        "PLAN_INPUTS": _plan_inputs(config),
        "GAPS_INPUTS": ([i.flsa_designated_areas] if i.flsa_designated_areas is not None
                        else []),
    }


def _plan_inputs(config: Config) -> list[Path]:
    """The files only the plan stage reads: the candidate sites' file (detachment offices or
    the analyst's) and the scenario's added services."""
    s = config.suggest
    files = {"detachments": config.inputs.police_offices,
             "file": s.candidates_path}.get(s.candidates)
    return [f for f in (files, config.scenario.add, config.inputs.shelter_capacity)
            if f is not None]


def make_variables(config: Config, *, cwd: Path | None = None) -> str:
    """Make variable assignments for the Makefile's file targets, from the config.

    ``INTERIM``, ``PROCESSED``, ``MAPS_DIR``, ``REFERRAL_DIR`` (the output folders), ``MAPS``
    (the map files,
    see :func:`gapmap.maps.map_files`) and the input files of :func:`make_inputs`. Paths
    under ``cwd`` (default: the current folder, where make runs) are written relative to it,
    so they match the targets a user types.

    Raises
    ------
    ConfigError
        A path that make cannot handle (a space, ``#``, ``$``, ``:``, ...).
    """
    from gapmap.errors import ConfigError
    from gapmap.maps import map_files

    here = (cwd or Path.cwd()).resolve()

    def show(path: Path) -> str:
        path = path.resolve()
        text = str(path.relative_to(here)) if path.is_relative_to(here) else str(path)
        if _MAKE_UNSAFE.search(text):
            raise ConfigError(f"{config.path or config.name}: make cannot handle the path "
                              f"{text!r} (spaces and #$:;%*?[]\\ are not allowed); rename it "
                              "or run the stages with `gapmap run`")
        return text

    out = config.outputs
    values: dict[str, list[Path]] = {
        "INTERIM": [out.interim_dir], "PROCESSED": [out.processed_dir],
        "MAPS_DIR": [out.maps_dir], "MAPS": [path for _, path in map_files(config)],
        "REFERRAL_DIR": [out.referral_dir],
        **make_inputs(config),
    }
    # the osmnx cache comes and goes: make looks for it each time it runs
    optional = {"NETWORK_INPUTS"} if config.network.source == "osmnx" else set()
    lines = [f"# Make variables for {config.path or config.name}, written by "
             "`gapmap make-vars`; do not edit."]
    for name, paths in values.items():
        shown = list(dict.fromkeys(show(p) for p in paths))  # each once, in order
        if name in optional and shown:
            shown = [f"$(wildcard {p})" for p in shown]
        lines.append(f"{name} := " + " \\\n    ".join(shown) if shown else f"{name} :=")
    return "\n".join(lines) + "\n"


def _with_settings(stage: Any) -> Any:
    """A stage run with the config's output settings in force (``[outputs] csv_bom``)."""
    import functools

    from gapmap.io import csv_byte_order_mark

    @functools.wraps(stage)
    def run(config: Config) -> str:
        with csv_byte_order_mark(config.outputs.csv_bom):
            return str(stage(config))

    return run


_STAGE_FUNCTIONS = {
    "ingest": stage_ingest, "geocode": stage_geocode, "regions": stage_regions,
    "demand": stage_demand, "network": stage_network, "travel": stage_travel,
    "catchments": stage_catchments, "gaps": stage_gaps, "plan": stage_plan, "maps": stage_maps,
    "report": stage_report, "referral": stage_referral,
}
STAGES = {name: _with_settings(fn) for name, fn in _STAGE_FUNCTIONS.items()}


def run_all(config: Config, *, echo: Any = print) -> None:
    """Run every stage in order."""
    for name, fn in STAGES.items():
        echo(f"[{name}] " + fn(config))


__all__ = ["STAGES", "StagePaths", "make_inputs", "make_variables", "run_all", "gpd"]
