"""Stored queries: the catalogue, every query's full answer (golden files), parameters, OpenAPI.

The header and parameter binding are tested as functions; the views in-process (`client`); schemathesis, a
real HTTP client, against the live server.

Golden files live in tests/golden/: the answer as our endpoint serves it (TSV for SELECT, N-Triples for
CONSTRUCT and DESCRIBE). After a deliberate change to the data or a query, rewrite them with
`KG_UPDATE_GOLDEN=1 pytest tests/test_stored_queries.py` (each rewrite fails its test on purpose, so an
update run never passes) and read the diff before committing it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from openapi_spec_validator import validate
from rdflib import Graph
from rdflib.compare import isomorphic
from support.golden import golden_text

from nato_kg.data.store import load_dataset, native_store
from nato_kg.engine.stored_queries import load_catalogue
from nato_kg.errors import Problem
from nato_kg.settings import PROJECT_ROOT

GOLDEN = Path(__file__).parent / "golden"
CATALOGUE = load_catalogue(PROJECT_ROOT / "queries")
# Parameters for the queries that need one (the others run with their defaults).
ARGUMENTS = {"search-quotes": {"text": "reckless"}}


def test_the_catalogue_lists_every_query_with_its_documentation(client):
    listed = client.get("/queries").json()["queries"]
    assert [q["name"] for q in listed] == sorted(p.stem for p in (PROJECT_ROOT / "queries").glob("*.rq"))
    assert len(listed) >= 20
    speaker = next(q for q in listed if q["name"] == "statements-by-speaker")
    assert speaker["title"] == "All statements by a speaker"
    assert speaker["tags"] == ["statements"]
    assert speaker["form"] == "SELECT"
    assert speaker["formats"] == ["json", "xml", "csv", "tsv"]
    assert speaker["parameters"] == [{"name": "speaker", "type": "iri", "required": False,
                                      "default": "kg:boris-johnson",
                                      "description": "the person or body who made the statements"}]
    assert all(q["title"] and q["description"] for q in listed)


def test_the_catalogue_is_a_page_for_browsers(client):
    page = client.get("/queries", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.headers["Content-Type"].startswith("text/html")
    assert '<h2><a href="http://127.0.0.1:' in page.text
    assert "All statements by a speaker" in page.text


# federated-*: their answers depend on Wikidata; tests/test_federation.py asserts them against a stand-in.
@pytest.mark.parametrize("name", sorted(name for name in CATALOGUE if not name.startswith("federated-")))
def test_every_stored_query_gives_its_golden_answer(client, name):
    form = next(q["form"] for q in client.get("/queries").json()["queries"] if q["name"] == name)
    fmt = "tsv" if form in ("SELECT", "ASK") else "nt"
    response = client.get(f"/queries/{name}", params={**ARGUMENTS.get(name, {}), "format": fmt})
    assert response.status_code == 200, response.text
    expected = golden_text(GOLDEN / f"{name}.{fmt}", response.text)
    if fmt == "tsv":
        assert response.text == expected
    else:  # blank nodes get new labels on every run: compare the graphs, not the text
        assert isomorphic(Graph().parse(data=response.text, format="nt"), Graph().parse(data=expected, format="nt"))


def test_a_stored_query_answers_in_every_format_by_negotiation(client):
    csv = client.get("/queries/nato-mission-size", headers={"Accept": "text/csv"})
    assert csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert csv.text.splitlines() == ["when,size", "previously,60", "before the cut of 27 March 2018,30",
                                     "after the cut of 27 March 2018,20"]
    as_json = client.get("/queries/nato-mission-size", headers={"Accept": "application/sparql-results+json"})
    assert [b["size"]["value"] for b in as_json.json()["results"]["bindings"]] == ["60", "30", "20"]
    turtle = client.get("/queries/describe-actor", params={"actor": "kg:nato"}, headers={"Accept": "text/turtle"})
    assert turtle.headers["Content-Type"] == "text/turtle; charset=utf-8"
    labels = {str(o) for o in Graph().parse(data=turtle.text, format="turtle").objects()
              if getattr(o, "language", None) == "en"}
    assert labels == {"NATO", "North Atlantic Treaty Organization", "the alliance", "the military alliance"}
    assert client.get("/queries/nato-mission-size", params={"format": "ttl"}).status_code == 406


def test_a_repeated_get_is_answered_304_from_its_etag(client):
    first = client.get("/queries/cq6-poisoning", params={"format": "json"})
    again = client.get("/queries/cq6-poisoning", params={"format": "json"},
                       headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    other = client.get("/queries/statements-by-speaker", params={"speaker": "kg:sergei-lavrov", "format": "json"})
    default = client.get("/queries/statements-by-speaker", params={"format": "json"})
    assert other.headers["ETag"] != default.headers["ETag"]
    # A graph's blank nodes are labelled differently by each query process: same graph, other bytes.
    graph = client.get("/queries/country-subgraph", params={"format": "nt"})
    assert graph.headers["ETag"].startswith('W/"')
    assert not first.headers["ETag"].startswith("W/")
    again = client.get("/queries/country-subgraph", params={"format": "nt"},
                       headers={"If-None-Match": graph.headers["ETag"]})
    assert again.status_code == 304


def test_parameters_are_bound_as_typed_terms(client):
    lavrov = client.get("/queries/statements-by-speaker",
                        params={"speaker": "kg:sergei-lavrov", "format": "csv"}).text.splitlines()
    assert lavrov == [
        "statement,kind,label,date",
        "http://127.0.0.1:8000/id/statement-lavrov-colossal-pressure,accusation,"
        "Lavrov accuses Washington of colossal pressure on its allies,",
        "http://127.0.0.1:8000/id/statement-lavrov-we-will-respond,vow,Lavrov vows that Russia will respond,",
    ]
    full_iri = client.get("/queries/statements-by-speaker",
                          params={"speaker": "http://127.0.0.1:8000/id/sergei-lavrov", "format": "csv"})
    assert full_iri.text.splitlines() == lavrov


def test_injection_attempts_are_matched_literally_or_refused(client):
    before = client.get("/health").json()["triples"]
    literal = client.get("/queries/search-quotes", params={"text": '"} ; DROP ALL #', "format": "csv"})
    assert literal.status_code == 200
    assert literal.text.splitlines() == ["statement,speaker,quote"]  # no quote contains that text
    closing = client.get("/queries/search-quotes", params={"text": "'} } SELECT * { ?s ?p ?o", "format": "csv"})
    assert closing.text.splitlines() == ["statement,speaker,quote"]
    iri = client.get("/queries/statements-by-speaker", params={"speaker": "http://x/> } ?s ?p ?o . { <y"})
    assert iri.status_code == 400
    assert iri.text == "parameter 'speaker' must be an IRI, not 'http://x/> } ?s ?p ?o . { <y'\n"
    assert client.get("/health").json()["triples"] == before


def test_parameter_mistakes_get_a_400_that_names_the_parameter(client):
    missing = client.get("/queries/search-quotes")
    assert (missing.status_code, missing.text) == (
        400, "parameter 'text' (string) is required: words to look for, e.g. reckless\n")
    unknown = client.get("/queries/cq6-poisoning", params={"victim": "x"})
    assert (unknown.status_code, unknown.text) == (
        400, "unknown parameter 'victim' for stored query 'cq6-poisoning' (parameters: none)\n")
    prefix = client.get("/queries/statements-by-speaker", params={"speaker": "foo:bar"})
    assert prefix.status_code == 400
    assert prefix.text.startswith("parameter 'speaker' must be an IRI (unknown prefix 'foo:'")
    twice = client.get("/queries/search-quotes?text=a&text=b")
    assert (twice.status_code, twice.text) == (400, "parameter 'text' is given 2 times; give it once\n")
    assert client.get("/queries/no-such-query").status_code == 404


def test_typed_parameters_check_their_values(tmp_path):
    (tmp_path / "typed.rq").write_text(
        "#+ title: Typed\n#+ param: n integer -- a count\n#+ param: d date = 2018-03-27 -- a day\n"
        "#+ param: b boolean = true -- a flag\n#+ param: x decimal = 1.5 -- a number\n"
        "SELECT ?n ?d ?b ?x WHERE { FILTER(?b) }\n", encoding="utf-8")
    typed = load_catalogue(tmp_path)["typed"]
    bound = typed.bind({"n": "7"}, "http://127.0.0.1:8000/")
    assert bound.endswith(
        'WHERE { VALUES (?n ?d ?b ?x) { ("7"^^<http://www.w3.org/2001/XMLSchema#integer> '
        '"2018-03-27"^^<http://www.w3.org/2001/XMLSchema#date> "true"^^<http://www.w3.org/2001/XMLSchema#boolean> '
        '"1.5"^^<http://www.w3.org/2001/XMLSchema#decimal>) } FILTER(?b) }\n')
    solution = next(iter(ox.Store().query(bound)))
    assert (solution["n"].value, solution["d"].value) == ("7", "2018-03-27")
    for values, message in [
        ({"n": "seven"}, "parameter 'n' must be an integer, not 'seven'"),
        ({"n": "1", "d": "27 March"}, "parameter 'd' must be a date (YYYY-MM-DD), not '27 March'"),
        ({"n": "1", "b": "yes"}, "parameter 'b' must be true or false, not 'yes'"),
        ({"n": "1", "x": "1,5"}, "parameter 'x' must be a decimal number, not '1,5'"),
        ({}, "parameter 'n' (integer) is required: a count"),
    ]:
        with pytest.raises(Problem) as error:
            typed.bind(values, "http://127.0.0.1:8000/")
        assert str(error.value) == message


def test_the_header_is_read_and_iri_parameters_bound_first_in_the_where_pattern(tmp_path):
    (tmp_path / "speaker.rq").write_text(
        "#+ title: Statements\n#+ description: Every statement\n#+ description: of one speaker.\n"
        "#+ param: speaker iri = kg:nato -- who spoke\n#+ tags: statements, people\n"
        "PREFIX kg: <id/>\nPREFIX kgo: <ontology#>\n"
        "CONSTRUCT { ?s kgo:speaker ?speaker } WHERE { ?s kgo:speaker ?speaker }\n", encoding="utf-8")
    query = load_catalogue(tmp_path)["speaker"]
    assert (query.title, query.description, query.tags) == ("Statements", "Every statement of one speaker.",
                                                            ("statements", "people"))
    assert [(p.name, p.type, p.default, p.description, p.required) for p in query.parameters] == [
        ("speaker", "iri", "kg:nato", "who spoke", False)]
    base = "http://127.0.0.1:8000/"
    # The CONSTRUCT template's `{` comes first; the VALUES clause goes into the WHERE pattern.
    assert query.bind({}, base).endswith(
        "WHERE { VALUES (?speaker) { (<http://127.0.0.1:8000/id/nato>) } ?s kgo:speaker ?speaker }\n")
    assert "VALUES (?speaker) { (<http://127.0.0.1:8000/id/sergei-lavrov>) }" in query.bind(
        {"speaker": "kg:sergei-lavrov"}, base)
    assert "VALUES (?speaker) { (<https://example.org/x>) }" in query.bind({"speaker": "https://example.org/x"}, base)
    with pytest.raises(Problem) as error:
        query.bind({"speaker": "kg:a> } ?s ?p ?o . { <b"}, base)
    assert str(error.value).startswith("parameter 'speaker' must be an IRI")


def test_a_query_without_parameters_is_run_as_written():
    assert CATALOGUE["cq6-poisoning"].bind({}, "http://127.0.0.1:8000/") == CATALOGUE["cq6-poisoning"].text
    with pytest.raises(Problem) as error:
        CATALOGUE["cq6-poisoning"].bind({"victim": "x"}, "http://127.0.0.1:8000/")
    assert str(error.value) == "unknown parameter 'victim' for stored query 'cq6-poisoning' (parameters: none)"


def test_the_query_text_runs_as_is_elsewhere(client, settings):
    """/queries/<name>.rq carries a BASE, so a plain Oxigraph store holding our files answers it the same."""
    text = client.get("/queries/cq6-poisoning.rq")
    assert text.headers["Content-Type"] == "application/sparql-query; charset=utf-8"
    assert text.text.startswith("BASE <http://127.0.0.1:8000/>\n#+ title:")
    store = native_store(load_dataset(settings))
    rows = [[s[v].value for v in ("victim", "date")] for s in store.query(text.text, use_default_graph_as_union=True)]
    assert rows == [["Sergei Skripal", "2018-03-04"], ["Yulia Skripal", "2018-03-04"]]


def test_openapi_document_is_valid_and_describes_every_stored_query(client):
    document = client.get("/openapi.json").json()
    validate(document)
    assert {f"/queries/{name}" for name in CATALOGUE} <= set(document["paths"])
    speaker = document["paths"]["/queries/statements-by-speaker"]["get"]
    assert speaker["summary"] == "All statements by a speaker"
    assert speaker["parameters"][0] == {
        "name": "speaker", "in": "query", "required": False,
        "description": "the person or body who made the statements (an IRI, in full or as kg:name)",
        "schema": {"type": "string", "minLength": 1, "default": "kg:boris-johnson"}}
    assert speaker["parameters"][1]["schema"]["enum"] == ["json", "xml", "csv", "tsv"]


def test_schemathesis_finds_no_server_error_and_no_undocumented_response(server, tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json",
         "--checks", "not_a_server_error,status_code_conformance,content_type_conformance",
         "--max-examples", "8", "--phases", "examples,coverage,fuzzing", "--workers", "2",
         "--request-timeout", "20", "--no-color"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert f"Tested: {len(CATALOGUE) + 2}" in run.stdout  # every stored query, /queries and /sparql
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
