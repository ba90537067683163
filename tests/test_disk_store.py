"""`kg serve --store DIR`: built once, reopened as it is, rebuilt when the source files change."""

from __future__ import annotations

import shutil

from conftest import BASE_IRI, start_server, stop_server

from server.settings import PROJECT_ROOT

NEW = f"<{BASE_IRI}id/store-probe> <http://www.w3.org/2000/01/rdf-schema#label> \"probe\" ."


def test_store_is_built_reused_and_rebuilt_on_change(tmp_path, reference_store):
    data = tmp_path / "data"
    for folder in ("ontology", "graph", "queries"):
        shutil.copytree(PROJECT_ROOT / folder, data / folder)
    store = tmp_path / "store"
    args = ("--store", str(store), "--data-dir", str(data), "--workers", "1", "--query-processes", "1")
    ask = {"query": f"ASK {{ <{BASE_IRI}id/store-probe> ?p ?o }}"}

    server = start_server(tmp_path, *args)
    try:
        health = server.get("/health").json()
        assert health["store"] == "oxigraph-disk" and health["triples"] == len(reference_store)
        assert server.get("/sparql", params=ask).json()["boolean"] is False
    finally:
        stop_server(server)
    assert "built the on-disk store" in server.log.read_text()

    server = start_server(tmp_path, *args)  # same files: opened as it is
    try:
        assert server.get("/health").json()["triples"] == len(reference_store)
    finally:
        stop_server(server)
    assert "built the on-disk store" not in server.log.read_text()

    with (data / "graph" / "article.ttl").open("a") as turtle:
        turtle.write("\n" + NEW + "\n")
    server = start_server(tmp_path, *args)  # changed files: rebuilt
    try:
        assert server.get("/sparql", params=ask).json()["boolean"] is True
        assert server.get("/health").json()["triples"] == len(reference_store) + 1
    finally:
        stop_server(server)
    assert "built the on-disk store" in server.log.read_text()
