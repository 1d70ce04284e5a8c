"""Maps without a browser: escaping, phone and website links, confidentiality, inlining."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import folium
import pandas as pd
import pytest

from gapmap.contracts import access_text
from gapmap.errors import MapAssetError, SchemaError
from gapmap.io import read_parquet
from gapmap.maps import basemap, map_settings
from gapmap.outputs.maps import (
    _safe_url,
    access_kinds,
    build_map,
    caveat_fr,
    check_withheld,
    fold,
    json_for_html,
    map_data,
    phone_html,
    render_deterministic,
    search_table,
    service_popup,
)
from gapmap.outputs.webassets import ASSETS, check_self_contained, inline_assets
from gapmap.pipeline import StagePaths
from gapmap.regions import census_divisions, slug

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
    assert ('Hours</span><span class="gm-fr" lang="fr">Heures</span>: &lt;i&gt;9-5&lt;/i&gt;'
            in html)
    assert "Langues</span>: English &amp; français" in html


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


def _rows(table: dict[str, list]) -> list[dict]:
    """A table of the page's data (named columns of equal length) as rows."""
    lengths = {len(v) for v in table.values()}
    assert len(lengths) == 1, "a table's columns differ in length"
    return [dict(zip(table, values, strict=True)) for values in zip(*table.values(), strict=True)]


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
        for s in _rows(_page_data(text)["services"]):
            if s["lat"] is not None:
                dy, dx = (s["lat"] - float(lat)) * 111, (s["lon"] - float(lon)) * 77
                assert dy * dy + dx * dx > 1, (name, s["name"])
    data = _page_data(_maps(small_run)["north-east.html"])
    conf = [s for s in _rows(data["services"]) if s["name"].startswith("Test Safe House")]
    assert len(conf) == 1 and conf[0]["confidential"] == 1
    assert "Location withheld" in conf[0]["popup"]
    assert "Hidden Lane" not in conf[0]["popup"] and "P3E" not in conf[0]["popup"]


def test_hide_leaves_confidential_services_off_the_map_and_out_of_the_panel(small_run):
    cfg = small_run.updated(maps={"confidential": "hide"})
    p = StagePaths.of(cfg)
    travel = read_parquet(p.travel)
    data = map_data("North East", read_parquet(p.located), read_parquet(p.demand),
                    pd.read_csv(p.gaps), census_divisions(cfg), map_settings(cfg),
                    basemap=basemap(cfg), travel=travel)
    text = json.dumps(data)
    assert "Test Safe House" not in text and "Fixture Women" not in text
    # a community whose nearest emergency shelter is the hidden one sees "confidential" (-2)
    shelter = [n["code"] for n in data["needs"]].index("emergency_shelter")
    assert data["travel"] is not None
    assert -2 in data["travel"][shelter]["service"]


def test_every_map_has_its_layers_legend_search_and_footer(small_run):
    for name, text in _maps(small_run).items():
        data = _page_data(text)
        assert len(data["needs"]) == 14 and len(data["gaps"]) == 14
        assert data["travel"]
        assert len(data["travel"][0]["minutes"]) == len(data["communities"]["name"])
        base = data["base"]
        assert base["province"] and data["divisions"]["polygons"] and base["highways"]
        assert data["towns"]["name"], name
        assert data["footer"]["vintage"] == "test fixture"
        assert data["footer"]["config"] == "test"
        assert data["footer"]["fingerprint"] == small_run.fingerprint()
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", data["footer"]["generated"])
        assert "OpenStreetMap" in data["osm"]["attribution"]


def _keys(typed_dict: type) -> set[str]:
    return set(typed_dict.__annotations__)


def test_the_page_data_has_the_declared_shape_and_every_table_is_rectangular(small_run):
    from gapmap.outputs import maps

    tables = {"services": maps.ServiceTable, "communities": maps.CommunityTable,
              "towns": maps.TownTable, "search": maps.SearchTable,
              "suggestions": maps.SuggestionTable}
    for name, text in _maps(small_run).items():
        data = _page_data(text)
        assert set(data) == _keys(maps.MapData), name
        for key, declared in tables.items():
            assert set(data[key]) == _keys(declared), (name, key)
            assert len(_rows(data[key])) == len(next(iter(data[key].values())))
        assert set(data["base"]) == _keys(maps.BaseLayers)
        assert set(data["footer"]) == _keys(maps.Footer)
        assert set(data["access"]) == _keys(maps.AccessWords)
        # the maps word each access as the gap table does
        assert data["access"]["text"] == [maps._e(access_text(c))
                                          for c in data["access"]["codes"]]
        assert all(set(n) == _keys(maps.Need) for n in data["needs"])
        assert all(set(c) == _keys(maps.GapColour) for c in data["gapColours"])
        assert all(set(r) == _keys(maps.RegionOutline) for r in data["base"]["regions"])
        n_comm = len(data["communities"]["name"])
        for travel in data["travel"]:
            assert set(travel) == _keys(maps.TravelColumns)
            assert {len(v) for v in travel.values()} == {n_comm}
        for gaps in data["gaps"]:
            assert set(gaps) == _keys(maps.GapTable)
            assert all(0 <= g["community"] < n_comm for g in _rows(gaps))


