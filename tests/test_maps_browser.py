"""The maps in a real browser: Debian's chromium, driven by playwright, with no network.

Every request other than the map file itself is blocked and recorded, so a map that needed a
CDN, a tile server or an image from elsewhere fails here. The maps come from a small run
(``small_run`` in conftest: every stage on the small listings). A screenshot of each map is
kept in a pytest temporary folder (``map-screenshots``) as a test artifact.

``make chromium`` (run by ``make test``) installs chromium when it is missing; these tests
never run ``playwright install``.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from gapmap.contracts import is_placed
from gapmap.io import read_parquet
from gapmap.pipeline import StagePaths
from gapmap.regions import OPP_REGIONS, serves_region, slug
from gapmap.taxonomy import label

from .conftest import DATA, allow_only

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
MAPS = ["ontario", *(slug(r) for r in OPP_REGIONS)]
REGION_OF = {slug(r): r for r in OPP_REGIONS}
XSS_NAME = "<img src=x onerror=alert(1)>"

# markers the user sees: the numbers on the clusters plus the single markers
COUNT_JS = """() => {
    let n = 0;
    document.querySelectorAll('.leaflet-marker-pane .gm-cluster')
        .forEach(c => { n += parseInt(c.textContent.trim(), 10); });
    return n + document.querySelectorAll('.leaflet-marker-pane .gm-svc').length;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        message = f"{CHROMIUM} is missing: `make chromium` installs it (`make test` does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("map-screenshots")


@dataclass
class OpenMap:
    name: str
    file: Path
    page: Any
    services: pd.DataFrame
    """The services this map should show as markers, from the run's services table."""
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def count(self) -> int:
        return int(self.page.evaluate(COUNT_JS))

    def wait_count(self, expected: int) -> int:
        """The markers shown, once they settle on ``expected`` (or after 5 s)."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        with contextlib.suppress(PlaywrightTimeout):  # the caller's assertion shows the count
            self.page.wait_for_function(f"({COUNT_JS})() === {expected}", timeout=5000)
        return self.count()

    def reset(self) -> None:
        self.page.evaluate("""() => {
            gapmap.map.closePopup();
            gapmap.needLayers.forEach(l => gapmap.map.addLayer(l));
            gapmap.resetView();
        }""")

    def index_of(self, name: str) -> int:
        return int(self.page.evaluate(
            "n => gapmap.data.services.name.indexOf(n)", html.escape(name)))

    def click_marker(self, i: int) -> None:
        """Bring a service's marker out of its cluster, then click it as a user would.

        Right after :meth:`reset` jumps the view, markercluster may still be merging its
        clusters (a 200 ms animation) and replace the element about to be clicked: then the
        marker is brought out again (at most three times).
        """
        from playwright.sync_api import Error as PlaywrightError

        for attempt in range(3):
            self.page.evaluate("""i => new Promise(done =>
                gapmap.cluster.zoomToShowLayer(gapmap.markers[i], done))""", i)
            try:
                self.page.evaluate_handle("i => gapmap.markers[i].getElement()", i
                                          ).as_element().click(timeout=3000)
                break
            except PlaywrightError:
                if attempt == 2:
                    raise
                self.page.wait_for_timeout(300)
        # one popup: a closed one fades out for 200 ms before it leaves the page
        self.page.wait_for_function(
            "document.querySelectorAll('.leaflet-popup-content').length === 1", timeout=5000)


def _expected_services(cfg: Any, name: str) -> pd.DataFrame:
    s = read_parquet(StagePaths.of(cfg).located)
    if name != "ontario":
        s = s[serves_region(s["opp_region"], REGION_OF[name])]
    s = s[is_placed(s)]
    if cfg.confidential_display == "hide":
        s = s[~s["confidential"].astype(bool)]
    return s.sort_values("service_id")


@pytest.fixture(scope="module", params=MAPS)
def opened(request: pytest.FixtureRequest, browser: Any, small_run: Any) -> Iterator[OpenMap]:
    file = small_run.outputs.maps_dir / f"{request.param}.html"
    url = file.as_uri()
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  service_workers="block")
    page = context.new_page()
    m = OpenMap(request.param, file, page, _expected_services(small_run, request.param))
    allow_only(context, url, m.blocked)
    page.on("requestfailed", lambda r: m.failed.append(f"{r.url} {r.failure}"))
    page.on("console", lambda msg: m.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: m.errors.append(str(exc)))

    def dialog(d: Any) -> None:
        m.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    page.goto(url, wait_until="load")
    page.wait_for_function("window.gapmap && window.gapmap.ready === true", timeout=15000)
    yield m
    context.close()


def test_map_opens_from_file_with_no_network(opened: OpenMap):
    assert opened.blocked == [], "the map asked for something outside the file"
    assert opened.failed == []
    assert opened.errors == []
    assert opened.page.evaluate("typeof window.L") == "object"
    assert opened.page.evaluate("typeof L.markerClusterGroup") == "function"
    assert opened.page.evaluate("typeof window.jQuery") == "undefined"  # not needed
    # the OpenStreetMap layer is offered, not shown
    assert opened.page.evaluate("gapmap.map.hasLayer(gapmap.osm)") is False
    assert opened.page.locator(".leaflet-control-layers label",
                               has_text="OpenStreetMap").count() == 1


def test_one_marker_per_service_on_the_map(opened: OpenMap):
    expected = len(opened.services)
    assert expected > 0
    opened.reset()
    assert opened.wait_count(expected) == expected
    assert opened.page.evaluate("gapmap.cluster.getLayers().length") == expected


def test_unticking_a_need_hides_its_markers(opened: OpenMap):
    opened.reset()
    page = opened.page
    overlays = page.locator(".leaflet-control-layers-overlays")
    services = overlays.locator(".gm-lc-head", has_text="Services by need")
    if overlays.locator("label[data-group=services]").first.is_hidden():
        services.locator(".gm-fold").click()  # unfold the group
    services.locator("a[data-all='0']").click()  # untick every need
    assert opened.wait_count(0) == 0
    need = "crisis_support"
    with_need = opened.services["need_types"].str.split(";").map(lambda n: need in n)
    box = overlays.locator("label[data-group=services]", has_text=label(need)).locator("input")
    box.check()
    assert opened.wait_count(int(with_need.sum())) == int(with_need.sum())
    box.uncheck()
    assert opened.wait_count(0) == 0
    services.locator("a[data-all='1']").click()
    assert opened.wait_count(len(opened.services)) == len(opened.services)


def test_every_service_marker_is_drawn_at_its_point(opened: OpenMap):
    """A marker's box is centred on its point on screen, for every need's markers: a style
    that took Leaflet's absolute positioning from the markers (the 24/7 corner's
    ``position: relative``) stacked them down the page, into the lakes."""
    opened.reset()
    page = opened.page
    for need in range(int(page.evaluate("gapmap.data.needs.length"))):
        page.evaluate(f"gapmap.setNeed({need})")
        page.wait_for_timeout(150)
        off = page.evaluate("""() => {
          const m = gapmap.map, c = m.getContainer().getBoundingClientRect(), bad = [];
          gapmap.markers.forEach(mk => {
            if (!mk || !mk._icon) return;
            const r = mk._icon.getBoundingClientRect();
            const want = m.latLngToContainerPoint(mk.getLatLng());
            const dx = r.left + r.width / 2 - c.left - want.x;
            const dy = r.top + r.height / 2 - c.top - want.y;
            if (Math.hypot(dx, dy) > 3) bad.push([mk.options.title, dx, dy]);
          });
          return bad; }""")
        assert off == [], (need, off[:5])
    opened.reset()


def test_a_popup_opens_with_the_service_phone(opened: OpenMap):
    opened.reset()
    with_phone = opened.services[opened.services["phone"].fillna("") != ""]
    row = with_phone[~with_phone["name"].str.contains("<")].iloc[0]
    digits = re.search(r"(\d{3})\D{0,2}(\d{3})\D?(\d{4})", row["phone"])
    assert digits
    opened.click_marker(opened.index_of(row["name"]))
    popup = opened.page.locator(".leaflet-popup-content")
    assert popup.locator(".gm-name").inner_text() == row["name"]
    href = popup.locator("a[href^='tel:']").first.get_attribute("href")
    assert href.startswith("tel:+1" + "".join(digits.groups()))
    assert row["phone"].split(" (")[0] in popup.inner_text()


def test_the_script_injection_listing_shows_as_text(opened: OpenMap):
    page = opened.page
    opened.reset()
    i = opened.index_of(XSS_NAME)
    if opened.name in ("ontario", "north-east"):  # the fixture is in North Bay
        assert i >= 0
        opened.click_marker(i)
        assert XSS_NAME in page.locator(".leaflet-popup-content").inner_text()
        page.fill(".gm-search input", "onerror")
        assert XSS_NAME in page.locator(".gm-search li").first.inner_text()
        page.fill(".gm-search input", "")
    else:  # named at most in a panel, as a community's nearest counselling service
        assert i == -1 or page.evaluate("i => gapmap.markers[i] === null", i)
    # no element was made from the listing text, and alert() never ran
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0
    assert opened.dialogs == []


def test_a_confidential_service_exact_point_is_nowhere(opened: OpenMap):
    listing = pd.read_csv(DATA / "listings_small.csv", dtype=str).set_index("id")
    lat, lon = listing.at["conf-test-01", "lat"], listing.at["conf-test-01", "lon"]
    for text in (opened.file.read_text(encoding="utf-8"), opened.page.content()):
        assert lat not in text and lon not in text
    # nothing drawn on the map lies within a kilometre of it
    near = opened.page.evaluate("""([lat, lon]) => {
        const here = L.latLng(lat, lon), out = [];
        const look = l => {
            if (l.getLatLng && l.getLatLng().distanceTo(here) < 1000) out.push(l.getLatLng());
            if (l.getLayers) l.getLayers().forEach(look);
        };
        gapmap.map.eachLayer(look);
        gapmap.markers.forEach(m => m && look(m));
        return out.length;
    }""", [float(lat), float(lon)])
    assert near == 0
    if opened.name in ("ontario", "north-east"):  # shown at Sudbury, marked
        opened.reset()
        opened.click_marker(opened.index_of("Test Safe House (fixture)"))
        text = opened.page.locator(".leaflet-popup-content").inner_text()
        assert "Location withheld" in text and "Hidden Lane" not in text


def test_clicking_a_town_lists_the_nearest_service_of_each_need(opened: OpenMap):
    page = opened.page
    opened.reset()
    town = page.evaluate("""() => { const t = gapmap.data.towns;
        const i = t.community.findIndex(c => c >= 0); return t.name[i]; }""")
    page.fill(".gm-search input", html.unescape(town))
    page.press(".gm-search input", "Enter")
    panel = page.locator(".gm-panel")
    panel.wait_for(state="visible", timeout=5000)
    rows = panel.locator("tbody tr")
    assert rows.count() == 14
    text = panel.inner_text()
    assert "min" in text and html.unescape(town) in text
    panel.locator(".gm-close").click()
    assert not panel.is_visible()


def test_print_view_hides_the_controls_and_keeps_the_footer(opened: OpenMap):
    page = opened.page
    page.emulate_media(media="print")
    try:
        assert not page.locator(".leaflet-control-layers").is_visible()
        assert not page.locator(".gm-search").is_visible()
        footer = page.locator(".gm-footer")
        assert footer.is_visible()
        assert re.search(r"generated \d{4}-\d\d-\d\d", footer.inner_text())
        assert "config test" in footer.inner_text()
    finally:
        page.emulate_media(media="screen")


def test_screenshot_is_kept(opened: OpenMap, shots: Path):
    opened.reset()
    opened.page.wait_for_timeout(300)
    path = shots / f"{opened.name}.png"
    opened.page.screenshot(path=str(path))
    assert path.stat().st_size > 20_000


def test_no_errors_after_all_that(opened: OpenMap):
    assert opened.errors == []
    assert opened.blocked == [] and opened.failed == []
    assert opened.dialogs == []
