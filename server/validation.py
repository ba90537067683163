"""`kg validate`: every check the graph files must pass, as one readable report (exit 1 on any problem).

The checks read the files as a curator edits them (rdflib's strict Turtle parser, the configured base IRI):
parsing, OWL RL consistency (owlrl), SHACL conformance (pyshacl), provenance selectors against the shipped
article text, verbatim quotes, and Wikidata IDs against the verified list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import owlrl
import pyshacl
from rdflib import OWL, RDF, RDFS, Graph, Literal, Namespace, URIRef

from nato_kg.data.store import SHAPES_FILE
from nato_kg.namespaces import WIKIDATA_ENTITY
from nato_kg.settings import Settings

OA = Namespace("http://www.w3.org/ns/oa#")
WD = WIKIDATA_ENTITY
SOURCE_DIR = Path("graph/source")
ARTICLE_TEXT = SOURCE_DIR / "nato-cuts-russian-mission-staff.txt"
WIKIDATA_ITEMS = SOURCE_DIR / "wikidata/items.tsv"
NO_VERIFIED_ITEM = SOURCE_DIR / "wikidata/no-verified-item.txt"


class Files:
    """The project's files, read once per validation run."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.data_dir
        self.kgo = Namespace(settings.base_iri + "ontology#")

    def turtle_files(self) -> list[Path]:
        root = self.root
        return sorted([*(root / "ontology").glob("*.ttl"), *(root / "graph").glob("*.ttl")])

    def _parse(self, paths: list[Path]) -> Graph:
        graph = Graph()
        for path in paths:
            graph.parse(path, format="turtle", publicID=self.settings.base_iri)
        return graph

    @cached_property
    def ontology(self) -> Graph:
        return self._parse([p for p in (self.root / "ontology").glob("*.ttl") if p.name != SHAPES_FILE])

    @cached_property
    def shapes(self) -> Graph:
        return self._parse([self.root / "ontology" / SHAPES_FILE])

    @cached_property
    def data(self) -> Graph:
        return self._parse(sorted((self.root / "graph").glob("*.ttl")))

    @cached_property
    def text(self) -> str:
        return (self.root / ARTICLE_TEXT).read_text(encoding="utf-8")

    def label(self, node: object) -> str:
        label = self.data.value(node, RDFS.label)  # type: ignore[arg-type]
        return f"{self.short(node)} ({label})" if label else self.short(node)

    def short(self, node: object) -> str:
        """An IRI as the Turtle files write it: kg:x, kgo:x (other IRIs in full)."""
        text, base = str(node), self.settings.base_iri
        for prefix, name in ((base + "id/", "kg:"), (base + "ontology#", "kgo:")):
            if text.startswith(prefix):
                return name + text.removeprefix(prefix)
        return text


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    run: Callable[[Files], Iterator[str]]  # yields one message per problem found


def _turtle_parses(files: Files) -> Iterator[str]:
    for path in files.turtle_files():
        try:
            Graph().parse(path, format="turtle", publicID=files.settings.base_iri)
        except Exception as exc:  # a parser error is a finding to report, not a crash
            yield f"{path.relative_to(files.root)}: {exc}"


def _consistent(files: Files) -> Iterator[str]:
    closure = files.ontology + files.data
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(closure)
    error = URIRef("http://www.daml.org/2002/03/agents/agent-ont#error")
    yield from sorted(str(o) for o in closure.objects(None, error))
    for node in closure.subjects(RDF.type, OWL.Nothing):
        yield f"{files.short(node)} is inferred to be owl:Nothing"


def _conforms_to_shapes(files: Files) -> Iterator[str]:
    conforms, report, _ = pyshacl.validate(
        files.data, shacl_graph=files.shapes, ont_graph=files.ontology, inference="rdfs", advanced=True
    )
    if conforms:
        return
    sh = Namespace("http://www.w3.org/ns/shacl#")
    for result in report.subjects(RDF.type, sh.ValidationResult):
        focus = report.value(result, sh.focusNode)
        path = report.value(result, sh.resultPath)
        message = report.value(result, sh.resultMessage) or report.value(result, sh.sourceConstraintComponent)
        where = f" {files.short(path)}" if path is not None else ""
        yield f"{files.label(focus)}{where}: {message}"


