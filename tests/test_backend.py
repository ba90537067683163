"""`--backend URL` and `kg load`: the same service over another SPARQL server (a real `oxigraph serve`)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
from support import ld_reference
from support.servers import BASE_IRI, RunningServer, free_port, start_server, stop_server, wait_until_up

from nato_kg.data.store import load_dataset, native_store
from nato_kg.settings import PROJECT_ROOT

GOLDEN = Path(__file__).parent / "golden"
COUNT_QUADS = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"
# Triples in the dataset, counted by rdflib from the Turtle files (tests/support/ld_reference.py), not by our loader.
REFERENCE_TRIPLES = len(ld_reference.union())


@pytest.fixture(scope="module")
def oxigraph_server() -> Iterator[str]:
    """An empty, writable, in-memory `oxigraph serve` on loopback; yields its query endpoint."""
    port = free_port()
    process = subprocess.Popen([str(Path(sys.executable).with_name("oxigraph")), "serve", "--bind",
                                f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/query"
    wait_until_up(url + "?query=ASK%7B%7D", process, timeout_s=30)  # type: ignore[arg-type]
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def loaded(oxigraph_server: str, settings) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nato_kg.cli", "load", "--backend", oxigraph_server,
                           "--base-iri", BASE_IRI], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def backed_server(loaded, oxigraph_server: str, tmp_path_factory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("backed"), "--backend", oxigraph_server)
    yield running
    stop_server(running)


def quads_in(endpoint: str) -> int:
    """What the SPARQL server at `endpoint` itself counts in its named graphs."""
    answer = requests.get(endpoint, params={"query": COUNT_QUADS},
                          headers={"Accept": "application/sparql-results+json"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["results"]["bindings"][0]["n"]["value"])


def test_the_reference_count_is_the_datasets():
    assert REFERENCE_TRIPLES == 2113  # a changed dataset changes this number on purpose, not by accident


def test_kg_load_puts_every_named_graph_there(loaded, oxigraph_server, settings):
    store = native_store(load_dataset(settings))
    expected = [f"{g.value}: {len(list(store.quads_for_pattern(None, None, None, g)))} triples"
                for g in sorted(store.named_graphs(), key=lambda g: g.value)]
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines() == expected
    assert quads_in(oxigraph_server) == len(store) == REFERENCE_TRIPLES


def test_loading_twice_replaces_rather_than_duplicates(oxigraph_server, loaded, settings):
    again = subprocess.run([sys.executable, "-m", "nato_kg.cli", "load", "--backend", oxigraph_server,
                            "--base-iri", BASE_IRI], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout == loaded.stdout
    assert quads_in(oxigraph_server) == REFERENCE_TRIPLES  # replaced: not twice as many


def test_the_backed_server_answers_like_the_embedded_one(backed_server, settings):
    health = backed_server.get("/health").json()
    assert health["store"] == f"remote {backed_server.process.args[backed_server.process.args.index('--backend') + 1]}"
    assert health["triples"] == REFERENCE_TRIPLES
    for name in ("cq1-expelling-countries", "cq4-blame-and-denial", "timeline"):
        answer = backed_server.get(f"/queries/{name}", params={"format": "tsv"})
        assert answer.text == (GOLDEN / f"{name}.tsv").read_text(encoding="utf-8"), name
    graph = backed_server.get("/queries/describe-actor", params={"actor": "kg:moldova", "format": "nt"})
    triples = {quad.triple for quad in ox.parse(graph.content, ox.RdfFormat.N_TRIPLES)}
    assert ox.Triple(ox.NamedNode(BASE_IRI + "id/moldova"), ox.NamedNode("http://www.w3.org/2002/07/owl#sameAs"),
                     ox.NamedNode("http://www.wikidata.org/entity/Q217")) in triples
    assert len(triples) == 4


def test_the_policy_still_guards_a_backed_server(backed_server):
    refused = backed_server.get("/sparql", params={"query": "SELECT * FROM <file:///etc/passwd> { ?s ?p ?o }"})
    assert refused.status_code == 403
    assert "file:///etc/passwd" in refused.text


def test_an_unreachable_backend_is_a_clear_502(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/query"
    running = start_server(tmp_path, "--backend", dead, ready_path="/sparql")
    try:
        answer = running.get("/sparql", params={"query": "ASK {}"})
        assert answer.status_code == 502
        assert answer.text.startswith(f"the backend {dead} cannot be reached")
        assert running.get("/health").status_code == 503
    finally:
        stop_server(running)


def test_order_by_over_mixed_terms_is_in_the_spec_order_through_the_backend(backed_server):
    from support.sparql_order import in_order  # the same reference tests/test_order_by.py holds the other stores to

    for query, descending in (("SELECT * WHERE { ?s ?p ?o } ORDER BY ?o", False),
                              ("SELECT * WHERE { ?s ?p ?o } ORDER BY DESC(?o) LIMIT 50", True)):
        response = backed_server.post("/sparql", data={"query": query},
                                      headers={"Accept": "application/sparql-results+json"})
        assert response.status_code == 200, response.text[:300]
        values = [row.get("o") for row in response.json()["results"]["bindings"]]
        assert len(values) == (50 if "LIMIT" in query else 2113) and in_order(values, descending) == []
