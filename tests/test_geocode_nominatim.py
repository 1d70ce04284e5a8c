"""Nominatim through geopy, against a fake server on 127.0.0.1: never the real network."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from geopy.exc import GeocoderInsufficientPrivileges, GeocoderRateLimited, GeocoderUnavailable

from gapmap.config import NominatimSettings, load_config
from gapmap.geocode import Gazetteer, geocode_report, geocode_services
from gapmap.ingest import ingest
from gapmap.sources.geocoders import NominatimClient, QueryCache, Throttle, normalise_address

from . import fake_nominatim as fn
from .conftest import write_config

AGENT = "gapmap-tests/0.1 (tests@example.org)"
FIELDS = ["id", "name", "need_types", "address", "city", "postal_code", "lat", "lon",
          "confidential", "coordinate_source"]
# address, town, postal code, and the point the fake server gives (None: no match)
ADDRESSES = {
    "a1": ("76 Grenville Street, Ground Floor (AACU)", "Toronto", "M5S 1B2",
           fn.house(43.66171, -79.387745, "76", "Grenville Street", "Toronto")),
    "a2": ("125 Brodie Street North", "Thunder Bay", "P7C 0A3",
           fn.house(48.3826, -89.2467, "125", "Brodie Street North", "Thunder Bay")),
    "a3": ("15 Bridge Street West", "Belleville", "K8P 0C7",
           fn.house(44.1628, -77.3832, "15", "Bridge Street West", "Belleville")),
    "a4": ("1 Nowhere Road", "Timmins", "P4N 1K1", []),
}


def write_listings(path: Path, ids: list[str]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, FIELDS)
        w.writeheader()
        for i in ids:
            address, city, postal, _ = ADDRESSES[i]
            w.writerow({"id": i, "name": f"service {i}", "need_types": "crisis_support",
                        "address": address, "city": city, "postal_code": postal,
                        "lat": "", "lon": "", "confidential": "false",
                        "coordinate_source": ""})
    return path


@pytest.fixture
def server():
    fake = fn.FakeNominatim(answers={normalise_address(a[0]): a[3]
                                     for a in ADDRESSES.values()})
    httpd, thread = fn.start(fake)
    yield fake
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def gaz(ontario_config) -> Gazetteer:
    return Gazetteer(ontario_config)


def nominatim_config(tmp_path: Path, ids: list[str], *, domain: str, mode: str = "online",
                     cache: Path | None = None, extra: str = ""):
    listings = write_listings(tmp_path / "listings.csv", ids)
    cache = cache or tmp_path / "nominatim.sqlite"
    toml = f"""
