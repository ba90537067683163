"""The W3C SPARQL 1.1 Service Description answered by GET /sparql with no query."""

from __future__ import annotations

from collections.abc import Sequence

import pyoxigraph as ox

from nato_kg import formats
from nato_kg.namespaces import DCTERMS, RDF, RDFS, SD
from nato_kg.settings import Settings

RDF_TYPE = ox.NamedNode(RDF + "type")
# The result and graph formats a query is answered in, as the W3C names them.
RESULT_FORMAT_IRIS = tuple(formats.W3C_FORMATS + str(formats.FORMATS[name].w3c_name)
                           for name in (*formats.RESULT_FORMATS, *formats.GRAPH_FORMATS))
PREFIXES = {"sd": SD, "formats": formats.W3C_FORMATS, "dcterms": DCTERMS}


def describe(endpoint: str, settings: Settings, graphs: Sequence[str]) -> list[ox.Triple]:
    def sd(name: str) -> ox.NamedNode:
        return ox.NamedNode(SD + name)

    service, dataset = ox.BlankNode("service"), ox.BlankNode("dataset")
    default_graph = ox.BlankNode("default")
    triples = [
        ox.Triple(service, RDF_TYPE, sd("Service")),
        ox.Triple(service, sd("endpoint"), ox.NamedNode(endpoint)),
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(service, sd("feature"), sd("UnionDefaultGraph")),
        ox.Triple(service, ox.NamedNode(DCTERMS + "title"),
                  ox.Literal("NATO expulsions knowledge graph: read-only SPARQL endpoint", language="en")),
        *(ox.Triple(service, sd("resultFormat"), ox.NamedNode(f)) for f in RESULT_FORMAT_IRIS),
        ox.Triple(service, sd("defaultDataset"), dataset),
        ox.Triple(dataset, RDF_TYPE, sd("Dataset")),
        ox.Triple(dataset, sd("defaultGraph"), default_graph),
        ox.Triple(default_graph, RDF_TYPE, sd("Graph")),
        # The VoID description of the dataset (server/web/ld/void.py), on the same host as this endpoint.
        ox.Triple(dataset, ox.NamedNode(RDFS + "seeAlso"),
                  ox.NamedNode(endpoint.rsplit("/sparql", 1)[0] + "/.well-known/void")),
    ]
    if settings.allowed_service_endpoints:
        triples.append(ox.Triple(service, sd("feature"), sd("BasicFederatedQuery")))
    for number, graph in enumerate(graphs):
        node = ox.BlankNode(f"graph{number}")
        triples += [ox.Triple(dataset, sd("namedGraph"), node), ox.Triple(node, RDF_TYPE, sd("NamedGraph")),
                    ox.Triple(node, sd("name"), ox.NamedNode(graph))]
    return triples


def serialize(endpoint: str, settings: Settings, graphs: Sequence[str], fmt: str) -> bytes:
    """The description in one of the graph formats (short names as in server/formats.py)."""
    data = ox.serialize(describe(endpoint, settings, graphs), format=formats.writer(fmt),
                        prefixes=PREFIXES if fmt == "ttl" else None)
    return data or b""
