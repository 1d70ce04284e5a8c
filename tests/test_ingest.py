"""Ingest: listings and ODHF hospitals -> services table + rejected rows."""

from __future__ import annotations

import csv

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gapmap.config import load_config
from gapmap.ingest import SERVICE_COLUMNS, ingest
from gapmap.io import read_geo
from gapmap.sources.listings import classify_place
from gapmap.sources.odhf import read_odhf_hospitals

from .conftest import DATA, RAW, write_config

ODHF = RAW / "ontario" / "healthcare_facilities_odhf_v1.1.csv"


def _fixture_row(path, row_id):
    with open(path, encoding="utf-8") as f:
        return next(r for r in csv.DictReader(f) if r["id"] == row_id)


def _text_of(df: pd.DataFrame) -> str:
    return "\n".join(df.astype(str).to_csv(index=False).splitlines())


# -- listings_bad.csv -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    return ingest(load_config(write_config(tmp, [DATA / "listings_bad.csv"])))


# (line in listings_bad.csv, field, a word the reason must contain)
BAD_ROWS = [
    (3, "id", "blank"),
    (4, "need_types", "teleportation"),
    (5, "lat", "forty-nine"),
    (6, "lon", "together"),
    (7, "postal_code", "12345"),
    (8, "confidential", "maybe"),
    (9, "id", "duplicate"),
    (10, "need_types", "nonsense"),
]


def test_every_bad_row_is_rejected_with_its_line_field_and_reason(bad):
    rej = bad.rejected
    got = sorted((int(r.source_row), r.field) for r in rej.itertuples())
    assert got == [(line, field) for line, field, _ in BAD_ROWS]
    for line, field, word in BAD_ROWS:
        row = rej[rej["source_row"] == str(line)].iloc[0]
        assert row["field"] == field
        assert word in row["reason"], (line, row["reason"])
        assert row["source"] == "listings_bad.csv"


def test_source_row_is_the_physical_csv_line(bad):
    lines = (DATA / "listings_bad.csv").read_text(encoding="utf-8").splitlines()
    rej = bad.rejected
    for r in rej.itertuples():
        name = r.name
        assert f",{name}," in lines[int(r.source_row) - 1], (r.source_row, name)


def test_good_rows_are_accepted_and_counts_add_up(bad):
    assert sorted(bad.services["service_id"]) == ["ok-01", "outside"]
    assert bad.rows_read == 10
    assert bad.rows_read == len(bad.services) + len(bad.rejected)
    assert list(bad.services.columns) == SERVICE_COLUMNS
    ok = bad.services.set_index("service_id").loc["ok-01"]
    assert ok["name"] == "Good row"  # the first ok-01 wins, not the duplicate
    assert ok["source_row"] == "2"
    assert ok["place_name"] == "Kenora" and ok["place_kind"] == "town"


def test_duplicate_id_is_rejected_on_its_second_appearance(bad):
    dup = bad.rejected[bad.rejected["reason"].str.contains("duplicate")].iloc[0]
    assert dup["source_row"] == "9"
    assert dup["name"] == "Duplicate id"
    assert "ok-01" in dup["reason"] and "line 2" in dup["reason"]


def test_duplicate_rejected_row_keeps_its_original_id(bad):
    dup = bad.rejected[bad.rejected["source_row"] == "9"].iloc[0]
    assert dup["id"] == "ok-01"


def test_point_outside_ontario_is_accepted_as_listed(bad):
    # accepted here; the geocoder decides not to use the point (see test_geocode.py)
    out = bad.services.set_index("service_id").loc["outside"]
    assert (out["lat"], out["lon"]) == (49.9, -97.1)


def test_confidential_rejected_row_shows_no_location(bad):
    row = _fixture_row(DATA / "listings_bad.csv", "conf-bad")
    rej = bad.rejected[bad.rejected["source_row"] == "10"]
    assert len(rej) == 1 and rej.iloc[0]["field"] == "need_types"
    text = _text_of(rej)
    for secret in (row["address"], row["lat"], row["lon"], row["postal_code"]):
        assert secret and secret not in text
    assert "Hidden" not in text
    assert "withheld" in rej.iloc[0]["address"]


def test_confidential_row_with_swapped_coordinates_does_not_leak_them(tmp_path):
    path = tmp_path / "conf.csv"
    path.write_text("id,name,need_types,city,lat,lon,confidential,address\n"
                    "c1,Safe house,emergency_shelter,Sudbury,-81.02917,46.46502,true,"
                    "9 Quiet Road\n", encoding="utf-8")
    result = ingest(load_config(write_config(tmp_path, [path])))
    assert len(result.rejected) == 1
    text = _text_of(result.rejected)
    assert "9 Quiet Road" not in text
    assert "46.46502" not in text and "81.02917" not in text