def test_the_script_reads_the_data_by_the_declared_names_and_documents_them():
    from gapmap.outputs import maps

    script = (Path(maps.__file__).parent / "static" / "map.js").read_text(encoding="utf-8")
    header = script[:script.index("*/")]
    assert "gapmap/outputs/maps.py" in header and "MapData" in header
    read = set(re.findall(r"\bD\.(\w+)", script))
    assert read <= _keys(maps.MapData), read - _keys(maps.MapData)
    declared = set().union(*(_keys(t) for t in (
        maps.MapData, maps.Need, maps.ServiceTable, maps.CommunityTable, maps.TravelColumns,
        maps.GapTable, maps.AccessWords, maps.TownTable, maps.BaseLayers, maps.RegionOutline,
        maps.GapColour, maps.OsmLayer, maps.Footer, maps.SearchTable, maps.WrapTable,
        maps.SuggestionTable)))
    missing = {k for k in declared if not re.search(rf"\b{k}\b", header)}
    assert not missing, f"map.js's header does not mention {sorted(missing)}"


def test_map_without_travel_table_still_renders(small_run):
    p = StagePaths.of(small_run)
    m = build_map("North West", read_parquet(p.located), read_parquet(p.demand),
                  pd.read_csv(p.gaps), census_divisions(small_run), map_settings(small_run),
                  basemap=basemap(small_run))
    text = render_deterministic(m)
    assert _page_data(text)["travel"] is None
    check_self_contained(text)


# -- search, access kinds, wraparound and suggested sites -----------------------------------

@pytest.mark.parametrize(("a", "b"), [
    ("Sault Ste. Marie", "Sault-Sainte-Marie"), ("Sault Ste Marie", "SAULT ST. MARIE"),
    ("Grand-Sudbury", "Grand Sudbury"), ("Rivière-des-Français", "riviere des francais"),
    ("Saint-Charles", "St. Charles")])
def test_fold_ignores_punctuation_accents_and_the_saint_spellings(a, b):
    assert fold(a) == fold(b)


def test_fold_keeps_saint_inside_a_word():
    assert fold("Stella Street") == "stella street"
    assert fold("Kirkland Lake") != fold("Kirkland Lakes")


def _towns(names, alt):
    n = len(names)
    return ({"name": names, "population": [1] * n, "lat": [46.0] * n, "lon": [-81.0] * n,
             "community": [0] * n}, alt)


def _communities(names, remote=None, subdivision=None):
    n = len(names)
    return {"name": names, "cdName": ["X"] * n, "population": [1] * n, "enumerated": [1] * n,
            "lat": [46.0] * n, "lon": [-81.0] * n, "remoteName": remote or [""] * n,
            "airHub": [""] * n, "subdivision": subdivision or [1] * n, "division": [0] * n}


def test_search_table_gives_one_entry_per_place_with_its_other_names():
    towns, town_alt = _towns(["Sault Ste. Marie", "Sault Ste Marie", "Greater Sudbury"],
                             ["", "", "Grand Sudbury|Grand-Sudbury"])
    communities = _communities(
        ["Sault Ste. Marie", "Kitchenuhmaykoosib Inninuwug", "Sudbury, Unorganized"],
        remote=["", "Kitchenuhmaykoosib Inninuwug First Nation", ""])
    fsas = {"code": ["P6A"], "lat": [46.5], "lon": [-84.3], "community": [0]}
    detachments = {"name": ["Sault Ste. Marie"], "region": ["North East"], "town": [0]}
    services = {"name": ["A &amp; B"], "organization": ["Org"], "city": ["Sudbury"],
                "lat": [46.0], "listedWithoutPoint": [0]}
    t = search_table(towns, town_alt, communities, ["", "Big Trout Lake", ""], fsas,
                     detachments, services)  # type: ignore[arg-type]
    entries = list(zip(t["kind"], t["row"], t["keys"], strict=True))
    # the town stands for the community of its name; two spellings of one town: one entry
    assert [e for e in entries if e[0] == "town"] == [
        ("town", 0, "sault st marie"), ("town", 2, "greater sudbury|grand sudbury")]
    community = [e for e in entries if e[0] == "community"]
    assert ("community", 1, "kitchenuhmaykoosib inninuwug first nation|"
            "kitchenuhmaykoosib inninuwug|big trout lake") in community
    assert all(e[1] != 0 for e in community)
    assert ("fsa", 0, "p6a") in entries
    assert ("service", 0, "a b|org sudbury") in entries
    detachment = next(e for e in entries if e[0] == "detachment")
    assert "opp sault st marie detachment" in detachment[2].split("|")


