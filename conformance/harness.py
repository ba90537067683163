"""The W3C SPARQL query tests: read the manifests, run each test on plain pyoxigraph and through our /sparql
path, and compare the answers as the test suites say (conformance/README.md has the rules).

Plain pyoxigraph runs in a child process of its own (an engine panic aborts the process that runs the query);
our path is QueryService.over(dataset): the policy, a killable query process that loads the test's files into
a scratch store, and the serialisers, whose bytes are parsed back.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pyoxigraph as ox
import rdflib
from rdflib import RDF, BNode, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.query import Result

from nato_kg.engine.messages import ScratchDataset
from nato_kg.engine.policy import inspect
from nato_kg.engine.query_service import QueryService
from nato_kg.errors import Problem

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
DAWGT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-dawg#")
RS = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/result-set#")
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

# The manifests that list the query tests: SPARQL 1.0 (data-r2) and 1.1.
SUITES = {"SPARQL 1.0": ("dawg-data-r2/manifest-evaluation.ttl", "dawg-data-r2/manifest-syntax.ttl"),
          "SPARQL 1.1": ("sparql11/manifest-all.ttl",)}
KINDS = {MF.QueryEvaluationTest: "evaluation", MF.CSVResultFormatTest: "csv",
         MF.PositiveSyntaxTest: "positive syntax", MF.PositiveSyntaxTest11: "positive syntax",
         MF.NegativeSyntaxTest: "negative syntax", MF.NegativeSyntaxTest11: "negative syntax"}
# Update, protocol and service-description tests are outside a read-only query endpoint's scope: not listed,
# nor the negative syntax tests whose request is a SPARQL Update (.ru).

# A term as compared: ("I", iri), ("B", label), ("L", lexical form, datatype, lower-case language) or
# ("T", s, p, o). RDF 1.1: a simple literal is an xsd:string (the 1.0 tests predate that; see README).
# Words a query must hold before rdflib's parser (slow: ~10 ms) is asked where its FROM or ORDER BY is.
_FROM = re.compile(r"\bFROM\b", re.IGNORECASE)
_ORDER_BY = re.compile(r"\bORDER\s+BY\b", re.IGNORECASE)
Term = tuple[Any, ...]
Row = dict[str, Term]



@dataclass(frozen=True)
class W3CTest:
    suite: str  # SPARQL 1.0 or SPARQL 1.1
    part: str  # the folder: a feature (sort, aggregates, syntax-query, ...)
    name: str  # the test's local name in its manifest
    kind: str  # evaluation, csv, positive syntax, negative syntax
    query: Path
    data: tuple[Path, ...] = ()
    graph_data: tuple[tuple[str, Path], ...] = ()  # (graph IRI, file)
    result: Path | None = None
    service_data: tuple[tuple[str, Path], ...] = ()  # qt:serviceData: (endpoint IRI, file) a harness stands up

    @property
    def needs_remote(self) -> bool:
        return bool(self.service_data)

    @property
    def ident(self) -> str:
        return f"{self.part}/{self.name}"

    @property
    def base_iri(self) -> str:
        return self.query.as_uri()

    def query_text(self) -> str:
        return self.query.read_text(encoding="utf-8")

    def dataset(self) -> ScratchDataset:
        """The data files, and the files that FROM / FROM NAMED name, each as the graph named by its IRI."""
        named = dict((graph, str(path)) for graph, path in self.graph_data)
        query = self.query_text()
        for graph in from_graphs(query, self.base_iri) if _FROM.search(query) else ():
            path = _file_path(graph)
            if path is not None and path.is_file():
                named.setdefault(graph, str(path))
        return ScratchDataset(self.base_iri, tuple(str(p) for p in self.data), tuple(sorted(named.items())))


@dataclass
class Answer:
    """What a query gave: solutions (variables, rows), a boolean, a graph, or CSV text."""

    variables: tuple[str, ...] = ()
    rows: list[Row] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[tuple[Term, Term, Term]] | None = None
    text: str | None = None
    ordered: bool = True  # False where the expected file cannot say an order (rs: without rs:index)


@dataclass(frozen=True)
class Outcome:
    status: str  # pass, fail, refused (ours only: by the policy), not run
    detail: str = ""


@contextmanager
def _lexical_literals() -> Iterator[None]:
    """rdflib keeping literals' lexical forms as written (it canonicalises them by default): terms compare as
    written. Set only meanwhile, since the setting is global to rdflib."""
    saved, rdflib.NORMALIZE_LITERALS = rdflib.NORMALIZE_LITERALS, False
    try:
        yield
    finally:
        rdflib.NORMALIZE_LITERALS = saved


# --- manifests ---------------------------------------------------------------------------------------------

def _file_path(iri: str) -> Path | None:
    parsed = urlparse(iri)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def _manifests(path: Path) -> Iterator[tuple[Path, Graph]]:
    graph = Graph().parse(path, format="turtle", publicID=path.as_uri())
    yield path, graph
    for include in graph.objects(None, MF.include):
        for item in graph.items(include):
            sub = _file_path(str(item))
            if sub is not None:
                yield from _manifests(sub)


def load_tests(root: Path) -> list[W3CTest]:
    """Every query test of both suites, in manifest order (withdrawn tests left out)."""
    tests: list[W3CTest] = []
    root = root.resolve()  # the manifests' IRIs are file: IRIs
    for suite, manifests in SUITES.items():
        for top in manifests:
            for path, graph in _manifests(root / top):
                entries = [e for m in graph.subjects(RDF.type, MF.Manifest)
                           for lst in graph.objects(m, MF.entries) for e in graph.items(lst)]
                for entry in entries:
                    test = _test(suite, path.parent.name, graph, entry)
                    if test is not None:
                        tests.append(test)
    return tests


def _test(suite: str, part: str, graph: Graph, entry: Any) -> W3CTest | None:
    kind = next((KINDS[t] for t in graph.objects(entry, RDF.type) if t in KINDS), None)
    if kind is None or graph.value(entry, DAWGT.approval) == DAWGT.Withdrawn:
        return None
    name = str(entry).rsplit("#", 1)[-1]
    action = graph.value(entry, MF.action)
    if kind.endswith("syntax"):  # a SPARQL Update request (.ru) is outside a query endpoint's scope
        path = _file_path(str(action))
        return W3CTest(suite, part, name, kind, path) if path and path.suffix != ".ru" else None
    query = _file_path(str(graph.value(action, QT.query)))
    data = tuple(p for p in (_file_path(str(d)) for d in graph.objects(action, QT.data)) if p)
    named = tuple((str(g), _file_path(str(g))) for g in graph.objects(action, QT.graphData))
    result = graph.value(entry, MF.result)
    service = [(str(graph.value(d, QT.endpoint)), _file_path(str(graph.value(d, QT.data))))
               for d in graph.objects(action, QT.serviceData)]
    return W3CTest(suite, part, name, kind, query, data,  # type: ignore[arg-type]
                   tuple(sorted((g, p) for g, p in named if p)),
                   _file_path(str(result)) if result is not None else None,
                   tuple(sorted((e, p) for e, p in service if p)))


def _parsed(query: str) -> Any | None:
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        return parseQuery(query)[1]
    except Exception:  # rdflib's parser lacks some of 1.1: such a test is compared without order
        return None


def from_graphs(query: str, base_iri: str) -> list[str]:
    """The IRIs that FROM and FROM NAMED name, resolved (by rdflib, independently of our policy)."""
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        algebra = translateQuery(parseQuery(query), base=base_iri).algebra
        # not algebra.get: rdflib's CompValue.get answers a missing key with the key itself
        clauses = (algebra["datasetClause"] if "datasetClause" in algebra else None) or []  # noqa: SIM401
    except Exception:  # a query rdflib cannot read: no FROM graphs loaded for it
        return []
    if isinstance(clauses, dict):  # one clause comes unwrapped
        clauses = [clauses]
    return [str(c["default"] if "default" in c else c["named"]) for c in clauses]


def order_keys(query: str) -> tuple[str, ...] | None:
    """The variables the outermost ORDER BY sorts by, or None when it has none."""
    parsed = _parsed(query) if _ORDER_BY.search(query) else None
    if parsed is None or "orderby" not in parsed:
        return None
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, rdflib.Variable):
            found.append(str(node))
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list | tuple):
            for value in node:
                walk(value)

    walk(parsed["orderby"])
    return tuple(dict.fromkeys(found))


# --- terms -------------------------------------------------------------------------------------------------

def ox_term(term: Any) -> Term:
    if isinstance(term, ox.NamedNode):
        return ("I", term.value)
    if isinstance(term, ox.BlankNode):
        return ("B", term.value)
    if isinstance(term, ox.Literal):
        return ("L", term.value, term.datatype.value, (term.language or "").lower())
    return ("T", ox_term(term.subject), ox_term(term.predicate), ox_term(term.object))


def rdflib_term(term: Any) -> Term:
    if isinstance(term, URIRef):
        return ("I", str(term))
    if isinstance(term, BNode):
        return ("B", str(term))
    if isinstance(term, Literal):
        if term.language:
            return ("L", str(term), RDF_LANGSTRING, term.language.lower())
        return ("L", str(term), str(term.datatype or XSD_STRING), "")
    raise ValueError(f"unexpected term {term!r}")


def _to_rdflib(term: Term) -> Any:
    if term[0] == "I":
        return URIRef(term[1])
    if term[0] == "B":
        return BNode(term[1])
    if term[0] == "L":
        return Literal(term[1], lang=term[3]) if term[3] else Literal(term[1], datatype=URIRef(term[2]))
    raise ValueError("triple terms are not compared")


def ox_answer(results: Any) -> Answer:
    """An Answer from pyoxigraph's results (a query's, or parsed from our serialised bytes)."""
    if isinstance(results, ox.QueryBoolean):
        return Answer(boolean=bool(results))
    if isinstance(results, ox.QuerySolutions):
        names = tuple(v.value for v in results.variables)
        rows = [{n: ox_term(t) for n, t in zip(names, solution, strict=True) if t is not None}
                for solution in results]
        return Answer(names, rows)
    return Answer(triples=[(ox_term(t.subject), ox_term(t.predicate), ox_term(t.object)) for t in results])


# --- expected results --------------------------------------------------------------------------------------

RESULT_FORMATS = {".srx": "xml", ".srj": "json", ".tsv": "tsv", ".csv": "csv"}
_EMPTY_BINDING = re.compile(rb"<binding name=\"[^\"]*\">\s*</binding>")


def expected_answer(test: W3CTest, form: str | None) -> Answer:
    with _lexical_literals():
        return _expected_answer(test, form)


def _expected_answer(test: W3CTest, form: str | None) -> Answer:
    path = test.result
    assert path is not None
    if test.kind == "csv":
        return Answer(text=path.read_text(encoding="utf-8"))
    if path.suffix in RESULT_FORMATS:
        raw = path.read_bytes()
        if path.suffix == ".srx":  # service07.srx writes an unbound variable as an empty <binding>: drop it
            raw = _EMPTY_BINDING.sub(b"", raw)
        result = Result.parse(io.BytesIO(raw), format=RESULT_FORMATS[path.suffix])
        if result.type == "ASK":
            return Answer(boolean=bool(result.askAnswer))
        return Answer(tuple(str(v) for v in result.vars or ()),
                      [{str(k): rdflib_term(v) for k, v in row.items() if v is not None}
                       for row in result.bindings])
    graph = Graph().parse(path, publicID=path.as_uri(), format="turtle" if path.suffix == ".ttl" else None)
    if form in ("CONSTRUCT", "DESCRIBE"):
        return Answer(triples=[(rdflib_term(s), rdflib_term(p), rdflib_term(o)) for s, p, o in graph])
    return _result_set(graph)


def _result_set(graph: Graph) -> Answer:
    """The DAWG result-set vocabulary (rs:ResultSet), as the 1.0 tests write results in Turtle or RDF/XML."""
    result_set = next(graph.subjects(RDF.type, RS.ResultSet))
    boolean = graph.value(result_set, RS.boolean)
    if boolean is not None:
        return Answer(boolean=boolean.toPython() is True or str(boolean) == "true")
    variables = tuple(sorted(str(v) for v in graph.objects(result_set, RS.resultVariable)))
    indexed: list[tuple[int, Row]] = []
    for solution in graph.objects(result_set, RS.solution):
        row = {str(graph.value(b, RS.variable)): rdflib_term(graph.value(b, RS.value))
               for b in graph.objects(solution, RS.binding)}
        index = graph.value(solution, RS["index"])  # (RS.index would be str.index)
        indexed.append((int(index) if index is not None else -1, row))
    ordered = bool(indexed) and all(i >= 0 for i, _ in indexed)
    indexed.sort(key=lambda pair: pair[0])
    return Answer(variables, [row for _, row in indexed], ordered=ordered)


# --- comparison --------------------------------------------------------------------------------------------

def _has_bnode(term: Term) -> bool:
    return term[0] == "B" or (term[0] == "T" and any(_has_bnode(t) for t in term[1:]))


def _match(a: Term, b: Term, mapping: dict[str, str], used: set[str]) -> list[tuple[str, str]] | None:
    """Extend the bijection `mapping` (expected label -> actual label) so that a equals b; the new pairs."""
    if a[0] != b[0]:
        return None
    if a[0] == "B":
        if a[1] in mapping:
            return [] if mapping[a[1]] == b[1] else None
        return None if b[1] in used else [(a[1], b[1])]
    if a[0] == "T":
        added: list[tuple[str, str]] = []
        for x, y in zip(a[1:], b[1:], strict=True):
            step = _match(x, y, {**mapping, **dict(added)}, used | {v for _, v in added})
            if step is None:
                return None
            added += step
        return added
    return [] if a == b else None


def _match_row(a: Row, b: Row, mapping: dict[str, str], used: set[str]) -> list[tuple[str, str]] | None:
    if a.keys() != b.keys():
        return None
    added: list[tuple[str, str]] = []
    for name in a:
        step = _match(a[name], b[name], {**mapping, **dict(added)}, used | {v for _, v in added})
        if step is None:
            return None
        added += step
    return added


def same_solutions(expected: Sequence[Row], actual: Sequence[Row]) -> bool:
    """Equal as multisets, blank nodes up to a one-to-one renaming across the whole answer."""
    if len(expected) != len(actual):
        return False
    ground = Counter(_frozen(r) for r in expected if not any(map(_has_bnode, r.values())))
    ground_actual = Counter(_frozen(r) for r in actual if not any(map(_has_bnode, r.values())))
    if ground != ground_actual:
        return False
    left = [r for r in expected if any(map(_has_bnode, r.values()))]
    right = [r for r in actual if any(map(_has_bnode, r.values()))]
    budget = [200_000]

    def search(i: int, mapping: dict[str, str], used: set[str], taken: set[int]) -> bool:
        if i == len(left):
            return True
        for j, row in enumerate(right):
            budget[0] -= 1
            if budget[0] < 0:
                return False
            if j in taken:
                continue
            added = _match_row(left[i], row, mapping, used)
            if added is not None and search(i + 1, {**mapping, **dict(added)}, used | {v for _, v in added},
                                            taken | {j}):
                return True
        return False

    return search(0, {}, set(), set())


def _example(expected: Sequence[Row], actual: Sequence[Row]) -> str:
    """One row that only one side has (blank nodes aside), shown briefly."""
    missing = Counter(map(_frozen, expected)) - Counter(map(_frozen, actual))
    extra = Counter(map(_frozen, actual)) - Counter(map(_frozen, expected))
    for label, rows in (("missing", missing), ("unexpected", extra)):
        for row in rows:
            if not any(_has_bnode(t) for _, t in row):
                return f"; {label}: " + " ".join(f"?{k}={_show(t)}" for k, t in sorted(row))
    return ""


def _show(term: Term) -> str:
    if term[0] == "I":
        return f"<{term[1]}>"
    if term[0] in "BS":
        return f"_:{term[1]}" if term[0] == "B" else term[1]
    if term[0] == "L":
        suffix = f"@{term[3]}" if term[3] else "" if term[2] == XSD_STRING else f"^^<{term[2]}>"
        return f'"{term[1]}"{suffix}'
    return "<< " + " ".join(map(_show, term[1:])) + " >>"


def _frozen(row: Row) -> frozenset[tuple[str, Term]]:
    return frozenset(row.items())


def same_order(expected: Sequence[Row], actual: Sequence[Row], keys: Sequence[str]) -> bool:
    """The ORDER BY keys' values come in the same sequence (ties may come in any order)."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for a, b in zip(expected, actual, strict=True):
        pa = {k: v for k, v in a.items() if k in keys}
        pb = {k: v for k, v in b.items() if k in keys}
        added = _match_row(pa, pb, mapping, used)
        if added is None:
            return False
        mapping.update(added)
        used.update(v for _, v in added)
    return True


