"""The one place that negotiates formats: `Accept` and the `format=` parameter, over the table in
server/formats.py.
"""

from __future__ import annotations

from functools import lru_cache

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from nato_kg.formats import FORMATS, GRAPH_FORMATS, formats_for, kind_of

# Other media types clients send for the same formats (SPARQLWrapper, YASGUI, curl users, older tools).
_ALIASES: dict[str, dict[str, str]] = {
    "results": {"application/json": "json", "application/xml": "xml", "text/xml": "xml"},
    "graph": {"application/x-turtle": "ttl", "application/turtle": "ttl", "text/n3": "ttl",
              "text/rdf+n3": "ttl", "application/n3": "ttl", "text/plain": "nt", "application/json": "jsonld",
              "application/xml": "rdfxml", "text/xml": "rdfxml"},
}


# `format=` words that mean the graph counterpart of a result format (SPARQLWrapper sends format=xml for a
# CONSTRUCT and expects RDF/XML), and common spellings.
_PARAM_ALIASES: dict[str, dict[str, str]] = {
    "results": {},
    "graph": {"xml": "rdfxml", "json": "jsonld", "turtle": "ttl", "n-triples": "nt", "ntriples": "nt",
              "json-ld": "jsonld", "rdf": "rdfxml"},
}

# Bodies a Graph Store write would send; POSTing one to /sparql is refused as a write, not as a puzzle.
RDF_MEDIA_TYPES = frozenset([FORMATS[n].media_type for n in GRAPH_FORMATS] + list(_ALIASES["graph"])
                            + ["application/n-quads", "application/trig"]) - {"text/plain"}


class NegotiationError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def negotiate(form: str, accept: str | None, format_param: str | None = None, *, html: bool = False) -> str:
    """The short name of the format to answer in: `format=` first, then `Accept`, then the default.

    Raises NegotiationError: 400 for an unknown `format=`, 406 when nothing offered is acceptable.
    """
    names = formats_for(form) + (("html",) if html else ())
    aliases = _ALIASES[kind_of(form)]
    if format_param:
        wanted = format_param.strip().lower()
        name = (_PARAM_ALIASES[kind_of(form)].get(wanted) or (wanted if wanted in FORMATS else None)
                or aliases.get(wanted) or _by_media_type(wanted, names))
        if name is None:
            raise NegotiationError(400, f"unknown format '{format_param}'; use one of: {', '.join(names)}")
        if name not in names:
            raise NegotiationError(406, f"format '{format_param}' does not fit this {form} query; use one of: "
                                        f"{', '.join(names)}")
        return name
    if not accept or not accept.strip():
        return names[0]
    offered = tuple(FORMATS[n].media_type for n in names) + tuple(aliases)
    best = (_best_match_remembered if len(accept) <= 1024 else _best_match)(accept, offered)
    if best is None:
        raise NegotiationError(406, f"no acceptable format for this {form} query in Accept: {accept[:200]}; "
                                    f"this endpoint offers {', '.join(offered)}")
    return aliases.get(best) or _by_media_type(best, names) or names[0]


def _best_match(accept: str, offered: tuple[str, ...]) -> str | None:
    return parse_accept_header(accept, MIMEAccept).best_match(offered)


# Clients repeat their Accept header, and werkzeug's parse and match cost more than the rest of negotiation
# (benchmarks/RESULTS.md, "Figures behind choices in the code"). Only ordinary-sized headers
# are remembered, so that the memory held stays small whatever clients send (headers may be 64 KB).
_best_match_remembered = lru_cache(maxsize=256)(_best_match)


def _by_media_type(media: str, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if FORMATS[n].media_type == media), None)


__all__ = ["RDF_MEDIA_TYPES", "NegotiationError", "negotiate"]
