"""Coverage in depth, the gap score, names people know and wraparound, on a five-community
line worked by hand (no config, no files)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gapmap.analysis.coverage import coverage_in_depth, gap_communities, weighted_quantile
from gapmap.analysis.names import census_code, community_names
from gapmap.analysis.wraparound import wraparound_by_community, wraparound_by_region

# Five communities on a line, 20 minutes apart; a clinic (medical_care) at A and a
# court (court_support) at E. Populations 100, 200, 300, 400, 500.
POP = [100, 200, 300, 400, 500]
IDS = [f"csd-35000{i}" for i in range(5)]


def _demand() -> pd.DataFrame:
    return pd.DataFrame({
        "demand_id": IDS, "name": list("ABCDE"), "kind": "subdivision", "pop2021": POP,
        "opp_region": ["East", "East", "East", "West", "West"], "cd_name": "X",
        "enumerated": True, "air_hub": "", "remote_community": "", "access": "road"})


def _services() -> pd.DataFrame:
    return pd.DataFrame({
        "service_id": ["clinic", "court"], "name": ["Clinic at A", "Court at E"],
        "city": ["Aville", "Eton"], "need_types": ["medical_care", "court_support"],
        "opp_region": ["East", "West"], "geocode_precision": ["exact", "exact"]})


def _travel() -> pd.DataFrame:
    rows = []
    for i, d in enumerate(IDS):
        rows.append((d, "medical_care", 20.0 * i, "clinic", "road"))
        rows.append((d, "court_support", 20.0 * (4 - i), "court", "road"))
    return pd.DataFrame(rows, columns=["demand_id", "need_type", "travel_min", "service_id",
                                       "access"])


LIMITS = {"medical_care": 30.0, "court_support": 30.0}


def test_the_long_table_has_a_row_per_region_need_and_time():
    t = coverage_in_depth(_travel(), _demand(), _services(), thresholds_min=LIMITS,
                          depth_min=[30, 60, 90], regions=["East", "West"])
    # 3 rows (East, West, Ontario) x 2 needs x 3 times (30 is both a depth and the threshold)
    assert len(t) == 18
    row = t.set_index(["opp_region", "need_type", "threshold_min"])
    # medical care from A: 0, 20, 40, 60, 80 min
    assert row.loc[("Ontario", "medical_care", 30.0), "pop_in_person"] == 300
    assert row.loc[("Ontario", "medical_care", 60.0), "pop_in_person"] == 1000
    assert row.loc[("Ontario", "medical_care", 90.0), "pct_in_person"] == 100.0
    assert row.loc[("Ontario", "medical_care", 30.0), "need_threshold"]
    assert not row.loc[("Ontario", "medical_care", 60.0), "need_threshold"]
    # population-weighted mean: (0*100 + 20*200 + 40*300 + 60*400 + 80*500) / 1500
    assert row.loc[("Ontario", "medical_care", 30.0), "mean_travel_min"] == pytest.approx(
        round(80000 / 1500, 1))
    # 90th percentile by people: the farthest 500 people (E) hold the top third
    assert row.loc[("Ontario", "medical_care", 30.0), "p90_travel_min"] == 80.0
    assert row.loc[("East", "medical_care", 30.0), "pop2021"] == 600
    assert row.loc[("West", "court_support", 30.0), "pop_in_person"] == 900


def test_the_gap_score_ranks_people_times_minutes_beyond():
    g = gap_communities(_travel(), _demand(), thresholds_min=LIMITS, services=_services())
    med = g[g["need_type"] == "medical_care"].set_index("name")
    # C: 300 x 10 = 3000; D: 400 x 30 = 12000; E: 500 x 50 = 25000
    assert med.loc["C", "gap_score"] == 3000 and med.loc["E", "gap_score"] == 25000
    assert med.loc["D", "minutes_beyond"] == 30.0
    west = g[(g["need_type"] == "medical_care") & (g["opp_region"] == "West")]
    assert west["name"].tolist() == ["E", "D"] and west["rank"].tolist() == [1, 2]
    assert med.loc["E", "service_name"] == "Clinic at A"
    assert med.loc["E", "service_town"] == "Aville"
    assert med.loc["E", "census_code"] == "350004"


def test_communities_with_no_time_rank_after_those_with_one():
    travel = _travel()
    travel.loc[(travel["demand_id"] == IDS[2]) & (travel["need_type"] == "medical_care"),
               ["travel_min", "access"]] = [np.nan, "no_all_season_road"]
    g = gap_communities(travel, _demand(), thresholds_min=LIMITS, services=_services())
    east = g[(g["need_type"] == "medical_care") & (g["opp_region"] == "East")]
    assert east["name"].tolist() == ["C"]
    assert np.isnan(east["gap_score"].iloc[0])


def test_a_tract_is_named_near_its_nearest_town_and_keeps_its_code():
    demand = pd.DataFrame({"demand_id": ["ct-5680001.00", "csd-3543064", "ct-5680099.00"],
                           "kind": ["tract", "subdivision", "tract"],
                           "name": ["Barrie CT 0001.00", "Innisfil", "Barrie CT 0099.00"]})
    xy = np.array([[0.0, 0.0], [50_000.0, 0.0], [0.0, 40_000.0]])
    towns = np.array([[3_000.0, 0.0], [100_000.0, 0.0]])
    names = community_names(xy, demand["kind"], demand["name"], towns,
                            pd.Series(["Innisfil", "Far"]), near_within_km=10)
    assert names.tolist() == ["near Innisfil", "Innisfil", "40 km from Innisfil"]
    assert census_code(demand).tolist() == ["5680001.00", "3543064", "5680099.00"]


def test_wraparound_counts_needs_reached_together():
    w = wraparound_by_community(_travel(), _demand(), thresholds_min=LIMITS)
    # A, B reach medical care; D, E the court; C (40 min from both) reaches neither
    assert w["needs_reached"].tolist() == [1, 1, 0, 1, 1]
    assert w.loc[2, "needs_missing"] == "medical_care;court_support"
    r = wraparound_by_region(w, regions=["East", "West"])
    tot = r[r["opp_region"] == "Ontario"].set_index("needs_reached")
    assert tot.loc[0, "pop2021"] == 300 and tot.loc[1, "pop2021"] == 1200
    assert tot.loc[2, "pop2021"] == 0
    assert tot.loc[0, "mean_needs_reached"] == pytest.approx(round(1200 / 1500, 2))


def test_weighted_quantile_by_hand():
    assert weighted_quantile(np.array([10.0, 20.0, 30.0]), np.array([1, 1, 8]), 0.5) == 30.0
    assert weighted_quantile(np.array([10.0, 20.0]), np.array([9, 1]), 0.9) == 10.0
    assert np.isnan(weighted_quantile(np.array([]), np.array([]), 0.9))


# -- properties ------------------------------------------------------------------------------

times = st.lists(st.one_of(st.floats(0, 200), st.none()), min_size=5, max_size=5)


def _travel_from(minutes: list[float | None]) -> pd.DataFrame:
    return pd.DataFrame({
        "demand_id": IDS, "need_type": "medical_care",
        "travel_min": [np.nan if m is None else m for m in minutes],
        "service_id": ["clinic" if m is not None else "" for m in minutes],
        "access": ["road" if m is not None else "unreachable" for m in minutes]})


@settings(max_examples=60, deadline=None)
@given(times, times)
def test_a_nearer_service_never_lowers_coverage_or_wraparound(before, new):
    """Adding a service makes each community's nearest time the smaller of the two."""
    after = [b if n is None else (n if b is None else min(b, n))
             for b, n in zip(before, new, strict=True)]
    limits = {"medical_care": 60.0}
    cov = [coverage_in_depth(_travel_from(m), _demand(), _services(), thresholds_min=limits,
                             depth_min=[30, 90], regions=["East", "West"])
           for m in (before, after)]
    assert (cov[1]["pop_in_person"] >= cov[0]["pop_in_person"]).all()
    assert (cov[1]["pop2021"] == cov[0]["pop2021"]).all()
    assert (cov[0].groupby(["need_type", "threshold_min"])["pop2021"].max() == 1500).all()
    w = [wraparound_by_community(_travel_from(m), _demand(), thresholds_min=limits)
         for m in (before, after)]
    assert (w[1]["needs_reached"] >= w[0]["needs_reached"]).all()


def test_no_service_of_a_need_means_no_coverage():
    none = _travel_from([None] * 5)
    none["access"] = "no_service"
    cov = coverage_in_depth(none, _demand(), _services(), thresholds_min={"medical_care": 60},
                            depth_min=[30, 90], regions=["East", "West"])
    assert (cov["pop_in_person"] == 0).all() and (cov["pop2021"].groupby(
        cov["opp_region"]).max().sum() == 3000)
