"""Content negotiation and the format table as pure functions: `negotiate(form, Accept, format=)` called
directly, no request. The same function serves /sparql, /queries, the linked-data documents and VoID, whose
answers over HTTP are checked in test_protocol.py and test_linked_data.py."""

from __future__ import annotations

import pytest

from nato_kg.errors import Problem
from nato_kg.formats import FORMATS, GRAPH_FORMATS, RESULT_FORMATS, formats_for, kind_of, media_type
from nato_kg.web.negotiation import negotiate

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def test_the_format_table() -> None:
    assert RESULT_FORMATS == ("json", "xml", "csv", "tsv")
    assert GRAPH_FORMATS == ("ttl", "nt", "jsonld", "rdfxml")
    assert set(FORMATS) == {*RESULT_FORMATS, *GRAPH_FORMATS, "nq", "html"}
    assert len({f.media_type for f in FORMATS.values()}) == len(FORMATS)  # one media type names one format
    assert len({f.extension for f in FORMATS.values()}) == len(FORMATS)
    assert media_type("ttl") == "text/turtle; charset=utf-8"
    assert all(f.content_type == f.media_type + "; charset=utf-8" for f in FORMATS.values())
    assert [kind_of(form) for form in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")] == [
        "results", "results", "graph", "graph"]
    assert formats_for("ASK") == RESULT_FORMATS and formats_for("DESCRIBE") == GRAPH_FORMATS


@pytest.mark.parametrize(("form", "accept", "expected"), [
    ("SELECT", None, "json"), ("SELECT", "", "json"), ("SELECT", "*/*", "json"),
    ("CONSTRUCT", None, "ttl"), ("CONSTRUCT", "*/*", "ttl"),
    ("SELECT", "text/*", "csv"),
    ("SELECT", "text/csv;q=0.5, application/sparql-results+xml", "xml"),
    ("ASK", "application/sparql-results+json;q=0.1, text/tab-separated-values;q=0.9", "tsv"),
    ("SELECT", "application/json", "json"),  # aliases that clients send
    ("SELECT", "text/xml", "xml"),
    ("CONSTRUCT", "application/json", "jsonld"),
    ("DESCRIBE", "application/xml", "rdfxml"),
    ("CONSTRUCT", "text/plain", "nt"),
    ("CONSTRUCT", "application/x-turtle", "ttl"),
    ("CONSTRUCT", "application/ld+json;q=0.2, application/n-triples", "nt"),
])
def test_accept(form: str, accept: str | None, expected: str) -> None:
    assert negotiate(form, accept) == expected


def test_a_long_accept_header_is_negotiated_the_same() -> None:
    padding = ", ".join(f"application/x-unknown-{i};q=0.1" for i in range(60))
    accept = padding + ", text/tab-separated-values"
    assert len(accept) > 1024  # past what is memoised
    assert negotiate("SELECT", accept) == "tsv"


def test_html_is_offered_only_where_a_page_can_be_shown() -> None:
    assert negotiate("CONSTRUCT", BROWSER, html=True) == "html"
    assert negotiate("CONSTRUCT", BROWSER) == "ttl"  # no page here: a browser gets Turtle to show, not RDF/XML
    assert negotiate("CONSTRUCT", "text/turtle", html=True) == "ttl"


@pytest.mark.parametrize(("form", "param", "expected"), [
    ("SELECT", "tsv", "tsv"), ("SELECT", " CSV ", "csv"),
    ("SELECT", "application/sparql-results+xml", "xml"),
    ("CONSTRUCT", "xml", "rdfxml"),  # SPARQLWrapper's word for RDF/XML
    ("CONSTRUCT", "json", "jsonld"), ("CONSTRUCT", "turtle", "ttl"), ("CONSTRUCT", "n-triples", "nt"),
])
def test_the_format_parameter_wins_over_accept(form: str, param: str, expected: str) -> None:
    assert negotiate(form, "image/png", param) == expected


@pytest.mark.parametrize(("form", "accept", "param", "status", "message"), [
    ("SELECT", None, "bogus", 400, "unknown format 'bogus'; use one of: json, xml, csv, tsv"),
    ("SELECT", None, "ttl", 406, "format 'ttl' does not fit this SELECT query; use one of: json, xml, csv, tsv"),
    ("CONSTRUCT", None, "csv", 406, "format 'csv' does not fit this CONSTRUCT query; use one of: ttl, nt, "
                                    "jsonld, rdfxml"),
    ("ASK", "image/png", None, 406, "no acceptable format for this ASK query in Accept: image/png; this endpoint "
                                    "offers application/sparql-results+json, application/sparql-results+xml, "
                                    "text/csv, text/tab-separated-values, application/json, application/xml, "
                                    "text/xml"),
])
def test_mistakes_are_400_or_406_with_the_choices(form: str, accept: str | None, param: str | None, status: int,
                                                   message: str) -> None:
    with pytest.raises(Problem) as error:
        negotiate(form, accept, param)
    assert (error.value.status, error.value.message) == (status, message)
