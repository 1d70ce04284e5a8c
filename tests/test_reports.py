"""What planners hand over: CSVs that open cleanly (byte-order mark, data dictionary), the
workbook, a report per OPP region in English and French (HTML and PDF), a GeoPackage QGIS
describes.

One run of the pipeline (tests/data/listings_small.csv and listings_east_west.csv, the whole
province, no referral sheets) up to the report stage; the files it writes are read back as a
planner's tools would read them (csv with utf-8-sig, openpyxl, pypdf, sqlite3) and their
figures compared with the CSVs'.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import sqlite3
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from gapmap.config import Config, load_config
from gapmap.io import csv_byte_order_mark, write_csv
from gapmap.outputs.workbook import fmt_int, fmt_pct, need_label, needs_ranked
from gapmap.pipeline import STAGES

from .conftest import DATA, write_config

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").is_file(),
                                reason="the regional PDFs need Debian's chromium")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Config:
    tmp = tmp_path_factory.mktemp("reports")
    cfg = load_config(write_config(tmp, [DATA / "listings_small.csv",
                                         DATA / "listings_east_west.csv"]))
    for stage in ("ingest", "geocode", "regions", "demand", "network", "travel", "catchments",
                  "gaps", "plan", "report"):
        STAGES[stage](cfg)
    return cfg


def _csv(config: Config, name: str) -> pd.DataFrame:
    return pd.read_csv(config.outputs.processed_dir / name, encoding="utf-8-sig")


# -- CSVs that open cleanly ---------------------------------------------------------------------

def test_a_csv_with_accents_opens_right_in_a_reader_that_honours_the_mark(tmp_path):
    df = pd.DataFrame({"name": ["Rivière-des-Prairies", "HÔPITAL MONTFORT"], "pop2021": [1, 2]})
    path = write_csv(df, tmp_path / "accents.csv")
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    # Excel, like Python's utf-8-sig codec, takes the mark as "this is UTF-8"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["name", "pop2021"], ["Rivière-des-Prairies", "1"],
                    ["HÔPITAL MONTFORT", "2"]]
    # the mark is what stands between a spreadsheet and "RiviÃ¨re" (read as Windows-1252)
    assert "RiviÃ¨re" in data[3:].decode("cp1252")
    assert list(pd.read_csv(path)["name"]) == list(df["name"])  # pandas sniffs the mark


def test_the_setting_turns_the_mark_off(tmp_path, small_config):
    df = pd.DataFrame({"name": ["Rivière"]})
    with csv_byte_order_mark(False):
        plain = write_csv(df, tmp_path / "plain.csv")
    assert plain.read_bytes() == "name\nRivière\n".encode()
    assert write_csv(df, tmp_path / "marked.csv").read_bytes().startswith(codecs.BOM_UTF8)
    # through a stage, as [outputs] csv_bom = false sets it
    text = small_config.path.read_text(encoding="utf-8")
    assert "\n[outputs]\n" in text
    small_config.path.write_text(text.replace("\n[outputs]\n", "\n[outputs]\ncsv_bom = false\n"),
                                 encoding="utf-8")
    config = load_config(small_config.path)
    STAGES["ingest"](config)
    assert not (config.outputs.processed_dir / "rejected_rows.csv").read_bytes().startswith(
        codecs.BOM_UTF8)


def test_every_shared_csv_starts_with_the_mark(run):
    files = sorted(run.outputs.processed_dir.glob("*.csv"))
    assert len(files) >= 10
    assert [f.name for f in files if not f.read_bytes().startswith(codecs.BOM_UTF8)] == []


def test_every_column_of_every_shared_csv_has_a_label(run):
    """The dictionary lists every column of every CSV of the run, each labelled in English
    and French with a meaning; a column added without a label fails here."""
    d = _csv(run, "data_dictionary.csv").fillna("")
    written = {f.name: list(pd.read_csv(f, nrows=0, encoding="utf-8-sig").columns)
               for f in run.outputs.processed_dir.glob("*.csv")}
    listed = {name: list(g["column"]) for name, g in d.groupby("file", sort=False)}
    for name, columns in written.items():
        assert listed.get(name) == columns, name
    assert {"referral_sheets.csv", "offices.csv"} <= set(listed)
    blank = d[(d["label_en"] == "") | (d["label_fr"] == "") | (d["meaning"] == "")]
    assert blank.empty, "columns without a label:\n" + blank.to_string()


def test_the_real_run_outputs_are_all_labelled():
    """The same check on every CSV the shipped config's last run wrote, when there is one
    (the columns other stages add reach the dictionary the day they appear)."""
    from gapmap.outputs.dictionary import label

    root = Path(__file__).resolve().parent.parent
    files = [*(root / "data" / "processed").glob("*.csv"), *(root / "referral").glob("*.csv")]
    if not files:
        pytest.skip("no run of the shipped config in this checkout")
    missing = [f"{f.name}:{c}" for f in files
               for c in pd.read_csv(f, nrows=0, encoding="utf-8-sig").columns
               if label(c, f.name) is None]
    assert missing == []


# -- the workbook -------------------------------------------------------------------------------

def test_the_workbook_has_its_sheets_and_its_totals_equal_the_csvs(run):
    import openpyxl

    coverage = _csv(run, "coverage_by_region.csv")
    gaps = _csv(run, "gap_communities.csv")
    book = openpyxl.load_workbook(run.outputs.processed_dir / "gapmap.xlsx")
    regions = [r for r in dict.fromkeys(coverage["opp_region"]) if r != "Ontario"]
    assert book.sheetnames == ["Summary", *regions, "Gap communities", "Coverage",
                               "Wraparound", "Eligibility", "French access", "Access",
                               "Suggestions", "Data quality",
                               "Dictionary", "Method and sources"]

    def table(name: str) -> pd.DataFrame:
        rows = list(book[name].iter_rows(values_only=True))
        return pd.DataFrame(rows[1:], columns=rows[0])

    sheet = table("Gap communities")
    assert len(sheet) == len(gaps)
    assert sheet["Population 2021"].sum() == gaps["pop2021"].sum()
    assert sheet["Nearest service"].fillna("").tolist() == gaps["service_name"].fillna("").tolist()
    cov = table("Coverage")
    assert cov["Population within threshold"].sum() == coverage["pop_covered"].sum()
    assert len(table("Suggestions")) == len(_csv(run, "suggestions.csv"))
    assert len(table("Access")) == len(_csv(run, "access_by_community.csv"))
    french = _csv(run, "french_access_by_region.csv")
    assert table("French access")["Population of designated areas"].sum() \
        == french["pop_designated"].sum()
    assert table("Eligibility")["Services with limits"].sum() \
        == _csv(run, "eligibility_by_need.csv")["services_restricted"].sum()
    for name in ("Gap communities", "Coverage", "Dictionary"):
        assert book[name].freeze_panes == "A2"
    assert book["Coverage"]["D2"].number_format == "#,##0"
    # the summary: one sentence per need, each with the CSV's figures
    summary = [str(c.value) for c in book["Summary"]["A"] if c.value]
    for _, r in needs_ranked(coverage, "Ontario").iterrows():
        sentence = next(s for s in summary if s.startswith(need_label(r["need_type"]) + ":"))
        assert f"{fmt_int(r['pop_beyond'])} people, {fmt_pct(r['pct_beyond'])} of Ontario" \
            in sentence
    method = [c.value for c in book["Method and sources"]["B"] if c.value]
    assert any("Statistics Canada" in str(v) for v in method) or any(
        "Statistics Canada" in str(c.value) for c in book["Method and sources"]["A"] if c.value)


def test_the_workbook_cells_are_neutralised(run, tmp_path):
    """A name that a spreadsheet would run as a formula is written inert, as in the CSVs."""
    import openpyxl

    from gapmap.outputs.workbook import write_workbook
    from gapmap.report import method_notes, read_handover

    h = read_handover(run)
    gaps = h.gaps.head(50).copy()
    gaps.loc[gaps.index[0], "name"] = '=HYPERLINK("http://x","y")'
    h = type(h)(**{**h.__dict__, "gaps": gaps, "access": None})  # (a smaller book)
    path = write_workbook(h, tmp_path / "book.xlsx", top=5,
                          method=method_notes(run, h.data_quality, "all regions"))
    values = [c for row in openpyxl.load_workbook(path)["Gap communities"].iter_rows(
        values_only=True) for c in row if isinstance(c, str)]
    assert "'=HYPERLINK(\"http://x\",\"y\")" in values
    assert not any(v.startswith("=") for v in values)


# -- the regional reports -----------------------------------------------------------------------

def _pdf_text(path: Path) -> str:
    import pypdf

    text = " ".join(page.extract_text() or "" for page in pypdf.PdfReader(path).pages)
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text))  # "ﬃ" -> "ffi"


def test_each_regional_pdf_carries_the_csv_figures(run):
    coverage = _csv(run, "coverage_by_region.csv")
    folder = run.outputs.processed_dir / "reports"
    regions = [r for r in dict.fromkeys(coverage["opp_region"]) if r != "Ontario"]
    assert len(regions) == 5
    for region in regions:
        slug = region.lower().replace(" ", "-")
        ranked = needs_ranked(coverage, region)
        for language in ("en", "fr"):
            pdf = folder / f"{slug}.{language}.pdf"
            text = _pdf_text(pdf)
            assert fmt_int(ranked["pop2021"].iloc[0], language) in text, (pdf.name, "pop")
            for r in ranked.itertuples():
                label = need_label(r.need_type, language)
                figures = (f"{label} {fmt_int(r.pop_beyond, language)} "
                           f"{fmt_pct(r.pct_beyond, language)} {r.threshold_min:g} "
                           f"{fmt_int(r.pop_outreach_only, language)} "
                           f"{fmt_int(r.pop_line_only, language)} "
                           f"{fmt_int(r.pop_not_reached, language)}")
                assert figures in text, (pdf.name, figures)
            html = (folder / f"{slug}.{language}.html").read_text(encoding="utf-8")
            assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)  # offline
            assert (folder / f"{slug}.{language}.chart.png").is_file()
            assert (folder / f"{slug}.{language}.map.png").is_file()
        # the largest gap of the top need, with its nearest service, in the English report
        gaps = pd.read_csv(run.outputs.processed_dir / "gap_communities.csv", dtype=str,
                           keep_default_na=False, encoding="utf-8-sig")
        first = gaps[(gaps["opp_region"] == region) & (gaps["rank"] == "1")
                     & (gaps["need_type"] == ranked["need_type"].iloc[0])]
        if len(first):
            text = _pdf_text(folder / f"{slug}.en.pdf")
            assert str(first["name"].iloc[0]) in text
            assert str(first["service_name"].iloc[0])[:20] in text


def test_the_reports_are_in_english_and_in_french(run):
    folder = run.outputs.processed_dir / "reports"
    en, fr = _pdf_text(folder / "north-east.en.pdf"), _pdf_text(folder / "north-east.fr.pdf")
    assert "Method and caveats" in en and "Sources and licences" in en
    assert "Méthode et mises en garde" in fr and "Nord-Est" in fr
    assert "Modèle routier" in fr and "Road model" not in fr


def test_the_method_box_counts_the_regions_own_listings(run):
    """The listings' completeness in a region's report is that region's rows of the
    data-quality table (a service counted once per need)."""
    quality = _csv(run, "data_quality_by_region.csv")
    for region in ("North East", "West"):
        mine = quality[quality["opp_region"] == region]
        text = _pdf_text(run.outputs.processed_dir / "reports"
                         / f"{region.lower().replace(' ', '-')}.en.pdf")
        assert (f"{region}, a service counted once per need it lists: "
                f"{mine['services'].sum()}; {mine['town_or_coarser'].sum()} placed only at "
                "their town or coarser") in text


# -- the GeoPackages ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, layer, column, title", [
    ("gapmap.gpkg", "gap_communities", "pop2021", "Population 2021"),
    ("gapmap.gpkg", "services", "geocode_precision", "Location precision"),
    ("catchments.gpkg", "need_catchments", "threshold_min", "Threshold (min)"),
])
def test_the_geopackages_describe_their_layers_and_fields(run, name, layer, column, title):
    path = run.outputs.processed_dir / name
    with contextlib.closing(sqlite3.connect(path)) as db:
        described = dict(db.execute("SELECT table_name, description FROM gpkg_contents"))
        assert all(described.values()), described
        row = db.execute("SELECT title, description FROM gpkg_data_columns WHERE table_name = ? "
                         "AND column_name = ?", (layer, column)).fetchone()
        assert row is not None and row[0] == title and row[1]
        ext = set(db.execute("SELECT table_name, extension_name, scope FROM gpkg_extensions "
                             "WHERE extension_name = 'gpkg_schema'"))
        assert ext == {("gpkg_data_columns", "gpkg_schema", "read-write"),
                       ("gpkg_data_column_constraints", "gpkg_schema", "read-write")}
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        names = [r[0] for r in db.execute(
            "SELECT name FROM gpkg_data_columns WHERE table_name = ?", (layer,))]
        assert len(names) == len(set(names))
    import pyogrio

    assert layer in {n for n, _ in pyogrio.list_layers(path)}  # GDAL still reads it


def test_no_two_columns_of_a_file_share_a_label(run):
    """A workbook sheet's headers are the dictionary's labels: two equal labels in one file
    would give a sheet two columns of the same name."""
    d = _csv(run, "data_dictionary.csv")
    for language in ("label_en", "label_fr"):
        dup = d[d.duplicated(["file", language], keep=False) & (d[language].fillna("") != "")]
        assert dup.empty, dup[["file", "column", language]].to_string()


def test_a_headline_says_how_many_beyond_are_reached_otherwise():
    from gapmap.outputs.workbook import headline

    row = pd.Series({"need_type": "crisis_support", "threshold_min": 60.0,
                     "pop_beyond": 108260, "pct_beyond": 19.4,
                     "pop_outreach_only": 26711, "pop_line_only": 81549})
    en = headline(row, "North East")
    assert en.endswith("Of them, 26,711 are reached only by outreach and 81,549 only by a "
                       "phone or online line.")
    fr = headline(row, "North East", "fr")
    assert "Parmi elles, 26 711 sont jointes seulement par des services itinérants et 81 549 " \
        "seulement par une ligne" in fr
    # nobody reached otherwise: the sentence stops at the gap
    bare = headline(pd.Series({**row.to_dict(), "pop_outreach_only": 0, "pop_line_only": 0}),
                    "North East")
    assert bare.endswith("by road of a listed service.")


def test_a_dated_or_absurdly_far_nearest_service_is_flagged_not_hidden():
    """The West's interpretation gaps name a 2017-funded Toronto project as the nearest
    service: the report prints it with why it may not be an answer, in either language."""
    from gapmap.outputs.region_report import WORDS, _gaps_table

    gaps = pd.DataFrame({
        "need_type": ["interpretation"] * 3, "rank": [1, 2, 3],
        "name": ["Chatham-Kent", "Norfolk County", "Essex"], "cd_name": ["x"] * 3,
        "pop2021": [103988, 67490, 13295], "travel_min": [182.0, 115.0, 600.0],
        "service_name": ["Anti-human-trafficking project (2017 Community Supports Fund)",
                         "Interpreters of Windsor", "Interpreters of Windsor"],
        "service_town": ["Toronto", "Windsor", "Windsor"], "note": ["", "", ""]})
    en = _gaps_table(gaps, ["interpretation"], 5, "en", WORDS["en"], stale_before=2020,
                     far_min=480.0)
    assert en.count("named for 2017: may have ended") == 1
    assert en.count("over 8 h: not an answer") == 1  # only Essex, 600 min
    fr = _gaps_table(gaps, ["interpretation"], 5, "fr", WORDS["fr"], stale_before=2020,
                     far_min=480.0)
    assert "nommé pour 2017 : a pu prendre fin" in fr and "plus de 8 h" in fr
    plain = _gaps_table(gaps, ["interpretation"], 5, "en", WORDS["en"])
    assert "may have ended" not in plain and "not an answer" not in plain
    assert "Anti-human-trafficking project (2017" in plain  # flagged or not, never hidden
