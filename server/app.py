"""The application factory: settings in, a Flask app out. No module-level state holds the graph."""

from __future__ import annotations

import json

from flask import Flask, jsonify

from . import access_log, protocol, resources, stored_query_api
from .disk_store import ensure_store, fingerprint
from .query_page import bp as query_page
from .query_service import QueryError, QueryService
from .settings import Settings
from .store import graph_names


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["KG_SETTINGS"] = settings
    # A form-encoded query may triple in size (%XX); the query's own limit is checked after decoding.
    app.config["MAX_CONTENT_LENGTH"] = 3 * settings.max_query_bytes + 4096
    # The data lives in the query processes (or the backend): this process only needs the graphs' names.
    graphs = [settings.graph_iri(name) for name in graph_names(settings.data_dir)]
    if settings.backend_url:  # another SPARQL server holds the data (kg load put it there)
        store_kind = f"remote {settings.backend_url}"
    elif settings.store_dir:
        ensure_store(settings)  # built already when `kg serve` started; here for apps made directly
        store_kind = "oxigraph-disk"
    else:
        store_kind = "oxigraph-memory"
    app.extensions["kg_dataset_version"] = fingerprint(settings)
    service = QueryService(settings, graphs)
    app.extensions["kg_query_service"] = service
    protocol.install(app)
    log = access_log.AccessLog(settings.access_log)
    access_log.install(app, log)
    app.extensions["kg_access_log"] = log  # shared with the ASGI front (server/asgi.py)

    counted: list[int] = []  # the data cannot change while the server runs: count once

    def triples() -> int:
        if not counted:
            answer = service.run("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }", "json")
            counted.append(int(json.loads(answer.body)["results"]["bindings"][0]["n"]["value"]))
        return counted[0]

    @app.get("/health")
    def health():  # type: ignore[no-untyped-def]
        try:
            count = triples()
        except QueryError as error:
            return jsonify(status="unavailable", store=store_kind, error=error.message), 503
        cache = app.extensions.get("kg_response_cache")  # set by the ASGI front; none under --dev
        gate = app.extensions.get("kg_query_gate")  # likewise
        return jsonify(status="ok", store=store_kind, triples=count, graphs=graphs,
                       query_processes=service.state(), response_cache=cache.state() if cache else None,
                       query_gate=gate.state() if gate else None)

    app.register_blueprint(query_page)  # the HTML query page at /
    stored_query_api.install(app)  # /queries, /queries/<name>, /openapi.json
    resources.install(app)  # linked data: /id, /doc, /ontology, /.well-known/void, /dumps, 404 page
    return app
