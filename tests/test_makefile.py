"""The Makefile's file targets follow the config: its output folders, its network file, its
geocode overrides. Checked with `make -n` (print, run nothing), `make -t` (mark up to date)
and `make -W FILE` (as if FILE had changed), so no stage runs and no input is touched."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gapmap.config import load_config
from gapmap.errors import ConfigError
from gapmap.pipeline import make_variables

from .conftest import ROOT, write_config

BIN = Path(sys.executable).parent  # the environment running the tests has gapmap installed
pytestmark = [
    pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make"),
    pytest.mark.skipif(not (BIN / "gapmap").is_file(), reason="needs the gapmap command"),
]
STAGE = re.compile(r"gapmap --config \S+ ([a-z-]+)$")
AFTER_NETWORK = {"network", "travel", "catchments", "gaps", "plan", "maps", "report",
                 "referral"}
AFTER_GEOCODE = {"geocode", "regions", "travel", "catchments", "gaps", "plan", "maps", "report",
                 "referral"}


def make(*args: str, config: Path, makevars: Path) -> subprocess.CompletedProcess:
    """make in the repository, with this environment's gapmap, never reinstalling it."""
    return subprocess.run(
        ["make", "--no-print-directory", f"CONFIG={config}", f"MAKEVARS={makevars}",
         f"BIN={BIN}", "-o", f"{BIN}/gapmap", *args],
        cwd=ROOT, capture_output=True, text=True, check=False)


def stages(out: subprocess.CompletedProcess) -> set[str]:
    assert out.returncode == 0, out.stderr
    return {m.group(1) for line in out.stdout.splitlines() if (m := STAGE.search(line))}


def rules(out: subprocess.CompletedProcess) -> dict[str, list[str]]:
    """Target -> prerequisites from `make -p` (the last pass, after the variables)."""
    assert out.returncode == 0, out.stderr
    found = {}
    for line in out.stdout.splitlines():
        m = re.match(r"^([^#\s:=][^:=]*):(?![:=])\s*(.*)$", line)
        if m:
            found[m.group(1)] = m.group(2).replace("|", " ").split()
    return found


@pytest.fixture
def built(tmp_path):
    """A run on stand-in input files (make only looks at their times), every output marked
    up to date by `make -t`: (config, vars file, the stand-in files by name)."""
    files = {name: tmp_path / name for name in
             ("listing.csv", "highways.geojson", "roads.osm", "overrides.csv", "postal.csv")}
    for f in files.values():
        f.touch()

    def configure(source: str) -> tuple[Path, Path]:
        network = {"osm_file": f'source = "osm_file"\npath = "{files["roads.osm"]}"',
                   "osmnx": f'source = "osmnx"\nplace = "Ottawa, Ontario"\n'
                            f'cache_dir = "{tmp_path / "cache"}"',
                   }.get(source, 'source = "kings_highways"')
        cfg = write_config(tmp_path, [files["listing.csv"]], extra=f"""
[network]
{network}

[geocode]
overrides = "{files['overrides.csv']}"
postal_codes = "{files['postal.csv']}"
""")
        text = re.sub(r'(?m)^highways = .*$', f'highways = "{files["highways.geojson"]}"',
                      cfg.read_text())
        cfg.write_text(text)
        for d in ("interim", "processed", "maps", "referral"):
            (tmp_path / d).mkdir(exist_ok=True)
        makevars = tmp_path / "vars.mk"
        marked = make("-t", "all", config=cfg, makevars=makevars)
        assert marked.returncode == 0, marked.stderr
        return cfg, makevars

    return configure, files


