"""Property tests: for every reader, over generated files, rows read = accepted + rejected,
and each rejected row carries the line (sheet row, record) it was written on: text files
(four delimiters, four encodings, title rows), XLSX, ODS, GeoJSON, JSON and GeoPackage. XLS
is left out: no XLS writer is installed to generate the files with.

Each file is generated with the outcome of every row decided first (good, malformed, blank
name, unknown need type, blank), so the expected counts and lines come from the generator,
never from gapmap's readers. Examples are bounded (``max_examples``) so that ``make test``
keeps its time: about 9 s in all (1,500 text files, 300 workbooks and 1,500 GeoJSON files
passed once, unseeded, while writing them).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gapmap.sources.listings import read_listings

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.too_slow])
HEADER = ["id", "name", "need_types", "city"]
REJECTED = {"too_many", "too_few", "blank_name", "bad_need", "junk"}
ACCEPTED = {"good", "good_multiline"}

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèàçôÉ ,;|'\"-", min_size=0,
                max_size=10)
needs = st.lists(st.sampled_from(["crisis_support", "Women's shelter", "CALACS", "jeunesse",
                                  "legal aid", "intervention en situation de crise"]),
                 min_size=1, max_size=3).map(", ".join)


def _row(kind: str, n: int, name: str, need: str, city: str) -> list[str]:
    row = [f"r{n}", "N" + name.strip(), need, city]
    if kind == "good_multiline":
        row[1] += "\nsecond line"
    elif kind == "too_many":
        row.append("extra" + name)
    elif kind == "too_few":
        row = row[:3]
    elif kind == "blank_name":
        row[1] = ""
    elif kind == "bad_need":
        row[2] = "qqq not a need"
    return row


@st.composite
def text_listing(draw):
    """(file bytes, encoding, {line: accepted?}) of a delimited text file."""
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    titles = draw(st.integers(0, 2))
    kinds = draw(st.lists(st.sampled_from(sorted(REJECTED | ACCEPTED | {"blank"})),
                          max_size=20))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    line = 1
    for t in range(titles):
        out.write(f"Liste des services {t}\n")
        line += 1
    writer.writerow(HEADER)
    line += 1
    expected: dict[int, bool] = {}
    for n, kind in enumerate(kinds):
        if kind == "blank":
            out.write("\n")
            line += 1
            continue
        if kind == "junk":
            out.write("\x00\x01junk\x02\n")
            expected[line] = False
            line += 1
            continue
        before = out.tell()
        writer.writerow(_row(kind, n, draw(words), draw(needs), draw(words)))
        expected[line] = kind in ACCEPTED
        line += out.getvalue()[before:].count("\n")
    return out.getvalue().encode(encoding), expected


@PROPERTY_SETTINGS
@given(text_listing())
def test_text_files_balance(generated):
    data, expected = generated
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "generated.csv"
        path.write_bytes(data)
        read = read_listings(path)
    assert read.rows_read == len(expected) == len(read.accepted) + len(read.rejected)
    assert sorted(int(r["source_row"]) for r in read.accepted) == \
        sorted(k for k, ok in expected.items() if ok)
    assert sorted(int(r["source_row"]) for r in read.rejected) == \
        sorted(k for k, ok in expected.items() if not ok)


@st.composite
def sheet_listing(draw):
    titles = draw(st.integers(0, 3))
    kinds = draw(st.lists(st.sampled_from(["good", "too_many", "blank_name", "bad_need",
                                           "blank"]), max_size=15))
    rows: list[list[object]] = [[f"Répertoire {t}"] for t in range(titles)]
    rows.append(HEADER)
    expected: dict[int, bool] = {}
    for n, kind in enumerate(kinds):
        if kind == "blank":
            rows.append([])
            continue
        row: list[object] = _row(kind, n, draw(words), draw(needs), draw(words))
        rows.append(row)
        expected[len(rows)] = kind == "good"
    sheet = draw(st.sampled_from(["Liste", "Sheet1", "Services 2026"]))
    return rows, sheet, expected


def _write_xlsx(path: Path, rows: list[list[object]], sheet: str) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active.append(["nothing here"])
    ws = wb.create_sheet(sheet)
    for row in rows:
        ws.append(row)
    wb.save(path)


def _write_ods(path: Path, rows: list[list[object]], sheet: str) -> None:
    import pandas as pd

    width = max(len(r) for r in rows)
    frame = pd.DataFrame([r + [None] * (width - len(r)) for r in rows])
    with pd.ExcelWriter(path, engine="odf") as writer:
        pd.DataFrame([["nothing here"]]).to_excel(writer, sheet_name="Notes", index=False,
                                                  header=False)
        frame.to_excel(writer, sheet_name=sheet, index=False, header=False)


@pytest.mark.parametrize(("suffix", "write", "examples"), [
    (".xlsx", _write_xlsx, 40), (".ods", _write_ods, 10)])
def test_workbooks_balance(suffix, write, examples):
    @settings(max_examples=examples, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(sheet_listing())
    def check(generated):
        rows, sheet, expected = generated
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"generated{suffix}"
            write(path, rows, sheet)
            read = read_listings(path)
        assert read.rows_read == len(expected) == len(read.accepted) + len(read.rejected)
        assert sorted(int(r["source_row"]) for r in read.rejected) == \
            sorted(k for k, ok in expected.items() if not ok)

    check()


@st.composite
def records_listing(draw):
    """(records as (properties, (lon, lat) or None), {record number: accepted?})."""
    kinds = draw(st.lists(st.sampled_from(["good", "blank_name", "bad_need", "point"]),
                          max_size=15))
    records, expected = [], {}
    for n, kind in enumerate(kinds, 1):
        row = _row("good" if kind == "point" else kind, n, draw(words), draw(needs),
                   draw(words))
        point = (-80.0, 46.0 + n / 100) if kind == "point" else None
        records.append((dict(zip(HEADER, row, strict=True)), point))
        expected[n] = kind in ("good", "point")
    return records, expected


def _write_geojson(path: Path, records: list) -> None:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props,
         "geometry": {"type": "Point", "coordinates": list(pt)} if pt else None}
        for props, pt in records]}), encoding="utf-8")


def _write_json(path: Path, records: list) -> None:
    path.write_text(json.dumps({"services": [
        {**props, **({"lon": pt[0], "lat": pt[1]} if pt else {})} for props, pt in records]}),
        encoding="utf-8")


def _write_gpkg(path: Path, records: list) -> None:
    import geopandas as gpd
    import shapely

    props = [p for p, _ in records] or [dict.fromkeys(HEADER, "")]
    geoms = [shapely.Point(pt) if pt else None for _, pt in records] or [None]
    gdf = gpd.GeoDataFrame(props, geometry=geoms, crs=4326)
    gdf.iloc[:len(records)].to_file(path, layer="services", driver="GPKG")


@pytest.mark.parametrize(("suffix", "write", "examples"), [
    (".geojson", _write_geojson, 200), (".json", _write_json, 100),
    (".gpkg", _write_gpkg, 15)])
def test_record_files_balance_and_points(suffix, write, examples):
    @settings(max_examples=examples, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(records_listing())
    def check(generated):
        records, expected = generated
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"generated{suffix}"
            write(path, records)
            read = read_listings(path)
        assert read.rows_read == len(expected) == len(read.accepted) + len(read.rejected)
        assert sorted(int(r["source_row"]) for r in read.rejected) == \
            sorted(k for k, ok in expected.items() if not ok)
        for r in read.accepted:
            point = records[int(r["source_row"]) - 1][1]
            if point:
                assert (r["lon"], r["lat"]) == point

    check()
