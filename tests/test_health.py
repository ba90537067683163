from support.ld_reference import union


def test_health_reports_the_store_and_its_triple_count(client, settings):
    # Counted by rdflib from the Turtle files (tests/support/ld_reference.py), not by the loader the server uses.
    expected = len(union())
    assert expected == 2113
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["triples"] == expected
    assert body["graphs"] == [settings.graph_iri(name) for name in ("article", "ontology", "wikidata")]