def test_marked_up_to_date_nothing_runs(built):
    configure, _ = built
    cfg, makevars = configure("osm_file")
    assert stages(make("-n", "all", config=cfg, makevars=makevars)) == set()
    out = make("-q", str(Path(cfg).parent / "processed" / "gapmap.gpkg"), config=cfg,
               makevars=makevars)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize(("source", "changed", "expected"), [
    # the configured OSM file is the network's input, not the King's Highways file ...
    ("osm_file", "roads.osm", AFTER_NETWORK),
    # ... which the maps and the GeoPackage still draw
    ("osm_file", "highways.geojson", {"maps", "report"}),
    ("kings_highways", "highways.geojson", AFTER_NETWORK),
    ("osm_file", "overrides.csv", AFTER_GEOCODE),
    ("osm_file", "postal.csv", AFTER_GEOCODE),
    ("osm_file", "listing.csv", {"ingest"} | AFTER_GEOCODE),
])
def test_a_changed_input_reruns_its_stage_and_what_follows(built, source, changed, expected):
    configure, files = built
    cfg, makevars = configure(source)
    out = make("-n", "-W", str(files[changed]), "all", config=cfg, makevars=makevars)
    assert stages(out) == expected


def test_ottawa_targets_are_its_own_files(tmp_path):
    found = rules(make("-n", "-p", "all", config=Path("configs/ottawa.toml"),
                       makevars=tmp_path / "ottawa.mk"))
    assert found["all"] == ["maps/ottawa/ottawa.html", "data/processed/ottawa/gapmap.gpkg",
                            "data/processed/ottawa/gapmap.xlsx",
                            "data/processed/ottawa/suggestions.csv",
                            "referral/ottawa/referral_sheets.pdf"]
    assert "data/raw/ontario/opp_detachment_offices.csv" in \
        found["referral/ottawa/referral_sheets.pdf"]
    network = found["data/interim/ottawa/network_edges.parquet"]
    assert network[0] == "data/raw/ottawa/roads_rnf2021.gpkg"
    assert "data/raw/gpl-3.0/highways_kings_fpa.geojson" not in network
    assert "data/raw/ottawa/dissemination_blocks_2021_pop.gpkg" in \
        found["data/interim/ottawa/demand.parquet"]
    assert "data/processed/ottawa/coverage_by_region.csv" in found["maps/ottawa/ottawa.html"]
    assert "maps/ontario.html" not in found and "data/interim/travel.parquet" not in found


def test_make_variables_name_the_configured_files(tmp_path):
    cfg = load_config(ROOT / "configs" / "ottawa.toml")
    text = make_variables(cfg, cwd=ROOT)
    assert "INTERIM := data/interim/ottawa\n" in text
    assert "NETWORK_INPUTS := data/raw/ottawa/roads_rnf2021.gpkg\n" in text
    assert "GEOCODE_INPUTS :=\n" in text
    ontario = make_variables(load_config(ROOT / "configs" / "ontario.toml"), cwd=ROOT)
    assert "NETWORK_INPUTS := data/raw/gpl-3.0/highways_kings_fpa.geojson\n" in ontario
    assert "maps/north-west.html" in ontario
    # outside the working folder: absolute paths
    assert f"INTERIM := {cfg.outputs.interim_dir}\n" in make_variables(cfg, cwd=tmp_path)


def test_a_path_make_cannot_handle_is_named(tmp_path):
    spaced = tmp_path / "my listings.csv"
    cfg = load_config(write_config(tmp_path, [spaced]))
    with pytest.raises(ConfigError, match="my listings.csv"):
        make_variables(cfg)


def test_the_osmnx_cache_is_followed_while_it_exists(built, tmp_path):
    # the download's cache is the network stage's input once written; deleting it (to
    # download again) must not break make
    from gapmap.sources.roads import osmnx_cache_path

    configure, _ = built
    cfg, makevars = configure("osmnx")
    cache = osmnx_cache_path(load_config(cfg).network)
    assert not cache.exists()
    assert stages(make("-n", "all", config=cfg, makevars=makevars)) == set()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.touch()
    assert stages(make("-n", "-W", str(cache), "all", config=cfg,
                       makevars=makevars)) == AFTER_NETWORK
    cache.unlink()
    out = make("-n", "all", config=cfg, makevars=makevars)
    assert out.returncode == 0, out.stderr
