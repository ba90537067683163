"""Syntax errors a person can act on: the engine's message, then the line it points at with a caret under it."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from nato_kg.engine.messages import QueryRequest
from nato_kg.engine.query_process import evaluate
from nato_kg.errors import Problem


def answer(query: str) -> str:
    with pytest.raises(Problem) as problem:
        evaluate(ox.Store(), QueryRequest(query, "json", "http://127.0.0.1:8000/"), 1 << 20, {})
    assert problem.value.status == 400
    return problem.value.message


def test_the_issue_example_shows_the_line_and_a_caret(client):
    response = client.post("/sparql", data={"query": "SELECT * { ?s ?p }"})
    assert response.status_code == 400
    assert response.text == ("SPARQL syntax error: error at 1:19: expected one of LATERAL, SERVICE, [_]\n"
                             "line 1, column 19:\n"
                             "  SELECT * { ?s ?p }\n"
                             "                    ^\n")


def test_the_caret_is_under_the_column_on_a_later_line_with_tabs():
    message = answer("PREFIX x: <http://x/>\nSELECT * WHERE {\n\t?s ?p ?o\n\tFILTER(?o > ) }")
    head, where, line, caret = message.split("\n")
    assert head.startswith("SPARQL syntax error: error at 4:")
    column = int(head.split(":")[2])
    assert where == f"line 4, column {column}:"
    assert line == "  \tFILTER(?o > ) }"
    assert caret == "  \t" + " " * (column - 2) + "^"


def test_a_long_line_is_shown_around_the_position():
    message = answer("ASK { FILTER(" + "-" * 5000 + "1 = 1) }")
    line, caret = message.split("\n")[2:]
    assert len(line) < 130 and line.endswith("…") and caret.endswith("^")


def test_non_ascii_text_keeps_the_caret_in_place():
    message = answer('SELECT * WHERE { ?s ?p "é€" . ?s ?p }')
    head, _, line, caret = message.split("\n")
    column = int(head.split(":")[2])
    assert line == '  SELECT * WHERE { ?s ?p "é€" . ?s ?p }'
    assert len(caret) == 2 + column  # two spaces of indent, column - 1 spaces, the caret
