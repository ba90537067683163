"""The ontology at its namespace: `<base>ontology` is one document, and every term `<base>ontology#Term` is
an anchor in it (hash IRIs: a browser asks for /ontology and scrolls to #Term).

Negotiated like every document here (server/web/ld/documents.py): HTML for browsers, the ontology graph in
Turtle, N-Triples, JSON-LD or RDF/XML for machines; `/ontology.ttl`, `.nt`, `.jsonld`, `.rdf`, `.html`.

The HTML is our own template rather than pyLODE's output: pyLODE writes inline styles and scripts (which
our Content-Security-Policy refuses), knows nothing of the data, and would be one more heavy dependency;
this page adds what pyLODE cannot — how many resources use each term, with examples linked to their pages.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, abort, render_template, request

from nato_kg.web import protocol
from nato_kg.web.html import html_response, namer, select
from nato_kg.web.ld import documents
from nato_kg.web.ld.descriptions import OWL, RDF, RDF_TYPE, RDFS, RDFS_COMMENT, SKOS, Index, first_literal
from nato_kg.web.state import state

bp = Blueprint("ontology_docs", __name__)
EXAMPLES_SHOWN = 5
PROPERTY_KINDS = {OWL + "ObjectProperty": "object property", OWL + "DatatypeProperty": "datatype property",
                  OWL + "AnnotationProperty": "annotation property"}
CHARACTERISTICS = {OWL + "FunctionalProperty": "functional", OWL + "InverseFunctionalProperty": "inverse functional",
                   OWL + "TransitiveProperty": "transitive", OWL + "SymmetricProperty": "symmetric"}
ALIGNMENTS = ((RDFS + "subClassOf", "subclass of"), (RDFS + "subPropertyOf", "subproperty of"),
              (OWL + "equivalentClass", "equivalent class"), (OWL + "equivalentProperty", "equivalent property"),
              (SKOS + "closeMatch", "close match"), (SKOS + "exactMatch", "exact match"))


def ontology_query() -> str:
    graph = ox.NamedNode(state().settings.graph_iri("ontology"))
    return f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }}"


@bp.get("/ontology")
def ontology() -> Response:
    return _answer(documents.negotiate(), negotiated=True)


@bp.get("/ontology.<ext>")
def ontology_as(ext: str) -> Response:
    fmt = documents.BY_EXTENSION.get(ext) or abort(404)
    return _answer(fmt, negotiated=False)


def _answer(fmt: str, *, negotiated: bool) -> Response:
    if fmt != "html":
        return documents.finish(protocol.respond(ontology_query(), fmt), "/ontology", fmt, negotiated=negotiated)
    html = render_template("ontology.html", doc=_doc(), formats=documents.format_links("/ontology"),
                           query_url=f"{request.script_root}/?{urlencode({'query': ontology_query()})}")
    return documents.finish(html_response(html), "/ontology", "html", negotiated=negotiated)


def _doc() -> OntologyDoc:
    """The documentation's model, built once per process: the data changes only on restart. Its links carry
    the app's path prefix (fixed by the deployment, not the client: a few at most are kept); the page around
    it names the request's host, so it is rendered per request."""
    cache: dict[str, OntologyDoc] = state().ontology_docs
    key = request.script_root
    if key not in cache:
        if len(cache) >= 4:
            cache.clear()
        cache[key] = build_doc()
    return cache[key]


# --- the documentation's model ----------------------------------------------------------------------------

@dataclass
class TermDoc:
    iri: str
    anchor: str
    label: str
    comment: str | None
    kind: str
    facts: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    count: int = 0
    examples: list[list[dict[str, Any]]] = field(default_factory=list)
    children: list[str] = field(default_factory=list)


@dataclass
class OntologyDoc:
    iri: str
    label: str
    comment: str | None
    header: list[tuple[str, list[dict[str, Any]]]]
    classes: list[TermDoc]
    properties: list[TermDoc]
    individuals: list[TermDoc]
    roots: list[str]
    by_iri: dict[str, TermDoc]


