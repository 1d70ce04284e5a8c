"""The real directories in the default run: Toronto's shelters and youth services, the
Kingston directory (counts made from the shipped files with the csv module)."""

from __future__ import annotations

import csv

import pytest

from gapmap.config import load_config
from gapmap.ingest import ingest

from .conftest import ROOT

RAW = ROOT / "data" / "raw"


def _rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def default():
    return ingest(load_config(ROOT / "configs" / "ontario.toml"))


def _balance(result, name):
    return next(b for b in result.sources if b.source == name)


def test_toronto_shelters_with_their_beds_and_rooms(default):
    rows = _rows(RAW / "toronto" / "toronto_shelter_locations_2024-03-20.csv")
    nameless = [r for r in rows if not r["LOCATION_NAME"]]
    b = _balance(default, "toronto_shelter_locations_2024-03-20.csv")
    assert (b.read, b.accepted, b.rejected) == (len(rows), len(rows) - len(nameless),
                                                len(nameless)) == (103, 102, 1)
    s = default.services.set_index("service_id")
    assert s.loc["1002", "capacity"] == "54 beds"  # Na-Me-Res: 54.0 beds, 0 rooms
    assert s.loc["1001", "capacity"] == "26 rooms"
    assert s.loc["1002", "need_types"] == "emergency_shelter"
    assert s.loc["1002", "eligibility"] == "Men"


def test_toronto_shelters_without_an_address_are_confidential(default):
    rows = _rows(RAW / "toronto" / "toronto_shelter_locations_2024-03-20.csv")
    no_address = {r["LOCATION_ID"] for r in rows if not r["LOCATION_ADDRESS"]
                  and r["LOCATION_NAME"]}
    s = default.services.set_index("service_id")
    assert len(no_address) == 3
    assert s.loc[sorted(no_address), "confidential"].all()
    assert not s.loc["1002", "confidential"]


def test_toronto_youth_services_keep_phones_hours_languages_and_their_date(default):
    s = default.services[default.services["source"].str.contains("youth_substance")]
    assert len(s) == 56
    assert (s["phone"] != "").sum() >= 50 and (s["hours"] != "").sum() >= 50
    assert s["last_verified"].str[:4].isin(["2013", "2014", "2015", "2016"]).all()
    assert s["website"].str.startswith("http").sum() >= 40  # HTML links read as URLs


def test_kingston_rows_outside_ontario_closed_or_uncovered_are_rejected_with_reasons(
        default):
    rows = _rows(RAW / "kingston" / "services_flat.csv")
    closed = sum(r["status"] not in ("", "Active") for r in rows)
    b = _balance(default, "services_flat.csv")
    rej = default.rejected[default.rejected["source"] == "services_flat.csv"]
    assert b.read == len(rows) == 196 and b.accepted + b.rejected == b.read
    assert (rej["field"] == "status").sum() == closed == 1
    # the four rows whose office is outside Ontario are lines (Kids Help Phone, Trans
    # Lifeline, each listed twice under two categories): kept as province-wide lines, the
    # office in the notes, each line once
    assert (rej["field"] == "address").sum() == 0
    lines = default.services[default.services["notes"].str.contains(
        "its office is outside Ontario")]
    assert sorted(lines["service_id"]) == ["kids-help-phone", "trans-lifeline-canada"]
    twice = default.duplicates[default.duplicates["rule"] == "same_listing"]
    assert {("kids-help-phone", "crisis-kids-help-phone"),
            ("trans-lifeline-canada", "crisis-trans-lifeline")} <= set(
        zip(twice["kept_id"], twice["merged_id"], strict=True))
    assert set(lines["delivery"]) == {"virtual"} and set(lines["city"]) == {"Province-wide"}
    assert (lines["address"] == "").all() and (lines["phone"] != "").all()
    uncovered = {"Community", "Food", "Employment", "Education", "Financial", "Transport"}
    assert (rej["field"] == "need_types").sum() == sum(
        r["intent_category"] in uncovered for r in rows
        if r["status"] in ("", "Active") and ", QC " not in r["address"]
        and ", CA " not in r["address"])
    k = default.services[default.services["source"].str.contains("services_flat")]
    # 41 Kingston services once the rows the directory lists twice are merged
    assert set(k["verification"]) <= {"L1", "L2"} and (k["city"] == "Kingston").sum() >= 40
