"""`kg serve --store DIR`: built once, reopened as it is, rebuilt when the source files change."""

from __future__ import annotations

import os
import shutil
import signal
import time

from support.servers import BASE_IRI, start_server, stop_server

from nato_kg.settings import PROJECT_ROOT

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


def test_a_server_that_built_its_store_stops_promptly_and_whole(tmp_path):
    """SIGTERM to the master ends every process of the server within seconds (a worker forked from a process
    that had run RocksDB used to hang at exit, holding the server's processes for ever)."""
    server = start_server(tmp_path, "--store", str(tmp_path / "store"), "--workers", "2")
    group = server.process.pid  # start_server gives each server its own process group
    try:
        assert server.get("/sparql", params={"query": "ASK {}"}).json() == {"head": {}, "boolean": True}
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)  # the master only, as a process manager would
        server.process.wait(timeout=20)
        deadline = time.monotonic() + 10
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _group_alive(group), "a worker or query process outlived the server"
        assert time.monotonic() - started < 15
    finally:
        stop_server(server)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
