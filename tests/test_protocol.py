"""SPARQL 1.1 Protocol conformance of /sparql; answers checked exactly.

The view's answers are checked in-process (`client`); request bodies sent in chunks, the access log and raw
HTTP exchanges (protocol upgrades, pipelining) need the real server (`server`)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from urllib.parse import quote_plus

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic
from support.servers import BASE_IRI, raw_exchange, wait_for_log_lines

ARTICLE = f"{BASE_IRI}id/article"
PREFIXES = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX schema: <http://schema.org/> "
ARTICLE_QUERY = PREFIXES + (
    f"SELECT ?label ?date WHERE {{ <{ARTICLE}> rdfs:label ?label ; schema:datePublished ?date }}")
EXPECTED_ROW = {"label": ox.Literal("NATO Cuts Russian Mission Staff Over Spy Poisoning", language="en"),
                "date": ox.Literal("2018-03-27", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date"))}
RESULTS = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
           "csv": ox.QueryResultsFormat.CSV, "tsv": ox.QueryResultsFormat.TSV}
MEDIA = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
         "csv": "text/csv", "tsv": "text/tab-separated-values", "ttl": "text/turtle",
         "nt": "application/n-triples", "jsonld": "application/ld+json", "rdfxml": "application/rdf+xml"}
RDFLIB_FORMAT = {"ttl": "turtle", "nt": "nt", "jsonld": "json-ld", "rdfxml": "xml"}


def rows(body: bytes, fmt: str) -> list[dict[str, ox.Term]]:
    if fmt == "csv":  # CSV keeps only lexical forms, and pyoxigraph will not parse it back
        return [{k: ox.Literal(v) for k, v in r.items()} for r in csv.DictReader(io.StringIO(body.decode()))]
    parsed = ox.parse_query_results(body, RESULTS[fmt])
    return [{v.value: s[v] for v in parsed.variables if s[v] is not None} for s in parsed]


def reference_rows(store: ox.Store, query: str) -> list[dict[str, ox.Term]]:
    results = store.query(query, use_default_graph_as_union=True)
    return [{v.value: s[v] for v in results.variables if s[v] is not None} for s in results]


def test_the_article_row_in_every_result_format_and_media_type(client):
    for fmt, media in MEDIA.items():
        if fmt not in RESULTS:
            continue
        response = client.get("/sparql", params={"query": ARTICLE_QUERY}, headers={"Accept": media})
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == f"{media}; charset=utf-8"
        got = rows(response.content, fmt)
        if fmt == "csv":  # CSV keeps only lexical forms
            assert [{k: v.value for k, v in r.items()} for r in got] == [
                {"label": EXPECTED_ROW["label"].value, "date": "2018-03-27"}]
        else:
            assert got == [EXPECTED_ROW]


def test_get_post_form_and_post_query_give_the_same_exact_answer(server, reference_store):
    query = PREFIXES + "SELECT ?s ?label WHERE { ?s rdfs:label ?label } ORDER BY ?s ?label"
    expected = reference_rows(reference_store, query)
    assert len(expected) > 1
    answers = [
        server.get("/sparql", params={"query": query}),
        server.post("/sparql", data={"query": query}),
        server.post("/sparql", data=query.encode(), headers={"Content-Type": "application/sparql-query"}),
        # A body sent in chunks (no Content-Length), as streaming clients do: a generator makes requests chunk it.
        server.post("/sparql", data=iter([query[:20].encode(), query[20:].encode()]),
                    headers={"Content-Type": "application/sparql-query"}),
        server.post("/sparql", data=iter([b"query=", quote_plus(query).encode()]),
                    headers={"Content-Type": "application/x-www-form-urlencoded"}),
    ]
    for response in answers:
        assert response.status_code == 200, response.text
        assert rows(response.content, "json") == expected


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_ask_true_and_false(client, fmt):
    for query, expected in ((f"ASK {{ <{ARTICLE}> ?p ?o }}", "true"), ("ASK { <urn:nothing> ?p ?o }", "false")):
        response = client.get("/sparql", params={"query": query, "format": fmt})
        assert response.status_code == 200
        assert response.headers["Content-Type"] == f"{MEDIA[fmt]}; charset=utf-8"
        if fmt == "csv":
            assert response.content.strip() == expected.encode()
        else:
            assert bool(ox.parse_query_results(response.content, RESULTS[fmt])) is (expected == "true")


@pytest.mark.parametrize("fmt", ["ttl", "nt", "jsonld", "rdfxml"])
def test_construct_and_describe_in_every_graph_format(client, reference_store, fmt):
    for query in (f"CONSTRUCT {{ <{ARTICLE}> ?p ?o }} WHERE {{ <{ARTICLE}> ?p ?o }}", f"DESCRIBE <{ARTICLE}>"):
        response = client.get("/sparql", params={"query": query}, headers={"Accept": MEDIA[fmt]})
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == f"{MEDIA[fmt]}; charset=utf-8"
        got = rdflib.Graph().parse(data=response.content, format=RDFLIB_FORMAT[fmt])
        expected_nt = ox.serialize(reference_store.query(query, use_default_graph_as_union=True),
                                   format=ox.RdfFormat.N_TRIPLES)
        expected = rdflib.Graph().parse(data=expected_nt, format="nt")
        assert len(expected) >= 5 and isomorphic(got, expected)
        assert (rdflib.URIRef(ARTICLE), rdflib.RDFS.label,
                rdflib.Literal("NATO Cuts Russian Mission Staff Over Spy Poisoning", lang="en")) in got


@pytest.mark.parametrize(("accept", "fmt"), [
    ("*/*", "json"), ("", "json"), ("text/*", "csv"), ("application/json", "json"),
    ("text/csv;q=0.5, application/sparql-results+xml", "xml"),
    ("application/sparql-results+json;q=0.1, text/tab-separated-values;q=0.9", "tsv"),
])
def test_accept_with_q_values_and_wildcards(client, accept, fmt):
    response = client.get("/sparql", params={"query": "ASK {}"}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(MEDIA[fmt])
    assert "Accept" in response.headers["Vary"]


def test_format_parameter_wins_over_accept_and_is_checked(client):
    ok = client.get("/sparql", params={"query": "ASK {}", "format": "tsv"}, headers={"Accept": "text/csv"})
    assert ok.headers["Content-Type"].startswith("text/tab-separated-values")
    assert client.get("/sparql", params={"query": "ASK {}", "format": "ttl"}).status_code == 406
    bogus = client.get("/sparql", params={"query": "ASK {}", "format": "bogus"})
    assert bogus.status_code == 400 and "json, xml, csv, tsv" in bogus.text
    graph = client.get("/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", "format": "nt"})
    assert graph.headers["Content-Type"].startswith("application/n-triples")


def test_406_when_nothing_acceptable(client):
    response = client.get("/sparql", params={"query": "ASK {}"}, headers={"Accept": "image/png"})
    assert response.status_code == 406 and "offers" in response.text


def test_default_and_named_graph_uri(client, reference_store):
    ontology = f"{BASE_IRI}graph/ontology"
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    expected = len(list(reference_store.quads_for_pattern(None, None, None, ox.NamedNode(ontology))))
    response = client.get("/sparql", params={"query": count, "default-graph-uri": ontology})
    assert int(rows(response.content, "json")[0]["n"].value) == expected
    graphs = client.get("/sparql", params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                                           "named-graph-uri": ontology})
    assert rows(graphs.content, "json") == [{"g": ox.NamedNode(ontology)}]
    from_clause = client.get("/sparql", params={"query": f"SELECT (COUNT(*) AS ?n) FROM <{ontology}> "
                                                         "WHERE { ?s ?p ?o }"})
    assert int(rows(from_clause.content, "json")[0]["n"].value) == expected
    union = client.get("/sparql", params={"query": count})
    assert int(rows(union.content, "json")[0]["n"].value) == len(reference_store)


@pytest.mark.parametrize(("kwargs", "status", "words"), [
    ({"params": {"query": "SELECT * WHERE { ?s ?p }"}}, 400, "1:"),
    ({"params": {"query": ["ASK {}", "ASK {}"]}}, 400, "given 2 times"),
    ({"params": {"default-graph-uri": "urn:x"}}, 400, "no query"),
    ({"params": {"query": "ASK {\x00}"}}, 400, "NUL"),
])
def test_client_mistakes_get_a_4xx_with_a_useful_message(client, kwargs, status, words):
    response = client.get("/sparql", **kwargs)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert words in response.text and "Traceback" not in response.text


def test_syntax_error_names_the_position(client):
    response = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p }"})
    assert response.status_code == 400 and "error at 1:" in response.text


def test_post_mistakes(server):
    assert server.post("/sparql", data={}).status_code == 400
    assert server.post("/sparql", data="ASK {}", headers={"Content-Type": "text/plain"}).status_code == 415
    assert server.post("/sparql", data="ASK {}").status_code == 415  # no Content-Type at all
    latin1 = server.post("/sparql", data="ASK {}", headers={"Content-Type": "application/sparql-query; "
                                                                         "charset=iso-8859-1"})
    assert latin1.status_code == 415
    bad_utf8 = server.post("/sparql", data=b'ASK { ?s ?p "\xff" }',
                           headers={"Content-Type": "application/sparql-query"})
    assert bad_utf8.status_code == 400 and "UTF-8" in bad_utf8.text
    bad_form = server.post("/sparql", data=b"query=ASK%20%7B%FF%7D",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert bad_form.status_code == 400 and "UTF-8" in bad_form.text
    assert server.get("/sparql?query=ASK%20%7B%FF%7D").status_code == 400
    too_long = "ASK {} #" + "x" * 70_000
    assert server.post("/sparql", data={"query": too_long}).status_code == 413
    assert server.post("/sparql", data=too_long.encode(),
                       headers={"Content-Type": "application/sparql-query"}).status_code == 413
    # Chunked, with no Content-Length to refuse it by: over the body limit (200,704 bytes) while it is read.
    endless = server.post("/sparql", data=iter([b"#" + b"x" * 65_536] * 5),
                          headers={"Content-Type": "application/sparql-query"})
    assert endless.status_code == 413, endless.text


def test_json_errors_for_clients_that_prefer_json(client):
    response = client.get("/sparql", params={"query": "SELEC"}, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["status"] == 400 and "syntax" in response.json()["message"]


@pytest.mark.parametrize("media_type", ["application/json", "application/xml", "text/turtle",
                                        "application/n-triples", "application/ld+json"])
def test_a_post_in_a_media_type_the_protocol_does_not_know_is_415_listing_the_accepted_ones(server, media_type):
    response = server.post("/sparql", data=f"<{ARTICLE}> <urn:p> 'x' .", headers={"Content-Type": media_type})
    assert response.status_code == 415, response.text
    assert response.text == (f"POST with {media_type} is not accepted; the accepted request media types are "
                             "application/x-www-form-urlencoded (query=...) and application/sparql-query (the "
                             "query as the body); this endpoint is read-only (no Graph Store writes)\n")


def test_read_only_every_write_is_refused_and_nothing_changes(client):
    before = client.get("/health").json()["triples"]
    insert = f"INSERT DATA {{ <{ARTICLE}> <urn:p> 'x' }}"
    attempts = [
        client.get("/sparql", params={"update": insert}),
        client.post("/sparql", data={"update": insert}),
        client.post("/sparql", data=insert, headers={"Content-Type": "application/sparql-update"}),
        client.post("/sparql", data={"query": insert}),
        client.get("/sparql", params={"query": f"DELETE WHERE {{ <{ARTICLE}> ?p ?o }}"}),
    ]
    for response in attempts:
        assert response.status_code == 403, response.text
        assert "read-only" in response.text
    for method in ("PUT", "DELETE", "PATCH"):
        response = client.request(method, "/sparql?graph=urn:g", data="x")
        assert response.status_code == 405 and "read-only" in response.text
        assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert client.get("/health").json()["triples"] == before
    check = client.get("/sparql", params={"query": f"ASK {{ <{ARTICLE}> <urn:p> ?o }}"})
    assert check.json()["boolean"] is False


def test_service_description(client):
    response = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/turtle; charset=utf-8"
    graph = rdflib.Graph().parse(data=response.content, format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    service = graph.value(predicate=rdflib.RDF.type, object=sd.Service)
    assert graph.value(service, sd.endpoint) == rdflib.URIRef(client.url + "/sparql")
    assert (service, sd.supportedLanguage, sd.SPARQL11Query) in graph
    assert (service, sd.feature, sd.UnionDefaultGraph) in graph
    assert (service, sd.resultFormat, rdflib.URIRef("http://www.w3.org/ns/formats/SPARQL_Results_JSON")) in graph
    names = {str(n) for n in graph.objects(None, sd.name)}
    assert names == {f"{BASE_IRI}graph/{g}" for g in ("article", "ontology", "wikidata")}
    jsonld = client.get("/sparql", headers={"Accept": "application/ld+json"})
    assert len(rdflib.Graph().parse(data=jsonld.content, format="json-ld")) == len(graph)


def test_browsers_are_sent_to_the_query_page(client):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/sparql", headers={"Accept": browser}, allow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"].endswith("/")
    response = client.get("/sparql?query=ASK%20%7B%7D", headers={"Accept": browser}, allow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"].endswith("/?query=ASK%20%7B%7D")


def test_cors_preflight_and_head(client):
    response = client.get("/sparql", params={"query": "ASK {}"}, headers={"Origin": "https://yasgui.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    preflight = client.options("/sparql", headers={
        "Origin": "https://yasgui.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "content-type"
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    head = client.head("/sparql", params={"query": "ASK {}"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Type"].startswith("application/sparql-results+json")


def test_etag_and_if_none_match(client):
    params = {"query": ARTICLE_QUERY}
    first = client.get("/sparql", params=params)
    etag = first.headers["ETag"]
    assert client.get("/sparql", params=params).headers["ETag"] == etag
    assert "max-age" in first.headers["Cache-Control"] and "Accept" in first.headers["Vary"]
    cached = client.get("/sparql", params=params, headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["ETag"] == etag
    other = client.get("/sparql", params=params, headers={"Accept": "text/csv"})
    assert other.headers["ETag"] != etag
    assert client.get("/sparql", params={"query": "SELECT (NOW() AS ?t) {}"}).headers.get("ETag") is None


def test_access_log_has_one_structured_line_per_request(server):
    query = "ASK { ?s ?p 'access log probe' }"
    server.get("/sparql", params={"query": query})
    digest = hashlib.sha256(query.encode()).hexdigest()[:12]
    logged = wait_for_log_lines(server, f"query={digest}")
    lines = [line for line in logged.splitlines() if f"query={digest}" in line]
    assert len(lines) == 1
    assert "method=GET path=/sparql status=200 ms=" in lines[0]


def test_health_reports_the_query_processes(client, settings):
    assert settings.query_processes == 2  # the default, which the session's server runs with
    processes = client.get("/health").json()["query_processes"]
    assert processes["size"] == 2
    assert min(processes["idle"], processes["busy"], processes["starting"], processes["dead"],
               processes["restarts"], processes["died_idle"]) >= 0
    assert processes["idle"] + processes["busy"] + processes["starting"] + processes["dead"] == processes["size"]


def test_json_results_are_standard(client):
    body = json.load(io.BytesIO(client.get("/sparql", params={"query": ARTICLE_QUERY}).content))
    assert body["head"]["vars"] == ["label", "date"]
    assert body["results"]["bindings"][0]["label"] == {
        "type": "literal", "value": "NATO Cuts Russian Mission Staff Over Spy Poisoning", "xml:lang": "en"}


ASK_TRUE = b'{"head":{},"boolean":true}'


def test_an_offered_protocol_upgrade_is_ignored_and_the_body_read(server):
    """`curl --http2` and some Java clients offer h2c; httptools alone stopped before the body (a lost query)."""
    offer = b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
    body = b"query=" + quote_plus("ASK { ?s ?p ?o }").encode()
    post = raw_exchange(server, b"POST /sparql HTTP/1.1\r\nHost: x\r\n" + offer +
                        b"Content-Type: application/x-www-form-urlencoded\r\nAccept: application/sparql-results+json"
                        b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
                        b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert post.count(b"HTTP/1.1 200 OK\r\n") == 2 and post.count(ASK_TRUE) == 2, post[:500]
    assert b"101 Switching" not in post


def test_pipelined_requests_are_answered_in_order(server):
    query = b"ASK { ?s ?p ?o }"
    post = b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\nContent-Length: %d\r\n" \
           % len(query)
    answer = raw_exchange(
        server,
        b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\n\r\n" + post + b"\r\n",  # the second body comes later
        query + b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 3, answer[:500]
    assert answer.index(ASK_TRUE) < answer.rindex(ASK_TRUE) < answer.index(b'"status":"ok"')
