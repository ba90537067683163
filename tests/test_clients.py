"""Real SPARQL clients against the running server: SPARQLWrapper, rdflib's SPARQLStore, pyoxigraph SERVICE."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
import rdflib
import rdflib.compare
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, TURTLE, XML, SPARQLWrapper
from support.servers import BASE_IRI, RunningServer, start_server, stop_server

ARTICLE = f"{BASE_IRI}id/article"
TITLE = "NATO Cuts Russian Mission Staff Over Spy Poisoning"
LABEL_PATTERN = f"<{ARTICLE}> <http://www.w3.org/2000/01/rdf-schema#label> ?label"
LABEL_QUERY = f"SELECT ?label WHERE {{ {LABEL_PATTERN} }}"
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
