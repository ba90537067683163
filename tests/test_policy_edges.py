"""Inputs found by review: each gets a 4xx from the policy, and no query process dies for them."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("query", "status", "message"), [
    ("SELECT * FROM <//[> WHERE { ?s ?p ?o }", 403, "FROM <//[> is refused"),
    ("BASE <http://[> SELECT * WHERE { ?s <p> ?o }", 400, "SPARQL syntax error"),
])
def test_malformed_iris_are_refused_or_reported_not_500(client, query, status, message):
    answer = client.post("/sparql", data={"query": query})
    assert answer.status_code == status, answer.text
    assert message in answer.text


def test_brackets_hidden_from_the_tokenizer_still_count(client):
    # The tokenizer reads `<(((...1#>` as one IRI; Oxigraph reads `<` as less-than, `#>...` as a comment, and
    # then 20,000 open brackets, which overflow its parser's stack and kill the query process.
    query = "SELECT * WHERE { ?s ?p ?o FILTER(?o<" + "(" * 20_000 + "1#>\n" + ")" * 20_000 + ") }"
    before = client.get("/health").json()["query_processes"]["restarts"]
    answer = client.post("/sparql", data={"query": query})
    assert answer.status_code == 400
    assert answer.text.startswith("the query text nests brackets 20002 deep (counting those in strings and "
                                  "comments too); the limit is 1000")
    assert client.get("/health").json()["query_processes"]["restarts"] == before
