"""One structured access-log line per request (logfmt): method, path, status, duration, size, query hash.

Written straight to a file descriptor (stderr by default, `--access-log PATH` to append to a file, `off`),
one `os.write` per line, not through the `logging` module: on an answer from the response cache the logging
module took a third of the request's time (benchmarks/RESULTS.md, "Figures behind choices in the code").
A line under 4 KB written with O_APPEND is not interleaved with another worker's.
"""

from __future__ import annotations

import os
import re
import sys
import time

from flask import Flask, Response, g, request

from nato_kg.engine.query_service import query_digest, query_seconds, reset_query_seconds

# Seconds the request spent in query processes, told to the fair scheduler in front (which removes the field).
QUERY_SECONDS_HEADER = "X-KG-Query-Seconds"

_NEEDS_QUOTES = re.compile(r'[\s"=\\]|[^\x21-\x7e]')


def _value(text: str) -> str:
    """A logfmt value: bare when it can be, else quoted with escapes (no line breaks ever reach the log)."""
    if not _NEEDS_QUOTES.search(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in escaped) + '"'


class AccessLog:
    def __init__(self, target: str | None = "-") -> None:
        if not target or target == "off":
            self.fd: int | None = None
        elif target == "-":
            self.fd = sys.stderr.fileno()
        else:
            self.fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._second = -1
        self._stamp = ""

    def write(self, method: str, path: str, status: int | str, ms: float, size: int, query: str,
              client: str, cache: str | None = None, failure: str | None = None,
              service_failed: str | None = None) -> None:
        if self.fd is None:
            return
        now = time.time()
        if int(now) != self._second:  # strftime once a second, not once a request
            self._second = int(now)
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        line = (f"{self._stamp} kg.access method={_value(method)} path={_value(path)} status={status} "
                f"ms={ms:.2f} bytes={size} query={query} client={_value(client)}"
                f"{f' cache={cache}' if cache else ''}{f' failure={failure}' if failure else ''}"
                f"{f' service_failed={_value(service_failed)}' if service_failed else ''}\n")
        os.write(self.fd, line.encode("utf-8", "replace"))


def _failed_endpoints(failures: tuple[tuple[str, str], ...] | None) -> str | None:
    return ",".join(dict.fromkeys(endpoint for endpoint, _ in failures)) if failures else None


def install(app: Flask, access_log: AccessLog) -> None:
    @app.before_request
    def start_clock() -> None:
        g.kg_started = time.perf_counter()
        reset_query_seconds()

    @app.after_request
    def log_request(response: Response) -> Response:
        ms = (time.perf_counter() - g.get("kg_started", time.perf_counter())) * 1000
        access_log.write(request.method, request.path, response.status_code, ms, response.content_length or 0,
                         query_digest(g.get("kg_query")), request.remote_addr or "-",
                         failure=g.get("kg_failure"), service_failed=_failed_endpoints(g.get("kg_service_failures")))
        spent = query_seconds()
        if spent:  # for the fair scheduler in front, which takes it off (server/serving/asgi.py)
            response.headers[QUERY_SECONDS_HEADER] = f"{spent:.6f}"
        return response
