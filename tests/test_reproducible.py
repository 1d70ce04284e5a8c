"""The same bytes anywhere: one run in two folders at different paths writes identical files,
and the config's fingerprint follows the settings and the inputs' content, not the paths."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gapmap.cli import main
from gapmap.config import load_config

from .conftest import DATA

CONFIG = """\
[run]
name = "thunder-bay"
data_vintage = "test fixture"
census_divisions = ["3558"]   # the Thunder Bay district: quick, and it has remote places

[inputs]
listings = [{ path = "lists/listings_small.csv", region = "North West" }]
hospitals = false

[coverage]
thresholds_min = { medical_care = 30 }
"""


def _project(folder: Path) -> Path:
    """A small project: a config and its listings, nothing else (reference data shipped)."""
    (folder / "lists").mkdir(parents=True)
    shutil.copy(DATA / "listings_small.csv", folder / "lists" / "listings_small.csv")
    path = folder / "run.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for sub in ("data/processed", "maps") for p in sorted((folder / sub).rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", "1764806400")
    base = tmp_path_factory.mktemp("same-bytes")
    folders = (base / "a", base / "somewhere" / "else" / "entirely" / "b")
    try:
        for folder in folders:
            path = _project(folder)
            mp.chdir(folder)  # and from different working folders
            assert main(["-q", "run", "--config", str(path)]) == 0
    finally:
        mp.undo()
    return folders


def test_the_same_run_in_two_folders_writes_the_same_bytes(two_runs):
    a, b = (_files(f) for f in two_runs)
    assert set(a) == set(b)
    assert {"data/processed/run_metadata.json", "data/processed/coverage_by_region.csv",
            "data/processed/gapmap.gpkg", "data/processed/catchments.gpkg",
            "data/processed/services.csv", "maps/thunder-bay.html"} <= set(a)
    different = [name for name in a if a[name] != b[name]]
    assert different == []


def test_run_metadata_records_no_checkout_path(two_runs):
    for folder in two_runs:
        text = (folder / "data/processed/run_metadata.json").read_text()
        assert str(folder) not in text and str(Path(__file__).parents[1]) not in text
        meta = json.loads(text)
        assert meta["config_file"] == "run.toml"
        assert meta["config"]["inputs"]["listings"][0]["path"] == "lists/listings_small.csv"
        assert meta["config"]["outputs"]["maps_dir"] == "maps"
        assert "lists/listings_small.csv" in meta["stages"]["ingest"]["inputs"]
        assert "<data>/ontario/census_tracts_2021.csv" in meta["inputs"]


# -- the fingerprint ---------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return _project(tmp_path / "p")


def test_the_fingerprint_is_the_same_wherever_the_project_lies(project, tmp_path):
    moved = tmp_path / "q" / "r"
    shutil.copytree(project.parent, moved)
    assert load_config(project).fingerprint() == load_config(moved / "run.toml").fingerprint()
    assert load_config(project).as_dict() == load_config(moved / "run.toml").as_dict()


@pytest.mark.parametrize(("old", "new"), [
    ('name = "thunder-bay"', 'name = "thunder-bay-2"'),
    ("medical_care = 30", "medical_care = 31"),
    ('census_divisions = ["3558"]', 'census_divisions = ["3558", "3560"]'),
    ('hospitals = false', '# hospitals: the shipped ODHF file'),
    ("[coverage]", '[maps]\nconfidential = "hide"\n\n[coverage]'),
    ("[coverage]", "[network]\nconnector_speed_kph = 61\n\n[coverage]"),
])
def test_changing_one_setting_changes_the_fingerprint(project, old, new):
    before = load_config(project).fingerprint()
    text = project.read_text()
    assert old in text
    project.write_text(text.replace(old, new, 1))
    assert load_config(project).fingerprint() != before


def test_changing_one_input_byte_changes_the_fingerprint(project, tmp_path):
    before = load_config(project).fingerprint()
    listings = project.parent / "lists" / "listings_small.csv"
    data = bytearray(listings.read_bytes())
    i = data.index(b"Thunder Bay")
    data[i] = ord("t")  # same size, one byte
    listings.write_bytes(bytes(data))
    after = load_config(project).fingerprint()
    assert after != before
    data[i] = ord("T")
    listings.write_bytes(bytes(data))
    assert load_config(project).fingerprint() == before
    # a reference file too: a copy of the shipped census tracts, one byte changed
    tracts = tmp_path / "tracts.csv"
    shutil.copy(load_config(project).inputs.census_tracts, tracts)
    project.write_text(project.read_text().replace(
        "hospitals = false", f'hospitals = false\ncensus_tracts = "{tracts}"'))
    same_content = load_config(project).fingerprint()
    raw = bytearray(tracts.read_bytes())
    raw[-2] = ord("9") if raw[-2] != ord("9") else ord("8")
    tracts.write_bytes(bytes(raw))
    assert load_config(project).fingerprint() != same_content
