"""What every HTML page shares: security headers, showing IRIs as prefixed names and local links, an HTML
answer with an ETag, and a SELECT run through the query service as rows of plain values."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Response, request

from nato_kg.namespaces import XSD, query_prefixes
from nato_kg.settings import Settings
from nato_kg.web.state import state

CACHE_CONTROL = "public, max-age=60"

# Nothing inline, nothing from elsewhere: scripts, styles, fetches and form posts go to this origin only.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])

_LOCAL_NAME = re.compile(r"[A-Za-z0-9_](?:[\w.-]*[\w-])?|")
_XSD = XSD
# Shown as numbers, right-aligned (the datatype stays in the cell's tooltip).
NUMERIC_DATATYPES = frozenset(_XSD + n for n in (
    "integer", "decimal", "double", "float", "int", "long", "short", "byte", "nonNegativeInteger",
    "positiveInteger", "negativeInteger", "nonPositiveInteger", "unsignedInt", "unsignedLong", "unsignedShort",
    "unsignedByte"))


def security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@dataclass
class Namer:
    """Shows IRIs as prefixed names and links them: our own to their local path, others to themselves."""

    base_iri: str
    root: str  # the app's path prefix (request.script_root), "" when served at the host's root
    prefixes: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # our IRIs' rdfs:label: shown instead of the name

    def short(self, iri: str) -> str | None:
        best: tuple[int, str] | None = None
        for prefix, namespace in self.prefixes.items():
            if (namespace and iri.startswith(namespace) and _LOCAL_NAME.fullmatch(iri[len(namespace):])
                    and (best is None or len(namespace) >= best[0])):  # ties: the query's own
                best = (len(namespace), f"{prefix}:{iri[len(namespace):]}")
        return best[1] if best else None

    def href(self, iri: str) -> str | None:
        if iri.startswith(self.base_iri):
            return f"{self.root}/{iri[len(self.base_iri):]}"
        if iri.startswith(("http://", "https://")):
            return iri
        return None  # javascript:, data:, file: and the like are shown, never linked

    def iri_cell(self, iri: str) -> dict[str, Any]:
        name = self.short(iri) or iri
        return {"type": "uri", "value": iri, "text": self.labels.get(iri, name), "name": name,
                "href": self.href(iri)}

    def cell(self, term: dict[str, Any] | None) -> dict[str, Any] | None:
        """A SPARQL JSON term, ready for the template."""
        if term is None:
            return None
        kind = term.get("type")
        if kind == "uri":
            return self.iri_cell(term["value"])
        if kind == "bnode":
            return {"type": "bnode", "text": f"_:{term['value']}"}
        if kind == "triple":  # RDF-star / RDF 1.2 quoted triple
            parts = [self.cell(term["value"][k]) for k in ("subject", "predicate", "object")]
            return {"type": "triple", "parts": parts}
        datatype = term.get("datatype")
        return {
            "type": "literal",
            "text": term.get("value", ""),
            "lang": term.get("xml:lang"),
            "datatype": {"value": datatype, "text": self.short(datatype) or datatype} if datatype else None,
            "number": datatype in NUMERIC_DATATYPES,
        }


def page_prefixes(settings: Settings, query: str = "") -> dict[str, str]:
    """Prefixes for showing IRIs: ours, the common ones, then the query's own."""
    return query_prefixes(query, settings.base_iri)


def namer() -> Namer:
    """The Namer for this request: our prefixes, links under the app's path prefix."""
    settings = state().settings
    return Namer(settings.base_iri, request.script_root, page_prefixes(settings))


def html_response(html: str, status: int = 200) -> Response:
    response = Response(html, status=status, mimetype="text/html")
    if status == 200:
        response.set_etag(hashlib.sha256(html.encode("utf-8")).hexdigest()[:32])
        response.headers["Cache-Control"] = CACHE_CONTROL
        response.make_conditional(request)
    return response


def select(query: str) -> list[dict[str, Any]]:
    """A SELECT through the query service, as rows of plain values (IRIs and literals as strings)."""
    answer = json.loads(state().service.run(query, "json").body)
    return [{k: _plain(v) for k, v in row.items()} for row in answer["results"]["bindings"]]


def _plain(term: dict[str, str]) -> Any:
    if term.get("datatype") == XSD + "integer":
        return int(term["value"])
    return term["value"]


__all__ = ["CACHE_CONTROL", "CONTENT_SECURITY_POLICY", "Namer", "html_response", "namer", "page_prefixes",
           "security_headers", "select"]