def build_doc() -> OntologyDoc:
    base = state().settings.base_iri
    ns = base + "ontology#"
    body = state().service.run(ontology_query(), "nt").body
    index = Index(ox.parse(body, ox.RdfFormat.N_TRIPLES))
    names = namer()

    def cell(term: Any) -> dict[str, Any]:
        if isinstance(term, ox.NamedNode):
            result = names.iri_cell(term.value)
            label = index.label(term)
            return {**result, "label": label} if label else result
        if isinstance(term, ox.BlankNode):
            members = _rdf_list(index, term)
            if members is not None:
                return {"type": "list", "items": [cell(m) for m in members]}
            return {"type": "bnode", "text": "_:" + term.value}
        return {"type": "literal", "text": term.value, "lang": term.language, "datatype": None}

    def values(node: ox.NamedNode, predicate: str) -> list[dict[str, Any]]:
        return [cell(v) for v in sorted(index.values(node, predicate), key=lambda t: str(t))]

    terms: dict[str, TermDoc] = {}
    for subject in index.out:
        if not isinstance(subject, ox.NamedNode) or not subject.value.startswith(ns):
            continue
        types = {t.value for t in index.values(subject, RDF_TYPE) if isinstance(t, ox.NamedNode)}
        kind = ("class" if OWL + "Class" in types or RDFS + "Class" in types
                else next((PROPERTY_KINDS[t] for t in sorted(types) if t in PROPERTY_KINDS), "individual"))
        doc = TermDoc(subject.value, subject.value[len(ns):], index.label(subject) or subject.value[len(ns):],
                      first_literal(index.values(subject, RDFS_COMMENT)), kind)
        if kind == "individual":
            doc.facts.append(("type", values(subject, RDF_TYPE)))
        traits = [CHARACTERISTICS[t] for t in sorted(types) if t in CHARACTERISTICS]
        if traits:
            doc.facts.append(("characteristics", [{"type": "literal", "text": ", ".join(traits)}]))
        for predicate, name in ((RDFS + "domain", "domain"), (RDFS + "range", "range"), *ALIGNMENTS,
                                (OWL + "disjointWith", "disjoint with"), (OWL + "oneOf", "one of"),
                                (ns + "cameoCode", "CAMEO code"), (SKOS + "altLabel", "also called")):
            found = values(subject, predicate)
            if found:
                doc.facts.append((name, found))
        terms[subject.value] = doc

    # Inverse facts: subclasses, subproperties, and the properties whose domain or range a class is.
    inverse = ((RDFS + "subClassOf", "subclasses"), (RDFS + "subPropertyOf", "subproperties"),
               (RDFS + "domain", "properties with this domain"), (RDFS + "range", "properties with this range"))
    for predicate, name in inverse:
        found: dict[str, list[str]] = defaultdict(list)
        for doc in terms.values():
            for target in index.values(ox.NamedNode(doc.iri), predicate):
                if isinstance(target, ox.NamedNode) and target.value in terms:
                    found[target.value].append(doc.iri)
        for target, sources in found.items():
            terms[target].facts.append((name, [cell(ox.NamedNode(s)) for s in sorted(sources)]))
            if predicate == RDFS + "subClassOf":
                terms[target].children = sorted(sources, key=lambda s: terms[s].label.lower())

    _add_usage(terms, ns)
    classes = sorted((t for t in terms.values() if t.kind == "class"), key=lambda t: t.label.lower())
    roots = [t.iri for t in classes
             if not any(isinstance(s, ox.NamedNode) and s.value in terms
                        for s in index.values(ox.NamedNode(t.iri), RDFS + "subClassOf"))]
    ontology = ox.NamedNode(base + "ontology")
    header = [(name, values(ontology, p)) for p, name in (
        (OWL + "versionInfo", "version"), (OWL + "versionIRI", "version IRI"),
        ("http://purl.org/dc/terms/created", "created"), ("http://purl.org/dc/terms/license", "licence"),
        (RDFS + "seeAlso", "see also"))]
    return OntologyDoc(
        iri=ontology.value, label=index.label(ontology) or "Ontology",
        comment=first_literal(index.values(ontology, RDFS_COMMENT)), header=[h for h in header if h[1]],
        classes=classes,
        properties=sorted((t for t in terms.values() if t.kind.endswith("property")), key=lambda t: t.label.lower()),
        individuals=sorted((t for t in terms.values() if t.kind == "individual"), key=lambda t: t.label.lower()),
        roots=roots, by_iri=terms,
    )


