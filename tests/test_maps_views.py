"""The maps as a working-group member meets them, on a 1366 x 768 screen and a 390 x 844 phone,
in English and French: the first view shows the gaps of one need, the legend says ranges, a
phone keeps the map free, print has a title and a second page, axe-core finds no serious or
critical problem, search finds places by other names, postal code and OPP detachment, and the
panel names the community and flags answers that are too far.

Screenshots of each state are kept in a pytest temporary folder (``map-views``), named
``<map>-<width>-<language>-<state>.png``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gapmap.regions import OPP_REGIONS, slug

from .conftest import allow_only
from .test_maps_browser import browser  # noqa: F401  (the fixture: Debian's chromium)

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1366, 768), "phone": (390, 844)}
MAPS = ["ontario", *(slug(r) for r in OPP_REGIONS)]


def _axe_js() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text("utf-8")


@pytest.fixture(scope="module")
def views(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("map-views")


class View:
    """One map open at one size; ``shot`` keeps a screenshot of the current state."""

    def __init__(self, page: Any, name: str, size: str, folder: Path) -> None:
        self.page, self.name, self.size, self.folder = page, name, size, folder
        self.errors: list[str] = []
        self.blocked: list[str] = []

    def shot(self, state: str) -> Path:
        lang = self.page.evaluate("document.documentElement.lang")
        path = self.folder / f"{self.name}-{SIZES[self.size][0]}-{lang}-{state}.png"
        self.page.wait_for_timeout(250)
        self.page.screenshot(path=str(path))
        return path


def _open(chromium: Any, file: Path, name: str, size: str, folder: Path) -> tuple[Any, View]:
    w, h = SIZES[size]
    phone = size == "phone"
    context = chromium.new_context(viewport={"width": w, "height": h}, is_mobile=phone,
                                  has_touch=phone, service_workers="block")
    page = context.new_page()
    view = View(page, name, size, folder)
    url = file.as_uri()
    allow_only(context, url, view.blocked)
    page.on("console", lambda m: view.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: view.errors.append(str(exc)))
    page.goto(url, wait_until="load")
    page.wait_for_function("window.gapmap && window.gapmap.ready === true", timeout=15000)
    return context, view


@pytest.fixture(scope="module", params=list(SIZES))
def view(request: pytest.FixtureRequest, browser: Any, small_run: Any,  # noqa: F811
         views: Path) -> Iterator[View]:
    file = small_run.outputs.maps_dir / "ontario.html"
    context, v = _open(browser, file, "ontario", request.param, views)
    yield v
    assert v.errors == [] and v.blocked == []
    context.close()


def _fresh(v: View) -> None:
    v.page.evaluate("""() => { gapmap.map.closePopup(); gapmap.setLanguage('en');
        gapmap.setNeed(0); gapmap.resetView(); }""")
    close = v.page.locator(".gm-panel .gm-close")
    if close.count() and close.is_visible():
        close.click()


def test_the_first_view_shows_one_need_its_gaps_and_the_regional_summary(view: View):
    _fresh(view)
    page = view.page
    assert page.locator("#gm-need").input_value() == "0"
    need = page.evaluate("gapmap.data.needs[0]")
    assert page.evaluate("gapmap.map.hasLayer(gapmap.gapLayers[0])")
    assert page.evaluate("gapmap.map.hasLayer(gapmap.summary)")
    n_gaps = page.evaluate("gapmap.data.gaps[0].community.length")
    assert n_gaps > 0
    assert page.locator(".gm-gap-pane path.leaflet-interactive").count() == n_gaps
    # divisions shaded by the share within reach
    assert page.evaluate("gapmap.data.divisions.covered[0].some(v => v !== null && v < 1)")
    # the legend says ranges from the threshold, not "≤ 90"
    key = page.locator(".gm-gapkey").text_content()
    th = int(need["thresholdMin"])
    assert f"{th}–90 min" in key and "90–180 min" in key and "> 180 min" in key
    assert "≤" not in key
    assert need["label"] in page.locator(".gm-legend-title").text_content()
    view.shot("first-view")


def test_choosing_a_need_moves_the_gaps_summary_and_title_with_it(view: View):
    _fresh(view)
    page = view.page
    n = page.evaluate("gapmap.data.needs.findIndex(n => n.code === 'emergency_shelter')")
    page.select_option("#gm-need", str(n))
    assert page.evaluate("gapmap.need()") == n
    assert page.evaluate(f"gapmap.map.hasLayer(gapmap.gapLayers[{n}])")
    assert not page.evaluate("gapmap.map.hasLayer(gapmap.gapLayers[0])")
    assert "Emergency shelter" in page.locator(".gm-legend-title").text_content()
    assert "Emergency shelter" in page.locator(".gm-print-head").text_content()
    view.shot("emergency-shelter")


def test_services_and_gaps_use_distinct_colours(small_run: Any):
    from gapmap.outputs.maps import NEED_COLOURS

    def rgb(c: str) -> tuple[int, ...]:
        return tuple(int(c[i:i + 2], 16) for i in (1, 3, 5))

    colours = [rgb(c) for c in NEED_COLOURS.values()]
    closest = min(sum((a - b) ** 2 for a, b in zip(x, y, strict=True)) ** 0.5
                  for i, x in enumerate(colours) for y in colours[i + 1:])
    assert closest > 40  # housing and youth services were 13 apart


def test_a_phone_keeps_the_map_free_and_allows_pinch_zoom(view: View):
    _fresh(view)
    page = view.page
    meta = page.locator("meta[name=viewport]").get_attribute("content")
    assert "user-scalable=no" not in meta and "maximum-scale" not in meta
    legend_open = page.evaluate("document.querySelector('.gm-legend details').open")
    control = page.locator(".leaflet-control-layers")
    if view.size == "desktop":
        assert legend_open
        return
    assert not legend_open
    assert "leaflet-control-layers-expanded" not in (control.get_attribute("class") or "")
    page.locator(".leaflet-control-layers-toggle").tap()
    assert "leaflet-control-layers-expanded" in control.get_attribute("class")
    page.locator(".gm-lc-head .gm-fold", has_text="Gap communities").tap()
    assert "leaflet-control-layers-expanded" in control.get_attribute("class")  # still open
    assert page.locator("label[data-group=gaps]").first.is_visible()
    view.shot("layers-open")
    page.locator(".gm-lc-head .gm-fold", has_text="Gap communities").tap()
    page.mouse.click(200, 500)  # a tap on the map folds it
    # the panel is a sheet at the bottom; a popup closes it and is not under the search box
    page.fill(".gm-search input", "Sudbury")
    page.press(".gm-search input", "Enter")
    panel = page.locator(".gm-panel")
    panel.wait_for(state="visible", timeout=5000)
    box = panel.bounding_box()
    assert box["y"] + box["height"] == pytest.approx(844, abs=2) and box["width"] >= 380
    view.shot("panel")
    i = page.evaluate("gapmap.markers.findIndex(m => m)")
    page.evaluate("""i => new Promise(done =>
        gapmap.cluster.zoomToShowLayer(gapmap.markers[i], () => {
            gapmap.markers[i].openPopup(); done(); }))""", i)
    popup = page.locator(".leaflet-popup-content-wrapper")
    popup.wait_for(state="visible", timeout=5000)
    assert not panel.is_visible()
    p, s = popup.bounding_box(), page.locator(".gm-picker").bounding_box()
    assert p["y"] >= s["y"] + s["height"] - 1 or p["x"] >= s["x"] + s["width"]
    assert p["x"] >= 0 and p["x"] + p["width"] <= 390
    view.shot("popup")


def test_print_has_a_title_a_compact_legend_the_scale_and_a_second_page(view: View):
    _fresh(view)
    page = view.page
    page.emulate_media(media="print")
    try:
        head = page.locator(".gm-print-head")
        assert head.is_visible()
        need = page.evaluate("gapmap.data.needs[0]")
        text = head.text_content()
        assert need["label"] in text and f"{int(need['thresholdMin'])} min" in text
        assert "Ontario" in text and re.search(r"\d{4}-\d\d-\d\d", text)
        assert page.locator(".leaflet-control-scale").is_visible()
        assert page.locator(".leaflet-control-attribution").is_visible()
        assert not page.locator(".gm-picker").is_visible()
        assert page.locator(".gm-legend").bounding_box()["width"] <= 250
        listed = page.locator(".gm-print-list")
        assert listed.is_visible()
        phones = page.evaluate("""() => gapmap.data.services.phone.filter(
            (p, i) => p && gapmap.data.services.listedWithoutPoint[i])""")
        for phone in phones:
            assert phone.replace("&amp;", "&") in listed.text_content()
        view.shot("print")
        if view.size == "desktop":  # the PDF: the map on page 1, the list from page 2
            pdf = page.pdf(landscape=True, format="Letter", print_background=True)
            (view.folder / "ontario-print.pdf").write_bytes(pdf)
            pages = max(int(n) for n in re.findall(rb"/Count\s+(\d+)", pdf))
            assert pages >= 2
    finally:
        page.emulate_media(media="screen")


def test_search_is_first_in_the_tab_order(view: View):
    _fresh(view)
    page = view.page
    page.reload()  # as the page opens, with no focus yet
    page.wait_for_function("window.gapmap && window.gapmap.ready === true", timeout=15000)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement === gapmap.searchInput")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "gm-need"
    # the need picker works from the keyboard
    page.keyboard.press("ArrowDown")
    assert page.evaluate("gapmap.need()") == 1


@pytest.mark.parametrize(("query", "expected"), [
    ("Sault Ste Marie", "town:Sault Ste. Marie"), ("Sault-Sainte-Marie", "town:Sault Ste. Marie"),
    ("Grand Sudbury", "town:Greater Sudbury"), ("big trout lake", "community:Kitchenuhmaykoosib"),
    ("P3A 1A1", "fsa:P3A"), ("p3a", "fsa:P3A"), ("OPP Sudbury", "detachment:"),
    ("Thunder Bey", "town:Thunder Bay"), ("thunderbay", "town:Thunder Bay"),
    ("Sault Ste Marei", "town:Sault Ste. Marie"), ("Timmns", "town:Timmins"),
    ("Kitchenuhmaykosib", "community:Kitchenuhmaykoosib"), ("Québec", None)])
def test_search_finds_places_by_other_names_postal_code_and_detachment(
        view: View, query: str, expected: str | None):
    hits = view.page.evaluate("q => gapmap.search(q)", query)
    if expected is None:
        return
    assert hits and hits[0].startswith(expected), hits[:3]


@pytest.mark.parametrize(("query", "place"), [
    ("Sioux Lookout", "Sioux Lookout"), ("Thunder Bey", "Thunder Bay"),
    ("Sault-Sainte-Marie", "Sault Ste. Marie")])
def test_search_gives_one_entry_per_place(view: View, query: str, place: str):
    hits = view.page.evaluate("q => gapmap.search(q)", query)
    names = [h.split(":", 1)[1].split(" <small>")[0] for h in hits
             if h.split(":")[0] in ("town", "community", "fsa")]
    assert names[0] == place and len(set(names)) == len(names), names


def test_typos_are_forgiven_only_in_words_long_enough(view: View):
    page = view.page
    assert page.evaluate("gapmap.search('xqzzyv')") == []
    # three letters: as typed, no typo ("bay" is not "day" or "ray")
    hits = page.evaluate("gapmap.search('bay')")
    assert hits and all("bay" in h.lower() for h in hits)


def test_the_page_folds_a_query_as_gapmap_folds_the_names(view: View):
    from gapmap.outputs.maps import fold

    names = ["Sault Ste. Marie", "Sault-Sainte-Marie", "Rivière-des-Français", "L'Orignal",
             "Saint-Isidore", "Kitchenuhmaykoosib Inninuwug", "Grand-Sudbury", "Île Walpole",
             "Stella & St. Joseph", "Moose Cree (Moose Factory)"]
    assert view.page.evaluate("ns => ns.map(gapmap.fold)", names) == [fold(n) for n in names]


def test_the_panel_names_the_community_and_flags_far_answers(view: View):
    _fresh(view)
    page = view.page
    page.fill(".gm-search input", "Sioux Lookout")
    page.press(".gm-search input", "Enter")
    panel = page.locator(".gm-panel")
    panel.wait_for(state="visible", timeout=5000)
    assert panel.locator("h3").inner_text() == "Sioux Lookout"
    sub = panel.locator(".gm-sub").inner_text()
    assert "census division: Kenora" in sub
    far = page.evaluate("""() => { const d = gapmap.data, i = d.communities.name.indexOf(
            'Sioux Lookout'); return d.travel.filter(t => t.minutes[i] > d.farMin).length; }""")
    assert panel.locator(".gm-flag", has_text="None within").count() == far
    if far:
        assert "too far to be an answer" in panel.inner_text()
    # the need shown's services without a point that do not say how they reach people
    # (area-wide), with numbers; its outreach services and lines are in its row
    also = page.evaluate("""() => { const s = gapmap.data.services; return s.name.filter(
        (n, i) => s.listedWithoutPoint[i] && s.phone[i] && s.needs[i].includes(0) &&
                  !s.outreach[i] && !s.line[i]).length; }""")
    assert panel.locator(".gm-also li").count() == also
    reaching = page.evaluate("""() => { const d = gapmap.data, s = d.services;
        const i = d.communities.name.indexOf('Sioux Lookout'), set = d.reach.community[i];
        return set < 0 ? [] : d.reach.sets[set].filter(k => s.needs[k].includes(0))
            .map(k => s.name[k]); }""")
    focus = panel.locator("tbody tr").first.locator(".gm-alt")  # the need shown first
    assert focus.locator("li").count() == len(reaching)
    for name in reaching:
        assert html.unescape(name) in focus.inner_text()
    view.shot("panel-sioux-lookout")
    if view.size == "desktop":  # a popup opened beside the panel is not under it
        i = page.evaluate("gapmap.markers.findIndex(m => m)")
        page.evaluate("""i => new Promise(done => gapmap.cluster.zoomToShowLayer(
            gapmap.markers[i], () => { gapmap.markers[i].openPopup(); done(); }))""", i)
        popup = page.locator(".leaflet-popup-content-wrapper")
        popup.wait_for(state="visible", timeout=5000)
        if panel.is_visible():
            assert popup.bounding_box()["x"] >= panel.bounding_box()["x"] + panel.bounding_box()[
                "width"]
        view.shot("popup-beside-panel")


def test_french_switches_every_label(view: View):
    _fresh(view)
    page = view.page
    page.locator(".gm-lang").click()
    try:
        assert page.evaluate("document.documentElement.lang") == "fr"
        assert page.locator(".gm-search input").get_attribute("placeholder").startswith("Chercher")
        assert "Soutien en situation de crise" in page.locator("#gm-need").inner_text()
        page.evaluate("document.querySelector('.gm-legend details').open = true")
        legend = page.locator(".gm-legend").inner_text()
        assert "Collectivités au-delà du seuil" in legend and "Communities beyond" not in legend
        view.shot("first-view")
        if view.size == "phone":
            page.evaluate("document.querySelector('.gm-legend details').open = false")
        page.fill(".gm-search input", "Sioux Lookout")
        page.press(".gm-search input", "Enter")
        panel = page.locator(".gm-panel")
        panel.wait_for(state="visible", timeout=5000)
        text = panel.inner_text()
        assert "division de recensement" in text and "Besoin" in text
        view.shot("panel")
        page.locator(".gm-panel .gm-close").click()
    finally:
        page.locator(".gm-lang").click()
    assert page.evaluate("document.documentElement.lang") == "en"


def _axe(page: Any, axe_js: str) -> list[str]:
    page.evaluate(axe_js)
    result = page.evaluate("""() => axe.run(document, {resultTypes: ['violations']})
        .then(r => r.violations.map(v => ({id: v.id, impact: v.impact,
              nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))""")
    return [f"{v['id']} ({v['impact']}): {v['nodes']}" for v in result
            if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("name", MAPS)
def test_axe_core_finds_no_serious_or_critical_problem(browser: Any,  # noqa: F811
                                                       small_run: Any, views: Path, name: str):
    axe_js = _axe_js()
    file = small_run.outputs.maps_dir / f"{name}.html"
    sizes = list(SIZES) if name == "ontario" else ["desktop"]
    for size in sizes:
        context, v = _open(browser, file, name, size, views)
        try:
            assert _axe(v.page, axe_js) == []
            v.page.evaluate("gapmap.setLanguage('fr')")
            assert _axe(v.page, axe_js) == []
            v.page.evaluate("gapmap.setLanguage('en')")
            v.page.fill(".gm-search input", "Sudbury")  # a panel and a result list open
            v.page.press(".gm-search input", "Enter")
            assert _axe(v.page, axe_js) == []
            # the optional layers on, a suggested site's popup open, in French
            v.page.evaluate("""() => { gapmap.map.addLayer(gapmap.wrap);
                gapmap.map.addLayer(gapmap.access);
                gapmap.map.addLayer(gapmap.sites); gapmap.setLanguage('fr');
                const s = gapmap.sites.getLayers(); if (s.length) s[0].openPopup(); }""")
            assert _axe(v.page, axe_js) == []
            assert v.errors == []
        finally:
            context.close()


def _french_labels() -> dict[str, str]:
    """The French labels of the shipped vocabulary, read from the CSV itself."""
    import csv
    import io
    from importlib import resources

    from gapmap.taxonomy import SHIPPED_VOCABULARY

    text = resources.files("gapmap").joinpath(SHIPPED_VOCABULARY).read_text("utf-8")
    return {r["need_type"]: r["term"] for r in csv.DictReader(io.StringIO(text))
            if r["kind"] == "label" and r["language"] == "fr"}


def test_french_names_the_markers_buttons_and_the_credit_line(view: View):
    _fresh(view)
    page = view.page
    credit = page.locator(".leaflet-control-attribution")
    assert "Statistics Canada" in credit.inner_text()
    page.evaluate("gapmap.setLanguage('fr')")
    try:
        assert "Statistique Canada" in credit.inner_text()
        assert "Statistics Canada" not in credit.inner_text()
        assert page.locator(".leaflet-control-zoom-in").get_attribute("aria-label") == "Zoom avant"
        # need names: the vocabulary's French labels
        labels = _french_labels()
        codes = page.evaluate("gapmap.data.needs.map(n => n.code)")
        options = page.locator("#gm-need option").all_inner_texts()
        assert options == [labels[c] for c in codes]
        # markers: their accessible names in French
        conf = page.locator(".leaflet-marker-icon.gm-conf")
        if conf.count():
            assert conf.first.get_attribute("title").endswith("(adresse confidentielle)")
        keys = page.locator(".gm-key-dot")
        assert keys.count() > 0
        title = keys.first.get_attribute("title")
        assert labels[codes[0]] in title and "au-delà du seuil" in title
        assert keys.first.get_attribute("aria-label") == title
        view.shot("french-names")
    finally:
        page.evaluate("gapmap.setLanguage('en')")
    assert re.search(r"\(beyond the threshold(; reached by [^)]+\)?)?\)$",
                     page.locator(".gm-key-dot").first.get_attribute("title"))


def test_the_keyboard_reaches_the_community_dots_and_enter_opens_the_panel(view: View):
    _fresh(view)
    page = view.page
    page.reload()
    page.wait_for_function("window.gapmap && window.gapmap.ready === true", timeout=15000)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement === gapmap.searchInput")  # still first
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('gm-key-dot')"):
            break
    else:
        pytest.fail("40 Tabs did not reach a community dot")
    label = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert page.evaluate("document.activeElement.getAttribute('role')") == "button"
    # the gap communities of the need shown come first, most people first
    name = page.evaluate("""() => { const d = gapmap.data, g = d.gaps[0].community.slice()
        .filter(i => gapmap.map.getBounds().contains([d.communities.lat[i], d.communities.lon[i]]))
        .sort((a, b) => d.communities.population[b] - d.communities.population[a]);
        return d.communities.name[g[0]]; }""")
    assert label.startswith(name + ",")
    page.keyboard.press("Enter")
    panel = page.locator(".gm-panel")
    panel.wait_for(state="visible", timeout=5000)
    assert panel.locator("h3").inner_text() == name
    assert page.evaluate("document.activeElement.className") == "gm-close"
    view.shot("keyboard-panel")
    page.keyboard.press("Escape")
    assert not panel.is_visible()
    assert page.evaluate("document.activeElement.classList.contains('gm-key-dot')")
    # zoomed in with the gaps hidden, the communities in view take their place
    page.evaluate("""() => { gapmap.map.removeLayer(gapmap.gapLayers[0]);
        gapmap.map.setView([46.49, -80.99], 11, {animate: false}); }""")
    keys = page.evaluate("gapmap.keys.getLayers().map(k => k.options.title)")
    assert 0 < len(keys) <= 60 and all("nearest service of each need" in k for k in keys)
    page.evaluate("() => { gapmap.map.addLayer(gapmap.gapLayers[0]); }")


def _tick(view: View, text: str) -> None:
    """Tick a layer's box in the layer control as a user would (a tap on a phone)."""
    page = view.page
    toggle = page.locator(".leaflet-control-layers-toggle")
    if toggle.is_visible():
        toggle.tap()
    box = page.locator(".leaflet-control-layers label", has_text=text).locator("input")
    if view.size == "phone":
        box.tap()
    else:
        box.check()
    assert box.is_checked()


def test_wraparound_and_suggested_sites_are_optional_layers_with_legends(view: View):
    _fresh(view)
    page = view.page
    assert not page.evaluate("gapmap.map.hasLayer(gapmap.wrap)")  # off in the first view
    assert not page.evaluate("gapmap.map.hasLayer(gapmap.sites)")
    assert page.locator(".gm-wrapkey").is_hidden() and page.locator(".gm-sitekey").is_hidden()
    n_sites = page.evaluate("gapmap.data.suggestions.need.filter(n => n === 0).length")
    assert n_sites > 0
    try:
        _tick(view, "Needs within reach")
        _tick(view, "Suggested sites")
        page.evaluate("() => { gapmap.control.collapse(); }")
        page.evaluate("document.querySelector('.gm-legend details').open = true")
        assert "Needs a community reaches within their thresholds (of 14)" in page.locator(
            ".gm-wrapkey").inner_text()
        assert page.locator(".gm-sitekey").is_visible()
        if view.size == "phone":  # folded again, as it opens on a phone
            page.evaluate("document.querySelector('.gm-legend details').open = false")
        sites = page.locator(".leaflet-marker-icon.gm-site")
        assert sites.count() == n_sites
        first = page.evaluate("""() => { const s = gapmap.data.suggestions, k = s.need.indexOf(0);
            return {site: s.site[k], caveat: s.caveat[k]}; }""")
        assert sites.first.get_attribute("title").startswith(
            "Suggested site 1: " + first["site"])
        view.shot("analysis-layers")
        # from the keyboard: focus a site, Enter opens its popup with its caveat
        sites.first.focus()
        page.keyboard.press("Enter")
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible", timeout=5000)
        assert "Suggested site 1" in popup.inner_text()
        if first["caveat"]:
            assert "Caveat" in popup.inner_text()
        view.shot("site-popup")
        page.evaluate("gapmap.setLanguage('fr')")
        assert "Site suggéré 1" in popup.inner_text()
        assert sites.first.get_attribute("title").startswith("Site suggéré 1 : ")
        assert "(sur 14)" in page.locator(".gm-wrapkey").text_content()
        view.shot("site-popup")
        page.evaluate("gapmap.map.closePopup()")
        # a community's tooltip and panel say how many needs it reaches
        page.fill(".gm-search input", "Sudbury")
        page.press(".gm-search input", "Enter")
        panel = page.locator(".gm-panel")
        panel.wait_for(state="visible", timeout=5000)
        assert "besoins sur 14" in panel.locator(".gm-wrapline").inner_text()
        view.shot("panel-wraparound")
    finally:
        page.evaluate("""() => { gapmap.setLanguage('en'); gapmap.map.removeLayer(gapmap.wrap);
            gapmap.map.removeLayer(gapmap.sites); }""")


def _legend_text(page: Any, selector: str) -> str:
    """The text a reader sees in a part of the legend, the legend opened for the reading (a
    phone's is folded)."""
    return str(page.evaluate("""(sel) => { const d = document.querySelector('.gm-legend details');
        const was = d.open; d.open = true; const t = document.querySelector(sel).innerText;
        d.open = was; return t; }""", selector))


def test_the_access_layer_colours_communities_by_services_per_100000_people(view: View):
    _fresh(view)
    page = view.page
    assert page.evaluate("gapmap.data.access2sfca !== null")
    assert not page.evaluate("gapmap.map.hasLayer(gapmap.access)")  # off in the first view
    assert page.locator(".gm-accesskey").is_hidden()
    # the layer control open (the wraparound test opens it with a tap, then folds it)
    page.evaluate("() => { gapmap.control.expand(); }")
    # the most populous community on a road with some access to a need, and its figures
    top = page.evaluate("""() => { const d = gapmap.data, c = d.communities, a = d.access2sfca;
        let best = -1, need = -1;
        a.e2sfca.forEach((col, n) => c.name.forEach((x, i) => {
            if (!c.remoteName[i] && col[i] > 0 &&
                (best < 0 || c.population[i] > c.population[best])) { best = i; need = n; } }));
        return {i: best, need: need, name: c.name[best], v: a.e2sfca[need][best],
                n: a.within[need][best], drawn: a.e2sfca[need].filter(
                    (v, i) => v !== null && !c.remoteName[i]).length}; }""")
    assert top["v"] > 0 and top["n"] > 0
    need = top["need"]
    page.select_option("#gm-need", str(need))
    tooltip_js = """(i) => { const d = gapmap.data.communities;
        const m = gapmap.access.getLayers().find(l =>
            l.getLatLng().lat === d.lat[i] && l.getLatLng().lng === d.lon[i]);
        m.openTooltip(); const t = m.getTooltip().getElement().innerText; m.closeTooltip();
        return t; }"""
    try:
        # from the keyboard: its box reached by Tab, Space ticks it
        box = page.locator(".leaflet-control-layers label",
                           has_text="Services per 100,000 people").locator("input")
        page.locator(".leaflet-control-layers label",
                     has_text="Needs within reach").locator("input").focus()
        page.keyboard.press("Tab")
        assert page.evaluate("""() => document.activeElement.parentNode.textContent
            .includes('Services per 100,000 people')""")
        page.keyboard.press("Space")
        assert box.is_checked() and page.evaluate("gapmap.map.hasLayer(gapmap.access)")
        page.evaluate("() => { gapmap.control.collapse(); }")
        assert page.evaluate("gapmap.access.getLayers().length") == top["drawn"]
        page.evaluate("document.querySelector('.gm-legend details').open = true")
        key = page.locator(".gm-accesskey")
        assert key.is_visible()
        text = key.inner_text()
        th = int(page.evaluate("n => gapmap.data.needs[n].thresholdMin", need))
        for band in (f"0 (none within {th} min)", "under 0.1", "0.1–1", "1–5", "5 or more"):
            assert band in text
        assert "per 100,000 people" in text and "one unit" in text
        assert key.locator(".gm-sw").count() == 5
        if view.size == "phone":  # folded again, as it opens on a phone
            page.evaluate("document.querySelector('.gm-legend details').open = false")
        # the community's tooltip and its panel row give its figure and services within reach
        tip = page.evaluate(tooltip_js, top["i"])
        figure = page.evaluate("v => v.toLocaleString('en-CA')", top["v"])
        assert html.unescape(top["name"]) in tip
        assert f"{figure} per 100,000 people (E2SFCA)" in tip
        assert f"{top['n']} service{'s' if top['n'] > 1 else ''} within {th} min" in tip
        page.evaluate("i => gapmap.showCommunity(i, -1)", top["i"])
        panel = page.locator(".gm-panel")
        panel.wait_for(state="visible", timeout=5000)
        first = panel.locator("tbody tr").first.locator(".gm-fca")
        assert f"{figure} per 100,000 people" in first.inner_text()
        # while the layer is on, every need's row has its figure
        assert panel.locator(".gm-fca").count() == page.evaluate(
            "i => gapmap.data.access2sfca.e2sfca.filter(c => c[i] !== null).length", top["i"])
        view.shot("access-panel")
        panel.locator(".gm-close").click()
        # the gaps hidden, the layer reads on its own
        page.evaluate("n => gapmap.map.removeLayer(gapmap.gapLayers[n])", need)
        view.shot("access-layer")
        # the need picker moves the layer: colours and tooltips of the other need
        other = 0 if need else 1
        page.select_option("#gm-need", str(other))
        colours = page.evaluate("""(n) => {
            const a = gapmap.data.access2sfca, d = gapmap.data.communities;
            return gapmap.access.getLayers().map(l => { const i = d.lat.findIndex((y, k) =>
                y === l.getLatLng().lat && d.lon[k] === l.getLatLng().lng);
                return [a.e2sfca[n][i], l.options.fillColor]; }); }""", other)
        bands = page.evaluate("gapmap.data.access2sfca.bands")
        for v, colour in colours:
            expected = bands[0][1] if v <= 0 else next(
                c for b, c in bands[1:] if b is None or v < b)
            assert colour == expected
        label = page.evaluate("n => gapmap.data.needs[n].label", other)
        assert html.unescape(label) in _legend_text(page, ".gm-accesskey")
        page.select_option("#gm-need", str(need))
        # in French: the legend, the bands' numbers and the tooltip
        page.evaluate("gapmap.setLanguage('fr')")
        text = _legend_text(page, ".gm-accesskey")
        assert "pour 100 000 personnes" in text and "moins de 0,1" in text
        assert "5 ou plus" in text and "une unité" in text
        tip = page.evaluate(tooltip_js, top["i"])
        figure_fr = page.evaluate("v => v.toLocaleString('fr-CA')", top["v"])
        assert f"{figure_fr} pour 100 000 personnes (E2SFCA)" in tip
        page.evaluate("i => gapmap.showCommunity(i, -1)", top["i"])
        assert "pour 100 000 personnes" in panel.locator(".gm-fca").first.inner_text()
        view.shot("access-panel")
        panel.locator(".gm-close").click()
        page.evaluate("n => gapmap.map.removeLayer(gapmap.gapLayers[n])", need)
        view.shot("access-layer")
        # the keyboard: zoomed in, the community buttons say their figure
        page.evaluate("""() => {
            gapmap.map.setView([46.49, -80.99], 10, {animate: false}); }""")
        keys = page.evaluate("gapmap.keys.getLayers().map(k => k.options.title)")
        assert keys and all("pour 100 000 personnes" in k for k in keys)
    finally:
        page.evaluate("""() => { gapmap.setLanguage('en'); gapmap.map.removeLayer(gapmap.access);
            gapmap.setNeed(0); gapmap.map.addLayer(gapmap.gapLayers[0]);
            gapmap.resetView(); }""")
    assert page.locator(".gm-accesskey").is_hidden()


# -- access (issues 16 and 20): what reaches a gap instead, 24/7, eligibility, outreach and lines
#
# The small run's listings say nothing of delivery, hours or eligibility; this map is drawn
# from the same run with a few of its services stating them (as a listing would, with the
# columns ingest parses them into), the gaps stage's tables recomputed from them, and one
# fly-in community given an in-person service inside it (the travel stage's in_community).

ACCESS_STATED = {
    "vcao-01": {"delivery": "outreach", "service_area_codes": "3557", "hours": "Mon-Fri 9-5"},
    "line-01": {"delivery": "virtual", "open_24_7": "yes", "hours": "24/7"},
    "sadvtc-01": {"open_24_7": "yes", "hours": "24/7"},
    "sac-05": {"gender_limit": "women"},
    "aht-08": {"eligible_groups": "youth", "age_min": 16.0, "age_max": 24.0},
}
"""What five of the small run's services state (not the real listings': a fixture)."""


@pytest.fixture(scope="module")
def access_run(small_run: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from gapmap.contracts import DEMAND, REACH, SERVICES_LOCATED, TRAVEL, read_stage
    from gapmap.gaps import gap_tables
    from gapmap.maps import basemap, map_settings
    from gapmap.outputs.maps import write_maps
    from gapmap.pipeline import StagePaths, _census_divisions_in_scope

    p = StagePaths.of(small_run)
    services = read_stage(p.located, SERVICES_LOCATED)
    for sid, values in ACCESS_STATED.items():
        assert (services["service_id"] == sid).sum() == 1, sid
        for col, value in values.items():
            services.loc[services["service_id"] == sid, col] = value
    demand = read_stage(p.demand, DEMAND)
    travel = read_stage(p.travel, TRAVEL)
    need0 = small_run.need_types[0]
    fly_in = demand.loc[demand["access"] == "no_all_season_road"].sort_values(
        "pop2021", ascending=False).iloc[0]
    row = (travel["demand_id"] == fly_in["demand_id"]) & (travel["need_type"] == need0)
    travel.loc[row, ["travel_min", "service_id", "access"]] = [0.0, "sac-05", "in_community"]
    tables = gap_tables(travel, demand, services, small_run, pairs=read_stage(p.reach, REACH))
    file = tmp_path_factory.mktemp("access-map") / "access.html"
    write_maps([(None, file)], services, demand, tables.gaps,
               _census_divisions_in_scope(small_run), map_settings(small_run),
               basemap=basemap(small_run), travel=travel, coverage=tables.coverage)
    return {"file": file, "gaps": tables.gaps, "coverage": tables.coverage, "demand": demand,
            "services": services, "fly_in": str(fly_in["remote_community"])}


@pytest.fixture(scope="module", params=list(SIZES))
def access_view(request: pytest.FixtureRequest, browser: Any, access_run: dict[str, Any],  # noqa: F811
                views: Path) -> Iterator[View]:
    context, v = _open(browser, access_run["file"], "access", request.param, views)
    yield v
    assert v.errors == [] and v.blocked == []
    context.close()


def _need_with(gaps: Any, kind: str) -> str:
    counts = gaps[gaps["reached_by"] == kind]["need_type"].value_counts()
    assert len(counts), f"no gap community reached by {kind} in the fixture"
    return str(counts.index[0])


def test_gap_communities_are_ringed_by_what_reaches_them_instead(access_view: View,
                                                                access_run: dict[str, Any]):
    page, gaps = access_view.page, access_run["gaps"]
    _fresh(access_view)
    page.evaluate("document.querySelector('.gm-legend details').open = true")  # a phone folds it
    for kind, colour, en, fr in (("outreach", "#1b7837", "outreach only",
                                  "des services itinérants seulement"),
                                 ("line", "#000", "a line only", "une ligne seulement")):
        need = _need_with(gaps, kind)
        n = page.evaluate(f"gapmap.data.needs.findIndex(x => x.code === '{need}')")
        page.evaluate(f"gapmap.setNeed({n})")
        here = gaps[(gaps["need_type"] == need) & (gaps["access"] != "no_all_season_road")]
        drawn = page.locator(f'.gm-gap-pane path[stroke="{colour}"]')
        assert drawn.count() == int((here["reached_by"] == kind).sum()) > 0
        assert en in page.locator(".gm-reachkey").inner_text()
        # the keyboard stand-in of such a community says it too
        name = here[here["reached_by"] == kind].sort_values("pop2021").iloc[-1]["name"]
        labels = page.evaluate("[...document.querySelectorAll('.gm-key-dot')]"
                               ".map(e => e.getAttribute('aria-label'))")
        assert any(lab.startswith(html.unescape(name)) and "reached by " + en in lab
                   for lab in labels), labels[:5]
        access_view.shot(f"reach-{kind}")
        page.evaluate("gapmap.setLanguage('fr')")
        assert fr in page.locator(".gm-reachkey").inner_text()
        access_view.shot(f"reach-{kind}")
        page.evaluate("gapmap.setLanguage('en')")
    _fold_legend_on_a_phone(access_view)


def _fold_legend_on_a_phone(view: View) -> None:
    if view.size == "phone":  # folded again, as it opens on a phone
        view.page.evaluate("document.querySelector('.gm-legend details').open = false")


def test_a_fly_in_community_served_inside_shows_it(access_view: View, access_run: dict[str, Any]):
    page = access_view.page
    _fresh(access_view)
    plane = page.locator(".leaflet-marker-icon.gm-plane.gm-inside")
    assert plane.count() == 1
    title = plane.get_attribute("aria-label")
    assert title.startswith(access_run["fly_in"]) and title.endswith("in the community")
    page.evaluate("document.querySelector('.gm-legend details').open = true")
    assert "Fly-in community with an in-person service" in page.locator(".gm-legend").inner_text()
    _fold_legend_on_a_phone(access_view)
    # its panel gives the need as met in the community, in green
    i = page.evaluate(f"gapmap.data.communities.remoteName.indexOf({access_run['fly_in']!r})")
    page.evaluate(f"gapmap.showCommunity({i}, 0)")
    cell = page.locator(".gm-panel tr.gm-focus td.gm-t")
    assert cell.inner_text() == "in the community" and "gm-ok" in cell.get_attribute("class")
    access_view.shot("in-community")
    page.evaluate("gapmap.setLanguage('fr')")
    assert cell.inner_text() == "dans la collectivité"
    assert plane.get_attribute("aria-label").endswith("dans la collectivité")
    access_view.shot("in-community")
    # another need: not served inside, the plain plane
    page.evaluate("gapmap.setNeed(1)")
    assert page.locator(".leaflet-marker-icon.gm-plane.gm-inside").count() == 0


def _community_in(page: Any, cduid: str, demand: Any) -> int:
    names = demand[(demand["cduid"] == cduid) & (demand["access"] != "no_all_season_road")]
    name = names.sort_values("pop2021").iloc[-1]["name"]
    escaped = html.escape(name, quote=True)
    return int(page.evaluate(f"gapmap.data.communities.name.indexOf({escaped!r})"))


def test_the_panel_lists_outreach_and_lines_that_reach_the_community(access_view: View,
                                                                    access_run: dict[str, Any]):
    page, demand = access_view.page, access_run["demand"]
    _fresh(access_view)
    need = page.evaluate("gapmap.data.needs.findIndex(x => x.code === 'crisis_support')")
    algoma = _community_in(page, "3557", demand)
    page.evaluate(f"gapmap.showCommunity({algoma}, {need})")
    focus = page.locator(".gm-panel tr.gm-focus")
    text = focus.inner_text()
    assert "Outreach that comes here" in text and "Victim Services of Algoma" in text
    assert "Lines (phone, text, online) for here" in text and "Victim Support Line" in text
    line = focus.locator(".gm-alt li", has_text="Victim Support Line")
    assert "24/7" in line.inner_text() and line.locator(".gm-phone").count() == 1
    assert "Mon-Fri 9-5" in focus.locator(".gm-alt li", has_text="Victim Services of Algoma"
                                          ).inner_text()
    access_view.shot("panel-outreach-lines")
    page.evaluate("gapmap.setLanguage('fr')")
    assert "Services itinérants qui viennent ici" in focus.inner_text()
    access_view.shot("panel-outreach-lines")
    page.evaluate("gapmap.setLanguage('en')")
    # elsewhere the Algoma outreach does not come; the province-wide line does
    other = _community_in(page, "3520", demand)  # Toronto
    page.evaluate(f"gapmap.showCommunity({other}, {need})")
    text = page.locator(".gm-panel tr.gm-focus").inner_text()
    assert "Victim Services of Algoma" not in text and "Victim Support Line" in text


def test_nearest_services_show_hours_24_7_and_eligibility(access_view: View,
                                                         access_run: dict[str, Any]):
    page, demand = access_view.page, access_run["demand"]
    _fresh(access_view)
    need = page.evaluate("gapmap.data.needs.findIndex(x => x.code === 'sexual_assault_care')")
    kenora = _community_in(page, "3560", demand)
    page.evaluate(f"gapmap.showCommunity({kenora}, {need})")
    rows = page.locator(".gm-panel tr", has_text="Kenora Sexual Assault Centre")
    assert rows.count() > 0 and "only for women" in rows.first.inner_text()
    youth = page.locator(".gm-panel tr", has_text="youth response team - Sioux Lookout")
    if youth.count():
        assert "only for youth, ages 16–24" in youth.first.inner_text()
    page.evaluate("gapmap.setLanguage('fr')")
    assert "seulement pour femmes" in rows.first.inner_text()
    access_view.shot("panel-eligibility")
    page.evaluate("gapmap.setLanguage('en')")
    # the service open 24/7 has a gold corner and says so in its name; its popup too
    i = page.evaluate("gapmap.data.services.name.findIndex("
                      "n => n.startsWith('Sexual Assault/Domestic Violence Care Centre'))")
    marker_title = page.evaluate(f"gapmap.markers[{i}].options.title")
    assert marker_title.endswith("open 24/7")
    page.evaluate(f"() => {{ gapmap.focusService({i}); }}")
    page.locator(".leaflet-popup-content").wait_for(state="visible", timeout=5000)
    assert "Open 24/7" in page.locator(".leaflet-popup-content").inner_text()
    assert page.locator(".leaflet-marker-icon.gm-allday .gm-247m").count() >= 1
    access_view.shot("popup-24-7")
    page.evaluate("() => { gapmap.map.closePopup(); }")
    k = page.evaluate("gapmap.data.services.name.indexOf('Kenora Sexual Assault Centre')")
    assert "Only for" in page.evaluate(f"gapmap.data.services.popup[{k}]")


def test_the_legend_gives_the_share_reached_only_by_outreach_or_a_line(
        access_view: View, access_run: dict[str, Any]):
    page, cov = access_view.page, access_run["coverage"]
    _fresh(access_view)
    need = _need_with(access_run["gaps"], "line")
    n = page.evaluate(f"gapmap.data.needs.findIndex(x => x.code === '{need}')")
    page.evaluate(f"gapmap.setNeed({n})")
    page.evaluate("document.querySelector('.gm-legend details').open = true")
    row = cov[(cov["opp_region"] == "Ontario") & (cov["need_type"] == need)].iloc[0]
    text = page.locator(".gm-regionreach").inner_text()
    assert text.startswith("Ontario, people reached:") and "in person" in text
    if row["pop_line_only"] > 0:
        assert "only by a line" in text
    share = page.evaluate(f"gapmap.data.regionReach[{n}]")
    assert share["lineOnly"] == round(row["pop_line_only"] / row["pop2021"], 3)
    access_view.shot("legend-region-reach")
    _fold_legend_on_a_phone(access_view)


def test_axe_core_on_the_access_map(access_view: View):
    page = access_view.page
    _fresh(access_view)
    axe_js = _axe_js()
    need = page.evaluate("gapmap.data.needs.findIndex(x => x.code === 'crisis_support')")
    page.evaluate(f"() => {{ gapmap.setNeed({need}); gapmap.showCommunity(0, {need}); }}")
    assert _axe(page, axe_js) == []
    page.evaluate("gapmap.setLanguage('fr')")
    assert _axe(page, axe_js) == []
