"""An independent reference for the linked-data tests: the Turtle files parsed by rdflib (not by the
server's loader, not by Oxigraph), and the description of a resource computed by walking that graph in
Python, rule by rule as docs/linked-data.md states them — never by SPARQL, never from the server."""

from __future__ import annotations

from functools import cache

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from nato_kg.settings import PROJECT_ROOT

BASE_IRI = "http://127.0.0.1:8000/"
KG = Namespace(BASE_IRI + "id/")
KGO = Namespace(BASE_IRI + "ontology#")
OA = Namespace("http://www.w3.org/ns/oa#")
WD = Namespace("http://www.wikidata.org/entity/")
GRAPH_OF = {"wikidata-links.ttl": "wikidata"}


def source_paths() -> list[tuple[str, object]]:
    """(named graph short name, path) for every file of the dataset."""
    paths = [("ontology", p) for p in sorted((PROJECT_ROOT / "ontology").glob("*.ttl")) if p.name != "shapes.ttl"]
    paths += [(GRAPH_OF.get(p.name, "article"), p) for p in sorted((PROJECT_ROOT / "graph").glob("*.ttl"))]
    return paths


@cache
def graphs() -> dict[str, Graph]:
    """One rdflib graph per named graph, each file parsed on its own (so blank nodes never merge)."""
    found: dict[str, Graph] = {}
    for name, path in source_paths():
        found.setdefault(name, Graph()).parse(path, format="turtle", publicID=BASE_IRI)
    return found


@cache
def union() -> Graph:
    g = Graph()
    for part in graphs().values():
        for triple in part:
            g.add(triple)
    return g


# Oxigraph stores a literal of a type derived from xsd:integer as xsd:integer (its canonical form). Our files
# write counts and offsets as xsd:integer for that reason; this guard keeps the comparison honest should a
# curator write a derived type again (the dumps keep the files' types; descriptions come from the store).
DERIVED_INTEGERS = {XSD[name] for name in (
    "nonNegativeInteger", "positiveInteger", "nonPositiveInteger", "negativeInteger", "long", "int", "short",
    "byte", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte")}


def as_stored(graph: Graph) -> Graph:
    """`graph` with literals as the store gives them back (derived integer types as xsd:integer)."""
    out = Graph()
    for s, p, o in graph:
        if isinstance(o, Literal) and o.datatype in DERIVED_INTEGERS:
            o = Literal(str(o), datatype=XSD.integer)
        out.add((s, p, o))
    return out


def description(iri: URIRef) -> Graph:
    """The description of `iri`, by the four rules (own triples and blank nodes two deep; backlinks; label
    and type of every neighbour and predicate, label of those types; quotes and passages with selectors)."""
    g, out = union(), Graph()
    own = list(g.triples((iri, None, None)))
    for s, p, o in own:
        out.add((s, p, o))
        if isinstance(o, BNode):
            for t in g.triples((o, None, None)):
                out.add(t)
                if isinstance(t[2], BNode):
                    for u in g.triples((t[2], None, None)):
                        out.add(u)
    back = list(g.triples((None, None, iri)))
    for t in back:
        out.add(t)
    neighbours = {o for _, _, o in own} | {p for _, p, _ in own} | {s for s, _, _ in back} | {p for _, p, _ in back}
    for n in neighbours:
        if isinstance(n, Literal):
            continue
        for label in g.objects(n, RDFS.label):
            out.add((n, RDFS.label, label))
        for kind in g.objects(n, RDF.type):
            out.add((n, RDF.type, kind))
            for label in g.objects(kind, RDFS.label):
                out.add((kind, RDFS.label, label))
    for e in {iri} | {s for s, _, _ in back}:
        for quote in g.objects(e, KGO.quote):
            out.add((e, KGO.quote, quote))
        for passage in g.objects(e, KGO.mentionedIn):
            out.add((e, KGO.mentionedIn, passage))
            for label in g.objects(passage, RDFS.label):
                out.add((passage, RDFS.label, label))
            for selector in g.objects(passage, OA.hasSelector):
                out.add((passage, OA.hasSelector, selector))
                for t in g.triples((selector, None, None)):
                    out.add(t)
    # Rule 5, the document: what it is about and under which licence.
    document = URIRef(str(iri).replace(str(KG), BASE_IRI + "doc/", 1))
    out.add((document, URIRef("http://xmlns.com/foaf/0.1/primaryTopic"), iri))
    out.add((document, URIRef("http://purl.org/dc/terms/license"), URIRef("https://creativecommons.org/licenses/by/4.0/")))
    return as_stored(out)


__all__ = ["BASE_IRI", "KG", "KGO", "OA", "OWL", "WD", "as_stored", "description", "graphs", "source_paths", "union"]
