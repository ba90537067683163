"""The SPARQL 1.1 Protocol at /sparql: read the request strictly, negotiate, answer or explain the refusal.

GET, POST form and POST application/sparql-query; `default-graph-uri` / `named-graph-uri`; `format=`.
GET with no query answers the service description. Every client mistake gets a 4xx whose text says what
to change; only a bug in this code gives a 500, and that is logged, never shown.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from urllib.parse import parse_qsl

from flask import Blueprint, Flask, Response, g, redirect, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from nato_kg import formats
from nato_kg.engine.query_service import CheckedQuery
from nato_kg.errors import Problem
from nato_kg.web import negotiation, service_description
from nato_kg.web.state import state

log = logging.getLogger("kg.protocol")
blueprint = Blueprint("sparql", __name__)

ALLOWED_METHODS = "GET, HEAD, POST, OPTIONS"
FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"
READ_ONLY = ("this endpoint is read-only: it answers SPARQL queries and refuses SPARQL Update and Graph "
             "Store writes")
CACHE_CONTROL = "public, max-age=60"  # the data changes only when the server restarts on new files
MAX_FIELDS = 100
# A graph answer's blank-node labels differ between query processes: the same ETag means the same graph,
# not the same bytes, so its ETag is weak.
GRAPH_FORMS = ("CONSTRUCT", "DESCRIBE")
# Names each SERVICE call that failed while the query still answered (SERVICE SILENT), and why.
SERVICE_FAILURES = "KG-Service-Failures"


def service_failures_header(failures: Sequence[tuple[str, str]]) -> str:
    """One quoted string per failed call (RFC 9110 list syntax), ASCII only: `"SERVICE <...> could not ..."`."""
    def quoted(text: str) -> str:
        text = text.encode("ascii", "backslashreplace").decode("ascii")
        return '"' + "".join(c for c in text.replace("\\", "\\\\").replace('"', '\\"') if c.isprintable()) + '"'
    return ", ".join(quoted(message) for _, message in failures)


def _parse_form(raw: bytes, where: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict",
                         max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise Problem(400, f"the {where} is not valid UTF-8 (percent-encode the query as UTF-8)") from None
    except ValueError:
        raise Problem(400, f"the {where} has more than {MAX_FIELDS} parameters") from None


def _read_params() -> dict[str, list[str]]:
    """All parameters (URL and form body), and the query sent as an application/sparql-query body."""
    pairs = _parse_form(request.query_string, "URL's query string")
    body_query = None
    if request.method == "POST" and (request.mimetype or request.content_length):
        mimetype = request.mimetype
        charset = request.mimetype_params.get("charset", "utf-8").lower()
        if mimetype == SPARQL_UPDATE:  # an `update=` parameter is refused by the view, wherever it is sent
            raise Problem(403, READ_ONLY)
        if charset not in ("utf-8", "utf8", "us-ascii"):
            raise Problem(415, f"charset={charset} is not accepted; send the query as UTF-8")
        if mimetype == FORM:
            pairs += _parse_form(request.get_data(cache=True), "request body")
        elif mimetype == SPARQL_QUERY:
            try:
                body_query = request.get_data(cache=True).decode("utf-8")
            except UnicodeDecodeError:
                raise Problem(400, "the query in the request body is not valid UTF-8") from None
        else:  # RDF bodies too: there is no Graph Store here to write to, so the media type is what is wrong
            shown = mimetype or "no Content-Type"
            raise Problem(415, f"POST with {shown} is not accepted; the accepted request media types are "
                          f"{FORM} (query=...) and {SPARQL_QUERY} (the query as the body); this "
                          "endpoint is read-only (no Graph Store writes)")
    params: dict[str, list[str]] = {}
    for key, value in pairs:
        params.setdefault(key, []).append(value)
    if body_query is not None:
        params.setdefault("query", []).append(body_query)
    return params


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name, [])
    if len(values) > 1:
        raise Problem(400, f"'{name}' is given {len(values)} times; give it once")
    return values[0] if values else None


def _html_page() -> Response:
    """Browsers go to the query page, keeping the query string (it shows the query and its answer)."""
    query_string = request.query_string.decode("utf-8", "replace")
    return redirect(f"{request.script_root}/" + (f"?{query_string}" if query_string else ""), code=303)  # type: ignore[return-value]


@blueprint.route("/sparql", methods=["GET", "POST", "OPTIONS"], provide_automatic_options=False)
def sparql() -> Response:
    if request.method == "OPTIONS":
        return _preflight()
    params = _read_params()
    if "update" in params:
        raise Problem(403, READ_ONLY)
    query = _one(params, "query")
    format_param = params.get("format", [])  # repeats that name one format are fine (negotiation.negotiate)
    is_get = request.method in ("GET", "HEAD")
    if query is None:
        if is_get and set(params) <= {"format"}:
            return _service_description(format_param)
        raise Problem(400, "no query: give the SPARQL query as the 'query' parameter, or POST it with "
                      f"Content-Type {SPARQL_QUERY}")
    g.kg_query = query  # before the check: a refused query is named in the access log too
    checked = state().service.check(query, params.get("default-graph-uri", []), params.get("named-graph-uri", []))
    return respond(checked, format_param, html=is_get)


def respond(query: CheckedQuery | str, format_param: str | Sequence[str] | None, *, html: bool = False) -> Response:
    """Negotiate and answer one query (checked here if given as text): what /sparql, the stored queries and the
    linked-data documents have in common.

    A GET answer carries an ETag (dataset version + format + query + dataset) and honours If-None-Match."""
    service = state().service
    if isinstance(query, str):
        g.kg_query = query
    checked = query if isinstance(query, CheckedQuery) else service.check(query)
    info, form, query = checked.info, checked.form, checked.text
    default_graphs, named_graphs = checked.default_graphs, checked.named_graphs
    fmt = negotiation.negotiate(form, request.headers.get("Accept"), format_param, html=html)
    if fmt == "html":
        return _html_page()

    etag = None
    if request.method in ("GET", "HEAD") and not info.volatile:
        key = "\0".join([state().dataset_version, fmt, query, *default_graphs, "\0",
                         *named_graphs])
        etag = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        if request.if_none_match.contains_weak(etag):  # If-None-Match compares weakly (RFC 9110)
            return _cacheable(Response(status=304), etag, weak=form in GRAPH_FORMS)
    result = service.run(checked, fmt)
    response = Response(result.body, content_type=result.media_type)
    response.vary.add("Accept")
    if result.service_failures:  # SERVICE SILENT answered without them: say so
        response.headers[SERVICE_FAILURES] = service_failures_header(result.service_failures)
        g.kg_service_failures = result.service_failures
    if etag:
        return _cacheable(response, etag, weak=form in GRAPH_FORMS)
    response.headers["Cache-Control"] = "no-store" if info.volatile else "no-cache"
    return response


def _cacheable(response: Response, etag: str, weak: bool = False) -> Response:
    response.set_etag(etag, weak=weak)
    response.vary.add("Accept")
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


def _service_description(format_param: Sequence[str]) -> Response:
    fmt = negotiation.negotiate("DESCRIBE", request.headers.get("Accept"), format_param, html=True)
    if fmt == "html":
        return _html_page()
    service = state().service
    body = service_description.serialize(request.base_url, service.settings, service.held_graphs, fmt)
    response = Response(body, content_type=formats.media_type(fmt))
    return _cacheable(response, hashlib.sha256(body).hexdigest()[:32])


def _preflight() -> Response:
    response = Response(status=204)
    response.headers["Allow"] = ALLOWED_METHODS
    response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
    response.headers["Access-Control-Allow-Headers"] = request.headers.get(
        "Access-Control-Request-Headers", "Accept, Content-Type, If-None-Match")
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


def error_response(status: int, message: str) -> Response:
    """A refusal a person can act on: plain text, or JSON for a client that prefers JSON."""
    accept = request.accept_mimetypes
    if "application/json" in accept.values() and accept["application/json"] > accept["text/plain"]:
        body = json.dumps({"status": status, "message": message})
        return Response(body, status=status, content_type="application/json; charset=utf-8")
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def install(app: Flask) -> None:
    """Register the /sparql view, CORS headers and the error handlers (for the whole app)."""
    app.register_blueprint(blueprint)

    @app.after_request
    def cors(response: Response) -> Response:
        response.headers["Access-Control-Allow-Origin"] = "*"  # public, read-only data; no credentials
        response.headers["Access-Control-Expose-Headers"] = f"ETag, Content-Type, {SERVICE_FAILURES}"
        return response

    @app.errorhandler(Problem)
    def problem(error: Problem) -> Response:
        g.kg_failure = error.cause  # a failure of ours (a dead query process) is named in the access log
        response = error_response(error.status, error.message)
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        message = f"{status} {error.name}: {error.description}"
        if isinstance(error, MethodNotAllowed):
            message = (f"{request.method} is not allowed on {request.path}; {READ_ONLY}. "
                       f"Allowed: {', '.join(error.valid_methods or [])}")
        response = error_response(status, message)
        if isinstance(error, MethodNotAllowed):
            response.headers["Allow"] = ", ".join(error.valid_methods or [])
        return response

    @app.errorhandler(Exception)
    def internal_error(error: Exception) -> Response:
        log.exception("unhandled error for %s %s", request.method, request.path)
        return error_response(500, "internal server error (it has been logged)")
