"""Geocoding providers beyond the shipped gazetteers: overrides, postal codes, Nominatim.

* :func:`read_overrides`: the analyst's manual fixes (a CSV in the geocode report's own
  layout, :data:`OVERRIDE_COLUMNS`), keyed by service id or by normalised address;
* :func:`read_postal_codes`: a full postal-code table the analyst supplies (none is shipped);
* :class:`NominatimClient`: civic addresses through a Nominatim server via geopy, opt-in,
  at most one request per ``min_delay_s``, retries with exponential backoff, and a
  persistent SQLite cache (:class:`QueryCache`) keyed by the normalised query, so a rerun
  asks the network nothing it has asked before. Every network failure is caught and
  returned as a note: the chain falls through to its next provider.

Nothing here touches the network unless ``[geocode.nominatim] mode = "online"``.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from gapmap.config import NominatimSettings
from gapmap.contracts import POINT_PRECISIONS, PRECISIONS
from gapmap.errors import ConfigError, GeocodeError, SchemaError
from gapmap.io import read_table, require_columns, restore_text

log = logging.getLogger(__name__)

OVERRIDE_COLUMNS: tuple[str, ...] = (
    "service_id", "name", "address", "city", "postal_code", "lat", "lon", "precision", "note",
    "issue", "reason", "geocode_precision", "geocode_source", "candidates", "source",
    "source_row",
)
"""The overrides file and the geocode report share these columns.

Read: ``service_id`` or ``address`` (+ ``city``) to match, ``lat``/``lon`` (both blank:
row not filled in yet, skipped), ``precision`` (blank = ``exact``) and ``note``. The other
columns are what the report tells the analyst and are ignored on read.
"""
OVERRIDE_PRECISIONS: tuple[str, ...] = tuple(p for p in PRECISIONS if p in POINT_PRECISIONS)
"""The precisions an override may state: those that place a point, best first."""


def _ascii_fold(text: str) -> str:
    t = unicodedata.normalize("NFKD", text or "")
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    return re.sub(r"[\x00-\x1f\x7f]", "", t)


# -- addresses ------------------------------------------------------------------------------

_UNIT_PART = re.compile(
    r"^(p\.?\s*o\.?\s*box\b|box\s*\d|r\.?\s*r\.?\s*#?\s*\d|rural route\b|"
    r"(suite|ste|unit|apt|room|rm|bureau)\.?\s*#?\s*\d|#\s*\d|"
    r"(floor|fl|level|bldg|building|entrance|door|wing)\b|"
    r"\w+\s+(floor|fl|level)\b)")
_STREET_TYPES = {
    "st": "street", "str": "street", "ave": "avenue", "av": "avenue", "rd": "road",
    "blvd": "boulevard", "dr": "drive", "cres": "crescent", "cr": "crescent", "crt": "court",
    "ct": "court", "pl": "place", "hwy": "highway", "pkwy": "parkway", "ln": "lane",
    "sq": "square", "terr": "terrace", "tr": "trail", "cir": "circle", "gdns": "gardens",
    "pt": "point", "rte": "route",
}
_DIRECTIONS = {"n": "north", "s": "south", "e": "east", "w": "west", "ne": "northeast",
               "nw": "northwest", "se": "southeast", "sw": "southwest"}


def normalise_address(address: str) -> str:
    """A street address reduced to what locates it, in one spelling.

    Units, floors, suites and PO boxes are dropped (a geocoder cannot use them),
    abbreviations expanded, accents and case folded::

        "130 Queen St. West, 1st Floor"   -> "130 queen street west"
        "110 Main St. North, PO Box 699"  -> "110 main street north"
        "100 St. Clair Ave W"             -> "100 saint clair avenue west"
    """
    t = _ascii_fold(address)
    t = re.sub(r"\([^)]*\)", " ", t)
    parts = [p.strip() for p in re.split(r"[,;]", t) if p.strip()]
    keep = [p for p in parts if not _UNIT_PART.match(p)] or parts[:1]
    t = " ".join(keep)
    t = re.sub(r"^\s*\d+[a-z]?\s*-\s*(?=\d)", "", t)        # "5-123 Main" -> "123 Main"
    t = re.sub(r"\b(suite|unit|ste|apt|room|rm)\s*#?\s*\w+\b", " ", t)
    t = re.sub(r"#\s*\w+", " ", t)
    t = re.sub(r"[’'`]", "", t)
    tokens = re.sub(r"[^a-z0-9]+", " ", t).split()
    out: list[str] = []
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        last = i == len(tokens) - 1
        if tok == "st":
            # "St" before a name is "Saint" ("St. Clair Ave"); after one it is "Street".
            street = last or nxt in _DIRECTIONS or nxt in _DIRECTIONS.values()
            out.append("street" if street or (i > 0 and not out[-1].isdigit()) else "saint")
        elif tok in _STREET_TYPES and i > 0:
            out.append(_STREET_TYPES[tok])
        elif tok in _DIRECTIONS and last and i > 1:
            out.append(_DIRECTIONS[tok])
        else:
            out.append(tok)
    return " ".join(out)


def normalise_city(city: str) -> str:
    t = _ascii_fold(city)
    t = re.sub(r"\bste?[.]?(?=[\s-])", lambda m: "sainte" if m.group(0).startswith("ste")
               else "saint", t)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", re.sub(r"[’'`.]", "", t)).split())


def address_key(address: str, city: str) -> str:
    """The key overrides and the Nominatim cache use: ``"<street>, <city>"`` normalised."""
    street = normalise_address(address)
    if not street:
        return ""
    town = normalise_city(city)
    return f"{street}, {town}" if town else street


# -- overrides ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Override:
    lat: float
    lon: float
    precision: str
    note: str
    where: str  # "<file> line <n>"


@dataclass
class Overrides:
    """The analyst's fixes: by service id first, then by normalised address."""

    by_id: dict[str, Override] = field(default_factory=dict)
    by_address: dict[str, Override] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.by_id) + len(self.by_address)

    def find(self, service_id: str, address: str, city: str) -> Override | None:
        if service_id in self.by_id:
            self.used.add(f"id:{service_id}")
            return self.by_id[service_id]
        key = address_key(address, city)
        if key and key in self.by_address:
            self.used.add(f"address:{key}")
            return self.by_address[key]
        return None

    def unused(self) -> list[str]:
        keys = [f"id:{k}" for k in self.by_id] + [f"address:{k}" for k in self.by_address]
        return [k for k in keys if k not in self.used]


