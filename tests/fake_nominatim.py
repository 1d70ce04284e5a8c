"""A fake Nominatim server on 127.0.0.1 for tests: no test ever touches the network.

It answers ``/search`` like Nominatim's JSON API from a table of canned answers keyed by the
``street`` parameter of a structured query, and records every request (monotonic time,
query parameters, User-Agent) so tests can check the cache, the rate and the user agent.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    t: float
    params: dict[str, str]
    user_agent: str


@dataclass
class FakeNominatim:
    """Canned answers by street (``answers``); ``fail_status`` makes every request fail."""

    answers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fail_status: int | None = None
    requests: list[Request] = field(default_factory=list)
    port: int = 0

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"


def house(lat: float, lon: float, number: str, road: str, town: str) -> list[dict[str, Any]]:
    """A Nominatim answer at house-number level."""
    return [{"lat": str(lat), "lon": str(lon), "class": "place", "type": "house",
             "addresstype": "place", "display_name": f"{number}, {road}, {town}, Ontario",
             "address": {"house_number": number, "road": road, "city": town,
                         "state": "Ontario", "country_code": "ca"}}]


def road(lat: float, lon: float, name: str) -> list[dict[str, Any]]:
    """A Nominatim answer that found only the road."""
    return [{"lat": str(lat), "lon": str(lon), "class": "highway", "type": "primary",
             "addresstype": "road", "display_name": name, "address": {"road": name}}]


def start(fake: FakeNominatim) -> tuple[ThreadingHTTPServer, threading.Thread]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            url = urlsplit(self.path)
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            fake.requests.append(Request(time.monotonic(), params,
                                         self.headers.get("User-Agent", "")))
            if fake.fail_status is not None:
                self.send_response(fake.fail_status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = json.dumps(fake.answers.get(params.get("street", ""), [])).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread
