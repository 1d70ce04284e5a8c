"""Settings declared once: every table a typed model; unknown sections and settings refused
with the nearest valid name; names inside tables checked against their vocabularies; every
reference file defaulting to the shipped data; the settings reference generated from the
models."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import tomllib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gapmap.cli import main
from gapmap.config import (
    TABLE_MODELS,
    Config,
    RunSettings,
    data_dir,
    load_config,
    nearest,
    settings_reference,
)
from gapmap.errors import ConfigError
from gapmap.network import load_graph
from gapmap.regions import OPP_REGIONS

from .conftest import RAW, ROOT, write_config

SHIPPED_CONFIGS = [ROOT / "configs" / "ontario.toml", ROOT / "configs" / "ottawa.toml"]


def swap(word: str) -> list[str]:
    """Every misspelling of ``word`` by two adjacent, distinct letters swapped."""
    return [word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(len(word) - 1)
            if word[i] != word[i + 1] and word[i].isalpha() and word[i + 1].isalpha()]


def _names(table: dict, section: str = "") -> list[tuple[str, str | None]]:
    """(section, key) for every setting name of a parsed config, and (section, None) for
    every section; keys inside tables of names (speeds, thresholds) are data, not names."""
    out: list[tuple[str, str | None]] = []
    for key, value in table.items():
        name = f"{section}.{key}" if section else key
        if name in TABLE_MODELS:
            out.append((name, None))
            out += _names(value, name)
            continue
        out.append((section, key))
        items = value if isinstance(value, list) else []
        for item in items:  # inline tables in a list: inputs.listings' { path, region }
            if isinstance(item, dict):
                out += [(section, k) for k in item if (section, k) not in out]
    return out


def _misspell(text: str, section: str, key: str | None, wrong: str) -> str:
    """``text`` with the header of ``section`` (key None) or the first ``key =`` inside that
    section's block (line start or inline table) spelt ``wrong``."""
    header = re.compile(rf"^\[{re.escape(section)}\][ \t]*$", re.M)
    m = header.search(text)
    assert m, section
    if key is None:
        start, end = m.start(), m.end()
        parts = section.split(".")
        return text[:start] + "[" + ".".join(parts[:-1] + [wrong]) + "]" + text[end:]
    nxt = re.compile(r"^\[", re.M).search(text, m.end())
    block_end = nxt.start() if nxt else len(text)
    found = re.compile(rf"(^[ \t]*|[{{,][ \t]*){re.escape(key)}(?=[ \t]*=)", re.M).search(
        text, m.end(), block_end)
    assert found, (section, key)
    at = found.end() - len(key)
    return text[:at] + wrong + text[found.end():]


def _cases() -> list[tuple[Path, str, str | None, str]]:
    cases = []
    for path in SHIPPED_CONFIGS:
        raw = tomllib.loads(path.read_text())
        for section, key in _names(raw):
            name = key if key is not None else section.split(".")[-1]
            cases += [(path, section, key, wrong) for wrong in swap(name)]
    return cases


@pytest.mark.parametrize(("path", "section", "key", "wrong"), _cases(),
                         ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_every_name_of_the_shipped_configs_misspelt_is_refused_with_the_right_one(
        tmp_path, path, section, key, wrong):
    """The issue's done-when: each setting and section name of configs/ontario.toml and
    configs/ottawa.toml with two adjacent letters swapped stops the load, naming the key and
    suggesting the right one."""
    bad = tmp_path / "configs" / path.name
    bad.parent.mkdir()
    bad.write_text(_misspell(path.read_text(), section, key, wrong))
    with pytest.raises(ConfigError) as exc:
        load_config(bad)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{bad}: ")
    if key is None:
        wrong_section = ".".join(section.split(".")[:-1] + [wrong])
        assert f"[{wrong_section}]: unknown section; did you mean [{section}]?" in msg
    else:
        assert re.search(rf"\[{re.escape(section)}\] (\w+\[\d+\]\.)?{wrong}: unknown key; "
                         rf"did you mean {key}\?", msg), msg


def test_the_shipped_configs_give_the_misspelling_cases():
    sections = {s for _, s, k, _ in _cases() if k is None}
    keys = {(s, k) for _, s, k, _ in _cases() if k is not None}
    assert {"run", "inputs", "outputs", "network", "demand", "coverage"} <= sections
    assert {("inputs", "listings"), ("inputs", "path"), ("network", "local_route_km"),
            ("coverage", "default_threshold_min"), ("run", "census_divisions")} <= keys


def _every_setting() -> list[tuple[str, str]]:
    return [(section, f.name) for section, model in TABLE_MODELS.items()
            for f in dataclasses.fields(model) if f"{section}.{f.name}" not in TABLE_MODELS]


@pytest.mark.parametrize(("section", "key"), _every_setting())
def test_every_declared_setting_misspelt_is_refused_with_the_right_one(tmp_path, section,
                                                                      key):
    wrong = swap(key)[0]
    inputs = '[inputs]\nlistings = ["x.csv"]\n'
    text = (inputs + f"{wrong} = 1\n" if section == "inputs"
            else inputs + f"[{section}]\n{wrong} = 1\n")
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(
            f"[{section}] {wrong}: unknown key; did you mean {key}?")):
        load_config(path)


