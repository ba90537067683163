"""Dereferencing: every IRI the graph mints resolves on this server (Cool URIs, slash IRIs with 303).

- `/id/<slug>` is the resource itself (a country, an expulsion, a passage): `303 See Other` to its
  document `/doc/<slug>`.
- `/doc/<slug>` is the document about it, negotiated (HTML for browsers; Turtle, N-Triples, JSON-LD,
  RDF/XML for machines; Turtle when the client says nothing), with `Vary: Accept`, `Content-Location` and
  `Link: rel="alternate"` headers; `/doc/<slug>.ttl`, `.nt`, `.jsonld`, `.rdf`, `.html` name one format.
  Its content is the description of server/web/ld/descriptions.py, one CONSTRUCT run by the query service.
- `/graph/<name>` (the named graphs), `/source/<file>` (the shipped article text and its metadata) and
  `/ontology/<version>` (the version IRI, 303 to `/ontology`) are documents or files as they are.
- Anything else in our namespace: 404, as an HTML page with a search form for browsers, as text for others.

A request path is mapped to an IRI by the configured base IRI, whatever host it came in on, from the raw
request line (so `%2F`, `+` and `:` reach the IRI as they were sent; percent-encoded UTF-8 is decoded to
the IRI's characters, RFC 3987 §3.2). The page links to local paths, so it works on any host and port.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlencode, urlsplit

import pyoxigraph as ox
from flask import Blueprint, Response, redirect, render_template, request, send_from_directory
from werkzeug.exceptions import HTTPException, NotFound

from nato_kg.web import protocol
from nato_kg.web.html import CACHE_CONTROL, html_response, namer, security_headers, select
from nato_kg.web.ld import documents
from nato_kg.web.ld.descriptions import build_page, description_query, exists_query
from nato_kg.web.state import state

bp = Blueprint("resources", __name__)
OUR_PREFIXES = ("/id/", "/doc/", "/graph/", "/source/", "/ontology/")
MAX_SEARCH_CHARS = 200
MAX_SEARCH_WORDS = 6
SEARCH_LIMIT = 50


# --- plumbing -------------------------------------------------------------------------------------------

def raw_path() -> str:
    """The request's path as the client sent it (still percent-encoded), without the script root."""
    environ = request.environ  # gunicorn and werkzeug set RAW_URI, other WSGI servers REQUEST_URI (the ASGI front too)
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = raw.split("?", 1)[0].split("#", 1)[0]
        if "://" in path:  # absolute-form request target
            path = urlsplit(path).path
    else:
        path = quote(request.path, safe="/:@!$&'()*+,;=-._~")
    root = request.script_root
    return path[len(root):] if root and path.startswith(root) else path


_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def uri_to_iri(path: str) -> str:
    """Decode percent-escapes of unreserved ASCII and of UTF-8 non-ASCII characters; keep the rest (%2F...)."""

    def decode(match: re.Match[str]) -> str:
        raw = unquote_to_bytes(match.group(0))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return match.group(0).upper()
        out = []
        for char in text:
            if ord(char) > 127 or char in _UNRESERVED:
                out.append(char)
            else:
                out.append("".join(f"%{b:02X}" for b in char.encode("utf-8")))
        return "".join(out)

    return _ESCAPES.sub(decode, path)


def iri_for(path: str) -> str:
    """The IRI a local path (e.g. `/id/nato`) names under the configured base IRI."""
    return state().settings.base_iri + uri_to_iri(path.lstrip("/"))


def is_known(iri: str) -> bool:
    """Does the graph mention this IRI (as subject or object)? Cached: the data changes only on restart."""
    try:
        query = exists_query(iri)
    except ValueError:  # not a valid IRI: nothing of ours
        return False
    return state().known_iris.get_or_compute(
        iri, lambda: b"true" in state().service.run(query, "json").body.replace(b" ", b""))


def wants_html() -> bool:
    accept = request.accept_mimetypes
    return accept.best_match(["text/plain", "text/html"]) == "text/html" and accept["text/html"] > 0


# --- /id and /doc -----------------------------------------------------------------------------------------

@bp.get("/id/")
@bp.get("/doc/")
def namespace_index() -> Response:
    return redirect(f"{request.script_root}/browse", code=303)  # type: ignore[return-value]