def same_graph(expected: Iterable[tuple[Term, Term, Term]], actual: Iterable[tuple[Term, Term, Term]]) -> bool:
    one, two = Graph(), Graph()
    with _lexical_literals():
        for graph, triples in ((one, expected), (two, actual)):
            for triple in triples:
                graph.add(tuple(_to_rdflib(t) for t in triple))  # type: ignore[arg-type]
        return isomorphic(one, two)


def _csv_table(text: str) -> tuple[list[str], list[Row]]:
    """The header and rows of SPARQL CSV results; a `_:` value is a blank node, any other a string."""
    lines = list(csv.reader(io.StringIO(text.replace("\r\n", "\n"))))
    header = lines[0] if lines else []
    return header, [{h: (("B", v[2:]) if v.startswith("_:") else ("S", v)) for h, v in zip(header, row, strict=False)}
                    for row in lines[1:]]


def compare(test: W3CTest, query: str, expected: Answer, actual: Answer) -> str | None:
    """None when `actual` is the expected answer, else what differs."""
    if expected.text is not None:
        (header, rows), (actual_header, actual_rows) = _csv_table(expected.text), _csv_table(actual.text or "")
        if sorted(header) != sorted(actual_header):  # SELECT *'s column order is the engine's choice
            return f"CSV columns {actual_header}, expected {header}"
        return None if same_solutions(rows, actual_rows) else "the CSV rows differ" + _example(rows, actual_rows)
    if expected.boolean is not None or actual.boolean is not None:
        return None if expected.boolean == actual.boolean else \
            f"ASK answered {actual.boolean}, expected {expected.boolean}"
    if expected.triples is not None:
        if actual.triples is None:
            return "answered solutions, expected a graph"
        return None if same_graph(expected.triples, actual.triples) else \
            f"the graph differs ({len(actual.triples)} triples, expected {len(expected.triples)})"
    if actual.triples is not None:
        return "answered a graph, expected solutions"
    if not same_solutions(expected.rows, actual.rows):
        return (f"the solutions differ ({len(actual.rows)} rows, expected {len(expected.rows)})"
                + _example(expected.rows, actual.rows))
    keys = order_keys(query) if expected.ordered else None
    if keys and not same_order(expected.rows, actual.rows, keys):
        return f"the solutions are not in the ORDER BY order (keys {', '.join('?' + k for k in keys)})"
    return None


