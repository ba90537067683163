"""Connections are a bounded resource: real sockets against a real server (one worker, so its counts are the
server's). Clients are told apart by their loopback source address."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from support.servers import RunningServer, client_at, start_server, stop_server, wait_for


def connect(server: RunningServer, source: str = "127.0.0.1") -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=60, source_address=(source, 0))


def read_until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closed)."""
    answer = b""
    try:
        while chunk := connection.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    return answer


def is_closed(connection: socket.socket) -> bool:
    """Whether the server has closed `connection` (without waiting or consuming anything)."""
    connection.setblocking(False)
    try:
        return connection.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        connection.setblocking(True)


def connections(server: RunningServer) -> dict[str, Any]:
    return client_at("127.0.0.99").get(server.url + "/health", timeout=30).json()["connections"]


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("connections"), "--workers", "1", "--query-processes", "1",
                           "--head-timeout", "2")
    yield running
    stop_server(running)


def test_a_silent_connection_is_closed_after_the_head_timeout(quick_server):
    with connect(quick_server) as silent:
        started = time.monotonic()
        assert read_until_closed(silent) == b""  # nothing was asked, so nothing is answered
        assert time.monotonic() - started >= 1.5


def test_a_slow_request_head_gets_408_and_is_closed(quick_server):
    with connect(quick_server) as slow:
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nAcc")
        answer = read_until_closed(slow)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert answer.endswith(b"\r\n\r\nThe request head did not arrive within 2 s.\n")


def test_a_head_sent_a_byte_at_a_time_is_cut_off(quick_server):
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
    with connect(quick_server) as trickle:
        deadline = time.monotonic() + 30  # the whole head would take 50 s at this pace
        sent = 0
        # A byte every 50 ms until the server answers or closes (or the deadline passes: the test fails).
        while time.monotonic() < deadline and not select.select([trickle], [], [], 0)[0]:
            try:
                trickle.sendall(head[sent:sent + 1])
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
            time.sleep(0.05)
        assert time.monotonic() < deadline
        answer = read_until_closed(trickle)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")


def test_an_idle_keep_alive_connection_is_closed(quick_server):
    with connect(quick_server) as kept:
        kept.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = read_until_closed(kept)  # returns once the server closes it: keep-alive timeout
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.count(b"HTTP/1.1 ") == 1


def test_a_413_closes_the_connection_without_reading_the_body(quick_server):
    with connect(quick_server) as big:
        big.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                    b"Content-Length: 100000000\r\n\r\nASK { ?s ?p ?o }")
        answer = read_until_closed(big)  # the other 99,999,984 bytes are never sent
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in answer.lower()


@pytest.fixture(scope="module")
def capped_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("capped"), "--workers", "1", "--query-processes", "1",
                           "--head-timeout", "120", "--max-connections", "20", "--max-connections-per-address", "6")
    yield running
    stop_server(running)


def test_one_address_holds_at_most_its_cap_of_connections(capped_server):
    held = [connect(capped_server, "127.0.0.61") for _ in range(6)]
    try:
        wait_for(lambda: connections(capped_server)["open"] >= 6, what="six connections open")
        before = connections(capped_server)["closed"].get("address_cap", 0)
        with connect(capped_server, "127.0.0.61") as extra:
            assert read_until_closed(extra) == b""
        assert connections(capped_server)["closed"]["address_cap"] == before + 1
        assert not any(is_closed(connection) for connection in held)
        # Another address is served.
        assert client_at("127.0.0.62").get(capped_server.url + "/health", timeout=30).status_code == 200
    finally:
        for connection in held:
            connection.close()


def test_past_the_global_cap_the_longest_idle_connection_goes_first(capped_server):
    wait_for(lambda: connections(capped_server)["open"] <= 1, what="the earlier connections gone")
    held = []
    try:
        for n in range(20):  # 4 addresses, 5 each: under the per-address cap, at the global cap
            held.append(connect(capped_server, f"127.0.0.{71 + n // 5}"))
            wait_for(lambda n=n: connections(capped_server)["open"] >= n + 1, what=f"connection {n + 1} open")
        # A well-behaved client gets its answer: the connection idle the longest (the first) makes room.
        response = client_at("127.0.0.80").get(capped_server.url + "/health", timeout=30)
        assert response.status_code == 200
        assert response.json()["connections"]["closed"]["oldest_idle"] >= 1
        assert wait_for(lambda: is_closed(held[0]), what="the oldest connection closed")
        assert not any(is_closed(connection) for connection in held[-10:])
    finally:
        for connection in held:
            connection.close()