[geocode.nominatim]
mode = "{mode}"
user_agent = "{AGENT}"
domain = "{domain}"
scheme = "http"
cache = "{cache}"
timeout_s = 5
retries = 1
backoff_s = 0
give_up_after = 2
{extra}
"""
    return load_config(write_config(tmp_path, [listings], extra=toml))


def run(cfg, gaz):
    return geocode_services(ingest(cfg).services, cfg, gaz).set_index("service_id")


def test_nominatim_is_off_by_default(tmp_path, server, gaz):
    listings = write_listings(tmp_path / "listings.csv", ["a1", "a2"])
    cfg = load_config(write_config(tmp_path, [listings]))
    assert cfg.geocode.nominatim.mode == "off"
    g = run(cfg, gaz)
    assert server.requests == []
    assert set(g["geocode_precision"]) == {"fsa"}
    assert g.attrs["nominatim"] == "Nominatim off"
    assert not (tmp_path / "interim" / "nominatim_cache.sqlite").exists()


def test_online_places_civic_addresses_at_street_and_sends_our_user_agent(tmp_path, server,
                                                                         gaz):
    cfg = nominatim_config(tmp_path, ["a1", "a2", "a4"], domain=server.domain)
    g = run(cfg, gaz)
    assert g.loc["a1", "geocode_precision"] == "street"
    assert g.loc["a1", "geocode_source"] == "Nominatim"
    assert (g.loc["a1", "lat"], g.loc["a1", "lon"]) == (43.66171, -79.387745)
    assert g.loc["a2", "geocode_precision"] == "street"
    # no match: falls through to the urban FSA, and says why
    assert g.loc["a4", "geocode_precision"] == "fsa"
    assert "Nominatim found no match" in g.loc["a4", "geocode_note"]
    assert len(server.requests) == 3
    assert {r.user_agent for r in server.requests} == {AGENT}
    sent = server.requests[0].params
    assert sent["street"] == "76 grenville street"  # floor and unit dropped
    assert sent["city"] == "toronto" and sent["countrycodes"] == "ca"
    report = geocode_report(g.reset_index()).set_index("service_id")
    assert report.loc["a4", "issue"] == "address_not_geocoded"


def test_cache_hits_make_a_rerun_offline_and_repeatable(tmp_path, server, gaz):
    cfg = nominatim_config(tmp_path, ["a1", "a2", "a4"], domain=server.domain)
    first = run(cfg, gaz)
    assert len(server.requests) == 3
    with sqlite3.connect(cfg.geocode.nominatim.cache) as db:
        keys = {k for (k,) in db.execute("SELECT key FROM answers")}
    assert keys == {"76 grenville street, toronto, ontario, canada",
                    "125 brodie street north, thunder bay, ontario, canada",
                    "1 nowhere road, timmins, ontario, canada"}  # a "no match" is cached too
    second = run(cfg, gaz)
    assert len(server.requests) == 3  # nothing asked again
    assert second.loc["a1", "geocode_source"] == "Nominatim (cache)"
    assert second.attrs["nominatim"].startswith("Nominatim online: 3 cache hits, 0 requests")
    for col in ("lat", "lon", "geocode_precision"):
        assert (first[col].fillna(0) == second[col].fillna(0)).all()
    # one new address: a miss, asked once; the others are hits
    cfg2 = nominatim_config(tmp_path, ["a1", "a2", "a3", "a4"], domain=server.domain,
                            cache=cfg.geocode.nominatim.cache)
    third = run(cfg2, gaz)
    assert len(server.requests) == 4
    assert server.requests[-1].params["street"] == "15 bridge street west"
    assert third.loc["a3", "geocode_source"] == "Nominatim"
    assert third.attrs["nominatim"].startswith("Nominatim online: 3 cache hits, 1 requests")


def test_cached_mode_never_asks_the_server(tmp_path, server, gaz):
    cfg = nominatim_config(tmp_path, ["a1", "a2"], domain=server.domain, mode="cached")
    g = run(cfg, gaz)
    assert server.requests == []
    assert set(g["geocode_precision"]) == {"fsa"}
    assert "not in the cache" in g.loc["a1", "geocode_note"]


def test_requests_are_at_least_one_second_apart(tmp_path, server, gaz):
    cfg = nominatim_config(tmp_path, ["a1", "a2", "a3", "a4"], domain=server.domain)
    run(cfg, gaz)
    times = [r.t for r in server.requests]
    assert len(times) == 4
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 1.0, gaps


def test_server_errors_are_retried_then_fall_through_without_crashing(tmp_path, server, gaz):
    server.fail_status = 503
    cfg = nominatim_config(tmp_path, ["a1", "a2", "a3", "a4"], domain=server.domain)
    g = run(cfg, gaz)
    # retries = 1: two attempts per address; give_up_after = 2: two addresses, then stop
    assert len(server.requests) == 4
    times = [r.t for r in server.requests]
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 1.0
    assert set(g["geocode_precision"]) == {"fsa"}  # every row still placed offline
    assert "Nominatim failed" in g.loc["a1", "geocode_note"]
    assert "not asked" in g.loc["a4", "geocode_note"]
    assert "stopped" in g.attrs["nominatim"]
    with sqlite3.connect(cfg.geocode.nominatim.cache) as db:
        assert db.execute("SELECT count(*) FROM answers").fetchone()[0] == 0  # not cached
    report = geocode_report(g.reset_index())
    assert set(report["service_id"]) == {"a1", "a2", "a3", "a4"}


def test_unreachable_server_falls_through(tmp_path, gaz):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = nominatim_config(tmp_path, ["a1", "a2", "a3"], domain=f"127.0.0.1:{port}")
    g = run(cfg, gaz)
    assert set(g["geocode_precision"]) == {"fsa"}
    assert "Nominatim failed" in g.loc["a1", "geocode_note"]


def test_road_only_or_out_of_province_answers_are_not_used(tmp_path, server, gaz):
    server.answers["76 grenville street"] = fn.road(43.66, -79.39, "Grenville Street")
    server.answers["125 brodie street north"] = fn.house(49.9, -97.1, "125", "Brodie",
                                                         "Winnipeg")
    cfg = nominatim_config(tmp_path, ["a1", "a2"], domain=server.domain)
    g = run(cfg, gaz)
    assert g.loc["a1", "geocode_precision"] == "fsa"
    assert "only the road" in g.loc["a1", "geocode_note"]
    assert g.loc["a2", "geocode_precision"] == "fsa"
    assert "outside Ontario" in g.loc["a2", "geocode_note"]


# -- the client with an injected geocoder and a fake clock -----------------------------------

class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


class ScriptedGeocoder:
    """Raises or answers in the order given; records the queries."""

    def __init__(self, script: list) -> None:
        self.script = list(script)
        self.queries: list = []

    def geocode(self, query, **kwargs):
        self.queries.append(query)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return SimpleNamespace(raw=step) if step is not None else None


def client(tmp_path, script, **kw) -> tuple[NominatimClient, ScriptedGeocoder, FakeClock]:
    clock = FakeClock()
    geocoder = ScriptedGeocoder(script)
    settings = NominatimSettings(mode="online", user_agent=AGENT,
                                 cache=tmp_path / "c.sqlite", **kw)
    return NominatimClient(settings, geocoder=geocoder, clock=clock,
                           sleep=clock.sleep), geocoder, clock


def always(lat, lon):
    return True


def test_retries_back_off_exponentially_and_honour_retry_after(tmp_path):
    answer = fn.house(43.66, -79.39, "76", "Grenville Street", "Toronto")[0]
    c, geocoder, clock = client(tmp_path, [GeocoderUnavailable("down"),
                                           GeocoderUnavailable("down"), answer],
                                retries=2, backoff_s=2.0)
    ans = c.lookup("76 Grenville St", "Toronto", always)
    assert ans.placed and (ans.lat, ans.lon) == (43.66, -79.39)
    assert clock.sleeps == [2.0, 4.0]
    assert len(geocoder.queries) == 3
    c2, _, clock2 = client(tmp_path / "b", [GeocoderRateLimited("slow down", retry_after=30),
                                            answer], retries=1, backoff_s=2.0)
    assert c2.lookup("76 Grenville St", "Toronto", always).placed
    assert clock2.sleeps == [30.0]


def test_throttle_spaces_calls_from_the_end_of_the_last_one():
    clock = FakeClock()
    t = Throttle(1.0, clock=clock, sleep=clock.sleep)
    for work in (0.2, 0.0, 3.0, 0.5):
        t.wait()
        clock.now += work  # the request takes this long
        t.done()
    assert t.calls == [0.0, 1.2, 2.2, 6.2]
    assert all(b - a >= 1.0 for a, b in zip(t.calls, t.calls[1:], strict=False))


def test_refused_user_agent_stops_asking(tmp_path):
    c, geocoder, _ = client(tmp_path, [GeocoderInsufficientPrivileges("403 blocked")])
    first = c.lookup("76 Grenville St", "Toronto", always)
    second = c.lookup("125 Brodie St N", "Thunder Bay", always)
    assert not first.placed and "refused" in first.note
    assert not second.placed and "not asked" in second.note
    assert len(geocoder.queries) == 1


def test_query_cache_keeps_answers_and_no_matches_across_sessions(tmp_path):
    path = tmp_path / "cache.sqlite"
    cache = QueryCache(path)
    assert cache.get("k1") == (False, None)
    cache.put("k1", {"street": "x"}, {"lat": "1", "lon": "2"}, "http://x")
    cache.put("k2", {"street": "y"}, None, "http://x")
    cache.close()
    again = QueryCache(path)
    assert again.get("k1") == (True, {"lat": "1", "lon": "2"})
    assert again.get("k2") == (True, None)
    assert (again.hits, again.misses) == (2, 0)
    assert len(again) == 2
    again.close()


def test_a_broken_cache_file_is_a_clear_error(tmp_path):
    from gapmap.errors import GeocodeError

    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"not a database, just some text that is long enough" * 20)
    with pytest.raises(GeocodeError, match="not a usable geocoder cache"):
        QueryCache(path)


def test_same_address_spelled_differently_is_one_cache_entry(tmp_path):
    answer = fn.house(48.38, -89.25, "125", "Brodie Street North", "Thunder Bay")[0]
    c, geocoder, _ = client(tmp_path, [answer])
    a = c.lookup("125 Brodie Street North", "Thunder Bay", always)
    b = c.lookup("125 BRODIE ST. N, Suite 4", "thunder bay", always)
    assert a.placed and b.placed and b.from_cache
    assert len(geocoder.queries) == 1


@pytest.mark.parametrize(("raw", "street"), [
    (fn.house(43.66, -79.39, "76", "Grenville Street", "Toronto")[0], True),
    ({"class": "building", "type": "yes", "address": {}}, True),
    ({"class": "amenity", "type": "hospital", "addresstype": "amenity", "address": {}},
     False),  # a named amenity without a number: not a civic address
    ({"class": "highway", "type": "residential", "address": {"road": "Main St"}}, False),
    ({"class": "place", "type": "town", "addresstype": "town", "address": {}}, False),
    ({"class": "place", "type": "postcode", "addresstype": "postcode", "address": {}}, False),
])
def test_only_civic_address_answers_count_as_street(raw, street):
    from gapmap.sources.geocoders import _street_level

    assert _street_level(raw)[0] is street
