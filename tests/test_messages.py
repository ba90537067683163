"""The messages between the query service and a query process (server/engine/messages.py), over a real pipe,
and the one policy check a request gets."""

from __future__ import annotations

import pickle
import threading
from multiprocessing import Pipe
from urllib.parse import quote

import pytest

from nato_kg.engine.messages import (
    Answer,
    QueryRequest,
    ScratchDataset,
    receive_reply,
    receive_request,
    send_answer,
    send_problem,
    send_request,
)
from nato_kg.errors import Problem
from nato_kg.web.state import state


def test_a_request_arrives_with_every_field():
    ours, theirs = Pipe()
    sent = QueryRequest("SELECT * { ?s ?p ?o }", "csv", "http://127.0.0.1:8000/", ("http://g/1",), (), False,
                        ScratchDataset("file:///t/q.rq", ("/t/d.ttl",), (("http://g/2", "/t/n.ttl"),)))
    send_request(ours, sent)
    assert receive_request(theirs) == sent
    send_request(ours, QueryRequest("ASK {}", "json", "http://b/", union=True))
    assert receive_request(theirs) == QueryRequest("ASK {}", "json", "http://b/", None, None, True, None)


@pytest.mark.parametrize("body", [b"", b"s,p,o\r\n", "«Skripal» — Солсбери\n".encode(), b"<a> <b> <c> .\n" * 200_000])
def test_an_answer_arrives_as_its_bytes(body):
    ours, theirs = Pipe()
    sender = threading.Thread(target=send_answer, args=(theirs, memoryview(body)))  # a pipe holds less than 2 MB
    sender.start()
    assert receive_reply(ours) == Answer(body)
    sender.join()


def test_a_problem_arrives_with_its_status_message_cause_and_retry():
    ours, theirs = Pipe()
    send_problem(theirs, Problem(503, "the query exceeded the 1 s time limit", "time-limit", 2.5))
    reply = receive_reply(ours)
    assert isinstance(reply, Problem)
    assert (reply.status, reply.message, reply.cause, reply.retry_after) == (
        503, "the query exceeded the 1 s time limit", "time-limit", 3)
    assert str(pickle.loads(pickle.dumps(Problem(400, "x")))) == "x"


def test_a_query_is_checked_once_per_request(app, client, reference_store, monkeypatch):
    """/sparql, a stored query and the query page each check their query against the policy once."""
    policy = state(app).service.policy
    checked: list[str] = []
    original = policy.check

    def counting(query, *args, **kwargs):  # type: ignore[no-untyped-def]
        checked.append(query)
        return original(query, *args, **kwargs)

    monkeypatch.setattr(policy, "check", counting)
    query = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } # checked once"
    expected = next(iter(reference_store.query(query)))["n"].value
    answer = client.get(f"/sparql?query={quote(query)}", headers={"Accept": "text/csv"})
    assert answer.text == f"n\r\n{expected}\r\n"
    assert checked == [query]
    checked.clear()
    assert client.get("/queries/cq1-expelling-countries", headers={"Accept": "text/csv"}).status_code == 200
    assert len(checked) == 1, checked  # the text with its parameters bound
    checked.clear()
    assert client.get(f"/?query={quote(query)}").status_code == 200
    assert checked.count(query) == 1, checked  # (the page's first view also reads the graph's labels, once)
