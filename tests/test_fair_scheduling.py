"""Fair scheduling of query work against the real server: clients are told apart by their loopback source
address (127.0.0.1, 127.0.0.2, ...). One worker with two query processes, so that each client may run one
query at a time there."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from support.servers import RunningServer, client_at, start_server, stop_server, wait_for

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def cheap() -> str:
    """A cheap query never asked before (so the response cache cannot answer it): its answer is false."""
    return f"ASK {{ ?s ?p {time.time_ns()} }}"




class Background:
    """A request sent from another thread; `done` is set when its answer is in."""

    def __init__(self, session: requests.Session, url: str, query: str) -> None:
        self.response: requests.Response | None = None
        self.finished_at = 0.0
        self.done = threading.Event()

        def send() -> None:
            try:
                self.response = session.get(url, params={"query": query}, timeout=60)
            finally:
                self.finished_at = time.monotonic()
                self.done.set()

        threading.Thread(target=send, daemon=True).start()


def gate(server: RunningServer) -> dict[str, Any]:
    return server.get("/health").json()["query_gate"]


@pytest.fixture(scope="module")
def fair_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("fair"), "--workers", "1", "--query-processes", "2",
                           "--timeout", "3", "--query-wait", "30", "--client-queries", "3",
                           "--client-query-seconds", "1000")
    yield running
    stop_server(running)


def settle(server: RunningServer) -> None:
    wait_for(lambda: gate(server)["free"] == 2 and gate(server)["waiting"] == 0, what="an idle gate")


def test_a_client_past_its_cap_gets_429_with_retry_after_naming_the_limit(fair_server):
    settle(fair_server)
    client = client_at("127.0.0.11")
    url = fair_server.url + "/sparql"
    running = [Background(client_at("127.0.0.11"), url, RUNAWAY) for _ in range(3)]
    # One runs (its share: one of the two processes), two wait for it: three in all, the cap.
    wait_for(lambda: gate(fair_server)["waiting"] == 2, what="two queued")
    refused = client.get(url, params={"query": cheap()}, timeout=30)
    assert refused.status_code == 429
    assert refused.text.startswith("too many queries at once from 127.0.0.11: 1 running and 2 waiting; at most 3 "
                                   "may run or wait at a time")
    assert 1 <= int(refused.headers["Retry-After"]) <= 3
    # The cap holds however the query is sent: its parameter name percent-encoded (Flask decodes it), or to
    # the query page, which runs the query it is given.

    encoded = client.get(f"{url}?q%75ery={quote(cheap())}", timeout=30)
    page = client.get(fair_server.url + "/", params={"query": cheap()}, timeout=30)
    assert (encoded.status_code, page.status_code) == (429, 429), (encoded.text[:200], page.text[:200])
    # Another client is not affected.
    other = client_at("127.0.0.12").get(url, params={"query": cheap()}, timeout=30)
    assert other.status_code == 200 and other.json()["boolean"] is False
    for request in running:
        assert request.done.wait(60)
    settle(fair_server)


def test_a_client_with_none_running_goes_before_the_queued_queries_of_another(fair_server):
    settle(fair_server)
    url = fair_server.url + "/sparql"
    greedy = [Background(client_at("127.0.0.21"), url, RUNAWAY)]
    wait_for(lambda: gate(fair_server)["free"] == 1, what="the greedy client's first query running")
    busy = Background(client_at("127.0.0.22"), url, RUNAWAY)
    wait_for(lambda: gate(fair_server)["free"] == 0, what="both processes busy")
    greedy += [Background(client_at("127.0.0.21"), url, RUNAWAY) for _ in range(2)]
    wait_for(lambda: gate(fair_server)["waiting"] == 2, what="the greedy client's two queued")
    newcomer = Background(client_at("127.0.0.23"), url, cheap())
    wait_for(lambda: gate(fair_server)["waiting"] == 3, what="the newcomer queued behind them")
    assert newcomer.done.wait(60) and newcomer.response is not None
    assert newcomer.response.status_code == 200 and newcomer.response.json()["boolean"] is False
    for request in [*greedy, busy]:
        assert request.done.wait(60) and request.response is not None
        assert request.response.status_code == 503 and "3 s time limit" in request.response.text
    # The queued runaways could only finish after a whole further time limit; the newcomer came first.
    assert newcomer.finished_at < min(request.finished_at for request in greedy[1:])
    settle(fair_server)


def test_pages_stored_queries_and_health_answer_while_every_query_process_is_busy(fair_server):
    settle(fair_server)
    url = fair_server.url + "/sparql"
    paths = ("/health", "/", "/queries", "/queries/cq1-expelling-countries.rq", "/openapi.json", "/doc/nato",
             "/ontology.ttl")
    # Once each first: /doc/nato goes into the response cache, and the query page's labels (one query, kept for
    # the process's life) are computed.
    for path in paths:
        assert fair_server.get(path).status_code == 200, path
    # Both processes busy, and more queries waiting than the worker has Flask threads (4).
    load = [Background(client_at(f"127.0.0.{31 + n}"), url, RUNAWAY) for n in range(2)]
    wait_for(lambda: gate(fair_server)["free"] == 0, what="both processes busy")
    load += [Background(client_at(f"127.0.0.{33 + n % 3}"), url, RUNAWAY) for n in range(6)]
    wait_for(lambda: gate(fair_server)["waiting"] == 6, what="six queued")
    for path in paths:
        response = fair_server.get(path)
        assert response.status_code == 200, (path, response.status_code)
    # All of that was answered while the queries still held both processes and the queue. (Some of the
    # queued ones may have had their turn meanwhile: each runs to the 3 s limit, and a busy machine can take
    # that long over the pages; the eight fill both processes for 12 s.)
    state = gate(fair_server)
    assert state["free"] == 0 and state["waiting"] >= 1
    for request in load:
        assert request.done.wait(120)
    settle(fair_server)


def test_the_time_budget_gives_429_naming_it(tmp_path: Path):
    server = start_server(tmp_path, "--workers", "1", "--query-processes", "2", "--timeout", "2",
                          "--client-query-seconds", "3")
    try:
        client = client_at("127.0.0.41")
        url = server.url + "/sparql"
        for _ in range(2):  # 2 s each: 4 s of the 3 s budget
            assert client.get(url, params={"query": RUNAWAY}, timeout=60).status_code == 503
        refused = client.get(url, params={"query": cheap()}, timeout=30)
        assert refused.status_code == 429
        assert "has used 4." in refused.text or "has used 5." in refused.text, refused.text
        assert "of query time in the last minute; the limit is 3 s per minute" in refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert client_at("127.0.0.42").get(url, params={"query": cheap()}, timeout=30).status_code == 200
    finally:
        stop_server(server)


def test_a_forwarded_address_counts_only_behind_a_trusted_proxy(tmp_path: Path):
    server = start_server(tmp_path, "--workers", "1", "--query-processes", "2", "--timeout", "2",
                          "--client-query-seconds", "1", "--trusted-proxy", "127.0.0.51")
    try:
        url = server.url + "/sparql"
        proxy, stranger = client_at("127.0.0.51"), client_at("127.0.0.52")
        # Through the trusted proxy, each forwarded address has its own budget.
        assert proxy.get(url, params={"query": RUNAWAY}, headers={"X-Forwarded-For": "10.0.0.1"},
                         timeout=60).status_code == 503
        spent = proxy.get(url, params={"query": cheap()}, headers={"X-Forwarded-For": "10.0.0.1"}, timeout=30)
        assert spent.status_code == 429 and spent.text.startswith("10.0.0.1 has used")
        fresh = proxy.get(url, params={"query": cheap()}, headers={"X-Forwarded-For": "10.0.0.2"}, timeout=30)
        assert fresh.status_code == 200
        # From anyone else the header is ignored: the budget is the connection's address.
        assert stranger.get(url, params={"query": RUNAWAY}, headers={"X-Forwarded-For": "10.0.0.3"},
                            timeout=60).status_code == 503
        forged = stranger.get(url, params={"query": cheap()}, headers={"X-Forwarded-For": "10.0.0.4"}, timeout=30)
        assert forged.status_code == 429 and forged.text.startswith("127.0.0.52 has used")
    finally:
        stop_server(server)


def test_the_query_time_charged_is_the_query_process_time_and_its_field_stays_inside(fair_server):
    response = client_at("127.0.0.45").get(fair_server.url + "/sparql", params={"query": cheap()}, timeout=30)
    assert response.status_code == 200
    assert "X-KG-Query-Seconds" not in response.headers
