"""French Language Services Act designated areas: the shipped list read and checked, and the
rules that put each demand point in or out of a designated area (gapmap.analysis.french)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gapmap.analysis.french import designation, read_designated_areas
from gapmap.errors import SchemaError
from gapmap.io import read_table
from gapmap.sources.census import census_points

RAW = Path(__file__).resolve().parents[1] / "data" / "raw" / "ontario"


@pytest.fixture(scope="module")
def areas() -> pd.DataFrame:
    return read_designated_areas(RAW / "flsa_designated_areas.csv")


@pytest.fixture(scope="module")
def subdivisions() -> pd.DataFrame:
    return read_table(RAW / "census_subdivisions_2021.csv")


@pytest.fixture(scope="module")
def designated(areas, subdivisions) -> pd.DataFrame:
    pts = census_points(RAW / "census_tracts_2021.csv", RAW / "census_subdivisions_2021.csv")
    out = designation(pts, areas, subdivisions)
    return out.merge(pd.DataFrame(pts[["demand_id", "kind", "cduid", "pop2021"]]),
                     on="demand_id", validate="1:1")


def test_shipped_list_is_read_whole(areas):
    assert len(areas) == 43
    assert set(areas["coverage"]) == {"all", "most", "part"}
    whole = set(areas.loc[areas["csduid"] == "", "cduid"])
    assert whole == {"3502", "3548", "3552", "3554", "3556", "3557"}


def _census_pop(subdivisions: pd.DataFrame, csduid: str) -> int:
    return int(subdivisions.loc[subdivisions["csduid"] == csduid, "pop2021"].iloc[0])


@pytest.mark.parametrize("csduid,area", [("3520005", "City of Toronto"),
                                         ("3506008", "City of Ottawa")])
def test_tracts_of_a_one_subdivision_division_are_counted_exactly(
        designated, subdivisions, csduid, area):
    """Toronto's and Ottawa's tracts carry no subdivision; the nearest-subdivision rule puts
    every one of them in the city, so the designated population is the census's own."""
    got = designated[designated["designated_area"] == area]
    assert set(got["kind"]) == {"tract"}
    assert set(got["flsa_rule"]) == {"nearest subdivision"}
    assert int(got["pop2021"].sum()) == _census_pop(subdivisions, csduid)


def test_a_whole_division_designates_every_point_in_it(designated):
    algoma = designated[designated["cduid"] == "3557"]
    assert len(algoma) > 10
    assert set(algoma["designation"]) == {"all"}
    assert set(algoma["flsa_rule"]) == {"whole division"}


def test_part_rows_count_the_whole_subdivision_and_say_so(designated, subdivisions):
    hamilton = designated[designated["designated_area"].str.startswith("City of Hamilton")]
    assert set(hamilton["designation"]) == {"part"}
    assert int(hamilton["pop2021"].sum()) == _census_pop(subdivisions, "3525005")


def test_points_outside_every_area_are_not_designated(designated):
    # Caledon (Peel) and Vaughan (York) are not designated; Brampton and Mississauga are.
    peel_york = designated[designated["cduid"].isin(["3521", "3519"])]
    assert (peel_york["designation"] == "").any()
    thunder_bay_city = designated[designated["demand_id"].str.startswith("ct-595")]
    assert len(thunder_bay_city) and set(thunder_bay_city["designation"]) == {""}


def _write(tmp_path: Path, rows: list[str]) -> Path:
    p = tmp_path / "flsa.csv"
    p.write_text("designated_area,csduid,cduid,coverage,note,source\n" + "\n".join(rows) + "\n",
                 encoding="utf-8")
    return p


@pytest.mark.parametrize("row,field", [
    ("City of Toronto,3520005,3520,everything,,x", "coverage"),
    ("City of Toronto,3506008,3520,all,,x", "csduid"),
    ("City of Toronto,3520005,35,all,,x", "cduid"),
])
def test_a_bad_row_is_named_by_file_line_and_field(tmp_path, row, field):
    path = _write(tmp_path, ["City of Ottawa,3506008,3506,all,,x", row])
    with pytest.raises(SchemaError, match=rf"flsa\.csv: line 3: field {field}"):
        read_designated_areas(path)


def test_a_subdivision_listed_twice_is_refused(tmp_path):
    path = _write(tmp_path, ["City of Ottawa,3506008,3506,all,,x",
                             "Ottawa again,3506008,3506,all,,x"])
    with pytest.raises(SchemaError, match="line 3: field csduid: '3506008' is listed twice"):
        read_designated_areas(path)


