"""The analyst's overrides: report -> fill in -> rerun, and the checks on what is filled in."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from pyproj import Geod

from gapmap.config import load_config
from gapmap.errors import SchemaError
from gapmap.geocode import Gazetteer
from gapmap.io import read_parquet, read_table
from gapmap.pipeline import StagePaths, stage_geocode, stage_ingest
from gapmap.sources.geocoders import OVERRIDE_COLUMNS, address_key, read_overrides

from .conftest import write_config, write_listings

GEOD = Geod(ellps="WGS84")
DEER_LAKE_NW = (52.617, -94.083)        # the gazetteer's Deer Lake First Nation point
SHELTER = (52.6251, -94.0702)           # a confidential point an analyst might type


def km(lat1, lon1, lat2, lon2) -> float:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2] / 1000


LISTINGS = [
    {"id": "amb", "name": "Ambiguous town", "city": "Deer Lake"},
    {"id": "unk", "name": "Unknown town", "city": "Nowhereville"},
    {"id": "blank", "name": "Nothing to go on", "city": ""},
    {"id": "ok", "name": "Placed", "city": "Kenora"},
    {"id": "conf", "name": "Safe house", "city": "Deer Lake", "confidential": "true"},
    {"id": "pointed", "name": "Listed point", "city": "Kenora", "lat": "49.76636",
     "lon": "-94.487913"},
    {"id": "addr", "name": "By address", "address": "110 Main St. North, PO Box 699",
     "city": "Alexandria", "postal_code": "K0C 1A0"},
]


@pytest.fixture
def listings(tmp_path):
    return write_listings(tmp_path / "listings.csv", LISTINGS)


@pytest.fixture(scope="module")
def gaz(ontario_config) -> Gazetteer:
    return Gazetteer(ontario_config)


def config(tmp_path, listings, extra=""):
    return load_config(write_config(tmp_path, [listings], extra=extra))


def test_report_fill_in_rerun_places_rows_by_override(tmp_path, listings, caplog):
    cfg = config(tmp_path, listings)
    stage_ingest(cfg)
    message = stage_geocode(cfg)
    assert "town precision or better" in message and "geocode.overrides" in message
    p = StagePaths.of(cfg)
    report = read_table(p.geocode_report)
    assert tuple(report.columns) == OVERRIDE_COLUMNS
    by_id = report.set_index("service_id")
    assert {"amb", "unk", "blank", "conf"} <= set(by_id.index)
    assert "ambiguous" in by_id.loc["amb", "issue"]
    assert "Kenora" in by_id.loc["amb", "candidates"]
    assert by_id.loc["unk", "issue"] == "failed"
    assert (report[["lat", "lon", "precision", "note"]] == "").all().all()

    # the analyst fills in some rows, leaves one blank, and adds one by address
    by_id.loc["amb", ["lat", "lon", "precision", "note"]] = [
        str(DEER_LAKE_NW[0]), str(DEER_LAKE_NW[1]), "town", "Deer Lake First Nation"]
    by_id.loc["unk", ["lat", "lon"]] = ["46.3091", "-79.4608"]
    by_id.loc["conf", ["lat", "lon"]] = [str(SHELTER[0]), str(SHELTER[1])]
    filled = by_id.reset_index()
    extra_rows = pd.DataFrame([
        {"service_id": "", "address": "110 Main Street N", "city": "Alexandria",
         "lat": "45.3117", "lon": "-74.6364", "note": "courthouse door"},
        {"service_id": "pointed", "lat": "49.7700", "lon": "-94.4900"},
        {"service_id": "gone-01", "lat": "45.0", "lon": "-79.0"},
    ])
    overrides = tmp_path / "overrides.csv"
    pd.concat([filled, extra_rows]).fillna("").to_csv(overrides, index=False)

    cfg2 = config(tmp_path, listings, extra=f'[geocode]\noverrides = "{overrides}"\n')
    with caplog.at_level(logging.WARNING, logger="gapmap"):
        stage_geocode(cfg2)
    assert "override id:gone-01 matched no service" in caplog.text
    g = read_parquet(p.geocoded).set_index("service_id")
    assert g.loc["amb", "geocode_source"].startswith("override")
    assert g.loc["amb", "geocode_precision"] == "town"
    assert g.loc["amb", "ambiguous"] == False  # noqa: E712 (numpy bool)
    assert g.loc["unk", "geocode_source"].startswith("override")
    assert g.loc["unk", "geocode_precision"] == "exact"          # blank precision = exact
    assert (g.loc["unk", "lat"], g.loc["unk", "lon"]) == (46.3091, -79.4608)
    assert g.loc["addr", "geocode_source"].startswith("override")
    assert g.loc["addr", "geocode_note"] == "courthouse door"
    assert g.loc["blank", "geocode_precision"] == "none"          # left blank: not placed
    assert g.loc["ok", "geocode_precision"] == "town"             # untouched
    # a confidential listing is placed at its town, never at the point typed in
    conf = g.loc["conf"]
    assert conf["geocode_precision"] == "town"
    assert conf["geocode_source"].startswith("override")
    assert km(conf["lat"], conf["lon"], *DEER_LAKE_NW) < 1
    assert km(conf["lat"], conf["lon"], *SHELTER) > 0.5
    # a listed point comes first in the default order: the override waits, and says so
    assert g.loc["pointed", "geocode_precision"] == "exact"
    assert g.loc["pointed", "geocode_source"].startswith("listing")
    assert "not applied" in g.loc["pointed", "geocode_note"]

    report2 = read_table(p.geocode_report)
    assert set(report2["service_id"]) == {"blank"}

    cfg3 = config(tmp_path, listings, extra=f'[geocode]\noverrides = "{overrides}"\n'
                  'order = ["override", "listing", "postal", "town", "rural_fsa", "area"]\n')
    stage_geocode(cfg3)
    g3 = read_parquet(p.geocoded).set_index("service_id")
    assert g3.loc["pointed", "geocode_source"].startswith("override")
    assert (g3.loc["pointed", "lat"], g3.loc["pointed", "lon"]) == (49.77, -94.49)


def test_address_keys_ignore_units_abbreviations_and_case():
    assert address_key("110 Main St. North, PO Box 699", "Alexandria") == \
        address_key("110 MAIN STREET N", "alexandria") == "110 main street north, alexandria"
    assert address_key("", "Kenora") == ""


def _write(tmp_path, text: str):
    path = tmp_path / "overrides.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("body", "message"), [
    ("s1,49.9,-97.1,", "line 2.*outside Ontario"),                  # Winnipeg
    ("s1,-79.39,43.66,", "swapped"),
    ("s1,43.66,,", "given together"),
    ("s1,north,-79.39,", "not a number"),
    ("s1,43.66,-79.39,building", "precision"),
    (",43.66,-79.39,", "service id or an address"),
    ("s1,43.66,-79.39,\ns1,44.0,-79.0,", "line 3.*another point"),
])
def test_bad_overrides_are_refused_naming_the_line(tmp_path, gaz, body, message):
    path = _write(tmp_path, f"service_id,lat,lon,precision\n{body}\n")
    with pytest.raises(SchemaError, match=message):
        read_overrides(path, gaz.in_ontario)


def test_unfilled_rows_are_skipped(tmp_path, gaz):
    path = _write(tmp_path, "service_id,lat,lon,precision\ns1,,,\ns2,43.66,-79.39,street\n")
    ov = read_overrides(path, gaz.in_ontario)
    assert set(ov.by_id) == {"s2"}
    assert ov.by_id["s2"].precision == "street"


def test_a_report_handed_back_matches_ids_the_csv_made_inert(tmp_path, gaz):
    """geocode_report.csv is written inert for spreadsheets ('=x9' for an id '=x9'); read
    back as overrides, it names the original id."""
    from gapmap.io import write_csv

    report = pd.DataFrame({"service_id": ["=x9", "-7b", "plain"], "lat": ["43.66"] * 3,
                           "lon": ["-79.39"] * 3, "precision": ["street"] * 3})
    path = write_csv(report, tmp_path / "geocode_report.csv")
    assert "'=x9" in path.read_text(encoding="utf-8")  # inert in the file
    ov = read_overrides(path, gaz.in_ontario)
    assert set(ov.by_id) == {"=x9", "-7b", "plain"}
