"""The application factory: settings in, a Flask app out. No module-level state holds the graph."""

from __future__ import annotations

from flask import Flask, jsonify

from .settings import Settings
from .store import load_dataset, native_store, triple_count


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["KG_SETTINGS"] = settings
    dataset = load_dataset(settings)
    app.extensions["kg_dataset"] = dataset

    @app.get("/health")
    def health():  # type: ignore[no-untyped-def]
        store = native_store(dataset)
        return jsonify(
            status="ok",
            store="oxigraph-memory",
            triples=triple_count(store),
            graphs=sorted(g.value for g in store.named_graphs()),
        )

    return app