def test_french_access_splits_designated_population_by_how_it_is_reached():
    from gapmap.analysis.french import french_access_by_region

    demand = pd.DataFrame({"demand_id": ["a", "b", "c", "d", "e"],
                           "pop2021": [100, 20, 3, 4000, 7],
                           "opp_region": ["East", "East", "North East", "Central", "East"]})
    designated = pd.DataFrame({"demand_id": ["a", "b", "c", "d", "e"],
                               "designation": ["all", "part", "all", "", "most"]})
    reach = pd.DataFrame({"demand_id": list("abcde"), "need_type": "crisis_support",
                          "reached_by": ["in_person", "line", "none", "in_person",
                                         "outreach"]})
    got = french_access_by_region(reach, designated, demand,
                                  regions=["East", "North East", "Central"]).set_index(
        "opp_region")
    east = got.loc["East"]
    assert east["pop_designated"] == 127 and east["pop_designated_partial"] == 27
    assert (east["pop_fr_in_person"], east["pop_fr_outreach_only"], east["pop_fr_line_only"],
            east["pop_fr_none"]) == (100, 7, 20, 0)
    assert got.loc["Central", "pop_designated"] == 0  # d is not designated
    assert got.loc["Ontario", "pop_designated"] == 130
    assert got.loc["Ontario", "pop_fr_none"] == 3
    parts = ["pop_fr_in_person", "pop_fr_outreach_only", "pop_fr_line_only", "pop_fr_none"]
    assert (got[parts].sum(axis=1) == got["pop_designated"]).all()
    with pytest.raises(ValueError, match="unknown value"):
        french_access_by_region(reach.assign(reached_by="phone"), designated, demand,
                                regions=["East"])


@pytest.mark.parametrize("languages,expected", [
    ("fr;en", "in_person"),        # states French: counts
    ("en", "none"),                # English only: does not count, and is not a maybe
    ("", "language_unknown"),      # states nothing: neither covered nor a gap
])
def test_a_service_counts_for_french_only_when_it_states_french(languages, expected):
    from gapmap.analysis.french import french_reach

    from .test_access_coverage import NEEDS, _demand, _pairs, _service, _services

    shelter = _service("shelter", "emergency_shelter;crisis_support", delivery="in_person",
                       language_codes=languages)
    got = french_reach(_pairs(), _demand(), _services(shelter), thresholds_min=NEEDS)
    d1 = got[(got["demand_id"] == "d1") & (got["need_type"] == "emergency_shelter")]
    assert d1["reached_by"].tolist() == [expected]
    # d2 is 90 min away: no service reaches it in person, whatever its languages
    d2 = got[(got["demand_id"] == "d2") & (got["need_type"] == "emergency_shelter")]
    assert d2["reached_by"].tolist() == ["none"]


def test_a_french_line_reaches_the_province_when_nothing_else_does():
    from gapmap.analysis.french import french_reach

    from .test_access_coverage import NEEDS, _demand, _pairs, _service, _services

    en_shelter = _service("shelter", "crisis_support", delivery="in_person",
                          language_codes="en")
    fr_line = _service("line", "crisis_support", point=False, delivery="virtual",
                       opp_region="all", language_codes="fr")
    got = french_reach(_pairs(), _demand(), _services(en_shelter, fr_line),
                       thresholds_min=NEEDS)
    crisis = got[got["need_type"] == "crisis_support"].set_index("demand_id")["reached_by"]
    assert crisis.to_dict() == {"d1": "line", "d2": "line", "d3": "line"}
    assert set(got.loc[got["need_type"] == "emergency_shelter", "reached_by"]) == {"none"}


def test_the_default_run_writes_french_access_that_adds_up():
    """The shipped run's table (when it exists): each region's five kinds sum to its
    designated population, and the total row equals the regions' sum."""
    from gapmap.contracts import FRENCH_ACCESS, read_stage

    from .conftest import ROOT

    path = ROOT / "data" / "processed" / FRENCH_ACCESS.file
    if not path.exists():
        pytest.skip("the default run has not been made here")
    t = read_stage(path, FRENCH_ACCESS)
    parts = ["pop_fr_in_person", "pop_fr_outreach_only", "pop_fr_line_only",
             "pop_fr_language_unknown", "pop_fr_none"]
    assert (t[parts].sum(axis=1) == t["pop_designated"]).all()
    tot = t[t["opp_region"] == "Ontario"].set_index("need_type")["pop_designated"]
    reg = t[t["opp_region"] != "Ontario"].groupby("need_type")["pop_designated"].sum()
    assert (tot.sort_index() == reg.sort_index()).all()
