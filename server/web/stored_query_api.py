"""Stored queries on the web: the catalogue at /queries, one query at /queries/<name>, its text at
/queries/<name>.rq, and an OpenAPI 3 description of them all at /openapi.json.

A stored query answers in every format /sparql offers, by the same negotiation and caching
(protocol.respond); its parameters come from the URL's query string and are bound by StoredQuery.bind.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, render_template, request, url_for

from nato_kg import formats
from nato_kg.engine.stored_queries import StoredQuery, current_catalogue
from nato_kg.errors import Problem
from nato_kg.web import negotiation, protocol
from nato_kg.web.html import Namer, page_prefixes, security_headers
from nato_kg.web.openapi import openapi_document
from nato_kg.web.query_page import MAX_ROWS_SHOWN, page_data, run_query
from nato_kg.web.state import state
from nato_kg.web.ui import graph_terms

bp = Blueprint("stored_queries", __name__)
QUERY_MEDIA_TYPE = "application/sparql-query; charset=utf-8"


def catalogue() -> dict[str, StoredQuery]:
    return current_catalogue(state().settings.data_dir / "queries")


def form_of(query_text: str) -> str:
    return state().service.check(query_text).form


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
    queries = list(catalogue().values())  # read once: a curator may add a query file meanwhile
    entries = [describe(q) for q in queries]
    if _wants_html():
        for entry, query in zip(entries, queries, strict=True):
            entry["fields"] = form_fields(query, {})
        return security_headers(Response(render_template("queries.html", entries=entries), mimetype="text/html"))
    return jsonify(queries=entries)


@bp.get("/queries/<name>.rq")
def text(name: str) -> Response:
    query = catalogue().get(name) or abort(404, f"no stored query named '{name}'; see /queries")
    # BASE makes the relative IRIs (kg: <id/>) resolve the same in any SPARQL editor.
    body = f"BASE <{state().settings.base_iri}>\n{query.text}"
    response = Response(body, content_type=negotiation.for_browser(QUERY_MEDIA_TYPE, request.headers.get("Accept")))
    response.vary.add("Accept")  # a browser is shown the text (text/plain) instead of a download
    return response


@bp.get("/queries/<name>")
def run(name: str) -> Response:
    query = catalogue().get(name) or abort(404, f"no stored query named '{name}'; see /queries")
    values = {key: request.args.getlist(key) for key in request.args if key != "format"}
    repeated = next((key for key, given in values.items() if len(given) > 1), None)
    if repeated:
        raise Problem(400, f"parameter '{repeated}' is given {len(values[repeated])} times; give it once")
    try:
        bound = query.bind({key: given[0] for key, given in values.items()}, state().settings.base_iri)
    except Problem as problem:
        if not _wants_html():
            raise
        # the page again, its form as filled, the message above it
        filled = {key: given[0] for key, given in values.items()}
        if not filled:  # first opened, a required value not yet given: just the form to fill
            return stored_query_page(query, None, filled)
        return stored_query_page(query, None, filled, error=problem.message)
    g.kg_query = bound  # before the check: a refused query is named in the access log too
    checked = state().service.check(bound)
    fmt_param = request.args.getlist("format")
    if negotiation.negotiate(checked.form, request.headers.get("Accept"), fmt_param, html=True) == "html":
        return stored_query_page(query, bound, {key: given[0] for key, given in values.items()})
    return protocol.respond(checked, fmt_param)


# A parameter's input, as its declared type asks (the server checks the value again: StoredQuery.bind).
INPUT_TYPES = {"integer": ("number", "1"), "decimal": ("number", "any"), "date": ("date", None)}


def form_fields(query: StoredQuery, given: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": p.name, "type": p.type, "required": p.required, "description": p.description,
             "value": given.get(p.name, p.default or ""), "input": INPUT_TYPES.get(p.type, ("text", None))}
            for p in query.parameters]


def stored_query_page(query: StoredQuery, bound: str | None, given: dict[str, str],
                      error: str | None = None) -> Response:
    """A stored query as a page: title, description, a typed form for its parameters, its answer (a table
    rendered here; the scripts draw it in the view its header names), and a link into the editor."""
    settings = state().settings
    examples = catalogue()
    outcome = None
    status = 200
    if bound is not None:
        labels = graph_terms(settings.base_iri)["labels"]
        outcome = run_query(bound, Namer(settings.base_iri, request.script_root,
                                         page_prefixes(settings, bound), labels))
        if isinstance(outcome, Problem):
            error, status, outcome = outcome.message, outcome.status, None
    elif error:
        status = 400
    data = page_data(settings, examples)
    data["query"] = bound
    fields = form_fields(query, given)
    html = render_template(
        "stored_query.html", q=describe(query), fields=fields, outcome=outcome, error=error,
        default_view=default_view_of(query.text),
        editor_url=url_for("query_page.page", query=bound) if bound else None,
        page_data=data, max_rows=MAX_ROWS_SHOWN)
    return security_headers(Response(html, status=status, mimetype="text/html"))


_DEFAULT_VIEW = re.compile(r"(?im)^\s*#\s*defaultView\s*:\s*(\w+)")


def default_view_of(text: str) -> str | None:
    """The view a query's `#defaultView:` comment names (the Wikidata Query Service's convention)."""
    match = _DEFAULT_VIEW.search(text)
    return match[1] if match else None


@bp.get("/openapi.json")
def openapi() -> Response:
    queries = catalogue()
    forms = {name: form_of(q.text) for name, q in queries.items()}
    return jsonify(openapi_document(queries, forms, request.host_url.rstrip("/")))


def install(app: Any) -> None:
    app.register_blueprint(bp)