# -- classify_place ---------------------------------------------------------------------------

@pytest.mark.parametrize(("city", "expected"), [
    ("Toronto (Scarborough)", ("Toronto", "", "town")),
    ("Simcoe County (Barrie)", ("Barrie", "Simcoe County", "town")),
    ("Mississauga / Brampton", ("", "Mississauga / Brampton", "several")),
    ("Niagara Region", ("", "Niagara Region", "area")),
    ("Province-wide", ("", "Province-wide", "area")),
    ("Leeds and Grenville (Brockville)", ("Brockville", "Leeds and Grenville", "town")),
    ("Algoma District", ("", "Algoma District", "area")),
    ("  Sault   Ste. Marie ", ("Sault Ste. Marie", "", "town")),
    ("", ("", "", "blank")),
])
def test_classify_place(city, expected):
    assert classify_place(city) == expected


# -- the small listings -----------------------------------------------------------------------

def test_confidential_listing_leaves_ingest_without_address_postal_code_or_point(small_config):
    result = ingest(small_config)
    conf = result.services.set_index("service_id").loc["conf-test-01"]
    original = _fixture_row(DATA / "listings_small.csv", "conf-test-01")
    assert original["address"] and original["lat"]  # the fixture does carry them
    assert bool(conf["confidential"]) is True
    assert original["address"] not in conf["address"]
    assert conf["postal_code"] == ""
    assert np.isnan(conf["lat"]) and np.isnan(conf["lon"])
    assert conf["place_name"] == "Sudbury"  # the town is kept so it can still be placed
    text = _text_of(result.services[result.services["service_id"] == "conf-test-01"])
    for secret in (original["address"], original["postal_code"], original["lat"],
                   original["lon"]):
        assert secret not in text


def test_small_listings_all_accepted_with_their_needs(small_config):
    result = ingest(small_config)
    assert len(result.rejected) == 0
    assert result.rows_read == len(result.services) == 16
    assert result.services["service_id"].is_unique
    s = result.services.set_index("service_id")
    assert s.loc["sadvtc-01", "need_types"] == (
        "sexual_assault_care;medical_care;crisis_support;counselling")
    assert s.loc["sadvtc-01", "postal_code"] == "M5S 1B2"
    assert s.loc["sadvtc-01", "lat"] == pytest.approx(43.66171)
    assert s.loc["line-01", "place_kind"] == "area"
    # text is kept verbatim; escaping is the map writer's job
    assert s.loc["xss-01", "name"] == "<img src=x onerror=alert(1)>"


# -- ODHF hospitals ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def with_hospitals(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hosp")
    cfg = load_config(write_config(tmp, [DATA / "listings_small.csv"], hospitals=True))
    return cfg, ingest(cfg)


def test_odhf_hospitals_read_and_counted(with_hospitals):
    _, result = with_hospitals
    hosp = result.services[result.services["source"] == ODHF.name]
    assert result.rows_read == 16 + 239
    assert result.rows_read == len(result.services) + result.rows_merged + len(result.rejected)
    assert len(hosp) == 239 - result.rows_merged
    assert (hosp["need_types"] == "medical_care").all()
    assert hosp["service_id"].str.startswith("odhf-").all()
    assert result.services["service_id"].is_unique


def test_no_accepted_hospital_lies_outside_ontario(with_hospitals):
    cfg, result = with_hospitals
    hosp = result.services[result.services["source"] == ODHF.name]
    # the New Brunswick row of the file is a care home, not a hospital
    assert not hosp["name"].str.contains("Residence Lefebvre").any()
    placed = hosp[hosp["lat"].notna()]
    assert len(placed) > 200
    outline = read_geo(cfg.inputs.province).to_crs(3347).buffer(5_000).union_all()
    pts = gpd.GeoSeries(gpd.points_from_xy(placed["lon"], placed["lat"]), crs=4326).to_crs(3347)
    outside = placed[~pts.within(outline).to_numpy()]
    assert outside.empty, outside[["name", "lat", "lon"]]


