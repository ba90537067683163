"""ORDER BY over any mix of terms: never a crash, always the SPARQL 1.1 §15.1 order (tests/support/sparql_order.py).

Oxigraph's own comparator is not transitive over mixed terms (an integer, a year and a string): the sort
panics or misorders depending on the order the terms reach it, which changes with how the store was filled.
So the served graph is sorted here over many insertion orders, in process through the query process's own
evaluate() (a panic there would abort the test run, as it aborted query processes), and live on all three
stores: in memory, on disk (--store) and through another server (--backend).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pyoxigraph as ox
import pytest
from support.servers import RunningServer, start_server, stop_server
from support.sparql_order import in_order, order_key

from nato_kg.engine.messages import QueryRequest
from nato_kg.engine.order_by import total_order
from nato_kg.engine.query_process import evaluate
from nato_kg.errors import Problem
from nato_kg.namespaces import prefixes

XSD = "http://www.w3.org/2001/XMLSchema#"
ALL = "SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }"
# (query, the variable holding the sort key, descending)
WHOLE_GRAPH = [
    (ALL + " ORDER BY ?s", "s", False),
    (ALL + " ORDER BY ?p", "p", False),
    (ALL + " ORDER BY ?o", "o", False),
    (ALL + " ORDER BY DESC(?o)", "o", True),
    ("SELECT ?o (STR(?o) AS ?k) WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY STR(?o)", "k", False),
    ("SELECT ?o (DATATYPE(?o) AS ?k) WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY DATATYPE(?o) ?o", "k", False),
    ("SELECT ?o WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?o LIMIT 5", "o", False),
]


def run(store: ox.Store, query: str) -> list[dict[str, Any]]:
    answer = evaluate(store, QueryRequest(query, "json", "http://127.0.0.1:8000/", union=True), 64 << 20,
                      prefixes("http://127.0.0.1:8000/"))
    return json.loads(bytes(answer))["results"]["bindings"]


def column(rows: list[dict[str, Any]], name: str) -> list[dict[str, Any] | None]:
    return [row.get(name) for row in rows]


@pytest.fixture(scope="module")
def quads(reference_store: ox.Store) -> list[ox.Quad]:
    return list(reference_store)


def shuffled_store(quads: list[ox.Quad], seed: int) -> ox.Store:
    order = list(quads)
    random.Random(seed).shuffle(order)
    store = ox.Store()
    store.extend(order)
    return store


@pytest.mark.parametrize("seed", range(8))
def test_the_whole_graph_sorts_in_the_spec_order_whatever_the_insertion_order(quads, seed):
    store = shuffled_store(quads, seed)
    for query, key, descending in WHOLE_GRAPH:
        rows = run(store, query)
        assert len(rows) == (5 if "LIMIT" in query else len(quads)), query
        assert in_order(column(rows, key), descending) == [], query


def test_limit_after_order_by_takes_the_first_of_the_spec_order(quads, reference_store):
    expected = sorted((row["o"] for row in run(reference_store, ALL)), key=order_key)[:5]
    for seed in range(4):
        got = column(run(shuffled_store(quads, seed), "SELECT ?o WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?o "
                                                       "LIMIT 5"), "o")
        assert [order_key(t) for t in got] == [order_key(t) for t in expected]


def test_order_by_inside_a_subquery_picks_the_right_rows(quads):
    store = shuffled_store(quads, 99)
    inner = "SELECT ?o WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY DESC(?o) LIMIT 40"
    every = sorted(column(run(store, ALL), "o"), key=order_key, reverse=True)
    got = column(run(store, f"SELECT ?o WHERE {{ {{ {inner} }} }}"), "o")
    assert sorted(order_key(t) for t in got) == sorted(order_key(t) for t in every[:40])


def test_order_by_an_aggregate_and_a_group_key(quads):
    store = shuffled_store(quads, 7)
    rows = run(store, "SELECT ?p (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?p "
                      "ORDER BY DESC(?n) ?p")
    pairs = [(-int(row["n"]["value"]), row["p"]["value"]) for row in rows]
    assert pairs == sorted(pairs) and len(pairs) > 20
    by_expression = run(store, "SELECT ?p (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?p "
                               "ORDER BY DESC(COUNT(*)) ?p")
    assert by_expression == rows
    # a grouped key of mixed kinds: the objects' datatypes, unbound for IRIs and blank nodes
    grouped = run(store, "SELECT ?d (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } BIND(DATATYPE(?o) AS ?d) } "
                         "GROUP BY ?d ORDER BY ?d")
    assert in_order(column(grouped, "d")) == [] and grouped[0].get("d") is None


def mixed_values(seed: int) -> str:
    """The engine-free repro: integers and years (and the other kinds) in one VALUES list, shuffled."""
    fixed = random.Random(0)  # the same terms every time; only their order changes with the seed
    terms = [str(fixed.randint(-300, 300)) for _ in range(120)]
    terms += [f'"{fixed.randint(1000, 2100)}"^^<{XSD}gYear>' for _ in range(60)]
    terms += ["1.5", "-0.25", "2.0e0", "1e3", f'"NaN"^^<{XSD}double>', f'"INF"^^<{XSD}double>',
              f'"9007199254740993"^^<{XSD}integer>', f'"9007199254740992"^^<{XSD}double>',
              '"abc"', '"2015"', '"b"@en', '"a"@fr', f'"true"^^<{XSD}boolean>', f'"0"^^<{XSD}boolean>',
              f'"2018-03-04"^^<{XSD}date>', f'"2018-03-27T10:00:00Z"^^<{XSD}dateTime>',
              f'"2018-03-27T09:00:00"^^<{XSD}dateTime>', f'"2018-03-28T00:30:00+02:00"^^<{XSD}dateTime>',
              f'"P1D"^^<{XSD}duration>', "<http://example.org/a>", "<http://example.org/B>", "UNDEF"]
    random.Random(seed).shuffle(terms)
    return "SELECT ?v WHERE { VALUES ?v { " + " ".join(terms) + " } } ORDER BY ?v"


def test_the_engine_free_repro_sorts_in_the_spec_order_every_time():
    store = ox.Store()
    sequences = set()
    for seed in range(20):
        values = column(run(store, mixed_values(seed)), "v")
        assert in_order(values) == [], seed
        sequences.add(json.dumps([order_key(v)[2:] if v else None for v in values]))
        descending = column(run(store, mixed_values(seed).replace("ORDER BY ?v", "ORDER BY DESC(?v)")), "v")
        assert descending == values[::-1]
    assert len(sequences) == 1  # one total order: the same sequence whatever the VALUES order


def test_numbers_sort_by_value_across_types():
    store = ox.Store()
    values = column(run(store, "SELECT ?v WHERE { VALUES ?v { 12 2 14 \"2015\"^^<" + XSD + "gYear> 1.5 "
                               "\"1e1\"^^<" + XSD + "double> \"x\" 3 } } ORDER BY ?v"), "v")
    assert [v["value"] for v in values] == ["1.5", "2", "3", "10", "12", "14", "x", "2015"]  # 1e1 comes back canonical


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { ?s ?p ?o } ORDER BY ?o",
    "SELECT * WHERE { ?s ?p ?o } ORDER BY DESC(?o) LIMIT 3",
    "SELECT * WHERE { ?s ?p ?o } ORDER BY ASC(?o) ?s OFFSET 2 LIMIT 3",
    "SELECT * WHERE { ?s ?p ?o } ORDER BY STR(?o) <http://www.w3.org/2001/XMLSchema#string>(?s)",
    "SELECT * WHERE { ?s ?p ?o } ORDER BY (?o) # ORDER BY in a comment\n",
    "SELECT * WHERE { { SELECT ?o WHERE { ?s ?p ?o } ORDER BY ?o LIMIT 2 } } ORDER BY DESC(?o)",
])
def test_the_rewrite_keeps_a_readable_query(query):
    rewritten = total_order(query)
    assert rewritten != query and ("ORDER BY ASC(COALESCE(" in rewritten or "ORDER BY DESC(COALESCE(" in rewritten)
    ox.Store().query(rewritten)  # parses


@pytest.mark.parametrize("query", [
    "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY DESC(?n)",
    "SELECT ?p (COUNT(DISTINCT ?o) AS $n) WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY ?n LIMIT 3",
    "SELECT * { { SELECT ?p (COUNT(*) AS ?n) { ?s ?p ?o } GROUP BY ?p } } ORDER BY DESC(?n) ASC(?n)",
])
def test_a_sort_on_a_count_alone_is_left_to_the_engine(query):
    """Every value of a variable bound only by COUNT is an integer, which the engine sorts in total already."""
    assert total_order(query) == query


@pytest.mark.parametrize("query", [
    "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p HAVING (?n > 1) ORDER BY DESC(?n)",
    "SELECT ?n WHERE { { SELECT (COUNT(*) AS ?n) { ?s ?p ?o } } UNION { BIND(\"x\" AS ?n) } } ORDER BY ?n",
    "SELECT ?p (COUNT(*) + 1 AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY ?n",
    "SELECT ?p (SUM(?o) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY ?n",
])
def test_a_variable_bound_otherwise_too_is_sorted_in_total(query):
    assert "COALESCE(" in total_order(query)


def test_a_sort_on_a_count_is_by_value():
    store = ox.Store()
    for n, subject in enumerate("abcdefghijkl", 1):  # subjects with 1 to 12 triples: 12 sorts after 2 by value
        for i in range(n):
            store.add(ox.Quad(ox.NamedNode(f"http://x/{subject}"), ox.NamedNode("http://x/p"), ox.Literal(str(i))))
    rows = run(store, "SELECT ?s (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?s ORDER BY DESC(?n)")
    assert [int(row["n"]["value"]) for row in rows] == list(range(12, 0, -1))


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { ?s ?p ?o }",
    "SELECT * WHERE { ?s ?p \"ORDER BY ?o\" }",
    "SELECT * WHERE { ?s ?p ?o } ORDER BY EXISTS { ?o ?p ?s }",  # left to the engine (booleans only)
    "SELECT * WHERE { ?s ?p ?o } ORDER BY",  # a syntax error stays the client's
])
def test_what_the_rewrite_cannot_read_is_left_as_written(query):
    assert total_order(query) == query


def test_a_syntax_error_after_order_by_keeps_its_position():
    query = "SELECT * WHERE { ?s ?p ?o } ORDER BY ?o LIMIT x"
    with pytest.raises(SyntaxError) as engine:
        ox.Store().query(query)
    with pytest.raises(Problem) as problem:
        evaluate(ox.Store(), QueryRequest(query, "json", "http://127.0.0.1:8000/"), 1 << 20, {})
    message = problem.value.message
    assert problem.value.status == 400 and str(engine.value).split(":")[0] in message, message
    assert "error at 1:48" in message  # the client's text, not the rewritten one


# Live: the served graph on each kind of store answers 200 in the spec order.

@pytest.fixture(scope="module")
def disk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("ordered-disk")
    running = start_server(tmp, "--store", str(tmp / "store"), "--workers", "1", "--query-processes", "1")
    yield running
    stop_server(running)


def served_order(server: RunningServer, query: str, key: str) -> list[dict[str, Any] | None]:
    response = server.post("/sparql", data={"query": query}, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text[:300]
    return column(response.json()["results"]["bindings"], key)


def test_the_issue_query_answers_in_order_in_memory(server):
    values = served_order(server, "SELECT * WHERE { ?s ?p ?o } ORDER BY ?o", "o")
    assert len(values) == 2113 and in_order(values) == []
    assert in_order(served_order(server, "SELECT * WHERE { ?s ?p ?o } ORDER BY ?o LIMIT 5", "o")) == []


def test_the_issue_query_answers_in_order_on_disk(disk_server):
    for query, key, descending in WHOLE_GRAPH:
        assert in_order(served_order(disk_server, query, key), descending) == [], query


def test_the_engine_free_repro_answers_in_order_live(server):
    for seed in range(5):
        assert in_order(served_order(server, mixed_values(seed), "v")) == []
