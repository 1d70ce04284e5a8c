"""End to end on a small real config: every stage, every output, what a user would notice."""

from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from gapmap.cli import main
from gapmap.config import load_config
from gapmap.io import generated_on, read_parquet
from gapmap.pipeline import STAGES, StagePaths, run_all

from .conftest import DATA, write_config

CONF_POINT = (46.46502, -81.02917)  # the confidential fixture's exact point (lat, lon)
CONF_SECRETS = ("123 Hidden Lane", "P3E 2C6", "46.46502", "-81.02917")
GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("e2e")
    cfg = load_config(write_config(tmp, [DATA / "listings_small.csv"]))
    run_all(cfg, echo=lambda _m: None)
    return cfg, tmp


def _all_outputs(tmp: Path) -> list[Path]:
    return [p for p in tmp.rglob("*") if p.is_file() and p.suffix != ".toml"]


def test_every_output_is_written(run):
    cfg, tmp = run
    p = StagePaths.of(cfg)
    for f in (p.coverage, p.gaps, p.services_csv, p.rejected, p.geocode_report, p.geopackage,
              p.metadata):
        assert f.is_file() and f.stat().st_size > 0, f
    maps = sorted(x.name for x in cfg.outputs.maps_dir.glob("*.html"))
    assert maps == ["central.html", "east.html", "north-east.html", "north-west.html",
                    "ontario.html", "west.html"]
    layers = set(gpd.list_layers(p.geopackage)["name"])
    assert {"services", "demand", "gap_communities", "remote_communities", "census_divisions",
            "opp_regions", "highways", "coverage_by_region", "need_catchments"} <= layers
    assert set(gpd.list_layers(p.catchments)["name"]) == {"service_catchments",
                                                          "need_catchments"}
    assert not list(tmp.rglob("*.tmp*")), "a temporary file was left behind"


def test_confidential_location_never_leaves_its_town(run):
    cfg, tmp = run
    outputs = _all_outputs(tmp)
    for f in outputs:
        if f.suffix in (".csv", ".html", ".json"):
            text = f.read_text(encoding="utf-8")
            for secret in CONF_SECRETS:
                assert secret not in text, f"{secret!r} found in {f}"
    # binary outputs: every geometry of the confidential service is ≥ 1 km from the point
    for f in outputs:
        if f.suffix not in (".parquet", ".gpkg"):
            continue
        layers = gpd.list_layers(f)["name"] if f.suffix == ".gpkg" else [None]
        for layer in layers:
            df = gpd.read_file(f, layer=layer) if layer else read_parquet(f)
            for col in ("address", "postal_code"):
                if col in df.columns:
                    assert not df[col].astype(str).str.contains("Hidden Lane|P3E 2C6").any()
            if "service_id" not in df.columns or not isinstance(df, gpd.GeoDataFrame):
                continue
            rows = df[df["service_id"] == "conf-test-01"]
            # catchment polygons are built from the shared (town) point checked here
            for g in rows.geometry.dropna():
                if g.geom_type != "Point":
                    continue
                _, _, d = GEOD.inv(g.x, g.y, CONF_POINT[1], CONF_POINT[0])
                assert d > 1000, f"{f}:{layer} places the confidential service {d:.0f} m away"
    services = pd.read_csv(StagePaths.of(cfg).services_csv, dtype=str)
    row = services.set_index("service_id").loc["conf-test-01"]
    assert row["geocode_precision"] == "town"
    assert row["address"].startswith("withheld")


def test_script_injection_is_escaped_in_every_map(run):
    cfg, _ = run
    for f in cfg.outputs.maps_dir.glob("*.html"):
        text = f.read_text(encoding="utf-8")
        assert "<img src=x onerror=alert(1)>" not in text
        assert "<script>alert(2)</script>" not in text
        assert 'href="javascript:' not in text