@pytest.mark.parametrize(("delivery", "en", "fr"), [
    ("in_person;outreach;virtual", "in person / outreach / by phone or online",
     "en personne / services itinérants / par téléphone ou en ligne"),
    ("outreach", "outreach", "services itinérants"),
    ("in person, phone", "in person / by phone", "en personne / par téléphone"),
    ("mobile van", "mobile van", "mobile van")])
def test_the_popup_says_how_a_service_is_reached(delivery, en, fr):
    lines = access_kinds(pd.Series({"delivery": delivery, "open_24_7": ""}))
    assert lines == [f'<span class="gm-en">Access</span><span class="gm-fr" lang="fr">Accès'
                     f'</span>: <span class="gm-en">{en}</span><span class="gm-fr" lang="fr">'
                     f'{fr}</span>']


def test_the_popup_marks_24_7_and_says_nothing_while_the_columns_are_blank():
    row = pd.Series({"name": "Line", "need_types": "crisis_support", "geocode_precision": "",
                     "delivery": "virtual", "open_24_7": True})
    popup = service_popup(row)
    assert "Open 24/7" in popup and "by phone or online" in popup
    blank = pd.Series({"name": "Line", "need_types": "crisis_support", "delivery": None,
                       "open_24_7": float("nan"), "geocode_precision": ""})
    assert access_kinds(blank) == []
    assert "Access" not in service_popup(blank) and "24/7" not in service_popup(blank)
    assert access_kinds(pd.Series({"name": "x"})) == []  # a services table without them


def test_every_suggestion_caveat_has_its_french():
    from gapmap.analysis.location import DataQuality, suggestion_caveat

    q = DataQuality(placed=2, not_placed=3, coarse=2, cduids=frozenset())
    caveat = suggestion_caveat(q, site_cduid="3553", site_cd_name="Greater Sudbury",
                               thin_below=5, coarse_share_above=0.5)
    assert caveat.count(";") == 3  # all four rules apply
    fr = caveat_fr(caveat)
    assert fr.count(";") == 3
    assert "peu d’inscriptions : 2 service(s)" in fr
    assert "aucun service de ce besoin inscrit dans Greater Sudbury" in fr
    assert "3 inscrit(s) pour une région" in fr and "100 % des services placés" in fr
    assert not re.search(r"\b(listed|placed|few|service of this)\b", fr)
    assert caveat_fr("a new rule") == "a new rule"


def test_the_maps_carry_the_wraparound_and_the_suggested_sites(small_run):
    p = StagePaths.of(small_run)
    wrap = pd.read_csv(p.wraparound, dtype={"demand_id": str})
    sites = pd.read_csv(p.suggestions)
    assert len(sites)
    for name, text in _maps(small_run).items():
        data = _page_data(text)
        w = data["wrap"]
        assert w["counted"] == 14
        assert len(w["reached"]) == len(w["missing"]) == len(data["communities"]["name"])
        assert all(len(m) == 14 - r for r, m in zip(w["reached"], w["missing"], strict=True)
                   if r >= 0)
        assert sum(r >= 0 for r in w["reached"]) == len(data["communities"]["name"])
        s = data["suggestions"]
        region = name.removesuffix(".html")
        here = sites if region == "ontario" else sites[sites["opp_region"].map(slug) == region]
        # one method per need and region: exact where there is one
        methods = here.groupby(["need_type", "opp_region"])["method"].agg(
            lambda m: "exact" if "exact" in set(m) else min(m))
        expected = sum(int(((here["need_type"] == n) & (here["opp_region"] == r)
                            & (here["method"] == m)).sum()) for (n, r), m in methods.items())
        assert len(s["site"]) == expected, name
        assert all(0 <= n < 14 for n in s["need"])
        assert s["caveatFr"] == [html.escape(caveat_fr(html.unescape(c)), quote=True)
                                 for c in s["caveat"]]
    # the province map's counts are the table's, community by community
    order = read_parquet(p.demand)["demand_id"].astype(str)
    expected = wrap.set_index("demand_id")["needs_reached"].reindex(order).fillna(-1)
    assert _page_data(_maps(small_run)["ontario.html"])["wrap"]["reached"] == [
        int(v) for v in expected]


