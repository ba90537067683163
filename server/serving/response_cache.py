"""A response cache for repeated GETs of /sparql and /doc/ (what the ETag already names).

The data cannot change while a server process lives (the files are loaded at start-up), so an answer marked
`Cache-Control: public` with an ETag stays right for the process's life. Repeats of the same request (request
target, Accept) are answered from memory by the ASGI front (server/serving/asgi.py) without Flask or a query process:
the engine is 4% of a cheap query's cost here, the rest is HTTP, Flask and the pipe to the query process
(benchmarks/RESULTS.md). A matching If-None-Match gets its 304 from here too. Bounded by bytes, least
recently used out first. Stored-query pages are left to Flask: their files may change while the server runs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

CACHED_PATHS = ("/sparql", "/doc/")
KEPT_ON_304 = (b"etag", b"cache-control", b"vary", b"content-location", b"link", b"access-control-allow-origin",
               b"access-control-expose-headers")
ENTRY_OVERHEAD = 600  # bytes of Python objects around an entry's data: a short answer with 7 headers takes 950 in all

Headers = list[tuple[bytes, bytes]]  # as ASGI carries them: lower-case names
Key = tuple[bytes, ...]


@dataclass(frozen=True)
class Entry:
    status: int
    headers: Headers
    body: bytes
    etag: bytes  # without W/ and quotes
    query_digest: str
    size: int  # what the entry holds against the budget: key, headers, body and overhead


class ResponseCache:
    def __init__(self, max_bytes: int = 64 * 1024 * 1024, max_entry_bytes: int = 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def lookup(self, key: Key, if_none_match: bytes | None) -> tuple[int, Headers, bytes, str] | None:
        """The cached answer to this request (a 304 when If-None-Match names it), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
        if if_none_match and _matches(if_none_match, entry.etag):
            return 304, [h for h in entry.headers if h[0] in KEPT_ON_304], b"", entry.query_digest
        return entry.status, entry.headers, entry.body, entry.query_digest

    def offer(self, key: Key, status: int, headers: Headers, body: bytes, query_digest: str) -> None:
        """Keep a complete, public 200 with an ETag for next time; anything else is not kept."""
        named = dict(headers)
        if status != 200 or b"etag" not in named or b"public" not in named.get(b"cache-control", b""):
            return
        if len(body) > self.max_entry_bytes:
            return
        etag = named[b"etag"].removeprefix(b"W/").strip(b'"')
        with self._lock:
            if key in self._entries:
                return
            size = len(body) + sum(map(len, key)) + sum(len(n) + len(v) for n, v in headers) + ENTRY_OVERHEAD
            self._entries[key] = Entry(status, headers, body, etag, query_digest, size)
            self._size += size
            while self._size > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._size -= dropped.size

    def state(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._entries), "bytes": self._size, "hits": self.hits, "misses": self.misses}


def _matches(if_none_match: bytes, etag: bytes) -> bool:
    return any(tag.strip().removeprefix(b"W/").strip(b'"') in (etag, b"*") for tag in if_none_match.split(b","))
