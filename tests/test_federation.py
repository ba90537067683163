"""Federation with Wikidata, offline: SERVICE calls through our relay to loopback stand-ins, never to Wikidata.

- A real `oxigraph serve` on 127.0.0.1, loaded with tests/fixtures/wikidata-standin.ttl (shaped like Wikidata's
  RDF), stands in for the Wikidata Query Service: our server allows `https://query.wikidata.org/sparql` and
  routes it there (`--service-route`), so the stored queries run unchanged, end to end through both servers.
  Their full answers are in tests/fixtures/federated/ (rewrite with KG_UPDATE_GOLDEN=1, which fails
  each rewritten test on purpose; read the diff).
- A recording server in this process answers, sleeps or listens as a canary: the User-Agent we send, the
  per-call time limit, an unreachable endpoint, SERVICE SILENT, and a SERVICE that is not allowed.
- The relay itself, in-process: it rewrites what the policy approved, and is no open proxy.
"""

from __future__ import annotations

import csv
import http.server
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests
from support.golden import golden_text
from support.servers import (
    BASE_IRI,
    RunningServer,
    free_port,
    log_lines,
    start_server,
    stop_server,
    wait_until_up,
)

from nato_kg.data.store import load_dataset, native_store
from nato_kg.engine.federation import ServiceRelay, call_time_limit, routes
from nato_kg.engine.policy import QueryPolicy
from nato_kg.engine.stored_queries import load_catalogue
from nato_kg.settings import PROJECT_ROOT, WIKIDATA_SPARQL, Settings

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = FIXTURES / "federated"
FEDERATED = sorted(name for name in load_catalogue(PROJECT_ROOT / "queries") if name.startswith("federated-"))
SERVICE_TIMEOUT_S = 1.5
SLOW_S = 15.0  # the slow endpoint's delay: far longer than the per-call limit (no test waits for it)
LABEL_QUERY = ("SELECT ?x WHERE {{ SERVICE {silent}<{url}> {{ ?s <http://www.w3.org/2000/01/rdf-schema#label> "
               "?x }} }}")


