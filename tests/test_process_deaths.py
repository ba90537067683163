"""Processes that die are noticed: query processes killed while idle, and the gunicorn master killed under its
workers. Real signals to real processes; every wait polls with a deadline."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.processes import children, is_gone, query_processes
from support.servers import RunningServer, start_server, stop_server, wait_for

CHEAP = "SELECT ?label WHERE { <http://127.0.0.1:8000/id/nato> <http://www.w3.org/2000/01/rdf-schema#label> ?label }"




@pytest.fixture
def one_worker(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(tmp_path, "--workers", "1", "--query-processes", "2")
    yield running
    stop_server(running)


def ask(server: RunningServer) -> int:
    response = server.get("/sparql", params={"query": CHEAP}, headers={"Accept": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.text.splitlines() == ["label", "NATO"]
    return response.status_code


def test_a_query_process_killed_while_idle_is_replaced_and_health_says_so(one_worker):
    before = one_worker.get("/health").json()["query_processes"]
    assert before["idle"] == 2 and before["restarts"] == 0 and before["dead"] == 0
    victim = query_processes(one_worker)[0]
    os.kill(victim, signal.SIGKILL)
    # Found without any query being sent: the pool watches its idle processes.
    state = wait_for(lambda: (s := one_worker.get("/health").json()["query_processes"])["died_idle"] == 1 and s,
                     what="the death reported")
    assert state["restarts"] == 1
    assert state["idle"] + state["starting"] == 2
    wait_for(lambda: one_worker.get("/health").json()["query_processes"]["idle"] == 2, what="the replacement")
    assert victim not in query_processes(one_worker)
    assert len(query_processes(one_worker)) == 2
    ask(one_worker)


def test_queries_sent_right_after_idle_processes_die_are_answered(one_worker):
    victims = query_processes(one_worker)
    assert len(victims) == 2
    for victim in victims:
        os.kill(victim, signal.SIGKILL)
    for victim in victims:
        wait_for(lambda victim=victim: is_gone(victim), what=f"process {victim} exiting")
    # Both are dead (zombies, perhaps not yet noticed): the queries wait for replacements instead of a 503.
    for _ in range(4):
        ask(one_worker)
    state = one_worker.get("/health").json()["query_processes"]
    assert state["died_idle"] == 2 and state["restarts"] == 2


def test_workers_exit_when_the_master_dies_and_the_port_can_be_bound_again(tmp_path):
    server = start_server(tmp_path, "--workers", "2", "--query-processes", "1")
    try:
        workers = children(server.process.pid)
        assert len(workers) == 2
        helpers = [child for worker in workers for child in children(worker)]
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(10)
        for pid in workers + helpers:
            wait_for(lambda pid=pid: is_gone(pid), timeout_s=30, what=f"process {pid} exiting")
        port = int(server.url.rsplit(":", 1)[1])
        with socket.socket() as probe:  # nothing listens on the port any more
            assert probe.connect_ex(("127.0.0.1", port)) != 0
        again = start_server(tmp_path, "--workers", "1", "--query-processes", "1", port=port)
        try:
            ask(again)
        finally:
            stop_server(again)
    finally:
        stop_server(server)
