"""HSDS 3.0 and 1.1 packages read as listings: balances per package, what a row takes."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from gapmap.cli import main
from gapmap.config import load_config
from gapmap.ingest import ingest
from gapmap.sources.hsds import read_hsds

from .conftest import DATA, RAW, write_config

HSDS = DATA / "hsds"
SPEC3 = HSDS / "hsds3_spec_examples_csv"
SAMPLE11 = HSDS / "hsds1.1_sample"
ILAO = HSDS / "hsds1.1_ilao_real"
SMALL3 = HSDS / "hsds3_gapmap_small"
SHIPPED = [RAW / "ontario" / "services_curated.csv", RAW / "ontario" / "services_curated_more.csv"]


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _expected(folder: Path, link_file: str | None) -> tuple[int, int, int]:
    """(read, accepted, rejected) counted with the csv module alone: one row per service
    at each of its locations (one when it has none); an inactive service, a blank id or
    name, a point out of range, a postal code that is not Canadian reject the row."""
    services = _csv(folder / "services.csv")
    links: dict[str, list[str]] = {}
    if link_file:
        for r in _csv(folder / link_file):
            links.setdefault(r["service_id"], []).append(r["location_id"])
    locations = {r["id"]: r for r in _csv(folder / "locations.csv")}
    addresses: dict[str, dict[str, str]] = {}
    for name in ("addresses.csv", "physical_addresses.csv"):
        if (folder / name).exists():
            addresses.update({r["location_id"]: r for r in _csv(folder / name)})
    read = rejected = 0
    for s in services:
        for loc in links.get(s["id"], [""]) if s["id"] else [""]:
            read += 1
            lat = locations.get(loc, {}).get("latitude", "")
            postal = addresses.get(loc, {}).get("postal_code", "")
            if (s.get("status", "") not in ("", "active") or not s["id"] or not s["name"]
                    or (lat and not -90 <= float(lat) <= 90)
                    or (postal and not postal.replace(" ", "")[:1].isalpha())):
                rejected += 1
    return read, read - rejected, rejected


# (package, link table, default need type, read, accepted, rejected): counted by hand from
# the files, and again by _expected
PACKAGES = [
    (SPEC3, "service_at_location.csv", "counselling", 1, 0, 1),  # the point is 100, 101
    (SAMPLE11, "services_at_location.csv", "housing", 13, 9, 4),  # 3 inactive, 1 US ZIP
    (ILAO, None, "legal_support", 430, 429, 1),  # one row with a blank id and name
]


@pytest.mark.parametrize(("folder", "links", "need", "n", "acc", "rej"), PACKAGES,
                         ids=lambda v: v.name if isinstance(v, Path) else None)
def test_each_shipped_package_balances_to_counts_made_without_gapmap(folder, links, need, n,
                                                                      acc, rej):
    assert _expected(folder, links) == (n, acc, rej)
    got = read_hsds(folder, need_type=need)
    assert (got.rows_read, len(got.accepted), len(got.rejected)) == (n, acc, rej)


def test_a_stub_or_unsound_descriptor_falls_back_to_the_standard_file_names():
    # the 3.0 examples' datapackage.json is a 22-byte stub; ILAO's descriptor names
    # resources/... paths that do not exist and lists 3 of its 6 files
    assert "standard file names" in read_hsds(SPEC3, need_type="counselling").described
    ilao = read_hsds(ILAO, need_type="legal_support").described
    assert "standard file names" in ilao and "not in the folder" in ilao
    assert "from its descriptor" in read_hsds(SAMPLE11, need_type="housing").described


@pytest.fixture(scope="module")
def small():
    return read_hsds(SMALL3)


def _accepted(read, sid):
    return next(a for a in read.accepted if a["service_id"] == sid)


def test_own_3_0_fixture_balance_and_reasons(small):
    assert (small.rows_read, len(small.accepted), len(small.rejected)) == (7, 4, 3)
    reasons = {r["id"]: (r["field"], r["reason"]) for r in small.rejected}
    assert reasons["svc-closed"][0] == "status"  # an inactive service is not a service
    assert reasons["svc-badpoint"][0] == "lat"  # an invalid point is rejected
    assert reasons["svc-noterm"][0] == "need_types"
    assert ("Book Clubs", "7") in small.unmapped


def test_need_types_from_taxonomy_terms_through_attributes(small):
    got = {a["service_id"]: a["need_types"] for a in small.accepted}
    assert got == {"svc-shelter": "emergency_shelter", "svc-line": "crisis_support",
                   "svc-youth@loc-youth-a": "housing", "svc-youth@loc-youth-b": "housing"}


def test_contacts_capacity_and_verification_come_from_the_package(small):
    shelter = _accepted(small, "svc-shelter")
    assert shelter["capacity"] == "24 beds"
    assert shelter["last_verified"] == "2025-06-30"
    assert shelter["languages"] == "English; French"
    assert shelter["eligibility"] == "Women and their children"
    assert shelter["hours"].endswith("00:00-23:59")
    assert (shelter["address"], shelter["city"], shelter["postal_code"]) == (
        "1 Example Street", "Thunder Bay", "P7B 1A1")
    assert shelter["lat"] == pytest.approx(48.3809)
    assert _accepted(small, "svc-youth@loc-youth-a")["eligibility"] == "ages 16-24"


def test_a_virtual_location_is_a_line_not_a_point(small):
    line = _accepted(small, "svc-line")
    assert math.isnan(line["lat"]) and line["address"] == "" and line["city"] == ""
    assert "virtual" in line["notes"]
    assert line["service_area"] == "Thunder Bay District"
    assert line["phone"]


def test_one_ingest_over_listings_and_packages_prints_a_balance_per_source(tmp_path,
                                                                           capsys):
    cfg = write_config(tmp_path, [*SHIPPED, SPEC3, SAMPLE11, ILAO, SMALL3])
    text = Path(cfg).read_text()
    for folder, need in ((SPEC3, "counselling"), (SAMPLE11, "housing"),
                         (ILAO, "legal_support")):
        text = text.replace(f'{{ path = "{folder}" }}',
                            f'{{ path = "{folder}", need_type = "{need}" }}')
    Path(cfg).write_text(text)
    assert main(["ingest", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    for folder, (n, acc, rej) in ((SPEC3, (1, 0, 1)), (SAMPLE11, (13, 9, 4)),
                                  (ILAO, (430, 429, 1)), (SMALL3, (7, 4, 3))):
        assert (f"  {folder.name} (HSDS " in out and
                f"read {n} rows = {acc} accepted + {rej} rejected" in out), out
    result = ingest(load_config(cfg))
    for b in result.sources:
        assert b.read == b.accepted + b.rejected + b.merged
    assert result.services["service_id"].is_unique
