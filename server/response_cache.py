"""A response cache in front of Flask, for repeated GETs of /sparql and /doc/ (what the ETag already names).

The data cannot change while a server process lives (the files are loaded at start-up), so an answer marked
`Cache-Control: public` with an ETag stays right for the process's life. Repeats of the same request (path,
query string, Accept) are answered from memory without Flask or a query process: the engine
is 4% of a cheap query's cost here, the rest is WSGI, Flask and the pipe to the query process
(benchmarks/RESULTS.md). A matching If-None-Match gets its 304 here too. Bounded by bytes, least recently
used out first. Stored-query pages are left to Flask: their files may change while the server runs.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from .access_log import AccessLog, query_digest

CACHED_PATHS = ("/sparql", "/doc/")
KEPT_ON_304 = ("etag", "cache-control", "vary", "access-control-allow-origin", "access-control-expose-headers")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Entry:
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    etag: str  # without W/ and quotes
    query_digest: str


class ResponseCache:
    def __init__(self, app: WSGIApp, access_log: AccessLog, max_bytes: int = 64 * 1024 * 1024,
                 max_entry_bytes: int = 1024 * 1024) -> None:
        self.app = app
        self.access_log = access_log
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[tuple[str, ...], Entry] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if method not in ("GET", "HEAD") or not path.startswith(CACHED_PATHS):
            return self.app(environ, start_response)
        # The raw request target, not PATH_INFO: /doc/a%2Fb and /doc/a/b are different resources.
        target = environ.get("RAW_URI") or f"{path}?{environ.get('QUERY_STRING', '')}"
        key = (target, environ.get("HTTP_ACCEPT", ""))  # nothing cached here varies by Accept-Encoding
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
        if entry is None:
            return self._fill(key, environ, start_response)
        started = time.perf_counter()
        if _matches(environ.get("HTTP_IF_NONE_MATCH"), entry.etag):
            status, headers, body = "304 Not Modified", [h for h in entry.headers if h[0].lower() in KEPT_ON_304], b""
        else:
            status, headers, body = entry.status, entry.headers, entry.body
        start_response(status, headers)
        self.access_log.write(method, path, status[:3], (time.perf_counter() - started) * 1000, len(body),
                              entry.query_digest, environ.get("REMOTE_ADDR", "-"), cache="hit")
        return [] if method == "HEAD" else [body]

    def _fill(self, key: tuple[str, ...], environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Run the app; keep a complete, public 200 with an ETag for next time."""
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self.app(environ, capture)
        headers = {name.lower(): value for name, value in seen.get("headers", [])}
        cacheable = (environ["REQUEST_METHOD"] == "GET" and seen.get("status", "").startswith("200")
                     and "etag" in headers and "public" in headers.get("cache-control", ""))
        if not cacheable:
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close:
                close()
        if len(body) <= self.max_entry_bytes:
            digest = query_digest(dict(parse_qsl(environ.get("QUERY_STRING", ""))).get("query"))
            etag = headers["etag"].removeprefix("W/").strip('"')
            self._store(key, Entry(seen["status"], list(seen["headers"]), body, etag, digest))
        return [body]

    def _store(self, key: tuple[str, ...], entry: Entry) -> None:
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = entry
            self._size += len(entry.body)
            while self._size > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._size -= len(dropped.body)

    def state(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._entries), "bytes": self._size, "hits": self.hits, "misses": self.misses}


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    return any(tag.strip().removeprefix("W/").strip('"') in (etag, "*") for tag in if_none_match.split(","))
