"""One structured access-log line per request (logfmt): method, path, status, duration, query hash."""

from __future__ import annotations

import hashlib
import logging
import time

from flask import Flask, Response, g, request

log = logging.getLogger("kg.access")


def install(app: Flask) -> None:
    @app.before_request
    def start_clock() -> None:
        g.kg_started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        if log.isEnabledFor(logging.INFO):
            ms = (time.perf_counter() - g.get("kg_started", time.perf_counter())) * 1000
            query = g.get("kg_query")
            digest = hashlib.sha256(query.encode("utf-8")).hexdigest()[:12] if query else "-"
            log.info("method=%s path=%s status=%d ms=%.2f bytes=%s query=%s client=%s", request.method,
                     request.path, response.status_code, ms, response.content_length or 0, digest,
                     request.remote_addr or "-")
        return response
