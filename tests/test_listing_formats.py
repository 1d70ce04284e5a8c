"""Listings as working groups keep them: any spreadsheet, French, every row accounted for.

Expected counts here are made by construction (each fixture row is written with the outcome
it must have) or by reading the file with the standard library, never by gapmap's readers.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from gapmap.cli import main
from gapmap.config import load_config
from gapmap.errors import ConfigError, ListingFileError
from gapmap.ingest import ingest
from gapmap.io import FORMULA_PREFIXES, neutralise, neutralise_text
from gapmap.sources.contacts import check_website, parse_phones
from gapmap.sources.listings import read_listings

from .conftest import DATA, RAW, write_config

FRENCH = DATA / "listings_fr_cp1252.csv"
# line -> outcome, written with the fixture (see tests/data/README.md)
FRENCH_OUTCOMES = {2: "accepted", 3: "accepted", 4: "accepted", 5: "accepted",
                   6: "malformed", 7: "accepted", 8: "need_types", 9: "postal_code",
                   10: "accepted"}


def _config_text(tmp_path: Path, listings: list[str], *, extra: str = "",
                 hospitals: bool = False) -> Path:
    """A config of [run], [inputs] listings (TOML inline tables) and [outputs] under
    tmp_path; reference data from the shipped defaults."""
    body = ",\n    ".join(listings)
    text = f"""[run]
name = "byo"

[inputs]
listings = [
    {body}
]
{'' if hospitals else 'hospitals = false'}