def test_the_maps_carry_each_communitys_e2sfca_access_from_the_plan_stage(small_run):
    p = StagePaths.of(small_run)
    table = pd.read_csv(p.access, dtype={"demand_id": str})
    data = _page_data(_maps(small_run)["ontario.html"])
    a = data["access2sfca"]
    needs = [n["code"] for n in data["needs"]]
    order = list(read_parquet(p.demand)["demand_id"].astype(str))
    assert a["per"] == 100_000
    assert len(a["e2sfca"]) == len(a["within"]) == len(a["basis"]) == len(needs)
    assert all(len(col) == len(order) for col in a["e2sfca"] + a["within"])
    # a few communities, one need: the CSV's figures, to two significant digits
    n = needs.index("counselling")
    rows = table[table["need_type"] == "counselling"].set_index("demand_id")
    picks = [*rows["access_e2sfca"].nlargest(2).index, *rows.index[rows["access_e2sfca"] == 0][:1],
             *rows.index[(rows["access_e2sfca"] > 0) & (rows["access_e2sfca"] < 1)][:2]]
    assert len(picks) == 5
    for d in picks:
        v, i = float(rows.at[d, "access_e2sfca"]), order.index(d)
        assert a["e2sfca"][n][i] == (float(f"{v:.2g}") if v < 10 else round(v))
        assert abs(a["e2sfca"][n][i] - v) <= 0.05 * v
        assert a["within"][n][i] == int(rows.at[d, "services_within"])
        assert (a["e2sfca"][n][i] == 0) == (a["within"][n][i] == 0)
    assert a["basis"][n] == rows["supply_basis"].iloc[0] == "one unit per service"
    # the bands: 0 alone, then fixed bounds, the last open
    assert [b[0] for b in a["bands"]] == [0, 0.1, 1, 5, None]
    # a regional map carries its own communities only
    east = _page_data(_maps(small_run)["east.html"])
    assert len(east["access2sfca"]["e2sfca"][n]) == len(east["communities"]["name"])


def test_without_the_plan_stage_the_access_layer_is_not_offered(small_run):
    p = StagePaths.of(small_run)
    data = map_data("East", read_parquet(p.located), read_parquet(p.demand),
                    pd.read_csv(p.gaps), census_divisions(small_run), map_settings(small_run),
                    basemap=basemap(small_run))
    assert data["access2sfca"] is None
    broken = pd.read_csv(p.access).drop(columns="access_e2sfca")
    with pytest.raises(SchemaError, match="access_by_community.csv.*access_e2sfca"):
        map_data("East", read_parquet(p.located), read_parquet(p.demand), pd.read_csv(p.gaps),
                 census_divisions(small_run), map_settings(small_run), basemap=basemap(small_run),
                 access=broken)


# -- access (issue 16) on the maps: eligibility, outreach and lines, what reaches a gap ----------

def test_the_limit_a_service_states_is_worded_in_both_languages():
    from gapmap.outputs.maps import limit_words

    words = limit_words(_row(gender_limit="women", eligible_groups="youth", age_min=16.0,
                             age_max=24.0))
    assert '<span class="gm-en">women, youth, ages 16–24</span>' in words
    assert '<span class="gm-fr" lang="fr">femmes, jeunes, 16–24 ans</span>' in words
    assert "ages 18+" in limit_words(_row(age_min=18.0))
    assert limit_words(_row(gender_limit="any")) == ""  # "open to all" is no limit
    assert limit_words(_row()) == ""
    popup = service_popup(_row(gender_limit="men", eligibility="Men 18+ only"))
    assert "Only for" in popup and "hommes" in popup
    assert "Men 18+ only" in popup  # the listing's own words stay beside what was read


def _stated(services: pd.DataFrame, sid: str, **values) -> pd.DataFrame:
    services = services.copy()
    assert (services["service_id"] == sid).sum() == 1
    for col, value in values.items():
        services.loc[services["service_id"] == sid, col] = value
    return services


