"""What counts as access (issue 16): in the community, by kind (in person, outreach, line),
open when needed and for whom, on small fixtures whose answer is known by hand, and
Moosonee's hospital on the shipped data."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gapmap.analysis.access import (
    admits,
    eligibility_by_need,
    reach_areas,
    reach_by_kind,
    reach_with_rules,
)
from gapmap.analysis.coverage import coverage_by_region, coverage_in_depth, gap_communities
from gapmap.config import load_config
from gapmap.contracts import (
    COVERAGE,
    COVERAGE_DEPTH,
    ELIGIBILITY_BY_NEED,
    GAP_COMMUNITIES,
    REACH,
    access_text,
    counts_by_road,
    read_stage,
)
from gapmap.demand import build_demand, remote_communities
from gapmap.sources.odhf import read_odhf_hospitals
from gapmap.travel import (
    TravelEngine,
    flag_fly_in_services,
    in_community_pairs,
    nearest_service_times,
)

from .conftest import ROOT, two_disconnected_roads

NEEDS = {"crisis_support": 60.0, "emergency_shelter": 60.0}
KINDS = ["pop_in_person", "pop_outreach_only", "pop_line_only", "pop_hours_unknown",
         "pop_not_reached"]


# -- a small world: three communities, a shelter, an outreach worker, a province-wide line --

def _demand() -> pd.DataFrame:
    return pd.DataFrame({
        "demand_id": ["d1", "d2", "d3"], "name": ["Near", "Far", "North"],
        "census_code": ["3501001", "3501002", "3560050"], "kind": ["subdivision"] * 3,
        "csduid": ["3501001", "3501002", "3560050"], "cduid": ["3501", "3501", "3560"],
        "pop2021": [1000, 500, 200], "opp_region": ["East", "East", "North West"],
        "cd_name": ["Stormont", "Stormont", "Kenora"], "enumerated": [True] * 3,
        "air_hub": [""] * 3, "remote_community": [""] * 3, "access": ["road"] * 3})


def _service(sid: str, needs: str, *, point: bool = True, **cols: object) -> dict:
    row = {"service_id": sid, "name": sid.replace("-", " "), "city": "Cornwall",
           "need_types": needs, "geocode_precision": "exact" if point else "none",
           "confidential": False, "opp_region": "East", "cduid": "3501" if point else "",
           "area_cduids": "", "service_area_codes": "", "delivery": "", "open_24_7": "unknown",
           "gender_limit": "", "eligible_groups": "", "age_min": np.nan, "age_max": np.nan,
           "geometry": shapely.Point(-74.73, 45.02) if point else None}
    row.update(cols)
    return row


def _services(*rows: dict) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(list(rows), geometry="geometry", crs=4326)


SHELTER = _service("shelter", "emergency_shelter;crisis_support", delivery="in_person",
                   open_24_7="yes")
OUTREACH = _service("outreach", "crisis_support", point=False, delivery="outreach",
                    area_cduids="3501", open_24_7="no")
LINE = _service("line", "crisis_support", point=False, delivery="virtual", opp_region="all",
                open_24_7="yes")


def _travel() -> pd.DataFrame:
    """The nearest in-person service by road: d1 20 min from the shelter, d2 90 min, d3 no
    road path."""
    rows = []
    for need in NEEDS:
        rows += [("d1", need, 20.0, "shelter", "road"), ("d2", need, 90.0, "shelter", "road"),
                 ("d3", need, np.nan, "", "unreachable")]
    return pd.DataFrame(rows, columns=["demand_id", "need_type", "travel_min", "service_id",
                                       "access"]).assign(route="")


def _pairs() -> pd.DataFrame:
    """The in-person pairs within the longest threshold (60 min): only d1 and the shelter."""
    return pd.DataFrame({"demand_id": ["d1"], "service_id": ["shelter"], "travel_min": [20.0],
                         "access": ["road"], "route": ["network"]})


def _coverage(services: gpd.GeoDataFrame, *, need_24_7: tuple[str, ...] = (),
              group: str = "women_with_children") -> pd.DataFrame:
    reach = reach_with_rules(_pairs(), _demand(), services, thresholds_min=NEEDS,
                             need_24_7=need_24_7, group=group)
    cov = coverage_by_region(_travel(), _demand(), services, thresholds_min=NEEDS,
                             regions=["East", "North West"], reach=reach,
                             need_24_7=need_24_7, group=group)
    return COVERAGE.check(cov, "fixture").set_index(["opp_region", "need_type"])


def test_each_kind_is_its_own_column_and_they_sum_to_the_population():
    cov = _coverage(_services(SHELTER, OUTREACH, LINE))
    crisis = cov.xs("crisis_support", level="need_type")
    # d1 in person, d2 by the district's outreach worker, d3 only by the line
    assert crisis.loc["Ontario", KINDS].tolist() == [1000, 500, 200, 0, 0]
    assert crisis.loc["East", KINDS].tolist() == [1000, 500, 0, 0, 0]
    assert crisis.loc["North West", KINDS].tolist() == [0, 0, 200, 0, 0]
    # the in-person figure never takes in outreach or lines: it is the drive-time coverage
    assert (cov["pop_in_person"] == cov["pop_covered"]).all()
    assert (cov[KINDS].sum(axis=1) == cov["pop2021"]).all()
    # the shelter need has no outreach or line: only the drive counts
    shelter = cov.xs("emergency_shelter", level="need_type")
    assert shelter.loc["Ontario", KINDS].tolist() == [1000, 0, 0, 0, 700]
    assert crisis.loc["Ontario", ["services_outreach", "services_virtual"]].tolist() == [1, 1]


def test_removing_a_province_wide_24_7_line_changes_virtual_coverage_and_nothing_else():
    with_line = _coverage(_services(SHELTER, OUTREACH, LINE))
    without = _coverage(_services(SHELTER, OUTREACH))
    people = [c for c in with_line.columns if c.startswith("pop")]
    changed = [c for c in people if not with_line[c].equals(without[c])]
    assert sorted(changed) == ["pop_line_only", "pop_line_only_for_group", "pop_not_reached",
                               "pop_not_reached_for_group"]
    # of the services counted, only those the line was: a virtual one, listed at no point
    counts = [c for c in with_line.columns if c.startswith("services")]
    moved = (with_line.loc[("Ontario", "crisis_support"), counts]
             - without.loc[("Ontario", "crisis_support"), counts])
    assert moved[moved != 0].to_dict() == {"services_area_level": 1, "services_virtual": 1,
                                           "services_eligibility_unknown": 1}
    assert with_line.loc[("Ontario", "crisis_support"), "pop_line_only"] == 200
    assert without.loc[("Ontario", "crisis_support"), "pop_line_only"] == 0
    assert without.loc[("Ontario", "crisis_support"), "pop_not_reached"] == 200
    # the gap table says what reaches the community instead of a drive
    args = dict(thresholds_min=NEEDS, services=_services(SHELTER, OUTREACH, LINE))
    reach = reach_with_rules(_pairs(), _demand(), args["services"], thresholds_min=NEEDS)
    gaps = gap_communities(_travel(), _demand(), reach=reach, **args)
    GAP_COMMUNITIES.check(gaps, "fixture")
    crisis = gaps[gaps["need_type"] == "crisis_support"].set_index("demand_id")
    assert crisis["reached_by"].to_dict() == {"d2": "outreach", "d3": "line"}
    reach = reach_with_rules(_pairs(), _demand(), _services(SHELTER, OUTREACH),
                             thresholds_min=NEEDS)
    gaps = gap_communities(_travel(), _demand(), reach=reach, thresholds_min=NEEDS)
    crisis = gaps[gaps["need_type"] == "crisis_support"].set_index("demand_id")
    assert crisis["reached_by"].to_dict() == {"d2": "outreach", "d3": "none"}


def test_a_9_to_5_line_does_not_count_where_24_7_is_required_and_unknown_hours_stand_apart():
    nine_to_five = dict(LINE, open_24_7="no")
    unknown = dict(LINE, open_24_7="unknown")
    crisis = ("Ontario", "crisis_support")
    # without the rule the office-hours line reaches d3 (and the 9-to-5 outreach d2)
    assert _coverage(_services(SHELTER, OUTREACH, nine_to_five)).loc[crisis, KINDS].tolist() \
        == [1000, 500, 200, 0, 0]
    required = _coverage(_services(SHELTER, OUTREACH, nine_to_five),
                         need_24_7=("crisis_support",))
    assert required.loc[crisis, KINDS].tolist() == [1000, 0, 0, 0, 700]
    assert bool(required.loc[crisis, "requires_24_7"])
    hours = _coverage(_services(SHELTER, OUTREACH, unknown), need_24_7=("crisis_support",))
    # d2 and d3 are reached only by the line whose hours are unknown: neither covered nor not
    assert hours.loc[crisis, KINDS].tolist() == [1000, 0, 0, 700, 0]
    assert hours.loc[crisis, "services_hours_unknown"] == 1
    # the shelter's need is not required 24/7: unchanged
    assert hours.loc[("Ontario", "emergency_shelter"), "pop_in_person"] == 1000


def test_an_in_person_service_of_unknown_hours_is_not_counted_where_24_7_is_required():
    shelter = dict(SHELTER, open_24_7="unknown")
    cov = _coverage(_services(shelter), need_24_7=("emergency_shelter",))
    assert cov.loc[("Ontario", "emergency_shelter"), KINDS].tolist() == [0, 0, 0, 1000, 700]
    cov = _coverage(_services(dict(SHELTER, open_24_7="no")), need_24_7=("emergency_shelter",))
    assert cov.loc[("Ontario", "emergency_shelter"), KINDS].tolist() == [0, 0, 0, 0, 1700]


def test_unknown_hours_in_person_is_not_turned_into_line_only_by_a_24_7_line():
    shelter = dict(SHELTER, open_24_7="unknown")
    cov = _coverage(_services(shelter, LINE), need_24_7=("crisis_support",))
    # d1 has the shelter (hours unknown) 20 min away: unknown, not "line only"; d2, d3: line
    assert cov.loc[("Ontario", "crisis_support"), KINDS].tolist() == [0, 0, 700, 1000, 0]
    known = _coverage(_services(SHELTER, LINE), need_24_7=("crisis_support",))
    assert known.loc[("Ontario", "crisis_support"), KINDS].tolist() == [1000, 0, 700, 0, 0]


def test_a_men_only_shelter_counts_for_anyone_but_not_for_the_default_group():
    men = dict(SHELTER, gender_limit="men")
    cov = _coverage(_services(men))
    row = cov.loc[("Ontario", "emergency_shelter")]
    assert row["for_group"] == "women_with_children"
    assert row["pop_in_person"] == 1000
    assert row["pop_in_person_for_group"] == 0
    assert row["pop_not_reached_for_group"] == 1700
    assert row["services_exclude_group"] == 1
    # for men, the same shelter counts
    men_run = _coverage(_services(men), group="men")
    assert men_run.loc[("Ontario", "emergency_shelter"), "pop_in_person_for_group"] == 1000


def test_unknown_eligibility_counts_for_the_group_and_is_reported_as_unknown():
    cov = _coverage(_services(SHELTER))
    row = cov.loc[("Ontario", "emergency_shelter")]
    assert row["pop_in_person_for_group"] == row["pop_in_person"] == 1000
    assert row["services_eligibility_unknown"] == 1
    women = _coverage(_services(dict(SHELTER, gender_limit="women")))
    assert women.loc[("Ontario", "emergency_shelter"), "services_eligibility_unknown"] == 0


def test_a_youth_only_shelter_is_listed_with_its_limit():
    youth = _service("youth-shelter", "emergency_shelter", eligible_groups="youth",
                     age_min=16.0, age_max=24.0)
    families = _service("family-shelter", "emergency_shelter", eligible_groups="families")
    men = _service("men-shelter", "emergency_shelter", gender_limit="men")
    services = _services(SHELTER, youth, families, men)
    assert admits(services, "women_with_children").tolist() == ["unknown", "no", "yes", "no"]
    # for a youth run a men-only shelter states a limit that does not shut youth out
    assert admits(services, "youth").tolist() == ["unknown", "yes", "no", "yes"]
    table = ELIGIBILITY_BY_NEED.check(
        eligibility_by_need(services, list(NEEDS), group="women_with_children"), "fixture")
    row = table.set_index("need_type").loc["emergency_shelter"]
    assert row["services"] == 4
    assert row["services_restricted"] == 3
    assert row["restricted_to"] == "families 1; men 1; youth; ages 16-24 1"
    assert "youth-shelter youth shelter (youth; ages 16-24)" in row["restricted_services"]
    assert (row["services_admit_group"], row["services_exclude_group"],
            row["services_eligibility_unknown"]) == (1, 2, 1)
    assert table.set_index("need_type").loc["crisis_support", "services"] == 1


# -- delivery kinds and areas -----------------------------------------------------------------

def test_outreach_or_virtual_only_never_counts_in_person_and_unknown_with_a_point_does():
    services = _services(
        _service("both", "crisis_support", delivery="in_person;outreach"),
        _service("unknown", "crisis_support"),
        _service("outreach-office", "crisis_support", delivery="outreach"),
        _service("line-office", "crisis_support", delivery="virtual"),
        _service("unknown-unplaced", "crisis_support", point=False))
    assert counts_by_road(services).tolist() == [True, True, False, False, False]
    # the outreach-only office, though placed with a pair, does not reach d1 in person
    pairs = pd.DataFrame({"demand_id": ["d1"] * 2, "service_id": ["outreach-office", "unknown"],
                          "travel_min": [5.0, 50.0], "access": ["road"] * 2})
    r = reach_by_kind(pairs, _demand(), services.iloc[[2]], thresholds_min=NEEDS)
    assert not r["in_person"].any()
    r = reach_by_kind(pairs, _demand(), services, thresholds_min={"crisis_support": 30.0})
    assert not r["in_person"].any()  # the unknown one is 50 min away: beyond 30
    cov = coverage_by_region(_travel(), _demand(), services, thresholds_min=NEEDS,
                             regions=["East"])
    assert cov.set_index(["opp_region", "need_type"]).loc[
        ("Ontario", "crisis_support"), "services_delivery_unknown"] == 2


def test_areas_are_the_codes_a_service_names_else_a_stated_fallback():
    services = _services(
        _service("by-subdivision", "crisis_support", point=False, delivery="outreach",
                 service_area_codes="3501002"),
        _service("by-division", "crisis_support", point=False, delivery="outreach",
                 area_cduids="3560"),
        _service("province", "crisis_support", point=False, delivery="virtual",
                 service_area_codes="ON"),
        _service("placed-line", "crisis_support", delivery="virtual"),
        _service("region-only", "crisis_support", point=False, delivery="outreach",
                 opp_region="North West"),
        _service("nowhere-outreach", "crisis_support", point=False, delivery="outreach",
                 opp_region=""),
        _service("nowhere-line", "crisis_support", point=False, delivery="virtual",
                 opp_region=""))
    areas = reach_areas(services).map(sorted).tolist()
    assert areas == [["3501002"], ["3560"], ["ON"], ["3501"], ["region:North West"], [],
                     ["ON"]]
    pairs = _pairs().iloc[:0]
    reached = {}
    for i, sid in enumerate(services["service_id"]):
        r = reach_by_kind(pairs, _demand(), services.iloc[[i]],
                          thresholds_min={"crisis_support": 60.0})
        hit = r["outreach"] | r["line"]
        reached[sid] = r.loc[hit, "demand_id"].tolist()
    assert reached == {"by-subdivision": ["d2"], "by-division": ["d3"],
                       "province": ["d1", "d2", "d3"], "placed-line": ["d1", "d2"],
                       "region-only": ["d3"], "nowhere-outreach": [],
                       "nowhere-line": ["d1", "d2", "d3"]}


def test_the_long_table_reports_outreach_and_lines_beside_in_person():
    services = _services(SHELTER, OUTREACH, LINE)
    reach = reach_with_rules(_pairs(), _demand(), services, thresholds_min=NEEDS)
    depth = coverage_in_depth(_travel(), _demand(), services, thresholds_min=NEEDS,
                              depth_min=[30.0, 120.0], regions=["East"], reach=reach)
    COVERAGE_DEPTH.check(depth, "fixture")
    crisis = depth[(depth["need_type"] == "crisis_support")
                   & (depth["opp_region"] == "Ontario")].set_index("threshold_min")
    # at 120 min d2 is in person (90 min), so it is no longer "outreach only"
    assert crisis.loc[60.0, ["pop_in_person", "pop_outreach_only", "pop_line_only"]].tolist() \
        == [1000, 500, 200]
    assert crisis.loc[120.0, ["pop_in_person", "pop_outreach_only", "pop_line_only"]].tolist() \
        == [1500, 0, 200]


# -- in the community -------------------------------------------------------------------------

def _remote() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"community": ["A", "B"], "csduids": [["3560001"], ["3560002"]]},
                            geometry=[shapely.Point(-88.0, 52.0), shapely.Point(-88.0, 52.5)],
                            crs=4326)


def test_inside_means_within_the_radius_of_the_nearest_remote_community():
    # ~4 km and ~6 km north of community A (0.036 and 0.054 degrees of latitude)
    services = _services(
        _service("near", "medical_care", geometry=shapely.Point(-88.0, 52.036)),
        _service("far", "medical_care", geometry=shapely.Point(-88.0, 52.054)),
        _service("b-clinic", "medical_care", geometry=shapely.Point(-88.0, 52.49)))
    flagged = flag_fly_in_services(services, _remote(), within_km=5.0)
    assert flagged["access"].tolist() == ["no_all_season_road", "road", "no_all_season_road"]
    assert flagged["community_csduids"].tolist() == ["3560001", "", "3560002"]
    wider = flag_fly_in_services(services, _remote(), within_km=7.0)
    assert wider["community_csduids"].tolist() == ["3560001", "3560001", "3560002"]
    demand = gpd.GeoDataFrame({
        "demand_id": ["csd-3560001", "csd-3560002", "csd-3501001"],
        "csduid": ["3560001", "3560002", "3501001"],
        "access": ["no_all_season_road", "no_all_season_road", "road"]},
        geometry=[shapely.Point(-88.0, 52.0), shapely.Point(-88.0, 52.5),
                  shapely.Point(-74.7, 45.0)], crs=4326)
    pairs = in_community_pairs(demand, flagged)
    assert sorted(zip(pairs["demand_id"], pairs["service_id"], strict=True)) == [
        ("csd-3560001", "near"), ("csd-3560002", "b-clinic")]
    assert (pairs["travel_min"] == 0).all() and (pairs["access"] == "in_community").all()
    # an outreach-only worker based in the community is not an in-person service there
    outreach = flag_fly_in_services(_services(_service(
        "worker", "medical_care", delivery="outreach",
        geometry=shapely.Point(-88.0, 52.0))), _remote(), within_km=5.0)
    assert not len(in_community_pairs(demand, outreach))


@pytest.fixture(scope="module")
def moosonee(ontario_config):
    """The shipped data around Moosonee: its census point (and Timmins'), the ODHF
    hospitals, the remote-communities flags, and a road graph far from both."""
    config = ontario_config
    demand = build_demand(config)
    demand = demand[demand["demand_id"].isin(["csd-3556106", "csd-3556027"])].copy()
    demand["opp_region"], demand["cd_name"] = "North East", "Cochrane"
    province = gpd.read_file(config.inputs.province)
    accepted, _, _, _ = read_odhf_hospitals(config.inputs.hospitals, province, buffer_km=5.0)
    h = pd.DataFrame(accepted)
    h = h[h["city"].str.lower().isin(["moosonee", "timmins"])].copy()
    services = gpd.GeoDataFrame(
        h.assign(geocode_precision="exact", opp_region="North East", delivery=""),
        geometry=gpd.points_from_xy(h["lon"].astype(float), h["lat"].astype(float)), crs=4326)
    services = flag_fly_in_services(services, remote_communities(config),
                                    within_km=config.network.fly_in_service_km)
    return config, demand, services


def test_moosonees_hospital_covers_moosonees_medical_care(moosonee):
    config, demand, services = moosonee
    hospital = services.set_index("service_id").loc["odhf-5985"]
    assert "Moosonee" in hospital["name"] and hospital["access"] == "no_all_season_road"
    assert hospital["community_csduids"] == "3556106"
    engine = TravelEngine(two_disconnected_roads(), config.network)
    needs = ("medical_care", "crisis_support")
    travel = nearest_service_times(engine, demand, services, needs).set_index(
        ["demand_id", "need_type"])
    row = travel.loc[("csd-3556106", "medical_care")]
    assert (row["access"], row["travel_min"], row["service_id"]) == (
        "in_community", 0.0, "odhf-5985")
    assert access_text("in_community").startswith("in the community")
    # its other needs still say no all-season road, and the gap table names the air hub
    assert travel.loc[("csd-3556106", "crisis_support"), "access"] == "no_all_season_road"
    limits = {"medical_care": 60.0, "crisis_support": 60.0}
    t = travel.reset_index()
    cov = coverage_by_region(t, demand, services, thresholds_min=limits,
                             regions=["North East"]).set_index(["opp_region", "need_type"])
    moosonee_pop = int(demand.set_index("demand_id").at["csd-3556106", "pop2021"])
    assert moosonee_pop > 1000
    assert cov.loc[("North East", "medical_care"), "pop_covered"] >= moosonee_pop
    gaps = gap_communities(t, demand, thresholds_min=limits, services=services)
    mine = gaps[gaps["demand_id"] == "csd-3556106"]
    assert mine["need_type"].tolist() == ["crisis_support"]
    assert "no all-season road" in mine["note"].iloc[0]
    assert "nearest air hub Timmins" in mine["note"].iloc[0]
    # without the rule (no radius) the hospital would not count for its own town
    apart = flag_fly_in_services(services.drop(columns=["access", "community_csduids"]),
                                 remote_communities(config), within_km=0.0)
    none = nearest_service_times(engine, demand, apart, needs).set_index(
        ["demand_id", "need_type"])
    assert none.loc[("csd-3556106", "medical_care"), "access"] == "no_all_season_road"


# -- the stage ------------------------------------------------------------------------------

def test_the_gaps_stage_writes_the_kinds_and_eligibility(small_run):
    from gapmap.pipeline import StagePaths

    p = StagePaths.of(small_run)
    pairs = read_stage(p.reach, REACH)
    assert set(pairs["access"]) <= {"road", "estimate", "in_community"}
    assert pairs["travel_min"].max() <= max(small_run.coverage.threshold(n)
                                            for n in small_run.need_types)
    cov = read_stage(p.coverage, COVERAGE)
    assert (cov[KINDS].sum(axis=1) == cov["pop2021"]).all()
    assert (cov["pop_in_person"] == cov["pop_covered"]).all()  # no 24/7 need by default
    assert set(cov["for_group"]) == {"women_with_children"}
    table = read_stage(p.eligibility, ELIGIBILITY_BY_NEED)
    assert table["need_type"].tolist() == list(small_run.need_types)


def test_the_24_7_setting_names_need_types():
    from gapmap.config import AccessSettings

    assert AccessSettings().need_24_7 == ()
    assert AccessSettings().for_group == "women_with_children"
    assert replace(AccessSettings(), need_24_7=("crisis_support",)).need_24_7 == (
        "crisis_support",)
    with pytest.raises(ValueError):
        AccessSettings(need_24_7=("crisis_lines",))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        AccessSettings(for_group="everyone")  # type: ignore[arg-type]
    assert load_config(ROOT / "configs" / "ontario.toml").access.need_24_7 == ()
