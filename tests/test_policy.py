"""The safety policy as a pure function: what the tokenizer finds in a query, and what the policy refuses.
No server: `inspect` and `QueryPolicy.check` are called directly."""

from __future__ import annotations

import pytest

from nato_kg.engine.policy import MAX_DEPTH, QueryPolicy, inspect
from nato_kg.errors import Problem

BASE = "http://127.0.0.1:8000/"
HELD = [f"{BASE}graph/{name}" for name in ("article", "ontology", "wikidata")]
WIKIDATA = "https://query.wikidata.org/sparql"
NESTED = ", and any SERVICE with an IRI inside one of their blocks (such as wikibase:label), which they evaluate"
POLICY = QueryPolicy(BASE, HELD, [WIKIDATA])


def refusal(query: str, **graphs: list[str]) -> tuple[int, str]:
    with pytest.raises(Problem) as error:
        POLICY.check(query, graphs.get("default", ()), graphs.get("named", ()))
    return error.value.status, error.value.message


@pytest.mark.parametrize(("query", "form"), [
    ("SELECT * WHERE { ?s ?p ?o }", "SELECT"),
    ("prefix x: <http://x/> ask { ?s ?p ?o }", "ASK"),
    ("# SELECT in a comment\nCONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT"),
    ("DESCRIBE <http://x/a>", "DESCRIBE"),
    ('ASK { ?s ?p "SELECT" }', "ASK"),
    ("{ ?s ?p ?o }", None),
])
def test_the_query_form_is_the_first_form_keyword_outside_strings_and_comments(query: str, form: str | None) -> None:
    assert inspect(query, BASE).form == form


def test_from_clauses_are_resolved_against_base_and_prefixes() -> None:
    info = inspect("BASE <http://127.0.0.1:8000/> PREFIX g: <graph/> PREFIX a: <http://abs/> "
                   "SELECT * FROM <graph/article> FROM NAMED a:x FROM g:ontology WHERE { ?s ?p ?o }", BASE)
    # A prefix declared with a relative IRI is not trusted: its names resolve to the bare local part.
    assert info.from_graphs == (f"{BASE}graph/article", "ontology")
    assert info.from_named == ("http://abs/x",)


def test_service_targets_are_found_everywhere_and_unknown_ones_are_none() -> None:
    info = inspect("PREFIX wds: <https://query.wikidata.org/> SELECT * WHERE { "
                   "SERVICE wds:sparql { ?a ?b ?c } SERVICE ?endpoint { ?d ?e ?f } "
                   "# SERVICE <http://in-a-comment/>\n ?s ?p 'SERVICE <http://in-a-string/>' }", BASE)
    assert info.services == (WIKIDATA, None, "http://in-a-comment/", "http://in-a-string/")
    assert info.volatile  # an answer that depends on another endpoint gets no ETag
    query = "SELECT * WHERE { SERVICE <https://query.wikidata.org/sparql> { ?s ?p ?o } }"
    (start, end), = inspect(query, BASE).service_spans
    assert query[start:end] == f"<{WIKIDATA}>"


def test_volatile_functions_and_depth() -> None:
    assert inspect("SELECT (NOW() AS ?t) {}", BASE).volatile
    assert not inspect("SELECT ?now { ?now ?p ?o }", BASE).volatile
    assert inspect("ASK { { { ?s ?p ?o } } }", BASE).depth == 3
    assert inspect("ASK { ?s ?p '(((' }", BASE).depth == 1
    assert inspect("ASK { ?s ?p '(((' }", BASE).raw_depth == 4


def test_a_plain_read_of_the_held_graphs_and_wikidata_passes() -> None:
    query = (f"SELECT * FROM <{HELD[0]}> WHERE {{ ?s ?p ?o "
             f"SERVICE SILENT <{WIKIDATA}> {{ ?s ?p ?o }} }}")
    assert POLICY.check(query, [HELD[1]], [HELD[2]]).form == "SELECT"


@pytest.mark.parametrize(("query", "status", "message"), [
    ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", 403,
     "this endpoint is read-only: SPARQL Update (INSERT) is not accepted"),
    ("LOAD <http://example.org/data.ttl>", 403, "this endpoint is read-only: SPARQL Update (LOAD) is not accepted"),
    ("SELECT * WHERE { SERVICE <http://169.254.169.254/> { ?s ?p ?o } }", 403,
     "SERVICE <http://169.254.169.254/> is not allowed (every SERVICE in the text is checked, even in a comment "
     f"or string); allowed: <{WIKIDATA}>{NESTED}"),
    ("SELECT * WHERE { SERVICE ?where { ?s ?p ?o } }", 403,
     "SERVICE with a variable, relative or unknown-prefix target is not allowed (every SERVICE in the text is "
     f"checked, even in a comment or string); allowed: <{WIKIDATA}>{NESTED}"),
    ("SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }", 403,
     "FROM <file:///etc/passwd> is refused: this endpoint reads no files and fetches nothing; it holds the graphs "
     + ", ".join(f"<{g}>" for g in HELD)),
    ("ASK " + "{" * (MAX_DEPTH + 1) + "}" * (MAX_DEPTH + 1), 400,
     f"the query nests brackets {MAX_DEPTH + 1} deep; the limit is {MAX_DEPTH}"),
])
def test_refusals_name_what_is_refused(query: str, status: int, message: str) -> None:
    assert refusal(query) == (status, message)


def test_protocol_graph_parameters_are_checked_like_from() -> None:
    status, message = refusal("ASK {}", default=["http://elsewhere/g"])
    assert status == 403 and message.startswith("default-graph-uri <http://elsewhere/g> is refused")
    status, message = refusal("ASK {}", named=["urn:g"])
    assert status == 403 and message.startswith("named-graph-uri <urn:g> is refused")
