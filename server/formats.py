"""The one format table: short names, media types, file suffixes, and which query forms each fits.

Result formats (json, xml, csv, tsv) fit SELECT and ASK; graph formats (ttl, nt, jsonld, rdfxml) fit
CONSTRUCT, DESCRIBE and the service description. `html` is offered only where a page can be shown (the
query page at `/`), so a browser asking GET /sparql is sent there. Negotiating among them (`Accept`,
`format=`) is the web layer's: server/web/negotiation.py.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    name: str  # the short name used in `format=` and by QueryService.run
    media_type: str
    extension: str

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8"  # every format we serve is UTF-8 text


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("json", "application/sparql-results+json", "srj"),
    Format("xml", "application/sparql-results+xml", "srx"),
    Format("csv", "text/csv", "csv"),
    Format("tsv", "text/tab-separated-values", "tsv"),
    Format("ttl", "text/turtle", "ttl"),
    Format("nt", "application/n-triples", "nt"),
    Format("jsonld", "application/ld+json", "jsonld"),
    Format("rdfxml", "application/rdf+xml", "rdf"),
    Format("html", "text/html", "html"),
)}
RESULT_FORMATS = ("json", "xml", "csv", "tsv")
GRAPH_FORMATS = ("ttl", "nt", "jsonld", "rdfxml")

def kind_of(form: str) -> str:
    """'results' for SELECT and ASK, 'graph' for CONSTRUCT, DESCRIBE and RDF documents."""
    return "results" if form in ("SELECT", "ASK") else "graph"


def formats_for(form: str) -> tuple[str, ...]:
    return RESULT_FORMATS if kind_of(form) == "results" else GRAPH_FORMATS


def media_type(name: str) -> str:
    return FORMATS[name].content_type



__all__ = ["FORMATS", "GRAPH_FORMATS", "RESULT_FORMATS", "Format", "formats_for", "kind_of", "media_type"]
