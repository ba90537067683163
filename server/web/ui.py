"""The browser side built from npm packages (web/): YASGUI, the result views and the overview's pictures.

`make serve` / `make test` install web/package.json's pinned packages and bundle web/src into web/dist
(git-ignored). This module serves that folder at /assets/ui/ (the .gz beside each file to browsers that
accept gzip) and tells the templates whether it is there: without it (no Node.js), the pages are the
server-rendered ones that work with JavaScript off, and nothing is lost but the editor and the pictures.

It also gives the scripts what they need to show terms offline: the labels and most specific class of every
IRI of ours, the ontology's classes and properties for autocomplete. The data cannot change while the server
runs, so these are asked of the store once per app.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, request

from nato_kg.errors import Problem
from nato_kg.web.state import state

HOW_TO_GET_THE_EDITOR = ("No query editor (YASGUI) or result pictures: they need Node.js 18+ with npm: install "
                         "it (e.g. `apt-get install nodejs npm`) and run `make serve` again; meanwhile the "
                         "pages work without JavaScript.")

bp = Blueprint("ui", __name__)


def ui_dir() -> Path | None:
    """The built UI's folder for this app, or None when it is not there (or turned off)."""
    folder = state().settings.ui_dir
    return folder if folder is not None and (folder / "editor.js").is_file() else None


@bp.get("/assets/ui/<path:name>")
def ui_file(name: str) -> Response:
    folder = ui_dir()
    if folder is None:
        abort(404)
    path = (folder / name).resolve()
    if folder.resolve() not in path.parents or not path.is_file() or name.endswith(".gz"):
        abort(404)
    media_type = {".js": "text/javascript", ".css": "text/css"}.get(path.suffix) \
        or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    gz = path.with_name(path.name + ".gz")
    gzipped = gz.is_file() and request.accept_encodings["gzip"] > 0
    response = Response((gz if gzipped else path).read_bytes(), content_type=media_type)
    response.vary.add("Accept-Encoding")
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    # Chunk names carry their content's hash; entry files are linked with ?v=<hash> (ui_asset).
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.app_template_global()
def ui_asset(name: str) -> str | None:
    """URL of a built file (cache-busted by its modification time), or None when the UI is not built."""
    folder = ui_dir()
    path = folder / name if folder is not None else None
    if path is None or not path.is_file():
        return None
    return f"{request.script_root}/assets/ui/{name}?v={path.stat().st_mtime_ns:x}"


# --- what the scripts need to show terms -----------------------------------------------------------

_TERMS_QUERY = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl:  <http://www.w3.org/2002/07/owl#>
PREFIX rdf:  <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
SELECT ?s ?label ?kind ?class WHERE {
  ?s rdfs:label ?label .
  FILTER (isIRI(?s) && STRSTARTS(STR(?s), "BASE") && (LANG(?label) = "" || LANGMATCHES(LANG(?label), "en")))
  OPTIONAL { VALUES ?kind { owl:Class rdfs:Class } ?s a ?kind }
  OPTIONAL { VALUES ?kind { owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty rdf:Property } ?s a ?kind }
  OPTIONAL {
    ?s a ?class .
    FILTER (STRSTARTS(STR(?class), "BASE"))
    FILTER NOT EXISTS { ?s a ?narrower . ?narrower rdfs:subClassOf+ ?class . FILTER (?narrower != ?class) }
  }
}
"""


def _graph_terms(base_iri: str) -> dict[str, Any]:
    answer = json.loads(state().service.run(_TERMS_QUERY.replace("BASE", base_iri), "json").body)
    labels: dict[str, str] = {}
    class_of: dict[str, str] = {}
    classes: set[str] = set()
    properties: set[str] = set()
    for row in answer["results"]["bindings"]:
        iri = row["s"]["value"]
        labels.setdefault(iri, row["label"]["value"])
        kind = row.get("kind", {}).get("value", "")
        if kind.endswith("Class"):
            classes.add(iri)
        elif kind:
            properties.add(iri)
        if "class" in row:
            class_of.setdefault(iri, row["class"]["value"])
    return {
        "labels": labels,
        "classes": {iri: labels.get(c, c.rsplit("#", 1)[-1]) for iri, c in class_of.items()},
        "terms": {"classes": sorted(classes), "properties": sorted(properties)},
    }


def graph_terms(base_iri: str) -> dict[str, Any]:
    """Labels, classes and ontology terms; empty when the store cannot answer (the page still renders)."""
    app_state = state()
    if app_state.graph_terms is None:
        try:
            app_state.graph_terms = _graph_terms(base_iri)
        except Problem:  # a page without labels is better than no page
            current_app.logger.exception("could not read the graph's labels for the pages")
            return {"labels": {}, "classes": {}, "terms": {"classes": [], "properties": []}}
    return app_state.graph_terms


def install(app: Any) -> None:
    app.register_blueprint(bp)


__all__ = ["HOW_TO_GET_THE_EDITOR", "graph_terms", "install", "ui_dir"]
