"""The geocode chain offline: names, host sites, order, postal table, checks, report, figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from gapmap.config import GEOCODE_PROVIDERS, load_config
from gapmap.contracts import GEOCODE_ISSUES, PRECISIONS
from gapmap.errors import ConfigError
from gapmap.geocode import (
    Gazetteer,
    GeocodeChain,
    geocode_report,
    geocode_services,
    names_a_place,
    placement_summary,
)
from gapmap.ingest import ingest
from gapmap.regions import opp_region_polygons
from gapmap.sources.geocoders import OVERRIDE_COLUMNS
from gapmap.sources.listings import classify_place

from .conftest import ROOT, write_config, write_listings

GEOD = Geod(ellps="WGS84")


def km(lat1, lon1, lat2, lon2) -> float:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2] / 1000


@pytest.fixture(scope="module")
def gaz(ontario_config) -> Gazetteer:
    return Gazetteer(ontario_config)


@pytest.fixture(scope="module")
def chain(gaz, ontario_config) -> GeocodeChain:
    return GeocodeChain(gaz, regions_m=opp_region_polygons(ontario_config).to_crs(3347))


def row(city="", postal="", lat=np.nan, lon=np.nan, region="", coordinate_source="",
        address="", sid="x-1"):
    place, area, kind = classify_place(city)
    return pd.Series({"service_id": sid, "name": "test", "city": city, "address": address,
                      "lat": lat, "lon": lon, "postal_code": postal, "place_name": place,
                      "area_name": area, "place_kind": kind, "listing_region": region,
                      "coordinate_source": coordinate_source, "confidential": False})


# -- town names --------------------------------------------------------------------------------

BIG_TROUT_LAKE = (53.819, -89.835)   # Kitchenuhmaykoosib Inninuwug (curated remote list)


@pytest.mark.parametrize(("name", "expected"), [
    ("Kitchenuhmaykoosib Inninuwug", BIG_TROUT_LAKE),      # First Nation name
    ("Big Trout Lake", BIG_TROUT_LAKE),                    # its community name
    ("Deer Lake First Nation", (52.617, -94.083)),         # not the Deer Lake in Haliburton
    ("Eabametoong First Nation", (51.568, -87.959)),       # community: Fort Hope
    ("Neskantaga First Nation", (52.219, -87.891)),        # community: Lansdowne House
    ("Wapekeka", (53.845, -89.53)),                        # "First Nation" left off
    ("Constance Lake First Nation", (49.807, -84.133)),    # reserve "Constance Lake 92"
    ("Grand Sudbury", (46.49, -80.99)),                    # French name
    ("Township of Sioux Narrows-Nestor Falls", (49.301, -94.017)),
    ("Sioux Narrows-Nestor Falls, Township of", (49.301, -94.017)),
    ("Cité de Clarence-Rockland", (45.55, -75.291)),
    ("SAULT-STE-MARIE", (46.517, -84.333)),
    ("Sault Sainte Marie", (46.517, -84.333)),
    ("Rivière des Français", (46.129, -80.46)),
    ("Riviere des Francais", (46.129, -80.46)),
])
def test_town_names_aliases_and_spellings(chain, name, expected):
    out = chain.place(row(city=name))
    assert out["geocode_precision"] == "town", out["geocode_note"]
    assert km(out["geo_lat"], out["geo_lon"], *expected) < 5
    assert out["ambiguous"] is False


@pytest.mark.parametrize(("city", "expected"), [
    ("Brockville area", (44.591, -75.687)),
    ("Peterborough area (Lakefield/Millbrook)", (44.300, -78.316)),
])
def test_a_town_named_loosely_is_read_as_the_town_and_says_so(chain, city, expected):
    out = chain.place(row(city=city))
    assert out["geocode_precision"] == "town"
    assert km(out["geo_lat"], out["geo_lon"], *expected) < 5
    assert "read " in out["geocode_note"]


def test_ambiguous_name_is_reported_with_its_candidates(chain):
    out = chain.place(row(city="Deer Lake"))
    assert out["ambiguous"] is True and out["geocode_precision"] == "none"
    cands = out["geocode_candidates"].split("; ")
    assert len(cands) == 2
    assert any("Kenora" in c for c in cands) and any("Haliburton" in c for c in cands)


# -- listing coordinates and host sites ---------------------------------------------------------

@pytest.mark.parametrize(("source", "expected"), [
    ("ODHF v1.1 row index 5515 (Sunnybrook Health Sciences Centre - Women's College Hospital)",
     "street"),                                           # a hospital: host site
    ("ODHF v1.1 row index 5660 (the Ottawa Hospital - Civic Campus); Civic Campus stated",
     "street"),
    ("ODHF v1.1 row index 3397 (Dryden Regional Health Centre); host hospital site", "street"),
    ("ODHF v1.1 row index 4054 (Kenora Sexual Assault Centre)", "exact"),  # its own site
    ("surveyed at the front door", "exact"),
])
def test_a_point_from_a_host_site_is_street_at_best(chain, source, expected):
    out = chain.place(row(city="Toronto", lat=43.66171, lon=-79.387745,
                          coordinate_source=source))
    assert out["geocode_precision"] == expected
    assert (out["geo_lat"], out["geo_lon"]) == (43.66171, -79.387745)


def test_host_site_rule_knows_odhf_hospitals_by_row(gaz):
    # row 3766 is Hamilton General Hospital in ODHF: named or not, it is a host site
    assert "3766" in gaz.odhf_hospital_rows
    assert gaz.is_host_site("ODHF v1.1 row index 3766")
    assert not gaz.is_host_site("ODHF v1.1 row index 4054")


# -- the check against the listing's own town and postal code ----------------------------------

BELLEVILLE = (44.1628, -77.3832)


def test_thunder_bay_postal_code_on_a_belleville_listing_is_flagged(chain):
    out = chain.place(row(city="Belleville", postal="P7B 5L5"))
    assert out["geocode_precision"] == "fsa"             # the chain placed it by postal code
    assert out["geocode_check"] == "disagrees"
    assert "Belleville" in out["geocode_check_note"]
    pointed = chain.place(row(city="Belleville", postal="P7B 5L5", lat=BELLEVILLE[0],
                              lon=BELLEVILLE[1]))
    assert (pointed["geo_lat"], pointed["geo_lon"]) == BELLEVILLE   # never moved
    assert pointed["geocode_check"] == "disagrees"
    assert "postal code P7B 5L5" in pointed["geocode_check_note"]
    assert "Thunder Bay" in pointed["geocode_check_note"]


def test_consistent_listing_agrees_and_bare_town_is_unchecked(chain):
    ok = chain.place(row(city="Belleville", postal="K8P 0C7", lat=BELLEVILLE[0],
                         lon=BELLEVILLE[1]))
    assert ok["geocode_check"] == "agrees"
    assert chain.place(row(city="Belleville"))["geocode_check"] == "unchecked"
    assert chain.place(row(city="Niagara Region"))["geocode_check"] == "unchecked"


def test_point_far_from_its_own_town_is_flagged(chain):
    # Mattawa listed at a point near Timmins (an ODHF defect of this kind exists)
    out = chain.place(row(city="Mattawa", lat=48.539, lon=-80.470))
    assert out["geocode_precision"] == "exact"
    assert out["geocode_check"] == "disagrees"
    assert "from its town 'Mattawa'" in out["geocode_check_note"]


def test_large_municipality_is_not_a_disagreement(chain):
    # Chatham-Kent covers 2,458 km2: a point 40 km from its census point is still inside
    out = chain.place(row(city="Chatham-Kent", lat=42.317, lon=-82.20))
    assert out["geocode_check"] == "agrees", out["geocode_check_note"]


# -- order and the postal-code table -----------------------------------------------------------

def _services(tmp_path, rows: list[dict]):
    return write_listings(tmp_path / "listings.csv", rows)


def test_order_is_configurable(tmp_path, gaz):
    listings = _services(tmp_path, [
        {"id": "t1", "name": "a", "city": "Toronto", "postal_code": "M5S 1B2"},
        {"id": "t2", "name": "b", "city": "Niagara Region"}])
    default = load_config(write_config(tmp_path, [listings]))
    g = geocode_services(ingest(default).services, default, gaz).set_index("service_id")
    assert g.loc["t1", "geocode_precision"] == "fsa"
    assert g.loc["t2", "geocode_precision"] == "area"
    cfg = load_config(write_config(tmp_path, [listings], extra="""
