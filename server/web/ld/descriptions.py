"""What a resource's description holds, as one SPARQL CONSTRUCT, and how an HTML page is made from it.

The description of a resource R (the answer of `description_query(R)`, served at /doc/<slug> in every
format, and the data the resource's HTML page shows — nothing else) is:

1. every triple whose subject is R, and for each blank-node object of those (selectors) its triples, two
   levels deep (the Concise Bounded Description of R, as deep as this graph's blank nodes go);
2. every triple whose object is R (backlinks);
3. for every node N that R links to or that links to R, and for every predicate of 1 and 2: N's `rdfs:label`
   and `rdf:type`, and the `rdfs:label` of each of those types;
4. provenance, for R and for every subject of a backlink: its `kgo:quote`s, its `kgo:mentionedIn` passages
   with their labels and their selectors (`oa:hasSelector` and the selector's triples).

The IRI is validated by pyoxigraph (`NamedNode`) before it is written into the query text, so a request
path can never change the query's shape. The query goes through the query service like any other (policy,
time limit, its own process), and the same text is what the page's "SPARQL query" link runs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from nato_kg.namespaces import FOAF, OA, OWL, RDF, RDFS, SKOS, WIKIDATA_ENTITY, XSD

RDF_TYPE = RDF + "type"
RDFS_LABEL = RDFS + "label"
RDFS_COMMENT = RDFS + "comment"
FOAF_PRIMARY_TOPIC = FOAF + "primaryTopic"
LICENSE = "https://creativecommons.org/licenses/by/4.0/"  # the data's licence (CC BY 4.0), named in every document

_TEMPLATE = """PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX kgo: <{ontology}#>
# The description of {iri}: its triples (with its blank nodes), the triples pointing at it, labels and
# types of everything linked, and the quotes and source passages of it and of what points at it.{document_note}
CONSTRUCT {{{document}
  ?R ?p ?o . ?b ?bp ?bo . ?c ?cp ?co .
  ?s ?q ?R .
  ?n rdfs:label ?nl . ?n rdf:type ?nt . ?nt rdfs:label ?ntl .
  ?e kgo:quote ?quote . ?e kgo:mentionedIn ?pg .
  ?pg rdfs:label ?pgl . ?pg oa:hasSelector ?sel . ?sel ?sp ?so .
}}
WHERE {{
  {{ ?R ?p ?o }}
  UNION {{ ?R ?p1 ?b . FILTER(isBlank(?b)) ?b ?bp ?bo }}
  UNION {{ ?R ?p2 ?b2 . FILTER(isBlank(?b2)) ?b2 ?p3 ?c . FILTER(isBlank(?c)) ?c ?cp ?co }}
  UNION {{ ?s ?q ?R }}
  UNION {{
    {{ ?R ?n ?x1 }} UNION {{ ?R ?x2 ?n }} UNION {{ ?x3 ?n ?R }} UNION {{ ?n ?x4 ?R }}
    {{ ?n rdfs:label ?nl }} UNION {{ ?n rdf:type ?nt OPTIONAL {{ ?nt rdfs:label ?ntl }} }}
  }}
  UNION {{ ?R kgo:quote ?quote BIND(?R AS ?e) }}
  UNION {{ ?e ?q1 ?R . ?e kgo:quote ?quote }}
  UNION {{
    {{ ?R kgo:mentionedIn ?pg BIND(?R AS ?e) }} UNION {{ ?e ?q2 ?R . ?e kgo:mentionedIn ?pg }}
    OPTIONAL {{ ?pg rdfs:label ?pgl }}
    OPTIONAL {{ ?pg oa:hasSelector ?sel . ?sel ?sp ?so }}
  }}
}}
"""


def description_query(iri: str, base_iri: str) -> str:
    """The CONSTRUCT query that returns the description of `iri` (raises ValueError for a bad IRI)."""
    node = str(ox.NamedNode(iri))  # validates: no spaces, no '>', no quotes can get in
    ontology = base_iri + "ontology"
    document = note = ""
    if iri.startswith(base_iri + "id/"):
        doc = ox.NamedNode(base_iri + "doc/" + iri[len(base_iri + "id/"):])
        document = f"\n  {doc} foaf:primaryTopic ?R ; dcterms:license <{LICENSE}> ."
        note = f"\n# The document {doc} is about it, under CC BY 4.0."
    return _TEMPLATE.format(ontology=ontology, iri=node, document=document, document_note=note).replace("?R", node)


def exists_query(iri: str) -> str:
    node = str(ox.NamedNode(iri))
    return f"ASK {{ {{ {node} ?p ?o }} UNION {{ ?s ?p {node} }} }}"


# --- from triples to a page ---------------------------------------------------------------------------

Term = ox.NamedNode | ox.BlankNode | ox.Literal


class Index:
    """The description's triples, indexed by subject and by object."""

    def __init__(self, triples: Iterable[ox.Triple]) -> None:
        self.out: dict[Any, dict[str, list[Term]]] = defaultdict(lambda: defaultdict(list))
        self.into: dict[Any, list[tuple[Term, str]]] = defaultdict(list)
        seen: set[ox.Triple] = set()
        for t in triples:
            if t in seen:
                continue
            seen.add(t)
            self.out[t.subject][t.predicate.value].append(t.object)
            self.into[t.object].append((t.subject, t.predicate.value))

    def values(self, node: Term, predicate: str) -> list[Term]:
        return self.out.get(node, {}).get(predicate, [])

    def label(self, node: Term) -> str | None:
        labels = [v for v in self.values(node, RDFS_LABEL) if isinstance(v, ox.Literal)]
        if not labels:
            return None
        labels.sort(key=lambda lit: (lit.language not in ("en", None), lit.language or "", lit.value))
        return labels[0].value


