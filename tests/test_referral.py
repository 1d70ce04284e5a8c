"""Referral sheets: a sheet per placed police office, one or two pages each in the PDF, every
phone printed exactly as services.csv has it, a confidential service at its public contact
only, French labels in French, and `gapmap referral --at` / `--town` for one place.

The run: tests/data/listings_small.csv and listings_east_west.csv (a confidential safe house
with a street address and an exact point in Sudbury, a listing named `<img ...>`, a
province-wide line with two numbers), hospitals off, on the King's Highways, with the five
offices of tests/data/police_offices_small.csv (one in no gazetteer).
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from pathlib import Path

import pandas as pd
import pypdf
import pytest

from gapmap.analysis.referral import stated_24_7, verification
from gapmap.cli import main
from gapmap.config import Config, load_config
from gapmap.errors import GeocodeError
from gapmap.pipeline import STAGES
from gapmap.taxonomy import NEED_TYPES

from .conftest import DATA, write_config
from .test_confidential_outputs import Secret, leaks

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").is_file(),
                                reason="the PDF needs /usr/bin/chromium (make chromium)")

OFFICES = DATA / "police_offices_small.csv"
PLACED = ["Thunder Bay", "Kenora", "Sudbury", "Orillia"]
SAFE_HOUSE = Secret("conf-test-01", "123 Hidden Lane", "Hidden Lane", "P3E 2C6",
                    46.46502, -81.02917)
TITLE = {"en": "Referral sheet: ", "fr": "Fiche d'orientation : "}
PHONE = re.compile(r"(?<![\d-])(?:1-)?(?:\(\d{3}\) ?|\d{3}-)\d{3}-\d{4}(?![\d])")


def _config(tmp: Path, *, language: str = "en") -> Path:
    path = write_config(tmp, [DATA / "listings_small.csv", DATA / "listings_east_west.csv"],
                        extra=f'\n[referral]\n'
                              f'language = "{language}"\n')
    text = re.sub(r"(?m)^police_offices = .*$", f'police_offices = "{OFFICES}"',
                  path.read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, str]:
    tmp = tmp_path_factory.mktemp("referral")
    cfg = load_config(_config(tmp))
    for stage in ("ingest", "geocode", "regions", "network"):
        STAGES[stage](cfg)
    return cfg, STAGES["referral"](cfg)


@pytest.fixture(scope="module")
def french(run: tuple[Config, str], tmp_path_factory: pytest.TempPathFactory) -> Config:
    cfg, _ = run
    out = tmp_path_factory.mktemp("referral-fr")
    fr = cfg.updated(referral={"language": "fr"}, outputs={"referral_dir": out})
    STAGES["referral"](fr)
    return fr


def _pages(pdf: Path) -> list[str]:
    return [p.extract_text() or "" for p in pypdf.PdfReader(pdf).pages]


def _sheets(pages: list[str], title: str) -> dict[str, int]:
    """Each sheet's place and its page count: a sheet starts on the page that opens with its
    title and runs to the next sheet's first page."""
    starts = [(i, m.group(1).strip()) for i, text in enumerate(pages)
              if (m := re.match(rf"\s*{re.escape(title)}(.+)", text))]
    ends = [i for i, _ in starts[1:]] + [len(pages)]
    return {place: end - i for (i, place), end in zip(starts, ends, strict=True)}


def _text(page_html: str) -> str:
    """An HTML page's visible text: tags out, entities decoded, white space squeezed."""
    body = page_html.split("<body>", 1)[1]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_a_sheet_per_placed_office_and_the_unplaced_one_reported(run):
    cfg, message = run
    folder = cfg.outputs.referral_dir
    offices = pd.read_csv(folder / "offices.csv", dtype=str, keep_default_na=False)
    assert len(offices) == 5
    placed = offices[offices["placed"] == "True"]
    assert sorted(placed["city"]) == sorted(PLACED)
    assert set(placed["geocode_precision"]) == {"town"}
    assert "1 office(s) unplaced" in message and "Atlantis" in message
    assert sorted(p.name for p in folder.glob("*.html")) == sorted(
        f"{pid}.html" for pid in placed["place_id"])
    rows = pd.read_csv(folder / "referral_sheets.csv", dtype=str, keep_default_na=False)
    assert set(rows["place_id"]) == set(placed["place_id"])


