"""Maps without a browser: escaping, phone and website links, confidentiality, inlining."""

from __future__ import annotations

import json
import re

import folium
import pandas as pd
import pytest

from gapmap.errors import MapAssetError, SchemaError
from gapmap.io import read_parquet
from gapmap.outputs.maps import (
    _safe_url,
    build_map,
    check_withheld,
    json_for_html,
    map_data,
    phone_html,
    render_deterministic,
    service_popup,
)
from gapmap.outputs.webassets import ASSETS, check_self_contained, inline_assets
from gapmap.pipeline import StagePaths
from gapmap.regions import census_divisions

from .conftest import DATA

XSS_NAME = "<img src=x onerror=alert(1)>"


def _fixture_point(service_id: str) -> tuple[str, str]:
    rows = pd.read_csv(DATA / "listings_small.csv", dtype=str).set_index("id")
    return rows.at[service_id, "lat"], rows.at[service_id, "lon"]


@pytest.mark.parametrize(("phone", "links"), [
    ("416-323-6040", ["tel:+14163236040"]),
    ("(807) 344-2478", ["tel:+18073442478"]),
    ("705-474-8600 ext. 4500", ["tel:+17054748600;ext=4500"]),
    ("1-888-579-2888; GTA 416-314-2447", ["tel:+18885792888", "tel:+14163142447"]),
    ("1-800-668-8258 (press 0)", ["tel:+18006688258"]),
    ("211", ["tel:211"]),
    ("ask at the desk", []),
])
def test_phone_numbers_become_tel_links(phone, links):
    out = phone_html(phone)
    assert re.findall(r'href="([^"]+)"', out) == links
    # the text a reader sees is the listing's, escaped
    assert re.sub(r"<[^>]+>", "", out) == phone.replace("&", "&amp;")


def test_phone_text_around_numbers_is_escaped():
    out = phone_html("<b>705-555-0100</b>")
    assert "<b>" not in out and "&lt;b&gt;" in out
    assert 'href="tel:+17055550100"' in out


@pytest.mark.parametrize(("url", "kept"), [
    ("https://www.onwa.ca", True), ("http://lwdh.on.ca", True),
    ("javascript:alert(3)", False), ("JavaScript:alert(3)", False),
    ("data:text/html,<script>alert(1)</script>", False), ("www.example.org", False),
    ("https://", False), ("https://a.ca/x y", False), ("", False),
])
def test_only_http_and_https_websites_are_linked(url, kept):
    assert bool(_safe_url(url)) is kept


def _row(**kw) -> pd.Series:
    base = {"service_id": "s1", "name": "A", "organization": "", "need_types": "counselling",
            "address": "", "city": "North Bay", "phone": "", "website": "",
            "confidential": False, "geocode_precision": "town", "area_name": ""}
    base.update(kw)
    return pd.Series(base)


def test_popup_escapes_every_listing_value():
    html = service_popup(_row(name=XSS_NAME, organization="<script>alert(2)</script>",
                              website="javascript:alert(3)", phone="705-555-0100",
                              hours="<i>9-5</i>", languages="English & français"))
    assert XSS_NAME not in html and "<script>" not in html and "javascript:" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="tel:+17055550100"' in html
    assert "Hours: &lt;i&gt;9-5&lt;/i&gt;" in html
    assert "Languages: English &amp; français" in html


def test_popup_of_a_confidential_service_withholds_its_address():
    html = service_popup(_row(confidential=True, address="withheld (confidential)",
                              city="Sudbury"))
    assert "Location withheld" in html and "Sudbury" in html
    assert "withheld (confidential)" not in html


def test_a_confidential_service_placed_finer_than_its_town_stops_the_maps():
    services = pd.DataFrame({"service_id": ["a", "b"], "confidential": [False, True],
                             "geocode_precision": ["exact", "street"]})
    with pytest.raises(SchemaError, match="b \\(street\\)"):
        check_withheld(services)
    services.loc[1, "geocode_precision"] = "town"
    check_withheld(services)


def test_json_in_the_page_cannot_end_its_script_element():
    data = {"n": "</script><script>alert(1)</script>", "m": "<!-- x", "a": "a & b\u2028"}
    text = json_for_html(data)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == data


# -- inlining ---------------------------------------------------------------------------

def test_a_cdn_link_with_no_local_copy_is_an_error():
    page = folium.Map(tiles=None).get_root().render()  # folium's default: 13 CDN files
    with pytest.raises(MapAssetError, match="bootstrap"):
        inline_assets(page)


def test_every_known_asset_has_its_local_copy():
    for url, asset in ASSETS.items():
        assert asset.path.is_file(), url


