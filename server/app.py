"""The application factory: settings in, a Flask app out. No module-level state holds the graph."""

from __future__ import annotations

from flask import Flask, jsonify
from rdflib import Dataset

from . import access_log, protocol, stored_query_api
from .disk_store import ensure_store, fingerprint, open_read_only
from .query_page import bp as query_page
from .query_service import QueryService
from .settings import Settings
from .store import load_dataset, native_store, triple_count


def _open_dataset(settings: Settings) -> Dataset:
    if settings.store_dir is None:
        return load_dataset(settings)
    from oxrdflib import OxigraphStore

    ensure_store(settings)
    return Dataset(store=OxigraphStore(store=open_read_only(settings)), default_union=True)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["KG_SETTINGS"] = settings
    # A form-encoded query may triple in size (%XX); the query's own limit is checked after decoding.
    app.config["MAX_CONTENT_LENGTH"] = 3 * settings.max_query_bytes + 4096
    dataset = _open_dataset(settings)
    app.extensions["kg_dataset"] = dataset
    app.extensions["kg_dataset_version"] = fingerprint(settings)
    graphs = sorted(g.value for g in native_store(dataset).named_graphs())
    service = QueryService(settings, graphs)
    app.extensions["kg_query_service"] = service
    protocol.install(app)
    access_log.install(app)

    @app.get("/health")
    def health():  # type: ignore[no-untyped-def]
        store = native_store(dataset)
        return jsonify(
            status="ok",
            store="oxigraph-disk" if settings.store_dir else "oxigraph-memory",
            triples=triple_count(store),
            graphs=sorted(g.value for g in store.named_graphs()),
            query_processes=service.state(),
        )

    app.register_blueprint(query_page)  # the HTML query page at /
    stored_query_api.install(app)  # /queries, /queries/<name>, /openapi.json
    return app