@bp.get("/id/<path:slug>")
def identifier(slug: str) -> Response:
    path = raw_path()
    if not is_known(iri_for(path)):
        raise NotFound()
    target = f"{request.script_root}/doc/{path[len('/id/'):]}"
    response = redirect(target, code=303)
    response.headers["Link"] = f'<{target}>; rel="describedby"'
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response  # type: ignore[return-value]


@bp.get("/doc/<path:slug>")
def document(slug: str) -> Response:
    rest = raw_path()[len("/doc/"):]
    stem, explicit = documents.split_extension(rest)
    if explicit and is_known(iri_for("/id/" + stem)):
        return describe(iri_for("/id/" + stem), "/doc/" + stem, explicit, negotiated=False)
    if is_known(iri_for("/id/" + rest)):
        return describe(iri_for("/id/" + rest), "/doc/" + rest, documents.negotiate(), negotiated=True)
    raise NotFound()


def describe(iri: str, doc_path: str, fmt: str, *, negotiated: bool) -> Response:
    query = description_query(iri, state().settings.base_iri)
    if fmt != "html":
        return documents.finish(protocol.respond(query, fmt), doc_path, fmt, negotiated=negotiated)
    result = state().service.run(query, "nt")
    vocabulary = state().settings.base_iri + "ontology#"
    page = build_page(iri, ox.parse(result.body, ox.RdfFormat.N_TRIPLES), namer(), vocabulary)
    html = render_template(
        "resource.html", page=page, doc_path=doc_path, formats=documents.format_links(doc_path),
        query_url=f"{request.script_root}/?{urlencode({'query': query})}",
    )
    return documents.finish(html_response(html), doc_path, "html", negotiated=negotiated)


# --- other IRIs we mint -------------------------------------------------------------------------------------

@bp.get("/ontology/<path:rest>")
def ontology_version(rest: str) -> Response:
    """`<base>ontology/0.1.0` (owl:versionIRI): the current version's document is /ontology."""
    if not is_known(iri_for(raw_path())):
        raise NotFound()
    return redirect(f"{request.script_root}/ontology", code=303)  # type: ignore[return-value]


@bp.get("/graph/<name>")
def named_graph(name: str) -> Response:
    stem, explicit = documents.split_extension(name)
    graph = state().settings.graph_iri(stem)
    if graph not in state().service.held_graphs:
        raise NotFound()
    fmt = explicit or documents.negotiate()
    doc_path = f"/graph/{stem}"
    query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {ox.NamedNode(graph)} {{ ?s ?p ?o }} }}"
    if fmt != "html":
        return documents.finish(protocol.respond(query, fmt), doc_path, fmt, negotiated=explicit is None)
    count_query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {ox.NamedNode(graph)} {{ ?s ?p ?o }} }}"
    count = select(count_query)[0]["n"]
    html = render_template("graph.html", graph=graph, name=stem, count=count, formats=documents.format_links(doc_path),
                           query_url=f"{request.script_root}/?{urlencode({'query': query})}")
    return documents.finish(html_response(html), doc_path, "html", negotiated=explicit is None)


@bp.get("/source/<path:name>")
def source_file(name: str) -> Response:
    """The shipped article text (kg:article-text schema:contentUrl) and the files beside it."""
    folder = Path(state().settings.data_dir) / "graph" / "source"
    response = send_from_directory(folder, name, max_age=60)
    if name.endswith((".txt", ".tsv", ".md")):
        response.headers["Content-Type"] = response.mimetype + "; charset=utf-8"
    return response


# --- browsing and search -------------------------------------------------------------------------------

@bp.get("/browse")
def browse() -> Response:
    base = state().settings.base_iri
    query = f"""PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?type ?typeLabel ?x ?label WHERE {{
  ?x a ?type .
  FILTER(STRSTARTS(STR(?x), {ox.Literal(base + "id/")}))
  OPTIONAL {{ ?x rdfs:label ?label }}
  OPTIONAL {{ ?type rdfs:label ?typeLabel }}
}}
ORDER BY ?type ?x
LIMIT 20000"""
    groups: dict[str, dict[str, Any]] = {}
    names = namer()  # one per request: each row's IRIs are named with the same prefixes
    for row in select(query):
        group = groups.setdefault(row["type"], {"type": names.iri_cell(row["type"]), "label": row.get("typeLabel"),
                                                "members": {}})
        group["members"].setdefault(row["x"], {**names.iri_cell(row["x"]), "label": row.get("label")})
    ordered = sorted(groups.values(), key=lambda g: (g["label"] or g["type"]["text"]).lower())
    for group in ordered:
        group["members"] = sorted(group["members"].values(), key=lambda m: (m["label"] or m["text"]).lower())
    graphs = [(g, f"{request.script_root}/graph/{g.rsplit('/', 1)[-1]}") for g in state().service.held_graphs
              if g.startswith(base + "graph/")]
    html = render_template("browse.html", groups=ordered, graphs=graphs)
    return html_response(html)