def _selectors_match_text(files: Files) -> Iterator[str]:
    text, data = files.text, files.data
    sha = next(data.objects(None, files.kgo.sha256), None)
    actual = hashlib.sha256((files.root / ARTICLE_TEXT).read_bytes()).hexdigest()
    if sha is None or str(sha) != actual:
        yield f"kgo:sha256 of the article text is {sha}, the file's is {actual}"
    for passage in sorted(data.subjects(RDF.type, files.kgo.Passage)):
        quote = next((s for s in data.objects(passage, OA.hasSelector)
                      if (s, RDF.type, OA.TextQuoteSelector) in data), None)
        position = next((s for s in data.objects(passage, OA.hasSelector)
                         if (s, RDF.type, OA.TextPositionSelector) in data), None)
        if quote is None or position is None:
            continue  # the shapes report the missing selector
        exact = str(data.value(quote, OA.exact))
        prefix = str(data.value(quote, OA.prefix) or "")
        suffix = str(data.value(quote, OA.suffix) or "")
        start, end = int(data.value(position, OA.start)), int(data.value(position, OA.end))
        name = files.short(passage)
        if text[start:end] != exact:
            found = text.find(exact)
            hint = f"; the exact text is at {found}-{found + len(exact)}" if found >= 0 else "; not in the text"
            yield f"{name}: text at {start}-{end} is not the selector's exact text{hint}"
            continue
        if not text[:start].endswith(prefix):
            yield f"{name}: prefix {prefix!r} does not precede offset {start}"
        if not text[end:].startswith(suffix):
            yield f"{name}: suffix {suffix!r} does not follow offset {end}"


def _quotes_are_verbatim(files: Files) -> Iterator[str]:
    data, kgo = files.data, files.kgo
    for statement, quote in sorted(data.subject_objects(kgo.quote)):
        exacts = [str(data.value(sel, OA.exact) or "")
                  for passage in data.objects(statement, kgo.mentionedIn)
                  for sel in data.objects(passage, OA.hasSelector)]
        if not any(str(quote) in exact for exact in exacts):
            yield f"{files.label(statement)}: quote {str(quote)!r} is not verbatim in any of its passages"


