"""Linked data: 303s, negotiation, Link headers, exact descriptions, the ontology, VoID, dumps, 404.

The views' answers are checked in-process (`client`); what depends on the serving stack (raw paths under
gunicorn and the development server, a base IRI with a path, two workers' dumps) on live servers.

Expected data comes from the Turtle files parsed by rdflib (tests/support/ld_reference.py) or is written out here
from those files by hand; nothing expected is computed from the server's own answers.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections import Counter
from email.utils import formatdate

import pytest
import requests
from rdflib import Dataset, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic, to_isomorphic
from rdflib.namespace import FOAF, OWL, RDF, RDFS, XSD
from support.in_process import InProcessSite
from support.ld_reference import BASE_IRI, KG, KGO, OA, WD, as_stored, description, graphs, source_paths, union
from support.servers import RunningServer, start_server, stop_server

from nato_kg.settings import PROJECT_ROOT

VOID = Namespace("http://rdfs.org/ns/void#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
MEDIA = {"ttl": "text/turtle", "nt": "application/n-triples", "jsonld": "application/ld+json",
         "rdf": "application/rdf+xml", "html": "text/html"}
RDFLIB_FORMAT = {"ttl": "turtle", "nt": "nt", "jsonld": "json-ld", "rdf": "xml"}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
REPRESENTATIVE = ("germany", "statement-london-blames-moscow", "expulsion-by-germany")


def parse(response: requests.Response, fmt: str) -> Graph:
    assert response.status_code == 200, response.text[:300]
    graph = Graph()
    graph.parse(data=response.content, format=RDFLIB_FORMAT[fmt], publicID=response.url)
    return graph


def link_header(response: requests.Response) -> dict[str, tuple[str, str | None]]:
    """rel=alternate targets by media type, from the Link header."""
    found = {}
    for link in requests.utils.parse_header_links(response.headers.get("Link", "")):
        if link.get("rel") == "alternate":
            found[link["type"]] = link["url"]
    return found


# --- dereferencing and negotiation -----------------------------------------------------------------------

def test_identifier_redirects_to_its_document(client: InProcessSite) -> None:
    for accept in (None, "text/turtle", BROWSER_ACCEPT):
        response = client.get("/id/germany", allow_redirects=False, headers={"Accept": accept} if accept else {})
        assert response.status_code == 303
        assert response.headers["Location"] == "/doc/germany"
        assert '</doc/germany>; rel="describedby"' in response.headers["Link"]
    assert client.head("/id/germany").status_code == 303


@pytest.mark.parametrize("fmt", ["ttl", "nt", "jsonld", "rdf"])
def test_document_negotiated_by_accept(client: InProcessSite, fmt: str) -> None:
    response = client.get("/id/expulsion-by-germany", headers={"Accept": MEDIA[fmt]})
    assert [r.status_code for r in response.history] == [303]
    assert response.headers["Content-Type"] == f"{MEDIA[fmt]}; charset=utf-8"
    assert "Accept" in response.headers["Vary"]
    assert response.headers["Content-Location"] == f"/doc/expulsion-by-germany.{fmt}"
    alternates = link_header(response)
    assert alternates == {MEDIA[f]: f"/doc/expulsion-by-germany.{f}" for f in MEDIA if f != fmt}
    assert isomorphic(parse(response, fmt), description(KG["expulsion-by-germany"]))


def test_html_for_browsers_turtle_by_default(client: InProcessSite) -> None:
    page = client.get("/doc/germany", headers={"Accept": BROWSER_ACCEPT})
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Content-Location"] == "/doc/germany.html"
    assert "text/html" not in link_header(page) and len(link_header(page)) == 4
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    for accept in (None, "*/*"):
        plain = client.get("/doc/germany", headers={"Accept": accept} if accept else {})
        assert plain.headers["Content-Type"] == "text/turtle; charset=utf-8"
    assert client.get("/doc/germany", headers={"Accept": "image/png"}).status_code == 406
    assert client.get("/doc/germany?format=jsonld").headers["Content-Type"].startswith("application/ld+json")


@pytest.mark.parametrize("fmt", ["ttl", "nt", "jsonld", "rdf", "html"])
def test_explicit_document_urls(client: InProcessSite, fmt: str) -> None:
    response = client.get(f"/doc/statement-london-blames-moscow.{fmt}", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == f"{MEDIA[fmt]}; charset=utf-8"
    assert "Content-Location" not in response.headers
    assert set(link_header(response)) == {MEDIA[f] for f in MEDIA if f != fmt}
    if fmt != "html":
        assert isomorphic(parse(response, fmt), description(KG["statement-london-blames-moscow"]))
    again = client.get(response.url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


# --- the three representative descriptions, exactly -------------------------------------------------------

@pytest.mark.parametrize("slug", [*REPRESENTATIVE, "boris-johnson", "passage-21"])
def test_description_is_exactly_the_reference(client: InProcessSite, slug: str) -> None:
    got = parse(client.get(f"/doc/{slug}.nt"), "nt")
    expected = description(KG[slug])
    if not isomorphic(got, expected):
        diff_got, diff_expected = to_isomorphic(got), to_isomorphic(expected)
        missing = sorted(str(t) for t in diff_expected - diff_got)[:10]
        extra = sorted(str(t) for t in diff_got - diff_expected)[:10]
        pytest.fail(f"description of {slug} differs: missing {missing}, extra {extra}")


def own(graph: Graph, subject: URIRef) -> set[tuple[URIRef, object]]:
    return set(graph.predicate_objects(subject))


def test_country_description_by_hand(client: InProcessSite) -> None:
    g = parse(client.get("/doc/germany.ttl"), "ttl")
    assert own(g, KG.germany) == {(RDF.type, KGO.State), (RDFS.label, Literal("Germany", lang="en")),
                                  (KGO.memberOf, KG["european-union"]), (OWL.sameAs, WD.Q183)}
    assert set(g.subject_predicates(KG.germany)) == {(KG["expulsion-by-germany"], KGO.agent),
                                                     (URIRef(BASE_IRI + "doc/germany"), FOAF.primaryTopic)}
    assert (KG["european-union"], RDFS.label, Literal("European Union", lang="en")) in g
    assert (KG["european-union"], RDF.type, KGO.InternationalOrganization) in g
    assert (KGO.State, RDFS.label, Literal("state", lang="en")) in g
    assert (KGO.memberOf, RDFS.label, Literal("member of", lang="en")) in g
    assert (KG["expulsion-by-germany"], RDFS.label, Literal("Germany expels four Russian diplomats", lang="en")) in g
    assert set(g.objects(KG["expulsion-by-germany"], KGO.mentionedIn)) == {KG["passage-20"], KG["passage-21"]}
    exacts = {str(o) for o in g.objects(None, OA.exact)}
    assert exacts == {"Many EU countries also ordered Russian diplomats out.",
                      "Germany, France, and Poland each expelled four; the Czech Republic and Lithuania each "
                      "expelled three; Spain, the Netherlands, Denmark, and Italy each expelled two; and Hungary, "
                      "Sweden, Croatia, Romania, Finland, Latvia, and Estonia announced plans to expel one Russian "
                      "diplomat each."}
    assert {int(o) for o in g.objects(None, OA.start)} == {3859, 3913}


def test_statement_description_by_hand(client: InProcessSite) -> None:
    g = parse(client.get("/doc/statement-london-blames-moscow.jsonld"), "jsonld")
    s = KG["statement-london-blames-moscow"]
    assert own(g, s) == {
        (RDF.type, KGO.Accusation),
        (RDFS.label, Literal("London blames Moscow for the poisoning", lang="en")),
        (KGO.speaker, KG["government-of-the-united-kingdom"]),
        (KGO.target, KG["government-of-russia"]),
        (KGO.paraphrase, Literal("Moscow is to blame for the poisoning of Sergei Skripal and his daughter Yulia; "
                                 "only the Russian state could have been behind the incident.", lang="en")),
        (KGO.about, KG["poisoning-of-sergei-and-yulia-skripal"]),
        (KGO.mentionedIn, KG["passage-05"]), (KGO.mentionedIn, KG["passage-17"]), (KGO.mentionedIn, KG["passage-28"]),
    }
    backlinks = set(g.subject_predicates(s))
    assert (KG["statement-western-officials-share-britains-assessment"], KGO.agreesWith) in backlinks
    assert (KG["government-of-russia"], RDFS.label, Literal("Government of Russia", lang="en")) in g
    assert (KGO.Accusation, RDFS.label, Literal("accusation", lang="en")) in g
    # The selectors of its three passages and of the passages of what links to it (rule 4): blank nodes, so
    # compared by the passage they belong to and what they say.
    assert selectors(g) == selectors(description(s))
    assert len(selectors(g)) == 8


def selectors(graph: Graph) -> set[tuple[object, frozenset[tuple[object, object]]]]:
    """(passage, the selector's own triples as (predicate, object)) for every selector in `graph`."""
    return {(passage, frozenset(graph.predicate_objects(selector)))
            for passage, selector in graph.subject_objects(OA.hasSelector)}


def test_expulsion_description_by_hand(client: InProcessSite) -> None:
    g = parse(client.get("/doc/expulsion-by-germany.rdf"), "rdf")
    e = KG["expulsion-by-germany"]
    assert own(g, e) == {
        (RDF.type, KGO.Expulsion), (RDF.type, KGO.WholeExpulsion),
        (RDFS.label, Literal("Germany expels four Russian diplomats", lang="en")),
        (KGO.agent, KG.germany), (KGO.targetState, KG.russia), (KGO.actedOn, KG["russian-diplomats"]),
        # "4"^^xsd:integer in actions.ttl (the files use xsd:integer: Oxigraph would store derived types so)
        (KGO.numberOfPeople, Literal("4", datatype=XSD.integer)), (KGO.status, KGO.Ordered),
        (KGO.partOf, KG["mass-expulsion-2018"]), (KGO.mentionedIn, KG["passage-20"]),
        (KGO.mentionedIn, KG["passage-21"]),
    }
    assert (KGO.Ordered, RDFS.label, Literal("ordered", lang="en")) in g
    assert (KG.germany, OWL.sameAs, WD.Q183) not in g  # a neighbour's label and type, not its CBD
    assert (KG.germany, RDFS.label, Literal("Germany", lang="en")) in g


# --- unknown IRIs and search -------------------------------------------------------------------------------

def test_unknown_iri_is_404_with_a_search(client: InProcessSite) -> None:
    text = client.get("/id/no-such-thing")
    assert text.status_code == 404 and text.headers["Content-Type"].startswith("text/plain")
    assert "/search?q=no-such-thing" in text.text
    page = client.get("/id/expulsion-by-germny", headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 404 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert re.search(r'<form class="search" method="get" action="/search"', page.text)
    assert 'name="q"' in page.text and 'value="expulsion by germny"' in page.text
    assert 'href="/id/expulsion-by-germany"' in page.text  # a suggestion from the words of the path
    for path in ("/doc/no-such-thing", "/doc/no-such-thing.ttl", "/graph/nope", "/ontology/9.9", "/nowhere"):
        assert client.get(path).status_code == 404, path
    assert client.get("/queries/nope").text.startswith("404 Not Found: no stored query")  # others' 404s unchanged


def test_search_binds_the_text_safely(client: InProcessSite) -> None:
    page = client.get("/search", params={"q": "Germany"})
    assert page.status_code == 200 and 'href="/id/germany"' in page.text
    for hostile in ('") } SELECT * WHERE { ?s ?p ?o } #', "\\\" '''", "x\" . ?s ?p ?o . FILTER(\"", "<script>"):
        response = client.get("/search", params={"q": hostile})
        assert response.status_code == 200, hostile
        assert "<script>" not in response.text.split("<main", 1)[1]


# --- other IRIs we mint -----------------------------------------------------------------------------------

def test_ontology_document(client: InProcessSite) -> None:
    turtle = client.get("/ontology")
    assert turtle.headers["Content-Type"] == "text/turtle; charset=utf-8"
    assert turtle.headers["Content-Location"] == "/ontology.ttl"
    assert isomorphic(parse(turtle, "ttl"), graphs()["ontology"])
    for fmt in ("nt", "jsonld", "rdf"):
        assert isomorphic(parse(client.get(f"/ontology.{fmt}"), fmt), graphs()["ontology"]), fmt
    page = client.get("/ontology", headers={"Accept": BROWSER_ACCEPT})
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    terms = {str(s)[len(str(KGO)):] for s in graphs()["ontology"].subjects() if str(s).startswith(str(KGO))}
    assert len(terms) > 100
    anchors = set(re.findall(r'<section class="term" id="([^"]+)"', page.text))
    assert anchors == terms
    version = client.get("/ontology/0.1.0", allow_redirects=False)
    assert version.status_code == 303 and version.headers["Location"] == "/ontology"


def test_ontology_term_documentation(client: InProcessSite) -> None:
    page = client.get("/ontology.html").text
    section = page.split('<section class="term" id="Expulsion"', 1)[1].split("</section>", 1)[0]
    assert "expulsion of diplomats" in section and "CAMEO code" in section and "161" in section
    assert 'href="/ontology#Action"' in section  # its superclass
    instances = sorted(str(s) for s in set(union().subjects(RDF.type, KGO.Expulsion)))
    assert f"{len(instances)} instances in the data" in section
    for example in instances[:5]:  # the first five, in IRI order
        assert f'href="/id/{example.rsplit("/", 1)[-1]}"' in section
    agent = page.split('<section class="term" id="agent"', 1)[1].split("</section>", 1)[0]
    for fact in ("domain", "range", "subproperty of", 'href="/ontology#Action"', 'href="/ontology#Actor"',
                 'href="http://semanticweb.cs.vu.nl/2009/11/sem/hasActor"'):
        assert fact in agent, fact
    assert f"Used in {len(set(union().triples((None, KGO.agent, None))))} triples" in agent


def test_named_graphs_and_source_files(client: InProcessSite) -> None:
    for name, graph in graphs().items():
        assert isomorphic(parse(client.get(f"/graph/{name}.ttl"), "ttl"), as_stored(graph)), name
        assert client.get(f"/graph/{name}", headers={"Accept": BROWSER_ACCEPT}).status_code == 200
    text = client.get("/source/nato-cuts-russian-mission-staff.txt")
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    metadata = client.get("/source/metadata.json").json()
    assert hashlib.sha256(text.content).hexdigest() == metadata["sha256"]
    assert client.get("/source/../pyproject.toml").status_code == 404


@pytest.mark.parametrize("server_args", [(), ("--dev",)], ids=["gunicorn", "flask-dev-server"])
def test_odd_iris_route_to_their_own_resources(tmp_path_factory: pytest.TempPathFactory,
                                               server_args: tuple[str, ...]) -> None:
    """IRIs with `+`, `%2F`, `:` and non-ASCII characters (Pubby's and LodView's bugs) map to themselves, under
    both servers (they hand the raw path over differently: uvicorn's raw_path, werkzeug's RAW_URI)."""
    root = tmp_path_factory.mktemp("odd-iris")
    (root / "ontology").symlink_to(PROJECT_ROOT / "ontology", target_is_directory=True)
    (root / "queries").mkdir()
    (root / "graph").mkdir()
    (root / "graph" / "odd.ttl").write_text(
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        '<id/a+b> rdfs:label "plus" .\n<id/a%2Fb> rdfs:label "slash" .\n<id/a/b> rdfs:label "path" .\n'
        '<id/x:y> rdfs:label "colon" .\n<id/caf\u00e9> rdfs:label "cafe" .\n', encoding="utf-8")
    odd = start_server(root, "--data-dir", str(root), "--workers", "1", "--query-processes", "1", *server_args)
    try:
        for path, label in (("a+b", "plus"), ("a%2Fb", "slash"), ("a/b", "path"), ("x:y", "colon"),
                            ("caf%C3%A9", "cafe")):
            redirect = odd.get(f"/id/{path}", allow_redirects=False)
            assert redirect.status_code == 303 and redirect.headers["Location"] == f"/doc/{path}", path
            g = parse(odd.get(f"/doc/{path}.nt"), "nt")
            iri = URIRef(BASE_IRI + "id/" + ("caf\u00e9" if label == "cafe" else path))
            document = URIRef(BASE_IRI + "doc/" + ("caf\u00e9" if label == "cafe" else path))
            assert set(g.triples((None, None, None))) == {
                (iri, RDFS.label, Literal(label)), (document, FOAF.primaryTopic, iri),
                (document, DCTERMS.license, URIRef("https://creativecommons.org/licenses/by/4.0/"))}, path
            assert odd.get(f"/doc/{path}", headers={"Accept": BROWSER_ACCEPT}).status_code == 200, path
        assert odd.get("/id/a%2Bb").status_code == 404  # %2B is not '+' in a path: another IRI
    finally:
        stop_server(odd)


def test_served_under_the_path_of_its_base_iri(tmp_path_factory: pytest.TempPathFactory) -> None:
    """With the base https://example.org/kg/ a proxy forwards /kg/... unchanged; the server takes /kg off."""
    base = "http://127.0.0.1:8000/kg/"
    nato = URIRef(base + "id/nato")
    prefixed = start_server(tmp_path_factory.mktemp("prefix"), "--workers", "1", "--query-processes", "1",
                            "--base-iri", base, ready_path="/kg/health")
    try:
        assert prefixed.get("/kg/health").json()["triples"] == 2113
        for _ in range(2):  # evaluated, then from the response cache
            ask = prefixed.get("/kg/sparql", params={"query": f"ASK {{ <{nato}> ?p ?o }}", "format": "json"})
            assert ask.json()["boolean"] is True
        redirect = prefixed.get("/kg/id/nato", allow_redirects=False)
        assert (redirect.status_code, redirect.headers["Location"]) == (303, "/kg/doc/nato")
        assert (nato, RDFS.label, Literal("NATO", lang="en")) in parse(prefixed.get("/kg/doc/nato.nt"), "nt")
        browser = prefixed.get("/kg/sparql?query=ASK%7B%7D", headers={"Accept": BROWSER_ACCEPT}, allow_redirects=False)
        assert (browser.status_code, browser.headers["Location"]) == (303, "/kg/?query=ASK%7B%7D")
        page = prefixed.get("/kg/", headers={"Accept": BROWSER_ACCEPT}).text
        local_links = re.findall(r'(?:action|href|src)="(/[^"]*)"', page)
        assert "/kg/browse" in local_links and all(link.startswith("/kg/") for link in local_links), local_links
    finally:
        stop_server(prefixed)


# --- VoID ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def void(client: InProcessSite) -> Graph:
    return parse(client.get("/.well-known/void"), "ttl")


def test_void_counts_match_the_files(void: Graph) -> None:
    data = union()
    dataset = URIRef(BASE_IRI + ".well-known/void#dataset")
    assert void.value(dataset, VOID.triples).toPython() == len(data)
    assert void.value(dataset, VOID.distinctSubjects).toPython() == len(set(data.subjects()))
    assert void.value(dataset, VOID.distinctObjects).toPython() == len(set(data.objects()))
    assert void.value(dataset, VOID.properties).toPython() == len(set(data.predicates()))
    classes = {void.value(p, VOID["class"]): void.value(p, VOID.entities).toPython()
               for p in void.objects(dataset, VOID.classPartition)}
    expected_classes = Counter(c for _, c in set(data.subject_objects(RDF.type)))
    assert classes == dict(expected_classes)
    properties = {void.value(p, VOID.property): void.value(p, VOID.triples).toPython()
                  for p in void.objects(dataset, VOID.propertyPartition)}
    assert properties == dict(Counter(p for _, p, _ in data))
    linkset = URIRef(BASE_IRI + ".well-known/void#links-to-wikidata")
    assert (linkset, RDF.type, VOID.Linkset) in void
    assert void.value(linkset, VOID.linkPredicate) == OWL.sameAs
    links = [o for o in data.objects(None, OWL.sameAs) if str(o).startswith(str(WD))]
    assert void.value(linkset, VOID.triples).toPython() == len(links) > 50
    for name, graph in graphs().items():
        assert void.value(URIRef(BASE_IRI + "graph/" + name), VOID.triples).toPython() == len(graph)


def test_void_metadata(client: InProcessSite, void: Graph) -> None:
    dataset = URIRef(BASE_IRI + ".well-known/void#dataset")
    assert void.value(dataset, VOID.sparqlEndpoint) == URIRef(BASE_IRI + "sparql")
    assert set(void.objects(dataset, VOID.dataDump)) == {URIRef(f"{BASE_IRI}dumps/dataset.{e}")
                                                         for e in ("ttl", "nt", "nq", "jsonld")}
    assert void.value(dataset, VOID.uriSpace) == Literal(BASE_IRI + "id/")
    assert void.value(dataset, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert void.value(dataset, DCTERMS.source) == KG.article
    for fmt in ("nt", "jsonld", "rdf"):
        assert isomorphic(parse(client.get("/.well-known/void", headers={"Accept": MEDIA[fmt]}), fmt), void)
    description = parse(client.get("/sparql"), "ttl")
    assert URIRef(client.url + "/.well-known/void") in set(description.objects(None, RDFS.seeAlso))


# --- dumps --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ext", ["ttl", "nt", "jsonld"])
def test_dump_is_the_union_of_the_files(server: RunningServer, ext: str) -> None:
    """Live: rdflib fetches the JSON-LD dump's context from the server, as any JSON-LD client does."""
    response = server.get(f"/dumps/dataset.{ext}")
    assert response.headers["Content-Encoding"] == "gzip"  # requests asks for gzip and decodes it
    if ext == "jsonld":
        assert json.loads(response.content)["@context"] == server.url + "/context.jsonld"
        assert server.get("/context.jsonld").json()["@context"]["kgo"] == str(KGO)
    assert isomorphic(parse(response, ext), union())


def test_nquads_dump_keeps_the_named_graphs(client: InProcessSite) -> None:
    dataset = Dataset()
    dataset.parse(data=client.get("/dumps/dataset.nq").content, format="nquads")
    names = {str(g.identifier) for g in dataset.graphs() if len(g)}
    assert names == {BASE_IRI + "graph/" + name for name in graphs()}
    for name, graph in graphs().items():
        assert isomorphic(dataset.graph(URIRef(BASE_IRI + "graph/" + name)), graph), name


def test_dump_caching_and_compression(client: InProcessSite) -> None:
    plain = client.get("/dumps/dataset.nt", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert plain.headers["Content-Type"] == "application/n-triples; charset=utf-8"
    assert "Accept-Encoding" in plain.headers["Vary"]
    raw = client.get("/dumps/dataset.nt", headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(raw.raw) == plain.content
    assert raw.headers["ETag"] != plain.headers["ETag"]
    for headers in ({"If-None-Match": plain.headers["ETag"]}, {"If-Modified-Since": plain.headers["Last-Modified"]}):
        again = client.get("/dumps/dataset.nt", headers={"Accept-Encoding": "identity", **headers})
        assert again.status_code == 304, headers
    newest = max(path.stat().st_mtime for _, path in source_paths())
    assert plain.headers["Last-Modified"] == formatdate(int(newest), usegmt=True)


def test_dumps_are_the_same_bytes_from_every_worker(server: RunningServer) -> None:
    """Two gunicorn workers build their own copy; one ETag must mean one content (blank-node labels too)."""
    bodies = {requests.get(server.url + "/dumps/dataset.nt", headers={"Accept-Encoding": "identity",
                                                                      "Connection": "close"}, timeout=30).content
              for _ in range(8)}
    assert len(bodies) == 1


# --- documents without repeats -------------------------------------------------------------------------------

def every_resource() -> list[str]:
    """The slugs of every IRI under id/ that the graph mentions, as subject or object (from the files)."""
    data = union()
    iris = {str(t) for triple in data for t in (triple[0], triple[2])
            if isinstance(t, URIRef) and str(t).startswith(str(KG))}
    return sorted(iri[len(str(KG)):] for iri in iris)


def test_no_document_repeats_a_triple_in_any_format_and_counts_agree(server: RunningServer) -> None:
    slugs = every_resource()
    assert len(slugs) > 200
    with requests.Session() as session:  # keep-alive: about 700 requests
        for slug in slugs:
            nt = session.get(f"{server.url}/doc/{slug}.nt", timeout=30)
            assert nt.status_code == 200, slug
            lines = [line for line in nt.text.splitlines() if line.strip()]
            repeated = [line for line, n in Counter(lines).items() if n > 1]
            assert not repeated, f"/doc/{slug}.nt repeats {repeated[:3]}"
            for fmt in ("ttl", "jsonld"):
                answer = session.get(f"{server.url}/doc/{slug}.{fmt}", timeout=30)
                assert len(parse(answer, fmt)) == len(lines), (slug, fmt)


def test_the_description_query_on_the_query_page_counts_distinct_triples(server: RunningServer) -> None:
    lines = {line for line in server.get("/doc/nato.nt").text.splitlines() if line.strip()}
    page = server.get("/doc/nato.html")
    query_url = re.search(r'href="(/\?query=[^"]+)"', page.text)[1].replace("&amp;", "&")
    shown = server.get(query_url)
    assert re.search(r'<span class="count">([\d,]+) triples</span>', shown.text)[1] == f"{len(lines):,}"


def test_the_ontology_page_explains_whole_expulsions_and_their_parts(server: RunningServer) -> None:
    page = server.get("/ontology.html").text
    whole = page.split('<section class="term" id="WholeExpulsion"', 1)[1].split("</section>", 1)[0]
    assert "To count people expelled, sum kgo:numberOfPeople over whole expulsions only" in whole
    assert "28 instances in the data" in whole
    part = page.split('<section class="term" id="ExpulsionPart"', 1)[1].split("</section>", 1)[0]
    assert "its count is part of the whole&#39;s, never added to it" in part
    assert "2 instances in the data" in part
    assert 'href="/id/expulsion-of-intelligence-officers-by-united-states"' in part
    model = (PROJECT_ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    assert "Sum `kgo:numberOfPeople` over `kgo:WholeExpulsion`" in model
    assert "`expelled-per-country`" in model


# --- browsers see pages, not downloads ---------------------------------------------------------------------

INLINE_LINKS = {  # what a browser is shown at each link of /browse and of the pages, by media type
    "/.well-known/void": "text/turtle", "/dumps/dataset.ttl": "text/turtle", "/dumps/dataset.nt": "text/plain",
    "/dumps/dataset.nq": "text/plain", "/dumps/dataset.jsonld": "application/json",
    "/queries/nato-mission-size.rq": "text/plain", "/doc/nato.ttl": "text/turtle", "/doc/nato.nt": "text/plain",
    "/doc/nato.jsonld": "application/json", "/doc/nato.rdf": "application/xml",
}
# What RDF clients send, and the format they keep getting.
RDF_CLIENTS = [
    ("application/rdf+xml, */*;q=0.1", "application/rdf+xml"),  # rdflib's Graph.parse(format="xml")
    ("text/turtle,application/x-turtle, */*;q=0.1", "text/turtle"),  # rdflib, format="turtle"
    ("application/ld+json, application/json;q=0.9, */*;q=0.1", "application/ld+json"),  # rdflib, json-ld
    ("application/n-triples", "application/n-triples"),
    ("*/*", "text/turtle"),  # curl
]


def test_a_browser_is_shown_every_linked_file_inline(server: RunningServer) -> None:
    from support.browser import chromium, open_tab

    with chromium() as browser:
        tab = open_tab(browser, javascript=False)
        page = tab.page
        page.goto(server.url + "/browse")
        linked = set(page.eval_on_selector_all("main a[href]", "as => as.map(a => a.getAttribute('href'))"))
        assert {"/.well-known/void", "/dumps/dataset.nt", "/dumps/dataset.jsonld"} <= linked
        for path, media in INLINE_LINKS.items():
            response = page.goto(server.url + path)  # a download would raise "Download is starting"
            assert response is not None and response.status == 200, path
            assert response.headers["content-type"].split(";")[0] == media, path
            assert page.url == server.url + path
            shown = page.inner_text("body")
            if media in ("text/turtle", "text/plain") and not path.endswith(".rq"):
                assert "<http" in shown or "@prefix" in shown or "PREFIX" in shown, path
        accept = response.request.header_value("accept")
        tab.close()
    assert accept and accept.startswith("text/html,")  # Chromium's own header, as it sent it
    for path in INLINE_LINKS:
        answer = server.get(path, headers={"Accept": accept})
        assert answer.headers["Content-Type"].split(";")[0] == INLINE_LINKS[path], path


def test_rdf_clients_keep_their_negotiation(server: RunningServer) -> None:
    for accept, media in RDF_CLIENTS:
        void = server.get("/.well-known/void", headers={"Accept": accept})
        assert void.headers["Content-Type"] == f"{media}; charset=utf-8", accept
    for path, media in (("/dumps/dataset.nt", "application/n-triples"), ("/doc/nato.jsonld", "application/ld+json"),
                        ("/queries/nato-mission-size.rq", "application/sparql-query")):
        for accept in ("*/*", media, "text/turtle, */*;q=0.1"):
            answer = server.get(path, headers={"Accept": accept})
            assert answer.headers["Content-Type"] == f"{media}; charset=utf-8", (path, accept)
    assert len(Graph().parse(server.url + "/.well-known/void")) > 50  # rdflib's own request, as users make it


def test_every_rdf_document_says_what_it_is_about_and_its_licence(server: RunningServer) -> None:
    foaf_topic = URIRef("http://xmlns.com/foaf/0.1/primaryTopic")
    licence = URIRef("https://creativecommons.org/licenses/by/4.0/")
    for slug in ("nato", "expulsion-by-germany", "passage-21"):
        document = URIRef(f"{BASE_IRI}doc/{slug}")
        for fmt in ("ttl", "nt", "jsonld", "rdf"):
            graph = parse(server.get(f"/doc/{slug}.{fmt}"), fmt)
            assert set(graph.subject_objects(foaf_topic)) == {(document, KG[slug])}, (slug, fmt)
            assert set(graph.objects(document, DCTERMS.license)) == {licence}, (slug, fmt)
    page = server.get("/doc/nato.html").text  # the page is the document: not listed as pointing at its topic
    assert ">foaf:primaryTopic<" not in page and ">http://xmlns.com/foaf/0.1/primaryTopic<" not in page
