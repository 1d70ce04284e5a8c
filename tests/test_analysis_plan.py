"""Capacity-aware access (2SFCA/E2SFCA) and the maximal covering location problem, on cases
worked by hand, against PySAL ``access`` and ``spopt``, and as properties; the suggestions'
data caveat on a fixture; the scenario's rules."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pulp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gapmap.analysis.fca import (
    CAPACITY,
    ONE_PER_SERVICE,
    band_weight,
    gaussian_weight,
    supply_units,
    two_stage_fca,
)
from gapmap.analysis.location import (
    DataQuality,
    coverage_matrix,
    covered_weight,
    mclp_exact,
    mclp_greedy,
    site_gains,
    suggestion_caveat,
)
from gapmap.config import load_config
from gapmap.errors import ConfigError

from .conftest import write_config

INF = np.inf

# -- 2SFCA / E2SFCA by hand -------------------------------------------------------------------

# Two communities A (100 people) and B (300), two services X and Y (one unit each).
# A->X 5, A->Y 50 (beyond 30), B->X 20, B->Y 10.
COST = np.array([[5.0, 50.0], [20.0, 10.0]])
POP = np.array([100.0, 300.0])
ONE = np.array([1.0, 1.0])


def test_2sfca_by_hand():
    a = two_stage_fca(COST, POP, ONE, max_min=30)
    # X is reached by A and B (400 people), Y by B only (300)
    assert a == pytest.approx([1 / 400, 1 / 400 + 1 / 300], abs=1e-15)
    # supply is shared out, not created: sum of access x people = supply reached
    assert (a * POP).sum() == pytest.approx(2.0)


def test_e2sfca_by_hand():
    w = band_weight(30)  # 0-10: 1.00, 10-20: 0.68, 20-30: 0.22; an edge in the lower band
    assert w(np.array([0, 10, 10.01, 20, 25, 30, 30.01, INF])).tolist() == \
        [1.0, 1.0, 0.68, 0.68, 0.22, 0.22, 0.0, 0.0]
    a = two_stage_fca(COST, POP, ONE, max_min=30, weight=w)
    rx, ry = 1 / (100 + 0.68 * 300), 1 / 300
    assert a == pytest.approx([rx, 0.68 * rx + ry], abs=1e-15)


def test_gaussian_weight_is_one_at_zero_and_small_at_the_threshold():
    g = gaussian_weight(60)
    assert g(np.array([0.0]))[0] == 1.0
    assert g(np.array([60.0]))[0] == pytest.approx(0.01)
    assert g(np.array([61.0]))[0] == 0.0


def test_no_one_reaches_a_service_then_it_gives_no_access():
    a = two_stage_fca(np.array([[INF, 5.0]]), np.array([10.0]), ONE, max_min=30)
    assert a.tolist() == [0.1]


def test_capacity_only_when_every_service_carries_one():
    assert supply_units(pd.DataFrame({"capacity": [10, 20]}))[1] == CAPACITY
    units, basis = supply_units(pd.DataFrame({"capacity": [10, None]}))
    assert basis == ONE_PER_SERVICE and units.tolist() == [1.0, 1.0]
    assert supply_units(pd.DataFrame({"name": ["a"]}))[1] == ONE_PER_SERVICE


# -- against PySAL access -----------------------------------------------------------------------

def _grid_case(asymmetric: bool):
    """A 4 x 4 grid of communities, 10 min between neighbours, three services on the grid;
    ``asymmetric``: a one-way street, so going east costs 3 x going west, and a service's
    times differ from its mirror's."""
    rng = np.random.default_rng(7)
    pts = np.array([(x, y) for x in range(4) for y in range(4)], float)
    sites = np.array([(0, 0), (3, 1), (1, 3)], float)
    dx = sites[None, :, 0] - pts[:, None, 0]
    dy = np.abs(sites[None, :, 1] - pts[:, None, 1])
    east = np.where(dx > 0, 3.0 if asymmetric else 1.0, 1.0) * np.abs(dx)
    cost = 10 * (east + dy)
    pop = rng.integers(50, 500, len(pts)).astype(float)
    supply = np.array([2.0, 1.0, 3.0])
    return cost, pop, supply


