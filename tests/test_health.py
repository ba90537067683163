from server.store import load_dataset, native_store


def test_health_reports_the_store_and_its_triple_count(server, settings):
    expected = len(native_store(load_dataset(settings)))
    response = server.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["triples"] == expected
    assert body["graphs"] == [settings.graph_iri(name) for name in ("article", "ontology", "wikidata")]