# --- running a test: plain pyoxigraph ----------------------------------------------------------------------

def _plain_store(dataset: ScratchDataset) -> ox.Store:
    from nato_kg.engine.query_process import scratch_store

    return scratch_store(dataset)


def plain_answer(test: W3CTest) -> tuple[str, Any]:
    """("ok", Answer) or ("error", message): the query on a plain pyoxigraph Store holding the test's data."""
    try:
        store = _plain_store(test.dataset())
        results = store.query(test.query_text(), base_iri=test.base_iri)
        if test.kind == "csv":
            return "ok", Answer(text=results.serialize(format=ox.QueryResultsFormat.CSV).decode("utf-8"))
        return "ok", ox_answer(results)
    except Exception as error:
        return "error", f"{type(error).__name__}: {error}"


def _plain_loop(conn: Connection) -> None:
    while True:
        try:
            test = conn.recv()
        except EOFError:
            return
        conn.send(plain_answer(test))


class PlainEngine:
    """Plain pyoxigraph in a child process, restarted when a test kills it (a panic aborts the process)."""

    def __init__(self, timeout_s: float = 60.0) -> None:
        self.timeout_s = timeout_s
        self._start()

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=_plain_loop, args=(theirs,), daemon=True)
        self.process.start()
        theirs.close()

    def run(self, test: W3CTest) -> tuple[str, Any]:
        try:
            self.conn.send(test)
            if self.conn.poll(self.timeout_s):
                reply: tuple[str, Any] = self.conn.recv()
                return reply
            message = f"no answer in {self.timeout_s:g} s"
        except (EOFError, OSError):
            message = "the engine's process died"
        self.close()
        code = self.process.exitcode
        self._start()
        return "error", message + (f" (exit code {code})" if code else "")

    def close(self) -> None:
        self.process.kill()
        self.process.join(10)
        self.conn.close()


