"""HTTP/1.1 by the book, over raw sockets to the real server: Host rules and pipelining."""

from __future__ import annotations

import re

from support.servers import raw_exchange

ASK = b"/sparql?query=ASK%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D"


def statuses(answer: bytes) -> list[bytes]:
    """The status lines of every response in `answer`, in order (a body is followed directly by the next)."""
    return re.findall(rb"HTTP/1\.1 \d{3} [A-Za-z ]+(?=\r\n)", answer)


def test_an_http11_request_without_host_is_400(server):
    answer = raw_exchange(server, b"GET " + ASK + b" HTTP/1.1\r\nAccept: application/json\r\n\r\n")
    assert statuses(answer) == [b"HTTP/1.1 400 Bad Request"]
    assert answer.endswith(b"An HTTP/1.1 request needs exactly one Host header; this one has 0.\n")


def test_an_http11_request_with_two_host_headers_is_400(server):
    answer = raw_exchange(server, b"GET " + ASK + b" HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n")
    assert statuses(answer) == [b"HTTP/1.1 400 Bad Request"]
    assert answer.endswith(b"this one has 2.\n")


def test_an_http10_request_without_host_is_answered(server):
    answer = raw_exchange(server, b"GET " + ASK + b" HTTP/1.0\r\nAccept: application/json\r\n\r\n")
    assert statuses(answer) == [b"HTTP/1.1 200 OK"]
    assert answer.endswith(b'"boolean":true}')


def test_pipelined_requests_are_answered_in_order_and_a_malformed_one_closes_after_them(server):
    def good(n: int) -> bytes:
        return b"GET " + ASK + b"&n=" + str(n).encode() + b" HTTP/1.1\r\nHost: x\r\nAccept: text/csv\r\n\r\n"

    not_cached = b"GET /sparql?query=ASK%20%7B%20%3Fs%20%3Fp%20%22pipelined%22%20%7D HTTP/1.1\r\nHost: x\r\n\r\n"
    # Two answerable requests, then a malformed request line, then one that must never be answered; one packet.
    answer = raw_exchange(server, good(1) + not_cached + b"NOT A REQUEST\r\n\r\n" + good(2))
    assert statuses(answer) == [b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK", b"HTTP/1.1 400 Bad Request"], answer
    first, second, refused = answer.split(b"HTTP/1.1 ")[1:]
    assert first.endswith(b"\r\n\r\ntrue"), first
    assert second.endswith(b'"boolean":false}'), second
    assert b"connection: close" in refused.lower()