def test_the_pdf_has_one_or_two_pages_per_sheet_and_no_more(run):
    cfg, _ = run
    pages = _pages(cfg.outputs.referral_dir / "referral_sheets.pdf")
    sheets = _sheets(pages, TITLE["en"])
    assert sorted(p.split(" (")[0] for p in sheets) == sorted(PLACED)
    assert all(n in (1, 2) for n in sheets.values()), sheets
    assert sum(sheets.values()) == len(pages)
    # letter paper
    box = pypdf.PdfReader(cfg.outputs.referral_dir / "referral_sheets.pdf").pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_every_phone_printed_is_the_services_own(run):
    cfg, _ = run
    folder = cfg.outputs.referral_dir
    services = pd.read_csv(cfg.outputs.processed_dir / "services.csv", dtype=str,
                           keep_default_na=False).set_index("service_id")
    rows = pd.read_csv(folder / "referral_sheets.csv", dtype=str, keep_default_na=False)
    assert (rows["phone"] == services.loc[rows["service_id"], "phone"].to_numpy()).all()
    assert (rows["phone"] != "").any()
    # each sheet shows each of its services' phone fields whole, as listed
    for place_id, mine in rows.groupby("place_id"):
        text = _text((folder / f"{place_id}.html").read_text(encoding="utf-8"))
        for phone in set(mine["phone"]) - {""}:
            assert " ".join(phone.split()) in text, (place_id, phone)
        shown = set(PHONE.findall(text))
        listed = {n for p in mine["phone"] for n in PHONE.findall(p)}
        assert shown <= listed, (place_id, shown - listed)
    # and the PDF prints no number that is not some listed service's
    everywhere = {n for p in services["phone"] for n in PHONE.findall(p)}
    printed = {n for page in _pages(folder / "referral_sheets.pdf")
               for n in PHONE.findall(" ".join(page.split()))}
    assert printed and printed <= everywhere, printed - everywhere
    assert "1-888-579-2888" in printed and "(416) 314-2447" in printed


def test_a_confidential_service_shows_its_public_contact_only(run):
    cfg, _ = run
    folder = cfg.outputs.referral_dir
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert {p.suffix for p in files} == {".html", ".pdf", ".csv"}
    found = [leak for f in files for leak in leaks(f, SAFE_HOUSE)]
    assert found == [], found
    rows = pd.read_csv(folder / "referral_sheets.csv", dtype=str, keep_default_na=False)
    safe = rows[rows["service_id"] == SAFE_HOUSE.service_id]
    assert len(safe) and set(safe["phone"]) == {"(705) 555-0199"}
    assert set(safe["confidential"]) == {"True"}
    sudbury = (folder / "sudbury.html").read_text(encoding="utf-8")
    assert "Test Safe House (fixture)" in sudbury and "location withheld" in sudbury


def test_listing_text_is_escaped(run):
    cfg, _ = run
    pages = [p.read_text(encoding="utf-8") for p in cfg.outputs.referral_dir.glob("*.html")]
    assert any("&lt;img src=x onerror=alert(1)&gt;" in text for text in pages)
    for text in pages:
        assert "<img src=x" not in text and "<script>" not in text


def test_the_french_sheet_uses_the_french_need_labels(french):
    folder = french.outputs.referral_dir
    page = _text((folder / "sudbury.html").read_text(encoding="utf-8"))
    assert page.startswith(TITLE["fr"].strip())
    for need in NEED_TYPES:
        assert need.label_fr in page, need.code
    assert "Sexual assault care" not in page
    pages = _pages(folder / "referral_sheets.pdf")
    sheets = _sheets(pages, TITLE["fr"])
    assert len(sheets) == len(PLACED) and all(n in (1, 2) for n in sheets.values())
    text = " ".join(" ".join(p.split()) for p in pages)
    assert "Soins aux victimes d'agression sexuelle" in text


@pytest.mark.parametrize("args", [["--town", "Kenora"], ["--town", "Orillia"],
                                  ["--at", "46.49,-80.99"], ["--at", "44.23,-76.49"],
                                  ["--at", "42.98,-81.25"]])
def test_one_sheet_for_a_town_or_a_point(run, args, capsys):
    cfg, _ = run
    levels = [(lg, lg.level) for lg in (logging.getLogger(), logging.getLogger("gapmap"))]
    try:
        assert main(["referral", *args, "--config", str(cfg.path)]) == 0
    finally:
        for lg, level in levels:
            lg.setLevel(level)
    assert "referral: 1 sheet(s)" in capsys.readouterr().out
    lookup = cfg.outputs.referral_dir / "lookup"
    name = (f"town-{args[1].lower()}" if args[0] == "--town"
            else "at-{:.4f}_{:.4f}".format(*map(float, args[1].split(","))))
    pages = _pages(lookup / f"{name}.pdf")
    assert len(_sheets(pages, TITLE["en"])) == 1 and len(pages) in (1, 2)
    rows = pd.read_csv(lookup / f"{name}.csv", dtype=str, keep_default_na=False)
    assert set(rows["need_type"]) <= {n.code for n in NEED_TYPES} and len(rows)


def test_a_fly_in_place_lists_the_flight_and_its_hub(run):
    from gapmap.referral import write_lookup_sheet

    cfg, _ = run
    result = write_lookup_sheet(cfg, town="Attawapiskat")
    csv = next(p for p in result.files if p.suffix == ".csv")
    rows = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert set(rows["place_access"]) == {"no_all_season_road"}
    hub = rows["air_hub"].iloc[0]
    assert hub in cfg.air_hubs
    near = rows[rows["section"] == "nearest"]
    assert len(near) and near["reached"].str.startswith(f"fly to {hub}, then").all()
    page = _text(next(p for p in result.files if p.suffix == ".html").read_text("utf-8"))
    assert "No all-season road" in page