[outputs]
interim_dir = "{tmp_path}/interim"
processed_dir = "{tmp_path}/processed"
maps_dir = "{tmp_path}/maps"
{extra}
"""
    path = tmp_path / "byo.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- the "Liste" workbook: header on row 3, a notes sheet before it ----------------------------

# (row in the sheet, cells, outcome); rows 1-2 are a title and a blank row
LISTE_HEADER = ["Identifiant", "Nom du service", "Catégories", "Ville", "Téléphone",
                "Latitude", "Longitude"]
LISTE_ROWS: list[tuple[int, list[object], str]] = [
    (4, ["nw-1", "Kenora Sexual Assault Centre", "Sexual Assault Centre", "Kenora",
         "807-468-7233", 49.7667, -94.4894], "accepted"),
    (5, ["nw-2", "Refuge de Dryden", "Women's shelter", "Dryden", "", None, None], "accepted"),
    (6, ["nw-3", "", "crisis", "Kenora", "", None, None], "name"),
    # row 7 blank: skipped, not a row
    (8, ["nw-4", "Overflow", "youth", "Kenora", "", None, None, "a value past the header"],
     "malformed"),
    (9, ["nw-5", "Ligne Nord", "lutte contre la traite des personnes", "Sioux Lookout", "",
         None, None], "accepted"),
    (10, ["nw-1", "Same id again", "counselling", "Kenora", "", None, None], "id"),
]


def make_liste_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes.append(["Compiled by the North West working group; see sheet Liste."])
    ws = wb.create_sheet("Liste")
    ws.append(["Répertoire des services — Nord-Ouest, 2026"])
    ws.append([])
    ws.append(LISTE_HEADER)
    row = 4
    for sheet_row, cells, _ in LISTE_ROWS:
        while row < sheet_row:
            ws.append([])
            row += 1
        ws.append(cells)
        row += 1
    wb.save(path)
    return path


def _outcomes(rows: list[tuple[int, list[object], str]]) -> tuple[int, int]:
    accepted = sum(1 for _, _, o in rows if o == "accepted")
    return accepted, len(rows) - accepted


def test_french_fixture_is_what_the_test_says_it_is():
    # read with the standard library: cp1252, ';'-separated, 9 data lines
    text = FRENCH.read_bytes().decode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        FRENCH.read_bytes().decode("utf-8")
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert lines[0][:3] == ["Nom", "Organisme", "Type de service"]
    assert len(lines) - 1 == len(FRENCH_OUTCOMES)
    assert [len(r) for r in lines[1:]].count(len(lines[0]) + 1) == 1  # line 6 only


@pytest.fixture(scope="module")
def done_when_run(tmp_path_factory):
    """One `gapmap ingest` on the shipped listings, the French CSV and the Liste workbook."""
    tmp = tmp_path_factory.mktemp("done-when")
    xlsx = make_liste_workbook(tmp / "repertoire_nord_ouest.xlsx")
    cfg = _config_text(tmp, [
        f'{{ path = "{RAW}/ontario/services_curated.csv" }}',
        f'{{ path = "{RAW}/ontario/services_curated_more.csv" }}',
        f'{{ path = "{FRENCH}", region = "North East" }}',
        f'{{ path = "{xlsx}", sheet = "Liste" }}',
    ], hospitals=True)
    buf = io.StringIO()
    from contextlib import redirect_stdout

    with redirect_stdout(buf):
        code = main(["ingest", "--config", str(cfg)])
    return code, buf.getvalue(), tmp


def _balance(out: str, source: str) -> str:
    return next(line for line in out.splitlines() if line.strip().startswith(source))


def _shipped_rows(name: str) -> int:
    with open(RAW / "ontario" / name, encoding="utf-8", newline="") as f:
        return sum(1 for _ in csv.DictReader(f))


def test_done_when_one_ingest_prints_a_balance_per_source(done_when_run):
    code, out, _ = done_when_run
    assert code == 0
    for name in ("services_curated.csv", "services_curated_more.csv"):
        n = _shipped_rows(name)
        assert f"read {n} rows = {n} accepted + 0 rejected" in _balance(out, name)
    french = _balance(out, "listings_fr_cp1252.csv")
    acc = sum(1 for o in FRENCH_OUTCOMES.values() if o == "accepted")
    assert f"read {len(FRENCH_OUTCOMES)} rows = {acc} accepted + " \
           f"{len(FRENCH_OUTCOMES) - acc} rejected" in french
    assert "cp1252" in french and "';'-separated" in french
    acc, rej = _outcomes(LISTE_ROWS)
    liste = _balance(out, "repertoire_nord_ouest.xlsx")
    assert f"read {acc + rej} rows = {acc} accepted + {rej} rejected" in liste
    assert "sheet 'Liste', header on row 3" in liste
    with open(RAW / "ontario" / "healthcare_facilities_odhf_v1.1.csv", encoding="utf-8") as f:
        hospitals = sum(1 for r in csv.DictReader(f) if r["odhf_facility_type"] == "Hospitals")
    odhf = _balance(out, "healthcare_facilities_odhf_v1.1.csv")
    assert odhf.split(": ", 1)[1].startswith(f"read {hospitals} rows = ")


def test_done_when_the_ingest_record_keeps_each_balance(done_when_run):
    _, _, tmp = done_when_run
    record = json.loads((tmp / "interim" / "ingest.json").read_text(encoding="utf-8"))
    sources = {s["source"]: s for s in record["summary"]["sources"]}
    assert len(sources) == 5
    for s in sources.values():
        assert s["read"] == s["accepted"] + s["rejected"] + s["merged"]
    acc, rej = _outcomes(LISTE_ROWS)
    assert (sources["repertoire_nord_ouest.xlsx"]["accepted"],
            sources["repertoire_nord_ouest.xlsx"]["rejected"]) == (acc, rej)
    assert sum(s["read"] for s in sources.values()) == record["summary"]["rows_read"]


def test_done_when_rejected_rows_have_their_true_lines(done_when_run):
    _, _, tmp = done_when_run
    rej = pd.read_csv(tmp / "processed" / "rejected_rows.csv", dtype=str,
                      keep_default_na=False)
    french = rej[rej["source"] == "listings_fr_cp1252.csv"]
    expected = {line: o for line, o in FRENCH_OUTCOMES.items() if o != "accepted"}
    assert dict(zip(french["source_row"].astype(int), french["field"], strict=True)) == {
        line: ("(row)" if o == "malformed" else o) for line, o in expected.items()}
    liste = rej[rej["source"] == "repertoire_nord_ouest.xlsx"]
    assert dict(zip(liste["source_row"].astype(int), liste["field"], strict=True)) == {
        r: ("(row)" if o == "malformed" else o) for r, _, o in LISTE_ROWS if o != "accepted"}
    unmapped = pd.read_csv(tmp / "processed" / "unmapped_terms.csv", dtype=str)
    assert list(unmapped["term"]) == ["aide alimentaire"]


def test_french_rows_keep_their_need_types_phones_and_confidentiality(tmp_path):
    read = read_listings(FRENCH)
    by_name = {r["name"]: r for r in read.accepted}
    assert by_name["Centre d'aide aux victimes de Sudbury"]["need_types"] == "crisis_support"
    assert by_name["CALACS francophone d'Ottawa"]["need_types"] == "sexual_assault_care"
    assert by_name["Lutte contre la traite — Nord"]["need_types"] == "anti_trafficking"
    assert by_name["Centre d'amitié autochtone"]["need_types"] == \
        "indigenous_services;sexual_assault_care"
    shelter = by_name["Maison Verte"]
    assert shelter["need_types"] == "emergency_shelter" and shelter["confidential"] is True
    assert shelter["address"] == "withheld (confidential)" and shelter["postal_code"] == ""
    assert shelter["phone_e164"] == "+17053625555;ext=12"
    assert shelter["phone"] == "(705) 362-5555 ext. 12"
    # no id column: ids from the file and line
    assert by_name["Jeunesse Nord"]["service_id"] == "listings_fr_cp1252-10"


# -- a malformed row is a rejected row with its true line -------------------------------------

def _malformed_csv(path: Path) -> dict[int, str]:
    """A CSV with malformed rows at the first, middle and last lines; returns line -> what
    the row must be."""
    huge = "x" * (1 << 20)
    lines = [
        (b"id,name,need_types,city", "header"),
        (b"m1,Too many,crisis_support,Kenora,extra", "rejected"),
        (b"g1,Good one,counselling,Kenora", "accepted"),
        (b'g2,"Multi', "accepted"),  # a quoted name over two lines: one row, line 4
        (b'line name",counselling,Dryden', "continued"),
        (b'm2,"Broken quote,counselling,Kenora', "rejected"),
        (b"g3,After the break,counselling,Kenora", "accepted"),
        (b"\x00\x01\x02binary\xff\xfe junk", "rejected"),
        (b"m3,Huge," + huge.encode() + b",Kenora", "rejected"),
        (b"g4,Fine,youth,Kenora", "accepted"),
        (b"m4,Too few,counselling", "rejected"),
    ]
    path.write_bytes(b"\n".join(text for text, _ in lines) + b"\n")
    return {i: what for i, (_, what) in enumerate(lines, 1) if what in ("accepted", "rejected")}


def test_malformed_rows_first_middle_last_are_rejected_at_their_true_lines(tmp_path):
    expected = _malformed_csv(tmp_path / "malformed.csv")
    read = read_listings(tmp_path / "malformed.csv")
    assert sorted(int(r["source_row"]) for r in read.accepted) == \
        sorted(k for k, v in expected.items() if v == "accepted")
    assert sorted(int(r["source_row"]) for r in read.rejected) == \
        sorted(k for k, v in expected.items() if v == "rejected")
    assert read.rows_read == len(expected)
    reasons = {int(r["source_row"]): r["reason"] for r in read.rejected}
    assert "5 fields where the header has 4" in reasons[2]
    assert "quot" in reasons[6]
    assert "binary" in reasons[8]
    assert "1,048,576 characters" in reasons[9]
    assert "3 fields where the header has 4" in reasons[11]
    multi = next(r for r in read.accepted if r["service_id"] == "g2")
    assert multi["name"] == "Multi\nline name"


def test_a_malformed_first_row_with_numeric_ids_is_one_rejected_row(tmp_path):
    # the reported traceback / every-row-rejected case: one field too many on data line 1
    path = tmp_path / "numeric.csv"
    path.write_text("id,name,need_types\n1,A,crisis_support,extra\n2,B,counselling\n"
                    "3,C,counselling\n", encoding="utf-8")
    read = read_listings(path)
    assert [r["source_row"] for r in read.rejected] == ["2"]
    assert [r["service_id"] for r in read.accepted] == ["2", "3"]


# -- formats ---------------------------------------------------------------------------------

def test_geojson_listing_keeps_its_point(tmp_path):
    path = tmp_path / "points.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-89.2477, 48.3809]},
         "properties": {"id": "tb-1", "name": "Thunder Bay centre",
                        "need_types": ["crisis_support", "counselling"],
                        "city": "Thunder Bay"}},
        {"type": "Feature", "geometry": None,
         "properties": {"id": "tb-2", "name": "No point", "need_types": "legal aid",
                        "city": "Thunder Bay"}},
    ]}), encoding="utf-8")
    read = read_listings(path)
    assert read.rows_read == 2 and not read.rejected
    first, second = read.accepted
    assert (first["lat"], first["lon"]) == (48.3809, -89.2477)
    assert first["need_types"] == "crisis_support;counselling"
    assert "geometry" in first["coordinate_source"]
    assert second["lat"] != second["lat"]  # NaN: no point, none invented


def test_geojson_point_survives_ingest_and_geocode(tmp_path):
    from gapmap.geocode import geocode_services

    path = tmp_path / "points.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-89.2477, 48.3809]},
         "properties": {"id": "tb-1", "name": "Thunder Bay centre",
                        "need_types": "crisis_support", "city": "Thunder Bay"}}]}),
        encoding="utf-8")
    config = load_config(write_config(tmp_path, [path]))
    gdf = geocode_services(ingest(config).services, config)
    row = gdf.iloc[0]
    assert row["geocode_precision"] == "exact"
    assert row["geocode_source"].startswith("listing")
    assert (round(row.geometry.x, 4), round(row.geometry.y, 4)) == (-89.2477, 48.3809)


def test_json_list_and_geopackage_listings(tmp_path):
    import geopandas as gpd
    import shapely

    js = tmp_path / "plain.json"
    js.write_text(json.dumps({"services": [
        {"id": "j1", "name": "Plain JSON", "need_types": "shelter", "lat": 46.49,
         "lon": -80.99}]}), encoding="utf-8")
    read = read_listings(js)
    assert [(r["service_id"], r["lat"], r["need_types"]) for r in read.accepted] == [
        ("j1", 46.49, "emergency_shelter")]
    gpkg = tmp_path / "layer.gpkg"
    gpd.GeoDataFrame({"id": ["g1", "g2"], "name": ["Polygon service", "Point service"],
                      "need_types": ["housing", "youth"]},
                     geometry=[shapely.box(-80, 46, -79.9, 46.1), shapely.Point(-81, 46.5)],
                     crs=4326).to_crs(3347).to_file(gpkg, layer="services", driver="GPKG")
    read = read_listings(gpkg)
    got = {r["service_id"]: (round(r["lat"], 3), round(r["lon"], 3)) for r in read.accepted}
    assert got["g2"] == (46.5, -81.0)
    assert 46.0 < got["g1"][0] < 46.1 and -80 < got["g1"][1] < -79.9  # a point inside


def test_xls_and_ods_are_read(tmp_path):
    pytest.importorskip("odf")
    df = pd.DataFrame({"Nom": ["Un", "Deux"], "Type de service": ["refuge", "jeunesse"],
                       "Ville": ["Sudbury", "Timmins"]})
    ods = tmp_path / "liste.ods"
    df.to_excel(ods, engine="odf", index=False, sheet_name="Feuille1")
    read = read_listings(ods)
    assert [r["need_types"] for r in read.accepted] == ["emergency_shelter", "youth_services"]
    assert [r["source_row"] for r in read.accepted] == ["2", "3"]
    assert "ODS" in read.described


def test_tsv_and_utf16_with_title_rows(tmp_path):
    path = tmp_path / "export.txt"
    text = ("Services list, exported 2026-11-30\n\nid\tname\tneed_types\tcity\n"
            "t1\tTab one\tcounselling\tOttawa\nt2\tTab two\tlegal aid\tOttawa\n")
    path.write_bytes(text.encode("utf-16"))
    read = read_listings(path)
    assert [r["source_row"] for r in read.accepted] == ["4", "5"]
    assert "utf-16" in read.described and "tab-separated" in read.described
    assert "header on line 3" in read.described


# -- errors that say what to change -----------------------------------------------------------

def test_missing_columns_list_the_columns_found_and_the_nearest(tmp_path):
    path = tmp_path / "typo.csv"
    path.write_text("id,name,Type de servce,Ville\n1,A,crisis,Kenora\n", encoding="utf-8")
    with pytest.raises(ListingFileError) as exc:
        read_listings(path)
    msg = str(exc.value)
    assert "missing column(s) need_types" in msg
    assert "'Type de servce'" in msg and "'Ville'" in msg
    assert 'columns = { "Type de servce" = "need_types" }' in msg


def test_columns_mapping_and_default_need_type(tmp_path):
    path = tmp_path / "agency.csv"
    path.write_text("Programme,Lieu\nSafe beds,Barrie\n", encoding="utf-8")
    with pytest.raises(ListingFileError, match="no header found"):
        read_listings(path)
    read = read_listings(path, columns={"Programme": "name", "Lieu": "city"},
                         need_type="emergency_shelter")
    assert [(r["name"], r["city"], r["need_types"]) for r in read.accepted] == [
        ("Safe beds", "Barrie", "emergency_shelter")]


def test_sheet_not_found_names_the_sheets(tmp_path):
    xlsx = make_liste_workbook(tmp_path / "w.xlsx")
    from gapmap.sources.readers import ReadOptions

    with pytest.raises(ListingFileError, match="did you mean 'Liste'"):
        read_listings(xlsx, options=ReadOptions(sheet="Lsite"))
    # without a sheet name the first sheet with a header is found
    assert "sheet 'Liste'" in read_listings(xlsx).described


def test_listing_entry_settings_are_checked(tmp_path):
    base = f'{{ path = "{FRENCH}"'
    with pytest.raises(ConfigError, match="did you mean delimiter"):
        load_config(_config_text(tmp_path, [base + ', delimeter = ";" }']))
    with pytest.raises(ConfigError, match="encoding"):
        load_config(_config_text(tmp_path, [base + ', encoding = "klingon" }']))
    with pytest.raises(ConfigError, match="did you mean need_types"):
        load_config(_config_text(tmp_path, [base + ', columns = { Nom = "need_tpyes" } }']))
    cfg = load_config(_config_text(tmp_path, [base + ', delimiter = ";", encoding = "cp1252",'
                                              ' need_type = "crisis_support" }']))
    assert cfg.inputs.listings[0].delimiter == ";"
    assert hash(cfg.inputs)  # the stages cache on settings


# -- an unreadable file: stop, or skip it loudly ----------------------------------------------

def test_unreadable_file_stops_the_run_by_default_and_can_be_skipped(tmp_path, capsys,
                                                                     caplog):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 8)
    listings = [f'{{ path = "{junk}" }}', f'{{ path = "{FRENCH}" }}']
    cfg = _config_text(tmp_path, listings)
    assert main(["ingest", "--config", str(cfg)]) == ListingFileError.exit_code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "junk.csv" in err[0] and "encoding" in err[0]
    cfg = _config_text(tmp_path, listings, extra='[ingest]\nunreadable_files = "skip"\n')
    assert main(["ingest", "--config", str(cfg)]) == 0
    captured = capsys.readouterr()
    assert "junk.csv: SKIPPED" in captured.out
    assert any("SKIPPED listing file junk.csv" in r.getMessage() and r.levelname == "WARNING"
               for r in caplog.records)
    assert "listings_fr_cp1252.csv" in captured.out
    services = pd.read_parquet(tmp_path / "interim" / "services.parquet")
    assert len(services) == sum(1 for o in FRENCH_OUTCOMES.values() if o == "accepted")


# -- the vocabulary ---------------------------------------------------------------------------

def test_an_analysts_vocabulary_extends_the_shipped_one(tmp_path):
    vocab = tmp_path / "our_terms.csv"
    vocab.write_text("need_type,term\naddiction_mental_health,aide alimentaire\n",
                     encoding="utf-8")
    cfg = load_config(_config_text(tmp_path, [f'{{ path = "{FRENCH}" }}'],
                                   extra=f'[ingest]\nvocabulary = "{vocab}"\n'))
    result = ingest(cfg)
    assert len(result.unmapped) == 0
    assert len(result.services) == sum(1 for o in FRENCH_OUTCOMES.values()
                                       if o == "accepted") + 1
    bad = tmp_path / "bad_terms.csv"
    bad.write_text("need_type,term\ncounseling,talk\n", encoding="utf-8")
    with pytest.raises(Exception, match="did you mean counselling"):
        ingest(cfg.updated(ingest={"vocabulary": bad}))


# -- contacts --------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "shown", "e164"), [
    ("416-323-6040", "(416) 323-6040", "+14163236040"),
    ("613-798-5555 ext. 13770", "(613) 798-5555 ext. 13770", "+16137985555;ext=13770"),
    ("1-888-579-2888; GTA 416-314-2447", "1-888-579-2888; GTA (416) 314-2447",
     "+18885792888, +14163142447"),
    ("211", "211", ""),
    ("", "", ""),
])
def test_phones(text, shown, e164):
    assert parse_phones(text) == (shown, e164)


@pytest.mark.parametrize(("text", "url", "ok"), [
    ("https://example.org/a?b=1", "https://example.org/a?b=1", True),
    ("www.example.org", "https://www.example.org", True),
    ("javascript:alert(1)", "", False),
    ("ftp://example.org", "", False),
    ("not a url", "", False),
])
def test_websites(text, url, ok):
    got, problem = check_website(text)
    assert got == url and (problem == "") == ok


# -- safe exports ----------------------------------------------------------------------------

DANGEROUS = ['=HYPERLINK("http://example.invalid","click")', "+cmd|' /C calc'!A0",
             "-2+3", "@SUM(1+1)", "\tTAB=1", "\rCR=1"]


def test_neutralise_makes_every_prefix_inert_and_leaves_numbers():
    df = pd.DataFrame({"text": DANGEROUS + ["-79.38"], "n": range(7)})
    out = neutralise(df)
    assert all(v.startswith("'") for v in out["text"][:6])
    assert out["text"].iloc[6] == "-79.38" and out["n"].tolist() == list(range(7))
    assert neutralise_text(-5) == -5 and neutralise_text("plain") == "plain"
    assert df["text"].iloc[0] == DANGEROUS[0]  # the caller's frame untouched


def _inert(path: Path) -> list[str]:
    """Cells of a CSV that a spreadsheet would run."""
    import re

    number = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [c for row in csv.reader(f) for c in row
                if c.startswith(FORMULA_PREFIXES) and not number.match(c)]


def test_dangerous_prefixes_come_out_inert_in_every_csv_and_raw_in_the_geopackage(tmp_path):
    path = tmp_path / "dangerous.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "organization", "need_types", "city", "address", "phone"])
        for i, text in enumerate(DANGEROUS):
            w.writerow([f"d{i}", text, text, "crisis_support", "Kenora", text, text])
        w.writerow(["d-rej", DANGEROUS[0], DANGEROUS[3], "=1+1", "Kenora", "", ""])
    from gapmap.pipeline import STAGES

    cfg = load_config(write_config(tmp_path, [path]))
    for stage in ("ingest", "geocode", "regions", "demand", "network", "travel", "gaps",
                  "report"):
        STAGES[stage](cfg)
    csvs = sorted((tmp_path / "processed").glob("*.csv"))
    assert {p.name for p in csvs} >= {"services.csv", "rejected_rows.csv",
                                      "unmapped_terms.csv", "geocode_report.csv"}
    for p in csvs:
        assert _inert(p) == [], p.name
    services = pd.read_csv(tmp_path / "processed" / "services.csv", dtype=str)
    assert services.loc[services["service_id"] == "d0", "name"].iloc[0] == "'" + DANGEROUS[0]
    import geopandas as gpd

    raw = gpd.read_file(tmp_path / "processed" / "gapmap.gpkg", layer="services")
    assert DANGEROUS[0] in set(raw["name"])


def test_a_malformed_confidential_row_shows_nothing_of_itself_in_the_quarantine(tmp_path):
    path = tmp_path / "conf.csv"
    path.write_text("id,name,need_types,address,city,lat,lon,confidential\n"
                    "c1,Safe house,emergency_shelter,9 Quiet Road,Sudbury,46.46502,-81.02917,"
                    "true,one too many\n", encoding="utf-8")
    result = ingest(load_config(write_config(tmp_path, [path])))
    assert list(result.rejected["source_row"]) == ["2"]
    text = result.rejected.to_csv(index=False)
    for secret in ("9 Quiet Road", "46.46502", "81.02917", "Safe house"):
        assert secret not in text


def test_xls_goes_through_xlrd_sheet_by_sheet(tmp_path, monkeypatch):
    # no XLS writer is installed: a stand-in for xlrd's book, with xlrd's own cell types
    import xlrd

    class Sheet:
        name = "Liste"
        rows = [["Titre"], [], ["id", "Nom", "Type de service", "Ville"],
                ["x1", "Refuge", "refuge", "Sudbury"], [2.0, "Date row", "youth", 45000.0]]
        nrows = len(rows)

        def row_values(self, r):
            return self.rows[r]

        def cell_type(self, r, c):
            return xlrd.XL_CELL_DATE if (r, c) == (4, 3) else xlrd.XL_CELL_TEXT

    class Book:
        datemode = 0

        def sheets(self):
            return [Sheet()]

    monkeypatch.setattr(xlrd, "open_workbook", lambda path: Book())
    path = tmp_path / "old.xls"
    path.write_bytes(b"stand-in")
    read = read_listings(path)
    assert read.described == "XLS, sheet 'Liste', header on row 3"
    assert [(r["service_id"], r["source_row"], r["city"]) for r in read.accepted] == [
        ("x1", "4", "Sudbury"), ("2", "5", "2023-03-15")]


def test_the_readmes_listings_example_is_a_valid_config():
    import re
    import tomllib

    from gapmap.config import config_from_dict

    from .conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Bring your own listings", 1)[1]
    block = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    cfg = config_from_dict(tomllib.loads('[run]\nname = "x"\n' + block), base=ROOT)
    assert len(cfg.inputs.listings) == 8
    assert cfg.inputs.listings[7].need_type == "counselling"  # an HSDS package
    assert cfg.ingest.unreadable_files == "skip"
