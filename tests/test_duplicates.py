"""The same service listed by two sources is one service, listed in duplicates.csv."""

from __future__ import annotations

import math

import pandas as pd

from gapmap.analysis.duplicates import merge_duplicates
from gapmap.config import load_config
from gapmap.ingest import ingest
from gapmap.pipeline import stage_ingest

from .conftest import write_config


def write_listings(path, rows):
    """A listings CSV of ``rows`` (crisis_support; not confidential unless a row says so),
    every column kept."""
    df = pd.DataFrame(rows, dtype=str).fillna("")
    df["need_types"] = "crisis_support"
    df["confidential"] = df.get("confidential", pd.Series("", index=df.index)).replace(
        "", "false")
    df.to_csv(path, index=False)
    return path

A = {"id": "a-1", "name": "Harbour Victim Services", "organization": "Harbour Agency",
     "address": "10 Water Street", "city": "Thunder Bay", "postal_code": "P7B 1A1",
     "lat": "48.38000", "lon": "-89.24000", "phone": ""}
# the same service in another directory: 110 m away, with a (fictional) phone number
B = {**A, "id": "b-1", "address": "10 Water St.", "lat": "48.38099", "lon": "-89.24000",
     "phone": "807-555-0100"}
OTHER = {"id": "b-2", "name": "Harbour Legal Clinic", "organization": "Harbour Agency",
         "address": "12 Water Street", "city": "Thunder Bay", "lat": "48.38000",
         "lon": "-89.24000"}


def _run(tmp_path, a_rows, b_rows):
    fa = write_listings(tmp_path / "first.csv", a_rows)
    fb = write_listings(tmp_path / "second.csv", b_rows)
    return load_config(write_config(tmp_path, [fa, fb]))


def test_two_sources_listing_the_same_service_merge_once_and_are_reported(tmp_path):
    cfg = _run(tmp_path, [A], [B, OTHER])
    result = ingest(cfg)
    assert sorted(result.services["service_id"]) == ["a-1", "b-2"]
    kept = result.services.set_index("service_id").loc["a-1"]
    assert kept["source"] == "first.csv; second.csv"
    assert kept["phone"] == "(807) 555-0100"  # a blank filled from the other source
    assert "merged with b-1" in kept["notes"]
    dup = result.duplicates
    assert len(dup) == 1
    assert dup.iloc[0][["kept_id", "merged_id"]].tolist() == ["a-1", "b-1"]
    assert dup.iloc[0]["rule"] in {"same_address", "within_m"}
    stage_ingest(cfg)
    written = pd.read_csv(cfg.outputs.processed_dir / "duplicates.csv", dtype=str)
    assert written[["kept_id", "merged_id"]].values.tolist() == [["a-1", "b-1"]]


def test_further_than_the_setting_and_no_common_phone_stays_apart(tmp_path):
    far = {**B, "address": "900 Other Road", "lat": "48.40000"}
    assert len(ingest(_run(tmp_path, [A], [far])).services) == 2


def test_the_same_phone_in_the_same_town_merges():
    rows = pd.DataFrame([
        {"service_id": "x", "name": "One", "organization": "", "address": "", "city": "Kenora",
         "place_name": "Kenora", "phone_e164": "+18075550100", "lat": math.nan,
         "lon": math.nan, "confidential": False, "source": "s1", "source_row": "2",
         "need_types": "crisis_support", "notes": "", "postal_code": ""},
        {"service_id": "y", "name": "Another name", "organization": "", "address": "",
         "city": "Kenora", "place_name": "Kenora", "phone_e164": "+18075550100",
         "lat": math.nan, "lon": math.nan, "confidential": False, "source": "s2",
         "source_row": "5", "need_types": "counselling", "notes": "", "postal_code": ""}])
    merged, table = merge_duplicates(rows)
    assert merged["service_id"].tolist() == ["x"]
    assert merged.iloc[0]["need_types"] == "crisis_support;counselling"
    assert table.iloc[0]["rule"] == "same_phone"


def test_a_confidential_row_never_lends_its_point_and_makes_the_service_confidential(
        tmp_path):
    secret = {**A, "id": "conf-1", "address": "77 Hidden Lane", "postal_code": "P7B 9Z9",
              "lat": "48.38050", "lon": "-89.24010", "confidential": "true"}
    secret["phone"] = public_phone = "807-555-0100"
    public = {**B, "address": "", "lat": "", "lon": "", "postal_code": "",
              "phone": public_phone}  # the same phone in the same town
    result = ingest(_run(tmp_path, [public], [secret]))
    assert len(result.services) == 1
    row = result.services.iloc[0]
    assert bool(row["confidential"])
    assert math.isnan(row["lat"]) and math.isnan(row["lon"])
    text = result.services.astype(str).to_csv() + result.duplicates.astype(str).to_csv()
    for leak in ("Hidden Lane", "P7B 9Z9", "48.3805", "-89.2401"):
        assert leak not in text
    assert bool(result.duplicates.iloc[0]["confidential"])


def test_a_confidential_row_never_merges_into_a_public_point_it_lies_near(tmp_path):
    # no phone in common, a public point: the confidential row's withheld location cannot
    # match it, and the public row keeps its point
    secret = {**A, "id": "conf-1", "phone": "807-555-0199", "confidential": "true"}
    result = ingest(_run(tmp_path, [A], [secret]))
    public = result.services.set_index("service_id").loc["a-1"]
    assert public["lat"] == 48.38


def _listed(sid: str, **cols: object) -> dict:
    row = {"service_id": sid, "name": "Kids Help Phone", "organization": "", "address": "",
           "city": "Province-wide", "place_name": "", "phone_e164": "+18006686868",
           "lat": math.nan, "lon": math.nan, "confidential": False, "source": "dir.csv",
           "source_row": "2", "need_types": "crisis_support", "notes": "", "postal_code": "",
           "hours": "", "eligibility": "", "open_24_7": "unknown"}
    row.update(cols)
    return row


def test_one_source_listing_a_service_twice_merges_it_once():
    """A directory files Kids Help Phone under two categories: one row has its hours and
    eligibility, the other neither. One service, its hours and 24/7 kept."""
    rows = pd.DataFrame([
        _listed("crisis-khp", source_row="40"),
        _listed("khp", source_row="2", hours="Phone: 24/7", open_24_7="yes",
                eligibility="All youth (5-29)", need_types="youth_services")])
    merged, table = merge_duplicates(rows)
    assert merged["service_id"].tolist() == ["crisis-khp"]
    kept = merged.iloc[0]
    assert kept["hours"] == "Phone: 24/7" and kept["open_24_7"] == "yes"
    assert kept["need_types"] == "crisis_support;youth_services"
    assert table["rule"].tolist() == ["same_listing"]


def test_programmes_sharing_an_intake_line_stay_apart():
    """Toronto's youth file lists CAMH programmes with one intake phone: their eligibility
    differs, so they are different services."""
    camh = {"name": "Centre for Addiction and Mental Health", "city": "former Toronto",
            "place_name": "Toronto", "phone_e164": "+14165358501;ext=2"}
    rows = pd.DataFrame([
        _listed("32", eligibility="2SLGBTQ+ youth, 18+", **camh),
        _listed("35", eligibility="Women 18+", **camh),
        _listed("44", eligibility="", hours="Mon-Fri 9-5", **camh)])
    merged, table = merge_duplicates(rows)
    # 44 states no eligibility, so it matches either; it goes with the first it meets, and
    # 32 and 35 are never one service
    assert {"32", "35"} <= set(merged["service_id"])
    assert not ((table["kept_id"] == "32") & (table["merged_id"] == "35")).any()
