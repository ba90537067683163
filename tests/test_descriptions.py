"""A resource's description as pure functions: the CONSTRUCT query (run here on a plain pyoxigraph store, no
query service), the page model built from its triples, the quote highlighting and the IRI namer. Expected
data comes from the Turtle files (tests/support/ld_reference.py) or the article."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic
from support.ld_reference import BASE_IRI, KG, description

from nato_kg.web.html import Namer
from nato_kg.web.ld.descriptions import Segment, build_page, description_query, exists_query, highlight

KGO = BASE_IRI + "ontology#"
NAMER = Namer(BASE_IRI, "", {"kg": BASE_IRI + "id/", "kgo": KGO})


def described(store: ox.Store, slug: str) -> list[ox.Triple]:
    return list(store.query(description_query(BASE_IRI + "id/" + slug, BASE_IRI), use_default_graph_as_union=True))


@pytest.mark.parametrize("slug", ["germany", "statement-london-blames-moscow", "expulsion-by-germany"])
def test_the_description_query_gives_the_reference_description(reference_store: ox.Store, slug: str) -> None:
    nt = ox.serialize(described(reference_store, slug), format=ox.RdfFormat.N_TRIPLES)
    assert isomorphic(rdflib.Graph().parse(data=nt, format="nt"), description(KG[slug]))


def test_iris_that_could_break_out_of_the_query_are_refused() -> None:
    for bad in ("http://x/> } ?s ?p ?o . { <y", "http://x/a b", 'http://x/"'):
        with pytest.raises(ValueError):
            description_query(bad, BASE_IRI)
        with pytest.raises(ValueError):
            exists_query(bad)


def test_exists_query(reference_store: ox.Store) -> None:
    assert bool(reference_store.query(exists_query(BASE_IRI + "id/germany"), use_default_graph_as_union=True))
    assert not bool(reference_store.query(exists_query(BASE_IRI + "id/germny"), use_default_graph_as_union=True))


def test_the_page_of_a_country(reference_store: ox.Store) -> None:
    page = build_page(BASE_IRI + "id/germany", described(reference_store, "germany"), NAMER, KGO)
    assert page.title == "Germany"
    assert [(t["text"], t["label"], t["href"]) for t in page.types] == [("kgo:State", "state", "/ontology#State")]
    assert page.wikidata == ["http://www.wikidata.org/entity/Q183"]
    assert [(row.predicate["value"], [v["text"] for v in row.values]) for row in page.properties] == [
        ("http://www.w3.org/1999/02/22-rdf-syntax-ns#type", ["kgo:State"]),
        ("http://www.w3.org/2000/01/rdf-schema#label", ["Germany"]),
        (KGO + "memberOf", ["kg:european-union"]),
        ("http://www.w3.org/2002/07/owl#sameAs", ["http://www.wikidata.org/entity/Q183"]),
    ]
    (expulsion,) = page.actions  # Germany is the agent of one action in the article, and says nothing
    assert expulsion.link["label"] == "Germany expels four Russian diplomats" and expulsion.roles == ["agent"]
    # Sentences 20 and 21, in the order of the text, at their offsets in the shipped article.
    assert [(s.link["label"], s.start, s.end) for s in expulsion.sources] == [
        ("Sentence 20 of the article", 3859, 3912), ("Sentence 21 of the article", 3913, 4196)]
    assert page.statements == [] and page.backlinks == []


def test_a_statement_page_lists_its_sentences_in_text_order(reference_store: ox.Store) -> None:
    page = build_page(BASE_IRI + "id/statement-london-blames-moscow",
                      described(reference_store, "statement-london-blames-moscow"), NAMER, KGO)
    assert page.title == "London blames Moscow for the poisoning"
    assert [s.link["label"] for s in page.sources] == [
        "Sentence 5 of the article", "Sentence 17 of the article", "Sentence 28 of the article"]


def test_highlight_marks_quotes_longest_first_without_overlap() -> None:
    assert highlight("a reckless act, reckless", ["reckless act", "reckless", ""]) == [
        Segment("a "), Segment("reckless act", True), Segment(", "), Segment("reckless", True)]
    assert highlight("nothing quoted", ["absent"]) == [Segment("nothing quoted")]


def test_the_namer_links_ours_locally_and_never_links_scripts() -> None:
    nato = BASE_IRI + "id/nato"
    assert NAMER.iri_cell(nato) == {"type": "uri", "value": nato, "text": "kg:nato", "name": "kg:nato",
                                    "href": "/id/nato"}
    labelled = Namer(BASE_IRI, "", NAMER.prefixes, labels={nato: "NATO"})
    assert (labelled.iri_cell(nato)["text"], labelled.iri_cell(nato)["name"]) == ("NATO", "kg:nato")
    assert Namer(BASE_IRI, "/kg").href(BASE_IRI + "doc/nato") == "/kg/doc/nato"
    assert NAMER.href("https://www.wikidata.org/wiki/Q183") == "https://www.wikidata.org/wiki/Q183"
    assert NAMER.href("javascript:alert(1)") is None
    assert NAMER.short("http://elsewhere.example/x") is None