def _add_usage(terms: dict[str, TermDoc], ns: str) -> None:
    """Counts and examples of use, from the data: instances per class (with its subclasses), triples per
    property, and uses (as object) per individual."""
    names = namer()
    in_ns = f"FILTER(STRSTARTS(STR(?t), {ox.Literal(ns)}))"
    rdfs = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
    class_counts = rdfs + ("SELECT ?t (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a ?d . ?d rdfs:subClassOf* ?t . "
                           + in_ns + " } GROUP BY ?t")
    class_rows = rdfs + ("SELECT DISTINCT ?t ?x ?xl WHERE { ?x a ?d . ?d rdfs:subClassOf* ?t . " + in_ns
                         + " OPTIONAL { ?x rdfs:label ?xl } } ORDER BY ?t ?x LIMIT 20000")
    property_counts = "SELECT ?t (COUNT(*) AS ?n) WHERE { ?x ?t ?y . " + in_ns + " } GROUP BY ?t"
    property_rows = rdfs + ("SELECT ?t ?x ?xl ?y ?yl WHERE { ?x ?t ?y . " + in_ns
                            + " OPTIONAL { ?x rdfs:label ?xl } OPTIONAL { ?y rdfs:label ?yl } } ORDER BY ?t ?x ?y"
                            " LIMIT 20000")
    individual_counts = "SELECT ?t (COUNT(*) AS ?n) WHERE { ?x ?p ?t . " + in_ns + " } GROUP BY ?t"

    def link(value: Any, label: str | None) -> dict[str, Any]:
        if value is None:
            return {"type": "literal", "text": ""}
        value = str(value)
        if value.startswith(("http://", "https://")):
            cell = names.iri_cell(value)
            return {**cell, "label": label} if label else cell
        return {"type": "literal", "text": value if len(value) <= 120 else value[:117] + "…"}

    for query, kinds in ((class_counts, ("class",)), (individual_counts, ("individual",))):
        for row in select(query):
            term = terms.get(row["t"])
            if term and term.kind in kinds:
                term.count = row["n"]
    for row in select(property_counts):
        term = terms.get(row["t"])
        if term and term.kind.endswith("property"):
            term.count = row["n"]
    for row in select(class_rows):
        term = terms.get(row["t"])
        if (term and term.kind == "class" and len(term.examples) < EXAMPLES_SHOWN
                and all(e[0].get("value") != row["x"] for e in term.examples)):
            term.examples.append([link(row["x"], row.get("xl"))])
    for row in select(property_rows):
        term = terms.get(row["t"])
        if term and term.kind.endswith("property") and len(term.examples) < 3:
            term.examples.append([link(row["x"], row.get("xl")), link(row.get("y"), row.get("yl"))])


def _rdf_list(index: Index, node: Any) -> list[Any] | None:
    items = []
    seen = set()
    while isinstance(node, ox.BlankNode) and node not in seen:
        seen.add(node)
        first = index.values(node, RDF + "first")
        if not first:
            return None
        items.append(first[0])
        rest = index.values(node, RDF + "rest")
        node = rest[0] if rest else None
    return items if isinstance(node, ox.NamedNode) and node.value == RDF + "nil" else None


__all__ = ["bp", "build_doc", "ontology_query"]