def _wikidata_ids_verified(files: Files) -> Iterator[str]:
    rows = (files.root / WIKIDATA_ITEMS).read_text(encoding="utf-8").splitlines()[1:]
    verified = {row.split("\t")[1] for row in rows if "\t" in row}
    data = files.data
    for subject, target in sorted(data.subject_objects(OWL.sameAs)):
        qid = str(target).removeprefix(WD)
        if qid not in verified:
            yield f"{files.label(subject)}: {target} is not in {WIKIDATA_ITEMS}"
    unverified = {
        line.split(" (")[0].strip().lower()
        for line in (files.root / NO_VERIFIED_ITEM).read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for subject in set(data.subjects(OWL.sameAs)):
        names = {str(n).lower() for n in data.objects(subject, RDFS.label)}
        if names & unverified:
            yield f"{files.label(subject)} is listed as having no verified Wikidata item but has owl:sameAs"


def _actors_have_english_labels(files: Files) -> Iterator[str]:
    data, kgo = files.data, files.kgo
    actor_classes = set(files.ontology.transitive_subjects(RDFS.subClassOf, kgo.Actor))
    for cls in actor_classes:
        for actor in data.subjects(RDF.type, cls):
            labels = [lbl for lbl in data.objects(actor, RDFS.label)
                      if isinstance(lbl, Literal) and lbl.language == "en"]
            if not labels:
                yield f"{files.short(actor)} has no English rdfs:label"


def _ontology_terms_documented(files: Files) -> Iterator[str]:
    ontology, namespace = files.ontology, str(files.kgo)
    terms = {s for s in ontology.subjects() if isinstance(s, URIRef) and str(s).startswith(namespace)}
    for term in sorted(terms):
        for predicate in (RDFS.label, RDFS.comment):
            if not any(getattr(o, "language", None) == "en" for o in ontology.objects(term, predicate)):
                yield f"{files.short(term)} has no English {files.short(predicate).split('#')[-1]}"


def _expulsion_parts_fit_their_whole(files: Files) -> Iterator[str]:
    """A part has its whole's agent, and the parts of a whole count no more people than the whole: so summing
    kgo:numberOfPeople over kgo:WholeExpulsion counts everyone once."""
    data, kgo = files.data, files.kgo
    parts_of: dict[URIRef, list[int]] = {}
    for part in sorted(data.subjects(RDF.type, kgo.ExpulsionPart)):
        for whole in data.objects(part, kgo.partOf):
            if set(data.objects(part, kgo.agent)) != set(data.objects(whole, kgo.agent)):
                yield f"{files.label(part)}: its agent is not the agent of its whole, {files.label(whole)}"
            count = data.value(part, kgo.numberOfPeople)
            if count is not None:
                parts_of.setdefault(whole, []).append(int(count))
    for whole, counts in sorted(parts_of.items()):
        total = data.value(whole, kgo.numberOfPeople)
        if total is not None and sum(counts) > int(total):
            yield (f"{files.label(whole)}: its parts count {sum(counts)} people, more than its own "
                   f"kgo:numberOfPeople {int(total)}")


def _stored_queries_parse(files: Files) -> Iterator[str]:
    from rdflib.plugins.sparql.parser import parseQuery

    from nato_kg.engine.stored_queries import parse_stored_query

    for path in sorted((files.root / "queries").glob("*.rq")):
        try:
            query = parse_stored_query(path)
            parseQuery(query.text)
        except Exception as exc:  # a malformed header or query is a finding to report
            yield f"queries/{path.name}: {str(exc).splitlines()[0]}"
            continue
        for param in query.parameters:
            if f"?{param.name}" not in query.text and f"${param.name}" not in query.text:
                yield f"queries/{path.name}: parameter '{param.name}' is not a variable of the query"


CHECKS: list[Check] = [
    Check("parse", "every Turtle file parses", _turtle_parses),
    Check("consistency", "ontology and data are consistent (OWL RL closure, owlrl)", _consistent),
    Check("shapes", "data conforms to ontology/shapes.ttl (pyshacl, RDFS inference)", _conforms_to_shapes),
    Check("selectors", "every passage's selectors match the shipped article text", _selectors_match_text),
    Check("quotes", "every kgo:quote is verbatim in a passage of its statement", _quotes_are_verbatim),
    Check("wikidata", "every Wikidata ID is in the verified list", _wikidata_ids_verified),
    Check("labels", "every actor has an English label", _actors_have_english_labels),
    Check("terms", "every ontology term has an English label and comment", _ontology_terms_documented),
    Check("counts", "every part of an expulsion has its whole's agent and fits in its count",
          _expulsion_parts_fit_their_whole),
    Check("queries", "every stored query's header and SPARQL parse", _stored_queries_parse),
]


def run_checks(settings: Settings) -> dict[str, list[str]]:
    files = Files(settings)
    parse_problems = list(_turtle_parses(files))
    if parse_problems:  # the other checks need parsed files
        return {"parse": parse_problems}
    return {"parse": [], **{check.name: list(check.run(files)) for check in CHECKS if check.name != "parse"}}


def main(settings: Settings) -> int:
    results = run_checks(settings)
    for check in CHECKS:
        if check.name not in results:
            print(f"skip  {check.description} (the files do not parse)")
            continue
        problems = results[check.name]
        print(f"{'FAIL' if problems else 'ok  '}  {check.description}")
        for message in problems:
            print(f"      - {message}")
    total = sum(len(p) for p in results.values())
    print(f"{total} problem(s) found")
    return 1 if total else 0
