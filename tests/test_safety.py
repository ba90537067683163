"""Hostile queries against a real server with tight limits: nothing leaks, nothing hangs, it keeps serving."""

from __future__ import annotations

import http.server
import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from support.servers import client_at, wait_for, wait_for_log_lines

from nato_kg.engine.policy import inspect

CHEAP = "ASK { ?s ?p ?o }"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def still_serving(server, client: requests.Session | None = None) -> None:  # type: ignore[no-untyped-def]
    if client is None:
        response = server.get("/sparql", params={"query": CHEAP})
    else:
        response = client.get(server.url + "/sparql", params={"query": CHEAP}, timeout=30)
    assert response.status_code == 200 and response.json()["boolean"] is True


class Canary:
    """An HTTP server on loopback that records every request it gets (it should get none)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        canary = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                canary.hits.append(self.path)
                self.send_response(200)
                self.end_headers()

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/sparql"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    running = Canary()
    yield running
    running.httpd.shutdown()


def test_from_and_service_to_a_canary_are_refused_and_it_hears_nothing(server, canary):
    host_port = canary.url.split("//")[1].split("/")[0]
    escaped = canary.url.replace(":", "\\u003A", 1)
    queries = [
        f"SELECT * FROM <{canary.url}> WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <{canary.url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE <{canary.url}> {{ ?s ?p ?o }} }}",
        f"select * where {{ service silent <{canary.url}> {{ ?s ?p ?o }} }}",
        f"PREFIX c: <http://{host_port}/> SELECT * WHERE {{ SERVICE c:sparql {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE <{escaped}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE #comment\n <{canary.url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ VALUES ?x {{ <{canary.url}> }} SERVICE ?x {{ ?s ?p ?o }} }}",
        # Oxigraph reads `<` as less-than and `#>'''` as a comment; a naive tokenizer reads an IRI, then a string.
        f"SELECT * WHERE {{ BIND(1 AS ?a) FILTER(?a<2#>'''\n) SERVICE <{canary.url}> {{ ?s ?p ?o }}\n''' }}",
        f"LOAD <{canary.url}>",
    ]
    for query in queries:
        response = server.post("/sparql", data={"query": query})
        assert response.status_code == 403, (query, response.status_code, response.text)
    for query in queries[:3]:
        assert canary.url in server.get("/sparql", params={"query": query}).text  # the refusal names the IRI
    refused = server.get("/sparql", params={"query": "ASK { ?s ?p ?o }", "default-graph-uri": canary.url})
    assert refused.status_code == 403 and canary.url in refused.text
    refused = server.get("/sparql", params={"query": "ASK { ?s ?p ?o }", "named-graph-uri": canary.url})
    assert refused.status_code == 403
    # No wait is needed: the engine would make any such call while answering, before the refusal came back.
    assert canary.hits == []


def test_no_file_is_read(server):
    for query in ("SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }",
                  "SELECT * FROM NAMED <file:///etc/passwd> WHERE { GRAPH ?g { ?s ?p ?o } }",
                  "SELECT * WHERE { SERVICE <file:///etc/passwd> { ?s ?p ?o } }"):
        response = server.get("/sparql", params={"query": query})
        assert response.status_code == 403 and "file:///etc/passwd" in response.text
        assert "root:" not in response.text


def test_a_runaway_query_is_stopped_at_the_time_limit_and_cheap_queries_keep_flowing(limited_server):
    outcome: dict[str, object] = {}

    def runaway() -> None:
        started = time.monotonic()
        response = limited_server.get("/sparql", params={"query": RUNAWAY})
        outcome.update(status=response.status_code, text=response.text, seconds=time.monotonic() - started)

    thread = threading.Thread(target=runaway)
    thread.start()
    wait_for(lambda: limited_server.get("/health").json()["query_processes"]["busy"] >= 1, "the runaway to start")
    latencies = []
    other_client = client_at("127.0.0.2")  # the runaway's own client may run one query at a time here
    while thread.is_alive() and len(latencies) < 200:
        started = time.monotonic()
        still_serving(limited_server, other_client)
        latencies.append(time.monotonic() - started)
    thread.join()
    assert outcome["status"] == 503 and "2 s time limit" in str(outcome["text"])
    # Not before the 2 s limit; the upper bound only catches a query that is never stopped (it would run on
    # for minutes), with room for a loaded 2-core CI machine.
    assert 2 <= float(outcome["seconds"]) < 2 + 5  # type: ignore[arg-type]
    # Cheap queries were answered while the runaway ran: had they queued behind it, at most one would have
    # completed, after it (the loop stops once the runaway is over). So: several. No bound on their latency,
    # which a loaded 2-core machine can stretch without anything being wrong.
    assert len(latencies) >= 5, latencies
    still_serving(limited_server)


def test_memory_hungry_order_by_gets_503_not_a_hang(limited_server):
    started = time.monotonic()
    response = limited_server.get("/sparql", params={
        "query": "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?a ?i"})
    # The bound catches a hang (no memory cap, no time limit), not slowness: the 2 s limit plus room for CI.
    assert response.status_code == 503 and time.monotonic() - started < 2 + 5
    assert "memory limit" in response.text or "time limit" in response.text
    still_serving(limited_server)


# Each hostile query with the exact status it gets and words of the answer (None: the status alone).
@pytest.mark.parametrize(("query", "status", "words"), [
    pytest.param("ASK { FILTER(" + "(" * 10_000 + "1" + ")" * 10_000 + ") }", 400,
                 "the query nests brackets 10002 deep; the limit is 100", id="deep-parentheses"),
    pytest.param("SELECT * WHERE " + "{" * 10_000 + "}" * 10_000, 400,
                 "the query nests brackets 10000 deep; the limit is 100", id="deep-braces"),
    # passes the bracket check; crashes the engine's parser, whose process is replaced
    pytest.param("ASK { FILTER(" + "!" * 50_000 + "true) }", 503,
                 "the query is nested too deeply for the engine (its stack overflowed)", id="deep-not"),
    pytest.param("ASK { FILTER(" + "-" * 50_000 + "1 = 1) }", 400, "SPARQL syntax error: error at 1:",
                 id="deep-minus"),
    # over the request size limit, refused before the body is read (the form-encoded body may triple in size)
    pytest.param('SELECT * WHERE { ?s ?p "' + "x" * 1_000_000 + '" }', 413, None, id="1MB-literal"),
    # the engine's regular expressions run in linear time: no catastrophic backtracking, just no match
    pytest.param('SELECT * WHERE { BIND("' + "a" * 5000 + '!" AS ?x) FILTER(REGEX(?x, "(a+)+$")) }', 200,
                 '{"head":{"vars":["x"]},"results":{"bindings":[]}}', id="backtracking-regex"),
    pytest.param("ASK { ?s ?p ?o \x00 }", 400, "the query contains a NUL character", id="NUL"),
])
def test_hostile_queries_get_their_exact_answer_and_the_server_keeps_serving(limited_server, query, status, words):
    for response in (limited_server.post("/sparql", data={"query": query}),
                     limited_server.post("/sparql", data=query.encode(),
                                         headers={"Content-Type": "application/sparql-query"})):
        assert response.status_code == status, (response.status_code, response.text[:300])
        if words is not None:
            assert words in response.text, response.text[:300]
    still_serving(limited_server)


def test_a_query_that_crashes_the_engine_is_answered_and_the_process_replaced(limited_server):
    before = limited_server.get("/health").json()["query_processes"]["restarts"]
    response = limited_server.post("/sparql", data={"query": "ASK { FILTER(" + "!" * 50_000 + "true) }"})
    assert response.status_code == 503 and "its stack overflowed" in response.text
    assert limited_server.get("/health").json()["query_processes"]["restarts"] > before
    still_serving(limited_server)


def test_bogus_input_never_gives_a_500(limited_server):
    url = limited_server.url + "/sparql"
    responses = [
        requests.get(url, params={"query": CHEAP}, headers={"Accept": "garbage;;;q=x"}, timeout=30),
        requests.get(url, params={"query": CHEAP}, headers={"Accept": "\x7f\x01"}, timeout=30),
        requests.post(url, data=CHEAP, headers={"Content-Type": "garbage/;;"}, timeout=30),
        requests.post(url, data=b"\xff\xfe\x00", headers={"Content-Type": "application/sparql-query"}, timeout=30),
        requests.post(url, data=b"query=%FF%00", headers={"Content-Type": "application/x-www-form-urlencoded"},
                      timeout=30),
        requests.get(url + "?query=ASK%7B%7D&query", timeout=30),
        requests.get(url + "?" + "&".join(f"x{i}=1" for i in range(500)), timeout=30),
        requests.get(url, params={"query": "ASK {" + " " * 70_000 + "}"}, timeout=30),  # URL too long for GET
        requests.request("BREW", url, timeout=30),
    ]
    for response in responses:
        assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
        assert "Traceback" not in response.text
    still_serving(limited_server)


def test_a_long_get_query_is_answered_and_an_over_long_request_head_refused(limited_server):
    url = limited_server.url + "/sparql"
    # 20 KB of query in the URL: over gunicorn's old 8 KB request line, under the 64 KB URL limit.
    long_but_fine = requests.get(url, params={"query": "ASK {" + " " * 20_000 + "?s ?p ?o }"}, timeout=30)
    assert long_but_fine.status_code == 200 and long_but_fine.json()["boolean"] is True
    over_long_url = requests.get(url, params={"query": "ASK {" + " " * 70_000 + "}"}, timeout=30)
    assert (over_long_url.status_code, over_long_url.text) == (
        414, "The URL is over 65,535 bytes: send a long query by POST.\n")
    assert over_long_url.headers["Access-Control-Allow-Origin"] == "*"
    over_long_header = requests.get(url, params={"query": CHEAP}, headers={"X-Padding": "x" * 70_000}, timeout=30)
    assert (over_long_header.status_code, over_long_header.text) == (
        431, "The request headers are over 65,536 bytes.\n")
    refused = ("kg.access method=GET path=/sparql status=414 ms=0.00 bytes=57 query=- client=127.0.0.1\n",
               "kg.access method=GET path=/sparql status=431 ms=0.00 bytes=43 query=- client=127.0.0.1\n")
    logged = wait_for_log_lines(limited_server, *refused)
    assert refused[0] in logged
    assert refused[1] in logged
    still_serving(limited_server)


def test_a_request_head_that_never_ends_is_dropped(limited_server):
    host, port = limited_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"GET /sparql HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        try:
            for _ in range(100):  # 400 KB of one header, never finished
                connection.sendall(b"x" * 4096)
            closed = connection.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            closed = True
    assert closed
    still_serving(limited_server)


def test_slow_request_bodies_hold_no_thread_and_get_408(limited_server):
    """Six clients that send a POST's head and never its whole body (more than the worker's four Flask threads)
    must not keep a new query waiting; each gets 408 at the time limit (2 s here)."""
    host, port = limited_server.url.removeprefix("http://").split(":")
    slow = [socket.create_connection((host, int(port)), timeout=10) for _ in range(6)]
    try:
        for connection in slow:
            connection.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                               b"Content-Length: 100\r\n\r\nASK ")
        fresh = limited_server.get("/sparql", params={"query": f"ASK {{ ?s ?p {time.time_ns()} }}"})  # not cached
        assert fresh.status_code == 200 and fresh.json()["boolean"] is False
        # Answered while every slow request still waits for its body: nothing has been sent to them yet.
        readable, _, _ = select.select(slow, [], [], 0)
        assert readable == []
        for connection in slow:
            answer = b""
            while chunk := connection.recv(4096):  # the server closes after its answer
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
            assert answer.endswith(b"The request body did not arrive within 2 s.\n")
    finally:
        for connection in slow:
            connection.close()
    still_serving(limited_server)


def test_the_policy_check_costs_microseconds():
    query = ("PREFIX schema: <http://schema.org/> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
             "SELECT ?label WHERE { ?a a schema:NewsArticle ; rdfs:label ?label FILTER(lang(?label) = 'en') }")
    inspect(query, "http://example.org/")
    started = time.perf_counter()
    for _ in range(1000):
        inspect(query, "http://example.org/")
    cached = (time.perf_counter() - started) / 1000
    started = time.perf_counter()
    for i in range(200):
        inspect(f"{query} LIMIT {i}", "http://example.org/")
    uncached = (time.perf_counter() - started) / 200
    print(f"policy check: {cached * 1e6:.1f} µs cached, {uncached * 1e6:.1f} µs uncached")
    # Typically ~1 µs cached and ~100 µs uncached. The bounds leave room for a loaded CI machine yet still tell
    # the cache works (a cached check at least 10x cheaper than parsing) and the check is cheap next to a query
    # (rdflib's parser, which it replaced, took 1.4-17 ms per query).
    assert cached < 1e-3 and uncached < 5e-3, (cached, uncached)
    assert cached * 10 < uncached, (cached, uncached)
