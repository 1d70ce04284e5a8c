"""Stage hand-offs are checked where they are read, and a run with no services ends well.

The reader (:func:`gapmap.contracts.read_stage`) is tested on small tables built from the
contracts themselves: a truncated file, a missing column, a repeated key, a missing CRS, a
column of the wrong kind each stop it with one line naming the file, the stage that wrote it
and the column. The end-to-end run is ``gapmap run`` on a listings file with a header and no
rows, hospitals off, limited to one census division (Ottawa) on the King's Highways.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely

from gapmap import contracts
from gapmap.cli import main
from gapmap.config import Config, load_config
from gapmap.contracts import (
    COVERAGE,
    DEMAND,
    GAP_COMMUNITIES,
    NETWORK_NODES,
    SERVICES,
    SERVICES_GEOCODED,
    SERVICES_LOCATED,
    TRAVEL,
    StageFileError,
    StageTable,
    read_stage,
    write_stage,
)
from gapmap.errors import InputFileError, SchemaError
from gapmap.io import read_parquet, write_parquet
from gapmap.maps import map_files
from gapmap.network import RoadGraph
from gapmap.outputs.tables import SHARED_SERVICE_COLUMNS
from gapmap.pipeline import STAGES, StagePaths
from gapmap.sources.geocoders import OVERRIDE_COLUMNS

from .conftest import DATA, write_config

HEADER_ONLY = "id,name,need_types,address,city,postal_code,lat,lon,confidential\n"


def rows_of(table: StageTable, n: int = 3) -> pd.DataFrame:
    """``n`` valid rows of a stage table: every declared column, of its kind, keys unique."""
    values = {"text": lambda c: [f"{c}-{i}" for i in range(n)],
              "float": lambda c: [float(i) for i in range(n)],
              "int": lambda c: list(range(n)), "bool": lambda c: [True] * n}
    data = {c.name: values[c.kind](c.name) for c in table.columns if c.kind != "geometry"}
    if table.geo:
        pts = [shapely.Point(-79 + i / 10, 44) for i in range(n)]
        return gpd.GeoDataFrame(data, geometry=pts, crs=4326)
    return pd.DataFrame(data)


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text, text
    return text


# -- the reader ------------------------------------------------------------------------------

@pytest.mark.parametrize("table", [SERVICES, SERVICES_LOCATED, TRAVEL, DEMAND],
                         ids=lambda t: t.file)
def test_a_stage_table_round_trips(tmp_path, table):
    path = write_stage(rows_of(table), tmp_path / table.file, table)
    back = read_stage(path, table)
    assert type(back) is table.frame
    assert set(back.columns) == set(table.names)
    assert len(back) == 3


@pytest.mark.parametrize("table", [SERVICES, SERVICES_GEOCODED, TRAVEL],
                         ids=lambda t: t.file)
def test_a_truncated_stage_file_names_the_file_and_the_stage(tmp_path, table):
    path = write_stage(rows_of(table), tmp_path / table.file, table)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StageFileError) as exc:
        read_stage(path, table)
    text = one_line(exc)
    assert str(path) in text and f"written by the {table.stage} stage" in text
    assert "truncated or corrupt" in text


def test_a_geoparquet_that_fails_to_read_is_an_error_not_a_plain_frame(tmp_path):
    """The old reader fell back to a DataFrame when geopandas failed: never again."""
    path = write_stage(rows_of(SERVICES_LOCATED), tmp_path / "services_located.parquet",
                       SERVICES_LOCATED)
    table = pq.read_table(path)
    meta = dict(table.schema.metadata)
    geo = json.loads(meta[b"geo"])
    geo["columns"]["geometry"]["encoding"] = "no-such-encoding"
    meta[b"geo"] = json.dumps(geo).encode()
    pq.write_table(table.replace_schema_metadata(meta), path)
    with pytest.raises(SchemaError, match="cannot be read as GeoParquet"):
        read_parquet(path)
    with pytest.raises(StageFileError, match="written by the regions stage"):
        read_stage(path, SERVICES_LOCATED)


def test_a_parquet_without_geometry_is_read_as_a_dataframe(tmp_path):
    path = write_parquet(pd.DataFrame({"a": [1, 2]}), tmp_path / "plain.parquet")
    df = read_parquet(path)
    assert type(df) is pd.DataFrame and list(df["a"]) == [1, 2]


def test_a_missing_column_names_the_file_the_column_and_the_stage(tmp_path):
    path = write_parquet(rows_of(SERVICES).drop(columns="need_types"),
                         tmp_path / "services.parquet")
    with pytest.raises(StageFileError) as exc:
        read_stage(path, SERVICES)
    text = one_line(exc)
    assert str(path) in text and "need_types" in text and "ingest stage" in text


def test_a_repeated_key_names_the_file_the_key_and_the_stage(tmp_path):
    travel = rows_of(TRAVEL)
    travel.loc[2, ["demand_id", "need_type"]] = travel.loc[0, ["demand_id", "need_type"]]
    path = write_parquet(travel, tmp_path / "travel.parquet")
    with pytest.raises(StageFileError) as exc:
        read_stage(path, TRAVEL)
    text = one_line(exc)
    assert str(path) in text and "travel stage" in text
    assert "duplicate key demand_id, need_type: demand_id-0/need_type-0" in text


def test_a_missing_crs_names_the_file_and_the_stage(tmp_path):
    located = rows_of(SERVICES_LOCATED).set_crs(None, allow_override=True)
    path = write_parquet(located, tmp_path / "services_located.parquet")
    with pytest.raises(StageFileError) as exc:
        read_stage(path, SERVICES_LOCATED)
    text = one_line(exc)
    assert str(path) in text and "no CRS" in text and "regions stage" in text


def test_a_plain_table_where_geometry_is_declared_is_refused(tmp_path):
    path = write_parquet(pd.DataFrame(rows_of(DEMAND).drop(columns="geometry")),
                         tmp_path / "demand.parquet")
    with pytest.raises(StageFileError, match="no geometry column.*demand stage"):
        read_stage(path, DEMAND)


def test_a_column_of_the_wrong_kind_names_the_column(tmp_path):
    demand = rows_of(DEMAND)
    demand["pop2021"] = demand["pop2021"].astype(str)
    path = write_parquet(demand, tmp_path / "demand.parquet")
    with pytest.raises(StageFileError) as exc:
        read_stage(path, DEMAND)
    text = one_line(exc)
    assert "'pop2021' should be int" in text and "demand stage" in text


def test_a_missing_stage_file_says_which_stage_writes_it(tmp_path):
    with pytest.raises(InputFileError, match=r"travel\.parquet: not found; the travel stage"):
        read_stage(tmp_path / "travel.parquet", TRAVEL)


def test_csv_stage_tables_are_checked_too(tmp_path):
    gaps = rows_of(GAP_COMMUNITIES)
    path = write_stage(gaps, tmp_path / "gap_communities.csv", GAP_COMMUNITIES)
    back = read_stage(path, GAP_COMMUNITIES)
    assert back["rank"].dtype == np.int64 and back["enumerated"].dtype == bool
    gaps.drop(columns="travel_min").to_csv(path, index=False)
    with pytest.raises(StageFileError, match="travel_min.*gaps stage"):
        read_stage(path, GAP_COMMUNITIES)
    path.write_bytes(b"")  # truncated to nothing
    with pytest.raises(StageFileError, match="cannot be read as CSV.*gaps stage"):
        read_stage(path, GAP_COMMUNITIES)


def test_an_empty_table_is_read_with_its_declared_types(tmp_path, caplog):
    path = tmp_path / "coverage_by_region.csv"
    path.write_text(",".join(COVERAGE.names) + "\n")
    with caplog.at_level("WARNING", logger="gapmap"):
        cov = read_stage(path, COVERAGE)
    assert len(cov) == 0 and list(cov.columns) == COVERAGE.names
    assert cov["pop2021"].dtype == np.int64 and cov["pct_covered"].dtype == np.float64
    assert "coverage_by_region.csv has no rows" in caplog.text
    empty = write_stage(SERVICES_LOCATED.empty(), tmp_path / "located.parquet",
                        SERVICES_LOCATED)
    back = read_stage(empty, SERVICES_LOCATED)
    assert isinstance(back, gpd.GeoDataFrame) and back.crs.to_epsg() == 4326
    assert back["lat"].dtype == np.float64 and back["confidential"].dtype == bool


def test_the_road_graph_is_read_through_its_contract(tmp_path):
    nodes, edges = tmp_path / "network_nodes.parquet", tmp_path / "network_edges.parquet"
    write_parquet(rows_of(NETWORK_NODES).drop(columns="y"), nodes)
    write_parquet(rows_of(contracts.NETWORK_EDGES), edges)
    with pytest.raises(StageFileError) as exc:
        RoadGraph.load(nodes, edges)
    text = one_line(exc)
    assert str(nodes) in text and "missing column(s) y" in text and "network stage" in text


def test_the_cli_stops_on_a_truncated_stage_file_with_one_line(tmp_path, capsys):
    cfg_path = write_config(tmp_path, [DATA / "listings_small.csv"])
    cfg = load_config(cfg_path)
    STAGES["ingest"](cfg)
    services = StagePaths.of(cfg).services
    services.write_bytes(services.read_bytes()[:-100])
    assert main(["geocode", "--config", str(cfg_path)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert str(services) in err[0] and "ingest stage" in err[0]


# -- a run with no services ------------------------------------------------------------------

def test_the_coverage_measures_take_empty_tables():
    from gapmap.analysis.coverage import coverage_by_region, gap_communities

    limits = {"crisis_support": 60.0, "legal_support": 90.0}
    empty = (TRAVEL.empty(), DEMAND.empty(), SERVICES_LOCATED.empty())
    cov = coverage_by_region(*empty, thresholds_min=limits, regions=["East", "West"])
    assert list(cov.columns) == COVERAGE.names and len(cov) == 2 * 3
    assert (cov["pop2021"] == 0).all() and cov["pct_covered"].isna().all()
    gaps = gap_communities(*empty[:2], thresholds_min=limits)
    assert list(gaps.columns) == GAP_COMMUNITIES.names and len(gaps) == 0


def empty_run_config(tmp_path: Path, listings: Path) -> Path:
    """A config over the shipped data with ``listings``, hospitals off, Ottawa only.

    Hospitals are off when ``inputs.hospitals`` is absent; should the config's default turn
    them on, ``hospitals = false`` turns them off.
    """
    path = write_config(tmp_path, [listings])
    text = path.read_text(encoding="utf-8").replace(
        "[run]\n", '[run]\ncensus_divisions = ["3506"]\n', 1)
    path.write_text(text, encoding="utf-8")
    if load_config(path).inputs.hospitals is not None:
        path.write_text(text.replace("[inputs]\n", "[inputs]\nhospitals = false\n", 1),
                        encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def empty_run(tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[Config, subprocess.CompletedProcess]:
    tmp = tmp_path_factory.mktemp("empty-run")
    listings = tmp / "listings_header_only.csv"
    listings.write_text(HEADER_ONLY, encoding="utf-8")
    cfg_path = empty_run_config(tmp, listings)
    cfg = load_config(cfg_path)
    assert cfg.inputs.hospitals is None
    done = subprocess.run([sys.executable, "-m", "gapmap.cli", "run", "--config", str(cfg_path)],
                          capture_output=True, text=True, cwd=tmp)
    return cfg, done


def test_a_header_only_listing_runs_to_the_end_with_a_warning(empty_run):
    _, done = empty_run
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    warnings = [x for x in done.stderr.splitlines() if "no services" in x]
    assert len(warnings) == 1 and "the listing files have no rows" in warnings[0]
    assert "regions: no services" in done.stdout
    assert re.search(r"report: .*gapmap\.gpkg", done.stdout)


def test_the_service_tables_have_their_header_and_no_rows(empty_run):
    cfg, _ = empty_run
    p = StagePaths.of(cfg)
    for path, columns in ((p.services_csv, SHARED_SERVICE_COLUMNS),
                          (p.geocode_report, list(OVERRIDE_COLUMNS)),
                          (p.rejected, ["source", "source_row", "field", "reason"])):
        table = pd.read_csv(path, dtype=str)
        assert list(table.columns) == columns and len(table) == 0, path
    for path, table in ((p.services, SERVICES), (p.geocoded, SERVICES_GEOCODED),
                        (p.located, SERVICES_LOCATED)):
        schema = pq.read_schema(path)
        assert set(table.names) <= set(schema.names), path
        assert "null" not in {str(t) for t in schema.types}, f"{path}: an untyped column"
        assert pq.read_metadata(path).num_rows == 0
        assert type(read_stage(path, table)) is table.frame


def test_every_community_is_a_gap_for_want_of_a_service(empty_run):
    cfg, _ = empty_run
    p = StagePaths.of(cfg)
    demand = read_stage(p.demand, DEMAND)
    assert len(demand) > 100 and set(demand["cduid"]) == {"3506"}
    travel = read_stage(p.travel, TRAVEL)
    assert len(travel) == len(demand) * len(cfg.need_types)
    assert set(travel["access"]) == {"no_service"} and travel["travel_min"].isna().all()
    cov = read_stage(p.coverage, COVERAGE)
    assert (cov["pop_covered"] == 0).all() and (cov["services_placed"] == 0).all()
    assert (cov["services_area_level"] == 0).all()
    gaps = read_stage(p.gaps, GAP_COMMUNITIES)
    assert len(gaps) == len(travel) and set(gaps["access"]) == {"no_service"}


def test_the_geopackages_have_every_layer(empty_run):
    cfg, _ = empty_run
    p = StagePaths.of(cfg)
    layers = dict(gpd.list_layers(p.geopackage).itertuples(index=False))
    assert {"services", "services_without_point", "demand", "gap_communities",
            "remote_communities", "census_divisions", "opp_regions", "highways",
            "coverage_by_region", "need_catchments"} <= set(layers)
    services = gpd.read_file(p.geopackage, layer="services")
    assert len(services) == 0 and set(SHARED_SERVICE_COLUMNS) <= set(services.columns)
    assert len(gpd.read_file(p.geopackage, layer="services_without_point")) == 0
    assert len(gpd.read_file(p.geopackage, layer="demand")) > 100
    assert len(gpd.read_file(p.catchments, layer="service_catchments")) == 0
    need = gpd.read_file(p.catchments, layer="need_catchments")
    assert (need["n_services"] == 0).all()


def test_the_map_is_written_and_self_contained(empty_run):
    from gapmap.outputs.webassets import check_self_contained

    cfg, _ = empty_run
    files = [path for _, path in map_files(cfg)]
    assert [f.name for f in files] == ["test.html"]
    text = files[0].read_text(encoding="utf-8")
    check_self_contained(text)
    m = re.search(r'<script type="application/json" id="gapmap-data">(.*?)</script>', text,
                  re.S)
    assert m and isinstance(json.loads(m.group(1)), dict)
    assert "gapmapInit(" in text and text.rstrip().endswith("</html>")