@dataclass
class Segment:
    text: str
    quoted: bool = False


@dataclass
class Source:
    """One passage of the article, with the quoted spans marked."""

    link: dict[str, Any]
    segments: list[Segment]
    start: int | None = None
    end: int | None = None


@dataclass
class Involvement:
    """A resource that points at the page's resource: an action, or a statement, with its sources."""

    link: dict[str, Any]
    types: list[dict[str, Any]]
    roles: list[str]
    sources: list[Source]


@dataclass
class Row:
    predicate: dict[str, Any]
    values: list[dict[str, Any]]


@dataclass
class Page:
    iri: str
    title: str
    types: list[dict[str, Any]]
    comment: str | None
    alt_labels: list[str]
    wikidata: list[str]
    properties: list[Row]
    sources: list[Source]
    actions: list[Involvement]
    statements: list[Involvement]
    backlinks: list[Row]


# Backlinks that say the resource took part in an action or event, and those of statements.
ACTION_ROLES = ("agent", "actedOn", "targetState", "participant", "victim")
STATEMENT_ROLES = ("speaker", "throughSpokesperson", "target", "about", "audience")
_ORDER = {RDF_TYPE: 0, RDFS_LABEL: 1, SKOS + "altLabel": 2, RDFS_COMMENT: 3}


def highlight(text: str, quotes: Iterable[str]) -> list[Segment]:
    """`text` cut into segments, those inside one of `quotes` marked (longest quote first, no overlap)."""
    marked = [False] * len(text)
    for quote in sorted({q for q in quotes if q}, key=len, reverse=True):
        for match in re.finditer(re.escape(quote), text):
            if not any(marked[match.start():match.end()]):
                marked[match.start():match.end()] = [True] * (match.end() - match.start())
    segments: list[Segment] = []
    for char, is_marked in zip(text, marked, strict=True):
        if segments and segments[-1].quoted == is_marked:
            segments[-1].text += char
        else:
            segments.append(Segment(char, is_marked))
    return segments