# --- the stand-ins ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`oxigraph serve` in memory on loopback, loaded with the Wikidata-shaped fixture: its SPARQL URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("standin") / "oxigraph.log"
    process = subprocess.Popen([str(Path(sys.executable).with_name("oxigraph")), "serve", "--bind",
                                f"127.0.0.1:{port}"], stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/query?query=ASK%7B%7D", process)  # type: ignore[arg-type]
        loaded = requests.post(f"http://127.0.0.1:{port}/store?default", timeout=30,
                               data=(FIXTURES / "wikidata-standin.ttl").read_bytes(),
                               headers={"Content-Type": "text/turtle"})
        assert loaded.status_code in (200, 201, 204), loaded.text
        yield f"http://127.0.0.1:{port}/query"
    finally:
        process.kill()
        process.wait(10)


class Recorder:
    """A loopback HTTP server that records every request: /ok answers one row, /slow sleeps first, /canary and
    anything else only listen."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.handle_any()

            def do_POST(self) -> None:
                self.handle_any()

            def handle_any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.requests.append((self.command, self.path, dict(self.headers), body))
                if self.path.startswith("/slow"):
                    time.sleep(SLOW_S)
                if not self.path.startswith(("/ok", "/slow")):
                    self.send_response(204)
                    self.end_headers()
                    return
                answer = json.dumps({"head": {"vars": ["x"]},
                                     "results": {"bindings": [{"x": {"type": "literal", "value": "from afar"}}]}})
                self.send_response(200)
                self.send_header("Content-Type", "application/sparql-results+json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def paths(self, prefix: str) -> list[str]:
        return [path for _, path, _, _ in self.requests if path.startswith(prefix)]


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    running = Recorder()
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture(scope="module")
def unreachable() -> str:
    return f"http://127.0.0.1:{free_port()}/sparql"  # a port just freed: nothing listens there


@pytest.fixture(scope="module")
def federating(tmp_path_factory, standin, recorder, unreachable) -> Iterator[RunningServer]:  # type: ignore[no-untyped-def]
    """Our server: Wikidata's IRI allowed and routed to the stand-in; the recorder's /ok and /slow and the
    unreachable endpoint allowed too; a short per-call limit."""
    running = start_server(
        tmp_path_factory.mktemp("federating"),
        "--allow-service", WIKIDATA_SPARQL, "--service-route", f"{WIKIDATA_SPARQL}={standin}",
        "--allow-service", f"{recorder.url}/ok", "--allow-service", f"{recorder.url}/slow",
        "--allow-service", unreachable, "--service-timeout", str(SERVICE_TIMEOUT_S),
        "--workers", "1", "--query-processes", "2")
    yield running
    stop_server(running)


# --- the federated stored queries, end to end -----------------------------------------------------------

@pytest.mark.parametrize("name", FEDERATED)
def test_every_federated_stored_query_gives_its_full_answer_through_the_standin(federating, name):
    response = federating.get(f"/queries/{name}", params={"format": "tsv"})
    assert response.status_code == 200, response.text
    assert response.text == golden_text(GOLDEN / f"{name}.tsv", response.text)
    # Wikidata changes while our data does not: no ETag, so no 304 for a stale answer.
    assert "ETag" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def _rows(server: RunningServer, name: str) -> list[dict[str, str]]:
    response = server.get(f"/queries/{name}", params={"format": "csv"})
    assert response.status_code == 200, response.text
    return list(csv.DictReader(response.text.splitlines()))


def test_the_federated_answers_read_wikidata_as_of_the_article(federating):
    """What the golden files say, in words: the qualifiers decide, not today's memberships."""
    countries = {row["countryLabel"]: row for row in _rows(federating, "federated-expelling-countries")}
    assert len(countries) == 26
    assert countries["United Kingdom"]["headOfGovernmentLabel"] == "Theresa May"  # not Johnson, from 2019
    assert countries["Norway"]["headOfGovernmentLabel"] == ""  # Stoltenberg's term ended in 2013
    assert countries["United Kingdom"]["euMember"] == "true"  # it left in 2020
    not_in_nato = sorted(name for name, row in countries.items() if row["natoMember"] == "false")
    assert not_in_nato == ["Australia", "Finland", "Ireland", "Macedonia", "Moldova", "Sweden", "Ukraine"]
    groups = _rows(federating, "federated-expulsions-by-alliance")
    assert sum(int(g["countries"]) for g in groups) == 26
    names = {row["label"]: row for row in _rows(federating, "federated-actor-names")}
    assert names["Vladimir Putin"]["french"] == "Vladimir Poutine"
    assert names["NATO"]["russian"] == "Организация Североатлантического договора"


def test_without_wikidata_the_federated_queries_answer_from_our_graph_alone(server):
    """The default test server routes Wikidata to a closed loopback port (tests/support/servers.py): SERVICE SILENT
    stands for one empty solution, so our rows come back with the Wikidata columns empty."""
    countries = _rows(server, "federated-expelling-countries")
    assert len(countries) == 26
    assert {(row["natoMember"], row["euMember"], row["headOfGovernment"]) for row in countries} == {("", "", "")}
    assert _rows(server, "federated-expulsions-by-alliance") == [
        {"natoMember": "", "euMember": "", "countries": "26", "countriesWithANumber": "21",
         "sumOfStatedNumbers": "121"}]
    names = _rows(server, "federated-actor-names")
    assert [row["label"] for row in names] == ["Barack Obama", "Boris Johnson", "Donald Trump", "European Union",
                                               "Jens Stoltenberg", "NATO", "Theresa May", "United Nations",
                                               "Vladimir Putin"]
    assert {row["russian"] + row["french"] + row["description"] for row in names} == {""}


WIKIDATA_DOWN = (f'"SERVICE <{WIKIDATA_SPARQL}> could not be reached: ConnectionRefusedError: [Errno 111] '
                 'Connection refused"')


@pytest.mark.parametrize("name", FEDERATED)
def test_a_silent_service_that_failed_is_named_in_a_header_on_the_page_and_in_the_access_log(server, name):
    """SERVICE SILENT still answers, but the answer says what is missing from it, and why."""
    response = server.get(f"/queries/{name}", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["KG-Service-Failures"] == WIKIDATA_DOWN
    assert "KG-Service-Failures" in response.headers["Access-Control-Expose-Headers"]
    log_lines(server, f"path=/queries/{name} status=200", f"service_failed={WIKIDATA_SPARQL}")
    query_text = (PROJECT_ROOT / "queries" / f"{name}.rq").read_text(encoding="utf-8")
    for page in (server.get(f"/queries/{name}", headers={"Accept": "text/html"}),  # the stored query's page
                 server.get("/", params={"query": query_text})):  # the query page
        assert page.status_code == 200
        note = re.search(r'<div class="notice service-failures" id="service-failures" role="status">(.*?)</div>',
                         page.text, re.S)
        assert note, f"no note above the results on {page.url[:60]}"
        assert "Answered without a remote endpoint (SERVICE SILENT)" in note[1]
        assert f"SERVICE &lt;{WIKIDATA_SPARQL}&gt; could not be reached: ConnectionRefusedError" in note[1]
    ours = server.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
    assert "KG-Service-Failures" not in ours.headers


# --- how SERVICE calls are made -----------------------------------------------------------------------

def test_a_service_call_names_the_project_in_its_user_agent(federating, recorder):
    before = len(recorder.requests)
    response = federating.get("/sparql", params={"query": LABEL_QUERY.format(silent="", url=recorder.url + "/ok")})
    assert response.status_code == 200, response.text
    assert response.json()["results"]["bindings"] == [{"x": {"type": "literal", "value": "from afar"}}]
    [(method, path, headers, body)] = recorder.requests[before:]
    assert (method, path) == ("POST", "/ok")
    assert re.fullmatch(r"nato-expulsions-kg/[\w.]+ \(\+http://127\.0\.0\.1:8000/\) "
                        r"pyoxigraph/[\w.]+", headers["User-Agent"]), headers["User-Agent"]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert b"query=" in body and b"rdf-schema%23label" in body


def test_a_slow_endpoint_gets_the_per_call_time_limit_and_the_server_keeps_serving(federating, recorder):
    slow = recorder.url + "/slow"
    started = time.monotonic()
    response = federating.get("/sparql", params={"query": LABEL_QUERY.format(silent="", url=slow)})
    elapsed = time.monotonic() - started
    assert response.status_code == 504, response.text
    assert response.text == (f"SERVICE <{slow}> did not answer within {SERVICE_TIMEOUT_S:g} s, the time limit for "
                             "one SERVICE call; try again later, or ask it for less\n")
    # Not before the per-call limit. Had the call waited for the slow endpoint, it would have taken SLOW_S (15 s):
    # the upper bound sits a second below that, with 12.5 s of room over the limit for a loaded CI machine.
    assert SERVICE_TIMEOUT_S <= elapsed < SLOW_S - 1
    # The slow endpoint is still sleeping; everything else is answered meanwhile: both answers come before the
    # slow endpoint would have answered (what a server stuck on that call would wait for).
    assert federating.get("/health").status_code == 200
    assert federating.get("/queries/nato-mission-size", params={"format": "csv"}).status_code == 200
    assert time.monotonic() - started < SLOW_S


def test_an_unreachable_endpoint_is_a_502_naming_it_and_silent_gives_no_remote_rows(federating, unreachable):
    response = federating.get("/sparql", params={"query": LABEL_QUERY.format(silent="", url=unreachable)})
    assert response.status_code == 502
    assert response.text.startswith(f"SERVICE <{unreachable}> could not be reached: ConnectionRefusedError")
    as_json = federating.get("/sparql", params={"query": LABEL_QUERY.format(silent="", url=unreachable)},
                             headers={"Accept": "application/json"})
    assert as_json.json()["status"] == 502
    silent = federating.get("/sparql", params={"query": LABEL_QUERY.format(silent="SILENT ", url=unreachable)})
    assert silent.status_code == 200, silent.text
    assert silent.json()["results"]["bindings"] == [{}]  # SPARQL 1.1 Federated Query: one empty solution
    joined = (f"SELECT ?label ?x WHERE {{ <{BASE_IRI}id/nato> <http://www.w3.org/2000/01/rdf-schema#label> ?label "
              f"OPTIONAL {{ SERVICE SILENT <{unreachable}> {{ ?s ?p ?x }} }} }}")
    assert federating.get("/sparql", params={"query": joined}).json()["results"]["bindings"] == [
        {"label": {"type": "literal", "value": "NATO", "xml:lang": "en"}}]


def test_a_service_off_the_allow_list_is_refused_and_the_canary_hears_nothing(federating, recorder):
    canary = recorder.url + "/canary"
    prefixed = f"PREFIX c: <{recorder.url}/> SELECT * WHERE {{ SERVICE c:canary {{ ?s ?p ?o }} }}"
    commented = f"SELECT * WHERE {{ SERVICE # a comment\n <{canary}> {{ ?s ?p ?o }} }}"
    for query in (LABEL_QUERY.format(silent="", url=canary), LABEL_QUERY.format(silent="SILENT ", url=canary),
                  prefixed, commented):
        response = federating.get("/sparql", params={"query": query})
        assert response.status_code == 403, query
        assert f"SERVICE <{canary}> is not allowed" in response.text
    assert recorder.paths("/canary") == []  # any call would have come while answering, before the refusal


# --- the relay, in-process --------------------------------------------------------------------------------

@pytest.fixture
def relay(recorder) -> Iterator[ServiceRelay]:  # type: ignore[no-untyped-def]
    settings = Settings.from_env(environ={}, allowed_service_endpoints=(WIKIDATA_SPARQL, recorder.url + "/ok"),
                                 service_routes=(f"{WIKIDATA_SPARQL}={recorder.url}/ok",))
    running = ServiceRelay(settings)
    yield running
    running.close()


def test_the_rewrite_replaces_every_service_the_policy_found(relay):
    policy = QueryPolicy(BASE_IRI, [], relay.endpoints)
    query = ("PREFIX w: <https://query.wikidata.org/>\n"
             "SELECT * WHERE { SERVICE w:sparql { ?a ?b ?c } SERVICE SILENT# comment\n"
             f"<{WIKIDATA_SPARQL}>{{ ?d ?e ?f }}\n"
             "OPTIONAL { service <https://query.wiki\\u0064ata.org/sparql> {} } }")
    info = policy.check(query)
    assert info.services == (WIKIDATA_SPARQL,) * 3
    with relay.call() as call:
        rewritten = relay.rewrite(query, info, call)
        relay_iri = f"{call.prefix}{relay.endpoints.index(WIKIDATA_SPARQL)}"
        assert QueryPolicy(BASE_IRI, [], [relay_iri]).check(rewritten).services == (relay_iri,) * 3
    assert "wikidata" not in rewritten.split("\n", 1)[1]


def _post(relay: ServiceRelay, path: str, body: str, content_type: str = "application/sparql-query"):  # type: ignore[no-untyped-def]
    return requests.post(f"http://127.0.0.1:{relay.port}{path}", data=body.encode(), timeout=10,
                         headers={"Content-Type": content_type})


def test_the_relay_is_no_open_proxy(relay, recorder):
    query = "SELECT * WHERE { ?s ?p ?o }"
    before = len(recorder.requests)
    with relay.call() as call:
        token = call.token
        assert _post(relay, f"/{token}/0", query).status_code == 200  # Wikidata's IRI, routed to the recorder
        assert _post(relay, f"/{token}/1", query).status_code == 200
        assert _post(relay, f"/{token}/2", query).status_code == 404  # only the configured endpoints
        assert _post(relay, f"/{'x' * 22}/0", query).status_code == 404  # only tokens of queries in flight
        assert _post(relay, f"/{token}/0", "INSERT DATA { <a:b> <a:c> <a:d> }").status_code == 403
        assert _post(relay, f"/{token}/0", "DROP ALL").status_code == 403
        assert _post(relay, f"/{token}/0", "GET / HTTP/1.1").status_code == 403  # not a query
        assert _post(relay, f"/{token}/0", query, "text/plain").status_code == 415
        assert requests.get(f"http://127.0.0.1:{relay.port}/{token}/0", timeout=10,
                            params={"query": query}).status_code == 200
        assert requests.put(f"http://127.0.0.1:{relay.port}/{token}/0", data=query, timeout=10).status_code == 501
    assert _post(relay, f"/{token}/0", query).status_code == 404  # the query is over: so is its token
    assert [path for _, path, _, _ in recorder.requests[before:]] == ["/ok"] * 3


def test_routes_serve_allowed_services_only_and_calls_stay_inside_the_query_time_limit():
    assert routes(Settings.from_env(environ={}, service_routes=(f"{WIKIDATA_SPARQL}=http://127.0.0.1:1/q?a=b",
                                                                "https://example.org/sparql=http://127.0.0.1:2/"))
                  ) == {WIKIDATA_SPARQL: "http://127.0.0.1:1/q?a=b"}  # a route for an IRI not allowed is unused
    with pytest.raises(ValueError, match="IRI=URL"):
        routes(Settings.from_env(environ={}, service_routes=(WIKIDATA_SPARQL,)))
    assert call_time_limit(Settings.from_env(environ={})) == 5.0
    assert call_time_limit(Settings.from_env(environ={}, query_timeout_s=2.0)) == pytest.approx(1.6)


# --- the queries use only verified Wikidata IDs, and ask about the items our graph links -------------------

def _verified(name: str) -> set[str]:
    lines = (PROJECT_ROOT / "graph" / "source" / "wikidata" / name).read_text(encoding="utf-8").splitlines()
    return {line.split("\t")[1] for line in lines[1:] if line.strip()}


def test_federated_queries_and_the_standin_use_only_verified_wikidata_ids():
    items, properties = _verified("items.tsv"), _verified("properties.tsv")
    texts = [(PROJECT_ROOT / "queries" / f"{name}.rq").read_text(encoding="utf-8") for name in FEDERATED]
    texts.append((FIXTURES / "wikidata-standin.ttl").read_text(encoding="utf-8"))
    for text in texts:
        assert set(re.findall(r"\bwds?:(Q\d+)", text)) <= items
        assert set(re.findall(r"\b(?:wdt|p|ps|pq):(P\d+)", text)) <= properties
    assert len(FEDERATED) >= 3


def test_each_service_block_lists_the_items_the_graph_links_for_it(settings):
    """The VALUES list inside each SERVICE block (SERVICE is sent without outer bindings) must be exactly the
    items that the query's own graph pattern finds, so no row goes without its Wikidata data."""
    store = native_store(load_dataset(settings))
    for name in FEDERATED:
        text = (PROJECT_ROOT / "queries" / f"{name}.rq").read_text(encoding="utf-8")
        listed = set(re.findall(r"wd:(Q\d+)", re.search(r"VALUES \?item \{([^}]*)\}", text)[1]))
        local = re.sub(r"OPTIONAL \{\s*SERVICE.*", "}", text.split("WHERE {", 1)[1], flags=re.S)
        prefixes = "".join(line + "\n" for line in text.splitlines() if line.startswith("PREFIX"))
        found = {row["item"].value.rsplit("/", 1)[1] for row in store.query(
            f"{prefixes}SELECT DISTINCT ?item WHERE {{{local}", base_iri=settings.base_iri,
            use_default_graph_as_union=True)}
        assert listed == found, name


# --- SERVICE inside an allowed SERVICE: Wikidata's own services (wikibase:label, wikibase:mwapi, ...) --------

NESTED_LABEL = """PREFIX wikibase: <http://wikiba.se/ontology#>
PREFIX bd: <http://www.bigdata.com/rdf#>
SELECT ?x WHERE {{
  SERVICE <{url}> {{
    ?item <http://www.w3.org/2000/01/rdf-schema#label> ?x .
    SERVICE wikibase:label {{ bd:serviceParam wikibase:language "en". }}
  }}
}}"""


def test_a_service_nested_in_an_allowed_block_reaches_that_endpoint_as_written(federating, recorder):
    before = len(recorder.requests)
    response = federating.get("/sparql", params={"query": NESTED_LABEL.format(url=recorder.url + "/ok")})
    assert response.status_code == 200, response.text
    assert response.json()["results"]["bindings"] == [{"x": {"type": "literal", "value": "from afar"}}]
    [(method, path, _, body)] = recorder.requests[before:]
    assert (method, path) == ("POST", "/ok")
    forwarded = parse_qs(body.decode())["query"][0]
    assert re.search(r"SERVICE <http://wikiba\.se/ontology#label> \{\s*<http://www\.bigdata\.com/rdf#serviceParam> "
                     r'<http://wikiba\.se/ontology#language> "en"', forwarded), forwarded
    assert not re.search(r"127\.0\.0\.1:\d+/[\w-]{16,}/", forwarded)  # no relay IRI leaks to the remote endpoint


def test_a_nested_only_service_is_still_refused_at_top_level_or_in_a_block_not_allowed(federating, recorder):
    top = ("PREFIX wikibase: <http://wikiba.se/ontology#> PREFIX bd: <http://www.bigdata.com/rdf#> "
           'SELECT * WHERE { SERVICE wikibase:label { bd:serviceParam wikibase:language "en". } }')
    after = NESTED_LABEL.format(url=recorder.url + "/ok").replace(
        "}\n  }\n}", "}\n  }\n  SERVICE <http://127.0.0.1:9/x> {}\n}")
    in_canary = NESTED_LABEL.format(url=recorder.url + "/canary")
    for query, refused in ((top, "http://wikiba.se/ontology#label"), (after, "http://127.0.0.1:9/x"),
                           (in_canary, recorder.url + "/canary")):
        response = federating.get("/sparql", params={"query": query})
        assert response.status_code == 403, query
        assert response.text.startswith(f"SERVICE <{refused}> is not allowed"), response.text
        assert "any SERVICE with an IRI inside one of their blocks (such as wikibase:label)" in response.text
    assert recorder.paths("/canary") == []


def test_the_relay_refuses_a_nested_service_the_engine_would_call_itself(relay, recorder):
    """Nesting is read by our tokenizer; were Oxigraph to read the braces otherwise and call the nested
    SERVICE itself, it would reach the relay's `n` address, which never forwards."""
    policy = QueryPolicy(BASE_IRI, [], relay.endpoints)
    info = policy.check(NESTED_LABEL.format(url=WIKIDATA_SPARQL))
    before = len(recorder.requests)
    with relay.call() as call:
        rewritten = relay.rewrite(NESTED_LABEL.format(url=WIKIDATA_SPARQL), info, call)
        assert f"SERVICE <{call.prefix}n0>" in rewritten and "wikiba.se/ontology#label" not in rewritten
        refused = _post(relay, f"/{call.token}/n0", "SELECT * WHERE { ?s ?p ?o }")
        assert refused.status_code == 403
        assert refused.text == ("SERVICE <http://wikiba.se/ontology#label> is allowed only inside the block of an "
                                "allowed SERVICE, which evaluates it; here the engine would have called it itself")
        assert _post(relay, f"/{call.token}/n1", "SELECT * WHERE { ?s ?p ?o }").status_code == 404
    assert recorder.requests[before:] == []


def test_the_readme_federation_example_with_wikidata_labels_runs_as_pasted(server):
    readme = (PROJECT_ROOT / "docs" / "federation.md").read_text(encoding="utf-8")
    section = readme.split("**Wikidata's labels, as on the Wikidata Query Service.**", 1)[1]
    query = re.search(r"```sparql\n(.*?)```", section, re.S)[1]
    assert "SERVICE wikibase:label" in query
    response = server.get("/sparql", params={"query": query}, headers={"Accept": "text/csv"})
    assert response.status_code == 200, response.text  # the policy lets it through; SILENT keeps our rows
    assert response.text.splitlines() == ["label,item,headquartersLabel", "European Union,http://www.wikidata.org/"
                                          "entity/Q458,", "NATO,http://www.wikidata.org/entity/Q7184,",
                                          "United Nations,http://www.wikidata.org/entity/Q1065,"]
    assert response.headers["KG-Service-Failures"] == WIKIDATA_DOWN  # the test servers reach no Wikidata
    assert set(re.findall(r"wd:(Q\d+)", query)) <= _verified("items.tsv")
    assert set(re.findall(r"wdt:(P\d+)", query)) <= _verified("properties.tsv")
