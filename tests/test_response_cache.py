"""The response cache: a repeated GET of /sparql or /doc/ is answered from memory, exactly as the first time."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from support.servers import RunningServer, raw_exchange, start_server, stop_server, wait_for_log_lines

QUERY = "SELECT ?label WHERE { <http://127.0.0.1:8000/id/nato> <http://www.w3.org/2000/01/rdf-schema#label> ?label }"


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("cache"), "--workers", "1")
    yield running
    stop_server(running)


def cache_state(server: RunningServer) -> dict[str, int]:
    return server.get("/health").json()["response_cache"]


def test_a_repeat_is_served_from_memory_with_the_same_bytes_and_headers(one_worker):
    before = cache_state(one_worker)
    first = one_worker.get("/sparql", params={"query": QUERY}, headers={"Accept": "text/csv"})
    second = one_worker.get("/sparql", params={"query": QUERY}, headers={"Accept": "text/csv"})
    after = cache_state(one_worker)
    assert first.text == second.text == "label\r\nNATO\r\n"
    assert {k: v for k, v in first.headers.items() if k != "Date"} == \
        {k: v for k, v in second.headers.items() if k != "Date"}
    assert (after["misses"] - before["misses"], after["hits"] - before["hits"]) == (1, 1)
    assert "cache=hit" in wait_for_log_lines(one_worker, "cache=hit")


def test_if_none_match_on_a_cached_answer_is_a_304(one_worker):
    first = one_worker.get("/sparql", params={"query": QUERY, "format": "json"})
    again = one_worker.get("/sparql", params={"query": QUERY, "format": "json"},
                           headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Access-Control-Allow-Origin"] == "*"


def test_each_format_is_its_own_entry(one_worker):
    as_tsv = one_worker.get("/sparql", params={"query": QUERY}, headers={"Accept": "text/tab-separated-values"})
    as_csv = one_worker.get("/sparql", params={"query": QUERY}, headers={"Accept": "text/csv"})
    assert as_tsv.text == '?label\n"NATO"@en\n'
    assert as_csv.text == "label\r\nNATO\r\n"


def test_errors_posts_and_stored_queries_are_not_cached(one_worker):
    before = cache_state(one_worker)
    for _ in range(2):
        assert one_worker.get("/sparql", params={"query": "SELECT"}).status_code == 400
        assert one_worker.post("/sparql", data={"query": QUERY}).status_code == 200
        assert one_worker.get("/queries/cq6-poisoning").status_code == 200
    after = cache_state(one_worker)
    assert after["hits"] == before["hits"]
    assert after["entries"] == before["entries"]


def test_the_cache_can_be_turned_off(tmp_path):
    running = start_server(tmp_path, "--workers", "1", "--cache-mb", "0")
    try:
        assert running.get("/health").json()["response_cache"] is None
        assert running.get("/sparql", params={"query": QUERY, "format": "csv"}).text == "label\r\nNATO\r\n"
    finally:
        stop_server(running)


def test_repeated_accept_lines_are_one_accept_for_the_cache_as_for_flask(one_worker):
    target = "/sparql?" + urlencode({"query": QUERY, "case": "two-accept-lines"})
    first = raw_exchange(one_worker, (f"GET {target} HTTP/1.1\r\nHost: x\r\nAccept: application/sparql-results+json"
                                      "\r\nAccept: text/csv\r\nConnection: close\r\n\r\n").encode())
    assert first.startswith(b"HTTP/1.1 200")
    # Another client asking for CSV alone must get CSV, not the answer stored for the two lines.
    csv = one_worker.get(target, headers={"Accept": "text/csv"})
    assert (csv.headers["Content-Type"], csv.text) == ("text/csv; charset=utf-8", "label\r\nNATO\r\n")


def test_an_answer_naming_the_host_is_kept_per_host(one_worker):
    port = one_worker.url.rsplit(":", 1)[1]
    elsewhere = one_worker.get("/sparql", params={"format": "ttl"}, headers={"Host": "elsewhere.example"})
    assert "sd:endpoint <http://elsewhere.example/sparql>" in elsewhere.text
    here = one_worker.get("/sparql", params={"format": "ttl"})
    assert f"sd:endpoint <http://127.0.0.1:{port}/sparql>" in here.text


def test_a_304_from_the_cache_keeps_the_document_headers(one_worker):
    first = one_worker.get("/doc/nato", headers={"Accept": "text/turtle"})
    again = one_worker.get("/doc/nato", headers={"Accept": "text/turtle", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    for name in ("ETag", "Content-Location", "Link", "Vary", "Cache-Control"):
        assert again.headers[name] == first.headers[name], name


def test_the_memory_budget_counts_the_key_and_headers_not_only_the_body(one_worker):
    before = cache_state(one_worker)
    padding = "x" * 50_000  # in the URL and so in the key; the answer itself is a few bytes
    answer = one_worker.get("/sparql", params={"query": "ASK {}", "padding": padding, "format": "json"})
    assert answer.content == b'{"head":{},"boolean":true}'
    after = cache_state(one_worker)
    assert after["entries"] == before["entries"] + 1
    assert after["bytes"] - before["bytes"] > 50_000
