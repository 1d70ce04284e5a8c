"""Need-type vocabulary and run-config loading."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gapmap.config import load_config
from gapmap.errors import ConfigError
from gapmap.taxonomy import (
    NEED_CODES,
    NEED_TYPES,
    label,
    normalise_need,
    offers,
    offers_each,
    split_needs,
)

from .conftest import RAW, ROOT, write_config

# -- need types -----------------------------------------------------------------------------


def test_every_code_and_label_maps_back_to_its_need_type():
    assert len(NEED_CODES) == 14
    for need in NEED_TYPES:
        for name in (need.code, need.label_en, need.label_fr):
            assert normalise_need(name) == need.code, name


@pytest.mark.parametrize(("token", "code"), [
    ("CRISIS_SUPPORT", "crisis_support"),
    ("  crisis-support ", "crisis_support"),
    ("Sexual assault care", "sexual_assault_care"),
    ("Hébergement d'urgence", "emergency_shelter"),
    ("Hebergement d’urgence", "emergency_shelter"),      # no accent, curly apostrophe
    ("Soins médicaux", "medical_care"),
    ("SERVICES AUTOCHTONES", "indigenous_services"),
    ("Lutte contre la traite", "anti_trafficking"),
])
def test_codes_and_labels_in_any_case_accent_or_separator(token, code):
    assert normalise_need(token) == code


@pytest.mark.parametrize(("token", "code"), [
    ("VAW shelter", "emergency_shelter"),
    ("safe house", "emergency_shelter"),
    ("Victim Services", "crisis_support"),
    ("legal aid", "legal_support"),
    ("VWAP", "court_support"),
    ("Friendship Centre", "indigenous_services"),
    ("mental health", "addiction_mental_health"),
    ("santé mentale", "addiction_mental_health"),
    ("Human trafficking", "anti_trafficking"),
    ("counseling", "counselling"),
    ("newcomer", "settlement"),
])
def test_synonyms(token, code):
    assert normalise_need(token) == code


@pytest.mark.parametrize("token", ["teleportation", "crisis suport", "shelters please", ""])
def test_unknown_need_type_raises_keyerror_naming_the_token(token):
    with pytest.raises(KeyError) as exc:
        normalise_need(token)
    message = str(exc.value.args[0])
    assert repr(token) in message
    assert "crisis_support" in message  # the vocabulary is listed to help fix the typo


def test_offers_each_is_offers_for_every_need_at_once():
    fields = pd.Series(["housing;counselling", None, "counselling", "", "housing_first"])
    needs = ("housing", "counselling", "settlement")
    got = offers_each(fields, needs)
    assert got.shape == (5, 3)
    assert got.tolist() == [[True, True, False], [False, False, False],
                            [False, True, False], [False, False, False],
                            [False, False, False]]
    for j, need in enumerate(needs):
        assert np.array_equal(got[:, j], offers(fields, need).to_numpy())
    assert offers_each(fields.iloc[:0], needs).shape == (0, 3)


def test_split_needs_keeps_order_drops_repeats_and_names_the_bad_token():
    assert split_needs("Shelter; crisis_support | refuge;;") == [
        "emergency_shelter", "crisis_support"]
    assert split_needs("") == []
    with pytest.raises(KeyError, match="teleportation"):
        split_needs("counselling;teleportation")


def test_label_is_english():
    assert label("sexual_assault_care") == "Sexual assault care"


# -- config loading ---------------------------------------------------------------------------


def test_shipped_ontario_config_loads_with_its_documented_values():
    cfg = load_config(ROOT / "configs" / "ontario.toml")
    assert cfg.name == "ontario"
    assert [li.path.name for li in cfg.inputs.listings] == [
        "services_curated.csv", "services_curated_more.csv",
        "toronto_shelter_locations_2024-03-20.csv",
        "toronto_youth_substance_use_treatment_services.csv", "services_flat.csv"]
    assert cfg.inputs.hospitals.name == "healthcare_facilities_odhf_v1.1.csv"
    # relative paths in the shipped file resolve to the shipped data
    for name in ("hospitals", "census_divisions", "province", "opp_regions",
                 "census_subdivisions", "census_tracts", "fsa_statcan", "fsa_geonames",
                 "places_geonames", "places_fpa", "highways", "remote_communities"):
        p = getattr(cfg.inputs, name)
        assert p.is_absolute() and p.is_file(), name
    assert cfg.outputs.processed_dir == (ROOT / "data" / "processed").resolve()
    assert cfg.need_types == NEED_CODES
    assert cfg.coverage.threshold("medical_care") == 60.0
    assert cfg.coverage.catchment_bands_min == (15.0, 30.0, 60.0, 120.0)
    assert cfg.network.speed_kph == {"expressway": 100.0, "primary_highway": 80.0}
    assert cfg.air_hubs == ("Sioux Lookout", "Thunder Bay", "Timmins")
    assert cfg.confidential_display == "town"
    assert len(cfg.fingerprint()) == 12


def test_per_need_threshold_overrides_the_default(tmp_path):
    cfg = load_config(write_config(tmp_path, [tmp_path / "x.csv"], extra="""
[coverage]
default_threshold_min = 45
thresholds_min = { medical_care = 30 }
"""))
    assert cfg.coverage.threshold("medical_care") == 30.0
    assert cfg.coverage.threshold("counselling") == 45.0


def test_unknown_need_type_in_thresholds_names_file_and_key(tmp_path):
    path = write_config(tmp_path, [tmp_path / "x.csv"], extra="""
