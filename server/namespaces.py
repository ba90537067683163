"""The namespaces IRIs are written with: ours (from the base IRI), the common ones, and a query's own.

One table for every place that shortens or expands IRIs: the query page, resource pages, stored-query
parameters, Turtle answers, the dumps' JSON-LD context and `kg query`'s tables.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

COMMON_PREFIXES = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "schema": "http://schema.org/",
    "dcterms": "http://purl.org/dc/terms/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "prov": "http://www.w3.org/ns/prov#",
    "oa": "http://www.w3.org/ns/oa#",
    "sem": "http://semanticweb.cs.vu.nl/2009/11/sem/",
    "sh": "http://www.w3.org/ns/shacl#",
    "wd": "http://www.wikidata.org/entity/",
    "wdt": "http://www.wikidata.org/prop/direct/",
}
# Namespaces the code writes IRIs in, by name: those above, and the vocabularies only our descriptions use
# (VoID, FOAF, the SPARQL service description), which are not offered to queries as prefixes.
RDF = COMMON_PREFIXES["rdf"]
RDFS = COMMON_PREFIXES["rdfs"]
OWL = COMMON_PREFIXES["owl"]
XSD = COMMON_PREFIXES["xsd"]
SKOS = COMMON_PREFIXES["skos"]
OA = COMMON_PREFIXES["oa"]
DCTERMS = COMMON_PREFIXES["dcterms"]
WIKIDATA_ENTITY = COMMON_PREFIXES["wd"]
VOID = "http://rdfs.org/ns/void#"
FOAF = "http://xmlns.com/foaf/0.1/"
SD = "http://www.w3.org/ns/sparql-service-description#"
WIKIDATA_SPARQL = "https://query.wikidata.org/sparql"  # Wikidata's query service, allowed for SERVICE by default

_PREFIX_DECL = re.compile(r"(?im)^\s*PREFIX\s+([A-Za-z][\w.-]*)?:\s*<([^<>\"{}|^`\\\s]*)>")
_BASE_DECL = re.compile(r"(?im)^\s*BASE\s*<([^<>\"{}|^`\\\s]*)>")


def prefixes(base_iri: str) -> dict[str, str]:
    """kg: and kgo: for this deployment's base IRI, then the common namespaces."""
    return {"kg": base_iri + "id/", "kgo": base_iri + "ontology#", **COMMON_PREFIXES}


def query_prefixes(query: str, base_iri: str) -> dict[str, str]:
    """`prefixes(base_iri)` overridden by the query's own PREFIX lines, relative ones resolved against its
    BASE (or the service's base IRI), as the engine resolves them: `PREFIX kg: <id/>`."""
    table = prefixes(base_iri)
    base = base_iri
    declared = _BASE_DECL.search(query)
    if declared:
        base = resolve(base, declared[1])
    for prefix, namespace in _PREFIX_DECL.findall(query):
        table[prefix] = resolve(base, namespace)
    return table


def resolve(base: str, reference: str) -> str:
    """`reference` resolved against `base` (a malformed one is returned as it is)."""
    try:
        joined = urljoin(base, reference)
    except ValueError:  # e.g. an unclosed IPv6 authority: not an IRI the engine could resolve either
        return reference
    return joined + "#" if reference.endswith("#") and not joined.endswith("#") else joined  # urljoin drops it