def test_hospital_outside_ontario_is_rejected(tmp_path, with_hospitals):
    cfg, _ = with_hospitals
    with open(ODHF, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    nb = next(r for r in rows if r["facility_name"] == "Residence Lefebvre")
    nb["odhf_facility_type"] = "Hospitals"  # pretend it were a hospital
    kenora = next(r for r in rows if r["odhf_facility_type"] == "Hospitals"
                  and r["city"] == "kenora")
    path = tmp_path / "odhf.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows([kenora, nb])
    province = read_geo(cfg.inputs.province)
    acc, rej, n, merged = read_odhf_hospitals(path, province, 5.0)
    assert n == 2 and merged == 0
    assert [a["name"] for a in acc] == [kenora["facility_name"]]
    assert len(rej) == 1
    assert rej[0]["source_row"] == "3" and rej[0]["field"] == "latitude"
    assert "outside Ontario" in rej[0]["reason"]


def test_one_site_listed_by_three_hospital_corporations_is_one_service(with_hospitals):
    _, result = with_hospitals
    s = result.services
    finch = s[s["name"].str.contains("Reactivation Care Centre Finch")]
    assert len(finch) == 1
    lines = [int(x) for x in finch.iloc[0]["source_row"].split(";")]
    assert len(lines) == 3
    # each listed line of the ODHF file is indeed a Finch row
    text = ODHF.read_text(encoding="utf-8").splitlines()
    for line in lines:
        assert "Reactivation Care Centre Finch" in text[line - 1], line
    org = finch.iloc[0]["organization"]
    for corp in ("Markham Stouffville Hospital", "North York General Hospital"):
        assert corp in org


def test_hospital_service_carries_address_and_town(with_hospitals):
    _, result = with_hospitals
    s = result.services
    hosp = s[(s["source"] == ODHF.name) & s["name"].str.contains("Thunder Bay Regional")]
    assert len(hosp) == 1
    h = hosp.iloc[0]
    assert h["place_name"] == "Thunder Bay" and h["place_kind"] == "town"
    assert shapely.Point(h["lon"], h["lat"]).distance(shapely.Point(-89.27, 48.42)) < 0.05


def test_hours_languages_and_eligibility_reach_the_shared_services_and_the_popup(tmp_path):
    from gapmap.outputs.maps import service_popup
    from gapmap.outputs.tables import shared_services

    path = tmp_path / "mine.csv"
    path.write_text("ID,Name,Need_Types,City,Hours,Languages,Eligibility\n"
                    "m1,Drop-in,counselling,Kenora,Mon-Fri 9-5,English; Ojibwe,women 16+\n"
                    "m2,Line,crisis_support,Kenora,,,\n", encoding="utf-8")
    table = ingest(load_config(write_config(tmp_path, [path]))).services.set_index("service_id")
    assert table.loc["m1", ["hours", "languages", "eligibility"]].tolist() == [
        "Mon-Fri 9-5", "English; Ojibwe", "women 16+"]
    assert table.loc["m2", ["hours", "languages", "eligibility"]].tolist() == ["", "", ""]
    # ... and are read into the access columns (issue 16); "Line" names no mode it offers
    assert table.loc["m1", ["delivery", "open_24_7", "language_codes", "gender_limit",
                            "age_min"]].tolist() == ["in_person", "no", "en;oj", "women", 16]
    assert table.loc["m2", ["delivery", "open_24_7"]].tolist() == ["", "unknown"]
    placed = gpd.GeoDataFrame(table.reset_index().assign(
        geocode_precision="town", geocode_source="", geocode_note="", cduid="", cd_name="",
        service_area_codes="",
        opp_region="North West", region_confidence="high", region_method="within"),
        geometry=gpd.points_from_xy([-94.49, -94.49], [49.77, 49.77]), crs=4326)
    shared = shared_services(placed)
    assert shared.loc[0, "languages"] == "English; Ojibwe"
    html = service_popup(shared.iloc[0])
    assert "Heures</span>: Mon-Fri 9-5" in html and "Admissibilité</span>: women 16+" in html
    assert "Hours" not in service_popup(shared.iloc[1])


def test_an_address_outside_ontario_is_refused_unless_the_listing_is_a_line(tmp_path):
    """A walk-in service in Gatineau is not an Ontario service; a helpline whose office is in
    Montréal serves Ontario by phone, and is kept as a province-wide line."""
    from gapmap.sources.listings import validate_listing_row

    base = {"need_types": "crisis_support", "city": "", "confidential": "false"}
    office = {**base, "id": "gat", "name": "Centre d'aide Gatineau",
              "address": "10 rue Laval, Gatineau, QC J8X 3G6"}
    line = {**base, "id": "khp", "name": "Kids Help Phone", "phone": "1-800-668-6868",
            "address": "1200 Ave McGill College, Montréal, QC H3B 4G7 (Head Office)"}
    out, field, reason = validate_listing_row(office)
    assert out is None and field == "address" and reason.startswith("outside Ontario (QC)")
    out, field, reason = validate_listing_row(line)
    assert out is not None and field == ""
    assert out["address"] == "" and out["area_name"] and out["delivery"] == "virtual"
    assert "Montréal" in out["notes"]
