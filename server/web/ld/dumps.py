"""Dumps of the whole dataset at stable URLs, and the JSON-LD context the JSON-LD dump uses.

/dumps/dataset.ttl, .nt and .jsonld hold the union of the named graphs (what queries see as the default
graph); /dumps/dataset.nq keeps each triple's named graph. Each is serialised once per process from the
source files the server loaded (the data changes only on restart), sent gzip-compressed to clients that accept it, and
carries an ETag (the dataset version) and Last-Modified (the newest source file), so conditional requests
get 304. /context.jsonld is the published @context: prefixes for every vocabulary the graph uses.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from datetime import UTC, datetime
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Response, abort, request
from rdflib import Graph

from nato_kg import formats
from nato_kg.data.store import source_files
from nato_kg.namespaces import prefixes as namespaces
from nato_kg.web import negotiation
from nato_kg.web.state import state

bp = Blueprint("dumps", __name__)
DUMPS = {name: formats.media_type(name) for name in ("ttl", "nt", "nq", "jsonld")}
EXTRA_PREFIXES = {"gaf": "http://groundedannotationframework.org/gaf#", "void": "http://rdfs.org/ns/void#"}
_lock = threading.RLock()  # _cached builds under it, and building parses the files under it
_CONTEXT = "urn:x-kg:context"  # stands for the served context's URL until a request splices it in


def prefixes() -> dict[str, str]:
    return {**namespaces(state().settings.base_iri), **EXTRA_PREFIXES}


def context() -> dict[str, Any]:
    return {"@context": dict(sorted(prefixes().items()))}


def context_url() -> str:
    return f"{request.url_root}context.jsonld"


def _sources() -> tuple[list[tuple[ox.NamedNode, list[ox.Triple]]], datetime]:
    """The source files parsed, and the newest one's time: once per process (the data changes only on restart)."""
    app_state = state()
    found = app_state.dump_sources
    if found is None:
        with _lock:
            found = app_state.dump_sources
            if found is None:
                found = app_state.dump_sources = (_parsed(), _newest())
    return found


def _parsed() -> list[tuple[ox.NamedNode, list[ox.Triple]]]:
    """Every source file parsed as it is written (the store would canonicalise a derived datatype such as
    xsd:nonNegativeInteger to xsd:integer; a dump keeps the files' own), with the named graph it goes to."""
    s = state().settings
    parsed = []
    for number, source in enumerate(source_files(s.data_dir)):
        labels: dict[ox.BlankNode, ox.BlankNode] = {}

        def stable(term: Any, number: int = number, labels: dict[ox.BlankNode, ox.BlankNode] = labels) -> Any:
            """Blank nodes named by file and order of appearance: every worker writes the same bytes (one ETag)."""
            if isinstance(term, ox.BlankNode):
                return labels.setdefault(term, ox.BlankNode(f"f{number}b{len(labels)}"))
            return term

        triples = [ox.Triple(stable(t.subject), t.predicate, stable(t.object))
                   for t in ox.parse(path=source.path, format=ox.RdfFormat.TURTLE, base_iri=s.base_iri)]
        parsed.append((ox.NamedNode(s.graph_iri(source.graph)), triples))
    return parsed


def _newest() -> datetime:
    newest = max(source.path.stat().st_mtime for source in source_files(state().settings.data_dir))
    return datetime.fromtimestamp(int(newest), tz=UTC)


def build(fmt: str, context_iri: str = _CONTEXT) -> bytes:
    """One dump, from the same files (and so the same dataset version) the server loaded. The JSON-LD dump
    names its context by `context_iri` (the served one is spliced in per request: see `_jsonld`)."""
    parsed = _sources()[0]
    if fmt == "nq":
        quads = dict.fromkeys(ox.Quad(t.subject, t.predicate, t.object, graph) for graph, ts in parsed for t in ts)
        return ox.serialize(quads, format=formats.writer("nq")) or b""
    triples = list(dict.fromkeys(t for _, ts in parsed for t in ts))  # one copy of a triple two files hold
    if fmt == "ttl":
        return ox.serialize(triples, format=formats.writer("ttl"), prefixes=prefixes()) or b""
    ntriples = ox.serialize(triples, format=formats.writer("nt")) or b""
    if fmt == "nt":
        return ntriples
    graph = Graph()
    graph.parse(data=ntriples, format="nt")
    document = json.loads(graph.serialize(format="json-ld", context=context()["@context"]))
    document["@context"] = context_iri
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def last_modified() -> datetime:
    return _sources()[1]


def _cached(fmt: str) -> tuple[bytes, bytes]:
    """A dump and its gzip, built once per process. The JSON-LD dump names its context by this request's
    URL: its host-independent body is built once (split where the context's URL goes) and the URL spliced
    in per request; one spliced copy (the latest host's) is kept, so no client's Host header grows memory."""
    cache: dict[str, Any] = state().dumps
    if fmt not in cache:
        with _lock:
            if fmt not in cache:
                body = build(fmt)
                if fmt == "jsonld":
                    before, _, after = body.partition(json.dumps(_CONTEXT).encode())
                    cache[fmt] = (before, after)
                else:
                    cache[fmt] = (body, gzip.compress(body, compresslevel=6, mtime=0))
    if fmt != "jsonld":
        return cache[fmt]  # type: ignore[no-any-return]
    url = context_url()
    spliced = cache.get("jsonld@")
    if spliced is None or spliced[0] != url:
        before, after = cache[fmt]
        body = before + json.dumps(url, ensure_ascii=False).encode("utf-8") + after
        spliced = cache["jsonld@"] = (url, body, gzip.compress(body, compresslevel=6, mtime=0))
    return spliced[1], spliced[2]


@bp.get("/dumps/dataset.<ext>")
def dump(ext: str) -> Response:
    if ext not in DUMPS:
        abort(404, f"no dump in format '{ext}'; there are: {', '.join('dataset.' + e for e in DUMPS)}")
    body, compressed = _cached(ext)
    gzipped = request.accept_encodings["gzip"] > 0
    response = Response(compressed if gzipped else body,
                        content_type=negotiation.for_browser(DUMPS[ext], request.headers.get("Accept")))
    version = state().dataset_version
    tag = hashlib.sha256("\0".join([version, ext, context_url() if ext == "jsonld" else ""]).encode()).hexdigest()
    response.set_etag(tag[:32] + ("-gzip" if gzipped else ""))
    response.last_modified = last_modified()
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Content-Disposition"] = f'inline; filename="nato-expulsions-kg.{ext}"'
    response.vary.add("Accept-Encoding")
    response.vary.add("Accept")  # browsers get N-Triples, N-Quads as text/plain and JSON-LD as JSON, to show
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    return response.make_conditional(request)


@bp.get("/context.jsonld")
def context_document() -> Response:
    body = json.dumps(context(), indent=1).encode("utf-8")
    response = Response(body, content_type=formats.media_type("jsonld"))
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response.make_conditional(request)


__all__ = ["DUMPS", "bp", "build", "context", "prefixes"]
