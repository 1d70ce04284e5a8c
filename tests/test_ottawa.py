"""The Ottawa configuration: Statistics Canada's road network of the city, its 8,559
dissemination blocks as demand, and the services that lie in the city."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gapmap.config import Outputs, load_config
from gapmap.demand import DEMAND_COLUMNS, build_demand
from gapmap.errors import ConfigError, SchemaError
from gapmap.gaps import total_label
from gapmap.pipeline import STAGES, StagePaths
from gapmap.regions import assign_regions, within_scope

from .conftest import RAW, ROOT, write_config

BLOCKS = RAW / "ottawa" / "dissemination_blocks_2021_pop.gpkg"
OTTAWA_POP2021 = 1_017_449


@pytest.fixture(scope="module")
def ottawa_config():
    return load_config(ROOT / "configs" / "ottawa.toml")


@pytest.fixture(scope="module")
def blocks(ottawa_config) -> gpd.GeoDataFrame:
    return build_demand(ottawa_config)


def test_ottawa_config_loads(ottawa_config, ontario_config):
    cfg = ottawa_config
    assert cfg.name == "ottawa"
    assert cfg.network.source == "rnf_file" and cfg.network.path.is_file()
    assert cfg.network.path.name == "roads_rnf2021.gpkg"
    assert cfg.network.rnf_rank_speed_kph == {"1": 100, "2": 80, "3": 60, "4": 50, "5": 40}
    assert cfg.network.fragment_rule() == "drop"
    assert cfg.demand.source == "file" and cfg.demand.path == BLOCKS.resolve()
    assert cfg.demand.population_column == "dbpop2021"
    assert cfg.census_divisions_in_scope == ("3506",)
    assert cfg.opp_regions_in_scope == ("East",)
    # its outputs never overwrite the province-wide run's
    for name in ("interim_dir", "processed_dir", "maps_dir"):
        mine, theirs = getattr(cfg.outputs, name), getattr(ontario_config.outputs, name)
        assert mine != theirs and mine.name == "ottawa" and mine.parent == theirs


def test_dissemination_blocks_as_demand(blocks):
    assert list(blocks.columns) == DEMAND_COLUMNS
    assert len(blocks) == 8_559 and blocks["demand_id"].is_unique
    assert int(blocks["pop2021"].sum()) == OTTAWA_POP2021
    assert int((blocks["pop2021"] == 0).sum()) == 984      # empty blocks, not missing data
    assert blocks["enumerated"].all() and (blocks["access"] == "road").all()
    assert (blocks["cduid"] == "3506").all() and (blocks["kind"] == "dissemination_block").all()
    assert blocks["demand_id"].str.fullmatch(r"db-3506\d{7}").all()
    assert blocks.crs.to_epsg() == 4326


def test_every_block_point_lies_inside_its_block(blocks):
    polys = gpd.read_file(BLOCKS)
    pts = blocks.to_crs(polys.crs)
    by_id = polys.set_index("DBUID").geometry
    inside = shapely.contains(
        np.asarray(by_id.loc[pts["demand_id"].str[3:]].values),
        np.asarray(pts.geometry.values))
    assert inside.all()


def test_blocks_and_census_tracts_agree_on_ottawas_population(ontario_config):
    scoped = ontario_config.updated(run={"census_divisions": ("3506",)})
    tracts = within_scope(assign_regions(build_demand(scoped), scoped), scoped)
    assert (tracts["kind"] == "tract").all() and len(tracts) > 150
    assert int(tracts["pop2021"].sum()) == OTTAWA_POP2021


def _blocks_file(tmp_path, edit) -> str:
    small = gpd.read_file(BLOCKS, rows=5)
    edit(small)
    path = tmp_path / "blocks.gpkg"
    small.to_file(path)
    return f"""