def test_a_place_outside_ontario_or_unknown_is_refused(run):
    from gapmap.referral import write_lookup_sheet

    cfg, _ = run
    with pytest.raises(GeocodeError, match="not in Ontario"):
        write_lookup_sheet(cfg, at=(40.0, -80.0))
    with pytest.raises(GeocodeError, match="Atlantis Under The Sea"):
        write_lookup_sheet(cfg, town="Atlantis Under The Sea")


def test_verification_and_stated_hours_by_hand():
    today = dt.date(2026, 12, 1)
    assert verification("read 2026-11-26 from stored copy", today=today,
                        stale_after_days=365) == ("verified", "2026-11-26")
    assert verification("read 2024-01-05", today=today, stale_after_days=365) == (
        "stale", "2024-01-05")
    assert verification("ODHF general", today=today, stale_after_days=365) == (
        "unverified", "")
    assert verification("read 2026-11-26; VWAP office NOT confirmed by the source",
                        today=today, stale_after_days=365)[0] == "unverified"
    assert stated_24_7("", "Fem'aide (French-language 24/7 line)", "")
    assert stated_24_7("", "", "1-866-376-9852 (24-hour); office 1-888-577-3111")
    assert not stated_24_7("Mon-Fri 9-5", "Legal clinic", "613-555-0100")


def test_an_analysts_own_office_table_with_points_and_towns(small_config, tmp_path):
    """Any table of offices: a name, and a point or a town (a municipal service's
    divisions, say); a point outside Ontario stays unplaced and is reported."""
    from gapmap.referral import places_from_table

    path = tmp_path / "divisions.csv"
    pd.DataFrame({"name": ["Division 1", "Division 2", "Division 3"],
                  "city": ["", "Barrie", ""],
                  "lat": ["44.3894", "", "40.0"], "lon": ["-79.6903", "", "-100.0"]}
                 ).to_csv(path, index=False)
    places = places_from_table(path, small_config)
    assert list(places["place"]) == ["Division 1", "Barrie (Division 2)", "Division 3"]
    assert list(places["geocode_precision"].iloc[:2]) == ["exact", "town"]
    assert places["opp_region"].iloc[0] == "Central"
    assert places.geometry.iloc[2] is None


def test_lines_and_outreach_are_listed_where_their_area_covers_the_place():
    """Below the nearest services, a sheet lists what does not count in person and covers the
    place: a line with an office in Sudbury (placed, virtual only) for a place in Greater
    Sudbury, not for one in Kenora; an outreach worker of the Kenora district only in Kenora;
    the parsed hours decide "24/7" (a name saying "24 hours" with hours parsed as 9 to 5 is
    not)."""
    import numpy as np

    from gapmap.analysis.referral import referral_rows

    def svc(sid: str, **cols: object) -> dict:
        row = {"service_id": sid, "name": sid, "organization": "", "need_types":
               "crisis_support", "phone": "705-555-0100", "website": "", "hours": "",
               "languages": "", "eligibility": "", "confidential": False, "city": "Sudbury",
               "matched_place": "", "area_name": "", "geocode_precision": "town",
               "area_cduids": "", "service_area_codes": "", "opp_region": "North East",
               "cduid": "3553", "delivery": "", "open_24_7": "unknown", "notes": "",
               "source_url": "", "source": "x.csv", "lat": 46.49, "lon": -80.99}
        row.update(cols)
        return row

    services = pd.DataFrame([
        svc("sudbury-line", delivery="virtual", name="Sudbury 24 hours line",
            hours="Mon-Fri 9-5", open_24_7="no"),
        svc("kenora-outreach", delivery="outreach", cduid="3560", opp_region="North West",
            phone="", city="Kenora", lat=49.77, lon=-94.49),
        svc("walk-in", delivery="in_person", open_24_7="yes"),
    ])
    places = pd.DataFrame({
        "place_id": ["sud", "ken"], "place": ["Sudbury", "Kenora"],
        "opp_region": ["North East", "North West"], "cd_name": ["Greater Sudbury", "Kenora"],
        "cduid": ["3553", "3560"], "access": ["road", "road"], "air_hub": ["", ""],
        "origin_id": ["sud", "ken"]})
    times = pd.DataFrame({"origin_id": ["sud", "ken"], "service_id": ["walk-in", "walk-in"],
                          "travel_min": [5.0, 900.0], "route": ["local", "network"],
                          "access": ["road", "road"]})
    rows = referral_rows(places, services, times, ["crisis_support"], per_need=3,
                         today=dt.date(2026, 12, 5), stale_after_days=730)
    got = {(r.place_id, r.service_id): (r.section, r.reached, bool(r.open_24_7))
           for r in rows.itertuples()}
    assert got[("sud", "walk-in")] == ("nearest", "local road", True)
    assert got[("sud", "sudbury-line")] == ("line", "by phone", False)
    assert ("ken", "sudbury-line") not in got
    assert got[("ken", "kenora-outreach")] == ("area", "outreach", False)
    assert ("sud", "kenora-outreach") not in got
    assert np.isnan(rows.loc[rows["section"] != "nearest", "travel_min"]).all()
