"""Real SPARQL clients against the running server: SPARQLWrapper, rdflib's SPARQLStore, pyoxigraph SERVICE."""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator
from urllib.error import HTTPError

import pyoxigraph as ox
import pytest
import rdflib
import rdflib.compare
import rdflib.query
import sparql_dataframe
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import (
    CSV,
    GET,
    JSON,
    JSONLD,
    N3,
    POST,
    POSTDIRECTLY,
    RDF,
    RDFXML,
    TSV,
    TURTLE,
    URLENCODED,
    XML,
    SPARQLWrapper,
)
from support.servers import BASE_IRI, RunningServer, start_server, stop_server

ARTICLE = f"{BASE_IRI}id/article"
TITLE = "NATO Cuts Russian Mission Staff Over Spy Poisoning"
LABEL_PATTERN = f"<{ARTICLE}> <http://www.w3.org/2000/01/rdf-schema#label> ?label"
LABEL_QUERY = f"SELECT ?label WHERE {{ {LABEL_PATTERN} }}"
COUNTS_QUERY = f"""BASE <{BASE_IRI}>
SELECT ?country ?people WHERE {{
  VALUES ?expulsion {{ <id/expulsion-by-germany> <id/expulsion-by-france> <id/expulsion-by-poland> }}
  ?expulsion <ontology#agent>/<http://www.w3.org/2000/01/rdf-schema#label> ?country ;
             <ontology#numberOfPeople> ?people .
}} ORDER BY ?country"""
CONSTRUCT = f"CONSTRUCT {{ <{ARTICLE}> ?p ?o }} WHERE {{ <{ARTICLE}> ?p ?o }}"


