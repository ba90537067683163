"""An OpenAPI 3 description of the stored queries (and /sparql), generated from the .rq headers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nato_kg import formats
from nato_kg.engine.stored_queries import StoredQuery

_SCHEMAS = {
    "iri": {"type": "string", "minLength": 1},
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "decimal": {"type": "number"},
    "date": {"type": "string", "format": "date"},
    "boolean": {"type": "boolean"},
}
_ERRORS = {
    "400": "The query or a parameter is not valid; the body says which and why.",
    "406": "None of the formats asked for fits this query.",
    "503": "The query ran into the time or memory limit, or every query process is busy.",
}


def _responses(form: str) -> dict[str, Any]:
    content = {formats.FORMATS[name].media_type: {"schema": {"type": "string"}} for name in formats.formats_for(form)}
    if form in ("SELECT", "ASK"):
        content["application/sparql-results+json"] = {"schema": {"type": "object"}}
    responses: dict[str, Any] = {"200": {"description": f"The {form} query's answer.", "content": content},
                                 "304": {"description": "Not modified (If-None-Match matched the ETag)."}}
    for status, text in _ERRORS.items():
        responses[status] = {"description": text, "content": {"text/plain": {"schema": {"type": "string"}}}}
    return responses


def _format_parameter(form: str) -> dict[str, Any]:
    return {"name": "format", "in": "query", "required": False,
            "description": "Answer format; overrides the Accept header.",
            "schema": {"type": "string", "enum": list(formats.formats_for(form))}}


def _operation(query: StoredQuery, form: str) -> dict[str, Any]:
    parameters = [
        {"name": p.name, "in": "query", "required": p.required,
         "description": (p.description + (" (an IRI, in full or as kg:name)" if p.type == "iri" else "")).strip(),
         "schema": {**_SCHEMAS[p.type], **({"default": p.default} if p.default is not None else {})}}
        for p in query.parameters
    ]
    return {"get": {
        "operationId": query.name.replace("-", "_"),
        "summary": query.title,
        "description": query.description,
        "tags": list(query.tags) or ["stored queries"],
        "parameters": [*parameters, _format_parameter(form)],
        "responses": _responses(form),
    }}


def openapi_document(catalogue: Mapping[str, StoredQuery], forms: Mapping[str, str], server_url: str) -> dict[str, Any]:
    """The document; `forms` gives each stored query's form (SELECT, ASK, CONSTRUCT, DESCRIBE) by name."""
    paths: dict[str, Any] = {f"/queries/{name}": _operation(q, forms[name]) for name, q in catalogue.items()}
    paths["/queries"] = {"get": {
        "operationId": "list_stored_queries",
        "summary": "The catalogue of stored queries",
        "responses": {"200": {"description": "Every stored query, with its parameters and formats.",
                              "content": {"application/json": {"schema": {"type": "object"}}}}},
    }}
    paths["/sparql"] = {"get": {
        "operationId": "sparql_query",
        "summary": "Any SPARQL 1.1 query (SPARQL 1.1 Protocol)",
        "parameters": [
            {"name": "query", "in": "query", "required": True, "schema": {"type": "string", "minLength": 1}},
            {"name": "format", "in": "query", "required": False,
             "schema": {"type": "string", "enum": [*formats.RESULT_FORMATS, *formats.GRAPH_FORMATS]}},
        ],
        "responses": {**_responses("SELECT"), "200": {
            "description": "The answer, in the negotiated format.",
            "content": {formats.FORMATS[n].media_type: {"schema": {"type": "string"}}
                        for n in (*formats.RESULT_FORMATS, *formats.GRAPH_FORMATS)}}},
    }}
    return {
        "openapi": "3.0.3",
        "info": {"title": "NATO expulsions knowledge graph: stored queries",
                 "version": "0.1.0",
                 "description": "Each stored query in queries/ is one GET operation; its parameters are bound "
                                "as typed RDF terms. Answers in every SPARQL format, by Accept or format=."},
        "servers": [{"url": server_url}],
        "paths": paths,
    }