def test_each_community_gets_the_outreach_and_lines_whose_area_holds_it(small_run):
    p = StagePaths.of(small_run)
    services = _stated(read_parquet(p.located), "vcao-01", delivery="outreach",
                       service_area_codes="3557", area_cduids="")
    services = _stated(services, "line-01", delivery="virtual", service_area_codes="ON")
    services = _stated(services, "conf-test-01", delivery="outreach",
                       service_area_codes="3553")
    demand = read_parquet(p.demand)
    for hide in (False, True):
        cfg = small_run.updated(maps={"confidential": "hide"}) if hide else small_run
        data = map_data(None, services, demand, pd.read_csv(p.gaps), census_divisions(cfg),
                        map_settings(cfg), basemap=basemap(cfg), travel=read_parquet(p.travel))
        s, reach = data["services"], data["reach"]
        row = {sid: s["name"].index(html.escape(n, quote=True)) for sid, n in zip(
            services["service_id"], services["name"], strict=True)
            if html.escape(n, quote=True) in s["name"]}
        assert s["outreach"][row["vcao-01"]] == 1 and s["line"][row["line-01"]] == 1
        assert len(reach["community"]) == len(demand)
        order = data["communities"]["name"]
        assert len(order) == len(demand)
        for cduid, set_index in zip(demand["cduid"], reach["community"], strict=True):
            members = reach["sets"][set_index] if set_index >= 0 else []
            assert row["line-01"] in members  # the province-wide line reaches everyone
            assert (row["vcao-01"] in members) == (cduid == "3557")
            if hide:
                assert "conf-test-01" not in row
            else:
                assert (row["conf-test-01"] in members) == (cduid == "3553")
        # a confidential service in the lists is no more precise than its town
        if not hide:
            k = row["conf-test-01"]
            assert s["confidential"][k] == 1 and "Location withheld" in s["popup"][k]


def test_gaps_carry_what_reaches_them_and_divisions_the_share_it_reaches(small_run):
    p = StagePaths.of(small_run)
    demand = read_parquet(p.demand)
    gaps = pd.read_csv(p.gaps, dtype={"demand_id": str})
    # as the gaps stage could have written it: the first half reached by outreach
    gaps["reached_by"] = ["outreach" if i % 2 == 0 else "line" for i in range(len(gaps))]
    coverage = pd.read_csv(p.coverage)
    data = map_data(None, read_parquet(p.located), demand, gaps, census_divisions(small_run),
                    map_settings(small_run), basemap=basemap(small_run),
                    travel=read_parquet(p.travel), coverage=coverage)
    codes = data["reachedByCodes"]
    needs = [n["code"] for n in data["needs"]]
    ids = list(demand["demand_id"].astype(str))
    for n, need in enumerate(needs):
        g = gaps[(gaps["need_type"] == need) & (gaps["access"] != "no_all_season_road")]
        table = data["gaps"][n]
        assert [ids[c] for c in table["community"]] == list(g["demand_id"])
        assert [codes[b] for b in table["reachedBy"]] == list(g["reached_by"])
        # per division: the people of its gap communities reached only by outreach
        d = data["divisions"]
        enumerated = demand[demand["enumerated"].astype(bool)]
        pop = enumerated.groupby("cduid")["pop2021"].sum()
        hit = gaps[(gaps["need_type"] == need) & (gaps["reached_by"] == "outreach")]
        hit = hit[["demand_id"]].merge(enumerated, on="demand_id")
        by_cd = hit.groupby("cduid")["pop2021"].sum()
        cds = sorted(census_divisions(small_run)["CDUID"].astype(str))
        for k, cd in enumerate(cds):
            want = (round(float(by_cd.get(cd, 0)) / float(pop[cd]), 3) if pop.get(cd, 0) > 0
                    else None)
            assert d["outreachOnly"][n][k] == want, (need, cd)
        # the legend's line: coverage_by_region.csv's total row, as shares
        row = coverage[(coverage["opp_region"] == "Ontario")
                       & (coverage["need_type"] == need)].iloc[0]
        r = data["regionReach"][n]
        assert r is not None
        assert r["lineOnly"] == round(row["pop_line_only"] / row["pop2021"], 3)
        assert r["inPerson"] == round(row["pop_in_person"] / row["pop2021"], 3)
    # without the table or the column, nothing is claimed
    bare = map_data("North West", read_parquet(p.located), demand,
                    gaps.drop(columns="reached_by"), census_divisions(small_run),
                    map_settings(small_run), basemap=basemap(small_run))
    assert bare["regionReach"] == [None] * len(needs)
    assert all(b == 0 for t in bare["gaps"] for b in t["reachedBy"])
