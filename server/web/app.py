"""The application factory: settings in, a Flask app out. No module-level state holds the graph."""

from __future__ import annotations

import json

from flask import Flask, jsonify

from nato_kg.data.disk_store import ensure_store, fingerprint
from nato_kg.data.store import graph_names
from nato_kg.engine.policy import verdicts as policy_verdicts
from nato_kg.engine.query_service import QueryService
from nato_kg.errors import Problem
from nato_kg.settings import Settings
from nato_kg.web import access_log, overview, protocol, stored_query_api, ui
from nato_kg.web.html import security_headers
from nato_kg.web.ld import dumps, ontology_docs, resources, void
from nato_kg.web.query_page import bp as query_page
from nato_kg.web.state import AppState


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
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
    service = QueryService(settings, graphs)
    log = access_log.AccessLog(settings.access_log)  # shared with the ASGI front (server/serving/asgi.py)
    app_state = AppState(settings=settings, service=service, dataset_version=fingerprint(settings), access_log=log)
    app_state.attach(app)
    protocol.install(app)
    access_log.install(app, log)

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
        except Problem as error:
            return jsonify(status="unavailable", store=store_kind, error=error.message), 503
        cache = app_state.response_cache  # registered by the serving layer's front; none under --dev
        gate = app_state.query_gate  # likewise
        return jsonify(status="ok", store=store_kind, triples=count, graphs=graphs,
                       query_processes=service.state(), response_cache=cache.state() if cache else None,
                       query_gate=gate.state() if gate else None,
                       connections=app_state.connections.state() if app_state.connections else None,
                       memos={"policy_verdicts": policy_verdicts.state(),
                              "known_iris": app_state.known_iris.state()})

    app.register_blueprint(query_page)  # the HTML query page at /
    stored_query_api.install(app)  # /queries, /queries/<name>, /openapi.json
    overview.install(app)  # /overview: the article's three pictures
    ui.install(app)  # /assets/ui: the editor and the pictures, when web/dist is built
    # Linked data: /id, /doc, /ontology, /.well-known/void, /dumps, and the 404 page.
    for blueprint in (resources.bp, ontology_docs.bp, void.bp, dumps.bp):
        blueprint.after_request(security_headers)
        app.register_blueprint(blueprint)
    app.register_error_handler(404, resources.not_found)
    return app
