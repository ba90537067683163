"""`kg query`: stored queries from the command line, locally and against SPARQL endpoints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from support.servers import BASE_IRI, free_port, wait_until_up

from nato_kg.data.store import load_dataset, native_store
from nato_kg.settings import PROJECT_ROOT

POISONING_TABLE = """victim          place      date        means
Sergei Skripal  Salisbury  2018-03-04  nerve agent
Yulia Skripal   Salisbury  2018-03-04  nerve agent
(2 rows)
"""


def kg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nato_kg.cli", "query", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120, env={"KG_BASE_IRI": BASE_IRI, "PATH": ""})


def test_a_stored_query_prints_an_aligned_table():
    run = kg("cq6-poisoning")
    assert (run.returncode, run.stdout, run.stderr) == (0, POISONING_TABLE, "")


def test_parameters_and_formats():
    run = kg("statements-by-speaker", "--param", "speaker=kg:jim-mattis", "--format", "csv")
    assert run.stdout.splitlines() == [
        "statement,kind,label,date",
        "http://127.0.0.1:8000/id/statement-mattis-different-relationship,statement,"
        "Mattis: Russia has chosen to seek a different relationship,",
    ]
    graph = kg("describe-actor", "-p", "actor=kg:moldova", "-f", "nt")
    assert sorted(graph.stdout.splitlines()) == sorted([
        '<http://127.0.0.1:8000/id/moldova> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> '
        '<http://127.0.0.1:8000/ontology#State> .',
        '<http://127.0.0.1:8000/id/moldova> <http://www.w3.org/2000/01/rdf-schema#label> "Moldova"@en .',
        '<http://127.0.0.1:8000/id/moldova> <http://www.w3.org/2004/02/skos/core#altLabel> "Chisinau"@en .',
        '<http://127.0.0.1:8000/id/moldova> <http://www.w3.org/2002/07/owl#sameAs> '
        '<http://www.wikidata.org/entity/Q217> .',
    ])


def test_mistakes_are_explained_with_exit_code_2():
    missing = kg("search-quotes")
    assert (missing.returncode, missing.stderr) == (
        2, "kg query: parameter 'text' (string) is required: words to look for, e.g. reckless\n")
    unknown = kg("no-such-query")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("kg query: give a stored query's name (actors-by-type, ")


def test_list_shows_the_catalogue():
    lines = kg("--list").stdout.splitlines()
    assert lines[0].split() == ["NAME", "TITLE", "PARAMETERS"]
    assert any(line.startswith("search-quotes ") and line.endswith("text=<string>") for line in lines)
    assert len(lines) == 1 + len(list((PROJECT_ROOT / "queries").glob("*.rq")))


def test_any_query_file_runs(tmp_path):
    query = tmp_path / "mine.rq"
    query.write_text("PREFIX kg: <id/>\nASK { kg:nato ?p ?o }\n", encoding="utf-8")
    assert kg("--file", str(query)).stdout == "yes\n"


def test_a_refused_query_fails_with_the_reason(tmp_path):
    query = tmp_path / "fetch.rq"
    query.write_text("SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }\n", encoding="utf-8")
    run = kg("--file", str(query))
    assert run.returncode == 1
    assert "file:///etc/passwd" in run.stderr
    assert "root:" not in run.stdout + run.stderr


def test_against_our_endpoint(server):
    run = kg("cq6-poisoning", "--endpoint", f"{server.url}/sparql")
    assert (run.returncode, run.stdout) == (0, POISONING_TABLE)


@pytest.fixture(scope="module")
def oxigraph_with_our_data(tmp_path_factory, settings):
    """`oxigraph serve` loaded with our dataset: another engine, to show the BASE line makes queries portable."""
    folder = tmp_path_factory.mktemp("oxigraph")
    dump = folder / "dataset.nq"
    native_store(load_dataset(settings)).dump(str(dump), ox.RdfFormat.N_QUADS)
    port = free_port()
    oxigraph = str(Path(sys.executable).with_name("oxigraph"))  # installed with the test extra
    subprocess.run([oxigraph, "load", "--location", str(folder / "db"), "--file", str(dump)], check=True,
                   capture_output=True, timeout=120)
    process = subprocess.Popen([oxigraph, "serve-read-only", "--location", str(folder / "db"), "--union-default-graph",
                                "--bind", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/query"
    wait_until_up(url + "?query=ASK%7B%7D", process, timeout_s=30)  # type: ignore[arg-type]
    yield url
    process.terminate()
    process.wait(10)


def test_against_another_sparql_engine(oxigraph_with_our_data):
    run = kg("cq6-poisoning", "--endpoint", oxigraph_with_our_data)
    assert (run.returncode, run.stdout) == (0, POISONING_TABLE), run.stderr