# --- running a test: our path ------------------------------------------------------------------------------

RESULT_PARSERS = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
                  "tsv": ox.QueryResultsFormat.TSV}
GRAPH_PARSERS = {"ttl": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES, "rdfxml": ox.RdfFormat.RDF_XML,
                 "jsonld": ox.RdfFormat.JSON_LD}


def our_answer(service: QueryService, test: W3CTest, result_format: str = "json",
               graph_format: str = "ttl") -> tuple[str, Any]:
    """("ok", Answer), ("error", message) or ("refused", message): through QueryService like /sparql, the
    answer serialised in `result_format` (SELECT, ASK) or `graph_format` (CONSTRUCT, DESCRIBE) and parsed back."""
    view = service.over(test.dataset())
    try:
        checked = view.check(test.query_text())
        fmt = "csv" if test.kind == "csv" else graph_format if checked.form in ("CONSTRUCT", "DESCRIBE") \
            else result_format
        result = view.run(checked, fmt)
    except Problem as error:
        return ("refused" if error.status == 403 else "error"), f"{error.status} {error.message}"
    if fmt == "csv":
        return "ok", Answer(text=result.body.decode("utf-8"))
    if fmt in GRAPH_PARSERS:
        return "ok", ox_answer(ox.parse(result.body, GRAPH_PARSERS[fmt], base_iri=test.base_iri))
    return "ok", ox_answer(ox.parse_query_results(result.body, RESULT_PARSERS[fmt]))


