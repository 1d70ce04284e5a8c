"""The analyst's listing overrides: a field corrected, a service closed, a merge split."""

from __future__ import annotations

import pandas as pd
import pytest

from gapmap.config import load_config
from gapmap.errors import SchemaError
from gapmap.ingest import ingest
from gapmap.pipeline import stage_ingest

from .conftest import write_config
from .test_duplicates import A, B, write_listings


def _config(tmp_path, overrides: str):
    fa = write_listings(tmp_path / "first.csv", [A, {**A, "id": "a-2", "name": "Closed Desk",
                                                     "address": "5 Elm Street"}])
    fb = write_listings(tmp_path / "second.csv", [B])
    (tmp_path / "listing_overrides.csv").write_text(overrides, encoding="utf-8")
    return load_config(write_config(tmp_path, [fa, fb], extra=(
        '[ingest]\noverrides = "listing_overrides.csv"\n')))


OVERRIDES = """service_id,action,field,value,note
a-1,set,phone,807-555-0177,the agency's new intake line (fictional)
a-2,close,,,closed in 2026
zz-9,set,hours,Mon-Fri,an id no listing has
"""


def test_an_override_changes_a_phone_and_closes_a_service(tmp_path):
    cfg = _config(tmp_path, OVERRIDES)
    result = ingest(cfg)
    services = result.services.set_index("service_id")
    assert "a-2" not in services.index
    assert services.loc["a-1", "phone"] == "(807) 555-0177"
    assert services.loc["a-1", "phone_e164"] == "+18075550177"
    report = result.overrides.set_index("service_id")
    assert report.loc["a-1", "outcome"] == "applied"
    assert report.loc["a-2", "outcome"] == "applied"
    assert report.loc["zz-9", "outcome"] == "matched nothing"
    assert "1 matched nothing" in result.summary()
    stage_ingest(cfg)
    written = pd.read_csv(cfg.outputs.processed_dir / "overrides_report.csv", dtype=str)
    assert written["outcome"].tolist() == ["applied", "applied", "matched nothing"]


def test_split_keeps_a_wrong_merge_apart(tmp_path):
    merged = ingest(_config(tmp_path, "service_id,action,field,value\n"))
    assert "b-1" not in set(merged.services["service_id"])
    split = ingest(_config(tmp_path, "service_id,action,field,value\na-1,split,,b-1\n"))
    assert {"a-1", "b-1"} <= set(split.services["service_id"])
    assert len(split.duplicates) == 0


def test_a_refused_value_is_reported_not_applied(tmp_path):
    result = ingest(_config(tmp_path, "service_id,action,field,value\n"
                                      "a-1,set,postal_code,12345\n"))
    assert result.overrides.iloc[0]["outcome"] == "refused"
    assert result.services.set_index("service_id").loc["a-1", "postal_code"] == "P7B 1A1"


def test_an_unknown_action_stops_the_run_naming_the_line(tmp_path):
    with pytest.raises(SchemaError, match="line 2"):
        ingest(_config(tmp_path, "service_id,action,field,value\na-1,delete,,\n"))
