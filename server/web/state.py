"""The application's state: one typed object made by the app factory, stored once on the Flask app.

Views read it through `state()`; the serving layer (server/serving/asgi.py) reaches it through `state(app)` to
share the access log and to register its response cache for `/health`. Per-process memos of answers that cannot
change while the server runs (the data changes only on restart) live here too, each with its own type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from flask import Flask, current_app

from nato_kg.engine.query_service import QueryService
from nato_kg.memo import BytesMemo
from nato_kg.settings import Settings
from nato_kg.web.access_log import AccessLog

if TYPE_CHECKING:
    import pyoxigraph as ox

_KEY = "nato_kg"
KNOWN_IRIS_MAX_BYTES = 4 * 1024 * 1024


class ReportsState(Protocol):
    """Something `/health` reports on (the serving layer's response cache)."""

    def state(self) -> dict[str, Any]: ...


@dataclass
class AppState:
    settings: Settings
    service: QueryService
    dataset_version: str  # fingerprint of the data files: part of every ETag
    access_log: AccessLog
    response_cache: ReportsState | None = None  # registered by the serving layer when it has one
    query_gate: ReportsState | None = None  # likewise: its fair queue (server/serving/admission.py)
    connections: ReportsState | None = None  # likewise: its connection limits (server/serving/request_head.py)
    # Per-process memos.
    # Whether the graph mentions an IRI, by IRI: the IRIs come from request paths (up to 64 KB), so the memo has
    # a byte budget.
    known_iris: BytesMemo[str, bool] = field(default_factory=lambda: BytesMemo(KNOWN_IRIS_MAX_BYTES, lambda _: 0))
    void_triples: list[ox.Triple] | None = None
    dump_sources: tuple[Any, Any] | None = None
    dumps: dict[str, Any] = field(default_factory=dict)
    ontology_docs: dict[str, Any] = field(default_factory=dict)  # ld/ontology_docs.py's OntologyDoc by path prefix
    graph_terms: dict[str, Any] | None = None  # ui.py: labels, classes and ontology terms for the scripts

    def attach(self, app: Flask) -> None:
        app.extensions[_KEY] = self


def state(app: Flask | None = None) -> AppState:
    """The state of `app`, or of the app handling the current request."""
    return (app or current_app).extensions[_KEY]  # type: ignore[no-any-return]


__all__ = ["AppState", "ReportsState", "state"]