def wrapper(server: RunningServer, query: str, fmt: str) -> SPARQLWrapper:
    client = SPARQLWrapper(server.url + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(fmt)
    return client


def expected_graph(reference_store: ox.Store) -> rdflib.Graph:
    nt = ox.serialize(reference_store.query(CONSTRUCT, use_default_graph_as_union=True), format=ox.RdfFormat.N_TRIPLES)
    return rdflib.Graph().parse(data=nt, format="nt")


def test_sparqlwrapper_select_in_json_xml_and_csv(server):
    bindings = wrapper(server, LABEL_QUERY, JSON).queryAndConvert()["results"]["bindings"]
    assert bindings == [{"label": {"type": "literal", "value": TITLE, "xml:lang": "en"}}]
    document = wrapper(server, LABEL_QUERY, XML).queryAndConvert()
    literals = document.getElementsByTagName("literal")
    assert [(n.firstChild.data, n.getAttribute("xml:lang")) for n in literals] == [(TITLE, "en")]
    table = wrapper(server, LABEL_QUERY, CSV).queryAndConvert()
    assert list(csv.DictReader(io.StringIO(table.decode()))) == [{"label": TITLE}]


def test_sparqlwrapper_ask(server):
    assert wrapper(server, f"ASK {{ <{ARTICLE}> ?p ?o }}", JSON).queryAndConvert()["boolean"] is True
    assert wrapper(server, "ASK { <urn:none> ?p ?o }", XML).queryAndConvert().getElementsByTagName(
        "boolean")[0].firstChild.data == "false"


def test_sparqlwrapper_construct_as_rdfxml_and_turtle(server, reference_store):
    expected = expected_graph(reference_store)
    graph = wrapper(server, CONSTRUCT, XML).queryAndConvert()
    assert rdflib.compare.isomorphic(graph, expected)
    turtle = wrapper(server, CONSTRUCT, TURTLE).queryAndConvert()
    assert rdflib.compare.isomorphic(rdflib.Graph().parse(data=turtle, format="turtle"), expected)


def test_rdflib_sparqlstore_as_a_client(server, reference_store):
    graph = rdflib.Graph(store=SPARQLStore(server.url + "/sparql"))
    rows = [row.label for row in graph.query(LABEL_QUERY)]
    assert rows == [rdflib.Literal(TITLE, lang="en")]
    assert bool(graph.query(f"ASK {{ <{ARTICLE}> ?p ?o }}").askAnswer) is True
    assert rdflib.compare.isomorphic(rdflib.Graph() + graph.query(CONSTRUCT).graph, expected_graph(reference_store))
    date = rdflib.Literal("2018-03-27", datatype=rdflib.XSD.date)
    assert (rdflib.URIRef(ARTICLE), rdflib.URIRef("http://schema.org/datePublished"), date) in graph


def test_pyoxigraph_service_clause_calls_our_endpoint(server):
    local = ox.Store()
    results = local.query(f"SELECT ?label WHERE {{ SERVICE <{server.url}/sparql> {{ {LABEL_PATTERN} }} }}")
    assert [s["label"] for s in results] == [ox.Literal(TITLE, language="en")]


@pytest.fixture(scope="module")
def federating_server(server, tmp_path_factory) -> Iterator[RunningServer]:  # type: ignore[no-untyped-def]
    """A second endpoint whose SERVICE allow-list holds the first one."""
    running = start_server(tmp_path_factory.mktemp("federating"), "--allow-service", server.url + "/sparql",
                           "--workers", "1", "--query-processes", "1")
    yield running
    stop_server(running)


def test_service_to_an_allowed_endpoint_works(server, federating_server):
    query = f"SELECT ?label WHERE {{ SERVICE <{server.url}/sparql> {{ {LABEL_PATTERN} }} }}"
    response = federating_server.get("/sparql", params={"query": query})
    assert response.status_code == 200, response.text
    assert response.json()["results"]["bindings"] == [{"label": {"type": "literal", "value": TITLE, "xml:lang": "en"}}]
    refused = federating_server.get("/sparql", params={"query": query.replace("/sparql>", "/other>")})
    assert refused.status_code == 403


# --- SPARQLWrapper, every return format × query form × setOnlyConneg × method ---------------------------------
# What SPARQLWrapper sends (2.0.0): Accept for the format and form (`*/*` when they do not fit, with a warning),
# and unless setOnlyConneg(True) also `format=`, `output=` and `results=` set to the format's name, `format=`
# repeated with the media type for tsv, json-ld and rdf+xml. A format name that fits no form of the query is a
# 406 that names the formats that fit; by Accept alone (`*/*`) the server's default for the form is fine.

RESULT_FORMS = ("SELECT", "ASK")
QUERIES = {
    "SELECT": LABEL_QUERY,
    "ASK": f"ASK {{ <{ARTICLE}> ?p ?o }}",
    "CONSTRUCT": CONSTRUCT,
    "DESCRIBE": f"DESCRIBE <{ARTICLE}>",
}
# The media type each return format gets, by form kind; None: 406 when sent as `format=`, the default by Accept.
ANSWERS: dict[str, dict[str, str | None]] = {
    "results": {JSON: "application/sparql-results+json", XML: "application/sparql-results+xml", CSV: "text/csv",
                TSV: "text/tab-separated-values", TURTLE: None, N3: None, RDF: None, RDFXML: None, JSONLD: None},
    "graph": {JSON: "application/ld+json", XML: "application/rdf+xml", RDF: "application/rdf+xml",
              RDFXML: "application/rdf+xml", TURTLE: "text/turtle", N3: "text/turtle", JSONLD: "application/ld+json",
              CSV: None, TSV: None},
}
# The formats for which SPARQLWrapper sends a specific Accept (else `*/*`: the form's default answers).
SPECIFIC_ACCEPT = {"results": {JSON, XML, CSV, TSV}, "graph": {TURTLE, N3, XML, RDFXML, JSONLD}}
DEFAULTS = {"results": "application/sparql-results+json", "graph": "text/turtle"}
RDFLIB_FORMATS = {"application/ld+json": "json-ld", "application/rdf+xml": "xml", "text/turtle": "turtle"}
RESULT_PARSERS = {"application/sparql-results+json": "json", "application/sparql-results+xml": "xml",
                  "text/csv": "csv", "text/tab-separated-values": "tsv"}


def check_answer(form: str, media: str, body: bytes, reference_store: ox.Store) -> None:
    """The body is the right answer to QUERIES[form] in `media`."""
    if form in ("CONSTRUCT", "DESCRIBE"):
        nt = ox.serialize(reference_store.query(QUERIES[form], use_default_graph_as_union=True),
                          format=ox.RdfFormat.N_TRIPLES)
        got = rdflib.Graph().parse(data=body, format=RDFLIB_FORMATS[media])
        assert rdflib.compare.isomorphic(got, rdflib.Graph().parse(data=nt, format="nt"))
        assert len(got) > 5
    elif form == "ASK":
        if media in ("text/csv", "text/tab-separated-values"):
            assert body.strip() == b"true"
        else:
            assert rdflib.query.Result.parse(io.BytesIO(body), format=RESULT_PARSERS[media]).askAnswer is True
    else:
        rows = list(rdflib.query.Result.parse(io.BytesIO(body), format=RESULT_PARSERS[media]))
        expected = TITLE if media in ("text/csv", "text/tab-separated-values") else None
        values = [row[0] for row in rows]
        if expected:  # CSV loses the language tag; TSV writes the literal in Turtle syntax
            assert [str(v).strip('"').removesuffix('"@en') for v in values] == [TITLE]
        else:
            assert values == [rdflib.Literal(TITLE, lang="en")]


@pytest.mark.parametrize("return_format", [JSON, XML, TURTLE, N3, RDF, RDFXML, CSV, TSV, JSONLD])
@pytest.mark.parametrize("form", list(QUERIES))
def test_sparqlwrapper_every_return_format_form_conneg_and_method(server, reference_store, form, return_format):
    kind = "results" if form in RESULT_FORMS else "graph"
    for only_conneg, method, request_method in [(False, GET, URLENCODED), (True, GET, URLENCODED),
                                                 (False, POST, URLENCODED), (True, POST, URLENCODED),
                                                 (False, POST, POSTDIRECTLY)]:
        case = f"{form} {return_format} onlyConneg={only_conneg} {method} {request_method}"
        client = wrapper(server, QUERIES[form], return_format)
        client.setOnlyConneg(only_conneg)
        client.setMethod(method)
        client.setRequestMethod(request_method)
        expected = ANSWERS[kind][return_format]
        if only_conneg and return_format not in SPECIFIC_ACCEPT[kind]:
            expected = DEFAULTS[kind]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SPARQLWrapper's own "Sending Accept header '*/*'" for a misfit
            if expected is None:
                with pytest.raises(HTTPError) as refused:
                    client.query()
                message = refused.value.read().decode()
                assert refused.value.code == 406, case
                assert f"does not fit this {form} query; use one of:" in message, case
                continue
            result = client.query()
            body = result.response.read()
        assert result.info()["content-type"] == f"{expected}; charset=utf-8", case
        check_answer(form, expected, body, reference_store)


def test_sparqlwrapper_converts_what_it_asked_for_without_warnings(server):
    """setReturnFormat(TSV | N3 | JSONLD | RDFXML) with SPARQLWrapper's defaults: no 400, the format asked."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # SPARQLWrapper warns so when the answer is not what it asked
        tsv = wrapper(server, LABEL_QUERY, TSV).queryAndConvert()
        assert tsv.decode().splitlines() == ["?label", f'"{TITLE}"@en']
        turtle = wrapper(server, CONSTRUCT, N3).queryAndConvert()
        assert len(rdflib.Graph().parse(data=turtle, format="n3")) > 5
        assert len(wrapper(server, CONSTRUCT, JSONLD).queryAndConvert()) > 5
        assert len(wrapper(server, CONSTRUCT, RDFXML).queryAndConvert()) > 5


def test_rdflib_sparqlstore_with_post_and_every_result_format(server):
    for method in ("GET", "POST", "POST_FORM"):
        for returnFormat in ("xml", "json", "csv"):
            store = SPARQLStore(server.url + "/sparql", method=method, returnFormat=returnFormat)
            rows = [row[0] for row in rdflib.Graph(store=store).query(LABEL_QUERY)]
            assert [str(value) for value in rows] == [TITLE], (method, returnFormat)


def test_sparql_dataframe_with_pandas(server):
    for post in (False, True):
        frame = sparql_dataframe.get(server.url + "/sparql", COUNTS_QUERY, post=post)
        assert list(frame.columns) == ["country", "people"]
        assert dict(zip(frame["country"], frame["people"], strict=True)) == {"Germany": 4, "France": 4, "Poland": 4}


def test_repeated_format_values_must_name_one_format(server):
    same = server.get("/sparql", params={"query": LABEL_QUERY, "format": ["tsv", "text/tab-separated-values", ""]})
    assert (same.status_code, same.headers["Content-Type"]) == (200, "text/tab-separated-values; charset=utf-8")
    clash = server.get("/sparql", params={"query": LABEL_QUERY, "format": ["json", "text/csv"]})
    assert (clash.status_code, clash.text) == (
        400, "'format' names different formats: 'json' (json) and 'text/csv' (csv); give one\n")
    n3 = server.get("/sparql", params={"query": CONSTRUCT, "format": "n3"})
    assert (n3.status_code, n3.headers["Content-Type"]) == (200, "text/turtle; charset=utf-8")
