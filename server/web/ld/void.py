"""The VoID description of the dataset at /.well-known/void (RFC 5785; Turtle unless Accept asks otherwise).

Every number is counted by the query service over the data being served (distinct triples of the union
default graph), once per process: the data changes only when the server restarts.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Response, request

from nato_kg import formats
from nato_kg.namespaces import (
    COMMON_PREFIXES,
    DCTERMS,
    FOAF,
    OWL,
    RDF,
    VOID,
    WIKIDATA_ENTITY,
    WIKIDATA_SPARQL,
    XSD,
    prefixes,
)
from nato_kg.web.html import select
from nato_kg.web.ld import documents
from nato_kg.web.ld.dumps import DUMPS
from nato_kg.web.state import state

bp = Blueprint("void", __name__)
RDF_TYPE = ox.NamedNode(RDF + "type")
OWL_SAME_AS = OWL + "sameAs"
EXTRA_PREFIXES = {"void": VOID, "foaf": FOAF, "formats": formats.W3C_FORMATS}
VOCABULARIES = tuple(COMMON_PREFIXES[p] for p in ("schema", "sem", "prov", "oa", "skos", "dcterms", "owl", "rdfs"))
EXAMPLES = ("germany", "expulsion-by-germany", "statement-london-blames-moscow")

DISTINCT = "{ SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"
COUNTS = f"""SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?subjects) (COUNT(DISTINCT ?o) AS ?objects)
  (COUNT(DISTINCT ?p) AS ?properties) WHERE {DISTINCT}"""
CLASSES = "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c ORDER BY ?c"
PROPERTIES = f"SELECT ?p (COUNT(*) AS ?n) WHERE {DISTINCT} GROUP BY ?p ORDER BY ?p"
LINKS = f"""SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?o WHERE {{
  ?s <{OWL_SAME_AS}> ?o FILTER(STRSTARTS(STR(?o), "{WIKIDATA_ENTITY}")) }} }}"""


def void_iri(base: str) -> str:
    return base + ".well-known/void"


def describe() -> list[ox.Triple]:
    """The VoID triples (counted once per process)."""
    cached = state().void_triples
    if cached is not None:
        return cached
    base = state().settings.base_iri
    doc = void_iri(base)
    dataset, wikidata, linkset = (ox.NamedNode(f"{doc}#{n}") for n in ("dataset", "wikidata", "links-to-wikidata"))
    triples: list[ox.Triple] = []

    def add(subject: Any, predicate: str, obj: Any) -> None:
        if isinstance(obj, int) and not isinstance(obj, bool):
            obj = ox.Literal(str(obj), datatype=ox.NamedNode(XSD + "integer"))
        triples.append(ox.Triple(subject, ox.NamedNode(predicate), obj))

    def iri(value: str) -> ox.NamedNode:
        return ox.NamedNode(value)

    counts = select(COUNTS)[0]
    add(ox.NamedNode(doc), RDF_TYPE.value, iri(VOID + "DatasetDescription"))
    add(ox.NamedNode(doc), FOAF + "primaryTopic", dataset)
    add(dataset, RDF_TYPE.value, iri(VOID + "Dataset"))
    add(dataset, DCTERMS + "title", ox.Literal("NATO expulsions knowledge graph", language="en"))
    add(dataset, DCTERMS + "description", ox.Literal(
        "Actors, actions and statements of one news article (RFE/RL, 'NATO Cuts Russian Mission Staff Over Spy "
        "Poisoning', 27 March 2018), every fact traced to the sentence it comes from; actors linked to "
        "Wikidata.", language="en"))
    add(dataset, DCTERMS + "license", iri(documents.LICENSE))
    add(dataset, DCTERMS + "source", iri(base + "id/article"))
    add(dataset, VOID + "sparqlEndpoint", iri(base + "sparql"))
    for fmt in DUMPS:
        add(dataset, VOID + "dataDump", iri(f"{base}dumps/dataset.{fmt}"))
    add(dataset, VOID + "uriSpace", ox.Literal(base + "id/"))
    add(dataset, VOID + "vocabulary", iri(base + "ontology"))
    for vocabulary in VOCABULARIES:
        add(dataset, VOID + "vocabulary", iri(vocabulary))
    for example in EXAMPLES:
        add(dataset, VOID + "exampleResource", iri(f"{base}id/{example}"))
    for name in ("ttl", "nt", "jsonld", "rdfxml", "nq"):  # what the dumps and documents are given in
        add(dataset, VOID + "feature", iri(formats.W3C_FORMATS + str(formats.FORMATS[name].w3c_name)))
    add(dataset, VOID + "triples", counts["triples"])
    add(dataset, VOID + "distinctSubjects", counts["subjects"])
    add(dataset, VOID + "distinctObjects", counts["objects"])
    add(dataset, VOID + "properties", counts["properties"])
    classes = select(CLASSES)
    add(dataset, VOID + "classes", len(classes))
    for number, row in enumerate(classes):
        node = ox.BlankNode(f"class{number}")
        add(dataset, VOID + "classPartition", node)
        add(node, VOID + "class", iri(row["c"]))
        add(node, VOID + "entities", row["n"])
    for number, row in enumerate(select(PROPERTIES)):
        node = ox.BlankNode(f"property{number}")
        add(dataset, VOID + "propertyPartition", node)
        add(node, VOID + "property", iri(row["p"]))
        add(node, VOID + "triples", row["n"])
    for graph in state().service.held_graphs:
        count = select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {ox.NamedNode(graph)} {{ ?s ?p ?o }} }}")[0]["n"]
        add(dataset, VOID + "subset", iri(graph))
        add(iri(graph), RDF_TYPE.value, iri(VOID + "Dataset"))
        add(iri(graph), VOID + "triples", count)
        if graph.startswith(base + "graph/"):
            add(iri(graph), VOID + "dataDump", iri(graph + ".ttl"))

    add(wikidata, RDF_TYPE.value, iri(VOID + "Dataset"))
    add(wikidata, DCTERMS + "title", ox.Literal("Wikidata", language="en"))
    add(wikidata, FOAF + "homepage", iri("https://www.wikidata.org/"))
    add(wikidata, VOID + "sparqlEndpoint", iri(WIKIDATA_SPARQL))
    add(wikidata, VOID + "uriSpace", ox.Literal(WIKIDATA_ENTITY))
    add(linkset, RDF_TYPE.value, iri(VOID + "Linkset"))
    add(linkset, VOID + "subjectsTarget", dataset)
    add(linkset, VOID + "objectsTarget", wikidata)
    add(linkset, VOID + "linkPredicate", iri(OWL_SAME_AS))
    add(linkset, VOID + "triples", select(LINKS)[0]["n"])
    add(dataset, VOID + "subset", linkset)
    state().void_triples = triples
    return triples


@bp.get("/.well-known/void")
def void() -> Response:
    fmt = documents.negotiate(html=False)
    table = {**prefixes(state().settings.base_iri), **EXTRA_PREFIXES} if fmt == "ttl" else None
    body = ox.serialize(describe(), format=formats.writer(fmt), prefixes=table) or b""
    response = Response(body, content_type=formats.media_type(fmt))
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.headers["Cache-Control"] = "public, max-age=60"
    response.vary.add("Accept")
    return response.make_conditional(request)


__all__ = ["bp", "describe", "void_iri"]
