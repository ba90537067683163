"""Stored queries on the web: the catalogue at /queries, one query at /queries/<name>, its text at
/queries/<name>.rq, and an OpenAPI 3 description of them all at /openapi.json.

A stored query answers in every format /sparql offers, by the same negotiation and caching
(protocol.respond); its parameters come from the URL's query string and are bound by StoredQuery.bind.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for

from nato_kg import formats
from nato_kg.engine.query_service import QueryError
from nato_kg.engine.stored_queries import ParameterError, StoredQuery, current_catalogue
from nato_kg.web import negotiation, protocol
from nato_kg.web.openapi import openapi_document
from nato_kg.web.state import state

bp = Blueprint("stored_queries", __name__)
QUERY_MEDIA_TYPE = "application/sparql-query; charset=utf-8"


def catalogue() -> dict[str, StoredQuery]:
    return current_catalogue(state().settings.data_dir / "queries")


def form_of(query_text: str) -> str:
    return state().service.inspect(query_text).form or "SELECT"


def describe(query: StoredQuery) -> dict[str, Any]:
    """A stored query as the JSON catalogue lists it."""
    form = form_of(query.text)
    return {
        "name": query.name,
        "title": query.title,
        "description": query.description,
        "tags": list(query.tags),
        "form": form,
        "formats": list(formats.formats_for(form)),
        "parameters": [{"name": p.name, "type": p.type, "required": p.required, "default": p.default,
                        "description": p.description} for p in query.parameters],
        "url": url_for("stored_queries.run", name=query.name, _external=True),
        "text": url_for("stored_queries.text", name=query.name, _external=True),
    }


def _wants_html() -> bool:
    wanted = request.args.get("format")
    if wanted:
        return wanted == "html"
    # JSON unless HTML is asked for by name: `*/*` (curl, scripts) gets JSON.
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


@bp.get("/queries")
def index() -> Any:
    entries = [describe(q) for q in catalogue().values()]
    if _wants_html():
        return render_template("queries.html", entries=entries)
    return jsonify(queries=entries)


@bp.get("/queries/<name>.rq")
def text(name: str) -> Response:
    query = catalogue().get(name) or abort(404, f"no stored query named '{name}'; see /queries")
    # BASE makes the relative IRIs (kg: <id/>) resolve the same in any SPARQL editor.
    body = f"BASE <{state().settings.base_iri}>\n{query.text}"
    return Response(body, content_type=QUERY_MEDIA_TYPE)


@bp.get("/queries/<name>")
def run(name: str) -> Response:
    query = catalogue().get(name) or abort(404, f"no stored query named '{name}'; see /queries")
    values = {key: request.args.getlist(key) for key in request.args if key != "format"}
    repeated = next((key for key, given in values.items() if len(given) > 1), None)
    if repeated:
        raise QueryError(400, f"parameter '{repeated}' is given {len(values[repeated])} times; give it once")
    try:
        bound = query.bind({key: given[0] for key, given in values.items()}, state().settings.base_iri)
    except ParameterError as error:
        raise QueryError(400, str(error)) from None
    form = form_of(bound)
    fmt_param = request.args.get("format")
    if negotiation.negotiate(form, request.headers.get("Accept"), fmt_param, html=True) == "html":
        return redirect(url_for("query_page.page", query=bound), code=303)  # type: ignore[return-value]
    return protocol.respond(bound, fmt_param)


@bp.get("/openapi.json")
def openapi() -> Response:
    forms = {name: form_of(q.text) for name, q in catalogue().items()}
    return jsonify(openapi_document(catalogue(), forms, request.host_url.rstrip("/")))


def install(app: Any) -> None:
    app.register_blueprint(bp)