def build_page(iri: str, triples: Iterable[ox.Triple], namer: Any, ontology_ns: str) -> Page:
    """The view model of a resource page. `namer` is html.Namer (prefixed names and local links)."""
    index = Index(triples)
    node = ox.NamedNode(iri)

    def link(term: Term) -> dict[str, Any]:
        if isinstance(term, ox.NamedNode):
            cell = namer.iri_cell(term.value)
            label = index.label(term)
            if label:
                cell = {**cell, "label": label}
            return cell
        if isinstance(term, ox.BlankNode):
            return {"type": "bnode", "text": f"_:{term.value}",
                    "rows": [Row(link(ox.NamedNode(p)), [link(v) for v in vs])
                             for p, vs in sorted(index.out.get(term, {}).items(), key=_row_key)]}
        datatype = term.datatype.value if term.datatype else None
        return {"type": "literal", "text": term.value, "lang": term.language,
                "datatype": namer.iri_cell(datatype) if datatype and datatype != XSD + "string" else None}

    def types_of(term: Term) -> list[dict[str, Any]]:
        return [link(t) for t in index.values(term, RDF_TYPE) if isinstance(t, ox.NamedNode)]

    def quotes_of(term: Term) -> list[str]:
        return sorted(q.value for q in index.values(term, ontology_ns + "quote") if isinstance(q, ox.Literal))

    def sources_of(term: Term, quotes: list[str]) -> list[Source]:
        found = []
        for passage in index.values(term, ontology_ns + "mentionedIn"):
            exact = start = end = None
            for selector in index.values(passage, OA + "hasSelector"):
                exact = exact or first_literal(index.values(selector, OA + "exact"))
                start = start if start is not None else _int(index.values(selector, OA + "start"))
                end = end if end is not None else _int(index.values(selector, OA + "end"))
            segments = highlight(exact, quotes) if exact else []
            found.append(Source(link(passage), segments, start, end))
        found.sort(key=lambda s: (s.start if s.start is not None else 1 << 30, s.link.get("value", "")))
        return found

    properties = [Row(link(ox.NamedNode(p)), [link(v) for v in sorted(vs, key=_term_key)])
                  for p, vs in sorted(index.out.get(node, {}).items(), key=_row_key)]

    actions: dict[Any, Involvement] = {}
    statements: dict[Any, Involvement] = {}
    other: dict[str, list[Term]] = defaultdict(list)
    for subject, predicate in index.into.get(node, []):
        local = predicate[len(ontology_ns):] if predicate.startswith(ontology_ns) else None
        group = actions if local in ACTION_ROLES else statements if local in STATEMENT_ROLES else None
        if predicate == FOAF_PRIMARY_TOPIC:  # the document itself (this page): said by its links, not a backlink
            continue
        if group is None or subject == node:
            other[predicate].append(subject)
            continue
        if subject not in group:
            quotes = quotes_of(subject)
            group[subject] = Involvement(link(subject), types_of(subject), [], sources_of(subject, quotes))
        group[subject].roles.append(index.label(ox.NamedNode(predicate)) or local or predicate)
    backlinks = [Row(link(ox.NamedNode(p)), [link(s) for s in sorted(subjects, key=_term_key)])
                 for p, subjects in sorted(other.items(), key=_row_key)]

    own_quotes = quotes_of(node)
    comment = first_literal(index.values(node, RDFS_COMMENT))
    return Page(
        iri=iri,
        title=index.label(node) or namer.short(iri) or iri,
        types=types_of(node),
        comment=comment,
        alt_labels=sorted(v.value for v in index.values(node, SKOS + "altLabel") if isinstance(v, ox.Literal)),
        wikidata=sorted(v.value for v in index.values(node, OWL + "sameAs")
                        if isinstance(v, ox.NamedNode) and v.value.startswith(WIKIDATA_ENTITY)),
        properties=properties,
        sources=sources_of(node, own_quotes),
        actions=sorted(actions.values(), key=_involvement_key),
        statements=sorted(statements.values(), key=_involvement_key),
        backlinks=backlinks,
    )


def first_literal(values: list[Term]) -> str | None:
    """The first (in code-point order) of the literal values, or None when there is none."""
    literals = sorted(v.value for v in values if isinstance(v, ox.Literal))
    return literals[0] if literals else None


def _int(values: list[Term]) -> int | None:
    text = first_literal(values)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _row_key(item: tuple[str, Any]) -> tuple[int, str]:
    return (_ORDER.get(item[0], 9), item[0])


def _term_key(term: Term) -> tuple[int, str]:
    return (0 if isinstance(term, ox.NamedNode) else 1 if isinstance(term, ox.BlankNode) else 2, term.value)


def _involvement_key(item: Involvement) -> tuple[int, str]:
    first = min((s.start for s in item.sources if s.start is not None), default=1 << 30)
    return (first, item.link.get("label") or item.link.get("value", ""))


__all__ = ["Index", "Page", "build_page", "description_query", "exists_query", "first_literal", "highlight"]