# --- judging -----------------------------------------------------------------------------------------------

def _syntax_error(message: str) -> bool:
    """Whether an error message is the parser's (plain: SyntaxError; ours: 400 SPARQL syntax error)."""
    return message.startswith(("SyntaxError", "400 SPARQL syntax error"))


def judge(test: W3CTest, reply: tuple[str, Any]) -> Outcome:
    status, value = reply
    if test.kind == "negative syntax":  # only rejection is asked for: a policy refusal rejects too
        if status == "refused" or (status == "error" and _syntax_error(value)):
            return Outcome("pass", _short(value))
        return Outcome("fail", "accepted" if status == "ok" else f"not a syntax error: {_short(value)}")
    if status == "refused":
        return Outcome("refused", value)
    if test.kind == "positive syntax":  # parsed is enough (evaluation may fail: custom functions, ...)
        return Outcome("fail", f"rejected: {_short(value)}") if status == "error" and _syntax_error(value) \
            else Outcome("pass")
    if status != "ok":
        return Outcome("fail", _short(value))
    query = test.query_text()
    try:
        expected = expected_answer(test, inspect(query, test.base_iri).form)
    except Exception as error:
        return Outcome("fail", f"the expected result did not parse: {error}")
    difference = compare(test, query, expected, value)
    return Outcome("pass") if difference is None else Outcome("fail", difference)