def search_words(text: str) -> list[str]:
    """The words searched for: of three letters or more, from the first MAX_SEARCH_CHARS of `text`."""
    words = [w for w in re.split(r"[\s\-_/+:,.;]+", text.lower()[:MAX_SEARCH_CHARS]) if len(w) >= 3]
    return list(dict.fromkeys(words))[:MAX_SEARCH_WORDS]


def search_query(words: list[str]) -> str:
    """Labels (and alternative labels, and the IRIs' last segments) containing the words, most words first.
    Every word is a literal made by pyoxigraph (escaped) and bound by VALUES: no request text goes in raw."""
    variables = [f"?w{i}" for i in range(len(words))]
    literals = " ".join(str(ox.Literal(w)) for w in words)
    score = " + ".join(f"IF(CONTAINS(LCASE(STR(?label)), {v}) || CONTAINS(?slug, {v}), 1, 0)" for v in variables)
    return f"""PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?x (SAMPLE(?name) AS ?label) (MAX(?score) AS ?best) (SAMPLE(?t) AS ?type) (SAMPLE(?tl) AS ?typeLabel)
WHERE {{
  VALUES ({" ".join(variables)}) {{ ({literals}) }}
  ?x rdfs:label|skos:altLabel ?label .
  FILTER(isIRI(?x))
  BIND(LCASE(REPLACE(STR(?x), "^.*[/#]", "")) AS ?slug)
  BIND({score} AS ?score)
  FILTER(?score > 0)
  OPTIONAL {{ ?x rdfs:label ?name }}
  OPTIONAL {{ ?x a ?t OPTIONAL {{ ?t rdfs:label ?tl }} }}
}}
GROUP BY ?x
ORDER BY DESC(?best) ?label
LIMIT {SEARCH_LIMIT}"""


def search(text: str) -> list[dict[str, Any]]:
    return _hits(search_words(text))


def _hits(words: list[str]) -> list[dict[str, Any]]:
    if not words:
        return []
    hits = []
    names = namer()
    for row in select(search_query(words)):
        hit = {**names.iri_cell(row["x"]), "label": row.get("label"), "score": row.get("best", 0)}
        kind = names.iri_cell(row["type"]) if row.get("type") else None
        hit["kind"] = {**kind, "label": row.get("typeLabel")} if kind else None
        hits.append(hit)
    return hits


@bp.get("/search")
def search_page() -> Response:
    text = request.args.get("q", "")
    words = search_words(text)
    return html_response(render_template("search.html", q=text, hits=_hits(words), words=words))


# --- unknown IRIs -------------------------------------------------------------------------------------------

def not_found(error: HTTPException) -> Response:
    """404 for the whole app: unknown paths in our namespace get a page with a search form (browsers) or
    a line of text (others); a 404 raised by another view keeps that view's message."""
    endpoint = request.endpoint or ""
    ours = request.url_rule is None or endpoint.startswith("resources.") or request.path.startswith(OUR_PREFIXES)
    message = f"404 {error.name}: {error.description}"
    if not ours:
        return protocol.error_response(404, message)
    path = raw_path()
    guess = unquote_to_bytes(path.rstrip("/").rsplit("/", 1)[-1]).decode("utf-8", "replace")
    guess = documents.split_extension(guess)[0]
    if not wants_html():
        text = (f"404 Not Found: nothing is known about <{iri_for(path)}> here. "
                f"Search the labels: {request.host_url.rstrip('/')}{request.script_root}/search?q={quote(guess)}")
        response = protocol.error_response(404, text)
        response.vary.add("Accept")
        return response
    hits = search(guess) if guess and request.method in ("GET", "HEAD") else []
    html = render_template("not_found.html", iri=iri_for(path), q=guess.replace("-", " "), hits=hits)
    response = Response(html, status=404, mimetype="text/html")
    response.vary.add("Accept")
    return security_headers(response)


__all__ = ["bp", "iri_for", "is_known", "not_found", "raw_path", "search", "uri_to_iri"]
