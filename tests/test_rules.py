"""The shared rules of gapmap/contracts.py, each written once: placed, precision order,
confidentiality, access wording, geocode issue codes; and that the modules call them rather
than their own copy."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import gapmap.geocode
import gapmap.sources.geocoders
from gapmap.analysis.coverage import coverage_by_region, gap_communities
from gapmap.config import load_config
from gapmap.contracts import (
    ACCESS_VALUES,
    GEOCODE_ISSUES,
    PRECISIONS,
    TIMED_ACCESS,
    access_text,
    check_withheld,
    counts_by_road,
    finer_than_town,
    is_fly_in,
    is_placed,
    precision_rank,
)
from gapmap.errors import GapmapError, SchemaError
from gapmap.geocode import (
    Gazetteer,
    GeocodeChain,
    geocode_report,
    geocode_services,
    names_a_place,
)
from gapmap.ingest import ingest
from gapmap.outputs.tables import SHARED_SERVICE_COLUMNS, shared_services
from gapmap.sources.geocoders import OVERRIDE_PRECISIONS, NominatimClient

from .conftest import write_config, write_listings


def _services(precisions: list[str], *, geometry: list[object] | None = None,
              **cols: list[object]) -> gpd.GeoDataFrame:
    n = len(precisions)
    geoms = geometry if geometry is not None else [shapely.Point(-80, 45)] * n
    base = {"service_id": [f"s{i}" for i in range(n)], "geocode_precision": precisions,
            "confidential": [False] * n, "need_types": ["medical_care"] * n,
            "opp_region": ["West"] * n}
    return gpd.GeoDataFrame({**base, **cols}, geometry=geoms, crs=4326)


# -- placed -------------------------------------------------------------------------------

def test_placed_means_a_point_precision_and_a_real_point():
    s = _services(["exact", "town", "rural_fsa", "area", "none", "fsa", "street"],
                  geometry=[shapely.Point(-80, 45)] * 5 + [None, shapely.Point()])
    assert is_placed(s).tolist() == [True, True, True, False, False, False, False]
    # a frame without geometry: its latitude stands for the point
    plain = pd.DataFrame({"geocode_precision": ["exact", "exact", "area"],
                          "lat": [45.0, np.nan, 45.0]})
    assert is_placed(plain).tolist() == [True, False, False]


def test_a_service_in_a_fly_in_community_is_placed_but_not_reached_by_road():
    s = _services(["exact", "exact", "area"],
                  access=["road", "no_all_season_road", "road"])
    assert is_placed(s).tolist() == [True, True, False]
    assert is_fly_in(s).tolist() == [False, True, False]
    assert counts_by_road(s).tolist() == [True, False, False]
    # no access column: nobody is flagged
    assert counts_by_road(s.drop(columns="access")).tolist() == [True, True, False]


def test_coverage_counts_placed_services_by_the_shared_rule():
    # an exact precision with no point is not placed: it counts as listed at area level
    svc = _services(["exact", "exact", "area"],
                    geometry=[shapely.Point(-80, 45), None, None])
    travel = pd.DataFrame({"demand_id": ["d"], "need_type": ["medical_care"],
                           "travel_min": [10.0], "service_id": ["s0"], "access": ["road"]})
    demand = pd.DataFrame({"demand_id": ["d"], "name": ["D"], "kind": ["subdivision"],
                           "pop2021": [100], "opp_region": ["West"], "cd_name": ["C"],
                           "enumerated": [True], "air_hub": [""], "remote_community": [""]})
    cov = coverage_by_region(travel, demand, svc, thresholds_min={"medical_care": 60},
                             regions=["West"])
    assert cov["services_placed"].tolist() == [1, 1]
    assert cov["services_area_level"].tolist() == [2, 2]


# -- precision order ----------------------------------------------------------------------

def test_precision_order_comes_from_the_one_vocabulary():
    assert [precision_rank(p) for p in PRECISIONS] == list(range(len(PRECISIONS)))
    assert precision_rank("exact") < precision_rank("town") < precision_rank("none")
    with pytest.raises(ValueError, match="not a geocode precision"):
        precision_rank("house")
    # the precisions an override may state: the point precisions, best first
    points = is_placed(pd.DataFrame({"geocode_precision": PRECISIONS, "lat": 45.0}))
    assert tuple(pd.Series(PRECISIONS)[points.to_numpy()]) == OVERRIDE_PRECISIONS


# -- confidentiality ----------------------------------------------------------------------

def test_finer_than_town_takes_an_unknown_precision_as_finer():
    p = pd.Series([*PRECISIONS, "house", ""])
    assert finer_than_town(p).tolist() == [True, True, True, True, False, False, False,
                                           False, True, True]


def test_a_confidential_service_finer_than_its_town_stops_the_shared_table():
    s = _services(["exact", "street", "town"], confidential=[False, True, True],
                  **{c: [""] * 3 for c in SHARED_SERVICE_COLUMNS
                     if c not in ("service_id", "geocode_precision", "confidential",
                                  "need_types", "opp_region")})
    with pytest.raises(SchemaError, match=r"refusing to share them: s1 \(street\)$") as err:
        shared_services(s)
    assert isinstance(err.value, GapmapError) and "\n" not in str(err.value)
    s.loc[1, "geocode_precision"] = "town"
    assert len(shared_services(s)) == 3
    check_withheld(s)


# -- access wording -----------------------------------------------------------------------

def test_every_access_value_has_its_words_and_only_road_says_nothing():
    assert set(TIMED_ACCESS) < set(ACCESS_VALUES)
    words = {a: access_text(a) for a in ACCESS_VALUES}
    assert words["road"] == ""
    assert all(words[a] for a in ACCESS_VALUES if a != "road")
    assert len(set(words.values())) == len(words)
    assert access_text("some_new_value") == "some new value"


def test_the_gap_table_says_each_access_in_the_shared_words():
    travel = pd.DataFrame({"demand_id": [f"d{i}" for i in range(len(ACCESS_VALUES))],
                           "need_type": "medical_care",
                           "travel_min": [90.0, 95.0] + [np.nan] * (len(ACCESS_VALUES) - 2),
                           "service_id": "", "access": list(ACCESS_VALUES)})
    demand = pd.DataFrame({"demand_id": travel["demand_id"], "name": travel["demand_id"],
                           "kind": "subdivision", "pop2021": 10, "opp_region": "West",
                           "cd_name": "C", "enumerated": True, "air_hub": "",
                           "remote_community": ""})
    g = gap_communities(travel, demand, thresholds_min={"medical_care": 60})
    assert dict(zip(g["access"], g["note"], strict=True)) == {
        a: access_text(a) for a in ACCESS_VALUES}


# -- geocode issue codes ------------------------------------------------------------------

# one listing per issue code (and one with none), with the codes the report should give
ISSUE_ROWS: dict[str, tuple[dict[str, str], str]] = {
    "manitoba": ({"city": "Kenora", "lat": "49.9", "lon": "-97.1"}, "listed_point_rejected"),
    "nomatch": ({"address": "1 Nowhere Road", "city": "Timmins", "postal_code": "P4N 1K1"},
                "address_not_geocoded"),
    "amb": ({"city": "Deer Lake"}, "failed;ambiguous"),
    "unk": ({"city": "Nowhereville"}, "failed"),
    "area": ({"city": "Niagara Region"}, "area"),
    "far": ({"city": "Timmins", "lat": "43.65", "lon": "-79.38"}, "disagrees"),
    "rural": ({"postal_code": "P0V 1A0"}, "rural_fsa"),
    "ok": ({"city": "Sudbury"}, ""),
}


class _NoMatch:
    """A geocoder that finds nothing (geopy's ``geocode`` signature), never the network."""

    def geocode(self, query: Any, **kwargs: Any) -> None:
        return None


@pytest.fixture(scope="module")
def gaz(ontario_config) -> Gazetteer:
    return Gazetteer(ontario_config)


def _geocode_issue_rows(tmp_path: Path, gaz: Gazetteer) -> pd.DataFrame:
    tmp_path.mkdir()
    listings = write_listings(tmp_path / "issues.csv", [
        {"id": i, "name": f"service {i}", **fields} for i, (fields, _) in ISSUE_ROWS.items()])
    cfg = load_config(write_config(tmp_path, [listings], extra=f"""
[geocode.nominatim]
mode = "online"
user_agent = "gapmap-tests/0.1 (tests@example.org)"
cache = "{tmp_path / 'nominatim.sqlite'}"
"""))
    client = NominatimClient(cfg.geocode.nominatim, geocoder=_NoMatch())
    try:
        return geocode_services(ingest(cfg).services, cfg, gaz, nominatim=client)
    finally:
        client.close()


def _reword_every_note(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every provider, the check and the Nominatim client say what they say in other words."""
    def reworded(orig: Any) -> Any:
        def provider(self: GeocodeChain, st: Any) -> Any:
            placed = orig(self, st)
            st.notes[:] = [f"in other words {k}" for k in range(len(st.notes))]
            if placed is not None and placed.note:
                placed.note = "in other words"
            return placed
        return provider

    for name in ("_listing", "_override", "_nominatim", "_postal", "_town", "_rural_fsa"):
        monkeypatch.setattr(GeocodeChain, name, reworded(getattr(GeocodeChain, name)))
    check = GeocodeChain.check
    monkeypatch.setattr(GeocodeChain, "check", lambda self, *a: (check(self, *a)[0],
                                                                 "checked, in other words"))
    lookup = NominatimClient.lookup

    def reworded_lookup(self: NominatimClient, *a: Any) -> Any:
        answer = lookup(self, *a)
        if answer.note:
            answer.note = "the address service could not help"
        return answer
    monkeypatch.setattr(NominatimClient, "lookup", reworded_lookup)


def test_each_issue_is_recorded_where_it_arises_and_survives_a_reworded_note(
        tmp_path, gaz, monkeypatch):
    plain = _geocode_issue_rows(tmp_path / "plain", gaz)
    _reword_every_note(monkeypatch)
    reworded = _geocode_issue_rows(tmp_path / "reworded", gaz)
    assert reworded["geocode_note"].str.contains("other words|could not help").any()
    assert not plain["geocode_note"].str.contains("other words|could not help").any()
    for g in (plain, reworded):
        by_id = g.set_index("service_id")
        assert {i: by_id.loc[i, "geocode_issues"] for i in ISSUE_ROWS} == {
            i: codes for i, (_, codes) in ISSUE_ROWS.items()}
    report = {name: geocode_report(g).set_index("service_id")
              for name, g in (("plain", plain), ("reworded", reworded))}
    assert report["plain"]["issue"].to_dict() == report["reworded"]["issue"].to_dict() == {
        i: codes for i, (_, codes) in ISSUE_ROWS.items() if codes}
    assert (report["plain"]["reason"] != report["reworded"]["reason"]).any()
    # a listed point outside Ontario still counts as naming a point, whatever its note says
    assert names_a_place(reworded.set_index("service_id"))["manitoba"]
    # and these rows raise every code there is
    assert not set(GEOCODE_ISSUES) - {c for _, codes in ISSUE_ROWS.values()
                                      for c in codes.split(";") if c}


def test_every_issue_code_the_geocode_chain_can_record_is_in_the_vocabulary():
    source = inspect.getsource(gapmap.geocode)
    flagged = re.findall(r"\.flag\(\"(\w+)\"\)", source)
    assert flagged and set(flagged) <= set(GEOCODE_ISSUES)
    assert set(gapmap.geocode._PRECISION_ISSUES.values()) <= set(GEOCODE_ISSUES)
    assert gapmap.sources.geocoders._NOT_GEOCODED in GEOCODE_ISSUES
    # nothing reads a code back out of a note
    assert "geocode_note\"].astype(str).str.contains" not in source
    st = gapmap.geocode._State(pd.Series(dtype=object))
    with pytest.raises(ValueError, match="unknown geocode issue"):
        st.flag("typo_code")
