"""The notebook stays runnable: run its code cells in order, as a kernel would."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "gapmap_ontario.ipynb"


def test_notebook_runs_on_the_shipped_data(monkeypatch):
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert len(code) >= 4
    monkeypatch.chdir(NOTEBOOK.parent)
    ns: dict = {}
    for src in code:
        exec(compile(src, str(NOTEBOOK), "exec"), ns)  # noqa: S102 - our own notebook
    cov = ns["coverage"]
    assert isinstance(cov, pd.DataFrame)
    assert (cov[cov["opp_region"] == "Ontario"]["pop2021"] == 14_223_942).all()
    assert set(cov["opp_region"]) == {"North East", "North West", "East", "West", "Central",
                                      "Ontario"}