def test_remote_communities_never_get_a_drive_time(run):
    cfg, _ = run
    p = StagePaths.of(cfg)
    travel = pd.read_parquet(p.travel)
    demand = gpd.read_parquet(p.demand)
    remote_ids = demand.loc[demand["access"] == "no_all_season_road", "demand_id"]
    assert len(remote_ids) >= 25
    rt = travel[travel["demand_id"].isin(remote_ids)]
    assert (rt["access"] == "no_all_season_road").all()
    assert rt["travel_min"].isna().all()
    gaps = pd.read_csv(p.gaps)
    sandy = gaps[(gaps["name"] == "Sandy Lake 88") & (gaps["need_type"] == "crisis_support")]
    assert len(sandy) == 1 and math.isnan(sandy["travel_min"].iloc[0])
    assert "no all-season road" in sandy["note"].iloc[0]
    assert "Sioux Lookout" in sandy["note"].iloc[0]


def test_coverage_table_adds_up(run):
    cfg, _ = run
    cov = pd.read_csv(StagePaths.of(cfg).coverage)
    ont = cov[cov["opp_region"] == "Ontario"]
    assert (ont["pop2021"] == 14_223_942).all()
    regions = cov[cov["opp_region"] != "Ontario"]
    by_need = regions.groupby("need_type")[["pop2021", "pop_covered"]].sum()
    assert (by_need["pop2021"] == 14_223_942).all()
    ont_cov = ont.set_index("need_type")["pop_covered"].sort_index()
    assert by_need["pop_covered"].sort_index().tolist() == ont_cov.tolist()
    parts = (cov["pop_covered"] + cov["pop_outside"] + cov["pop_no_all_season_road"]
             + cov["pop_beyond_road_network"])
    assert (parts == cov["pop2021"]).all()
    # the fixture has no settlement service: nobody is covered, and the table says so
    settle = ont.set_index("need_type").loc["settlement"]
    assert settle["pop_covered"] == 0 and settle["services_placed"] == 0


def test_coverage_drops_when_a_service_is_removed(run, tmp_path):
    cfg, _ = run
    before = pd.read_csv(StagePaths.of(cfg).coverage)
    listings = pd.read_csv(DATA / "listings_small.csv", dtype=str, keep_default_na=False)
    fewer = tmp_path / "fewer.csv"
    listings[listings["id"] != "sadvtc3-05"].to_csv(fewer, index=False)  # North Bay SA/DV
    cfg2 = load_config(write_config(tmp_path, [fewer]))
    for stage in ("ingest", "geocode", "regions", "demand", "network", "travel", "gaps"):
        STAGES[stage](cfg2)
    after = pd.read_csv(StagePaths.of(cfg2).coverage)
    key = ["opp_region", "need_type"]
    m = before.merge(after, on=key, suffixes=("_before", "_after"))
    ne = m[(m["opp_region"] == "North East") & (m["need_type"] == "sexual_assault_care")]
    assert ne["pop_covered_after"].iloc[0] < ne["pop_covered_before"].iloc[0]
    assert (m["pop_covered_after"] <= m["pop_covered_before"]).all()


def test_rerun_is_idempotent(run):
    cfg, _ = run
    p = StagePaths.of(cfg)
    watched = [p.coverage, p.gaps, p.services_csv, cfg.outputs.maps_dir / "ontario.html",
               p.geopackage, p.catchments, p.metadata]
    first = [f.read_bytes() for f in watched]
    for stage in ("catchments", "gaps", "maps", "report"):
        STAGES[stage](cfg)
    assert [f.read_bytes() for f in watched] == first
    # a GeoPackage's layers carry the run's date, not the moment they were written
    with sqlite3.connect(p.geopackage) as db:
        stamps = {row[0] for row in db.execute("SELECT last_change FROM gpkg_contents")}
    assert stamps == {f"{generated_on()}T00:00:00Z"}