def test_jquery_is_inlined_only_when_a_script_calls_it():
    def page(popup: bool) -> str:
        m = folium.Map(tiles=None)
        m.default_js = [("leaflet", next(u for u in ASSETS if u.endswith("leaflet.js"))),
                        ("jquery", next(u for u in ASSETS if "jquery" in u))]
        m.default_css = []
        folium.CircleMarker([45, -80], popup=folium.Popup("<b>hi</b>") if popup else None
                            ).add_to(m)
        return inline_assets(m.get_root().render())

    assert "jQuery v3.7" in page(popup=True)
    assert "jQuery v3.7" not in page(popup=False)


@pytest.mark.parametrize("bad", [
    '<img src="https://example.org/x.png">', '<link rel="icon" href="//example.org/f.ico">',
    "<style>.x{background:url(https://example.org/a.png)}</style>",
    "<style>@import 'x.css';</style>", '<div style="background:url(/a.png)"></div>',
    '<iframe src="https://example.org"></iframe>',
])
def test_anything_that_would_load_from_outside_the_file_is_caught(bad):
    with pytest.raises(MapAssetError):
        check_self_contained(f"<html><body>{bad}</body></html>")


def test_links_a_reader_may_follow_are_fine():
    check_self_contained('<a href="https://www.onwa.ca">ONWA</a>'
                         '<style>.a{background:url("data:image/png;base64,AAAA")}</style>')


# -- the maps of a small run ----------------------------------------------------------------

def _maps(cfg) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8")
            for p in sorted(cfg.outputs.maps_dir.glob("*.html"))}


def test_maps_are_self_contained_and_small(small_run):
    maps = _maps(small_run)
    assert len(maps) == 6
    for name, text in maps.items():
        check_self_contained(text)
        for host in ("cdn.jsdelivr.net", "cdnjs.cloudflare.com", "code.jquery.com",
                     "bootstrapcdn.com"):
            assert host not in text, (name, host)
        assert len(text.encode()) <= 5e6, name
    # the basemap, the communities and the travel table are the bulk: ~1.5 MB
    assert len(maps["ontario.html"].encode()) <= 3e6


def _page_data(text: str) -> dict:
    m = re.search(r'<script type="application/json" id="gapmap-data">(.*?)</script>', text,
                  re.S)
    assert m
    return json.loads(m.group(1))


def test_confidential_service_only_at_its_town_and_marked(small_run):
    lat, lon = _fixture_point("conf-test-01")
    for name, text in _maps(small_run).items():
        assert lat not in text and lon not in text, name
        # no service point lies within a kilometre of the exact one (not even rounded)
        for s in _page_data(text)["services"]:
            if "y" in s:
                dy, dx = (s["y"] - float(lat)) * 111, (s["x"] - float(lon)) * 77
                assert dy * dy + dx * dx > 1, (name, s["n"])
    data = _page_data(_maps(small_run)["north-east.html"])
    conf = [s for s in data["services"] if s["n"].startswith("Test Safe House")]
    assert len(conf) == 1 and conf[0]["f"] == 1 and "Location withheld" in conf[0]["h"]
    assert "Hidden Lane" not in conf[0]["h"] and "P3E" not in conf[0]["h"]


def test_hide_leaves_confidential_services_off_the_map_and_out_of_the_panel(small_run):
    cfg = small_run.updated(maps={"confidential": "hide"})
    p = StagePaths.of(cfg)
    travel = read_parquet(p.travel)
    data = map_data("North East", read_parquet(p.located), read_parquet(p.demand),
                    pd.read_csv(p.gaps), census_divisions(cfg), cfg, travel=travel)
    text = json.dumps(data)
    assert "Test Safe House" not in text and "Fixture Women" not in text
    # a community whose nearest emergency shelter is the hidden one sees "confidential" (-2)
    shelter = [n["c"] for n in data["needs"]].index("emergency_shelter")
    assert -2 in data["travel"][shelter]["s"]


def test_every_map_has_its_layers_legend_search_and_footer(small_run):
    for name, text in _maps(small_run).items():
        data = _page_data(text)
        assert len(data["needs"]) == 14 and len(data["gaps"]) == 14
        assert data["travel"] and len(data["travel"][0]["t"]) == len(data["comm"]["n"])
        assert data["base"]["province"] and data["base"]["cds"] and data["base"]["hwy"]
        assert data["towns"]["n"], name
        assert data["footer"]["vintage"] == "test fixture"
        assert data["footer"]["config"] == "test"
        assert data["footer"]["fingerprint"] == small_run.fingerprint()
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", data["footer"]["generated"])
        assert "OpenStreetMap" in data["osm"]["attribution"]


def test_map_without_travel_table_still_renders(small_run):
    p = StagePaths.of(small_run)
    m = build_map("North West", read_parquet(p.located), read_parquet(p.demand),
                  pd.read_csv(p.gaps), census_divisions(small_run), small_run)
    text = render_deterministic(m)
    assert _page_data(text)["travel"] is None
    check_self_contained(text)
