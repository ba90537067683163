"""The one format table: for each format its short name, media type, file suffix, label, the answers it fits
and the pyoxigraph format that writes it.

Result formats (json, xml, csv, tsv) fit SELECT and ASK; graph formats (ttl, nt, jsonld, rdfxml) fit
CONSTRUCT, DESCRIBE, linked-data documents and the service description; N-Quads (nq) is for whole-dataset
dumps. `html` is offered only where a page can be shown (the query page at `/`, /doc/ pages), so a browser
asking GET /sparql is sent there. Negotiating among them (`Accept`, `format=`) is the web layer's:
server/web/negotiation.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox


@dataclass(frozen=True)
class Format:
    name: str  # the short name used in `format=` and by QueryService.run
    media_type: str
    extension: str
    label: str  # what a person reads: download links, the query page
    kind: str  # "results" (SELECT, ASK), "graph" (CONSTRUCT, DESCRIBE, documents), "dataset" (quads), "page"
    writer: ox.RdfFormat | ox.QueryResultsFormat | None = None  # pyoxigraph's serialiser; None for html
    w3c_name: str | None = None  # its IRI's local name in http://www.w3.org/ns/formats/ (W3C_FORMATS)

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8"  # every format we serve is UTF-8 text


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("json", "application/sparql-results+json", "srj", "JSON", "results", ox.QueryResultsFormat.JSON,
           "SPARQL_Results_JSON"),
    Format("xml", "application/sparql-results+xml", "srx", "XML", "results", ox.QueryResultsFormat.XML,
           "SPARQL_Results_XML"),
    Format("csv", "text/csv", "csv", "CSV", "results", ox.QueryResultsFormat.CSV, "SPARQL_Results_CSV"),
    Format("tsv", "text/tab-separated-values", "tsv", "TSV", "results", ox.QueryResultsFormat.TSV,
           "SPARQL_Results_TSV"),
    Format("ttl", "text/turtle", "ttl", "Turtle", "graph", ox.RdfFormat.TURTLE, "Turtle"),
    Format("nt", "application/n-triples", "nt", "N-Triples", "graph", ox.RdfFormat.N_TRIPLES, "N-Triples"),
    Format("jsonld", "application/ld+json", "jsonld", "JSON-LD", "graph", ox.RdfFormat.JSON_LD, "JSON-LD"),
    Format("rdfxml", "application/rdf+xml", "rdf", "RDF/XML", "graph", ox.RdfFormat.RDF_XML, "RDF_XML"),
    Format("nq", "application/n-quads", "nq", "N-Quads", "dataset", ox.RdfFormat.N_QUADS, "N-Quads"),
    Format("html", "text/html", "html", "HTML", "page"),
)}
W3C_FORMATS = "http://www.w3.org/ns/formats/"
RESULT_FORMATS = tuple(name for name, f in FORMATS.items() if f.kind == "results")
GRAPH_FORMATS = tuple(name for name, f in FORMATS.items() if f.kind == "graph")


def kind_of(form: str) -> str:
    """'results' for SELECT and ASK, 'graph' for CONSTRUCT, DESCRIBE and RDF documents."""
    return "results" if form in ("SELECT", "ASK") else "graph"


def formats_for(form: str) -> tuple[str, ...]:
    return RESULT_FORMATS if kind_of(form) == "results" else GRAPH_FORMATS


def media_type(name: str) -> str:
    """The Content-Type to send a body of format `name` with (its media type and charset)."""
    return FORMATS[name].content_type


def writer(name: str) -> ox.RdfFormat | ox.QueryResultsFormat:
    found = FORMATS[name].writer
    assert found is not None, f"{name} is not written by pyoxigraph"
    return found


__all__ = ["FORMATS", "GRAPH_FORMATS", "RESULT_FORMATS", "W3C_FORMATS", "Format", "formats_for", "kind_of",
           "media_type", "writer"]