[geocode]
order = ["listing", "town", "postal"]
"""))
    g = geocode_services(ingest(cfg).services, cfg, gaz).set_index("service_id")
    assert g.loc["t1", "geocode_precision"] == "town"
    assert g.loc["t2", "geocode_precision"] == "none"      # "area" left out of the order


def test_full_postal_code_table_gives_postal_precision(tmp_path, gaz):
    table = tmp_path / "postal_codes.csv"
    table.write_text("postal_code,lat,lon\nm5s1b2,43.6617,-79.3877\nP0V 1N0,52.617,-94.083\n",
                     encoding="utf-8")
    listings = _services(tmp_path, [
        {"id": "p1", "name": "a", "city": "Toronto", "postal_code": "M5S 1B2"},
        {"id": "p2", "name": "b", "city": "", "postal_code": "P0V 1N0"},
        {"id": "p3", "name": "c", "city": "Toronto", "postal_code": "M5S 2E8"}])
    cfg = load_config(write_config(tmp_path, [listings], extra=f"""
[geocode]
postal_codes = "{table}"
"""))
    g = geocode_services(ingest(cfg).services, cfg, gaz).set_index("service_id")
    assert g.loc["p1", "geocode_precision"] == "postal"
    assert g.loc["p1", "geocode_source"] == "postal-code table M5S 1B2"
    assert (g.loc["p1", "lat"], g.loc["p1", "lon"]) == (43.6617, -79.3877)
    assert g.loc["p2", "geocode_precision"] == "postal"     # a full rural code is precise
    assert g.loc["p3", "geocode_precision"] == "fsa"        # not in the table: the FSA


# -- config ------------------------------------------------------------------------------------

def test_defaults_are_offline_and_in_the_documented_order(ontario_config):
    g = ontario_config.geocode
    assert g.order == GEOCODE_PROVIDERS == ("listing", "override", "nominatim", "postal",
                                            "town", "rural_fsa", "area")
    assert g.nominatim.mode == "off" and g.overrides is None and g.postal_codes is None
    assert g.nominatim.min_delay_s == 1.0


@pytest.mark.parametrize(("toml", "message"), [
    ('[geocode]\norder = ["listing", "gps"]', "geocode.order"),
    ('[geocode]\norder = ["town", "town"]', "geocode.order"),
    ('[geocode]\nnominatim_mode = "online"', "unknown key"),
    ('[geocode.nominatim]\nmode = "yes"', "mode must be one of"),
    ('[geocode.nominatim]\nmode = "online"', "user_agent"),
    ('[geocode.nominatim]\nmode = "online"\nuser_agent = "geopy/2.4"', "user_agent"),
    ('[geocode.nominatim]\nmin_delay_s = 0.5', "at most one request per second"),
    ('[geocode.nominatim]\nretries = -1', "retries"),
    ('[geocode.nominatim]\nscheme = "ftp"', "scheme"),
])
def test_bad_geocode_settings_are_refused(tmp_path, small_listings, toml, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(tmp_path, [small_listings], extra=toml))


# -- the report and the done-when figure on the shipped data ------------------------------------

@pytest.fixture(scope="module")
def shipped(ontario_config, gaz):
    g = geocode_services(ingest(ontario_config).services, ontario_config, gaz)
    return g, geocode_report(g)


def test_report_is_a_blank_overrides_file(shipped):
    _g, report = shipped
    assert tuple(report.columns) == OVERRIDE_COLUMNS
    assert (report["lat"] == "").all() and (report["lon"] == "").all()
    assert report["issue"].str.len().gt(0).all()
    assert set(report["issue"].str.split(";").explode()) <= set(GEOCODE_ISSUES)


def test_shipped_listings_geocode_offline_at_town_or_better(shipped):
    """Done-when: >= 95 % of the curated listings and ODHF hospitals that name a town,
    address, postal code or point are placed offline at town precision or better."""
    g, report = shipped
    assert set(g["source"]) == {"services_curated.csv", "services_curated_more.csv",
                                "toronto_shelter_locations_2024-03-20.csv",
                                "toronto_youth_substance_use_treatment_services.csv",
                                "services_flat.csv", "healthcare_facilities_odhf_v1.1.csv",
                                "services_curated_more.csv; services_flat.csv"}
    eligible = names_a_place(g)
    good = eligible & g["geocode_precision"].isin(PRECISIONS[:5])
    assert eligible.sum() >= 400
    assert good.sum() / eligible.sum() >= 0.95
    # every ambiguous name is reported, with its candidates
    amb = g.loc[g["ambiguous"], "service_id"]
    assert set(amb) <= set(report["service_id"])
    assert (report.loc[report["issue"].str.contains("ambiguous"), "candidates"] != "").all()
    # nothing placed the offline run needs a network for
    assert g.attrs["nominatim"] == "Nominatim off"
    text = placement_summary(g, report)
    assert "town precision or better" in text and "ambiguous names" in text


def test_shipped_disagreements_are_real_data_defects(shipped):
    g, report = shipped
    flagged = set(g.loc[g["geocode_check"] == "disagrees", "name"])
    # ODHF points far from their own town: Mattawa's hospital sits near Timmins
    assert "Mattawa General Hospital Inc." in flagged
    assert len(flagged) <= 10
    assert set(report.loc[report["issue"].str.contains("disagrees"), "name"]) == flagged


def test_shipped_config_file_still_loads():
    assert load_config(ROOT / "configs" / "ontario.toml").geocode.nominatim.mode == "off"