def _float(value: str, where: str, name: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise SchemaError(f"{where}: {name} is not a number: {value!r}") from None


def read_overrides(path: Path, in_ontario: Callable[[float, float], bool]) -> Overrides:
    """Read an overrides file (CSV/XLSX, columns :data:`OVERRIDE_COLUMNS`; extra ones ignored).

    Rows whose ``lat`` and ``lon`` are both blank are not filled in yet and are skipped.

    Raises
    ------
    SchemaError
        Naming the file, line and field: a missing column, half a coordinate pair, a value
        that is not a number, a point outside Ontario, an unknown precision, a row with
        neither service id nor address, or one key given two different points.
    """
    t = read_table(path)
    t.columns = [str(c).strip().lower() for c in t.columns]
    require_columns(t, ["lat", "lon"], str(path))
    if "service_id" not in t.columns and "address" not in t.columns:
        raise SchemaError(f"{path}: needs a service_id or an address column")
    out = Overrides()
    for line, r in enumerate(t.to_dict("records"), start=2):
        where = f"{path} line {line}"
        lat_s, lon_s = str(r["lat"]).strip(), str(r["lon"]).strip()
        if not lat_s and not lon_s:
            continue
        if not lat_s or not lon_s:
            raise SchemaError(f"{where}: field {'lat' if not lat_s else 'lon'}: latitude and "
                              "longitude must be given together")
        lat, lon = _float(lat_s, where, "lat"), _float(lon_s, where, "lon")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise SchemaError(f"{where}: field lat: out of range: {lat}, {lon}")
        if not in_ontario(lat, lon):
            hint = " (latitude and longitude swapped?)" if in_ontario(lon, lat) else ""
            raise SchemaError(f"{where}: field lat: point ({lat}, {lon}) lies outside "
                              f"Ontario{hint}")
        precision = str(r.get("precision", "")).strip().lower() or "exact"
        if precision not in OVERRIDE_PRECISIONS:
            raise SchemaError(f"{where}: field precision: {precision!r} is not one of "
                              f"{', '.join(OVERRIDE_PRECISIONS)} (blank = exact)")
        ov = Override(lat, lon, precision, str(r.get("note", "")).strip(), where)
        sid = restore_text(str(r.get("service_id", "")).strip())
        if sid:
            target, key = out.by_id, sid
        else:
            key = address_key(restore_text(str(r.get("address", ""))),
                              restore_text(str(r.get("city", ""))))
            if not key:
                raise SchemaError(f"{where}: field service_id: give a service id or an "
                                  "address")
            target = out.by_address
        prev = target.get(key)
        if prev and (prev.lat, prev.lon) != (lat, lon):
            raise SchemaError(f"{where}: {key!r} already has another point ({prev.where})")
        target[key] = ov
    log.info("%s: %d overrides", path, len(out))
    return out


# -- full postal codes ----------------------------------------------------------------------

def read_postal_codes(path: Path) -> dict[str, tuple[float, float]]:
    """A full postal-code table: columns ``postal_code``, ``lat``, ``lon`` -> ``{"K1A 0A6": ...}``.

    Codes are normalised (``k1a0a6`` -> ``K1A 0A6``); rows with an invalid code or no
    point are skipped with a warning.
    """
    from gapmap.sources.listings import normalise_postal_code

    t = read_table(path)
    t.columns = [str(c).strip().lower() for c in t.columns]
    require_columns(t, ["postal_code", "lat", "lon"], str(path))
    out: dict[str, tuple[float, float]] = {}
    skipped = 0
    for _, r in t.iterrows():
        code = normalise_postal_code(str(r["postal_code"]))
        try:
            lat, lon = float(r["lat"]), float(r["lon"])
        except ValueError:
            code = None
        if not code or len(code) != 7:
            skipped += 1
            continue
        out[code] = (lat, lon)
    if skipped:
        log.warning("%s: %d rows skipped (invalid postal code or point)", path, skipped)
    return out


# -- Nominatim ------------------------------------------------------------------------------

class QueryCache:
    """A persistent SQLite cache of geocoder answers, keyed by the normalised query.

    A "no match" answer is cached too (``response`` NULL), so a rerun repeats it without
    asking again; failures (network errors) are never cached.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, query TEXT NOT NULL, "
                "response TEXT, endpoint TEXT NOT NULL, fetched_utc TEXT NOT NULL)")
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            raise GeocodeError(f"{self.path}: not a usable geocoder cache ({exc}); move it "
                               "away or set [geocode.nominatim] cache") from exc
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> tuple[bool, dict[str, Any] | None]:
        """``(found, raw answer or None for a cached "no match")``."""
        row = self._db.execute("SELECT response FROM answers WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return False, None
        self.hits += 1
        return True, (json.loads(row[0]) if row[0] is not None else None)

    def put(self, key: str, query: Any, response: dict[str, Any] | None, endpoint: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)",
            (key, json.dumps(query, sort_keys=True),
             None if response is None else json.dumps(response, sort_keys=True), endpoint,
             datetime.now(UTC).isoformat(timespec="seconds")))
        self._db.commit()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        self._db.close()


class Throttle:
    """At most one request per ``min_interval_s``, counted from the end of the previous one.

    Call :meth:`wait` before a request and :meth:`done` when it returns (or fails):
    the next request starts no sooner than ``min_interval_s`` after the previous one
    ended, so the server sees them at least that far apart whatever the latency.
    ``calls`` keeps the (monotonic) start time of every request, so the rate can be checked.
    """

    def __init__(self, min_interval_s: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.min_interval_s = min_interval_s
        self.clock, self.sleep = clock, sleep
        self.calls: list[float] = []
        self._last_end: float | None = None

    def wait(self) -> None:
        if self._last_end is not None:
            while (due := self._last_end + self.min_interval_s - self.clock()) > 0:
                self.sleep(due)
        self.calls.append(self.clock())

    def done(self) -> None:
        self._last_end = self.clock()


class Geocoder(Protocol):
    """What :class:`NominatimClient` needs: geopy's ``Nominatim.geocode`` signature."""

    def geocode(self, query: Any, **kwargs: Any) -> Any: ...


@dataclass
class AddressAnswer:
    """What Nominatim said about one address: a street-level point, or why there is none
    (``note``, in words; ``issue``, the code from :data:`~gapmap.contracts.GEOCODE_ISSUES`
    that the geocode report reads)."""

    lat: float | None = None
    lon: float | None = None
    label: str = ""
    note: str = ""
    from_cache: bool = False
    issue: str = ""

    @property
    def placed(self) -> bool:
        return self.lat is not None


_NOT_GEOCODED = "address_not_geocoded"
"""The issue code (:data:`~gapmap.contracts.GEOCODE_ISSUES`) of an address Nominatim was
asked about but did not place."""
_STREET_LEVEL_TYPES = {"house", "building", "apartments", "office", "hospital", "school",
                       "college", "university", "courthouse", "townhall", "clinic",
                       "community_centre"}


def _street_level(raw: dict[str, Any]) -> tuple[bool, str]:
    """Is this Nominatim answer a civic address (not a whole road, town or postcode)?"""
    address = raw.get("address") or {}
    kind = str(raw.get("addresstype") or raw.get("type") or "")
    cls = str(raw.get("class") or raw.get("category") or "")
    if address.get("house_number"):
        return True, "house number"
    if cls == "highway" or kind == "road":
        return False, "only the road, not the civic number"
    if cls == "building" or kind in _STREET_LEVEL_TYPES:
        return True, kind or cls
    return False, f"only a {kind or cls or 'place'}"


class NominatimClient:
    """Civic-address look-ups through Nominatim (geopy), cached, throttled and retried.

    Parameters
    ----------
    settings
        ``[geocode.nominatim]``. With ``mode = "off"`` nothing is looked up; with
        ``"cached"`` only the cache answers; with ``"online"`` a cache miss asks the server.
    geocoder
        Injected geocoder (anything with geopy's ``geocode(query, **kwargs)``); by default
        geopy's ``Nominatim`` on ``settings.domain`` with the configured user agent.
    clock, sleep
        For the throttle and the backoff waits (tests may inject fakes).
    """

    def __init__(self, settings: NominatimSettings, *, geocoder: Geocoder | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.mode = settings.mode
        self.endpoint = f"{settings.scheme}://{settings.domain}"
        self._geocoder = geocoder
        self.cache: QueryCache | None = None
        if self.mode != "off":
            if settings.cache is None:
                raise ConfigError("geocode.nominatim.cache: a Nominatim cache path is required")
            self.cache = QueryCache(settings.cache)
        self.throttle = Throttle(settings.min_delay_s, clock=clock, sleep=sleep)
        self.sleep = sleep
        self.requests = 0
        self.failures = 0
        self._consecutive_failures = 0
        self.disabled_reason = ""

    @property
    def active(self) -> bool:
        return self.mode != "off"

    def _client(self) -> Geocoder:
        if self._geocoder is None:
            from geopy.adapters import URLLibAdapter
            from geopy.geocoders import Nominatim

            # URLLibAdapter makes no retries of its own: every attempt goes through the
            # throttle, so the one-request-per-second limit holds for retries too.
            self._geocoder = Nominatim(
                user_agent=self.settings.user_agent, domain=self.settings.domain,
                scheme=self.settings.scheme, timeout=self.settings.timeout_s,  # type: ignore
                adapter_factory=URLLibAdapter)
        return self._geocoder

    @staticmethod
    def query_for(address: str, city: str) -> tuple[str, dict[str, str]]:
        """``(cache key, structured query)`` for a listing's address and town."""
        street, town = normalise_address(address), normalise_city(city)
        query = {"street": street, "city": town, "state": "ontario", "country": "canada"}
        key = ", ".join(v for v in (street, town, "ontario", "canada") if v)
        return key, query

    def lookup(self, address: str, city: str,
               in_ontario: Callable[[float, float], bool]) -> AddressAnswer:
        """Look one address up: cache first, then (online mode) the server.

        Never raises for a network problem: the answer's ``note`` says what went wrong
        and the caller moves on to its next provider.
        """
        if not self.active or self.cache is None:
            return AddressAnswer(note="")
        key, query = self.query_for(address, city)
        if not query["street"]:
            return AddressAnswer(note="")
        found, raw = self.cache.get(key)
        if not found:
            if self.mode == "cached":
                return AddressAnswer(note=f"Nominatim: {key!r} not in the cache (mode cached)",
                                     issue=_NOT_GEOCODED)
            if self.disabled_reason:
                return AddressAnswer(note=f"Nominatim not asked: {self.disabled_reason}",
                                     issue=_NOT_GEOCODED)
            ok, raw, why = self._ask(query)
            if not ok:
                return AddressAnswer(note=f"Nominatim failed for {key!r}: {why}",
                                     issue=_NOT_GEOCODED)
            self.cache.put(key, query, raw, self.endpoint)
        return self._judge(raw, key, in_ontario, from_cache=found)

    def _judge(self, raw: dict[str, Any] | None, key: str,
               in_ontario: Callable[[float, float], bool], *, from_cache: bool) -> AddressAnswer:
        where = " (cached)" if from_cache else ""
        if raw is None:
            return AddressAnswer(note=f"Nominatim found no match for {key!r}{where}",
                                 from_cache=from_cache, issue=_NOT_GEOCODED)
        lat, lon = float(raw["lat"]), float(raw["lon"])
        street, kind = _street_level(raw)
        if not street:
            return AddressAnswer(note=f"Nominatim matched {kind} for {key!r}{where}: not used",
                                 from_cache=from_cache, issue=_NOT_GEOCODED)
        if not in_ontario(lat, lon):
            return AddressAnswer(note=f"Nominatim answer for {key!r} lies outside Ontario "
                                      f"({lat:.4f}, {lon:.4f}){where}: not used",
                                 from_cache=from_cache, issue=_NOT_GEOCODED)
        return AddressAnswer(lat, lon, label=str(raw.get("display_name", ""))[:120],
                             from_cache=from_cache)

    def _ask(self, query: dict[str, str]) -> tuple[bool, dict[str, Any] | None, str]:
        """``(ok, raw or None, why it failed)`` after up to ``retries`` retries."""
        from geopy.exc import (
            GeocoderAuthenticationFailure,
            GeocoderInsufficientPrivileges,
            GeocoderQueryError,
            GeocoderRateLimited,
            GeopyError,
        )

        s = self.settings
        why = ""
        for attempt in range(s.retries + 1):
            self.throttle.wait()
            self.requests += 1
            try:
                try:
                    loc = self._client().geocode(query, exactly_one=True, addressdetails=True,
                                                 country_codes="ca", timeout=s.timeout_s)
                finally:
                    self.throttle.done()
            except (GeocoderAuthenticationFailure, GeocoderInsufficientPrivileges) as exc:
                # Refused (e.g. a blocked user agent): asking again will not help.
                self.failures += 1
                self.disabled_reason = f"server refused requests ({type(exc).__name__}: {exc})"
                log.warning("Nominatim: %s; not asked again in this run", self.disabled_reason)
                return False, None, self.disabled_reason
            except GeocoderQueryError as exc:
                self.failures += 1
                return False, None, f"query rejected ({exc})"
            except (GeopyError, OSError, ValueError) as exc:
                why = f"{type(exc).__name__}: {exc}"
                wait = s.backoff_s * 2 ** attempt
                if isinstance(exc, GeocoderRateLimited) and exc.retry_after:
                    wait = max(wait, float(exc.retry_after))
                log.info("Nominatim attempt %d failed (%s)", attempt + 1, why)
                if attempt < s.retries and wait > 0:
                    self.sleep(wait)
                continue
            self._consecutive_failures = 0
            return True, (dict(loc.raw) if loc is not None else None), ""
        self.failures += 1
        self._consecutive_failures += 1
        if self._consecutive_failures >= s.give_up_after:
            self.disabled_reason = (f"unavailable ({self._consecutive_failures} look-ups in a "
                                    f"row failed; last: {why})")
            log.warning("Nominatim %s; not asked again in this run", self.disabled_reason)
        return False, None, f"{why} after {s.retries + 1} attempts"

    def summary(self) -> str:
        if not self.active or self.cache is None:
            return "Nominatim off"
        text = (f"Nominatim {self.mode}: {self.cache.hits} cache hits, {self.requests} "
                f"requests, {self.failures} failed look-ups")
        return text + (f"; stopped: {self.disabled_reason}" if self.disabled_reason else "")

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()


__all__ = ["OVERRIDE_COLUMNS", "AddressAnswer", "NominatimClient", "Overrides", "QueryCache",
           "Throttle", "address_key", "normalise_address", "read_overrides",
           "read_postal_codes"]
