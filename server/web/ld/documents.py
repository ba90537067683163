"""A linked-data document in several formats: which one to send, and the headers that name the others.

Formats and media types come from server/formats.py (the one place for them); this module only adds what a
document has that a query answer has not: explicit URLs per format (`/doc/x.ttl`), `Link: <...>;
rel="alternate"; type="..."` headers, `Content-Location` for a negotiated answer, and `Vary: Accept`.
"""

from __future__ import annotations

from flask import Response, request

from nato_kg import formats
from nato_kg.web import negotiation
from nato_kg.web.ld.descriptions import LICENSE

DOCUMENT_FORMATS = (*formats.GRAPH_FORMATS, "html")  # RDF first: a client that says nothing gets Turtle
BY_EXTENSION = {formats.FORMATS[name].extension: name for name in DOCUMENT_FORMATS}


def split_extension(path: str) -> tuple[str, str | None]:
    """`x.ttl` -> (`x`, "ttl"); `x` -> (`x`, None). Only the document formats' extensions count."""
    stem, dot, extension = path.rpartition(".")
    if dot and stem and extension in BY_EXTENSION:
        return stem, BY_EXTENSION[extension]
    return path, None


def negotiate(*, html: bool = True) -> str:
    """The format to answer in: `format=`, then `Accept` (q-values, wildcards), then Turtle.

    Raises Problem (400 unknown format, 406 nothing acceptable)."""
    return negotiation.negotiate("DESCRIBE", request.headers.get("Accept"), request.args.get("format"), html=html)


def url(path: str, fmt: str) -> str:
    """The explicit URL of document `path` (a local path such as /doc/x) in format `fmt`."""
    return f"{request.script_root}{path}.{formats.FORMATS[fmt].extension}"


def format_links(path: str) -> list[tuple[str, str, str]]:
    """(label, URL, media type) of document `path` in each RDF format, for the page's download links."""
    return [(formats.FORMATS[name].label, url(path, name), formats.FORMATS[name].media_type)
            for name in formats.GRAPH_FORMATS]


def finish(response: Response, path: str, fmt: str, *, negotiated: bool) -> Response:
    """Add the alternate-format Link headers (every format but the one sent), Vary and Content-Location."""
    links = [f'<{url(path, other)}>; rel="alternate"; type="{formats.FORMATS[other].media_type}"'
             for other in DOCUMENT_FORMATS if other != fmt]
    links.append(f'<{LICENSE}>; rel="license"')
    response.headers["Link"] = ", ".join(links)
    response.vary.add("Accept")
    if response.status_code == 200 and response.content_type:  # a browser shows N-Triples, JSON-LD inline
        response.content_type = negotiation.for_browser(response.content_type, request.headers.get("Accept"))
    if negotiated and response.status_code in (200, 304):
        response.headers["Content-Location"] = url(path, fmt)
    return response


__all__ = ["BY_EXTENSION", "DOCUMENT_FORMATS", "LICENSE", "finish", "format_links", "negotiate", "split_extension",
           "url"]
