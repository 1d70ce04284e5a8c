"""Geocode: offline placement of services, with a stated precision."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from gapmap.contracts import PRECISIONS
from gapmap.geocode import Gazetteer, fold, geocode_row, geocode_services
from gapmap.ingest import ingest
from gapmap.regions import opp_region_polygons
from gapmap.sources.listings import classify_place

from .conftest import DATA, RAW

GEOD = Geod(ellps="WGS84")


def km(lat1, lon1, lat2, lon2) -> float:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2] / 1000


def _geonames(name: str) -> tuple[float, float]:
    """The most populous GeoNames point of that exact name."""
    with open(RAW / "ontario" / "places_geonames_cities500.csv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["name"] == name]
    best = max(rows, key=lambda r: int(r["population"] or 0))
    return float(best["lat"]), float(best["lon"])


@pytest.fixture(scope="module")
def gaz(ontario_config) -> Gazetteer:
    return Gazetteer(ontario_config)


@pytest.fixture(scope="module")
def regions_m(ontario_config):
    return opp_region_polygons(ontario_config).to_crs(3347)


def row(city="", postal="", lat=np.nan, lon=np.nan, region="", coordinate_source=""):
    place, area, kind = classify_place(city)
    return pd.Series({"city": city, "lat": lat, "lon": lon, "postal_code": postal,
                      "place_name": place, "area_name": area, "place_kind": kind,
                      "listing_region": region, "coordinate_source": coordinate_source})


@pytest.fixture
def geo(gaz, regions_m):
    def run(**kw):
        return geocode_row(row(**kw), gaz, regions_m)
    return run


def test_fold_handles_saints_accents_and_prefixes():
    assert fold("Sault Ste. Marie") == fold("sault sainte marie")
    assert fold("St. Catharines") == "saint catharines"
    assert fold("Township of Sioux Narrows-Nestor Falls") == "sioux narrows nestor falls"
    assert fold("Hearst ") == fold("HEARST")
    assert fold("Val-Thérèse") == "val therese"


@pytest.mark.parametrize("town", ["Kenora", "Sioux Lookout", "Timmins", "Thunder Bay",
                                  "Sault Ste. Marie", "Barrie"])
def test_known_town_is_placed_at_its_geonames_point(geo, town):
    out = geo(city=town)
    assert out["geocode_precision"] == "town"
    lat, lon = _geonames(town)
    assert km(out["geo_lat"], out["geo_lon"], lat, lon) < 5
    assert out["ambiguous"] is False


def test_town_named_as_county_with_town_in_brackets_is_the_town(geo):
    out = geo(city="Simcoe County (Barrie)")
    assert out["geocode_precision"] == "town"
    assert out["matched_place"] == "Barrie"
    assert km(out["geo_lat"], out["geo_lon"], *_geonames("Barrie")) < 5


def test_area_gets_no_point_but_its_census_division(geo):
    out = geo(city="Niagara Region")
    assert out["geocode_precision"] == "area"
    assert np.isnan(out["geo_lat"]) and np.isnan(out["geo_lon"])
    assert out["area_cduids"] == "3526"
    assert "area" in out["geocode_note"]


def test_listed_point_in_ontario_is_exact(geo):
    out = geo(city="Kenora", lat=49.76636, lon=-94.487913)
    assert out["geocode_precision"] == "exact"
    assert (out["geo_lat"], out["geo_lon"]) == (49.76636, -94.487913)


def test_listed_host_site_point_is_street_precision(geo):
    out = geo(city="Dryden", lat=49.76956, lon=-92.838641,
              coordinate_source="host hospital site")
    assert out["geocode_precision"] == "street"
    assert (out["geo_lat"], out["geo_lon"]) == (49.76956, -92.838641)


def test_point_in_manitoba_is_ignored_and_the_town_is_used(geo):
    out = geo(city="Kenora", lat=49.9, lon=-97.1)
    assert out["geocode_precision"] == "town"
    assert "outside Ontario" in out["geocode_note"]
    assert km(out["geo_lat"], out["geo_lon"], *_geonames("Kenora")) < 5
    assert km(out["geo_lat"], out["geo_lon"], 49.9, -97.1) > 100


def test_urban_postal_code_gives_fsa(geo):
    out = geo(city="Toronto", postal="M5S 1B2")
    assert out["geocode_precision"] == "fsa"
    assert "M5S" in out["geocode_source"]
    assert km(out["geo_lat"], out["geo_lon"], 43.662, -79.396) < 3  # U of T / Harbord


def test_rural_fsa_only_when_no_town_is_found(geo):
    alone = geo(postal="P0V 1N0")
    assert alone["geocode_precision"] == "rural_fsa"
    assert not np.isnan(alone["geo_lat"])
    with_town = geo(city="Sioux Lookout", postal="P0V 1N0")
    assert with_town["geocode_precision"] == "town"
    assert with_town["matched_place"] == "Sioux Lookout"
    unknown_town = geo(city="Nowhereville", postal="P0V 1N0")
    assert unknown_town["geocode_precision"] == "rural_fsa"
    assert "Nowhereville" in unknown_town["geocode_note"]


def test_nothing_to_go_on_is_none(geo):
    assert geo(city="Nowhereville")["geocode_precision"] == "none"
    blank = geo()
    assert blank["geocode_precision"] == "none"
    assert blank["geocode_note"]


# Deer Lake and Poplar Hill: two places each in places_fpa, far apart, none in GeoNames.
DEER_LAKE_NW = (52.617, -94.083)       # Deer Lake First Nation (Kenora District)
DEER_LAKE_HALIBURTON = (45.056, -78.078)
POPLAR_HILL_NW = (52.083, -94.3)       # Poplar Hill First Nation
POPLAR_HILL_MIDDLESEX = (43.006, -81.514)


def test_ambiguity_premise_holds_in_the_shipped_gazetteers():
    with open(RAW / "gpl-3.0" / "places_fpa.csv", encoding="utf-8") as f:
        fpa = [r for r in csv.DictReader(f) if r["name"] in ("Deer Lake", "Poplar Hill")]
    assert len(fpa) == 4
    with open(RAW / "ontario" / "places_geonames_cities500.csv", encoding="utf-8") as f:
        geonames = [r for r in csv.DictReader(f)
                    if r["name"] in ("Deer Lake", "Poplar Hill")
                    or "Deer Lake" in r["alternatenames"].split("|")
                    or "Poplar Hill" in r["alternatenames"].split("|")]
    assert geonames == []
    assert km(*DEER_LAKE_NW, *DEER_LAKE_HALIBURTON) > 500
    assert km(*POPLAR_HILL_NW, *POPLAR_HILL_MIDDLESEX) > 500


@pytest.mark.parametrize("town", ["Deer Lake", "Poplar Hill"])
def test_ambiguous_name_without_hint_is_reported_not_guessed(geo, town):
    out = geo(city=town)
    assert out["ambiguous"] is True
    assert out["geocode_precision"] == "none"
    assert np.isnan(out["geo_lat"])
    assert "ambiguous" in out["geocode_note"]


@pytest.mark.parametrize(("town", "hint", "expected"), [
    ("Deer Lake", {"region": "North West"}, DEER_LAKE_NW),
    ("Deer Lake", {"region": "Central"}, DEER_LAKE_HALIBURTON),
    ("Deer Lake", {"postal": "K0M 1A0"}, DEER_LAKE_HALIBURTON),
    ("Poplar Hill", {"region": "North West"}, POPLAR_HILL_NW),
    ("Poplar Hill", {"postal": "N0M 1A0"}, POPLAR_HILL_MIDDLESEX),
    ("Poplar Hill", {"region": "West"}, POPLAR_HILL_MIDDLESEX),
])
def test_ambiguous_name_resolved_by_postal_code_or_region(geo, town, hint, expected):
    out = geo(city=town, **hint)
    assert out["ambiguous"] is False
    assert out["geocode_precision"] == "town"
    assert km(out["geo_lat"], out["geo_lon"], *expected) < 5
    assert "chosen by" in out["geocode_note"]


def test_remote_first_nation_resolved_by_its_own_rural_postal_code(geo):
    out = geo(city="Deer Lake", postal="P0V 1N0")  # Deer Lake First Nation's postal code
    assert out["ambiguous"] is False
    assert out["geocode_precision"] == "town"
    assert km(out["geo_lat"], out["geo_lon"], *DEER_LAKE_NW) < 5


# -- geocode_services on the fixture listings ------------------------------------------------

@pytest.fixture
def small_geocoded(small_config, gaz):
    return geocode_services(ingest(small_config).services, small_config, gaz)


def test_geocode_services_contract(small_geocoded):
    g = small_geocoded
    assert g.crs.to_epsg() == 4326
    for col in ("geometry", "geocode_precision", "geocode_source", "geocode_note",
                "matched_place", "area_cduids", "ambiguous", "lat", "lon"):
        assert col in g.columns
    assert g["geocode_precision"].isin(PRECISIONS).all()
    assert len(g) == 16  # no row is dropped
    placed = g["geometry"].notna()
    assert (placed == g["geocode_precision"].isin(PRECISIONS[:6])).all()
    assert np.allclose(g.loc[placed, "geometry"].y, g.loc[placed, "lat"])
    p = g.set_index("service_id")["geocode_precision"]
    assert p["sac-05"] == "exact"
    assert p["sadvtc-02"] == "street"           # host hospital site
    assert p["vwap-60"] == "fsa"
    assert p["vcao3-04"] == "town"
    assert p["line-01"] == "area" and p["vcao-01"] == "area"


def test_confidential_listing_is_placed_at_its_town_not_its_point(small_geocoded):
    with open(DATA / "listings_small.csv", encoding="utf-8") as f:
        fx = next(r for r in csv.DictReader(f) if r["id"] == "conf-test-01")
    secret = (float(fx["lat"]), float(fx["lon"]))
    conf = small_geocoded.set_index("service_id").loc["conf-test-01"]
    assert conf["geocode_precision"] == "town"
    assert "Sudbury" in conf["matched_place"]
    assert km(conf["lat"], conf["lon"], *_geonames("Greater Sudbury")) < 1
    assert km(conf["lat"], conf["lon"], *secret) >= 1
    assert km(conf["geometry"].y, conf["geometry"].x, *secret) >= 1


def test_manitoba_point_in_a_listing_file_is_placed_at_the_town(tmp_path, gaz):
    from gapmap.config import load_config

    from .conftest import write_config

    cfg = load_config(write_config(tmp_path, [DATA / "listings_bad.csv"]))
    g = geocode_services(ingest(cfg).services, cfg, gaz).set_index("service_id")
    out = g.loc["outside"]
    assert out["geocode_precision"] == "town"
    assert "outside Ontario" in out["geocode_note"]
    assert km(out["lat"], out["lon"], *_geonames("Kenora")) < 5