[coverage]
thresholds_min = { medical_care = 30, teleportation = 15 }
""")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    msg = str(exc.value)
    assert str(path) in msg
    assert "[coverage] thresholds_min.teleportation: unknown need type" in msg
    assert "did you mean" not in msg and "crisis_support" in msg  # nothing close: the list


@pytest.mark.parametrize("key", ["census_tracts", "highways", "places_geonames", "hospitals"])
def test_a_reference_file_left_out_is_the_shipped_one(tmp_path, key):
    path = write_config(tmp_path, [tmp_path / "x.csv"])
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith(f"{key} =")]
    assert len(lines) == len(path.read_text().splitlines()) - 1
    path.write_text("\n".join(lines))
    shipped = load_config(ROOT / "configs" / "ontario.toml").inputs
    assert getattr(load_config(path).inputs, key) == getattr(shipped, key)
    assert getattr(shipped, key).is_relative_to(RAW) and getattr(shipped, key).is_file()


@pytest.mark.parametrize("off", ["false", '""'])
def test_optional_inputs_may_be_turned_off(tmp_path, off):
    cfg = load_config(write_config(tmp_path, [tmp_path / "x.csv"]))  # hospitals = false
    assert cfg.inputs.hospitals is None
    path = write_config(tmp_path, [tmp_path / "x.csv"])
    path.write_text(path.read_text().replace("hospitals = false", f"hospitals = {off}")
                    .replace(f'places_fpa = "{RAW}/gpl-3.0/places_fpa.csv"',
                             f"places_fpa = {off}"))
    cfg = load_config(path)
    assert cfg.inputs.hospitals is None and cfg.inputs.places_fpa is None


def test_missing_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_relative_paths_resolve_against_the_config_folder_not_the_cwd(tmp_path, monkeypatch):
    cfg_dir = tmp_path / "project" / "configs"
    cfg_dir.mkdir(parents=True)
    raw = Path(os.path.relpath(RAW, cfg_dir))
    assert not raw.is_absolute()
    text = write_config(tmp_path, [tmp_path / "x.csv"]).read_text()
    text = text.replace(f"{RAW}/", f"{raw}/")
    text = text.replace(f'{{ path = "{tmp_path / "x.csv"}" }}', '{ path = "lists/x.csv" }')
    text = "\n".join(ln for ln in text.splitlines() if "_dir =" not in ln)
    assert '"/' not in text and "lists/x.csv" in text  # no absolute path left
    path = cfg_dir / "run.toml"
    path.write_text(text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    cfg = load_config(path)
    assert cfg.inputs.listings[0].path == (cfg_dir / "lists" / "x.csv").resolve()
    assert cfg.inputs.census_tracts == (RAW / "ontario" / "census_tracts_2021.csv").resolve()
    assert cfg.inputs.census_tracts.is_file()
    assert cfg.inputs.places_fpa == (RAW / "gpl-3.0" / "places_fpa.csv").resolve()
    # defaulted outputs also sit under the config's folder
    assert cfg.outputs.interim_dir == (cfg_dir / "data" / "interim").resolve()
    assert cfg.outputs.maps_dir == (cfg_dir / "maps").resolve()


def test_non_numeric_catchment_band_is_a_config_error(tmp_path):
    path = write_config(tmp_path, [tmp_path / "x.csv"], extra="""
[coverage]
catchment_bands_min = [15, "half an hour"]
""")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(path) in str(exc.value)
    assert "catchment_bands_min" in str(exc.value)


def test_local_route_km_is_its_own_setting(tmp_path):
    assert load_config(ROOT / "configs" / "ontario.toml").network.local_route_km == 25.0
    ottawa = load_config(ROOT / "configs" / "ottawa.toml").network
    assert (ottawa.local_route_km, ottawa.estimate_beyond_km) == (2.0, 2.0)
    # left out: 25 km, whatever the estimate limit says
    net = load_config(write_config(tmp_path, [tmp_path / "x.csv"], extra="""
[network]
estimate_beyond_km = 5
""")).network
    assert (net.local_route_km, net.estimate_beyond_km) == (25.0, 5.0)
    net = load_config(write_config(tmp_path, [tmp_path / "x.csv"], extra="""
[network]
local_route_km = 0
""")).network
    assert net.local_route_km == 0.0 and net.estimate_beyond_km == 25.0


@pytest.mark.parametrize("value", ["-1", '"far"', "true"])
def test_bad_local_route_km_names_file_and_key(tmp_path, value):
    path = write_config(tmp_path, [tmp_path / "x.csv"], extra=f"""
[network]
local_route_km = {value}
""")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(path) in str(exc.value) and "local_route_km" in str(exc.value)


@pytest.mark.parametrize("section,key", [("coverage", "catchment_simplify_m"),
                                         ("network", "local_route_km"),
                                         ("network", "fly_in_service_km")])
def test_a_negative_distance_is_a_config_error_and_zero_is_allowed(tmp_path, section, key):
    for value, ok in ((-1, False), (0, True)):
        path = write_config(tmp_path, [tmp_path / "x.csv"],
                            extra=f"\n[{section}]\n{key} = {value}\n")
        if ok:
            assert getattr(getattr(load_config(path), section), key) == 0.0
            continue
        with pytest.raises(ConfigError, match=f"{key} must be >= 0, got -1") as exc:
            load_config(path)
        assert str(path) in str(exc.value)