[demand]
source = "file"
path = "{path}"
id_column = "DBUID"
population_column = "dbpop2021"
"""


@pytest.mark.parametrize(("edit", "words"), [
    (lambda g: g.__setitem__("dbpop2021", [1, 2, -3, 4, 5]), ["dbpop2021", "35060001003"]),
    (lambda g: g.__setitem__("dbpop2021", [1, 2, None, 4, 5]), ["dbpop2021", "35060001003"]),
    (lambda g: g.__setitem__("DBUID", ["a", "b", "a", "c", "d"]), ["DBUID", "duplicate"]),
    (lambda g: g.__delitem__("dbpop2021"), ["missing column", "dbpop2021"]),
])
def test_bad_demand_file_names_file_row_and_field(tmp_path, edit, words):
    cfg = load_config(write_config(tmp_path, [tmp_path / "x.csv"],
                                   extra=_blocks_file(tmp_path, edit)))
    with pytest.raises(SchemaError) as exc:
        build_demand(cfg)
    msg = str(exc.value)
    assert "blocks.gpkg" in msg
    for w in words:
        assert w in msg


@pytest.mark.parametrize(("extra", "words"), [
    ('[demand]\nsource = "file"\nid_column = "DBUID"\npopulation_column = "p"',
     ["demand.path"]),
    ('[demand]\nsource = "blocks"', ["demand.source", "census", "file"]),
    ('[demand]\npath = "x.gpkg"', ["demand.path", "file"]),
    ('[demand]\nsource = "file"\npath = "x.gpkg"\nid_colum = "DBUID"', ["unknown key"]),
    ('[run]\ncensus_divisions = [3506]', ["run.census_divisions", "3506"]),
])
def test_bad_demand_settings_are_config_errors(tmp_path, extra, words):
    path = write_config(tmp_path, [tmp_path / "x.csv"], extra=extra)
    if extra.startswith("[run]"):  # the fixture already has a [run] table: merge into it
        text = path.read_text().replace(extra, "")
        path.write_text(text.replace('[run]\n', '[run]\ncensus_divisions = [3506]\n', 1))
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    for w in words:
        assert w in str(exc.value)


def test_ottawa_pipeline_runs_up_to_gaps(ottawa_config, tmp_path):
    cfg = dataclasses.replace(ottawa_config, outputs=Outputs(
        interim_dir=tmp_path / "interim", processed_dir=tmp_path / "processed",
        maps_dir=tmp_path / "maps"))
    for name in ("ingest", "geocode", "regions", "demand", "network", "travel", "gaps"):
        STAGES[name](cfg)
    p = StagePaths.of(cfg)
    services = gpd.read_parquet(p.located)
    point = services["geocode_precision"].isin(["exact", "street", "postal", "fsa", "town"])
    assert (services.loc[point, "cduid"] == "3506").all() and point.sum() >= 15
    assert set(services.loc[~point, "opp_region"]) <= {"all", "East"}
    assert "the Ottawa Hospital - Civic Campus" in set(services["name"])
    assert not services["name"].str.contains("Kingston|Cornwall|Pembroke").any()

    nodes = pd.read_parquet(p.nodes)
    assert len(nodes) == 23_726

    travel = pd.read_parquet(p.travel)
    assert len(travel) == 8_559 * 14
    assert not (travel["access"] == "beyond_road_network").any()
    med = travel[travel["need_type"] == "medical_care"]
    assert med["travel_min"].notna().all() and med["travel_min"].max() < 60

    cov = pd.read_csv(p.coverage)
    # the total row says it covers Ottawa, not Ontario
    assert set(cov["opp_region"]) == {"East", "ottawa (census division 3506)"}
    total = cov[cov["opp_region"] == total_label(cfg)]
    assert len(total) == 14 and (total["pop2021"] == OTTAWA_POP2021).all()
    east = cov[cov["opp_region"] == "East"].set_index("need_type")
    assert (east["pop2021"] == OTTAWA_POP2021).all()
    assert (east["threshold_min"] == 30).all()
    assert east.at["medical_care", "pct_covered"] > 95
    # no shelter has a public point: the whole city shows as a gap for it, not as covered
    assert east.at["emergency_shelter", "services_placed"] == 0
    assert east.at["emergency_shelter", "pct_covered"] == 0
    gaps = pd.read_csv(p.gaps, dtype={"demand_id": str})
    assert (gaps[gaps["need_type"] == "emergency_shelter"]["note"]
            == "no placed service of this need anywhere").all()
    # a city run writes one map named after the run, not a copy per region
    STAGES["maps"](cfg)
    assert sorted(f.name for f in cfg.outputs.maps_dir.glob("*.html")) == ["ottawa.html"]
    page = (cfg.outputs.maps_dir / "ottawa.html").read_text(encoding="utf-8")
    assert "<title>gapmap: ottawa (census division 3506)</title>" in page


def test_unknown_census_division_in_scope_is_named(ottawa_config):
    bad = ottawa_config.updated(run={"census_divisions": ("3599",)})
    demand = build_demand(bad).head(3)
    with pytest.raises(ConfigError, match="3599"):
        within_scope(assign_regions(demand, bad), bad)