@pytest.mark.parametrize("section", list(TABLE_MODELS))
def test_every_section_misspelt_is_refused_with_the_right_one(tmp_path, section):
    *parent, name = section.split(".")
    wrong = ".".join([*parent, swap(name)[0]])
    path = tmp_path / "c.toml"
    path.write_text(('[inputs]\nlistings = ["x.csv"]\n' if section != "inputs" else "")
                    + f"[{wrong}]\n")
    with pytest.raises(ConfigError, match=re.escape(
            f"[{wrong}]: unknown section; did you mean [{section}]?")):
        load_config(path)


# -- the bugs of issue 12 ------------------------------------------------------------------


@pytest.mark.parametrize(("toml", "words"), [
    ("[coverage]\ndefault_treshold_min = 30",
     ["[coverage] default_treshold_min: unknown key; did you mean default_threshold_min?"]),
    ("[covrage]\ndefault_threshold_min = 30",
     ["[covrage]: unknown section; did you mean [coverage]?"]),
    ('[maps]\nconfidentail = "hide"',
     ["[maps] confidentail: unknown key; did you mean confidential?"]),
    ('[run]\nopp_regions = ["Nort East"]',
     ["[run] opp_regions[0]: unknown OPP region 'Nort East'; did you mean North East?"]),
    ('[remote]\nair_hubs = "Timmins"', ["remote.air_hubs must be a list, got 'Timmins'"]),
    ('[inputs]\nlistings = [{ path = "x.csv", region = "Nort West" }]',
     ["[inputs] listings[0].region: unknown OPP region 'Nort West'; did you mean North West?"]),
    ('nme = "x"', ["nme: a setting outside any [table]; did you mean [run] name?"]),
])
def test_the_misspellings_the_issue_found_are_refused(tmp_path, toml, words):
    head = '' if toml.startswith("[inputs]") else '[inputs]\nlistings = ["x.csv"]\n'
    path = tmp_path / "c.toml"
    path.write_text(toml + "\n" + head if toml.startswith("nme") else head + toml + "\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    for w in words:
        assert w in str(exc.value)
    assert str(exc.value).startswith(f"{path}: ")


def test_a_misspelt_config_stops_the_cli_before_any_stage(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text('[inputs]\nlistings = ["x.csv"]\n[covrage]\ndefault_threshold_min = 30\n')
    assert main(["run", "--config", str(path)]) == ConfigError.exit_code
    err = capsys.readouterr().err
    assert err.strip().endswith("[covrage]: unknown section; did you mean [coverage]?")
    assert not (tmp_path / "data").exists() and not (tmp_path / "maps").exists()


def test_opp_regions_are_checked_against_the_regions_module():
    assert RunSettings(opp_regions=OPP_REGIONS).opp_regions == OPP_REGIONS


@pytest.mark.parametrize(("toml", "words"), [
    ('[network]\nsource = "osm_fle"', ["network.source must be one of", "did you mean osm_file"]),
    ("[network]\nconnector_circuity = 0.9", ["network.connector_circuity must be >= 1"]),
    ("[network]\nbeyond_network_km = 10", ["beyond_network_km", ">= estimate_beyond_km"]),
    ('[network]\nsource = "osmnx"\nbbox = [26.9, 60.8]', ["network.bbox must be [west"]),
    ("[network]\nnode_snap_m = true", ["network.node_snap_m must be a number, got True"]),
    ('[geocode]\norder = ["town", "town"]', ["geocode.order must name each provider once"]),
    ("[geocode.nominatim]\nretries = 1.5", ["geocode.nominatim.retries must be a whole"]),
    ('[demand]\ncduid_from_id = "yes"', ["demand.cduid_from_id must be true or false"]),
    ('[run]\ncensus_divisions = ["350"]', ["run.census_divisions[0]", '"3506"']),
    ("[run]\nneed_types = []", ["run.need_types must have at least 1"]),
    ('[inputs]\nlistings = ["x.csv"]\nhospitals = true', ["inputs.hospitals", "false"]),
    ('[inputs]\nlistings = ["x.csv"]\nprovince = ""', ["inputs.province must be a path"]),
    ("[inputs]\nlistings = []", ["inputs.listings must have at least 1"]),
    ("[run]\n", ["inputs.listings is required"]),
    ("[remote]\nair_hubs = []", ["remote.air_hubs must have at least 1"]),
    ('[maps]\nconfidential = "hidden"', ["maps.confidential must be one of town, hide",
                                          "did you mean hide"]),
    ("run = 3", ["[run] must be a table"]),
])
def test_types_ranges_and_rules_are_checked_in_one_line(tmp_path, toml, words):
    head = "" if "[inputs]" in toml or toml.startswith("[run]\n") else \
        '[inputs]\nlistings = ["x.csv"]\n'
    path = tmp_path / "c.toml"
    path.write_text(toml + "\n" + head if toml.startswith("run =") else head + toml + "\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{path}: ")
    for w in words:
        assert w in msg


def test_nearest_prefers_one_edit_and_suggests_nothing_far():
    assert nearest("ptah", ["path", "place", "bbox"]) == "path"
    assert nearest("teleportation", ["interpretation", "counselling"]) is None
    assert nearest("6", ["1", "2", "3", "4", "5"]) is None
    assert nearest("EAST", ["East", "West"]) == "East"


# -- names inside tables: their vocabularies -------------------------------------------------


@pytest.mark.parametrize(("toml", "words"), [
    ("[coverage]\nthresholds_min = { medical_cre = 30 }",
     ["[coverage] thresholds_min.medical_cre: unknown need type; did you mean medical_care?"]),
    ('[run]\nneed_types = ["housing", "counseling"]',
     ["[run] need_types[1]: unknown need type 'counseling'; did you mean counselling?"]),
    ("[network]\nosm_speed_kph = { residental = 40 }",
     ["[network] osm_speed_kph.residental: unknown OSM highway class; "
      "did you mean residential?"]),
    ("[network]\nosm_speed_kph = { footway = 5 }",
     ["unknown OSM highway class", "service", "busway"]),
    ("[network]\nrnf_rank_speed_kph = { 6 = 30 }",
     ["[network] rnf_rank_speed_kph.6: unknown RNF RANK; valid RNF RANKs: 1, 2, 3, 4, 5"]),
    ("[network]\nrnf_class_speed_kph = { ramp = 50 }",
     ["network.rnf_class_speed_kph.ramp", 'two-digit RNF CLASS code such as "12"']),
    ('[network]\nrnf_exclude_classes = ["27", "bus"]', ["network.rnf_exclude_classes[1]"]),
])
def test_names_inside_tables_are_checked_against_their_vocabularies(tmp_path, toml, words):
    path = tmp_path / "c.toml"
    path.write_text('[inputs]\nlistings = ["x.csv"]\n' + toml + "\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    for w in words:
        assert w in str(exc.value)


def test_tables_of_names_add_to_their_defaults(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[inputs]\nlistings = ["x.csv"]\n[network]\n'
                    "osm_speed_kph = { service = 20, track = 15, busway = 30 }\n"
                    'osm_zone_speed_kph = { "school zone" = 40 }\n'
                    "rnf_class_speed_kph = { 21 = 60 }\nrnf_exclude_classes = [27, 80]\n")
    n = load_config(path).network
    assert n.osm_speed_kph["service"] == 20.0 and n.osm_speed_kph["motorway"] == 100.0
    assert n.osm_zone_speed_kph["school zone"] == 40.0 and n.osm_zone_speed_kph["urban"] == 50
    assert n.rnf_class_speed_kph == {"12": 100.0, "25": 50.0, "21": 60.0}
    assert n.rnf_exclude_classes == ("27", "80")


def _highways(tmp_path: Path, categories: list[str]) -> Path:
    lines = gpd.GeoDataFrame({"category": categories, "label": ["a"] * len(categories)},
                             geometry=[shapely.LineString([(-80 + i, 45), (-79.5 + i, 45)])
                                       for i in range(len(categories))], crs=4326)
    path = tmp_path / "roads.geojson"
    lines.to_file(path)
    return path


def test_a_misspelt_kings_highways_category_is_refused_where_the_file_is_read(tmp_path):
    roads = _highways(tmp_path, ["expressway", "primary_highway"])
    path = tmp_path / "c.toml"
    path.write_text(f'[inputs]\nlistings = ["x.csv"]\nhighways = "{roads}"\n'
                    "[network]\nspeed_kph = { expresway = 90 }\n")
    cfg = load_config(path)  # the categories are the file's: known only when it is read
    with pytest.raises(ConfigError) as exc:
        load_graph(cfg.network)
    msg = str(exc.value)
    assert "[network] speed_kph.expresway" in msg and "did you mean expressway?" in msg
    assert str(roads) in msg


def test_a_file_category_without_a_speed_is_a_warning_and_unused_defaults_are_fine(
        tmp_path, caplog):
    roads = _highways(tmp_path, ["expressway", "gravel_road"])  # no primary_highway
    path = tmp_path / "c.toml"
    path.write_text(f'[inputs]\nlistings = ["x.csv"]\nhighways = "{roads}"\n')
    with caplog.at_level(logging.WARNING, logger="gapmap"):
        graph = load_graph(load_config(path).network)
    assert graph.n_nodes > 0
    assert "gravel_road" in caplog.text and "80" in caplog.text


# -- the same object the stages read -----------------------------------------------------------


def test_the_names_the_stages_read_are_kept(ontario_config):
    cfg = ontario_config
    assert cfg.name == "ontario" and cfg.need_types == cfg.run.need_types
    assert cfg.opp_regions_in_scope == () and cfg.census_divisions_in_scope == ()
    assert cfg.air_hubs == ("Sioux Lookout", "Thunder Bay", "Timmins")
    assert cfg.confidential_display == "town" and cfg.data_vintage.startswith("2021 Census")
    assert cfg.network.fragment_rule() == "join" and cfg.coverage.threshold("housing") == 60
    assert cfg.geocode.nominatim.cache == cfg.outputs.interim_dir / "nominatim_cache.sqlite"
    # the demand stage caches the air hubs on these: they must stay hashable
    assert hash((cfg.inputs, cfg.geocode, cfg.air_hubs)) == hash(
        (cfg.inputs, cfg.geocode, cfg.air_hubs))
    changed = cfg.updated(run={"census_divisions": ("3506",)}, maps={"confidential": "hide"})
    assert changed.census_divisions_in_scope == ("3506",)
    assert changed.confidential_display == "hide" and changed.inputs == cfg.inputs


def test_the_shipped_configs_keep_their_effective_settings(ontario_config):
    """Trimmed to what they change: the same settings as when they wrote every default."""
    assert ontario_config.network.speed_kph == {"expressway": 100.0, "primary_highway": 80.0}
    assert ontario_config.coverage.catchment_bands_min == (15.0, 30.0, 60.0, 120.0)
    odhf = RAW / "ontario" / "healthcare_facilities_odhf_v1.1.csv"
    assert ontario_config.inputs.hospitals == odhf
    ottawa = load_config(ROOT / "configs" / "ottawa.toml")
    n = ottawa.network
    assert (n.source, n.fragment_rule(), n.connector_circuity, n.connector_speed_kph) == (
        "rnf_file", "drop", 1.3, 40.0)
    assert (n.estimate_beyond_km, n.beyond_network_km, n.local_route_km) == (2.0, 10.0, 2.0)
    assert n.rnf_rank_speed_kph == {"1": 100.0, "2": 80.0, "3": 60.0, "4": 50.0, "5": 40.0}
    assert n.rnf_class_speed_kph == {"12": 100.0, "25": 50.0}
    assert n.rnf_exclude_classes == ("27",) and n.node_snap_m == 1.0
    assert ottawa.coverage.default_threshold_min == 30.0
    assert (ottawa.opp_regions_in_scope, ottawa.census_divisions_in_scope) == (
        ("East",), ("3506",))
    assert ottawa.demand.cduid_from_id and ottawa.demand.id_prefix == "db-"


# -- defaults: the shipped data, wherever the config lives --------------------------------------


def _minimal(folder: Path, listings: str = "my.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "run.toml"
    path.write_text(f'[run]\nname = "mine"\n\n[inputs]\nlistings = ["{listings}"]\n')
    return path


def test_a_config_of_run_and_listings_takes_the_shipped_reference_data(tmp_path):
    cfg = load_config(_minimal(tmp_path / "anywhere" / "deep"))
    shipped = load_config(ROOT / "configs" / "ontario.toml").inputs
    assert cfg.inputs.listings[0].path == tmp_path / "anywhere" / "deep" / "my.csv"
    for name in (f.name for f in dataclasses.fields(cfg.inputs)):
        if name != "listings":
            value = getattr(cfg.inputs, name)
            assert value == getattr(shipped, name) and value.is_file(), name
            assert value.is_relative_to(data_dir()) and data_dir() == RAW
    assert cfg.inputs.hospitals == RAW / "ontario" / "healthcare_facilities_odhf_v1.1.csv"
    assert cfg.network.path == cfg.inputs.highways
    assert cfg.outputs.maps_dir == tmp_path / "anywhere" / "deep" / "maps"
    assert cfg.outputs.processed_dir == tmp_path / "anywhere" / "deep" / "data" / "processed"


def test_gapmap_data_dir_points_the_defaults_elsewhere(tmp_path, monkeypatch):
    elsewhere = tmp_path / "mirror"
    elsewhere.mkdir()
    monkeypatch.setenv("GAPMAP_DATA_DIR", str(elsewhere))
    cfg = load_config(_minimal(tmp_path / "cfg"))
    assert cfg.inputs.census_tracts == elsewhere / "ontario" / "census_tracts_2021.csv"
    assert cfg.inputs.highways == elsewhere / "gpl-3.0" / "highways_kings_fpa.geojson"


def test_a_missing_data_folder_is_named(tmp_path, monkeypatch):
    gone = tmp_path / "no-such-folder"
    monkeypatch.setenv("GAPMAP_DATA_DIR", str(gone))
    path = _minimal(tmp_path / "cfg")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    msg = str(exc.value)
    assert str(gone) in msg and "GAPMAP_DATA_DIR" in msg and str(path) in msg
    # a config naming every reference file needs no shipped folder
    full = write_config(tmp_path, [tmp_path / "x.csv"])
    assert load_config(full).inputs.census_tracts == RAW / "ontario" / "census_tracts_2021.csv"


def test_a_config_of_run_and_one_listings_file_runs_the_whole_pipeline(tmp_path, monkeypatch,
                                                                        capsys):
    """The issue's done-when: ``[run]`` and one listings file run every stage on the shipped
    data (limited to the Thunder Bay district to stay quick; hospitals on by default)."""
    folder = tmp_path / "mine"
    path = _minimal(folder)
    path.write_text(path.read_text().replace('name = "mine"',
                                             'name = "mine"\ncensus_divisions = ["3558"]'))
    pd.DataFrame({"id": ["tb-1", "tb-2"], "name": ["Crisis line", "Shelter"],
                  "need_types": ["crisis_support", "emergency_shelter"],
                  "city": ["Thunder Bay", "Nipigon"], "confidential": ["false", "true"]}
                 ).to_csv(folder / "my.csv", index=False)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764806400")
    assert main(["-q", "run", "--config", str(path)]) == 0, capsys.readouterr().err
    processed = folder / "data" / "processed"
    services = pd.read_csv(processed / "services.csv", dtype=str)
    assert {"tb-1", "tb-2"} <= set(services["service_id"])
    assert (services["source"] == "healthcare_facilities_odhf_v1.1.csv").sum() > 5
    cov = pd.read_csv(processed / "coverage_by_region.csv")
    total = cov[cov["opp_region"] == "mine (census division 3558)"]
    assert len(total) == 14 and total["pop2021"].gt(100_000).all()
    assert (folder / "maps" / "mine.html").is_file()
    meta = json.loads((processed / "run_metadata.json").read_text())
    assert meta["config_file"] == "run.toml"
    assert meta["config"]["inputs"]["census_tracts"] == "<data>/ontario/census_tracts_2021.csv"
    assert "<data>/ontario/census_tracts_2021.csv" in meta["inputs"]


# -- the settings reference --------------------------------------------------------------------


def test_docs_settings_md_is_generated_from_the_models():
    """Regenerate with ``.venv/bin/python -m gapmap.config > docs/settings.md``."""
    assert (ROOT / "docs" / "settings.md").read_text(encoding="utf-8") == settings_reference()


def test_the_reference_documents_every_setting_and_the_readme_links_it():
    text = settings_reference()
    for section, key in _every_setting():
        assert f"## `[{section}]`" in text
        assert f"| `{key}` |" in text, (section, key)
    assert "docs/settings.md" in (ROOT / "README.md").read_text()
    assert Config.__doc__ and "`<data>/ontario/census_tracts_2021.csv`" in text