def test_cli_error_is_one_line_with_status_3(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[inputs]\nlistings = []\n")
    assert main(["ingest", "--config", str(bad)]) == 3  # ConfigError (README: Exit codes)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gapmap: error:") and "bad.toml" in err[0]


def test_cli_ingest_prints_the_row_balance(tmp_path):
    cfg = write_config(tmp_path, [DATA / "listings_bad.csv", DATA / "listings_small.csv"])
    out = subprocess.run([sys.executable, "-m", "gapmap.cli", "ingest", "--config", str(cfg)],
                         capture_output=True, text=True, check=True).stdout
    # 10 + 16 rows read; the bad file has 8 rows to reject (one is a duplicate id)
    assert "read 26 rows: 18 accepted + 8 rejected" in out
    rejected = pd.read_csv(tmp_path / "processed" / "rejected_rows.csv", dtype=str)
    assert len(rejected) == 8
    assert set(rejected["source"]) == {"listings_bad.csv"}
    assert np.all(rejected["reason"].str.len() > 0)


def test_the_planning_outputs_are_written_and_named(run):
    """Issue 17's done-when on the small run: the long coverage table, the scored and named
    gap table, access per community, wraparound and the suggestions."""
    cfg, _tmp = run
    p = StagePaths.of(cfg)
    depth = pd.read_csv(p.coverage_depth)
    assert {30.0, 60.0, 90.0} <= set(depth["threshold_min"])
    assert depth.groupby(["opp_region", "need_type"])["need_threshold"].sum().eq(1).all()
    gaps = pd.read_csv(p.gaps, dtype={"census_code": str})
    assert not gaps["name"].str.contains(r" CT \d", regex=True).any()
    scored = gaps.dropna(subset=["gap_score"])
    first = scored.groupby(["need_type", "opp_region"])["gap_score"].first()
    assert (first == scored.groupby(["need_type", "opp_region"])["gap_score"].max()).all()
    demand = read_parquet(p.demand)
    assert set(gaps["name"]) <= set(demand["name"])
    access = pd.read_csv(p.access)
    assert len(access) == len(demand) * len(cfg.need_types)
    assert (access["access_e2sfca"] >= 0).all()
    wrap = pd.read_csv(p.wraparound)
    assert wrap["pop2021"].sum() == demand["pop2021"].sum()
    s = pd.read_csv(p.suggestions, keep_default_na=False)
    assert set(s["method"]) == {"exact", "greedy"} and (s["rank"] <= 3).all()
    added = s.groupby(["need_type", "opp_region", "method"])["pop_added"].sum().unstack()
    assert (added["exact"] >= added["greedy"].reindex(added.index).fillna(0)).all()
    assert "suggestions" in set(gpd.list_layers(p.geopackage)["name"])


def test_a_scenario_writes_its_comparison_in_its_own_folder(tmp_path):
    from gapmap.errors import ConfigError

    path = write_config(tmp_path, [DATA / "listings_small.csv"])
    add = tmp_path / "add.csv"
    add.write_text("id,name,need_types,lat,lon\n"
                   "new-1,A new centre,anti_trafficking,48.3809,-89.2477\n")
    text = path.read_text().replace('[run]', '[run]\ncensus_divisions = ["3558"]', 1)
    with pytest.raises(ConfigError, match="its own folders"):
        load_config(_with(path, text + f'\n[scenario]\nadd = "{add}"\n'))
    own = text.replace(f"{tmp_path}/interim", f"{tmp_path}/interim/test") \
        .replace(f"{tmp_path}/processed", f"{tmp_path}/processed/test") \
        .replace(f"{tmp_path}/maps", f"{tmp_path}/maps/test")
    cfg = load_config(_with(path, own + f'\n[scenario]\nadd = "{add}"\n'))
    run_all(cfg, echo=lambda _m: None)
    compare = pd.read_csv(StagePaths.of(cfg).scenario_compare)
    assert StagePaths.of(cfg).scenario_compare.parent == tmp_path / "processed" / "test"
    at = compare.set_index(["opp_region", "need_type"])
    row = at.loc[("North West", "anti_trafficking")]
    assert row["pop_covered_after"] > row["pop_covered_before"]
    assert row["services_placed_after"] == row["services_placed_before"] + 1
    others = compare[compare["need_type"] != "anti_trafficking"]
    assert (others["pop_change"] == 0).all()


def _with(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