def _short(message: str, limit: int = 160) -> str:
    line = " ".join(str(message).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def run_tests(tests: Sequence[W3CTest], service: QueryService, plain: PlainEngine, result_format: str = "json",
              graph_format: str = "ttl") -> list[tuple[W3CTest, Outcome, Outcome]]:
    """Each test on plain pyoxigraph and through our path: (test, plain outcome, our outcome)."""
    results = []
    for test in tests:
        plain_reply: tuple[str, Any] = ("not run", None)
        if test.needs_remote:
            plain_outcome = Outcome("not run", "needs the remote endpoints of qt:serviceData")
        else:
            plain_reply = plain.run(test)
            plain_outcome = judge(test, plain_reply)
        our_reply = our_answer(service, test, result_format, graph_format)
        ours = judge(test, our_reply)
        if test.needs_remote and ours.status != "refused":
            ours = Outcome("not run", "needs the remote endpoints of qt:serviceData")
        # The test suites compare bindings only; the head must also be the engine's (no variable of ours leaks).
        if ours.status == "pass" and plain_reply[0] == our_reply[0] == "ok" \
                and set(plain_reply[1].variables) != set(our_reply[1].variables):
            ours = Outcome("fail", f"variables {sorted(our_reply[1].variables)}, the engine's "
                                   f"{sorted(plain_reply[1].variables)}")
        results.append((test, plain_outcome, ours))
    return results
