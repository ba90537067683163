"""A fast subset of the W3C SPARQL query tests (`make conformance` runs them all): every test whose query has
ORDER BY, every syntax test and the first evaluation test of each folder, on plain pyoxigraph and through our
/sparql path (policy, query process, serialisers). Wherever plain pyoxigraph passes, our path must pass too,
or refuse for a reason conformance/README.md documents. The test files come from PyPI (conformance/fetch.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import pytest

from conformance import fetch
from conformance.federation import run_federation, service_tests
from conformance.harness import (
    Answer,
    Outcome,
    PlainEngine,
    W3CTest,
    compare,
    expected_answer,
    load_tests,
    run_tests,
    same_order,
    same_solutions,
)
from conformance.run import documented, service, undocumented

Results = list[tuple[W3CTest, Outcome, Outcome]]
ORDER_BY = re.compile(r"ORDER\s+BY", re.IGNORECASE)


def fast_subset(tests: Sequence[W3CTest]) -> list[W3CTest]:
    firsts: dict[tuple[str, str], W3CTest] = {}
    for test in tests:
        if test.kind in ("evaluation", "csv") and not test.needs_remote:
            firsts.setdefault((test.suite, test.part), test)
    chosen = {t for t in tests if t.kind.endswith("syntax") or ORDER_BY.search(t.query_text())}
    return [t for t in tests if t in chosen or t in firsts.values()]


@pytest.fixture(scope="module")
def results() -> Iterator[Results]:
    tests = fast_subset(load_tests(fetch.ensure()))
    ours, plain = service(), PlainEngine()
    try:
        yield run_tests(tests, ours, plain)
    finally:
        plain.close()
        ours.close()


def _undocumented(rows: Results) -> list[str]:
    """Plain pyoxigraph passes, ours does not, and not for a documented refusal."""
    return [f"{t.suite} {t.ident}: {o.status}: {o.detail}" for t, _, o in undocumented(rows)]


def test_every_order_by_test_passes_through_our_path_where_pyoxigraph_passes(results: Results) -> None:
    ordered = [r for r in results if ORDER_BY.search(r[0].query_text()) and r[0].kind == "evaluation"]
    assert len({t.part for t, _, _ in ordered}) >= 5  # sort, solution-seq, subquery, aggregates, ...
    assert sum(o.status == "pass" for _, _, o in ordered) >= 35
    assert _undocumented(ordered) == []


def test_every_syntax_test_passes_through_our_path_where_pyoxigraph_passes(results: Results) -> None:
    syntax = [r for r in results if r[0].kind.endswith("syntax")]
    assert len(syntax) == 297  # all the query syntax tests of the pinned suites
    assert _undocumented(syntax) == []


def test_one_evaluation_test_per_folder_passes_through_our_path_where_pyoxigraph_passes(results: Results) -> None:
    evaluation = [r for r in results if r[0].kind in ("evaluation", "csv")]
    assert len({(t.suite, t.part) for t, _, _ in evaluation}) >= 35  # of the 39 folders with such tests
    assert _undocumented(evaluation) == []


def test_every_refusal_is_a_documented_one(results: Results) -> None:
    refused = [(t.ident, o) for t, _, o in results if o.status == "refused"]
    assert refused  # the subset has FROM and SERVICE queries, which the policy refuses
    assert [(ident, o.detail) for ident, o in refused if not documented(o)] == []


def test_the_federation_tests_pass_through_our_relay_with_their_endpoints_allowed() -> None:
    outcomes = {t.name: o for t, o in run_federation(service_tests(load_tests(fetch.ensure())))}
    assert outcomes.pop("service5").detail.startswith("403 SERVICE with a variable")  # SERVICE ?endpoint
    assert outcomes == dict.fromkeys(["service1", "service2", "service3", "service4a", "service6", "service7"],
                                     Outcome("pass"))


# The comparison itself: it must tell a wrong answer from a right one.

def test_the_expected_order_of_a_1_0_sort_test_is_read() -> None:
    sort_2 = next(t for t in load_tests(fetch.ensure()) if t.ident == "sort/dawg-sort-2")  # ORDER BY DESC(?name)
    expected = expected_answer(sort_2, "SELECT")
    assert expected.ordered  # its rs:index values
    assert [row["name"][1] for row in expected.rows] == ["Fred", "Eve", "Bob", "Alice"]


def _lit(text: str) -> tuple[str, ...]:
    return ("L", text, "http://www.w3.org/2001/XMLSchema#string", "")


def test_solutions_compare_as_multisets_with_blank_nodes_renamed_one_to_one() -> None:
    expected = [{"x": ("B", "a"), "y": _lit("1")}, {"x": ("B", "b"), "y": _lit("2")}, {"y": _lit("3")}]
    renamed = [{"y": _lit("3")}, {"x": ("B", "q"), "y": _lit("2")}, {"x": ("B", "p"), "y": _lit("1")}]
    merged = [{"x": ("B", "p"), "y": _lit("1")}, {"x": ("B", "p"), "y": _lit("2")}, {"y": _lit("3")}]
    assert same_solutions(expected, renamed)
    assert not same_solutions(expected, merged)  # two blank nodes are not one
    assert not same_solutions(expected, [*renamed[:2], {"y": _lit("4")}])
    assert not same_solutions(expected, [*renamed, {"y": _lit("3")}])  # multiplicity counts


def test_order_is_checked_on_the_order_by_keys_only() -> None:
    rows = [{"k": _lit("1"), "v": _lit("a")}, {"k": _lit("1"), "v": _lit("b")}, {"k": _lit("2"), "v": _lit("c")}]
    ties_swapped = [rows[1], rows[0], rows[2]]
    assert same_order(rows, ties_swapped, ["k"])
    assert not same_order(rows, [rows[2], rows[0], rows[1]], ["k"])
    test = W3CTest("SPARQL 1.1", "sort", "t", "evaluation", query=fetch.TARGET)  # the query text is passed
    query = "SELECT ?k ?v { ?s ?p ?k } ORDER BY ?k"
    assert compare(test, query, Answer(("k", "v"), rows), Answer(("k", "v"), ties_swapped)) is None
    assert "ORDER BY" in (compare(test, query, Answer(("k", "v"), rows), Answer(("k", "v"), rows[::-1])) or "")
    assert compare(test, query.replace("ORDER BY ?k", ""), Answer(("k", "v"), rows),
                   Answer(("k", "v"), rows[::-1])) is None
