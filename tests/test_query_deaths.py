"""A query process that dies tells the truth: the time limit, the memory cap, a stack overflow, an engine panic
and a kill from outside each give their own status and message, and the logs name the query and the cause.

Each death is caused for real: a query that runs too long, one that allocates past the cap, one nested past
the engine's stack, the engine's ORDER BY panic (with our total-order rewrite turned off, the engine's
comparator is what pyoxigraph 0.5.13 ships) and SIGKILL sent to the busy process.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support.processes import query_processes
from support.servers import RunningServer, log_lines, start_server, stop_server, wait_for
from test_order_by import mixed_values

from nato_kg.engine.query_service import query_digest

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
# Each BIND doubles a string: 2^40 bytes are asked for long before the time limit.
MEMORY_HOG = ("SELECT (STRLEN(?x40) AS ?n) WHERE { BIND(\"0123456789\" AS ?x0) "
              + " ".join(f"BIND(CONCAT(?x{i}, ?x{i}) AS ?x{i + 1})" for i in range(40)) + " }")
# No bracket to count: a chain of 20,000 additions, which the engine evaluates recursively.
TOO_DEEP = "SELECT * WHERE { BIND(" + "+".join(["1"] * 20_000) + " AS ?x) }"


@pytest.fixture(scope="module")
def fragile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One worker, one query process, the engine's own ORDER BY, a 3 s time limit and a 256 MB memory cap."""
    running = start_server(tmp_path_factory.mktemp("deaths"), "--workers", "1", "--query-processes", "1",
                           "--timeout", "3", "--memory-mb", "256", env={"KG_ORDER_BY_REWRITE": "0"})
    yield running
    stop_server(running)


def wait_until_ready_again(server: RunningServer, timeout_s: float = 60) -> None:
    """The replacement query process is up: /health shows an idle one and a cheap query is answered."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = server.get("/health").json()["query_processes"]
        if state["idle"] >= 1 and state["starting"] == 0:
            response = server.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
            assert response.status_code == 200 and response.json()["boolean"] is True
            return
        time.sleep(0.1)
    raise AssertionError("no query process came back")


def send(server: RunningServer, query: str) -> requests.Response:
    return server.post("/sparql", data={"query": query}, headers={"Accept": "application/sparql-results+json"})


@pytest.mark.parametrize(("query", "cause", "message"), [
    (RUNAWAY, "time-limit", "the query exceeded the 3 s time limit and was stopped"),
    (MEMORY_HOG, "memory-limit", "the query needed more than the 256 MB memory limit and was stopped"),
    (TOO_DEEP, "stack-overflow", "the query is nested too deeply for the engine (its stack overflowed)"),
], ids=["time-limit", "memory-cap", "stack-overflow"])
def test_a_limit_is_a_503_that_names_it(fragile_server, query, cause, message):
    response = send(fragile_server, query)
    assert response.status_code == 503 and response.text.startswith(message), response.text
    log_lines(fragile_server, "kg.access", f"query={query_digest(query)}", f"failure={cause}")
    log_lines(fragile_server, f"query {query_digest(query)} failed ({cause})")
    wait_until_ready_again(fragile_server)


def test_an_engine_panic_is_a_500_that_blames_the_engine(fragile_server):
    for seed in range(40):  # the engine's comparator panics on some orders of the terms, not all
        query = mixed_values(seed)
        response = send(fragile_server, query)
        if response.status_code != 200:
            break
        wait_until_ready_again(fragile_server)
    else:
        pytest.fail("the engine's own ORDER BY never panicked on 40 shuffles")
    assert response.status_code == 500, response.text
    assert response.text.startswith("the query engine (Oxigraph) failed on this query: user-provided comparison "
                                    "function does not correctly implement a total order. This is a bug in the "
                                    "engine, not in your query"), response.text
    log_lines(fragile_server, "kg.access", "status=500", f"query={query_digest(query)}",
                 "failure=engine-panic")
    log_lines(fragile_server, f"query {query_digest(query)} failed (engine-panic)")
    wait_until_ready_again(fragile_server)


def _query_process_of(server: RunningServer, not_pid: int = 0) -> int:
    """The pid of the (only) query process other than `not_pid`, once there is one."""
    return wait_for(lambda: next((pid for pid in query_processes(server) if pid != not_pid), None),
                    "a query process")


def _busy_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _kill_once_busy(pid: int) -> None:
    """SIGKILL `pid` once it has used CPU for the query it was sent (so the kill lands mid-query)."""
    started = _busy_cpu(pid)
    deadline = time.monotonic() + 30
    while _busy_cpu(pid) - started < 0.05 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)


def test_a_kill_from_outside_is_retried_once_then_not_called_a_limit(fragile_server):
    first = _query_process_of(fragile_server)
    outcome: dict[str, requests.Response] = {}
    thread = threading.Thread(target=lambda: outcome.update(answer=send(fragile_server, RUNAWAY)))
    thread.start()
    _kill_once_busy(first)
    # The query did not cause that death: it runs once more, on the replacement, which is killed as well.
    second = _query_process_of(fragile_server, not_pid=first)
    deadline = time.monotonic() + 60  # the replacement has loaded and holds the query (its CPU is then the query's)
    while time.monotonic() < deadline:
        state = fragile_server.get("/health").json()["query_processes"]
        if state["busy"] == 1 and state["starting"] == 0:
            break
        time.sleep(0.02)
    _kill_once_busy(second)
    thread.join(60)
    response = outcome["answer"]
    assert response.status_code == 503
    assert response.text.startswith("the query's process was killed from outside the server"), response.text
    log_lines(fragile_server, "a query process died under a query (killed); the query runs once more")
    log_lines(fragile_server, "kg.access", f"query={query_digest(RUNAWAY)}", "failure=killed")
    wait_until_ready_again(fragile_server)
