"""Maps: the stage that writes the self-contained HTML maps of a run.

It turns the run's :class:`~gapmap.config.Config` into what :mod:`gapmap.outputs.maps`
takes (:class:`~gapmap.outputs.maps.MapSettings`, the basemap's files, the list of maps) and
writes ``ontario.html`` and one map per OPP region in scope, or, for a run limited to some
census divisions (``run.census_divisions``, e.g. a city), one map named after the run.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from gapmap.config import Config
from gapmap.contracts import ACCESS_BY_COMMUNITY, COVERAGE, SUGGESTIONS, WRAPAROUND, read_stage
from gapmap.gaps import thresholds, total_label
from gapmap.outputs.maps import Basemap, MapSettings
from gapmap.outputs.maps import map_files as _map_files
from gapmap.outputs.maps import write_maps as _write_maps
from gapmap.regions import OPP_REGIONS


def map_settings(config: Config) -> MapSettings:
    """What the maps take from the run's settings."""
    return MapSettings(run_name=config.name, need_types=tuple(config.need_types),
                       thresholds_min=thresholds(config), whole_run=total_label(config),
                       confidential=config.confidential_display,
                       data_vintage=config.data_vintage, fingerprint=config.fingerprint(),
                       language=config.maps.language, far_min=config.maps.far_min,
                       stale_before=config.maps.stale_before,
                       access_per=config.access.per_population)


def basemap(config: Config) -> Basemap:
    """The vector basemap: the province outline, the King's Highways and the towns; the FSA
    points (postal-code search); the OPP detachments; the need catchments when the catchments
    stage has run."""
    i = config.inputs
    return Basemap.load(province=i.province, highways=i.highways, towns=i.places_geonames,
                        fsas=[i.fsa_statcan, i.fsa_geonames],
                        catchments=config.outputs.processed_dir / "catchments.gpkg",
                        remote=i.remote_communities, detachments=i.opp_detachments)


def map_files(config: Config) -> list[tuple[str | None, Path]]:
    """The maps the run writes: (OPP region, or None for the whole run; file path)."""
    return _map_files(config.outputs.maps_dir, run_name=config.name,
                      regions=list(config.opp_regions_in_scope or OPP_REGIONS),
                      one_map=bool(config.census_divisions_in_scope))


def analysis_tables(config: Config) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The gaps stage's ``wraparound.csv`` and the plan stage's ``suggestions.csv``, each
    None when its stage has not run: the maps' optional layers."""
    from gapmap.pipeline import StagePaths  # the pipeline calls this stage: no import cycle

    p = StagePaths.of(config)
    wrap, sites = p.wraparound, p.suggestions
    return (read_stage(wrap, WRAPAROUND) if wrap.is_file() else None,
            read_stage(sites, SUGGESTIONS) if sites.is_file() else None)


def coverage_table(config: Config) -> pd.DataFrame | None:
    """The gaps stage's ``coverage_by_region.csv`` (None before that stage has run): the
    share of each region reached only by outreach or a line, in the maps' legend."""
    from gapmap.pipeline import StagePaths

    path = StagePaths.of(config).coverage
    return read_stage(path, COVERAGE) if path.is_file() else None


def access_table(config: Config) -> pd.DataFrame | None:
    """The plan stage's ``access_by_community.csv`` (None before that stage has run): the
    maps' optional access layer (E2SFCA per 100,000 people)."""
    from gapmap.pipeline import StagePaths

    path = StagePaths.of(config).access
    return read_stage(path, ACCESS_BY_COMMUNITY) if path.is_file() else None


def write_maps(services: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, gaps: pd.DataFrame,
               cds: gpd.GeoDataFrame, config: Config, *,
               travel: pd.DataFrame | None = None) -> list[Path]:
    """Write the run's maps (:func:`map_files`) into its maps folder, with the wraparound
    and suggested-site layers and the access layer when those tables exist and the regions'
    reach by kind."""
    wraparound, suggestions = analysis_tables(config)
    return _write_maps(map_files(config), services, demand, gaps, cds, map_settings(config),
                       basemap=basemap(config), travel=travel, wraparound=wraparound,
                       suggestions=suggestions, coverage=coverage_table(config),
                       access=access_table(config))