def _pysal(cost, pop, supply, max_min, weight_fn):
    from access import fca

    demand_df = pd.DataFrame({"geoid": range(len(pop)), "demand": pop})
    supply_df = pd.DataFrame({"supply": supply}, index=pd.Index(range(len(supply)),
                                                                name="geoid"))
    i, j = np.nonzero(np.isfinite(cost))
    cost_df = pd.DataFrame({"origin": i, "dest": j, "cost": cost[i, j]})
    out = fca.two_stage_fca(demand_df, supply_df, cost_df, max_cost=max_min,
                            weight_fn=weight_fn)
    return out.reindex(range(len(pop)), fill_value=0.0).to_numpy(float)


@pytest.mark.parametrize("asymmetric", [False, True])
def test_2sfca_and_e2sfca_equal_pysal_access(asymmetric):
    from access import weights

    cost, pop, supply = _grid_case(asymmetric)
    ours = two_stage_fca(cost, pop, supply, max_min=30)
    theirs = _pysal(cost, pop, supply, 30, None)
    assert np.abs(ours - theirs).max() < 1e-9
    step = weights.step_fn({10: 1.0, 20: 0.68, 30: 0.22})
    ours = two_stage_fca(cost, pop, supply, max_min=30, weight=band_weight(30))
    theirs = _pysal(cost, pop, supply, 30, step)
    assert np.abs(ours - theirs).max() < 1e-9
    assert ours.max() > 0


# -- the MCLP ------------------------------------------------------------------------------------

# Five communities on a line, 20 min apart (A..E, 100..500 people); candidate sites at each.
LINE = np.abs(np.subtract.outer(np.arange(5), np.arange(5))) * 20.0
LINE_POP = np.array([100.0, 200.0, 300.0, 400.0, 500.0])


def test_mclp_on_a_line_by_hand():
    covers = coverage_matrix(LINE, 20)  # a site reaches itself and its neighbours
    # one site: D covers C, D, E = 1200
    assert mclp_exact(covers, LINE_POP, 1) == [3]
    assert mclp_greedy(covers, LINE_POP, 1) == [3]
    # two sites: greedy takes D, then A or B for the rest (B: 300); exact too (1500 = all)
    assert covered_weight(covers, LINE_POP, mclp_exact(covers, LINE_POP, 2)) == 1500
    # with A already covered (weight 0), B and D are enough
    w = LINE_POP.copy()
    w[0] = 0
    assert site_gains(covers, w, mclp_exact(covers, w, 2)) == [(3, 1200.0, 1200.0),
                                                               (1, 200.0, 500.0)]


def test_exact_beats_greedy_where_greedy_is_fooled():
    # greedy takes the big middle site (covers 0..3: 4 x 10 = 40 and 1 x 1), then one
    # more; the optimum is the two sites that each cover half with the heavy ends.
    covers = np.array([[1, 1, 0], [1, 1, 0], [1, 0, 1], [1, 0, 1], [0, 1, 0], [0, 0, 1]],
                      bool)
    w = np.array([10, 10, 10, 10, 15, 15], float)
    g, e = mclp_greedy(covers, w, 2), mclp_exact(covers, w, 2)
    assert covered_weight(covers, w, e) == 70 > covered_weight(covers, w, g) == 55


