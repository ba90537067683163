"""The one place that negotiates formats: `Accept` and the `format=` parameter, over the table in
server/formats.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from nato_kg.errors import Problem
from nato_kg.formats import FORMATS, formats_for, kind_of

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
              "json-ld": "jsonld", "rdf": "rdfxml", "rdf+xml": "rdfxml", "n3": "ttl"},  # Turtle is valid N3
}



def negotiate(form: str, accept: str | None, format_param: str | Sequence[str] | None = None, *,
              html: bool = False) -> str:
    """The short name of the format to answer in: `format=` first, then `Accept`, then the default.

    `format=` may be given more than once if every value names the same format (SPARQLWrapper sends
    `format=tsv&format=text/tab-separated-values`); empty values are ignored.
    Raises Problem: 400 for an unknown or conflicting `format=`, 406 when nothing offered is acceptable.
    """
    names = formats_for(form) + (("html",) if html else ())
    aliases = _ALIASES[kind_of(form)]
    values = [format_param] if isinstance(format_param, str) else list(format_param or ())
    chosen: dict[str, str] = {}  # short name -> the value that named it
    for value in values:
        if value.strip():
            chosen.setdefault(_format_name(form, value, names), value)
    if len(chosen) > 1:
        given = " and ".join(f"'{v}' ({n})" for n, v in chosen.items())
        raise Problem(400, f"'format' names different formats: {given}; give one")
    if chosen:
        return next(iter(chosen))
    if not accept or not accept.strip():
        return names[0]
    offered = tuple(FORMATS[n].media_type for n in names) + tuple(aliases)
    if not html and prefers_html(accept, offered):  # a browser where there is no page: the default, shown inline
        return names[0]
    best = (_best_match_remembered if len(accept) <= 1024 else _best_match)(accept, offered)
    if best is None:
        raise Problem(406, f"no acceptable format for this {form} query in Accept: {accept[:200]}; "
                      f"this endpoint offers {', '.join(offered)}")
    return aliases.get(best) or _by_media_type(best, names) or names[0]


def _format_name(form: str, value: str, names: tuple[str, ...]) -> str:
    """The short name one `format=` value means for this query form: a short name, a spelling or a media type."""
    kind = kind_of(form)
    if "," in value:  # a list of media types, as in Accept (SPARQLWrapper: `application/ld+json,application/x-json+ld`)
        listed = (_name_in(kind, part.strip().lower(), names) for part in value.split(","))
        name = next((n for n in listed if n in names), None)
        if name:
            return name
    name = _name_in(kind, value.strip().lower(), names)
    if name is None:
        other = "graph" if kind == "results" else "results"
        if _name_in(other, value.strip().lower(), formats_for("CONSTRUCT" if other == "graph" else "SELECT")):
            raise Problem(406, f"format '{value}' does not fit this {form} query; use one of: "
                          f"{', '.join(names)}")
        raise Problem(400, f"unknown format '{value}'; use one of: {', '.join(names)}")
    if name not in names:
        raise Problem(406, f"format '{value}' does not fit this {form} query; use one of: "
                      f"{', '.join(names)}")
    return name


def _name_in(kind: str, wanted: str, names: tuple[str, ...]) -> str | None:
    media = wanted.split(";")[0].strip()  # a media type may come with parameters (charset=utf-8)
    return (_PARAM_ALIASES[kind].get(wanted) or (wanted if wanted in FORMATS else None)
            or _ALIASES[kind].get(media) or _by_media_type(media, names)
            or next((n for n in FORMATS if FORMATS[n].media_type == media), None))


def prefers_html(accept: str | None, offered: Sequence[str]) -> bool:
    """Does this Accept come from a browser: `text/html` named (not by a wildcard) and liked at least as much as
    anything offered? Chromium's `text/html,...,application/xml;q=0.9,...` does; RDF clients' headers do not."""
    if not accept or "html" not in accept:
        return False
    parsed = parse_accept_header(accept, MIMEAccept)
    html = max((q for value, q in parsed if value.lower() == "text/html"), default=0)
    return html > 0 and all(parsed.quality(media) <= html for media in offered)


# What a browser is sent instead of a media type it would only offer to download, for the same bytes: N-Triples,
# N-Quads and SPARQL queries are plain text, JSON-LD is JSON, RDF/XML is XML.
INLINE_MEDIA_TYPES = {"application/n-triples": "text/plain", "application/n-quads": "text/plain",
                      "application/sparql-query": "text/plain", "application/ld+json": "application/json",
                      "application/rdf+xml": "application/xml"}


def for_browser(media_type: str, accept: str | None) -> str:
    """`media_type` (with its parameters), or the type a browser shows inline when `accept` is a browser's."""
    bare, _, parameters = media_type.partition(";")
    shown = INLINE_MEDIA_TYPES.get(bare.strip())
    if shown is None or not prefers_html(accept, [bare.strip()]):
        return media_type
    return shown + (";" + parameters if parameters else "")


def _best_match(accept: str, offered: tuple[str, ...]) -> str | None:
    return parse_accept_header(accept, MIMEAccept).best_match(offered)


# Clients repeat their Accept header, and werkzeug's parse and match cost more than the rest of negotiation
# (benchmarks/RESULTS.md, "Figures behind choices in the code"). Only ordinary-sized headers
# are remembered, so that the memory held stays small whatever clients send (headers may be 64 KB).
_best_match_remembered = lru_cache(maxsize=256)(_best_match)


def _by_media_type(media: str, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if FORMATS[n].media_type == media), None)


__all__ = ["for_browser", "negotiate", "prefers_html"]
