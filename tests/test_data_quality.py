"""data_quality_by_region.csv: what the listings lack, per OPP region and need type."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from gapmap.analysis.data_quality import ALL_REGIONS, QUALITY_COLUMNS, data_quality

ROWS = [  # opp_region, need_types, phone, hours, capacity, precision, verified, conf, verif.
    ("East", "emergency_shelter;housing", "(613) 555-0100", "24/7", "30 beds", "street",
     "2025-11-01", False, ""),
    ("East", "emergency_shelter", "", "", "", "town", "2020-01-01", True, ""),
    ("East", "crisis_support", "(613) 555-0101", "", "", "area", "", False,
     "pending manual verification"),
    ("North West", "crisis_support", "", "Mon-Fri", "", "none", "", False, "L1 checked"),
]


def _table():
    services = pd.DataFrame(ROWS, columns=["opp_region", "need_types", "phone", "hours",
                                           "capacity", "geocode_precision", "last_verified",
                                           "confidential", "verification"])
    services["languages"] = ["English; French", "", "", ""]
    return data_quality(services, today=dt.date(2026, 12, 5), stale_after_days=730)


def test_counts_by_region_and_need_made_by_hand():
    t = _table().set_index(["opp_region", "need_type"])
    assert list(t.reset_index().columns) == QUALITY_COLUMNS
    shelter = t.loc[("East", "emergency_shelter")]
    assert shelter[["services", "with_phone", "with_hours", "with_languages",
                    "with_capacity", "town_or_coarser", "with_verified_date",
                    "verified_stale", "confidential"]].tolist() == [2, 1, 1, 1, 1, 1, 2, 1, 1]
    crisis_east = t.loc[("East", "crisis_support")]
    assert (crisis_east["area_only"], crisis_east["unverified"]) == (1, 1)
    crisis_nw = t.loc[("North West", "crisis_support")]
    assert (crisis_nw["unplaced"], crisis_nw["unverified"], crisis_nw["with_hours"]) == (1, 0, 1)
    assert t.loc[("East", "housing"), "services"] == 1


def test_a_total_row_per_need_type_over_all_regions():
    t = _table().set_index(["opp_region", "need_type"])
    crisis = t.loc[(ALL_REGIONS, "crisis_support")]
    assert (crisis["services"], crisis["with_phone"], crisis["with_hours"]) == (2, 1, 1)
