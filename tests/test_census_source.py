"""gapmap.sources.census on files small enough to check by hand: no config needed."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from gapmap.errors import InputFileError, SchemaError
from gapmap.sources.census import AreaColumns, census_points, read_area_points

TRACTS = """ctuid,cma_code,cma_name,cduid,pop2021,lat,lon
5350001.00,535,Toronto,3520,4000,43.65,-79.38
5350002.00,535,Toronto,3520,5000,43.66,-79.39
"""
SUBDIVISIONS = """csduid,name,cduid,cma_code,is_reserve,pop2021,lat,lon
3520005,Toronto,3520,535,0,9000,43.7,-79.4
3560051,Sioux Lookout,3560,,0,5839,50.1,-91.9
3560060,Sandy Lake 88,3560,,1,0,53.06,-93.34
"""


def _write(tmp_path: Path, tracts: str = TRACTS, subs: str = SUBDIVISIONS) -> tuple[Path, Path]:
    ct, csd = tmp_path / "tracts.csv", tmp_path / "subdivisions.csv"
    ct.write_text(tracts, encoding="utf-8")
    csd.write_text(subs, encoding="utf-8")
    return ct, csd


def test_tracts_plus_the_subdivisions_outside_the_tracted_metro_areas(tmp_path):
    pts = census_points(*_write(tmp_path))
    assert pts.crs.to_epsg() == 4326
    assert pts["demand_id"].tolist() == ["ct-5350001.00", "ct-5350002.00", "csd-3560051",
                                         "csd-3560060"]
    assert pts["name"].tolist() == ["Toronto CT 0001.00", "Toronto CT 0002.00",
                                    "Sioux Lookout", "Sandy Lake 88"]
    assert pts["pop2021"].sum() == 4000 + 5000 + 5839  # the Toronto subdivision is its tracts
    assert pts["enumerated"].tolist() == [True, True, True, False]  # reserve counted as 0
    assert pts["csduid"].tolist() == ["", "", "3560051", "3560060"]
    assert (pts.geometry.x.iloc[2], pts.geometry.y.iloc[2]) == (-91.9, 50.1)


def test_a_bad_number_names_the_file_and_the_point(tmp_path):
    ct, csd = _write(tmp_path, subs=SUBDIVISIONS.replace("5839", "about 6k"))
    with pytest.raises(SchemaError, match=r"subdivisions\.csv: demand point csd-3560051: "
                                          r"field pop2021 is not a number \('about 6k'\)"):
        census_points(ct, csd)


def test_a_repeated_tract_or_a_missing_column_is_refused(tmp_path):
    ct, csd = _write(tmp_path, tracts=TRACTS + TRACTS.splitlines()[1] + "\n")
    with pytest.raises(SchemaError, match=r"tracts\.csv: field 'ctuid' has duplicate ids"):
        census_points(ct, csd)
    ct, csd = _write(tmp_path, subs=SUBDIVISIONS.replace("is_reserve", "reserve"))
    with pytest.raises(SchemaError, match=r"subdivisions\.csv: missing column\(s\) is_reserve"):
        census_points(ct, csd)


def _areas(tmp_path: Path, ids: list[str], pops: list[str]) -> Path:
    path = tmp_path / "blocks.gpkg"
    gpd.GeoDataFrame({"DBUID": ids, "POP": pops, "NAME": [f"b{i}" for i in range(len(ids))]},
                     geometry=[shapely.box(i * 100, 0, i * 100 + 50, 50) for i in range(len(ids))],
                     crs=3347).to_file(path)
    return path


def test_areas_become_points_inside_them(tmp_path):
    path = _areas(tmp_path, [" 35060001 ", "35200002"], ["12", "7.6"])
    pts = read_area_points(path, AreaColumns(id="DBUID", population="POP", cduid_from_id=True))
    assert pts["area_id"].tolist() == ["35060001", "35200002"]
    assert pts["cduid"].tolist() == ["3506", "3520"]
    assert pts["pop2021"].tolist() == [12, 8]
    assert pts["name"].tolist() == ["", ""] and pts["csduid"].tolist() == ["", ""]
    named = read_area_points(path, AreaColumns(id="DBUID", population="POP", name="NAME"))
    assert named["name"].tolist() == ["b0", "b1"] and named["cduid"].tolist() == ["", ""]
    boxes = gpd.read_file(path).to_crs(4326)
    assert all(box.contains(p) for box, p in zip(boxes.geometry, pts.geometry, strict=True))


def test_an_areas_file_names_the_row_and_field_it_refuses(tmp_path):
    cols = AreaColumns(id="DBUID", population="POP")
    with pytest.raises(SchemaError, match=r"DBUID 2, field POP: not a population \('-3'\)"):
        read_area_points(_areas(tmp_path, ["1", "2"], ["4", "-3"]), cols)
    with pytest.raises(SchemaError, match="row 1, field DBUID: blank id"):
        read_area_points(_areas(tmp_path, ["1", " "], ["4", "3"]), cols)
    with pytest.raises(InputFileError, match="demand file not found"):
        read_area_points(tmp_path / "none.gpkg", cols)