def _brute(covers, w, k):
    n = covers.shape[1]
    return max((covered_weight(covers, w, list(c)) for r in range(min(k, n) + 1)
                for c in itertools.combinations(range(n), r)), default=0.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(1, 15), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_exact_equals_brute_force_and_never_loses_to_greedy(n_sites, n_points, k, seed):
    rng = np.random.default_rng(seed)
    covers = rng.random((n_points, n_sites)) < 0.3
    w = rng.integers(0, 1000, n_points).astype(float)
    exact = covered_weight(covers, w, mclp_exact(covers, w, k))
    assert len(mclp_exact(covers, w, k)) <= k
    assert exact == pytest.approx(_brute(covers, w, k))
    assert exact >= covered_weight(covers, w, mclp_greedy(covers, w, k))


def test_exact_equals_spopt_mclp():
    from spopt.locate import MCLP

    rng = np.random.default_rng(3)
    cost = rng.uniform(0, 100, (30, 10))
    w = rng.integers(1, 100, 30).astype(float)
    ours = covered_weight(coverage_matrix(cost, 35), w, mclp_exact(coverage_matrix(cost, 35),
                                                                   w, 3))
    m = MCLP.from_cost_matrix(cost, w, service_radius=35, p_facilities=3)
    m = m.solve(pulp.PULP_CBC_CMD(msg=False))
    chosen = [j for j, v in enumerate(m.fac_vars) if (v.value() or 0) > 0.5]
    assert ours == pytest.approx(covered_weight(coverage_matrix(cost, 35), w, chosen))


# -- the suggestions' caveat ---------------------------------------------------------------------

def _listings() -> pd.DataFrame:
    return pd.DataFrame({
        "service_id": ["a", "b", "c", "d"],
        "need_types": ["sexual_assault_care", "sexual_assault_care", "sexual_assault_care",
                       "court_support"],
        "opp_region": ["West", "West", "West", "West"],
        "geocode_precision": ["exact", "town", "area", "exact"],
        "lat": [43.0, 43.1, None, 42.3], "cduid": ["3539", "3539", "", "3537"],
        "area_cduids": ["", "", "3540", ""], "geocode_check": ["agrees"] * 4})


def test_a_thin_region_says_so_and_names_the_empty_division():
    q = DataQuality.of(_listings(), "sexual_assault_care", "West")
    assert (q.placed, q.not_placed, q.coarse) == (2, 1, 1)
    assert q.cduids == {"3539", "3540"}
    text = suggestion_caveat(q, site_cduid="3537", site_cd_name="Essex", thin_below=3,
                             coarse_share_above=0.25)
    assert "few listings: 2 placed" in text
    assert "no service of this need listed in Essex" in text
    assert "1 listed for an area or with no point" in text
    assert "50 % of the placed services placed only at their town" in text
    # a division with a listing and a well-listed need: no caveat at all
    court = DataQuality.of(_listings(), "court_support", "West")
    assert suggestion_caveat(court, site_cduid="3537", site_cd_name="Essex", thin_below=1,
                             coarse_share_above=0.25) == ""


# -- scenarios -----------------------------------------------------------------------------------

def test_a_scenario_must_write_to_its_own_folders(tmp_path):
    path = write_config(tmp_path, [tmp_path / "x.csv"])
    (tmp_path / "x.csv").write_text("id,name,need_types\n")
    path.write_text(path.read_text() + '\n[scenario]\nremove = ["a"]\n')
    with pytest.raises(ConfigError, match="its own folders"):
        load_config(path)


def test_toronto_shelters_are_placed_with_their_beds_and_rooms(tmp_path):
    from gapmap.plan import shelter_locations

    (tmp_path / "x.csv").write_text("id,name,need_types\n")
    shelters = shelter_locations(load_config(write_config(tmp_path, [tmp_path / "x.csv"])))
    # 103 locations, 4,794 beds and 2,784 rooms (PROVENANCE); 4 with no address: at Toronto
    assert len(shelters) == 103 and shelters["capacity"].sum() == 4794 + 2784
    assert (shelters["geocode_precision"] == "town").sum() == 4
    assert shelters.geometry.y.between(43.5, 43.9).all()
